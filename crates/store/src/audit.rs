//! The append-only audit log. This module only ever inserts and reads: there is no
//! update or delete here, and triggers in the schema refuse them anyway.

use sqlx::any::AnyRow;

use cadre_domain::BoundaryPath;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{opt_text, text, Page, Sql};
use crate::writer::Insert;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditRow {
    pub id: String,
    pub occurred_at: String,
    pub actor_id: Option<String>,
    pub actor_username: Option<String>,
    pub action: String,
    pub outcome: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

const COLUMNS: &str =
    "id, occurred_at, actor_id, actor_username, action, outcome, target_type, target_id, \
     target_label, before_json, after_json, client_addr, request_id";

fn from_row(row: &AnyRow) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        id: text(row, "id")?,
        occurred_at: text(row, "occurred_at")?,
        actor_id: opt_text(row, "actor_id")?,
        actor_username: opt_text(row, "actor_username")?,
        action: text(row, "action")?,
        outcome: text(row, "outcome")?,
        target_type: opt_text(row, "target_type")?,
        target_id: opt_text(row, "target_id")?,
        target_label: opt_text(row, "target_label")?,
        before_json: opt_text(row, "before_json")?,
        after_json: opt_text(row, "after_json")?,
        client_addr: opt_text(row, "client_addr")?,
        request_id: opt_text(row, "request_id")?,
    })
}

/// The insert of one audit event.
pub fn insertion(e: &AuditRow) -> Insert {
    Insert::new("audit_events")
        .set("id", e.id.as_str())
        .set("occurred_at", e.occurred_at.as_str())
        .set("actor_id", e.actor_id.clone())
        .set("actor_username", e.actor_username.clone())
        .set("action", e.action.as_str())
        .set("outcome", e.outcome.as_str())
        .set("target_type", e.target_type.clone())
        .set("target_id", e.target_id.clone())
        .set("target_label", e.target_label.clone())
        .set("before_json", e.before_json.clone())
        .set("after_json", e.after_json.clone())
        .set("client_addr", e.client_addr.clone())
        .set("request_id", e.request_id.clone())
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// For actors without global scope: only events about users whose footprint
    /// touches these subtrees, or done by `own_id`.
    pub within: Option<AuditScope>,
    /// Newest first: continue strictly before (occurred_at, id).
    pub before: Option<(String, String)>,
    pub limit: i64,
}

/// The part of the audit log an actor without global scope may read.
#[derive(Debug, Clone, Default)]
pub struct AuditScope {
    pub subtrees: Vec<BoundaryPath>,
    pub own_id: String,
    pub today: String,
}

pub async fn query(conn: &mut Conn, q: &AuditQuery) -> Result<Page<AuditRow>, StoreError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(actor) = &q.actor {
        filter
            .push(" AND (actor_id = ")
            .bind(actor.as_str())
            .push(" OR actor_username = ")
            .bind(actor.to_lowercase())
            .push(")");
    }
    if let Some(target) = &q.target {
        filter
            .push(" AND (target_id = ")
            .bind(target.as_str())
            .push(" OR target_label = ")
            .bind(target.as_str())
            .push(")");
    }
    if let Some(action) = &q.action {
        if let Some(prefix) = action.strip_suffix(".*") {
            filter
                .push(" AND action LIKE ")
                .bind(format!("{}.%", cadre_domain::text::escape_like(prefix)))
                .push(" ESCAPE '\\'");
        } else {
            filter.push(" AND action = ").bind(action.as_str());
        }
    }
    if let Some(from) = &q.from {
        filter.push(" AND occurred_at >= ").bind(from.as_str());
    }
    if let Some(to) = &q.to {
        filter.push(" AND occurred_at < ").bind(to.as_str());
    }
    if let Some(scope) = &q.within {
        filter
            .push(" AND (actor_id = ")
            .bind(scope.own_id.as_str())
            .push(" OR (target_type = 'user'");
        crate::users::push_footprint_touches(
            &mut filter,
            "target_id",
            &scope.subtrees,
            &scope.today,
        );
        filter.push("))");
    }
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM audit_events");
    count.append(&filter);
    let total = count.fetch_count(conn).await?;
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM audit_events"));
    sql.append(&filter);
    if let Some((at, id)) = &q.before {
        sql.push(" AND (occurred_at < ")
            .bind(at.as_str())
            .push(" OR (occurred_at = ")
            .bind(at.as_str())
            .push(" AND id < ")
            .bind(id.as_str())
            .push("))");
    }
    sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ")
        .bind(q.limit + 1);
    let mut items = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if items.len() as i64 > q.limit {
        items.truncate(q.limit as usize);
        items.last().map(|e| format!("{}|{}", e.occurred_at, e.id))
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

/// Number of events recorded, for tests and metrics.
pub async fn count_all(conn: &mut Conn) -> Result<i64, StoreError> {
    Sql::new("SELECT COUNT(*) AS n FROM audit_events")
        .fetch_count(conn)
        .await
}
