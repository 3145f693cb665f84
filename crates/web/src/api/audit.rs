use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::audit::{AuditEventView, AuditFilter};

use crate::api::ListOf;
use crate::extract::{ApiQuery, Auth};
use crate::problem::ApiError;
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Actor id or username.
    pub actor: Option<String>,
    /// Target id or label (a username, a role code…).
    pub target: Option<String>,
    /// An action such as `user.update`, or a family such as `user.*`.
    pub action: Option<String>,
    /// From this time (RFC 3339, inclusive).
    pub from: Option<String>,
    /// Until this time (RFC 3339, exclusive).
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Search the audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams), responses((status = 200, body = ListOf<AuditEventView>)))]
pub async fn search(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<ListOf<AuditEventView>>, ApiError> {
    let filter = AuditFilter {
        actor: p.actor,
        target: p.target,
        action: p.action,
        from: p.from.map(|t| normalise_time("from", &t)).transpose()?,
        to: p.to.map(|t| normalise_time("to", &t)).transpose()?,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(state.cadre.audit_search(&actor, filter).await?.into()))
}

/// Accepts an RFC 3339 time or a date, as stored text that compares correctly.
fn normalise_time(field: &str, value: &str) -> Result<String, ApiError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(cadre_store::timestamp(t.with_timezone(&chrono::Utc)));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(cadre_store::timestamp(
            d.and_time(chrono::NaiveTime::MIN).and_utc(),
        ));
    }
    Err(ApiError::bad_request(
        field,
        "invalid_parameter",
        format!("{field}: '{value}' is not an RFC 3339 time or a date"),
    ))
}
