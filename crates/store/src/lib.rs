//! cadre's persistence: one query surface over SQLite (the embedded default) and
//! PostgreSQL (production), selected by the database URL.
//!
//! Queries are plain SQL shared by both backends (`$n` placeholders, `ON CONFLICT`,
//! `RETURNING`); the few places where the dialects differ are named in [`Backend`].
//! Every repository function takes a connection, so a use case can run several of them,
//! and write its audit event, inside one transaction.

pub mod api_tokens;
pub mod assignments;
pub mod audit;
pub mod boundaries;
pub mod bulk_jobs;
pub mod bulk_slips;
pub mod campaigns;
pub mod credential_links;
pub mod db;
pub mod documents;
pub mod error;
pub mod locks;
pub mod master_data;
pub mod migrate;
pub mod outbox;
pub mod preferences;
pub mod recovery_codes;
mod revocation;
pub mod roles;
pub mod sessions;
pub mod sql;
pub mod status_changes;
pub mod test_support;
pub mod throttle;
pub mod user_links;
pub mod users;
pub mod writer;

pub use db::{Backend, Conn, Db, Tx};
pub use error::StoreError;
pub use sql::Page;

/// Timestamps are stored as fixed-width RFC 3339 UTC text, which sorts chronologically
/// on both backends and round-trips without loss.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a stored timestamp; stored values were written by [`timestamp`].
pub fn parse_timestamp(s: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp '{s}': {e}")))
}
