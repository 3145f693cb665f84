//! Connecting to the database the URL names, with the settings each backend needs.

use std::str::FromStr;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor};

use crate::error::StoreError;

pub type Conn = AnyConnection;

/// A write transaction: use it as a connection, then [`Tx::commit`]; dropping it
/// without committing rolls back.
///
/// The transaction is ours, not the driver's: `BEGIN`, `COMMIT` and `ROLLBACK` are
/// sent as plain statements, and a connection on which any of them failed is closed
/// instead of going back to the pool. A failed COMMIT (a full disk, an I/O error, a
/// connection cut) leaves the session in a state nobody can vouch for: SQLite may or
/// may not have rolled back by itself, and the driver's own bookkeeping of nesting
/// then drifted, so later requests ran inside a transaction that never committed and
/// were answered as if they had. A fresh connection cannot carry such a state.
pub struct Tx {
    conn: Option<PoolConnection<Any>>,
    health: Arc<WriteHealth>,
}

impl Tx {
    /// Makes the transaction durable. An error means nothing of it was kept, and the
    /// connection it ran on is closed.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let Some(mut conn) = self.conn.take() else {
            return Err(StoreError::Other(
                "the transaction has already ended".into(),
            ));
        };
        match control(&mut conn, "COMMIT").await {
            Ok(_) => {
                self.health.transaction_committed();
                Ok(())
            }
            Err(error) => {
                self.health.transaction_unfinished();
                discard(conn).await;
                Err(StoreError::from(error))
            }
        }
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.conn {
            Some(conn) => conn,
            // `commit` takes the transaction by value, so no reference outlives it.
            None => unreachable_connection(),
        }
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

fn unreachable_connection() -> ! {
    panic!("a transaction was used after it ended")
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        self.health.transaction_unfinished();
        // The connection goes back to the pool only once the rollback has finished;
        // if it fails, the connection is closed. Without a runtime to run it on, the
        // connection is closed at once, which rolls the transaction back just as well.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(rollback(conn));
            }
            Err(_) => drop(conn.detach()),
        }
    }
}

/// Runs one transaction-control statement. Boxed: a future that holds the driver's
/// executor across an await cannot be proven `Send` for the task `Drop` spawns.
fn control<'c>(
    conn: &'c mut AnyConnection,
    statement: &'static str,
) -> BoxFuture<'c, Result<(), sqlx::Error>> {
    Box::pin(async move { conn.execute(statement).await.map(|_| ()) })
}

async fn rollback(mut conn: PoolConnection<Any>) {
    if let Err(error) = control(&mut conn, "ROLLBACK").await {
        tracing::warn!(%error, "rollback failed; closing the connection");
        discard(conn).await;
    }
}

/// Closes a connection whose state is unknown, after a last try to roll back, so the
/// pool opens a fresh one in its place.
async fn discard(mut conn: PoolConnection<Any>) {
    let _ = tokio::time::timeout(Duration::from_secs(2), control(&mut conn, "ROLLBACK")).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.close()).await;
}

/// What readiness knows of writes: the latest probe's outcome, and how many
/// transactions have committed and how many ended without, so that a probe's success
/// is not reused across a failure, nor its failure across a success.
#[derive(Debug, Default)]
struct WriteHealth {
    committed: AtomicU64,
    unfinished: AtomicU64,
    probe: tokio::sync::Mutex<Option<Probe>>,
}

#[derive(Debug)]
struct Probe {
    at: Instant,
    /// `committed` and `unfinished` when the probe ended.
    counts: (u64, u64),
    outcome: Result<(), String>,
}

impl WriteHealth {
    fn transaction_committed(&self) {
        self.committed.fetch_add(1, Ordering::AcqRel);
    }

    fn transaction_unfinished(&self) {
        self.unfinished.fetch_add(1, Ordering::AcqRel);
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.committed.load(Ordering::Acquire),
            self.unfinished.load(Ordering::Acquire),
        )
    }
}

impl Probe {
    /// Whether this answer still stands: recent, and nothing since contradicts it.
    fn stands(&self, (committed, unfinished): (u64, u64)) -> bool {
        let unchanged = match self.outcome {
            Ok(()) => unfinished == self.counts.1,
            Err(_) => committed == self.counts.0,
        };
        unchanged && self.at.elapsed() < PROBE_REUSE
    }
}

/// How long a write probe's answer is reused, so that readiness polled by many
/// clients writes at most once a second.
const PROBE_REUSE: Duration = Duration::from_secs(1);

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
    health: Arc<WriteHealth>,
    page_cap: Option<Arc<AtomicU64>>,
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite only: the most pages the file may grow to, read before each write
    /// transaction (`PRAGMA max_page_count`). A quota for an operator, and the way a
    /// test fills a database without filling a disk and then gives the space back.
    pub sqlite_page_cap: Option<Arc<AtomicU64>>,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            sqlite_page_cap: None,
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
            health: Arc::default(),
            page_cap: options.sqlite_page_cap.clone(),
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

    /// A write transaction; commit it or it rolls back when dropped. On SQLite it takes
    /// the write lock at once (`BEGIN IMMEDIATE`), so a transaction that reads before
    /// it writes is never refused halfway by another process's writer.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let statement = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let mut conn = self.write.acquire().await?;
        if let (Backend::Sqlite, Some(cap)) = (self.backend, &self.page_cap) {
            let pragma = format!("PRAGMA max_page_count = {}", cap.load(Ordering::Acquire));
            sqlx::query(&pragma).fetch_all(&mut *conn).await?;
        }
        if let Err(error) = control(&mut conn, statement).await {
            // Among the causes: a connection still inside a transaction it should have
            // left. It is not used again.
            self.health.transaction_unfinished();
            discard(conn).await;
            return Err(StoreError::from(error));
        }
        Ok(Tx {
            conn: Some(conn),
            health: Arc::clone(&self.health),
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.read.acquire().await?;
        sqlx::query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    /// Checks that a write reaches the database: commits a row of a few pages to
    /// `write_probe` and removes the previous one. The new row needs pages of its own
    /// before the old one's are freed, so a database that cannot grow (a full disk, a
    /// size cap) fails it, as do a read-only file and a lost connection. The answer is
    /// reused for a second, unless a transaction has since ended the other way.
    pub async fn probe_writes(&self) -> Result<(), StoreError> {
        let mut last = self.health.probe.lock().await;
        if let Some(probe) = last.as_ref().filter(|p| p.stands(self.health.counts())) {
            return probe.outcome.clone().map_err(StoreError::Unavailable);
        }
        let outcome = self.write_probe().await;
        *last = Some(Probe {
            at: Instant::now(),
            counts: self.health.counts(),
            outcome: outcome.as_ref().map_err(ToString::to_string).map(|_| ()),
        });
        outcome
    }

    async fn write_probe(&self) -> Result<(), StoreError> {
        const PAD_BYTES: usize = 12 * 1024;
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.begin().await?;
        crate::sql::Sql::new("INSERT INTO write_probe (id, checked_at, pad) VALUES (")
            .bind(id.as_str())
            .push(", ")
            .bind(crate::timestamp(chrono::Utc::now()))
            .push(", ")
            .bind("0".repeat(PAD_BYTES))
            .push(")")
            .execute(&mut tx)
            .await?;
        crate::sql::Sql::new("DELETE FROM write_probe WHERE id <> ")
            .bind(id.as_str())
            .execute(&mut tx)
            .await?;
        tx.commit().await
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
