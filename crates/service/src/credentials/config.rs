//! The `[credentials]` and `[sessions]` sections of the configuration.

use serde::Deserialize;

/// Links, recovery codes and API tokens.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CredentialsConfig {
    /// The address users reach the web interface at; links in messages start with it.
    pub public_url: String,
    /// How long an activation or sign-in link stays valid.
    pub link_hours: i64,
    /// How long a recovery code stays valid.
    pub recovery_minutes: i64,
    /// Wrong guesses a recovery code allows before it is void.
    pub recovery_attempts: i64,
    /// Where recovery codes go for users without an email address of their own (the
    /// PRD's common recovery address); none by default.
    pub recovery_email: Option<String>,
    /// Send recovery codes by SMS to the user's mobile number when they have one.
    pub recovery_by_sms: bool,
    /// The longest lifetime an API token may be given, in days.
    pub api_token_max_days: i64,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            link_hours: 24,
            recovery_minutes: 15,
            recovery_attempts: 5,
            recovery_email: None,
            recovery_by_sms: false,
            api_token_max_days: 365,
        }
    }
}

/// Lifetimes of sign-in sessions, separately for browsers (cookie) and for API and
/// mobile clients (bearer token): an idle limit since the last request and an
/// absolute limit since sign-in.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    pub web_idle_minutes: i64,
    pub web_absolute_hours: i64,
    pub api_idle_minutes: i64,
    pub api_absolute_hours: i64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            // A shared office computer left signed in should not stay open for long.
            web_idle_minutes: 30,
            web_absolute_hours: 12,
            // A field worker's phone syncs now and then, often offline for days.
            api_idle_minutes: 7 * 24 * 60,
            api_absolute_hours: 30 * 24,
        }
    }
}

impl CredentialsConfig {
    pub fn problem(&self) -> Option<String> {
        let url = self.public_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Some("credentials.public_url: give an http:// or https:// address".into());
        }
        if self.link_hours < 1 || self.recovery_minutes < 1 || self.recovery_attempts < 1 {
            return Some(
                "credentials: link_hours, recovery_minutes and recovery_attempts must be at least 1"
                    .into(),
            );
        }
        if self.api_token_max_days < 1 {
            return Some("credentials.api_token_max_days must be at least 1".into());
        }
        if let Some(address) = &self.recovery_email {
            if !address.contains('@') {
                return Some("credentials.recovery_email: give an email address".into());
            }
        }
        None
    }
}

impl SessionsConfig {
    pub fn problem(&self) -> Option<String> {
        if self.web_idle_minutes < 1
            || self.api_idle_minutes < 1
            || self.web_absolute_hours < 1
            || self.api_absolute_hours < 1
        {
            return Some("sessions: every lifetime must be at least 1".into());
        }
        None
    }
}
