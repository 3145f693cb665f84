//! `cadre users import FILE`: the bulk job pipeline of the API, run in this process
//! with a progress bar on a terminal (plain progress lines otherwise), then the
//! result file beside the input.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cadre_service::bulk::{
    render_slips, BulkJobView, NewBulkJob, ResultFormat, SlipFormat, SlipLabels, WorkerLease,
};
use cadre_service::{Actor, Cadre, RequestMeta};

pub struct ImportOptions {
    pub file: PathBuf,
    pub dry_run: bool,
    pub mode: String,
    pub credential: String,
    pub result: Option<PathBuf>,
    /// Where the slip sheet of generated passwords goes (default: FILE.slips.pdf).
    pub slips: Option<PathBuf>,
    pub lease: Duration,
}

/// Writes the slip sheet as a PDF only its owner can read: it holds passwords until it
/// is printed and deleted.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

/// `users.xlsx` → `users.result.xlsx`; CSV inputs get a CSV result.
fn result_path(input: &Path, format: ResultFormat) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    let ext = match format {
        ResultFormat::Csv => "csv",
        ResultFormat::Xlsx => "xlsx",
    };
    input.with_file_name(format!("{stem}.result.{ext}"))
}

fn bar(job: &BulkJobView) -> String {
    let total = job.total_rows.max(1);
    let done = job.processed_rows.clamp(0, total);
    let width = 40;
    let filled = usize::try_from(done * width / total).unwrap_or(0);
    let empty = usize::try_from(width).unwrap_or(40).saturating_sub(filled);
    format!(
        "\r[{}{}] {}/{} rows, {} failed",
        "#".repeat(filled),
        "-".repeat(empty),
        done,
        job.total_rows,
        job.failed
    )
}

pub async fn run(cadre: &Cadre, options: ImportOptions) -> Result<(), String> {
    let content = std::fs::read(&options.file)
        .map_err(|e| format!("reading {}: {e}", options.file.display()))?;
    let actor = Actor::local_operator();
    let job = cadre
        .queue_bulk_job(
            &actor,
            &RequestMeta::default(),
            NewBulkJob {
                file_name: options
                    .file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                content,
                operation: Some(options.mode.clone()),
                dry_run: options.dry_run,
                credential: Some(options.credential.clone()),
                ..NewBulkJob::default()
            },
        )
        .await
        .map_err(crate::describe)?;
    println!(
        "job {}: {} {} rows{}",
        job.id,
        job.operation,
        job.total_rows,
        if job.dry_run { " (dry run)" } else { "" }
    );
    let worker = {
        let cadre = cadre.clone();
        let id = job.id.clone();
        let lease = WorkerLease::for_this_process(options.lease);
        tokio::spawn(async move { cadre.run_bulk_job(&id, &lease).await })
    };
    let terminal = std::io::stdout().is_terminal();
    let mut last_line = -1;
    loop {
        let finished = worker.is_finished();
        let progress = cadre
            .bulk_job_progress(&job.id)
            .await
            .map_err(crate::describe)?;
        if terminal {
            print!("{}", bar(&progress));
            let _ = std::io::stdout().flush();
        } else if progress.processed_rows != last_line {
            println!(
                "progress: {}/{} rows, {} failed",
                progress.processed_rows, progress.total_rows, progress.failed
            );
            last_line = progress.processed_rows;
        }
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(if terminal { 100 } else { 500 })).await;
    }
    if terminal {
        println!();
    }
    match worker.await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return Err(format!("job {} is being run by another process", job.id)),
        Ok(Err(e)) => return Err(crate::describe(e)),
        Err(e) => return Err(format!("job {}: {e}", job.id)),
    }
    let summary = cadre
        .get_bulk_job(&actor, &job.id)
        .await
        .map_err(crate::describe)?;
    let format = match options
        .result
        .as_deref()
        .unwrap_or(&options.file)
        .extension()
        .and_then(|e| e.to_str())
    {
        Some(e) if e.eq_ignore_ascii_case("xlsx") => ResultFormat::Xlsx,
        _ => ResultFormat::Csv,
    };
    let path = options
        .result
        .clone()
        .unwrap_or_else(|| result_path(&options.file, format));
    let bytes = cadre
        .bulk_job_result(&actor, &job.id, format)
        .await
        .map_err(crate::describe)?;
    std::fs::write(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!(
        "{}: {} rows, {} succeeded, {} failed; result written to {}",
        summary.status,
        summary.total_rows,
        summary.succeeded,
        summary.failed,
        path.display()
    );
    if let Some(key) = &job.slip_key {
        let slips = cadre
            .take_bulk_slips(&actor, &RequestMeta::default(), &job.id, key)
            .await
            .map_err(crate::describe)?;
        let count = slips.len();
        let pdf = render_slips(&slips, SlipFormat::Pdf, &SlipLabels::default())
            .map_err(crate::describe)?;
        let path = options
            .slips
            .clone()
            .unwrap_or_else(|| options.file.with_extension("slips.pdf"));
        write_private(&path, &pdf).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!(
            "{count} slips written to {} (readable by you only): print them, then delete the file",
            path.display()
        );
    }
    for e in summary.errors_preview.iter().take(20) {
        println!("  row {} {}: {} ({})", e.row, e.column, e.message, e.code);
    }
    if summary.status != "completed" {
        return Err(format!(
            "the job {}: {}",
            summary.status,
            summary.failure.unwrap_or_default()
        ));
    }
    if summary.failed > 0 {
        return Err(format!(
            "{} of {} rows failed",
            summary.failed, summary.total_rows
        ));
    }
    Ok(())
}
