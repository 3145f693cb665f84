//! Recording and reading audit events.

use serde::Serialize;
use utoipa::ToSchema;

use cadre_domain::Action;
use cadre_store::audit::{self as store, AuditQuery, AuditRow, AuditScope};
use cadre_store::writer::Writer;
use cadre_store::{Conn, Page};

use crate::actor::{Actor, RequestMeta};
use crate::{Cadre, Result, ServiceError};

/// What happened, to be written in the same transaction as the change it records.
pub struct Event<'a> {
    pub action: &'a str,
    pub outcome: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_label: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            outcome: "success",
            target_type: None,
            target_id: None,
            target_label: None,
            before: None,
            after: None,
        }
    }

    pub fn target(mut self, kind: &'a str, id: &'a str, label: &'a str) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id);
        self.target_label = Some(label);
        self
    }

    pub fn outcome(mut self, outcome: &'a str) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn before(mut self, value: impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

impl Cadre {
    /// Writes one audit event on `conn` (normally the transaction of the change).
    pub(crate) async fn record(
        &self,
        conn: &mut Conn,
        actor: Option<(&str, &str)>,
        meta: &RequestMeta,
        event: Event<'_>,
    ) -> Result<()> {
        self.record_into(&mut Writer::Now(conn), actor, meta, event)
            .await
    }

    /// Writes (or queues, with the rest of a bulk batch) one audit event.
    pub(crate) async fn record_into(
        &self,
        writer: &mut Writer<'_>,
        actor: Option<(&str, &str)>,
        meta: &RequestMeta,
        event: Event<'_>,
    ) -> Result<()> {
        let row = AuditRow {
            id: uuid::Uuid::now_v7().to_string(),
            occurred_at: cadre_store::timestamp(self.clock.now()),
            actor_id: actor.map(|(id, _)| id.to_owned()),
            actor_username: actor.map(|(_, name)| name.to_owned()),
            action: event.action.to_owned(),
            outcome: event.outcome.to_owned(),
            target_type: event.target_type.map(str::to_owned),
            target_id: event.target_id.map(str::to_owned),
            target_label: event.target_label.map(str::to_owned),
            before_json: event.before.map(|v| v.to_string()),
            after_json: event.after.map(|v| v.to_string()),
            client_addr: meta.client_addr.clone(),
            request_id: meta.request_id.clone(),
        };
        writer.insert(store::insertion(&row)).await?;
        Ok(())
    }

    pub(crate) async fn record_by(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        meta: &RequestMeta,
        event: Event<'_>,
    ) -> Result<()> {
        self.record(conn, Some((&actor.user_id, &actor.username)), meta, event)
            .await
    }

    /// Searches the audit log. Actors without global scope see what they did and what
    /// was done to users they can see.
    pub async fn audit_search(
        &self,
        actor: &Actor,
        filter: AuditFilter,
    ) -> Result<Page<AuditEventView>> {
        actor.require(Action::AuditRead)?;
        let limit = crate::users::page_limit(filter.limit)?;
        let before = match filter.cursor.as_deref() {
            Some(cursor) => Some(decode_cursor(cursor)?),
            None => None,
        };
        let query = AuditQuery {
            actor: filter.actor,
            target: filter.target,
            action: filter.action,
            from: filter.from,
            to: filter.to,
            within: (!actor.scope.is_global()).then(|| AuditScope {
                subtrees: actor.scope.roots().to_vec(),
                own_id: actor.user_id.clone(),
                today: self.clock.today().to_string(),
            }),
            before,
            limit,
        };
        self.audit_page(query).await
    }

    pub(crate) async fn audit_page(&self, query: AuditQuery) -> Result<Page<AuditEventView>> {
        let mut conn = self.db.reader().await?;
        let page = store::query(&mut conn, &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(AuditEventView::from).collect(),
            next_cursor: page.next_cursor.map(|c| encode_cursor(&c)),
            total: page.total,
        })
    }
}

/// Filters of `GET /api/v1/audit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// One audit event as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub occurred_at: String,
    pub actor_id: Option<String>,
    pub actor_username: Option<String>,
    pub action: String,
    pub outcome: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

impl From<AuditRow> for AuditEventView {
    fn from(row: AuditRow) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            id: row.id,
            occurred_at: row.occurred_at,
            actor_id: row.actor_id,
            actor_username: row.actor_username,
            action: row.action,
            outcome: row.outcome,
            target_type: row.target_type,
            target_id: row.target_id,
            target_label: row.target_label,
            before: parse(row.before_json),
            after: parse(row.after_json),
            client_addr: row.client_addr,
            request_id: row.request_id,
        }
    }
}

/// Cursors are opaque to clients: URL-safe base64 of the store's position.
pub fn encode_cursor(raw: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

pub fn decode_cursor_raw(cursor: &str) -> Result<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ServiceError::invalid(
                "cursor",
                "invalid_cursor",
                "the cursor is not one this service issued",
            )
        })
}

fn decode_cursor(cursor: &str) -> Result<(String, String)> {
    let raw = decode_cursor_raw(cursor)?;
    raw.split_once('|')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .ok_or_else(|| {
            ServiceError::invalid(
                "cursor",
                "invalid_cursor",
                "the cursor is not one this service issued",
            )
        })
}
