//! Deactivation, reactivation, replacement and staffing history.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::replacement::{ReplaceRequest, ReplaceResult};
use cadre_service::staffing::{StaffOnDay, TimelineEvent};
use cadre_service::status::{DeactivateRequest, ReactivateRequest, StatusChangeView};
use cadre_service::users::UserView;

use crate::extract::{ApiJson, ApiQuery, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// Deactivate a user now, on a past date, or on a future date (scheduled).
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "users", params(("id" = String, Path)), request_body = DeactivateRequest,
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn deactivate(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeactivateRequest>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        state
            .cadre
            .deactivate_user(&actor, &meta, &id, body)
            .await?,
    ))
}

/// Reactivate a user (or cancel a scheduled deactivation).
#[utoipa::path(post, path = "/api/v1/users/{id}/reactivate", tag = "users", params(("id" = String, Path)), request_body = ReactivateRequest,
    responses((status = 200, body = UserView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reactivate(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReactivateRequest>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        state
            .cadre
            .reactivate_user(&actor, &meta, &id, body)
            .await?,
    ))
}

/// Every deactivation and reactivation of a user.
#[utoipa::path(get, path = "/api/v1/users/{id}/status-history", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = Vec<StatusChangeView>), (status = 404, body = Problem)))]
pub async fn status_history(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<StatusChangeView>>, ApiError> {
    Ok(Json(state.cadre.status_history(&actor, &id).await?))
}

/// Replace a worker: the replacement takes over the open assignments from the date.
#[utoipa::path(post, path = "/api/v1/users/{id}/replace", tag = "users", params(("id" = String, Path)), request_body = ReplaceRequest,
    responses((status = 200, body = ReplaceResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn replace(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplaceRequest>,
) -> Result<Json<ReplaceResult>, ApiError> {
    Ok(Json(
        state.cadre.replace_user(&actor, &meta, &id, body).await?,
    ))
}

/// A user's assignments, deactivations and replacements in date order.
#[utoipa::path(get, path = "/api/v1/users/{id}/timeline", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TimelineEvent>), (status = 404, body = Problem)))]
pub async fn timeline(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimelineEvent>>, ApiError> {
    Ok(Json(state.cadre.user_timeline(&actor, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffParams {
    /// The day (YYYY-MM-DD); today when absent.
    pub date: Option<String>,
    pub campaign: Option<String>,
}

/// Who served a boundary on a day (assigned to it, inside it, or to a boundary containing it).
#[utoipa::path(get, path = "/api/v1/boundaries/{code}/staff", tag = "boundaries", params(("code" = String, Path), StaffParams),
    responses((status = 200, body = StaffOnDay), (status = 404, body = Problem)))]
pub async fn staff(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<StaffParams>,
) -> Result<Json<StaffOnDay>, ApiError> {
    Ok(Json(
        state
            .cadre
            .boundary_staff(&actor, &code, p.date, p.campaign)
            .await?,
    ))
}
