//! One-time codes for password recovery, stored as Argon2id hashes and counted as
//! they are tried, so each code allows only a few guesses.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::revocation::revoking_for_user;
use crate::sql::{int, opt_text, text, Sql};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodeRow {
    pub id: String,
    pub user_id: String,
    pub code_hash: String,
    pub channel: String,
    pub attempts: i64,
    pub created_at: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, code_hash, channel, attempts, created_at, expires_at, used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<RecoveryCodeRow, StoreError> {
    Ok(RecoveryCodeRow {
        id: text(row, "id")?,
        user_id: text(row, "user_id")?,
        code_hash: text(row, "code_hash")?,
        channel: text(row, "channel")?,
        attempts: int(row, "attempts")?,
        created_at: text(row, "created_at")?,
        expires_at: text(row, "expires_at")?,
        used_at: opt_text(row, "used_at")?,
        revoked_at: opt_text(row, "revoked_at")?,
    })
}

pub async fn insert(conn: &mut Conn, code: &RecoveryCodeRow) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!("INSERT INTO recovery_codes ({COLUMNS}) VALUES ("));
    sql.bind(code.id.as_str())
        .push(", ")
        .bind(code.user_id.as_str())
        .push(", ")
        .bind(code.code_hash.as_str())
        .push(", ")
        .bind(code.channel.as_str())
        .push(", ")
        .bind(code.attempts)
        .push(", ")
        .bind(code.created_at.as_str())
        .push(", ")
        .bind(code.expires_at.as_str())
        .push(", ")
        .bind(code.used_at.clone())
        .push(", ")
        .bind(code.revoked_at.clone())
        .push(")");
    sql.execute(conn).await?;
    Ok(())
}

/// Revokes a user's open codes (a new request replaces them); returns how many.
pub async fn revoke_open_for_user(
    conn: &mut Conn,
    user_id: &str,
    now: &str,
) -> Result<u64, StoreError> {
    let mut sql = revoking_for_user("recovery_codes", user_id, None, now);
    sql.push(" AND used_at IS NULL");
    sql.execute(conn).await
}

/// The user's newest code that is open, unexpired at `now` and has guesses left.
pub async fn find_open(
    conn: &mut Conn,
    user_id: &str,
    now: &str,
    max_attempts: i64,
) -> Result<Option<RecoveryCodeRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM recovery_codes WHERE user_id = "
    ));
    sql.bind(user_id)
        .push(" AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ")
        .bind(now)
        .push(" AND attempts < ")
        .bind(max_attempts)
        .push(" ORDER BY created_at DESC LIMIT 1");
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Counts one guess; false when the code has no guesses left (another request took
/// the last one), so concurrent guesses cannot exceed the limit.
pub async fn count_attempt(
    conn: &mut Conn,
    id: &str,
    max_attempts: i64,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE recovery_codes SET attempts = attempts + 1 WHERE id = ");
    sql.bind(id)
        .push(" AND used_at IS NULL AND revoked_at IS NULL AND attempts < ")
        .bind(max_attempts);
    Ok(sql.execute(conn).await? == 1)
}

/// Marks a code used; false when it was used or revoked meanwhile.
pub async fn consume(conn: &mut Conn, id: &str, now: &str) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE recovery_codes SET used_at = ");
    sql.bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND used_at IS NULL AND revoked_at IS NULL");
    Ok(sql.execute(conn).await? == 1)
}
