//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::problem::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
}

/// The process is alive.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: the database answers, takes a write, and its schema is current.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let db = state.cadre.db();
    // Not ready for a while: the load balancer asks again after `Retry-After`.
    let not_ready = |code: &str, detail: &str| {
        let mut error = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, detail);
        error.retry_after = Some(5);
        error
    };
    if let Err(e) = db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return Err(not_ready(
            "database_unavailable",
            "the database does not answer",
        ));
    }
    let version = cadre_store::migrate::current_version(db).await.unwrap_or(0);
    let latest = cadre_store::migrate::latest_version();
    if version < latest {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "schema_outdated",
            format!("the database schema is at version {version}, this build needs {latest}"),
        ));
    }
    if let Err(e) = db.probe_writes().await {
        tracing::warn!(error = %e, "readiness: the database refuses writes");
        return Err(not_ready(
            "database_read_only",
            "the database answers but does not take writes",
        ));
    }
    Ok(Json(json!({
        "status": "ready",
        "database": db.backend().name(),
        "schema_version": version,
    })))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let ready = if state.cadre.db().ping().await.is_ok() {
        1.0
    } else {
        0.0
    };
    let writable = if ready > 0.0 && state.cadre.db().probe_writes().await.is_ok() {
        1.0
    } else {
        0.0
    };
    let body = state.metrics.render(&[
        (
            "cadre_database_up",
            "Whether the database answered this scrape.",
            ready,
        ),
        (
            "cadre_database_writable",
            "Whether a write reached the database (probed at most once a second).",
            writable,
        ),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
}
