//! Bulk jobs across processes: two servers on one database take queued jobs from the
//! same table; each job is claimed and finished by exactly one of them, and no row is
//! applied twice.

use super::*;

const JOBS: usize = 6;
const ROWS_PER_JOB: usize = 2_000;

/// A users file whose names and mobile numbers start at `first`.
fn users_from(first: usize, rows: usize) -> String {
    let mut csv = String::from("first_name,last_name,mobile_number,gender,roles,jurisdictions\n");
    for i in first..first + rows {
        csv.push_str(&format!(
            "Nome{i},Apelido{i},{},female,REGISTRAR,TETE\n",
            842_000_000 + i
        ));
    }
    csv
}

/// Jobs as an earlier process left them: queued, with their files, nobody working on
/// them.
async fn queue_jobs(db: &cadre_store::Db) -> Vec<String> {
    let mut ids = Vec::new();
    let mut tx = db.begin().await.unwrap();
    for n in 0..JOBS {
        let now = cadre_store::timestamp(chrono::Utc::now());
        let job = cadre_store::bulk_jobs::JobRow {
            id: uuid::Uuid::now_v7().to_string(),
            operation: "create".into(),
            credential: "none".into(),
            status: "queued".into(),
            file_name: format!("part{n}.csv"),
            file_format: "csv".into(),
            created_by: "cadre-cli".into(),
            total_rows: i64::try_from(ROWS_PER_JOB).unwrap(),
            created_at: now.clone(),
            updated_at: now,
            ..Default::default()
        };
        let file = users_from(n * ROWS_PER_JOB, ROWS_PER_JOB).into_bytes();
        cadre_store::bulk_jobs::insert(&mut tx, &job, file)
            .await
            .unwrap();
        ids.push(job.id);
    }
    tx.commit().await.unwrap();
    ids
}

#[tokio::test]
async fn two_servers_share_queued_jobs_and_never_apply_a_row_twice() {
    let ctx = Ctx::new().await;
    let boundaries = ctx.write("b.csv", BULK_BOUNDARIES);
    run(ctx.cadre(&["boundaries", "import", &boundaries]), None)
        .await
        .assert_success("boundaries import");
    // Migrated by the command above; the jobs wait for a worker.
    let db = inspect(&ctx.db.url).await;
    let ids = queue_jobs(&db).await;
    let start = || {
        let mut cmd = ctx.cadre(&["serve", "--listen", "127.0.0.1:0"]);
        cmd.env("CADRE_BULK_LEASE_SECONDS", "5");
        Server::start(cmd)
    };
    let mut first = start().await;
    let mut second = start().await;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = scalar(
            &db,
            "SELECT COUNT(*) AS n FROM bulk_jobs WHERE status IN ('completed', 'failed')",
        )
        .await;
        if done == i64::try_from(JOBS).unwrap() {
            break;
        }
        assert!(Instant::now() < deadline, "the jobs did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let total = i64::try_from(JOBS * ROWS_PER_JOB).unwrap();
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM bulk_jobs WHERE status = 'completed'"
        )
        .await,
        i64::try_from(JOBS).unwrap()
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM users").await, total);
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT mobile_number) AS n FROM users").await,
        total,
        "every row created its user once"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM bulk_job_rows WHERE status = 'created'"
        )
        .await,
        total
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT CAST(SUM(processed_rows) AS BIGINT) AS n FROM bulk_jobs"
        )
        .await,
        total
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT CAST(SUM(succeeded) AS BIGINT) AS n FROM bulk_jobs"
        )
        .await,
        total
    );
    db.close().await;

    // Each job was finished by exactly one process, and both processes worked.
    first.terminate().await;
    second.terminate().await;
    let logs = [first.stderr().await, second.stderr().await];
    let finished_by = |log: &str, id: &str| {
        log.lines()
            .any(|l| l.contains("bulk job completed") && l.contains(id))
    };
    for id in &ids {
        let count = logs.iter().filter(|log| finished_by(log, id)).count();
        assert_eq!(
            count, 1,
            "job {id} was finished by {count} processes:\n{logs:#?}"
        );
    }
    for (n, log) in logs.iter().enumerate() {
        assert!(
            ids.iter().any(|id| finished_by(log, id)),
            "server {n} took no job:\n{log}"
        );
    }
}
