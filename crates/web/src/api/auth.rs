use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use cadre_service::auth::{LoginRequest, LoginResponse, MeView, PasswordChange};

use crate::extract::{ApiJson, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// Sign in with a username and password; answers a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 403, description = "account_deactivated", body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(Json(state.cadre.login(&meta, body).await?))
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
) -> Result<StatusCode, ApiError> {
    state.cadre.logout(&actor, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller, with their effective actions and scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeView), (status = 401, body = Problem)))]
pub async fn me(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<MeView>, ApiError> {
    Ok(Json(state.cadre.me(&actor).await?))
}

/// Change one's own password; one's other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state.cadre.change_own_password(&actor, &meta, body).await?;
    Ok(StatusCode::NO_CONTENT)
}
