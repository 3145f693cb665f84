use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use cadre_service::roles::{ActionView, RoleInput, RoleView};

use crate::extract::{ApiJson, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// The catalogue of actions roles can carry.
#[utoipa::path(get, path = "/api/v1/actions", tag = "roles", responses((status = 200, body = Vec<ActionView>)))]
pub async fn actions(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Vec<ActionView>>, ApiError> {
    Ok(Json(state.cadre.list_actions(&actor).await?))
}

/// Every role with its actions.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", responses((status = 200, body = Vec<RoleView>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Vec<RoleView>>, ApiError> {
    Ok(Json(state.cadre.list_roles(&actor).await?))
}

/// Create a role; nobody grants actions they lack.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleInput,
    responses((status = 201, body = RoleView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RoleInput>,
) -> Result<(StatusCode, Json<RoleView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.cadre.create_role(&actor, &meta, body).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/roles/{code}", tag = "roles", params(("code" = String, Path)),
    responses((status = 200, body = RoleView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> Result<Json<RoleView>, ApiError> {
    Ok(Json(state.cadre.get_role(&actor, &code).await?))
}

/// Replace a role's name, description and actions.
#[utoipa::path(put, path = "/api/v1/roles/{code}", tag = "roles", params(("code" = String, Path)), request_body = RoleInput,
    responses((status = 200, body = RoleView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<RoleInput>,
) -> Result<Json<RoleView>, ApiError> {
    Ok(Json(
        state.cadre.update_role(&actor, &meta, &code, body).await?,
    ))
}
