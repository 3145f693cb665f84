//! Bulk import benchmark: a generated XLSX of users with campaign assignments, imported
//! end to end (parse, validate, commit, audit) through the job pipeline, against a bare
//! multi-row SQL insert of the same users measured in the same run.
//!
//! Then a job with `credential=generate`, whose time goes into Argon2id: its hashing
//! rate against the bare rate of the same hash on every core, measured in the same run.
//!
//! `cargo bench -p cadre --bench bulk` (SQLite); with
//! `CADRE_TEST_DATABASE_URL=postgres://…` on PostgreSQL. `CADRE_BENCH_ROWS` sets the
//! number of users (100,000 by default), `CADRE_BENCH_GENERATE_ROWS` those of the
//! generate job (2,000 by default).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_service::bulk::{NewBulkJob, WorkerLease};
use cadre_service::settings::{Settings, SettingsConfig};
use cadre_service::{Actor, Cadre, RequestMeta, SystemClock};
use cadre_store::db::DbOptions;
use cadre_store::sql::Sql;
use cadre_store::test_support::fresh_database;
use cadre_store::Db;

const BOUNDARIES: &str = "code,name,level,parent_code
MZ,Moçambique,COUNTRY,
TETE,Tete,PROVINCE,MZ
ANGONIA,Angónia,DISTRICT,TETE
ULONGUE,Ulónguè,VILLAGE,ANGONIA
";

/// A field of this process's /proc status (`VmHWM`, `RssAnon`, …), in MB.
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Peak resident memory of this process since the last reset, in MB: heap and mapped
/// files alike.
fn peak_rss_mb() -> f64 {
    status_mb("VmHWM")
}

/// The kernel keeps no peak of anonymous memory (heap, stacks) apart from mapped files,
/// such as the SQLite database: a thread samples it every 10 ms until `finish`.
struct AnonymousPeak {
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<f64>,
}

impl AnonymousPeak {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sampler = std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(status_mb("RssAnon"));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(status_mb("RssAnon"))
        });
        Self { stop, sampler }
    }

    /// The highest anonymous resident memory seen, in MB.
    fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap()
    }
}

/// Resets the peak (Linux: writing 5 to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn workbook(rows: usize) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory().unwrap();
    sheet.set_name("users").unwrap();
    let header = [
        "first_name",
        "last_name",
        "mobile_number",
        "gender",
        "date_of_birth",
        "roles",
        "jurisdictions",
        "campaign",
        "boundaries",
        "assigned_from",
    ];
    for (c, h) in (0u16..).zip(header) {
        sheet.write_string(0, c, h).unwrap();
    }
    for i in 0..rows {
        let r = u32::try_from(i + 1).unwrap();
        sheet.write_string(r, 0, format!("Name{i}")).unwrap();
        sheet.write_string(r, 1, format!("Surname{i}")).unwrap();
        // As Excel stores a phone number typed into a general cell: a float.
        sheet
            .write_number(r, 2, 841_000_000.0 + f64::from(u32::try_from(i).unwrap()))
            .unwrap();
        sheet
            .write_string(r, 3, if i % 2 == 0 { "female" } else { "male" })
            .unwrap();
        // An Excel date serial (1990-04-01).
        sheet.write_number(r, 4, 32964.0).unwrap();
        sheet.write_string(r, 5, "REGISTRAR").unwrap();
        sheet.write_string(r, 6, "ANGONIA").unwrap();
        sheet.write_string(r, 7, "BENCH-2026").unwrap();
        sheet.write_string(r, 8, "ULONGUE").unwrap();
        sheet.write_string(r, 9, "2026-01-05").unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

/// A fresh database with the bench's boundaries and campaign.
async fn seeded_cadre() -> (Cadre, cadre_store::test_support::TestDatabase) {
    let (cadre, database) = fresh_cadre().await;
    let actor = Actor::local_operator();
    cadre
        .import_boundaries(&actor, &RequestMeta::default(), BOUNDARIES.as_bytes())
        .await
        .unwrap();
    cadre
        .create_campaign(
            &actor,
            &RequestMeta::default(),
            serde_json::from_value(serde_json::json!({
                "code": "BENCH-2026", "name": "Bench", "type": "LLIN",
                "start_date": "2026-01-01", "end_date": "2026-12-31", "boundaries": ["TETE"]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    (cadre, database)
}

/// Queues and runs one create job; returns its wall time.
async fn import(cadre: &Cadre, file: Vec<u8>, credential: &str) -> (Duration, Duration) {
    let actor = Actor::local_operator();
    let started = Instant::now();
    let job = cadre
        .queue_bulk_job(
            &actor,
            &RequestMeta::default(),
            NewBulkJob {
                file_name: "bench.xlsx".into(),
                content: file,
                operation: Some("create".into()),
                dry_run: false,
                credential: Some(credential.into()),
                ..NewBulkJob::default()
            },
        )
        .await
        .unwrap();
    let queued = started.elapsed();
    cadre
        .run_bulk_job(&job.id, &WorkerLease::default())
        .await
        .unwrap();
    let wall = started.elapsed();
    let done = cadre.get_bulk_job(&actor, &job.id).await.unwrap();
    assert_eq!(done.status, "completed");
    assert_eq!(done.failed, 0, "{:?}", done.errors_preview);
    (wall, queued)
}

/// Argon2id hashes per second with one thread per core and nothing else, each thread
/// working in memory it reuses (as the job's threads do; a fresh 19 MiB per hash is
/// slower): the limit of a job that generates passwords.
fn bare_hash_rate(hashes: usize) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = hashes.div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut memory = cadre_service::password::HashMemory::new();
                for _ in 0..per_thread {
                    let password = cadre_service::password::generate_password();
                    cadre_service::password::hash_with(&mut memory, &password).unwrap();
                }
            });
        }
    });
    (per_thread * threads) as f64 / started.elapsed().as_secs_f64()
}

async fn fresh_cadre() -> (Cadre, cadre_store::test_support::TestDatabase) {
    let database = fresh_database().await.unwrap();
    let db = Db::connect(&database.url, &DbOptions::default())
        .await
        .unwrap();
    cadre_store::migrate::run(&db).await.unwrap();
    let cadre = Cadre::new(
        db,
        Settings::from_config(SettingsConfig::default()).unwrap(),
        Arc::new(SystemClock),
    );
    cadre.bootstrap().await.unwrap();
    (cadre, database)
}

/// The same users, roles and jurisdictions as plain multi-row INSERTs in one
/// transaction: the limit of what the database takes.
async fn bare_insert(db: &Db, rows: usize) -> Duration {
    let started = Instant::now();
    let mut tx = db.begin().await.unwrap();
    let now = cadre_store::timestamp(chrono::Utc::now());
    // 20 rows of 13 values: on SQLite, statements of a few hundred values bind
    // fastest (see crates/store/src/writer.rs).
    for chunk in (0..rows).collect::<Vec<_>>().chunks(20) {
        let mut users = Sql::new(
            "INSERT INTO users (id, username, status, profile_complete, version, must_change_password, created_at, updated_at, first_name, last_name, mobile_number, mobile_national, name_folded) VALUES ",
        );
        let mut roles = Sql::new("INSERT INTO user_roles (user_id, role_code) VALUES ");
        for (n, i) in chunk.iter().enumerate() {
            let id = uuid::Uuid::now_v7().to_string();
            if n > 0 {
                users.push(", ");
                roles.push(", ");
            }
            users
                .push("(")
                .bind(id.as_str())
                .push(", ")
                .bind(format!("bare{i}"))
                .push(", 'active', ")
                .bind(true)
                .push(", 1, ")
                .bind(false)
                .push(", ")
                .bind(now.as_str())
                .push(", ")
                .bind(now.as_str())
                .push(", ")
                .bind(format!("Name{i}"))
                .push(", ")
                .bind(format!("Surname{i}"))
                .push(", ")
                .bind(format!("+258{}", 841_000_000 + i))
                .push(", ")
                .bind(format!("{}", 841_000_000 + i))
                .push(", ")
                .bind(format!("name{i} surname{i}"))
                .push(")");
            roles.push("(").bind(id.as_str()).push(", 'REGISTRAR')");
        }
        users.execute(&mut tx).await.unwrap();
        roles.execute(&mut tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("CADRE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (cadre, _database) = seeded_cadre().await;
    let backend = cadre.db().backend().name();
    let file = workbook(rows);
    println!(
        "bulk bench on {backend}: {rows} users, XLSX of {:.1} MB",
        file.len() as f64 / 1e6
    );

    reset_peak_rss();
    let anonymous = AnonymousPeak::start();
    let (wall, queued) = import(&cadre, file, "none").await;
    let anonymous = anonymous.finish();
    let peak = peak_rss_mb();
    let rate = rows as f64 / wall.as_secs_f64();
    println!(
        "  end to end: {:.2} s ({:.2} s upload check), {:.0} users/s, peak RSS {:.0} MB \
         (of which heap and stacks at most {:.0} MB; the rest mapped files)",
        wall.as_secs_f64(),
        queued.as_secs_f64(),
        rate,
        peak,
        anonymous
    );

    let (bare_cadre, _bare_database) = fresh_cadre().await;
    let bare = bare_insert(bare_cadre.db(), rows).await;
    let bare_rate = rows as f64 / bare.as_secs_f64();
    println!(
        "  bare SQL insert: {:.2} s, {:.0} users/s; pipeline reaches {:.1} % of it",
        bare.as_secs_f64(),
        bare_rate,
        100.0 * rate / bare_rate
    );

    let generate_rows: usize = std::env::var("CADRE_BENCH_GENERATE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let (generating, _generating_database) = seeded_cadre().await;
    let (wall, _) = import(&generating, workbook(generate_rows), "generate").await;
    let generate_rate = generate_rows as f64 / wall.as_secs_f64();
    let bare_hashes = bare_hash_rate(generate_rows);
    println!(
        "  credential=generate, {generate_rows} users: {:.2} s, {:.0} users/s; bare Argon2id on every core {:.0} hashes/s; the job reaches {:.1} % of it",
        wall.as_secs_f64(),
        generate_rate,
        bare_hashes,
        100.0 * generate_rate / bare_hashes
    );
}
