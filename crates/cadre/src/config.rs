//! Configuration: built-in defaults, then the config file, then `CADRE_*` environment
//! variables, then command-line flags.

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

use cadre_domain::master_data::ListItem;
use cadre_domain::password::PasswordPolicies;
use cadre_service::credentials::config::{CredentialsConfig, SessionsConfig};
use cadre_service::notify::config::NotificationsConfig;
use cadre_service::settings::{LoginConfig, SettingsConfig, UsersConfig};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// `sqlite://FILE` or `postgres://USER:PASSWORD@HOST/DB`.
    pub database_url: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// Largest number of database connections.
    pub max_connections: u32,
    /// How long a bulk job stays claimed by a process that stopped renewing it (crashed)
    /// before another process resumes it, in seconds.
    pub bulk_lease_seconds: u64,
    pub users: UsersConfig,
    pub password: PasswordPolicies,
    pub login: LoginConfig,
    pub credentials: CredentialsConfig,
    pub sessions: SessionsConfig,
    /// Lists replacing the built-in master data, by list name.
    pub master_data: BTreeMap<String, Vec<ListItem>>,
    /// Delivery of emails and SMS: `[notifications]`, `[notifications.email]`,
    /// `[notifications.sms]`.
    pub notifications: NotificationsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://cadre.db".into(),
            max_body_bytes: 10 * 1024 * 1024,
            log_format: "text".into(),
            max_connections: 16,
            bulk_lease_seconds: 30,
            users: UsersConfig::default(),
            password: PasswordPolicies::default(),
            login: LoginConfig::default(),
            credentials: CredentialsConfig::default(),
            sessions: SessionsConfig::default(),
            master_data: BTreeMap::new(),
            notifications: NotificationsConfig::default(),
        }
    }
}

impl Config {
    /// Reads the layers below the command line. Variables such as `CADRE_LISTEN` and
    /// `CADRE_USERS__DEFAULT_COUNTRY` (a double underscore enters a section) override
    /// the file.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(format!("config file {} does not exist", file.display()));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(
            Env::prefixed("CADRE_")
                .split("__")
                // Variables read elsewhere: the config file's path, the test suite's
                // database server, and the log filter (CADRE_LOG, read at start-up).
                .ignore(&["config", "test_database_url", "log"]),
        );
        figment.extract().map_err(|e| format!("configuration: {e}"))
    }

    /// The service settings these values describe.
    pub fn settings(&self) -> SettingsConfig {
        SettingsConfig {
            users: self.users.clone(),
            password: self.password.clone(),
            login: self.login.clone(),
            credentials: self.credentials.clone(),
            sessions: self.sessions.clone(),
            master_data: self.master_data.clone(),
            notifications: self.notifications.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_override_defaults_and_keep_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cadre.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\n[users]\ndefault_country = \"KE\"\n[master_data]\ngenders = [{ code = \"F\", label = \"Female\" }]\n",
        )
        .unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.users.default_country, "KE");
        assert_eq!(config.users.username_format, "{first}.{last}");
        assert_eq!(config.master_data["genders"][0].code, "F");
        assert_eq!(config.database_url, "sqlite://cadre.db");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cadre.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        assert!(Config::load(Some(&path)).unwrap_err().contains("lisen"));
    }
}
