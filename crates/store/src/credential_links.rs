//! Activation and sign-in links. The token itself travels only in the message; the
//! database holds its SHA-256, so a copy of it cannot be used to sign in.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::revocation::revoking_for_user;
use crate::sql::{opt_text, text, Sql};
use crate::writer::Insert;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub channel: String,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, token_hash, channel, created_at, expires_at, used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<LinkRow, StoreError> {
    Ok(LinkRow {
        id: text(row, "id")?,
        user_id: text(row, "user_id")?,
        token_hash: text(row, "token_hash")?,
        channel: text(row, "channel")?,
        created_at: text(row, "created_at")?,
        expires_at: text(row, "expires_at")?,
        used_at: opt_text(row, "used_at")?,
        revoked_at: opt_text(row, "revoked_at")?,
    })
}

/// The insert of a new link.
pub fn insertion(link: &LinkRow) -> Insert {
    Insert::new("credential_links")
        .set("id", link.id.as_str())
        .set("user_id", link.user_id.as_str())
        .set("token_hash", link.token_hash.as_str())
        .set("channel", link.channel.as_str())
        .set("created_at", link.created_at.as_str())
        .set("expires_at", link.expires_at.as_str())
        .set("used_at", link.used_at.clone())
        .set("revoked_at", link.revoked_at.clone())
}

/// Revokes every unused link of a user (a new one replaces them); returns how many.
pub async fn revoke_open_for_user(
    conn: &mut Conn,
    user_id: &str,
    now: &str,
) -> Result<u64, StoreError> {
    let mut sql = revoking_for_user("credential_links", user_id, None, now);
    sql.push(" AND used_at IS NULL");
    sql.execute(conn).await
}

/// The link with this token hash if it is unused, unrevoked and unexpired at `now`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
) -> Result<Option<LinkRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM credential_links WHERE token_hash = "
    ));
    sql.bind(token_hash)
        .push(" AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ")
        .bind(now);
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Marks a link used; false when another request used it first, so it is consumed
/// exactly once even under concurrent requests.
pub async fn consume(conn: &mut Conn, id: &str, now: &str) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE credential_links SET used_at = ");
    sql.bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND used_at IS NULL AND revoked_at IS NULL");
    Ok(sql.execute(conn).await? == 1)
}
