//! Bulk jobs: the uploaded file, progress counters, the lease that lets one process at
//! a time work on a job, and the outcome of every input row.
//!
//! Exactly-once rests on two rules: a batch's changes, its row outcomes and its counter
//! update commit in one transaction; and that transaction first re-checks that this
//! process still holds the lease (a conditional UPDATE), so a process that lost its
//! lease rolls its batch back instead of doubling it.

use sqlx::any::AnyRow;

use crate::db::{Backend, Conn};
use crate::error::StoreError;
use crate::sql::{self, Sql};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";

/// A job as stored, without its file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobRow {
    pub id: String,
    pub operation: String,
    pub credential: String,
    pub dry_run: bool,
    pub status: String,
    pub file_name: String,
    pub file_format: String,
    pub created_by: String,
    pub total_rows: i64,
    pub processed_rows: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    pub failure: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

/// The outcome of one input row (1-based data row number, header excluded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowOutcome {
    pub row_no: i64,
    /// created, updated, unchanged, deactivated, assigned, replaced, valid or failed.
    pub status: String,
    pub username: Option<String>,
    pub user_id: Option<String>,
    /// none or link_queued; never a password.
    pub credential: Option<String>,
    /// JSON array of `{row, column, code, message}`.
    pub errors: String,
}

const JOB_COLUMNS: &str = "id, operation, credential, dry_run, status, file_name, file_format, \
    created_by, total_rows, processed_rows, succeeded, failed, lease_owner, lease_until, \
    failure, created_at, updated_at, finished_at";

fn job(row: &AnyRow) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: sql::text(row, "id")?,
        operation: sql::text(row, "operation")?,
        credential: sql::text(row, "credential")?,
        dry_run: sql::boolean(row, "dry_run")?,
        status: sql::text(row, "status")?,
        file_name: sql::text(row, "file_name")?,
        file_format: sql::text(row, "file_format")?,
        created_by: sql::text(row, "created_by")?,
        total_rows: sql::int(row, "total_rows")?,
        processed_rows: sql::int(row, "processed_rows")?,
        succeeded: sql::int(row, "succeeded")?,
        failed: sql::int(row, "failed")?,
        lease_owner: sql::opt_text(row, "lease_owner")?,
        lease_until: sql::opt_text(row, "lease_until")?,
        failure: sql::opt_text(row, "failure")?,
        created_at: sql::text(row, "created_at")?,
        updated_at: sql::text(row, "updated_at")?,
        finished_at: sql::opt_text(row, "finished_at")?,
    })
}

/// Stores a new job (status queued) with its file.
pub async fn insert(conn: &mut Conn, j: &JobRow, content: Vec<u8>) -> Result<(), StoreError> {
    let mut q = Sql::new(&format!(
        "INSERT INTO bulk_jobs ({JOB_COLUMNS}, content) VALUES ("
    ));
    q.bind(j.id.as_str())
        .push(", ")
        .bind(j.operation.as_str())
        .push(", ")
        .bind(j.credential.as_str())
        .push(", ")
        .bind(j.dry_run)
        .push(", ")
        .bind(j.status.as_str())
        .push(", ")
        .bind(j.file_name.as_str())
        .push(", ")
        .bind(j.file_format.as_str())
        .push(", ")
        .bind(j.created_by.as_str())
        .push(", ")
        .bind(j.total_rows)
        .push(", 0, 0, 0, NULL, NULL, NULL, ")
        .bind(j.created_at.as_str())
        .push(", ")
        .bind(j.updated_at.as_str())
        .push(", NULL, ")
        .bind(content)
        .push(")");
    q.execute(conn).await?;
    Ok(())
}

/// How many jobs `user_id` has queued or running.
pub async fn open_jobs_of(conn: &mut Conn, user_id: &str) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM bulk_jobs WHERE created_by = ");
    sql.bind(user_id)
        .push(" AND status IN (")
        .bind(QUEUED)
        .push(", ")
        .bind(RUNNING)
        .push(")");
    sql.fetch_count(conn).await
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<JobRow>, StoreError> {
    let mut q = Sql::new(&format!("SELECT {JOB_COLUMNS} FROM bulk_jobs WHERE id = "));
    q.bind(id);
    q.fetch_optional(conn).await?.as_ref().map(job).transpose()
}

/// The uploaded file of a job.
pub async fn content(conn: &mut Conn, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let mut q = Sql::new("SELECT content FROM bulk_jobs WHERE id = ");
    q.bind(id);
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(|r| sql::bytes(r, "content"))
        .transpose()
}

/// The start of a claim: the job becomes `owner`'s, running, until `until`.
fn take_lease(owner: &str, until: &str) -> Sql {
    let mut q = Sql::new("UPDATE bulk_jobs SET lease_owner = ");
    q.bind(owner)
        .push(", lease_until = ")
        .bind(until)
        .push(", status = ")
        .bind(RUNNING);
    q
}

/// Claims the oldest unfinished job whose lease is free or expired; returns its id.
/// On PostgreSQL the candidate row is locked with `SKIP LOCKED`, so two processes
/// never pick the same job; on SQLite the single write connection serialises claims.
pub async fn claim_next(
    conn: &mut Conn,
    backend: Backend,
    owner: &str,
    now: &str,
    until: &str,
) -> Result<Option<String>, StoreError> {
    let mut q = take_lease(owner, until);
    q.push(" WHERE id = (SELECT id FROM bulk_jobs WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < ")
        .bind(now)
        .push(") ORDER BY created_at, id LIMIT 1");
    if backend == Backend::Postgres {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    q.push(") AND (lease_until IS NULL OR lease_until < ")
        .bind(now)
        .push(") RETURNING id");
    q.fetch_optional(conn)
        .await?
        .as_ref()
        .map(|r| sql::text(r, "id"))
        .transpose()
}

/// Claims one given job if it is unfinished and its lease is free or expired.
pub async fn claim(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    now: &str,
    until: &str,
) -> Result<bool, StoreError> {
    let mut q = take_lease(owner, until);
    q.push(" WHERE id = ")
        .bind(id)
        .push(" AND status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < ")
        .bind(now)
        .push(")");
    Ok(q.execute(conn).await? == 1)
}

/// Extends the lease and sets the row count; false when the lease is lost.
pub async fn renew(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    until: &str,
    total_rows: i64,
    now: &str,
) -> Result<bool, StoreError> {
    let mut q = Sql::new("UPDATE bulk_jobs SET lease_until = ");
    q.bind(until)
        .push(", total_rows = ")
        .bind(total_rows)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND lease_owner = ")
        .bind(owner);
    Ok(q.execute(conn).await? == 1)
}

/// Within a batch's transaction, first of all: advances the counters and extends the
/// lease, if this process still holds it. False means: roll the batch back.
pub async fn advance(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    until: &str,
    outcomes: &[RowOutcome],
    now: &str,
) -> Result<bool, StoreError> {
    let processed = i64::try_from(outcomes.len()).unwrap_or(i64::MAX);
    let failed =
        i64::try_from(outcomes.iter().filter(|o| o.status == "failed").count()).unwrap_or(i64::MAX);
    let mut q = Sql::new("UPDATE bulk_jobs SET lease_until = ");
    q.bind(until)
        .push(", processed_rows = processed_rows + ")
        .bind(processed)
        .push(", succeeded = succeeded + ")
        .bind(processed - failed)
        .push(", failed = failed + ")
        .bind(failed)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND lease_owner = ")
        .bind(owner);
    Ok(q.execute(conn).await? == 1)
}

/// Writes row outcomes; the primary key refuses a row recorded twice.
pub async fn insert_outcomes(
    conn: &mut Conn,
    job_id: &str,
    outcomes: &[RowOutcome],
) -> Result<(), StoreError> {
    // 7 parameters a row; 100 rows stay far under both backends' limits.
    for chunk in outcomes.chunks(100) {
        let mut q = Sql::new(
            "INSERT INTO bulk_job_rows (job_id, row_no, status, username, user_id, credential, errors) VALUES ",
        );
        for (i, o) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(job_id)
                .push(", ")
                .bind(o.row_no)
                .push(", ")
                .bind(o.status.as_str())
                .push(", ")
                .bind(o.username.clone())
                .push(", ")
                .bind(o.user_id.clone())
                .push(", ")
                .bind(o.credential.clone())
                .push(", ")
                .bind(o.errors.as_str())
                .push(")");
        }
        q.execute(conn).await?;
    }
    Ok(())
}

/// Marks a job finished and releases its lease, if this process holds it.
pub async fn finish(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    status: &str,
    failure: Option<&str>,
    now: &str,
) -> Result<bool, StoreError> {
    let mut q = Sql::new("UPDATE bulk_jobs SET status = ");
    q.bind(status)
        .push(", failure = ")
        .bind(failure)
        .push(", lease_owner = NULL, lease_until = NULL, updated_at = ")
        .bind(now)
        .push(", finished_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND lease_owner = ")
        .bind(owner);
    Ok(q.execute(conn).await? == 1)
}

/// How many rows of a job have an outcome; rows are processed in order, so these are
/// rows 1..=n.
pub async fn done_rows(conn: &mut Conn, job_id: &str) -> Result<i64, StoreError> {
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM bulk_job_rows WHERE job_id = ");
    q.bind(job_id);
    q.fetch_count(conn).await
}

fn outcome(row: &AnyRow) -> Result<RowOutcome, StoreError> {
    Ok(RowOutcome {
        row_no: sql::int(row, "row_no")?,
        status: sql::text(row, "status")?,
        username: sql::opt_text(row, "username")?,
        user_id: sql::opt_text(row, "user_id")?,
        credential: sql::opt_text(row, "credential")?,
        errors: sql::text(row, "errors")?,
    })
}

/// Every outcome of a job, in row order.
pub async fn outcomes(conn: &mut Conn, job_id: &str) -> Result<Vec<RowOutcome>, StoreError> {
    let mut q = Sql::new(
        "SELECT row_no, status, username, user_id, credential, errors FROM bulk_job_rows WHERE job_id = ",
    );
    q.bind(job_id).push(" ORDER BY row_no");
    q.fetch_all(conn).await?.iter().map(outcome).collect()
}

/// The first failed outcomes of a job, in row order.
pub async fn failed_outcomes(
    conn: &mut Conn,
    job_id: &str,
    limit: i64,
) -> Result<Vec<RowOutcome>, StoreError> {
    let mut q = Sql::new(
        "SELECT row_no, status, username, user_id, credential, errors FROM bulk_job_rows WHERE job_id = ",
    );
    q.bind(job_id)
        .push(" AND status = 'failed' ORDER BY row_no LIMIT ")
        .bind(limit);
    q.fetch_all(conn).await?.iter().map(outcome).collect()
}

/// Extends the lease if this process holds it; the first statement of every batch, so
/// the job row stays locked until the batch commits.
pub async fn renew_lease(
    conn: &mut Conn,
    id: &str,
    owner: &str,
    until: &str,
) -> Result<bool, StoreError> {
    let mut q = Sql::new("UPDATE bulk_jobs SET lease_until = ");
    q.bind(until)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND lease_owner = ")
        .bind(owner);
    Ok(q.execute(conn).await? == 1)
}

/// Every campaign's code and name, for a template's dropdown.
pub async fn campaign_names(conn: &mut Conn) -> Result<Vec<(String, String)>, StoreError> {
    Sql::new("SELECT code, name FROM campaigns ORDER BY code")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((sql::text(r, "code")?, sql::text(r, "name")?)))
        .collect()
}

/// Boundaries (code, name, stored path) in path order, at most `limit`, for a
/// template's dropdown.
pub async fn boundary_names(
    conn: &mut Conn,
    limit: i64,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut q = Sql::new("SELECT code, name, path FROM boundaries ORDER BY path LIMIT ");
    q.bind(limit);
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok((
                sql::text(r, "code")?,
                sql::text(r, "name")?,
                sql::text(r, "path")?,
            ))
        })
        .collect()
}

/// Ids of users whose mobile number is `e164` (found through the national number's
/// index).
pub async fn users_with_mobile(
    conn: &mut Conn,
    national: &str,
    e164: &str,
) -> Result<Vec<String>, StoreError> {
    let mut q = Sql::new("SELECT id FROM users WHERE mobile_national = ");
    q.bind(national)
        .push(" AND mobile_number = ")
        .bind(e164)
        .push(" ORDER BY id");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| sql::text(r, "id"))
        .collect()
}

/// Active users with work in `campaign` (or a campaign under it) and no open
/// assignment anywhere else on `today`: (id, username), by username.
pub async fn users_only_in_campaign(
    conn: &mut Conn,
    campaign: &str,
    today: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut q = Sql::new(
        "SELECT u.id, u.username FROM users u WHERE u.status = 'active' \
         AND EXISTS (SELECT 1 FROM assignments a WHERE a.user_id = u.id AND a.campaign_code IN \
         (SELECT code FROM campaigns WHERE code = ",
    );
    q.bind(campaign)
        .push(" OR parent_code = ")
        .bind(campaign)
        .push(
            ")) AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.user_id = u.id \
             AND a.ended_on IS NULL AND a.till_date >= ",
        )
        .bind(today)
        .push(" AND a.campaign_code NOT IN (SELECT code FROM campaigns WHERE code = ")
        .bind(campaign)
        .push(" OR parent_code = ")
        .bind(campaign)
        .push(")) ORDER BY u.username");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((sql::text(r, "id")?, sql::text(r, "username")?)))
        .collect()
}
