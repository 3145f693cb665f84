use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use cadre_service::assignments::{
    AssignmentInput, AssignmentPatch, AssignmentView, EndAssignment, MoveAssignment, MoveResult,
};

use crate::extract::{ApiJson, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// A user's assignments, ended ones included.
#[utoipa::path(get, path = "/api/v1/users/{id}/assignments", tag = "assignments", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AssignmentView>), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<AssignmentView>>, ApiError> {
    Ok(Json(state.cadre.list_assignments(&actor, &id).await?))
}

/// Assign a user to a campaign and boundaries.
#[utoipa::path(post, path = "/api/v1/users/{id}/assignments", tag = "assignments", params(("id" = String, Path)), request_body = AssignmentInput,
    responses((status = 201, body = AssignmentView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignmentInput>,
) -> Result<(StatusCode, Json<AssignmentView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .cadre
                .create_assignment(&actor, &meta, &id, body)
                .await?,
        ),
    ))
}

/// Change an open assignment's boundaries, dates or roles.
#[utoipa::path(patch, path = "/api/v1/assignments/{id}", tag = "assignments", params(("id" = String, Path)), request_body = AssignmentPatch,
    responses((status = 200, body = AssignmentView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignmentPatch>,
) -> Result<Json<AssignmentView>, ApiError> {
    Ok(Json(
        state
            .cadre
            .update_assignment(&actor, &meta, &id, body)
            .await?,
    ))
}

/// End an assignment; it stays as history.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/end", tag = "assignments", params(("id" = String, Path)), request_body = EndAssignment,
    responses((status = 200, body = AssignmentView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn end(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndAssignment>,
) -> Result<Json<AssignmentView>, ApiError> {
    Ok(Json(
        state.cadre.end_assignment(&actor, &meta, &id, body).await?,
    ))
}

/// Move a user to another campaign: the assignment ends the day before the new one starts.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/move", tag = "assignments", params(("id" = String, Path)), request_body = MoveAssignment,
    responses((status = 200, body = MoveResult), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn move_to(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveAssignment>,
) -> Result<Json<MoveResult>, ApiError> {
    Ok(Json(
        state
            .cadre
            .move_assignment(&actor, &meta, &id, body)
            .await?,
    ))
}
