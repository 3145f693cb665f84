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
                } else {
                    StoreError::Other(db.message().to_owned())
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_) => {
                StoreError::Corrupt(error.to_string())
            }
            _ => StoreError::Other(error.to_string()),
        }
    }
}

impl StoreError {
    /// Whether this is a unique violation on the named column or constraint.
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Unique(name) if name.contains(needle))
    }
}
