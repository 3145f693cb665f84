//! Long-lived tokens for integrations. Like sessions, only the SHA-256 of a token is
//! stored; each carries the subset of its owner's actions it may use.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::revocation::revoking_for_user;
use crate::sql::{opt_text, text, Sql};
use crate::user_links::{self, Grants};
use crate::users::UserRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub token_hash: String,
    /// Action codes separated by spaces.
    pub actions: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const COLUMNS: &str = "id, user_id, name, token_hash, actions, created_by, created_at, expires_at, last_used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiTokenRow, StoreError> {
    from_row_named(row, "")
}

/// Reads the columns as named `{prefix}{column}`.
fn from_row_named(row: &AnyRow, prefix: &str) -> Result<ApiTokenRow, StoreError> {
    let name = |column: &str| format!("{prefix}{column}");
    Ok(ApiTokenRow {
        id: text(row, &name("id"))?,
        user_id: text(row, &name("user_id"))?,
        name: text(row, &name("name"))?,
        token_hash: text(row, &name("token_hash"))?,
        actions: text(row, &name("actions"))?,
        created_by: text(row, &name("created_by"))?,
        created_at: text(row, &name("created_at"))?,
        expires_at: opt_text(row, &name("expires_at"))?,
        last_used_at: opt_text(row, &name("last_used_at"))?,
        revoked_at: opt_text(row, &name("revoked_at"))?,
    })
}

pub async fn insert(conn: &mut Conn, t: &ApiTokenRow) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!("INSERT INTO api_tokens ({COLUMNS}) VALUES ("));
    sql.bind(t.id.as_str())
        .push(", ")
        .bind(t.user_id.as_str())
        .push(", ")
        .bind(t.name.as_str())
        .push(", ")
        .bind(t.token_hash.as_str())
        .push(", ")
        .bind(t.actions.as_str())
        .push(", ")
        .bind(t.created_by.as_str())
        .push(", ")
        .bind(t.created_at.as_str())
        .push(", ")
        .bind(t.expires_at.clone())
        .push(", ")
        .bind(t.last_used_at.clone())
        .push(", ")
        .bind(t.revoked_at.clone())
        .push(")");
    sql.execute(conn).await?;
    Ok(())
}

/// The live token with this hash together with its owner and the owner's grants, in
/// one statement.
pub async fn find_live_with_user(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
) -> Result<Option<(ApiTokenRow, UserRow, Grants)>, StoreError> {
    let found =
        user_links::find_live_with_user(conn, "api_tokens", COLUMNS, "token_", token_hash, now)
            .await?;
    found
        .map(|(row, user, grants)| Ok((from_row_named(&row, "token_")?, user, grants)))
        .transpose()
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ApiTokenRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = "));
    sql.bind(id);
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Tokens owned by or created by a user, newest first, revoked ones included.
pub async fn list_for_user(conn: &mut Conn, user_id: &str) -> Result<Vec<ApiTokenRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE user_id = "
    ));
    sql.bind(user_id)
        .push(" OR created_by = ")
        .bind(user_id)
        .push(" ORDER BY created_at DESC");
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

pub async fn touch(conn: &mut Conn, id: &str, now: &str) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE api_tokens SET last_used_at = ");
    sql.bind(now).push(" WHERE id = ").bind(id);
    sql.execute(conn).await?;
    Ok(())
}

pub async fn revoke(conn: &mut Conn, id: &str, now: &str) -> Result<u64, StoreError> {
    let mut sql = Sql::new("UPDATE api_tokens SET revoked_at = ");
    sql.bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND revoked_at IS NULL");
    sql.execute(conn).await
}

/// Revokes every token a user owns (deactivation, administrator's revoke).
pub async fn revoke_all_for_user(
    conn: &mut Conn,
    user_id: &str,
    now: &str,
) -> Result<u64, StoreError> {
    revoking_for_user("api_tokens", user_id, None, now)
        .execute(conn)
        .await
}
