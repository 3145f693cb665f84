//! Serialising the use cases that read and then write the same thing.
//!
//! A use case that checks a row and then changes it ("is she still active? then
//! deactivate her") must hold the row from the check to the commit, or two identical
//! requests both pass the check and both write. On SQLite every write transaction
//! already holds the database's one write lock from its first statement (`BEGIN
//! IMMEDIATE`), so nothing more is needed; on PostgreSQL the row is locked with
//! `SELECT … FOR UPDATE`, and a second transaction waits there, then reads what the
//! first committed.

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{is_sqlite, Sql};

/// The rows that can be locked, each by its key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockable {
    User,
    Assignment,
    Campaign,
    Role,
}

impl Lockable {
    fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Lockable::User => ("users", "id"),
            Lockable::Assignment => ("assignments", "id"),
            Lockable::Campaign => ("campaigns", "code"),
            Lockable::Role => ("roles", "code"),
        }
    }
}

/// Locks the row of `what` keyed `key` until `conn`'s transaction ends; a row that
/// does not exist locks nothing. Call it inside a transaction, before reading what the
/// change depends on.
pub async fn lock(conn: &mut Conn, what: Lockable, key: &str) -> Result<(), StoreError> {
    if is_sqlite(conn) {
        return Ok(());
    }
    let (table, column) = what.table_and_key();
    Sql::new(&format!(
        "SELECT 1 AS locked FROM {table} WHERE {column} = "
    ))
    .bind(key)
    .push(" FOR UPDATE")
    .fetch_all(conn)
    .await?;
    Ok(())
}

/// Locks a name that has no row yet (a username about to be generated, a key about
/// to be inserted) until `conn`'s transaction ends: PostgreSQL's transaction-scoped
/// advisory lock on a hash of `scope` and `name`.
pub async fn lock_name(conn: &mut Conn, scope: &str, name: &str) -> Result<(), StoreError> {
    if is_sqlite(conn) {
        return Ok(());
    }
    Sql::new("SELECT pg_advisory_xact_lock(hashtextextended(")
        .bind(format!("{scope}\u{1f}{name}"))
        .push(", 0)) IS NULL AS locked")
        .fetch_all(conn)
        .await?;
    Ok(())
}

/// Claims the one-time work `name` for the caller (seeding demo data when several
/// processes start together on an empty database): true for exactly one caller ever.
pub async fn claim_once(conn: &mut Conn, name: &str, now: &str) -> Result<bool, StoreError> {
    let claimed = Sql::new("INSERT INTO one_time_claims (name, claimed_at) VALUES (")
        .bind(name)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (name) DO NOTHING")
        .execute(conn)
        .await?;
    Ok(claimed == 1)
}
