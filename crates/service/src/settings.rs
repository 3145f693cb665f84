//! The service's settings: what the configuration file may change, with the PRD's
//! defaults, checked once at start-up so a bad value stops the process with a reason.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::credentials::config::{CredentialsConfig, SessionsConfig};
use cadre_domain::master_data::{ListItem, LIST_NAMES};
use cadre_domain::password::PasswordPolicies;
use cadre_domain::username::DEFAULT_USERNAME_PATTERN;
use cadre_domain::{FieldRequirements, MasterData, MobileCountry, UsernameFormat, UsernameRule};

/// The `[users]`, `[password]`, `[login]`, `[credentials]`, `[sessions]` and
/// `[master_data]` sections of the config file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsConfig {
    pub users: UsersConfig,
    pub password: PasswordPolicies,
    pub login: LoginConfig,
    pub credentials: CredentialsConfig,
    pub sessions: SessionsConfig,
    /// Lists that replace the built-in defaults, by list name.
    pub master_data: BTreeMap<String, Vec<ListItem>>,
    pub notifications: crate::notify::config::NotificationsConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UsersConfig {
    /// ISO 3166-1 alpha-2 country for numbers written without `+`.
    pub default_country: String,
    pub username_pattern: String,
    pub username_format: String,
    pub required_fields: FieldRequirements,
}

impl Default for UsersConfig {
    fn default() -> Self {
        Self {
            default_country: "MZ".into(),
            username_pattern: DEFAULT_USERNAME_PATTERN.into(),
            username_format: "{first}.{last}".into(),
            required_fields: FieldRequirements::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    /// Failed sign-ins allowed before the account is slowed down.
    pub free_failures: i64,
    /// The longest an account is held back after repeated failures.
    pub max_lock_seconds: i64,
    /// Sign-in attempts per client address per minute.
    pub per_client_per_minute: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            free_failures: 5,
            max_lock_seconds: 300,
            per_client_per_minute: 60,
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub default_country: MobileCountry,
    pub username_rule: UsernameRule,
    pub username_format: UsernameFormat,
    pub required_fields: FieldRequirements,
    /// One password policy per role class.
    pub passwords: PasswordPolicies,
    pub login: LoginConfig,
    pub credentials: CredentialsConfig,
    pub sessions: SessionsConfig,
    /// Built-in lists with the config file's replacements applied; lists edited through
    /// the API are stored in the database and take precedence.
    pub master_data: MasterData,
    /// Threads that may hash passwords at once (default: the number of cores).
    pub password_hashing_threads: usize,
    /// The absolute lifetime of a browser session (the cookie's age).
    pub session_ttl: Duration,
    /// The configured country and pattern as written, for display.
    pub default_country_code: String,
    pub username_pattern: String,
    /// Delivery of notifications: retry policy and the gateway of each channel.
    pub notifications: crate::notify::config::Notifications,
}

impl Settings {
    pub fn username_rule_source(&self) -> String {
        self.username_pattern.clone()
    }
}

impl Settings {
    pub fn from_config(config: SettingsConfig) -> Result<Self, String> {
        let default_country =
            MobileCountry::from_iso(&config.users.default_country).ok_or_else(|| {
                format!(
                    "users.default_country: unknown country '{}'",
                    config.users.default_country
                )
            })?;
        let username_rule = UsernameRule::new(&config.users.username_pattern)
            .map_err(|e| format!("users.username_pattern: {e}"))?;
        let username_format = UsernameFormat::parse(&config.users.username_format)
            .map_err(|e| format!("users.username_format: {e}"))?;
        let mut master_data = MasterData::default();
        for (name, items) in config.master_data {
            if !LIST_NAMES.contains(&name.as_str()) {
                return Err(format!(
                    "master_data.{name}: unknown list (known: {})",
                    LIST_NAMES.join(", ")
                ));
            }
            if items.is_empty() {
                return Err(format!(
                    "master_data.{name}: a list needs at least one item"
                ));
            }
            master_data.lists.insert(name, items);
        }
        if let Some(problem) = config
            .password
            .problem()
            .or_else(|| config.credentials.problem())
            .or_else(|| config.sessions.problem())
        {
            return Err(problem);
        }
        if config.login.per_client_per_minute < 1 {
            return Err("login: per_client_per_minute must be at least 1".into());
        }
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            default_country,
            username_rule,
            username_format,
            required_fields: config.users.required_fields,
            passwords: config.password,
            session_ttl: Duration::from_secs(config.sessions.web_absolute_hours as u64 * 3600),
            credentials: config.credentials,
            sessions: config.sessions,
            login: config.login,
            master_data,
            password_hashing_threads: threads,
            default_country_code: config.users.default_country.trim().to_uppercase(),
            username_pattern: config.users.username_pattern,
            notifications: config.notifications.check()?,
        })
    }
}
