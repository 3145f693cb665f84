//! Sign-in sessions. Only the SHA-256 of a token is stored, so a copy of the database
//! cannot be used to sign in.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{opt_text, text, Sql};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub kind: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

const COLUMNS: &str =
    "id, token_hash, user_id, kind, created_at, last_used_at, expires_at, revoked_at, client_addr, user_agent";

fn from_row(row: &AnyRow) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: text(row, "id")?,
        token_hash: text(row, "token_hash")?,
        user_id: text(row, "user_id")?,
        kind: text(row, "kind")?,
        created_at: text(row, "created_at")?,
        last_used_at: text(row, "last_used_at")?,
        expires_at: text(row, "expires_at")?,
        revoked_at: opt_text(row, "revoked_at")?,
        client_addr: opt_text(row, "client_addr")?,
        user_agent: opt_text(row, "user_agent")?,
    })
}

pub async fn insert(conn: &mut Conn, s: &SessionRow) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!("INSERT INTO sessions ({COLUMNS}) VALUES ("));
    sql.bind(s.id.as_str())
        .push(", ")
        .bind(s.token_hash.as_str())
        .push(", ")
        .bind(s.user_id.as_str())
        .push(", ")
        .bind(s.kind.as_str())
        .push(", ")
        .bind(s.created_at.as_str())
        .push(", ")
        .bind(s.last_used_at.as_str())
        .push(", ")
        .bind(s.expires_at.as_str())
        .push(", ")
        .bind(s.revoked_at.clone())
        .push(", ")
        .bind(s.client_addr.clone())
        .push(", ")
        .bind(s.user_agent.clone())
        .push(")");
    sql.execute(conn).await?;
    Ok(())
}

/// The session with this token hash if it is neither revoked nor expired at `now`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
) -> Result<Option<SessionRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE token_hash = "
    ));
    sql.bind(token_hash)
        .push(" AND revoked_at IS NULL AND expires_at > ")
        .bind(now);
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list_live_for_user(
    conn: &mut Conn,
    user_id: &str,
    now: &str,
) -> Result<Vec<SessionRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM sessions WHERE user_id = "));
    sql.bind(user_id)
        .push(" AND revoked_at IS NULL AND expires_at > ")
        .bind(now)
        .push(" ORDER BY created_at DESC");
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

pub async fn touch(conn: &mut Conn, id: &str, now: &str) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE sessions SET last_used_at = ");
    sql.bind(now).push(" WHERE id = ").bind(id);
    sql.execute(conn).await?;
    Ok(())
}

pub async fn revoke(conn: &mut Conn, id: &str, reason: &str, now: &str) -> Result<u64, StoreError> {
    let mut sql = Sql::new("UPDATE sessions SET revoked_at = ");
    sql.bind(now)
        .push(", revoke_reason = ")
        .bind(reason)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND revoked_at IS NULL");
    sql.execute(conn).await
}

/// Ends every live session of a user, except `keep` when given; returns how many ended.
pub async fn revoke_all_for_user(
    conn: &mut Conn,
    user_id: &str,
    keep: Option<&str>,
    reason: &str,
    now: &str,
) -> Result<u64, StoreError> {
    let mut sql = Sql::new("UPDATE sessions SET revoked_at = ");
    sql.bind(now)
        .push(", revoke_reason = ")
        .bind(reason)
        .push(" WHERE user_id = ")
        .bind(user_id)
        .push(" AND revoked_at IS NULL");
    if let Some(keep) = keep {
        sql.push(" AND id <> ").bind(keep);
    }
    sql.execute(conn).await
}
