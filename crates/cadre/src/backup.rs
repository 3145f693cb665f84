//! `cadre backup FILE`: an online, consistent copy of an SQLite database.
//!
//! `VACUUM INTO` reads the whole database inside one read transaction, so the copy is
//! exactly the database as of one instant: every change committed before it started and
//! none half-applied, while the service keeps writing (WAL lets readers and the writer
//! run side by side). The copy is written next to FILE under a name of its own, checked
//! with `PRAGMA integrity_check`, and only then linked to FILE (never over an existing
//! one), so an interrupted backup never leaves a file that looks complete, and of
//! several run at once to the same FILE exactly one lands. PostgreSQL has its own tool
//! for this (`pg_dump`); the README says how.

use std::path::{Path, PathBuf};

use cadre_store::db::{Backend, DbOptions};
use cadre_store::sql::{text, Sql};
use cadre_store::Db;

/// Copies the database at `database_url` to `file`; answers a one-line summary.
pub async fn run(database_url: &str, file: &Path) -> Result<String, String> {
    let backend = Backend::from_url(database_url).map_err(|e| e.to_string())?;
    if backend == Backend::Postgres {
        return Err(
            "cadre backup copies SQLite databases; for PostgreSQL use pg_dump \
             (pg_dump --format=custom --file=FILE DATABASE_URL, restore with pg_restore)"
                .into(),
        );
    }
    let source = sqlite_file(database_url)
        .ok_or_else(|| "cadre backup needs an SQLite database file, not :memory:".to_owned())?;
    if !source.is_file() {
        return Err(format!("no database file at {}", source.display()));
    }
    if file.exists() {
        return Err(format!(
            "{} already exists; name a new file so no backup is overwritten",
            file.display()
        ));
    }
    // Each run writes its own partial file: several backups to one FILE at once must
    // not delete each other's work.
    let partial = partial_name(file);

    let db = Db::connect(
        database_url,
        &DbOptions {
            max_connections: 2,
            ..DbOptions::default()
        },
    )
    .await
    .map_err(|e| format!("cannot open {}: {e}", source.display()))?;
    let copied = copy(&db, &partial).await;
    db.close().await;
    if let Err(reason) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(reason);
    }
    if let Err(reason) = verify(&partial).await {
        let _ = std::fs::remove_file(&partial);
        return Err(reason);
    }
    // A hard link never replaces an existing file: of overlapping runs, the first to
    // finish names FILE and the others say it exists, so exactly one backup is there.
    let linked = std::fs::hard_link(&partial, file);
    let _ = std::fs::remove_file(&partial);
    linked.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} was written meanwhile by another backup; this copy was discarded",
            file.display()
        ),
        _ => format!("moving the copy to {}: {e}", file.display()),
    })?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "backed up {} to {} ({bytes} bytes, schema version {})",
        source.display(),
        file.display(),
        cadre_store::migrate::latest_version()
    ))
}

async fn copy(db: &Db, target: &Path) -> Result<(), String> {
    let version = cadre_store::migrate::current_version(db)
        .await
        .map_err(|e| format!("reading the schema version: {e}"))?;
    if version == 0 {
        return Err("the database has no cadre schema: nothing to back up".into());
    }
    let target_text = target
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", target.display()))?;
    let mut conn = db
        .reader()
        .await
        .map_err(|e| format!("opening a read connection: {e}"))?;
    Sql::new("VACUUM INTO ")
        .bind(target_text)
        .execute(&mut conn)
        .await
        .map_err(|e| format!("writing {}: {e}", target.display()))?;
    Ok(())
}

/// Opens the copy read-only and asks SQLite whether every page and index is sound.
async fn verify(copy: &Path) -> Result<(), String> {
    let url = format!("sqlite://{}?mode=ro", copy.display());
    let db = Db::connect(
        &url,
        &DbOptions {
            max_connections: 2,
            ..DbOptions::default()
        },
    )
    .await
    .map_err(|e| format!("reopening the copy: {e}"))?;
    let verdict = async {
        let mut conn = db.reader().await?;
        let rows = Sql::new("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await?;
        rows.first()
            .map(|row| text(row, "integrity_check"))
            .transpose()
    }
    .await;
    db.close().await;
    match verdict {
        Ok(Some(ok)) if ok == "ok" => Ok(()),
        Ok(other) => Err(format!(
            "the copy failed its integrity check: {}",
            other.unwrap_or_default()
        )),
        Err(e) => Err(format!("checking the copy: {e}")),
    }
}

/// The file an `sqlite:` URL names (without its `?options`), if any.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// `FILE.partial-<pid>`, beside FILE (a link cannot cross file systems).
fn partial_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    // One backup per process: the process id tells concurrent runs apart.
    name.push(format!(".partial-{}", std::process::id()));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_file_from_sqlite_urls() {
        assert_eq!(
            sqlite_file("sqlite://data/cadre.db?mode=rwc"),
            Some(PathBuf::from("data/cadre.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/cadre.db"),
            Some(PathBuf::from("/var/lib/cadre.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x@y/z"), None);
    }
}
