//! Failed sign-in counts per username, known or not, so that guessing slows down the
//! same way for every name and reveals nothing about which accounts exist.

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{int, opt_text, Sql};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Throttle {
    pub failures: i64,
    pub locked_until: Option<String>,
}

pub async fn get(conn: &mut Conn, username: &str) -> Result<Throttle, StoreError> {
    let mut sql = Sql::new("SELECT failures, locked_until FROM login_throttle WHERE username = ");
    sql.bind(username);
    match sql.fetch_optional(conn).await? {
        Some(row) => Ok(Throttle {
            failures: int(&row, "failures")?,
            locked_until: opt_text(&row, "locked_until")?,
        }),
        None => Ok(Throttle::default()),
    }
}

pub async fn set(
    conn: &mut Conn,
    username: &str,
    throttle: &Throttle,
    now: &str,
) -> Result<(), StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO login_throttle (username, failures, locked_until, updated_at) VALUES (",
    );
    sql.bind(username)
        .push(", ")
        .bind(throttle.failures)
        .push(", ")
        .bind(throttle.locked_until.clone())
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until, updated_at = excluded.updated_at");
    sql.execute(conn).await?;
    Ok(())
}

pub async fn clear(conn: &mut Conn, username: &str) -> Result<(), StoreError> {
    let mut sql = Sql::new("DELETE FROM login_throttle WHERE username = ");
    sql.bind(username);
    sql.execute(conn).await?;
    Ok(())
}
