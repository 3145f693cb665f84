use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// A unique constraint refused the write; carries the table.column or constraint name.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A foreign key refused the write (a referenced row is missing).
    #[error("referenced row missing: {0}")]
    ForeignKey(String),
    /// The database cannot be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database broke a deadlock or a serialisation conflict between concurrent
    /// transactions by aborting this one (PostgreSQL 40P01, 40001).
    #[error("concurrent change: {0}")]
    Contention(String),
    /// A stored value could not be read back.
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) => {
                let name = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                if db.is_unique_violation() {
                    StoreError::Unique(name)
                } else if db.is_foreign_key_violation() {
                    StoreError::ForeignKey(name)
                } else if matches!(db.code().as_deref(), Some("40P01" | "40001")) {
                    StoreError::Contention(db.message().to_owned())
                } else if is_connection_lost(db.as_ref()) {
                    StoreError::Unavailable(db.message().to_owned())
                } else if let Some(cause) = refused_write(db.as_ref()) {
                    StoreError::Unavailable(format!("{cause}: {}", db.message()))
                } else {
                    StoreError::Other(db.message().to_owned())
                }
            }
            // The connection itself failed: refused, cut, or answered with something
            // that is not the database's protocol (a dead proxy, a half-open socket).
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_) => {
                StoreError::Corrupt(error.to_string())
            }
            _ => StoreError::Other(error.to_string()),
        }
    }
}

/// PostgreSQL's connection exceptions (SQLSTATE class 08) and shutdowns (57P01-57P03):
/// the server is going away, not the request at fault.
fn is_connection_lost(db: &dyn sqlx::error::DatabaseError) -> bool {
    let code = db.code();
    let code = code.as_deref().unwrap_or_default();
    code.len() == 5 && (code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03"))
}

/// SQLite's answers when the file cannot take a write (SQLITE_READONLY, SQLITE_FULL,
/// SQLITE_IOERR): the database is unavailable for changes, not the request at fault.
/// PostgreSQL's disk-full (53100) and read-only transaction (25006) states likewise.
fn refused_write(db: &dyn sqlx::error::DatabaseError) -> Option<&'static str> {
    let code = db.code();
    let code = code.as_deref().unwrap_or_default();
    // SQLite's (extended) result codes have at most four digits; PostgreSQL's SQLSTATEs
    // always five characters, so one is never read as the other.
    let primary = (code.len() < 5)
        .then(|| code.parse::<i64>().ok())
        .flatten()
        .map(|c| c & 0xff);
    match (primary, code) {
        (Some(8), _) | (_, "25006") => Some("the database is read-only"),
        (Some(13), _) | (_, "53100") => Some("the database disk is full"),
        (Some(10), _) => Some("the database file cannot be written"),
        _ => None,
    }
}

impl StoreError {
    /// Whether this is a unique violation on the named column or constraint.
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Unique(name) if name.contains(needle))
    }
}
