//! Master data lists changed through the API; lists never changed keep their configured
//! or built-in values, which live outside the database.

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{text, Sql};

/// Every stored list as (name, JSON array of items).
pub async fn all(conn: &mut Conn) -> Result<Vec<(String, String)>, StoreError> {
    Sql::new("SELECT list, items_json FROM master_data ORDER BY list")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((text(row, "list")?, text(row, "items_json")?)))
        .collect()
}

pub async fn put(
    conn: &mut Conn,
    list: &str,
    items_json: &str,
    now: &str,
) -> Result<(), StoreError> {
    let mut sql = Sql::new("INSERT INTO master_data (list, items_json, updated_at) VALUES (");
    sql.bind(list)
        .push(", ")
        .bind(items_json)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (list) DO UPDATE SET items_json = excluded.items_json, updated_at = excluded.updated_at");
    sql.execute(conn).await?;
    Ok(())
}
