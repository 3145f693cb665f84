//! Connecting to the database the URL names, with the settings each backend needs.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Transaction};

use crate::error::StoreError;

pub type Conn = AnyConnection;
/// A write transaction: use it as a connection, then [`Tx::commit`]; dropping it
/// without committing rolls back.
pub struct Tx(Transaction<'static, sqlx::Any>);

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Other(format!(
                "unsupported database URL '{}': use sqlite://FILE or postgres://…",
                redact(url)
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Both pools of one database. On SQLite all writes go through a single connection, so
/// writers queue in the process instead of failing with SQLITE_BUSY; reads use the
/// other pool concurrently thanks to WAL. On PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Db {
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let connect = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Other(format!("database URL: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        // A read-only file cannot change its journal mode; it is read as it is.
        let read_only = backend == Backend::Sqlite && url.contains("mode=ro");
        // Only readers map the file: the writer's pages would stay mapped too, and a bulk
        // import reads every page it writes, which made the whole database count as the
        // process's resident memory while it ran.
        let pool = |max: u32, mapped: bool| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(options.acquire_timeout)
                // A PostgreSQL connection can be cut by a restart, so it is checked
                // before use. A SQLite connection is a file this process holds open:
                // checking it cost a round trip to its thread on every acquire, as
                // much as the statements of a typical read.
                .test_before_acquire(backend == Backend::Postgres)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            if !read_only {
                                sqlx::query("PRAGMA journal_mode = WAL")
                                    .execute(&mut *conn)
                                    .await?;
                            }
                            for pragma in [
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 5000",
                                "PRAGMA synchronous = NORMAL",
                            ] {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            if mapped {
                                // Reads map the file instead of copying each page
                                // through a system call into a cache of 2 MB per
                                // connection: a name search over a million users reads
                                // tens of thousands of rows.
                                sqlx::query("PRAGMA mmap_size = 1073741824")
                                    .execute(&mut *conn)
                                    .await?;
                            }
                        } else {
                            // Queries here are short; a search whose estimated cost crosses
                            // the JIT threshold spent hundreds of milliseconds compiling
                            // code that then ran for a few.
                            sqlx::query("SET jit = off").execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                })
        };
        let (read, write) = match backend {
            Backend::Sqlite => {
                let write = pool(1, false).connect_with(connect.clone()).await?;
                let read = pool(options.max_connections.max(2), true)
                    .connect_with(connect)
                    .await?;
                (read, write)
            }
            Backend::Postgres => {
                let shared = pool(options.max_connections, false)
                    .connect_with(connect)
                    .await?;
                (shared.clone(), shared)
            }
        };
        Ok(Self {
            read,
            write,
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for reading.
    pub async fn reader(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, StoreError> {
        Ok(self.read.acquire().await?)
    }

    /// A connection for reading if one is free right now, without waiting: for work
    /// that can run side by side but must not queue behind the requests that hold
    /// the others (each waiting for a second connection would deadlock the pool).
    pub fn try_reader(&self) -> Option<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.read.try_acquire()
    }

    /// A write transaction; commit it or it rolls back when dropped.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx(self.write.begin().await?))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.read.acquire().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// A database URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://cadre:s3cret@db:5432/cadre"),
            "postgres://cadre:***@db:5432/cadre"
        );
        assert_eq!(redact("sqlite://cadre.db"), "sqlite://cadre.db");
    }
}
