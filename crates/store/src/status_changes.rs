//! Deactivations and reactivations: the history of a user's status, including changes
//! scheduled for a future day.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{opt_text, text, Sql};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusChangeRow {
    pub id: String,
    pub user_id: String,
    /// `deactivation` or `reactivation`.
    pub kind: String,
    pub reason: String,
    pub effective_date: String,
    pub order_number: Option<String>,
    pub remarks: Option<String>,
    /// `scheduled`, `applied` or `cancelled`.
    pub state: String,
    pub applied_at: Option<String>,
    pub created_by: Option<String>,
    pub created_by_username: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str = "id, user_id, kind, reason, effective_date, order_number, remarks, state, applied_at, created_by, created_by_username, created_at";

fn from_row(row: &AnyRow) -> Result<StatusChangeRow, StoreError> {
    Ok(StatusChangeRow {
        id: text(row, "id")?,
        user_id: text(row, "user_id")?,
        kind: text(row, "kind")?,
        reason: text(row, "reason")?,
        effective_date: text(row, "effective_date")?,
        order_number: opt_text(row, "order_number")?,
        remarks: opt_text(row, "remarks")?,
        state: text(row, "state")?,
        applied_at: opt_text(row, "applied_at")?,
        created_by: opt_text(row, "created_by")?,
        created_by_username: opt_text(row, "created_by_username")?,
        created_at: text(row, "created_at")?,
    })
}

pub async fn insert(conn: &mut Conn, c: &StatusChangeRow) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!("INSERT INTO status_changes ({COLUMNS}) VALUES ("));
    sql.bind(c.id.as_str())
        .push(", ")
        .bind(c.user_id.as_str())
        .push(", ")
        .bind(c.kind.as_str())
        .push(", ")
        .bind(c.reason.as_str())
        .push(", ")
        .bind(c.effective_date.as_str())
        .push(", ")
        .bind(c.order_number.clone())
        .push(", ")
        .bind(c.remarks.clone())
        .push(", ")
        .bind(c.state.as_str())
        .push(", ")
        .bind(c.applied_at.clone())
        .push(", ")
        .bind(c.created_by.clone())
        .push(", ")
        .bind(c.created_by_username.clone())
        .push(", ")
        .bind(c.created_at.as_str())
        .push(")");
    sql.execute(conn).await?;
    Ok(())
}

/// The status history of each of these users, oldest first.
pub async fn of_users(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<std::collections::HashMap<String, Vec<StatusChangeRow>>, StoreError> {
    let mut out: std::collections::HashMap<String, Vec<StatusChangeRow>> =
        std::collections::HashMap::new();
    for chunk in user_ids.chunks(400) {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM status_changes WHERE user_id IN ("
        ));
        sql.bind_list(chunk.iter().map(String::as_str))
            .push(") ORDER BY created_at, id");
        for row in sql.fetch_all(conn).await? {
            let change = from_row(&row)?;
            out.entry(change.user_id.clone()).or_default().push(change);
        }
    }
    Ok(out)
}

/// A user's status history, oldest first.
pub async fn of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<StatusChangeRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM status_changes WHERE user_id = "
    ));
    sql.bind(user_id).push(" ORDER BY created_at, id");
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// The latest deactivation of each user that is scheduled, or applied while the user
/// is deactivated: what the user's page shows as their current deactivation.
pub async fn current_deactivations(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<std::collections::HashMap<String, StatusChangeRow>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for chunk in user_ids.chunks(400) {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM status_changes s JOIN users u ON u.id = s.user_id WHERE s.kind = 'deactivation' \
             AND (s.state = 'scheduled' OR (s.state = 'applied' AND u.status = 'deactivated')) AND s.user_id IN (",
            COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
        ));
        sql.bind_list(chunk.iter().map(String::as_str))
            .push(") ORDER BY s.created_at");
        for row in sql.fetch_all(conn).await? {
            let change = from_row(&row)?;
            out.insert(change.user_id.clone(), change);
        }
    }
    Ok(out)
}

/// Scheduled changes whose day has come.
pub async fn due(
    conn: &mut Conn,
    today: &str,
    limit: i64,
) -> Result<Vec<StatusChangeRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM status_changes WHERE state = 'scheduled' AND effective_date <= "
    ));
    sql.bind(today)
        .push(" ORDER BY effective_date, id LIMIT ")
        .bind(limit);
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// Moves a change from `from_state` to `to_state`; false when another process (or call)
/// got there first, which is what makes applying a scheduled change happen once.
pub async fn transition(
    conn: &mut Conn,
    id: &str,
    from_state: &str,
    to_state: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE status_changes SET state = ");
    sql.bind(to_state)
        .push(", applied_at = ")
        .bind(if to_state == "applied" {
            Some(now)
        } else {
            None
        })
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND state = ")
        .bind(from_state);
    Ok(sql.execute(conn).await? == 1)
}
