//! The `cadre` command: runs the service and does its administrative jobs.

mod backup;
mod config;
mod demo;
mod import;
mod serve;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use cadre_service::{Actor, RequestMeta};

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "cadre",
    version,
    about = "User and team management for health campaigns"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Configuration file (TOML).
    #[arg(long, env = "CADRE_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://…
    #[arg(long = "database", env = "CADRE_DATABASE_URL", global = true)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (migrates the database first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CADRE_LISTEN")]
        listen: Option<String>,
        /// Fill an empty database with a demonstration country, users and roles.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The boundary hierarchy.
    Boundaries {
        #[command(subcommand)]
        command: BoundaryCommand,
    },
    /// Copy the SQLite database to FILE while the service keeps running.
    Backup { file: PathBuf },
    /// User accounts in bulk.
    Users {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a SYSTEM_ADMIN with global scope.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input (first line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum BoundaryCommand {
    /// Import a `code,name,level,parent_code` CSV file.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Write every user (active and deactivated) to FILE, CSV or XLSX by its extension.
    Export { file: PathBuf },
    /// Run a bulk job from a CSV or XLSX file; writes FILE's result beside it.
    Import {
        file: PathBuf,
        /// Check every row and report; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// create, upsert, deactivate or assign.
        #[arg(long, default_value = "create")]
        mode: String,
        /// How new users get a credential: link, generate (passwords on a slip sheet)
        /// or none.
        #[arg(long, default_value = "link")]
        credential: String,
        /// Where to write the result (default: FILE.result.csv or .xlsx).
        #[arg(long)]
        result: Option<PathBuf>,
        /// With --credential generate: where to write the slip sheet PDF (default:
        /// FILE.slips.pdf).
        #[arg(long)]
        slips: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => fail(&reason),
    }
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("cadre: {}", reason.replace('\n', " "));
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = Config::load(cli.common.config.as_deref())?;
    if let Some(url) = cli.common.database {
        config.database_url = url;
    }
    match cli.command {
        Command::Serve { listen, demo } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve::run(config, demo).await
        }
        Command::Migrate => {
            serve::init_logging(&config);
            let cadre = serve::open(&config).await?;
            println!(
                "database is at schema version {}",
                cadre_store::migrate::latest_version()
            );
            cadre.db().close().await;
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { username, .. },
        } => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = input.lines().next().unwrap_or("").to_owned();
            if password.is_empty() {
                return Err("no password on standard input".into());
            }
            let cadre = serve::open(&config).await?;
            let created = cadre
                .create_user(
                    &Actor::local_operator(),
                    &RequestMeta::default(),
                    cadre_service::users::NewUser {
                        username: Some(username),
                        password: Some(password),
                        roles: Some(vec![cadre_domain::action::SYSTEM_ADMIN.into()]),
                        ..Default::default()
                    },
                )
                .await
                .map_err(describe)?;
            println!(
                "created system administrator '{}' ({})",
                created.user.username, created.user.id
            );
            cadre.db().close().await;
            Ok(())
        }
        Command::Boundaries {
            command: BoundaryCommand::Import { file },
        } => {
            let data =
                std::fs::read(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
            let cadre = serve::open(&config).await?;
            let summary = cadre
                .import_boundaries(&Actor::local_operator(), &RequestMeta::default(), &data)
                .await
                .map_err(describe)?;
            println!(
                "{} rows: {} created, {} updated, {} unchanged, {} failed",
                summary.total_rows,
                summary.created,
                summary.updated,
                summary.unchanged,
                summary.failed
            );
            for e in &summary.errors {
                println!("  row {} {}: {} ({})", e.row, e.column, e.message, e.code);
            }
            cadre.db().close().await;
            if summary.failed > 0 {
                return Err(format!(
                    "{} of {} rows failed",
                    summary.failed, summary.total_rows
                ));
            }
            Ok(())
        }
        Command::Backup { file } => {
            println!("{}", backup::run(&config.database_url, &file).await?);
            Ok(())
        }
        Command::Users {
            command:
                UserCommand::Import {
                    file,
                    dry_run,
                    mode,
                    credential,
                    result,
                    slips,
                },
        } => {
            let cadre = serve::open(&config).await?;
            let outcome = import::run(
                &cadre,
                import::ImportOptions {
                    file,
                    dry_run,
                    mode,
                    credential,
                    result,
                    slips,
                    lease: std::time::Duration::from_secs(config.bulk_lease_seconds.max(1)),
                },
            )
            .await;
            cadre.db().close().await;
            outcome
        }
        Command::Users {
            command: UserCommand::Export { file },
        } => {
            // Refuse an unknown extension before touching the database.
            let format =
                cadre_service::export::ExportFormat::from_path(&file).ok_or_else(|| {
                    format!(
                        "cannot tell the format of {}: name the file .csv or .xlsx",
                        file.display()
                    )
                })?;
            let cadre = serve::open(&config).await?;
            let export = cadre
                .export_users_counted(
                    &Actor::local_operator(),
                    &RequestMeta::default(),
                    cadre_service::users::UserFilter {
                        status: Some("all".into()),
                        ..Default::default()
                    },
                    format,
                )
                .await
                .map_err(describe);
            cadre.db().close().await;
            let export = export?;
            std::fs::write(&file, &export.bytes)
                .map_err(|e| format!("writing {}: {e}", file.display()))?;
            let noun = if export.rows == 1 { "user" } else { "users" };
            println!("wrote {} {noun} to {}", export.rows, file.display());
            Ok(())
        }
    }
}

/// One line for a use-case error, naming every failing field.
pub(crate) fn describe(error: cadre_service::ServiceError) -> String {
    match error {
        cadre_service::ServiceError::Validation(errors) => errors
            .errors()
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
