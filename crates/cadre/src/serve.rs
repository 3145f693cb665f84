//! Starting the service: logging, database, migrations, HTTP, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use cadre_service::settings::Settings;
use cadre_service::{Cadre, SystemClock};
use cadre_store::db::{redact, DbOptions};
use cadre_store::Db;
use cadre_web::WebConfig;

use crate::config::Config;

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CADRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Connects, migrates and prepares the service.
pub async fn open(config: &Config) -> Result<Cadre, String> {
    let settings = Settings::from_config(config.settings())?;
    let options = DbOptions {
        max_connections: config.max_connections.max(2),
        ..DbOptions::default()
    };
    let db = Db::connect(&config.database_url, &options)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", redact(&config.database_url)))?;
    let applied = cadre_store::migrate::run(&db)
        .await
        .map_err(|e| format!("migrating: {e}"))?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    let cadre = Cadre::new(db, settings, Arc::new(SystemClock))
        .with_bulk_lease(std::time::Duration::from_secs(config.bulk_lease_seconds));
    cadre.bootstrap().await.map_err(crate::describe)?;
    Ok(cadre)
}

pub async fn run(config: Config, demo: bool) -> Result<(), String> {
    init_logging(&config);
    let cadre = open(&config).await?;
    let demo_logins = if demo {
        Some(crate::demo::seed(&cadre).await?)
    } else {
        None
    };
    let app = cadre_web::app(
        cadre.clone(),
        WebConfig {
            max_body_bytes: config.max_body_bytes,
        },
    );
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "cadre is listening on http://{address} (database: {})",
        redact(&config.database_url)
    );
    if let Some(logins) = demo_logins {
        println!("{logins}");
    }
    tracing::info!(%address, backend = cadre.db().backend().name(), "serving");
    let scheduler = tokio::spawn(run_scheduler(cadre.clone()));
    let delivery = tokio::spawn(
        cadre_service::notify::worker::DeliveryWorker::new(
            cadre.clone(),
            cadre_service::notify::worker::process_worker_id(),
        )
        .map_err(crate::describe)?
        .run(),
    );
    let bulk_worker = tokio::spawn(run_bulk_worker(cadre.clone(), config.bulk_lease_seconds));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server: {e}"))?;
    scheduler.abort();
    delivery.abort();
    bulk_worker.abort();
    tracing::info!("stopped accepting requests; closing the database");
    cadre.db().close().await;
    Ok(())
}

/// Applies scheduled deactivations at start-up (catching up on days the service was
/// down) and then every minute. Several processes may run it: each change is claimed
/// once in the database.
async fn run_scheduler(cadre: cadre_service::Cadre) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match cadre.apply_due_status_changes().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(applied = n, "applied scheduled deactivations"),
            Err(e) => {
                tracing::warn!(error = %e, "applying scheduled deactivations failed; will retry")
            }
        }
    }
}

/// Runs queued bulk jobs and resumes those a stopped process left behind.
async fn run_bulk_worker(cadre: cadre_service::Cadre, lease_seconds: u64) {
    let lease = cadre_service::bulk::WorkerLease::for_this_process(std::time::Duration::from_secs(
        lease_seconds.max(1),
    ));
    cadre
        .run_bulk_worker(lease, std::time::Duration::from_secs(1))
        .await;
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
