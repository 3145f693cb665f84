//! The notification outbox: messages waiting for, or done with, delivery.
//!
//! Rows are inserted inside the transaction of the change that causes them; the unique
//! `idempotency_key` makes a repeated enqueue a no-op instead of a second message.

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::Sql;
use crate::writer::Insert;

/// Delivery states, stored as text.
pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
/// No gateway is configured for the channel; kept so that it can be sent later.
pub const NO_GATEWAY: &str = "no_gateway";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewMessage {
    pub id: String,
    pub idempotency_key: String,
    pub user_id: Option<String>,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub language: String,
    /// JSON object of template parameters.
    pub params: String,
    pub status: String,
    pub created_at: String,
}

/// Inserts a message unless one with the same idempotency key exists; returns whether
/// a row was written.
/// The insert of a new message; a message whose idempotency key is already in the
/// outbox is skipped.
pub fn insertion(m: &NewMessage) -> Insert {
    Insert::new("outbox")
        .set("id", m.id.as_str())
        .set("idempotency_key", m.idempotency_key.as_str())
        .set("user_id", m.user_id.clone())
        .set("channel", m.channel.as_str())
        .set("recipient", m.recipient.as_str())
        .set("template", m.template.as_str())
        .set("language", m.language.as_str())
        .set("params", m.params.as_str())
        .set("status", m.status.as_str())
        .set("attempts", 0i64)
        .set("next_attempt_at", m.created_at.as_str())
        .set("created_at", m.created_at.as_str())
        .skip_if_exists("idempotency_key")
}

/// A stored message, as the worker and the status views read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub id: String,
    pub idempotency_key: String,
    pub user_id: Option<String>,
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub language: String,
    pub params: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, idempotency_key, user_id, channel, recipient, template, language, \
     params, status, attempts, next_attempt_at, last_error, created_at, sent_at";

fn message_of(row: &sqlx::any::AnyRow) -> Result<Message, StoreError> {
    use crate::sql::{int, opt_text, text};
    Ok(Message {
        id: text(row, "id")?,
        idempotency_key: text(row, "idempotency_key")?,
        user_id: opt_text(row, "user_id")?,
        channel: text(row, "channel")?,
        recipient: text(row, "recipient")?,
        template: text(row, "template")?,
        language: text(row, "language")?,
        params: text(row, "params")?,
        status: text(row, "status")?,
        attempts: int(row, "attempts")?,
        next_attempt_at: text(row, "next_attempt_at")?,
        last_error: opt_text(row, "last_error")?,
        created_at: text(row, "created_at")?,
        sent_at: opt_text(row, "sent_at")?,
    })
}

/// Claims up to `limit` due pending messages for `worker` until `lease_until`.
///
/// Each row is taken by a conditional `UPDATE … RETURNING` that only succeeds while no
/// live lease holds it, so two workers (or two processes on PostgreSQL) racing for the
/// same row get it once between them; a lease left by a crashed worker expires and the
/// row is claimed again.
pub async fn claim_due(
    conn: &mut Conn,
    worker: &str,
    now: &str,
    lease_until: &str,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let mut candidates = Sql::new("SELECT id FROM outbox WHERE status = ");
    candidates
        .bind(PENDING)
        .push(" AND next_attempt_at <= ")
        .bind(now)
        .push(" AND (claimed_until IS NULL OR claimed_until < ")
        .bind(now)
        .push(") ORDER BY next_attempt_at, id LIMIT ")
        // A few spare candidates: another worker may take some of them first.
        .bind(limit + 8);
    let ids = candidates
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| crate::sql::text(row, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut claimed = Vec::new();
    for id in ids {
        if claimed.len() as i64 >= limit {
            break;
        }
        let mut sql = Sql::new("UPDATE outbox SET claimed_by = ");
        sql.bind(worker)
            .push(", claimed_until = ")
            .bind(lease_until)
            .push(" WHERE id = ")
            .bind(id.as_str())
            .push(" AND status = ")
            .bind(PENDING)
            .push(" AND (claimed_until IS NULL OR claimed_until < ")
            .bind(now)
            .push(&format!(") RETURNING {COLUMNS}"));
        if let Some(row) = sql.fetch_optional(conn).await? {
            claimed.push(message_of(&row)?);
        }
    }
    Ok(claimed)
}

/// How a delivery attempt ended, to record on a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        at: String,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        next_attempt_at: String,
        error: String,
    },
    /// Given up: no more attempts.
    Failed {
        error: String,
    },
    /// The channel has no gateway; kept with its parameters until one is configured.
    NoGateway {
        error: String,
    },
}

/// Records an attempt's outcome, if `worker` still holds the claim. Secret parameters
/// (the OTP, the link) are erased once the message is sent or finally failed.
/// Returns whether the row was updated (false: the lease was lost to another worker).
pub async fn record(
    conn: &mut Conn,
    id: &str,
    worker: &str,
    outcome: &Outcome,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, ");
    match outcome {
        Outcome::Sent { at } => {
            sql.push("status = ")
                .bind(SENT)
                .push(", attempts = attempts + 1, sent_at = ")
                .bind(at.as_str())
                .push(", last_error = NULL, params = '{}'");
        }
        Outcome::Retry {
            next_attempt_at,
            error,
        } => {
            sql.push("status = ")
                .bind(PENDING)
                .push(", attempts = attempts + 1, next_attempt_at = ")
                .bind(next_attempt_at.as_str())
                .push(", last_error = ")
                .bind(error.as_str());
        }
        Outcome::Failed { error } => {
            sql.push("status = ")
                .bind(FAILED)
                .push(", attempts = attempts + 1, last_error = ")
                .bind(error.as_str())
                .push(", params = '{}'");
        }
        Outcome::NoGateway { error } => {
            sql.push("status = ")
                .bind(NO_GATEWAY)
                .push(", last_error = ")
                .bind(error.as_str());
        }
    }
    sql.push(" WHERE id = ")
        .bind(id)
        .push(" AND claimed_by = ")
        .bind(worker);
    Ok(sql.execute(conn).await? > 0)
}

/// Puts messages that waited for a gateway of `channel` back in the queue, due now.
pub async fn requeue_waiting(conn: &mut Conn, channel: &str, now: &str) -> Result<u64, StoreError> {
    let mut sql = Sql::new("UPDATE outbox SET status = ");
    sql.bind(PENDING)
        .push(", next_attempt_at = ")
        .bind(now)
        .push(" WHERE status = ")
        .bind(NO_GATEWAY)
        .push(" AND channel = ")
        .bind(channel);
    sql.execute(conn).await
}

/// Filters for listing messages, newest first.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    /// Only messages created before this `(created_at, id)`.
    pub before: Option<(String, String)>,
    pub limit: i64,
}

/// One page of messages and the total matching the filters.
pub async fn list(conn: &mut Conn, q: &Query) -> Result<(Vec<Message>, i64), StoreError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(user_id) = &q.user_id {
        filter.push(" AND user_id = ").bind(user_id.as_str());
    }
    if let Some(status) = &q.status {
        filter.push(" AND status = ").bind(status.as_str());
    }
    if let Some(channel) = &q.channel {
        filter.push(" AND channel = ").bind(channel.as_str());
    }
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM outbox");
    count.append(&filter);
    let total = count.fetch_count(conn).await?;
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM outbox"));
    sql.append(&filter);
    if let Some((at, id)) = &q.before {
        sql.push(" AND (created_at < ")
            .bind(at.as_str())
            .push(" OR (created_at = ")
            .bind(at.as_str())
            .push(" AND id < ")
            .bind(id.as_str())
            .push("))");
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .bind(q.limit);
    let items = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(message_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}
