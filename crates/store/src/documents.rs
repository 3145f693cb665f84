//! Documents attached to users (deactivation orders, letters), stored in the database
//! so that a backup of the database is a backup of everything.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{bytes, int, opt_text, text, Sql};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentRow {
    pub id: String,
    pub user_id: String,
    pub status_change_id: Option<String>,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_by: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str =
    "id, user_id, status_change_id, filename, content_type, size, sha256, created_by, created_at";

fn from_row(row: &AnyRow) -> Result<DocumentRow, StoreError> {
    Ok(DocumentRow {
        id: text(row, "id")?,
        user_id: text(row, "user_id")?,
        status_change_id: opt_text(row, "status_change_id")?,
        filename: text(row, "filename")?,
        content_type: text(row, "content_type")?,
        size: int(row, "size")?,
        sha256: text(row, "sha256")?,
        created_by: opt_text(row, "created_by")?,
        created_at: text(row, "created_at")?,
    })
}

pub async fn insert(conn: &mut Conn, d: &DocumentRow, content: Vec<u8>) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!(
        "INSERT INTO documents ({COLUMNS}, content) VALUES ("
    ));
    sql.bind(d.id.as_str())
        .push(", ")
        .bind(d.user_id.as_str())
        .push(", ")
        .bind(d.status_change_id.clone())
        .push(", ")
        .bind(d.filename.as_str())
        .push(", ")
        .bind(d.content_type.as_str())
        .push(", ")
        .bind(d.size)
        .push(", ")
        .bind(d.sha256.as_str())
        .push(", ")
        .bind(d.created_by.clone())
        .push(", ")
        .bind(d.created_at.as_str())
        .push(", ")
        .bind(content)
        .push(")");
    sql.execute(conn).await?;
    Ok(())
}

pub async fn of_user(conn: &mut Conn, user_id: &str) -> Result<Vec<DocumentRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM documents WHERE user_id = "));
    sql.bind(user_id).push(" ORDER BY created_at, id");
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// A document's metadata and content.
pub async fn content(
    conn: &mut Conn,
    id: &str,
) -> Result<Option<(DocumentRow, Vec<u8>)>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS}, content FROM documents WHERE id = "
    ));
    sql.bind(id);
    match sql.fetch_optional(conn).await? {
        Some(row) => Ok(Some((from_row(&row)?, bytes(&row, "content")?))),
        None => Ok(None),
    }
}

/// Attaches unattached documents of `user_id` to a status change; returns how many.
pub async fn attach(
    conn: &mut Conn,
    user_id: &str,
    ids: &[String],
    status_change_id: &str,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new("UPDATE documents SET status_change_id = ");
    sql.bind(status_change_id)
        .push(" WHERE user_id = ")
        .bind(user_id)
        .push(" AND status_change_id IS NULL AND id IN (")
        .bind_list(ids.iter().map(String::as_str))
        .push(")");
    sql.execute(conn).await
}
