//! cadre's HTTP surface. Handlers translate HTTP to use cases and back; they never
//! decide permissions (the service layer does) and never touch the store.

pub mod api;
pub mod extract;
pub mod metrics;
pub mod ops;
pub mod problem;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use cadre_service::Cadre;

pub use problem::ApiError;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest request body accepted (JSON and uploads alike).
    pub max_body_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub cadre: Cadre,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<metrics::Metrics>,
    pub openapi: Arc<String>,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: API, operations endpoints, and the layers around them.
pub fn app(cadre: Cadre, config: WebConfig) -> Router {
    let (api_router, openapi) = api::router();
    let openapi_json = openapi.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let state = AppState {
        cadre,
        config: Arc::new(config.clone()),
        metrics: Arc::new(metrics::Metrics::default()),
        openapi: Arc::new(openapi_json),
    };
    Router::new()
        .merge(api_router)
        .merge(ops::router())
        .merge(ui::router())
        .fallback(problem::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(120),
        ))
        .with_state(state)
}
