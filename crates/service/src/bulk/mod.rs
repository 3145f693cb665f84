//! Bulk operations from a spreadsheet, as durable background jobs.
//!
//! Upload: the file is parsed once to refuse malformed files and count rows, then
//! stored with the job. A worker (in `cadre serve`, or the `cadre users import` command
//! itself) claims the job with a lease, takes the rows parsed at upload when it runs in
//! the same process (else parses the stored file again) and works through them in
//! batches: each batch's changes, its row outcomes and the progress counters
//! commit in one transaction, after re-checking the lease. A crash loses at most the
//! uncommitted batch, and the next claim resumes after the last committed row.

mod admission;
mod apply;
mod campaign_close;
mod files;
mod handover;
pub mod parse;
mod slip_sheet;
mod slips;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::bulk::{duplicates, BulkRow, Column};
use cadre_domain::{Action, MobileNumber};
use cadre_store::bulk_jobs::{self as store, JobRow, RowOutcome};
use cadre_store::users::TakenUsernames;

use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

pub(crate) use admission::UploadGate;
pub use admission::OPEN_JOBS_PER_USER;
pub use files::ResultFormat;
pub(crate) use handover::ParsedUploads;
pub use parse::FileFormat;
pub use slip_sheet::{qr_modules, render as render_slips, SlipFormat, SlipLabels};
pub use slips::{Slip, SlipSheetView, SHEET_HOURS};

/// Uploads larger than this are refused with 413.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Files with more data rows are refused with 422.
pub const MAX_ROWS: usize = 200_000;
/// Rows committed per transaction. Each commit writes again every page of every index
/// that its rows landed on (usernames, names and the words of names fall anywhere in
/// their indexes), so larger batches write less per row: with the word table of
/// migration 12, 2,000 rows took a 100,000-user import from 22.4 to 20.8 s against
/// 500 (SQLite). A batch holds the writer for about half a second, which an edit made
/// meanwhile waits for.
const BATCH_ROWS: usize = 2_000;
/// How many errors `errors_preview` lists.
const PREVIEW_ERRORS: i64 = 50;

/// What a job does with each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Upsert,
    Deactivate,
    Assign,
    Replace,
}

impl Operation {
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim() {
            "" | "create" => Ok(Operation::Create),
            "upsert" => Ok(Operation::Upsert),
            "deactivate" => Ok(Operation::Deactivate),
            "assign" => Ok(Operation::Assign),
            "replace" => Ok(Operation::Replace),
            other => Err(ServiceError::invalid(
                "operation",
                "invalid_operation",
                format!("'{other}' is not one of create, upsert, deactivate, assign, replace"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Upsert => "upsert",
            Operation::Deactivate => "deactivate",
            Operation::Assign => "assign",
            Operation::Replace => "replace",
        }
    }

    fn required_actions(self) -> &'static [Action] {
        match self {
            Operation::Create => &[Action::UserCreate],
            Operation::Upsert => &[Action::UserCreate, Action::UserUpdate],
            Operation::Deactivate => &[Action::UserDeactivate],
            Operation::Assign => &[Action::UserAssign],
            Operation::Replace => &[Action::UserReplace, Action::UserCreate],
        }
    }
}

/// How users created by a job get a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialMode {
    /// An activation link (the default); issued as each user is created.
    Link,
    /// No credential yet.
    None,
    /// A generated password and a sign-in link, handed out only on the slip sheet.
    Generate,
}

impl CredentialMode {
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim() {
            "" | "link" => Ok(CredentialMode::Link),
            "none" => Ok(CredentialMode::None),
            "generate" => Ok(CredentialMode::Generate),
            other => Err(ServiceError::invalid(
                "credential",
                "invalid_credential",
                format!("'{other}' is not one of link, none, generate"),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CredentialMode::Link => "link",
            CredentialMode::None => "none",
            CredentialMode::Generate => "generate",
        }
    }
}

/// One problem with one row: the spreadsheet row number, the column key, a code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    pub row: i64,
    pub column: String,
    pub code: String,
    pub message: String,
}

/// A bulk job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct BulkJobView {
    pub id: String,
    pub operation: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    pub dry_run: bool,
    pub credential: String,
    pub file_name: String,
    pub total_rows: i64,
    pub processed_rows: i64,
    pub succeeded: i64,
    pub failed: i64,
    /// The first errors, in row order.
    pub errors_preview: Vec<RowError>,
    /// Why the whole job failed, when it did.
    pub failure: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// With `credential=generate`, only in the answer to the upload: the key that opens
    /// the slip sheet. The server does not keep it; without it the sheet is lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slip_key: Option<String>,
    /// With `credential=generate`: whether the slip sheet can still be taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slip_sheet: Option<SlipSheetView>,
}

/// An upload to start a job with.
#[derive(Debug, Clone, Default)]
pub struct NewBulkJob {
    pub file_name: String,
    pub content: Vec<u8>,
    pub operation: Option<String>,
    pub dry_run: bool,
    pub credential: Option<String>,
    /// With `deactivate` and no file: everyone whose work is all in this campaign.
    pub campaign: Option<String>,
    /// With `campaign`: the deactivation reason (END_OF_CAMPAIGN when absent).
    pub reason: Option<String>,
}

/// How a worker identifies itself and how long its claim on a job lasts unrenewed.
#[derive(Debug, Clone)]
pub struct WorkerLease {
    pub owner: String,
    pub duration: Duration,
}

impl WorkerLease {
    /// A lease named after this process, unique across restarts.
    pub fn for_this_process(duration: Duration) -> Self {
        Self {
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            duration,
        }
    }

    // Leases follow the wall clock, not the business clock: they are about whether a
    // process is alive.
    fn now(&self) -> String {
        cadre_store::timestamp(chrono::Utc::now())
    }

    fn until(&self) -> String {
        let duration = chrono::Duration::from_std(self.duration)
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        cadre_store::timestamp(chrono::Utc::now() + duration)
    }
}

impl Default for WorkerLease {
    fn default() -> Self {
        Self::for_this_process(Duration::from_secs(30))
    }
}

fn parse_errors(json: &str) -> Vec<RowError> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The actor a job runs as: its uploader, with their roles and scope as they are now.
const CLI_ACTOR: &str = "cadre-cli";

impl Cadre {
    /// Checks and stores an upload as a queued job (nothing else is written), then starts
    /// it in the background.
    pub async fn create_bulk_job(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        upload: NewBulkJob,
    ) -> Result<BulkJobView> {
        let job = self.queue_bulk_job(actor, meta, upload).await?;
        let cadre = self.clone();
        let id = job.id.clone();
        tokio::spawn(async move {
            let lease = WorkerLease::for_this_process(cadre.bulk_lease);
            if let Err(e) = cadre.run_bulk_job(&id, &lease).await {
                tracing::warn!(job = %id, error = %e, "bulk job stopped; a worker will resume it");
            }
        });
        Ok(job)
    }

    /// Checks and stores an upload as a queued job; a worker runs it.
    pub async fn queue_bulk_job(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        upload: NewBulkJob,
    ) -> Result<BulkJobView> {
        actor.require(Action::BulkRun)?;
        let operation = Operation::parse(upload.operation.as_deref().unwrap_or(""))?;
        for action in operation.required_actions() {
            actor.require(*action)?;
        }
        let credential = CredentialMode::parse(upload.credential.as_deref().unwrap_or(""))?;
        // Held until the job is stored (it then counts as queued) or refused.
        let _admitted = self.admit_upload(actor).await?;
        let closing = upload
            .campaign
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let upload = match closing {
            Some(_) if operation != Operation::Deactivate => {
                return Err(ServiceError::invalid(
                    "campaign",
                    "campaign_needs_deactivate",
                    "a campaign can only be given with the deactivate operation",
                ))
            }
            Some(code) => self.campaign_close_file(actor, &code, upload).await?,
            None => upload,
        };
        if upload.content.len() > MAX_FILE_BYTES {
            return Err(ServiceError::invalid(
                "file",
                "file_too_large",
                format!("a file may be at most {MAX_FILE_BYTES} bytes"),
            ));
        }
        let content = upload.content;
        let (format, rows, content) =
            tokio::task::spawn_blocking(move || -> Result<(FileFormat, Vec<BulkRow>, Vec<u8>)> {
                let (format, rows) = parse::read_rows(&content, MAX_ROWS)?;
                Ok((format, rows, content))
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("parsing task: {e}")))??;
        if rows.is_empty() {
            return Err(parse::file_error("empty_file", "the file has no data rows"));
        }
        let now = cadre_store::timestamp(self.clock.now());
        let job = JobRow {
            id: uuid::Uuid::now_v7().to_string(),
            operation: operation.name().into(),
            credential: credential.name().into(),
            dry_run: upload.dry_run,
            status: store::QUEUED.into(),
            file_name: upload.file_name.chars().take(200).collect(),
            file_format: format.name().into(),
            created_by: actor.user_id.clone(),
            total_rows: i64::try_from(rows.len()).unwrap_or(i64::MAX),
            created_at: now.clone(),
            updated_at: now,
            ..JobRow::default()
        };
        let mut tx = self.db.begin().await?;
        store::insert(&mut tx, &job, content).await?;
        let sheet = if credential == CredentialMode::Generate && !job.dry_run {
            Some(self.open_slip_sheet(&mut tx, &job.id).await?)
        } else {
            None
        };
        self.record_by(
            &mut tx,
            actor,
            meta,
            crate::audit::Event::new("bulk.job_create")
                .target("bulk_job", &job.id, &job.file_name)
                .after(serde_json::json!({
                    "operation": job.operation,
                    "dry_run": job.dry_run,
                    "credential": job.credential,
                    "total_rows": job.total_rows,
                })),
        )
        .await?;
        tx.commit().await?;
        self.parsed_uploads.keep(&job.id, rows);
        let mut view = self.job_view(job, Vec::new());
        if let Some((key, sheet)) = sheet {
            view.slip_key = Some(key);
            view.slip_sheet = Some(sheet);
        }
        Ok(view)
    }

    async fn slip_sheet_of(
        &self,
        conn: &mut cadre_store::Conn,
        job_id: &str,
    ) -> Result<Option<SlipSheetView>> {
        let now = cadre_store::timestamp(self.clock.now());
        Ok(cadre_store::bulk_slips::sheet(conn, job_id)
            .await?
            .map(|sheet| slips::sheet_view(&sheet, &now)))
    }

    fn job_view(&self, job: JobRow, errors_preview: Vec<RowError>) -> BulkJobView {
        BulkJobView {
            id: job.id,
            operation: job.operation,
            status: job.status,
            dry_run: job.dry_run,
            credential: job.credential,
            file_name: job.file_name,
            total_rows: job.total_rows,
            processed_rows: job.processed_rows,
            succeeded: job.succeeded,
            failed: job.failed,
            errors_preview,
            failure: job.failure,
            created_at: job.created_at,
            finished_at: job.finished_at,
            slip_key: None,
            slip_sheet: None,
        }
    }

    /// A job its uploader (or a system administrator) may see; 404 for anyone else.
    async fn visible_job(&self, actor: &Actor, id: &str) -> Result<JobRow> {
        actor.require(Action::BulkRun)?;
        let mut conn = self.db.reader().await?;
        let job = store::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if job.created_by != actor.user_id && !actor.is_system_admin() {
            return Err(ServiceError::NotFound);
        }
        Ok(job)
    }

    pub async fn get_bulk_job(&self, actor: &Actor, id: &str) -> Result<BulkJobView> {
        let job = self.visible_job(actor, id).await?;
        let mut conn = self.db.reader().await?;
        let preview = store::failed_outcomes(&mut conn, &job.id, PREVIEW_ERRORS)
            .await?
            .iter()
            .flat_map(|o| parse_errors(&o.errors))
            .take(usize::try_from(PREVIEW_ERRORS).unwrap_or(50))
            .collect();
        let slip_sheet = self.slip_sheet_of(&mut conn, &job.id).await?;
        Ok(BulkJobView {
            slip_sheet,
            ..self.job_view(job, preview)
        })
    }

    /// The actor a stored job runs as.
    async fn job_actor(&self, job: &JobRow) -> Result<Actor> {
        if job.created_by == CLI_ACTOR {
            return Ok(Actor::local_operator());
        }
        let mut conn = self.db.reader().await?;
        let user = cadre_store::users::get_by_id(&mut conn, &job.created_by)
            .await?
            .filter(|u| u.status == "active")
            .ok_or_else(|| {
                ServiceError::forbidden(
                    "uploader_inactive",
                    "the uploader's account is no longer active",
                )
            })?;
        self.actor_for(&mut conn, user, String::new()).await
    }

    /// Runs queued jobs and resumes abandoned ones, forever: the background worker.
    pub async fn run_bulk_worker(&self, lease: WorkerLease, idle: Duration) {
        loop {
            match self.claim_next_bulk_job(&lease).await {
                Ok(Some(id)) => {
                    if let Err(e) = self.work_on_claimed(&id, &lease).await {
                        tracing::warn!(job = %id, error = %e, "bulk job stopped");
                    }
                }
                Ok(None) => {
                    if let Err(e) = self.purge_expired_slips().await {
                        tracing::warn!(error = %e, "purging expired slip sheets");
                    }
                    tokio::time::sleep(idle).await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming bulk jobs");
                    tokio::time::sleep(idle).await;
                }
            }
        }
    }

    async fn claim_next_bulk_job(&self, lease: &WorkerLease) -> Result<Option<String>> {
        let mut tx = self.db.begin().await?;
        let id = store::claim_next(
            &mut tx,
            self.db.backend(),
            &lease.owner,
            &lease.now(),
            &lease.until(),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims one job and runs it to the end; Ok(false) when another process holds it.
    pub async fn run_bulk_job(&self, id: &str, lease: &WorkerLease) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let claimed = store::claim(&mut tx, id, &lease.owner, &lease.now(), &lease.until()).await?;
        tx.commit().await?;
        if !claimed {
            return Ok(false);
        }
        self.work_on_claimed(id, lease).await?;
        Ok(true)
    }

    /// The progress of a job, for the command line's progress bar.
    pub async fn bulk_job_progress(&self, id: &str) -> Result<BulkJobView> {
        let mut conn = self.db.reader().await?;
        let job = store::get(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(self.job_view(job, Vec::new()))
    }

    async fn work_on_claimed(&self, id: &str, lease: &WorkerLease) -> Result<()> {
        match self.work_through(id, lease).await {
            Ok(()) => Ok(()),
            // Losing the database is not the job's fault: leave it for a resume.
            Err(e @ ServiceError::Unavailable(_)) => Err(e),
            Err(e) => {
                let mut tx = self.db.begin().await?;
                store::finish(
                    &mut tx,
                    id,
                    &lease.owner,
                    store::FAILED,
                    Some(&e.to_string()),
                    &lease.now(),
                )
                .await?;
                tx.commit().await?;
                Err(e)
            }
        }
    }

    async fn work_through(&self, id: &str, lease: &WorkerLease) -> Result<()> {
        let job = store::get(&mut *self.db.reader().await?, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let operation = Operation::parse(&job.operation)?;
        let credential = CredentialMode::parse(&job.credential)?;
        let actor = self.job_actor(&job).await?;
        let rows = match self.parsed_uploads.take(id) {
            Some(rows) => rows,
            None => self.parse_stored_file(id).await?,
        };
        let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let done = {
            let mut tx = self.db.begin().await?;
            if !store::renew(
                &mut tx,
                id,
                &lease.owner,
                &lease.until(),
                total,
                &lease.now(),
            )
            .await?
            {
                return Ok(());
            }
            let done = store::done_rows(&mut tx, id).await?;
            tx.commit().await?;
            usize::try_from(done).unwrap_or(0)
        };
        let file_errors = self.in_file_duplicates(&rows, operation);
        let slip_key = if credential == CredentialMode::Generate && !job.dry_run {
            let mut conn = self.db.reader().await?;
            let sheet = cadre_store::bulk_slips::sheet(&mut conn, id)
                .await?
                .ok_or_else(|| ServiceError::Internal("the job's slip sheet is missing".into()))?;
            Some(sheet.public_key)
        } else {
            None
        };
        let run = JobRun {
            job_id: id,
            lease,
            actor: &actor,
            operation,
            credential,
            dry_run: job.dry_run,
            file_errors: &file_errors,
            slip_key: slip_key.as_deref(),
        };
        let batches: Vec<&[BulkRow]> = rows
            .get(done..)
            .unwrap_or_default()
            .chunks(BATCH_ROWS)
            .collect();
        // A set, so that leaving early (a lost lease, an error) stops the hashing of
        // passwords no batch will use.
        let mut hashing = tokio::task::JoinSet::new();
        self.start_hashing(&mut hashing, &run, batches.first().copied());
        for (n, batch) in batches.iter().enumerate() {
            let passwords = match hashing.join_next().await {
                Some(done) => {
                    done.map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))??
                }
                None => slips::BatchPasswords::default(),
            };
            // The next batch's passwords hash while this one's transaction runs, so
            // the cores do not wait for the database between batches.
            self.start_hashing(&mut hashing, &run, batches.get(n + 1).copied());
            if !self.commit_batch(&run, batch, passwords).await? {
                tracing::info!(job = %id, "lease lost; another process continues this job");
                return Ok(());
            }
        }
        let mut tx = self.db.begin().await?;
        let finished = store::finish(
            &mut tx,
            id,
            &lease.owner,
            store::COMPLETED,
            None,
            &lease.now(),
        )
        .await?;
        tx.commit().await?;
        if finished {
            tracing::info!(job = %id, rows = total, "bulk job completed");
        }
        Ok(())
    }

    /// The rows of the file stored with job `id`.
    async fn parse_stored_file(&self, id: &str) -> Result<Vec<BulkRow>> {
        let content = store::content(&mut *self.db.reader().await?, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let (_, rows) = tokio::task::spawn_blocking(move || parse::read_rows(&content, MAX_ROWS))
            .await
            .map_err(|e| ServiceError::Internal(format!("parsing task: {e}")))??;
        Ok(rows)
    }

    /// Usernames and mobile numbers used twice in one file: both rows fail.
    fn in_file_duplicates(
        &self,
        rows: &[BulkRow],
        operation: Operation,
    ) -> HashMap<i64, Vec<RowError>> {
        let mut out: HashMap<i64, Vec<RowError>> = HashMap::new();
        let key_column = match operation {
            Operation::Deactivate | Operation::Assign => return out,
            _ => Column::Username,
        };
        let country = self.settings.default_country;
        let usernames = duplicates(rows, |r| r.get(key_column).map(str::to_lowercase));
        let mobiles = duplicates(rows, |r| {
            r.get(Column::MobileNumber)
                .and_then(|m| MobileNumber::parse(m, country).ok())
                .map(|m| m.e164().to_owned())
        });
        for (column, pairs) in [(key_column, usernames), (Column::MobileNumber, mobiles)] {
            for (first, second, value) in pairs {
                for (row, other) in [(first, second), (second, first)] {
                    out.entry(row).or_default().push(RowError {
                        row,
                        column: column.key().into(),
                        code: "duplicate_in_file".into(),
                        message: format!("'{value}' is also on row {other}"),
                    });
                }
            }
        }
        for errors in out.values_mut() {
            errors.dedup();
        }
        out
    }

    /// One batch in one transaction; on a database error (a unique index hit by a
    /// concurrent change), the batch is redone row by row so one row cannot sink the
    /// others. Ok(false) when the lease is lost.
    async fn commit_batch(
        &self,
        run: &JobRun<'_>,
        batch: &[BulkRow],
        passwords: slips::BatchPasswords,
    ) -> Result<bool> {
        match self.try_batch(run, batch, passwords).await {
            Ok(kept) => Ok(kept),
            Err(ServiceError::Unavailable(reason)) => Err(ServiceError::Unavailable(reason)),
            Err(_) if batch.len() > 1 => {
                for row in batch {
                    // A row redone alone makes its password anew.
                    let passwords = slips::BatchPasswords::default();
                    match self
                        .try_batch(run, std::slice::from_ref(row), passwords)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => return Ok(false),
                        Err(ServiceError::Unavailable(reason)) => {
                            return Err(ServiceError::Unavailable(reason))
                        }
                        Err(e) => {
                            if !self.record_failed_row(run, row, &e).await? {
                                return Ok(false);
                            }
                        }
                    }
                }
                Ok(true)
            }
            Err(e) => {
                let row = batch
                    .first()
                    .ok_or_else(|| ServiceError::Internal("empty batch".into()))?;
                self.record_failed_row(run, row, &e).await
            }
        }
    }

    /// Starts making and hashing, on every core, the passwords of `batch` when the job
    /// generates them: hashing is what such a job spends its time on, and it must not
    /// happen inside a transaction.
    fn start_hashing(
        &self,
        hashing: &mut tokio::task::JoinSet<Result<slips::BatchPasswords>>,
        run: &JobRun<'_>,
        batch: Option<&[BulkRow]>,
    ) {
        let (Some(_), Operation::Create | Operation::Replace, Some(batch)) =
            (run.slip_key, run.operation, batch)
        else {
            return;
        };
        let rows = batch
            .iter()
            .map(|row| row.row_no)
            .filter(|row| !run.file_errors.contains_key(row))
            .collect();
        hashing.spawn(slips::BatchPasswords::for_rows(
            rows,
            self.settings.password_hashing_threads,
        ));
    }

    async fn try_batch(
        &self,
        run: &JobRun<'_>,
        rows: &[BulkRow],
        passwords: slips::BatchPasswords,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        // Re-check the lease first: it also locks the job row for this transaction.
        if !store::renew_lease(&mut tx, run.job_id, &run.lease.owner, &run.lease.until()).await? {
            return Ok(false);
        }
        let mut batch = apply::Batch {
            passwords,
            ..apply::Batch::default()
        };
        if !run.dry_run && matches!(run.operation, Operation::Create | Operation::Upsert) {
            batch.inserts.taken_usernames =
                TakenUsernames::load(&mut tx, self.username_stems(rows)).await?;
        }
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            outcomes.push(self.apply_row(&mut tx, run, row, &mut batch).await?);
        }
        batch.inserts.flush(&mut tx).await?;
        store::insert_outcomes(&mut tx, run.job_id, &outcomes).await?;
        if !store::advance(
            &mut tx,
            run.job_id,
            &run.lease.owner,
            &run.lease.until(),
            &outcomes,
            &run.lease.now(),
        )
        .await?
        {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn record_failed_row(
        &self,
        run: &JobRun<'_>,
        row: &BulkRow,
        error: &ServiceError,
    ) -> Result<bool> {
        let outcome = failed_outcome(row, apply::errors_of(row.row_no, error));
        let mut tx = self.db.begin().await?;
        let outcomes = [outcome];
        store::insert_outcomes(&mut tx, run.job_id, &outcomes).await?;
        if !store::advance(
            &mut tx,
            run.job_id,
            &run.lease.owner,
            &run.lease.until(),
            &outcomes,
            &run.lease.now(),
        )
        .await?
        {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The result file of a job: every input row with its outcome.
    pub async fn bulk_job_result(
        &self,
        actor: &Actor,
        id: &str,
        format: ResultFormat,
    ) -> Result<Vec<u8>> {
        let job = self.visible_job(actor, id).await?;
        let (outcomes, content) = {
            let mut conn = self.db.reader().await?;
            let outcomes = store::outcomes(&mut conn, &job.id).await?;
            let content = store::content(&mut conn, &job.id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            (outcomes, content)
        };
        tokio::task::spawn_blocking(move || {
            let rows = parse::read_rows(&content, MAX_ROWS)?.1;
            files::result_file(&rows, &outcomes, format)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("result task: {e}")))?
    }

    /// A users template for `actor`, in `language`, with lists from master data, roles,
    /// campaigns and the boundaries in their scope.
    pub async fn bulk_template(
        &self,
        actor: &Actor,
        language: &str,
        format: ResultFormat,
    ) -> Result<Vec<u8>> {
        actor.require(Action::BulkRun)?;
        let lists = self.template_lists(actor).await?;
        let language = language.to_owned();
        tokio::task::spawn_blocking(move || files::template(&lists, &language, format))
            .await
            .map_err(|e| ServiceError::Internal(format!("template task: {e}")))?
    }

    async fn template_lists(&self, actor: &Actor) -> Result<files::TemplateLists> {
        let master = self.master_data().await?;
        let mut conn = self.db.reader().await?;
        let roles = cadre_store::roles::list(&mut conn)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let campaigns = store::campaign_names(&mut conn).await?;
        let boundaries = store::boundary_names(&mut conn, 50_000)
            .await?
            .into_iter()
            .filter(|(_, _, path)| {
                actor
                    .scope
                    .covers(&cadre_domain::BoundaryPath::from_stored(path.clone()))
            })
            .map(|(code, name, _)| (code, name))
            .collect();
        let list = |name: &str| -> Vec<(String, String)> {
            master
                .lists
                .get(name)
                .map(|items| {
                    items
                        .iter()
                        .map(|i| (i.code.clone(), i.label.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(files::TemplateLists {
            genders: list("genders"),
            employment_types: list("employment_types"),
            departments: list("departments"),
            deactivation_reasons: list("deactivation_reasons"),
            roles,
            campaigns,
            boundaries,
        })
    }
}

/// What every row of one job run shares.
pub(crate) struct JobRun<'a> {
    pub job_id: &'a str,
    pub lease: &'a WorkerLease,
    pub actor: &'a Actor,
    pub operation: Operation,
    pub credential: CredentialMode,
    pub dry_run: bool,
    pub file_errors: &'a HashMap<i64, Vec<RowError>>,
    /// The public key slips are sealed to, when the job generates passwords.
    pub slip_key: Option<&'a str>,
}

pub(crate) fn failed_outcome(row: &BulkRow, errors: Vec<RowError>) -> RowOutcome {
    RowOutcome {
        row_no: row.row_no,
        status: "failed".into(),
        username: row.owned(Column::Username),
        user_id: None,
        credential: None,
        errors: serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into()),
    }
}
