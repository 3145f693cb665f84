//! The delivery worker: claims due messages with a lease, sends them, and records the
//! outcome with backoff. Any number of workers may run against one database.
//!
//! A message is never lost: its row stays until it is sent or has failed for good, and
//! a worker that dies mid-send leaves only a lease that expires. A sent message is not
//! sent again: it is recorded `sent` before the worker takes the next one, and the one
//! window left (the process dying between the gateway's answer and the record) is
//! covered by the idempotency key that every attempt of the message carries.

use serde_json::Value;

use cadre_store::outbox::{self, Message, Outcome};
use cadre_store::timestamp;

use super::channels::{Channels, Delivery, SendError};
use super::config::Notifications;
use super::texts;
use super::Channel;
use crate::{Cadre, Result, ServiceError};

/// What one round did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub waiting_for_gateway: usize,
}

impl Round {
    pub fn is_empty(&self) -> bool {
        *self == Round::default()
    }
}

/// Parameters that must not outlive delivery nor appear in an error.
const SECRET_PARAMS: &[&str] = &["otp", "link"];
const MAX_ERROR_CHARS: usize = 500;

/// A worker name unique to this process and start.
pub fn process_worker_id() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

pub struct DeliveryWorker {
    cadre: Cadre,
    id: String,
    channels: Channels,
    settings: Notifications,
}

impl DeliveryWorker {
    /// A worker named `id` (unique per process: it marks the messages it holds).
    pub fn new(cadre: Cadre, id: impl Into<String>) -> Result<Self> {
        let settings = cadre.settings.notifications.clone();
        let channels = Channels::new(&settings).map_err(ServiceError::Internal)?;
        Ok(Self {
            cadre,
            id: id.into(),
            channels,
            settings,
        })
    }

    /// Delivers due messages until none is left or a batch is done.
    pub async fn run_once(&self) -> Result<Round> {
        let mut round = Round::default();
        self.requeue_waiting().await?;
        for _ in 0..self.settings.batch_size {
            let Some(message) = self.claim_one().await? else {
                break;
            };
            let outcome = self.deliver(&message).await;
            match &outcome {
                Outcome::Sent { .. } => round.sent += 1,
                Outcome::Retry { .. } => round.retried += 1,
                Outcome::Failed { .. } => round.failed += 1,
                Outcome::NoGateway { .. } => round.waiting_for_gateway += 1,
            }
            let mut tx = self.cadre.db.begin().await?;
            let recorded = outbox::record(&mut tx, &message.id, &self.id, &outcome).await?;
            tx.commit().await?;
            if !recorded {
                tracing::warn!(message = %message.id, "lost the lease on a message while sending it");
            }
        }
        Ok(round)
    }

    /// Runs rounds for ever, pausing when there is nothing due.
    pub async fn run(self) {
        loop {
            match self.run_once().await {
                Ok(round) if round.is_empty() => tokio::time::sleep(self.settings.poll).await,
                Ok(round) => tracing::info!(
                    sent = round.sent,
                    retried = round.retried,
                    failed = round.failed,
                    waiting_for_gateway = round.waiting_for_gateway,
                    "delivered notifications"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "delivering notifications failed; will retry");
                    tokio::time::sleep(self.settings.poll).await;
                }
            }
        }
    }

    /// Messages that waited for a gateway become due once one is configured.
    async fn requeue_waiting(&self) -> Result<()> {
        let now = timestamp(self.cadre.clock.now());
        for channel in [Channel::Email, Channel::Sms] {
            if self.channels.has_gateway(channel) {
                let mut tx = self.cadre.db.begin().await?;
                outbox::requeue_waiting(&mut tx, channel.as_str(), &now).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn claim_one(&self) -> Result<Option<Message>> {
        let now = self.cadre.clock.now();
        let until = now + chrono::Duration::seconds(self.settings.lease_seconds);
        let mut tx = self.cadre.db.begin().await?;
        let mut claimed =
            outbox::claim_due(&mut tx, &self.id, &timestamp(now), &timestamp(until), 1).await?;
        tx.commit().await?;
        Ok(claimed.pop())
    }

    async fn deliver(&self, message: &Message) -> Outcome {
        let now = self.cadre.clock.now();
        let params: Value = serde_json::from_str(&message.params).unwrap_or(Value::Null);
        let failed = |error: String| Outcome::Failed {
            error: redact(&error, &params),
        };
        let channel = match message.channel.as_str() {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            other => return failed(format!("unknown channel '{other}'")),
        };
        if !self.channels.has_gateway(channel) {
            return Outcome::NoGateway {
                error: format!("no {} gateway is configured", channel.as_str()),
            };
        }
        // A code or link past its expiry would only mislead the person who gets it.
        if let Some(expires) = params["expires_at"].as_str() {
            if cadre_store::parse_timestamp(expires).is_ok_and(|at| at <= now) {
                return failed("expired before it could be delivered".into());
            }
        }
        let language = texts::language(&message.language, &self.settings.default_language);
        let text = match texts::render(&message.template, language, &params) {
            Ok(text) => text,
            Err(e) => return failed(e),
        };
        let delivery = Delivery {
            message_id: &message.id,
            idempotency_key: &message.idempotency_key,
            recipient: &message.recipient,
            subject: &text.subject,
            text: &text.body,
        };
        match self.channels.send(channel, &delivery).await {
            Ok(()) => Outcome::Sent {
                at: timestamp(self.cadre.clock.now()),
            },
            Err(SendError::NoGateway) => Outcome::NoGateway {
                error: format!("no {} gateway is configured", channel.as_str()),
            },
            Err(SendError::Permanent(e)) => failed(e),
            Err(SendError::Temporary(e)) => {
                let failures = message.attempts + 1;
                if failures >= self.settings.retry.max_attempts {
                    failed(format!("gave up after {failures} attempts: {e}"))
                } else {
                    Outcome::Retry {
                        next_attempt_at: timestamp(now + self.settings.retry.delay_after(failures)),
                        error: redact(&e, &params),
                    }
                }
            }
        }
    }
}

/// An error as it may be stored and shown: without the secret parameters (a gateway may
/// echo the message) and not too long.
fn redact(error: &str, params: &Value) -> String {
    let mut out = error.to_owned();
    for name in SECRET_PARAMS {
        if let Some(secret) = params[*name].as_str().filter(|s| !s.is_empty()) {
            out = out.replace(secret, "[redacted]");
        }
    }
    match out.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_lose_secrets_and_length() {
        let params = json!({"otp": "482913", "link": "https://c/l/tok"});
        let shown = redact("500: code 482913 via https://c/l/tok", &params);
        assert_eq!(shown, "500: code [redacted] via [redacted]");
        assert!(redact(&"x".repeat(2000), &params).chars().count() <= MAX_ERROR_CHARS + 1);
    }
}
