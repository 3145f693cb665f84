//! Sign-in sessions. Only the SHA-256 of a token is stored, so a copy of the database
//! cannot be used to sign in.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::revocation::revoking_for_user;
use crate::sql::{opt_text, text, Sql};
use crate::user_links::{self, Grants};
use crate::users::UserRow;

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
    from_row_named(row, "")
}

/// Reads the columns as named `{prefix}{column}`.
fn from_row_named(row: &AnyRow, prefix: &str) -> Result<SessionRow, StoreError> {
    let name = |column: &str| format!("{prefix}{column}");
    Ok(SessionRow {
        id: text(row, &name("id"))?,
        token_hash: text(row, &name("token_hash"))?,
        user_id: text(row, &name("user_id"))?,
        kind: text(row, &name("kind"))?,
        created_at: text(row, &name("created_at"))?,
        last_used_at: text(row, &name("last_used_at"))?,
        expires_at: text(row, &name("expires_at"))?,
        revoked_at: opt_text(row, &name("revoked_at"))?,
        client_addr: opt_text(row, &name("client_addr"))?,
        user_agent: opt_text(row, &name("user_agent"))?,
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

/// The live session with this token hash together with its user and the user's grants,
/// in one statement: every authenticated request starts with this.
pub async fn find_live_with_user(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
) -> Result<Option<(SessionRow, UserRow, Grants)>, StoreError> {
    let found =
        user_links::find_live_with_user(conn, "sessions", COLUMNS, "session_", token_hash, now)
            .await?;
    found
        .map(|(row, user, grants)| Ok((from_row_named(&row, "session_")?, user, grants)))
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
    let mut sql = revoking_for_user("sessions", user_id, Some(reason), now);
    if let Some(keep) = keep {
        sql.push(" AND id <> ").bind(keep);
    }
    sql.execute(conn).await
}
