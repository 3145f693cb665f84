//! Notifications: messages to users by email or SMS, queued in the outbox inside the
//! transaction of the change that causes them and delivered afterwards.

pub mod channels;
pub mod config;
pub mod sms;
pub mod smtp;
pub mod status;
pub mod texts;
pub mod worker;

use cadre_store::writer::Writer;
use cadre_store::{outbox, Conn};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// What a message says; each has a text per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `params`: `link`, `expires_at`, `username`.
    ActivationLink,
    /// `params`: `otp`, `expires_at`, `username`.
    RecoveryOtp,
}

impl Template {
    pub fn as_str(self) -> &'static str {
        match self {
            Template::ActivationLink => "activation_link",
            Template::RecoveryOtp => "recovery_otp",
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub user_id: Option<String>,
    pub channel: Channel,
    pub recipient: String,
    pub template: Template,
    pub language: String,
    pub params: Value,
    /// Same key, same message: a retried enqueue does not send twice.
    pub idempotency_key: String,
}

/// Queues a message on the caller's connection (normally inside its transaction).
/// Returns whether a new message was written.
pub async fn enqueue(conn: &mut Conn, now: DateTime<Utc>, message: &Outbound) -> Result<bool> {
    Ok(outbox::insertion(&new_message(now, message))
        .execute(conn)
        .await?
        > 0)
}

/// Queues a message with the rest of a unit of work's inserts (see [`Writer`]).
pub async fn enqueue_into(
    writer: &mut Writer<'_>,
    now: DateTime<Utc>,
    message: &Outbound,
) -> Result<()> {
    Ok(writer
        .insert(outbox::insertion(&new_message(now, message)))
        .await?)
}

fn new_message(now: DateTime<Utc>, message: &Outbound) -> outbox::NewMessage {
    outbox::NewMessage {
        id: uuid::Uuid::now_v7().to_string(),
        idempotency_key: message.idempotency_key.clone(),
        user_id: message.user_id.clone(),
        channel: message.channel.as_str().to_string(),
        recipient: message.recipient.clone(),
        template: message.template.as_str().to_string(),
        language: message.language.clone(),
        params: message.params.to_string(),
        status: outbox::PENDING.to_string(),
        created_at: cadre_store::timestamp(now),
    }
}

impl crate::Cadre {
    /// The language a message to this user is written in: the one they chose in the
    /// web interface, else the configured default.
    pub(crate) async fn message_language(&self, conn: &mut Conn, user_id: &str) -> Result<String> {
        Ok(cadre_store::preferences::language(conn, user_id)
            .await?
            .unwrap_or_else(|| self.settings.notifications.default_language.clone()))
    }
}
