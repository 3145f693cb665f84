//! The `[notifications]` section: retry policy and the gateway of each channel, checked
//! once at start-up so that a misspelt gateway stops the process with a reason.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::texts::LANGUAGES;

/// A configured secret (password, API key, token): never printed by `Debug`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Language of messages to users whose language is unknown: `en`, `pt` or `fr`.
    pub default_language: String,
    /// How often the delivery worker looks for due messages.
    pub poll_seconds: u64,
    /// Attempts before a message is marked `failed`.
    pub max_attempts: i64,
    /// Wait after the first failure; doubled after each further one, up to the cap.
    pub backoff_base_seconds: i64,
    pub backoff_max_seconds: i64,
    /// How long a worker holds a claimed message; longer than any one send can take.
    pub lease_seconds: i64,
    /// Messages one worker sends per round.
    pub batch_size: i64,
    pub email: Option<EmailConfig>,
    pub sms: Option<SmsConfig>,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            default_language: "en".into(),
            poll_seconds: 5,
            max_attempts: 8,
            backoff_base_seconds: 30,
            backoff_max_seconds: 3600,
            lease_seconds: 300,
            batch_size: 50,
            email: None,
            sms: None,
        }
    }
}

/// SMTP through lettre.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub host: String,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `plain`.
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `plain` (no encryption: only for a
    /// relay on the same host or network).
    #[serde(default = "starttls")]
    pub security: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender, e.g. `cadre <no-reply@example.org>`.
    pub from: String,
    #[serde(default = "thirty")]
    pub timeout_seconds: u64,
}

fn starttls() -> String {
    "starttls".into()
}

fn thirty() -> u64 {
    30
}

/// One SMS gateway; which fields apply depends on `gateway`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// `webhook`, `africas_talking`, `twilio` or `rapidpro`.
    pub gateway: String,
    /// The endpoint; required for `webhook`, optional for the others (their public API).
    pub url: Option<String>,
    /// `webhook`: extra request headers (e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// `webhook`: the JSON body with `{{recipient}}`, `{{text}}`, `{{message_id}}` and
    /// `{{idempotency_key}}` placeholders (values are inserted JSON-escaped).
    pub body_template: Option<String>,
    /// `africas_talking`: the application username.
    pub username: Option<String>,
    /// `africas_talking`: the API key.
    pub api_key: Option<Secret>,
    /// `africas_talking` (sender id, optional) and `twilio` (number or messaging
    /// service SID starting with `MG`).
    pub from: Option<String>,
    /// `twilio`.
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    /// `rapidpro`: the API token.
    pub token: Option<Secret>,
    #[serde(default = "thirty")]
    pub timeout_seconds: u64,
}

/// Backoff and attempt limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: i64,
    pub base_seconds: i64,
    pub max_seconds: i64,
}

impl RetryPolicy {
    /// The wait after the `failures`-th failed attempt: base, 2×base, 4×base, … capped.
    pub fn delay_after(&self, failures: i64) -> chrono::Duration {
        let exponent = (failures - 1).clamp(0, 30) as u32;
        let seconds = self
            .base_seconds
            .saturating_mul(1_i64 << exponent)
            .min(self.max_seconds);
        chrono::Duration::seconds(seconds)
    }
}

/// The checked `[notifications]` section.
#[derive(Debug, Clone)]
pub struct Notifications {
    pub default_language: String,
    pub poll: Duration,
    pub retry: RetryPolicy,
    pub lease_seconds: i64,
    pub batch_size: i64,
    pub email: Option<EmailSettings>,
    pub sms: Option<SmsGateway>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    Plain,
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub credentials: Option<(String, Secret)>,
    pub from: String,
    pub timeout: Duration,
}

/// The request format of an SMS gateway, with what it needs.
#[derive(Debug, Clone)]
pub enum SmsGateway {
    Webhook {
        url: String,
        headers: BTreeMap<String, Secret>,
        body_template: String,
        timeout: Duration,
    },
    AfricasTalking {
        url: String,
        username: String,
        api_key: Secret,
        from: Option<String>,
        timeout: Duration,
    },
    Twilio {
        /// The API root, `https://api.twilio.com` unless configured.
        url: String,
        account_sid: String,
        auth_token: Secret,
        from: String,
        timeout: Duration,
    },
    RapidPro {
        url: String,
        token: Secret,
        timeout: Duration,
    },
}

pub const DEFAULT_WEBHOOK_BODY: &str =
    r#"{"to":"{{recipient}}","text":"{{text}}","id":"{{idempotency_key}}"}"#;

impl NotificationsConfig {
    pub fn check(self) -> Result<Notifications, String> {
        let language = self.default_language.trim().to_lowercase();
        if !LANGUAGES.contains(&language.as_str()) {
            return Err(format!(
                "notifications.default_language: '{}' has no message texts (known: {})",
                self.default_language,
                LANGUAGES.join(", ")
            ));
        }
        for (field, value) in [
            ("max_attempts", self.max_attempts),
            ("backoff_base_seconds", self.backoff_base_seconds),
            ("lease_seconds", self.lease_seconds),
            ("batch_size", self.batch_size),
        ] {
            if value < 1 {
                return Err(format!("notifications.{field}: must be at least 1"));
            }
        }
        if self.backoff_max_seconds < self.backoff_base_seconds {
            return Err(
                "notifications.backoff_max_seconds: must be at least backoff_base_seconds".into(),
            );
        }
        if self.poll_seconds < 1 {
            return Err("notifications.poll_seconds: must be at least 1".into());
        }
        // A claim must outlast the gateway's answer: a lease that expires while the
        // gateway is still answering lets another worker send the same message again.
        let timeouts = [
            ("email", self.email.as_ref().map(|e| e.timeout_seconds)),
            ("sms", self.sms.as_ref().map(|s| s.timeout_seconds)),
        ];
        for (channel, timeout) in timeouts {
            if let Some(timeout) = timeout {
                if u64::try_from(self.lease_seconds).unwrap_or(0) <= timeout {
                    return Err(format!(
                        "notifications.lease_seconds ({}) must be longer than notifications.{channel}.timeout_seconds ({timeout}), or a message still being sent could be sent twice",
                        self.lease_seconds
                    ));
                }
            }
        }
        Ok(Notifications {
            default_language: language,
            poll: Duration::from_secs(self.poll_seconds),
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                base_seconds: self.backoff_base_seconds,
                max_seconds: self.backoff_max_seconds,
            },
            lease_seconds: self.lease_seconds,
            batch_size: self.batch_size,
            email: self.email.map(EmailConfig::check).transpose()?,
            sms: self.sms.map(SmsConfig::check).transpose()?,
        })
    }
}

fn required(field: &str, value: Option<String>) -> Result<String, String> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("notifications.{field}: required for this gateway"))
}

fn required_secret(field: &str, value: Option<Secret>) -> Result<Secret, String> {
    required(field, value.map(|s| s.0)).map(Secret)
}

fn http_url(field: &str, url: String) -> Result<String, String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(format!(
            "notifications.{field}: '{url}' is not an http:// or https:// URL"
        ))
    }
}

impl EmailConfig {
    fn check(self) -> Result<EmailSettings, String> {
        let security = match self.security.trim().to_lowercase().as_str() {
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            "plain" | "none" => SmtpSecurity::Plain,
            other => {
                return Err(format!(
                    "notifications.email.security: '{other}' is not starttls, tls or plain"
                ))
            }
        };
        let host = required("email.host", Some(self.host))?;
        let from = required("email.from", Some(self.from))?;
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(format!(
                "notifications.email.from: '{from}' is not an address like 'cadre <no-reply@example.org>'"
            ));
        }
        let credentials = match (self.username, self.password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => {
                return Err(
                    "notifications.email.username: give both username and password, or neither"
                        .into(),
                )
            }
        };
        Ok(EmailSettings {
            host,
            port: self.port.unwrap_or(match security {
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::Tls => 465,
                SmtpSecurity::Plain => 25,
            }),
            security,
            credentials,
            from,
            timeout: Duration::from_secs(self.timeout_seconds.max(1)),
        })
    }
}

impl SmsConfig {
    fn check(self) -> Result<SmsGateway, String> {
        let timeout = Duration::from_secs(self.timeout_seconds.max(1));
        let url = |default: &str| -> Result<String, String> {
            http_url(
                "sms.url",
                self.url.clone().unwrap_or_else(|| default.to_owned()),
            )
        };
        match self.gateway.trim() {
            "webhook" => {
                let body_template = self
                    .body_template
                    .clone()
                    .unwrap_or_else(|| DEFAULT_WEBHOOK_BODY.to_owned());
                let sample = super::sms::fill_template(&body_template, "+258841234567", "x\"y", "m", "k");
                if serde_json::from_str::<serde_json::Value>(&sample).is_err() {
                    return Err("notifications.sms.body_template: is not JSON once its placeholders are filled (write \"{{text}}\" with quotes)".into());
                }
                Ok(SmsGateway::Webhook {
                    url: http_url("sms.url", required("sms.url", self.url)?)?,
                    headers: self.headers,
                    body_template,
                    timeout,
                })
            }
            "africas_talking" => Ok(SmsGateway::AfricasTalking {
                url: url("https://api.africastalking.com/version1/messaging")?,
                username: required("sms.username", self.username)?,
                api_key: required_secret("sms.api_key", self.api_key)?,
                from: self.from.filter(|f| !f.trim().is_empty()),
                timeout,
            }),
            "twilio" => Ok(SmsGateway::Twilio {
                url: url("https://api.twilio.com")?,
                account_sid: required("sms.account_sid", self.account_sid)?,
                auth_token: required_secret("sms.auth_token", self.auth_token)?,
                from: required("sms.from", self.from)?,
                timeout,
            }),
            "rapidpro" => Ok(SmsGateway::RapidPro {
                url: url("https://rapidpro.io/api/v2/broadcasts.json")?,
                token: required_secret("sms.token", self.token)?,
                timeout,
            }),
            other => Err(format!(
                "notifications.sms.gateway: '{other}' is not webhook, africas_talking, twilio or rapidpro"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 8,
            base_seconds: 30,
            max_seconds: 100,
        };
        assert_eq!(policy.delay_after(1).num_seconds(), 30);
        assert_eq!(policy.delay_after(2).num_seconds(), 60);
        assert_eq!(policy.delay_after(3).num_seconds(), 100);
        assert_eq!(policy.delay_after(60).num_seconds(), 100);
    }

    #[test]
    fn gateways_name_their_missing_fields() {
        let sms = |gateway: &str| SmsConfig {
            gateway: gateway.into(),
            url: None,
            headers: BTreeMap::new(),
            body_template: None,
            username: None,
            api_key: None,
            from: None,
            account_sid: None,
            auth_token: None,
            token: None,
            timeout_seconds: 30,
        };
        let error = |config: SmsConfig| config.check().err().unwrap_or_default();
        assert!(error(sms("webhook")).contains("sms.url"));
        assert!(error(sms("twilio")).contains("sms.account_sid"));
        assert!(error(sms("africas_talking")).contains("sms.username"));
        assert!(error(sms("rapidpro")).contains("sms.token"));
        assert!(error(sms("carrier-pigeon")).contains("sms.gateway"));
        let mut bad_body = sms("webhook");
        bad_body.url = Some("http://127.0.0.1:9/sms".into());
        bad_body.body_template = Some("{\"text\": {{text}}}".into());
        assert!(error(bad_body).contains("body_template"));
    }

    #[test]
    fn a_lease_no_longer_than_the_gateway_timeout_is_refused() {
        let email = EmailConfig {
            host: "127.0.0.1".into(),
            port: Some(2525),
            security: "plain".into(),
            username: None,
            password: None,
            from: "cadre <no-reply@example.org>".into(),
            timeout_seconds: 20,
        };
        let config = |lease_seconds: i64| NotificationsConfig {
            lease_seconds,
            email: Some(email.clone()),
            ..NotificationsConfig::default()
        };
        let refused = config(5).check().err().unwrap_or_default();
        assert!(refused.contains("lease_seconds"), "{refused}");
        assert!(refused.contains("email.timeout_seconds"), "{refused}");
        assert!(config(20).check().is_err());
        assert!(config(21).check().is_ok());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = EmailConfig {
            host: "smtp.example.org".into(),
            port: None,
            security: "starttls".into(),
            username: Some("cadre".into()),
            password: Some(Secret("hunter2".into())),
            from: "cadre <no-reply@example.org>".into(),
            timeout_seconds: 30,
        };
        let shown = format!("{:?}", config.check());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("587"), "{shown}");
    }
}
