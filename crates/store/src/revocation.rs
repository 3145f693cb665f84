//! What the stores of secrets (sessions, integration tokens, links, recovery codes)
//! share: ending all of a user's live ones at once, as a deactivation, a new link or a
//! new code does.

use crate::sql::Sql;

/// `UPDATE {table} SET revoked_at = now` for `user_id`'s rows not revoked yet, with the
/// reason where the table keeps one; the caller narrows it further (a used link or code
/// is over already) and runs it.
pub(crate) fn revoking_for_user(
    table: &str,
    user_id: &str,
    reason: Option<&str>,
    now: &str,
) -> Sql {
    let mut sql = Sql::new(&format!("UPDATE {table} SET revoked_at = "));
    sql.bind(now);
    if let Some(reason) = reason {
        sql.push(", revoke_reason = ").bind(reason);
    }
    sql.push(" WHERE user_id = ")
        .bind(user_id)
        .push(" AND revoked_at IS NULL");
    sql
}
