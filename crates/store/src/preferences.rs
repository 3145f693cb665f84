//! A person's own interface preferences, kept on their user row.

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{opt_text, Sql};

/// Records the interface language a user chose (a code such as `pt`).
pub async fn set_language(
    conn: &mut Conn,
    user_id: &str,
    language: &str,
) -> Result<(), StoreError> {
    // A preference, not a change to the person's record: the row's version and
    // updated_at stay, so nobody's open edit form goes stale over it.
    let mut sql = Sql::new("UPDATE users SET language = ");
    sql.bind(language).push(" WHERE id = ").bind(user_id);
    sql.execute(conn).await?;
    Ok(())
}

/// The interface language a user chose, if any.
pub async fn language(conn: &mut Conn, user_id: &str) -> Result<Option<String>, StoreError> {
    let mut sql = Sql::new("SELECT language FROM users WHERE id = ");
    sql.bind(user_id);
    match sql.fetch_optional(conn).await? {
        Some(row) => opt_text(&row, "language"),
        None => Ok(None),
    }
}
