//! Fresh databases for integration tests: a temporary SQLite file by default, or a new
//! PostgreSQL database on the server named by `CADRE_TEST_DATABASE_URL`.

use crate::db::{Db, DbOptions};
use crate::error::StoreError;
use crate::sql::Sql;

/// Where a test's database lives; the SQLite file is removed when this is dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Names created databases `cadre_test_…` so a CI run can drop them afterwards.
pub async fn fresh_database() -> Result<TestDatabase, StoreError> {
    match std::env::var("CADRE_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = Db::connect(
                &admin_url,
                &DbOptions {
                    max_connections: 2,
                    ..DbOptions::default()
                },
            )
            .await?;
            let name = format!("cadre_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = admin.reader().await?;
            Sql::new(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
            drop(conn);
            admin.close().await;
            // Same server and options, another database name.
            let (without_query, query) = admin_url
                .split_once('?')
                .map_or((admin_url.as_str(), String::new()), |(a, q)| {
                    (a, format!("?{q}"))
                });
            let base = match without_query.rsplit_once('/') {
                Some((base, _)) if !base.ends_with('/') => base,
                _ => without_query,
            };
            Ok(TestDatabase {
                url: format!("{base}/{name}{query}"),
                _dir: None,
            })
        }
        _ => {
            let dir = tempfile::tempdir().map_err(|e| StoreError::Other(e.to_string()))?;
            let url = format!("sqlite://{}", dir.path().join("cadre.db").display());
            Ok(TestDatabase {
                url,
                _dir: Some(dir),
            })
        }
    }
}
