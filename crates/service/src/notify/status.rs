//! Delivery status as the API and the user's page show it: never the parameters (they
//! hold one-time codes and links).

use serde::Serialize;
use utoipa::ToSchema;

use cadre_domain::Action;
use cadre_store::outbox::{self, Message};
use cadre_store::Page;

use crate::audit::{decode_cursor_raw, encode_cursor};
use crate::users::{page_limit, Target};
use crate::{Actor, Cadre, Result, ServiceError};

/// One queued or delivered message.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct MessageView {
    pub id: String,
    pub user_id: Option<String>,
    /// `email` or `sms`.
    pub channel: String,
    pub recipient: String,
    /// `activation_link` or `recovery_otp`.
    pub template: String,
    pub language: String,
    /// `pending`, `sent`, `failed` or `no_gateway`.
    pub status: String,
    pub attempts: i64,
    /// When the next attempt is due (pending messages).
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        Self {
            next_attempt_at: (m.status == outbox::PENDING).then_some(m.next_attempt_at),
            id: m.id,
            user_id: m.user_id,
            channel: m.channel,
            recipient: m.recipient,
            template: m.template,
            language: m.language,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

pub const STATUSES: &[&str] = &[
    outbox::PENDING,
    outbox::SENT,
    outbox::FAILED,
    outbox::NO_GATEWAY,
];

/// Filters of the administrators' list.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn before_of(cursor: Option<String>) -> Result<Option<(String, String)>> {
    match cursor {
        Some(c) => {
            let raw = decode_cursor_raw(&c)?;
            let (at, id) = raw.split_once('|').ok_or_else(|| {
                ServiceError::invalid(
                    "cursor",
                    "invalid_cursor",
                    "the cursor is not one this service issued",
                )
            })?;
            Ok(Some((at.to_owned(), id.to_owned())))
        }
        None => Ok(None),
    }
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Cadre {
    async fn message_page(&self, query: outbox::Query) -> Result<Page<MessageView>> {
        let mut conn = self.db.reader().await?;
        let (items, total) = outbox::list(&mut conn, &query).await?;
        let next_cursor = if items.len() as i64 == query.limit {
            items
                .last()
                .map(|m| encode_cursor(&format!("{}|{}", m.created_at, m.id)))
        } else {
            None
        };
        Ok(Page {
            items: items.into_iter().map(MessageView::from).collect(),
            next_cursor,
            total,
        })
    }

    /// Messages to one user, newest first: whoever may see the user sees them.
    pub async fn user_messages(
        &self,
        actor: &Actor,
        id: &str,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> Result<Page<MessageView>> {
        actor.require(Action::UserRead)?;
        {
            let mut conn = self.db.reader().await?;
            self.load_target(&mut conn, actor, id, Target::View).await?;
        }
        self.message_page(outbox::Query {
            user_id: Some(id.to_owned()),
            before: before_of(cursor)?,
            limit: page_limit(limit)?,
            ..outbox::Query::default()
        })
        .await
    }

    /// Every message, for administrators with national scope: messages to the common
    /// recovery address belong to no user, so a scoped view could not be complete.
    pub async fn notifications(
        &self,
        actor: &Actor,
        filter: NotificationFilter,
    ) -> Result<Page<MessageView>> {
        actor.require(Action::UserRead)?;
        if !actor.scope.is_global() {
            return Err(ServiceError::forbidden(
                "global_scope_required",
                "the notification queue is visible to administrators with national scope",
            ));
        }
        let status = clean(filter.status);
        if let Some(s) = &status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(ServiceError::invalid(
                    "status",
                    "invalid_status",
                    format!("status must be one of {}", STATUSES.join(", ")),
                ));
            }
        }
        let channel = clean(filter.channel);
        if let Some(c) = &channel {
            if c != "email" && c != "sms" {
                return Err(ServiceError::invalid(
                    "channel",
                    "invalid_channel",
                    "channel must be email or sms",
                ));
            }
        }
        self.message_page(outbox::Query {
            user_id: None,
            status,
            channel,
            before: before_of(filter.cursor)?,
            limit: page_limit(filter.limit)?,
        })
        .await
    }
}
