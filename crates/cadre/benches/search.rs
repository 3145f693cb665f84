//! User search over a large generated population, through the service layer exactly as
//! `GET /api/v1/users` runs it: p50/p95/p99 per kind of query, against the bare limit
//! of the same database in the same run (a primary-key read of one user).
//!
//! `cargo bench -p cadre --bench search` (SQLite in a temporary file); set
//! `BENCH_DATABASE_URL=postgres://…/postgres` for PostgreSQL (a fresh
//! `cadre_bench_…` database is created there and dropped afterwards) and
//! `BENCH_USERS` for another population size (default 1,000,000). With `BENCH_KEEP=1`
//! the generated database is kept (its address is printed) to look at query plans, and
//! `BENCH_REUSE=<that address>` measures it again (migrated to this build's schema)
//! without generating; `BENCH_ONLY=subtree` runs only the queries whose label contains
//! that text.
//!
//! The users are written straight into the tables, by multi-row inserts in transactions
//! of 40,000; then the database gets the statistics (and on PostgreSQL the visibility
//! map) that a running one has. Generation takes two to three minutes of the run on a
//! loaded 2-core machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_domain::boundary::BoundaryPath;
use cadre_domain::scope::Scope;
use cadre_domain::text::fold;
use cadre_service::users::UserFilter;
use cadre_service::{Actor, Cadre, RequestMeta, Settings, SystemClock};
use cadre_store::db::{Backend, DbOptions};
use cadre_store::sql::Sql;
use cadre_store::Db;

const FIRST: &[&str] = &[
    "João", "Amélia", "Tomás", "Ana", "Rosa", "Carlos", "Fátima", "Inês", "Luís", "Célia",
    "Armando", "Graça", "Sérgio", "Lúcia", "Mário", "Helena", "Zacarias", "Olívia", "Rui",
    "Teresa",
];
const LAST: &[&str] = &[
    "Lopes",
    "Nhantumbo",
    "Macuácua",
    "Sitoe",
    "Bila",
    "Mondlane",
    "Chissano",
    "Guebuza",
    "Machel",
    "Cossa",
    "Mabunda",
    "Tembe",
    "Muianga",
    "Langa",
    "Zimba",
    "Matsinhe",
    "Cumbe",
    "Mussá",
    "Bié",
    "Júnior",
];
const PROVINCES: usize = 10;
const DISTRICTS: usize = 10;
const VILLAGES: usize = 50;
const ROUNDS: usize = 200;
const BATCH: usize = 400;
/// Batches per transaction while generating.
const PER_TRANSACTION: usize = 100;

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), Failure> {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    if let Ok(kept) = std::env::var("BENCH_REUSE") {
        return bench(&kept, None).await;
    }
    let scratch = tempfile::tempdir()?;
    let (url, cleanup) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("cadre_bench_{}", std::process::id());
            let server = Db::connect(&admin, &DbOptions::default()).await?;
            let mut conn = server.reader().await?;
            Sql::new(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
            drop(conn);
            server.close().await;
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            (format!("{base}/{name}"), Some((admin.clone(), name)))
        }
        _ => (
            format!("sqlite://{}", scratch.path().join("bench.db").display()),
            None,
        ),
    };
    let result = bench(&url, Some(users)).await;
    if std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1") {
        println!("kept the generated database: {url}");
        let _kept = scratch.keep();
        return result;
    }
    if let Some((admin, name)) = cleanup {
        let server = Db::connect(&admin, &DbOptions::default()).await?;
        let mut conn = server.reader().await?;
        Sql::new(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await?;
        drop(conn);
        server.close().await;
    }
    result
}

/// Measures the database at `url`, after generating `generate` users in it (none: it
/// holds them already).
async fn bench(url: &str, generate_users: Option<usize>) -> Result<(), Failure> {
    let db = Db::connect(url, &DbOptions::default()).await?;
    cadre_store::migrate::run(&db).await?;
    let settings = Settings::from_config(Default::default()).map_err(|e| e.to_string())?;
    let cadre = Cadre::new(db.clone(), settings, Arc::new(SystemClock));
    cadre.bootstrap().await.map_err(|e| e.to_string())?;
    let operator = Actor::local_operator();

    let users = match generate_users {
        Some(users) => {
            let started = Instant::now();
            let villages = boundaries(&cadre, &operator).await?;
            generate(&db, users, &villages).await?;
            println!(
                "generated {users} users over {} villages on {} in {:.1} s",
                villages.len(),
                db.backend().name(),
                started.elapsed().as_secs_f64()
            );
            users
        }
        None => {
            let mut conn = db.reader().await?;
            let users = Sql::new("SELECT COUNT(*) AS n FROM users")
                .fetch_count(&mut conn)
                .await?;
            println!("reusing {users} users on {}", db.backend().name());
            usize::try_from(users)?
        }
    };

    let probe_id = format!("u{:09}", users / 2);
    let bare = measure(|| {
        let db = db.clone();
        let id = probe_id.clone();
        async move {
            let mut conn = db.reader().await?;
            let mut sql = Sql::new("SELECT username FROM users WHERE id = ");
            sql.bind(id);
            sql.fetch_optional(&mut conn).await?;
            Ok(())
        }
    })
    .await?;
    println!(
        "{:<44} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms",
        "bare limit: one user by primary key", bare.0, bare.1, bare.2
    );

    // A supervisor sees only the users of their subtree: every search of theirs
    // carries it, a plain list of users included.
    let supervisor = |path: &str| Actor {
        scope: Scope::Within(vec![BoundaryPath::from_stored(path.to_owned())]),
        ..operator.clone()
    };
    let filters: Vec<(&str, Actor, UserFilter)> = vec![
        (
            "name fragment with accents (Macuácua)",
            operator.clone(),
            UserFilter {
                name: Some("Macuácua".into()),
                ..Default::default()
            },
        ),
        (
            "name fragment without accents (macuac)",
            operator.clone(),
            UserFilter {
                name: Some("macuac".into()),
                ..Default::default()
            },
        ),
        (
            "one-box q (nhantumbo)",
            operator.clone(),
            UserFilter {
                q: Some("nhantumbo".into()),
                ..Default::default()
            },
        ),
        (
            "username prefix (joao.lopes.4)",
            operator.clone(),
            UserFilter {
                username: Some("joao.lopes.4".into()),
                ..Default::default()
            },
        ),
        (
            "mobile, national format (84 512 3)",
            operator.clone(),
            UserFilter {
                mobile_number: Some("84 512 3".into()),
                ..Default::default()
            },
        ),
        (
            "name + boundary subtree (sitoe, P03)",
            operator.clone(),
            UserFilter {
                name: Some("sitoe".into()),
                boundary: Some("P03".into()),
                ..Default::default()
            },
        ),
        (
            "boundary subtree alone (D0301)",
            operator.clone(),
            UserFilter {
                boundary: Some("D0301".into()),
                ..Default::default()
            },
        ),
        (
            "district supervisor's list (D0301)",
            supervisor("/MZ/P03/D0301/"),
            UserFilter::default(),
        ),
        (
            "village supervisor's list (V0301001)",
            supervisor("/MZ/P03/D0301/V0301001/"),
            UserFilter::default(),
        ),
    ];
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut worst_p95: f64 = 0.0;
    let mut ran = 0;
    for (label, actor, filter) in filters.into_iter().filter(|(l, _, _)| l.contains(&only)) {
        let times = measure(|| {
            let (cadre, actor, filter) = (cadre.clone(), actor.clone(), filter.clone());
            async move {
                cadre
                    .search_users(&actor, filter)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
        })
        .await?;
        let page = cadre
            .search_users(&actor, filter)
            .await
            .map_err(|e| e.to_string())?;
        worst_p95 = worst_p95.max(times.1);
        ran += 1;
        println!(
            "{label:<44} p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  ({} matches; p95 = {:.0} × bare)",
            times.0,
            times.1,
            times.2,
            page.total,
            times.1 / bare.1.max(0.001)
        );
    }
    if ran == 0 {
        println!("no query's label contains BENCH_ONLY={only:?}: nothing measured");
    } else {
        println!(
            "worst search p95 {worst_p95:.2} ms over {ran} queries: target under 20 ms {}",
            if worst_p95 < 20.0 { "met" } else { "NOT met" }
        );
    }
    db.close().await;
    Ok(())
}

/// Runs `job` ROUNDS times (after a warm-up) and answers p50, p95, p99 in milliseconds.
async fn measure<F, Fut>(job: F) -> Result<(f64, f64, f64), Failure>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    for _ in 0..5 {
        job().await?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        job().await?;
        times.push(start.elapsed());
    }
    times.sort();
    let at = |q: f64| {
        times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    Ok((at(0.50), at(0.95), at(0.99)))
}

/// A country with PROVINCES × DISTRICTS × VILLAGES villages; answers the village codes.
async fn boundaries(cadre: &Cadre, operator: &Actor) -> Result<Vec<String>, Failure> {
    let mut csv = String::from("code,name,level,parent_code\nMZ,Moçambique,COUNTRY,\n");
    let mut villages = Vec::new();
    for p in 0..PROVINCES {
        csv.push_str(&format!("P{p:02},Província {p},PROVINCE,MZ\n"));
        for d in 0..DISTRICTS {
            csv.push_str(&format!(
                "D{p:02}{d:02},Distrito {p}-{d},DISTRICT,P{p:02}\n"
            ));
            for v in 0..VILLAGES {
                let code = format!("V{p:02}{d:02}{v:03}");
                csv.push_str(&format!(
                    "{code},Aldeia {p}-{d}-{v},VILLAGE,D{p:02}{d:02}\n"
                ));
                villages.push(code);
            }
        }
    }
    let summary = cadre
        .import_boundaries(operator, &RequestMeta::default(), csv.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    if summary.failed > 0 {
        return Err(format!("boundary import failed: {:?}", summary.errors).into());
    }
    Ok(villages)
}

/// Inserts users straight into the tables (hashing a million passwords would measure
/// Argon2, not search), each with the REGISTRAR role and one village.
async fn generate(db: &Db, users: usize, villages: &[String]) -> Result<(), Failure> {
    let now = "2026-01-01T00:00:00.000000Z";
    let mut tx = db.begin().await?;
    if db.backend() == Backend::Sqlite {
        // The username and mobile indexes take rows in no particular order: with
        // SQLite's default 2 MB page cache every batch rewrote pages it had just evicted.
        Sql::new("PRAGMA cache_size = -524288")
            .execute(&mut tx)
            .await?;
    }
    let mut n = 0;
    while n < users {
        let end = (n + BATCH).min(users);
        let mut people = Sql::new(
            "INSERT INTO users (id, username, status, profile_complete, version, first_name, \
             last_name, name_folded, mobile_number, mobile_national, employment_type, department, \
             must_change_password, created_at, updated_at) VALUES ",
        );
        let mut roles = Sql::new("INSERT INTO user_roles (user_id, role_code) VALUES ");
        let mut places =
            Sql::new("INSERT INTO user_jurisdictions (user_id, boundary_code) VALUES ");
        for i in n..end {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let id = format!("u{i:09}");
            let national = format!("8{}{:07}", 2 + i % 6, (i * 7919) % 10_000_000);
            let sep = if i == n { "" } else { ", " };
            people
                .push(sep)
                .push("(")
                .bind(id.as_str())
                .push(", ")
                .bind(format!(
                    "{}.{}.{i}",
                    fold(first),
                    fold(last).replace(' ', "")
                ))
                .push(", 'active', ")
                .bind(true)
                .push(", 1, ")
                .bind(first)
                .push(", ")
                .bind(last)
                .push(", ")
                .bind(fold(&format!("{first} {last}")))
                .push(", ")
                .bind(format!("+258{national}"))
                .push(", ")
                .bind(national)
                .push(", 'CONTRACTUAL', 'NMCP', ")
                .bind(false)
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
            roles
                .push(sep)
                .push("(")
                .bind(id.as_str())
                .push(", 'REGISTRAR')");
            places
                .push(sep)
                .push("(")
                .bind(id.as_str())
                .push(", ")
                .bind(villages[i % villages.len()].as_str())
                .push(")");
        }
        people.execute(&mut tx).await?;
        roles.execute(&mut tx).await?;
        places.execute(&mut tx).await?;
        n = end;
        // Large transactions, so that pages touched by many batches are written once.
        if n % (BATCH * PER_TRANSACTION) == 0 && n < users {
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    let mut conn = db.reader().await?;
    // As autovacuum leaves a running PostgreSQL: statistics, and a visibility map that
    // lets index-only scans skip the table.
    let maintenance = match db.backend() {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "VACUUM ANALYZE",
    };
    Sql::new(maintenance).execute(&mut conn).await?;
    Ok(())
}
