//! Recovery, sign-in links, one's own sessions and API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use cadre_service::auth::LoginResponse;
use cadre_service::credentials::api_tokens::{ApiTokenView, CreatedApiToken, NewApiToken};
use cadre_service::credentials::links::LinkSignIn;
use cadre_service::credentials::recovery::{RecoveryConfirm, RecoveryRequest};
use cadre_service::credentials::sessions::SessionView;

use crate::api::ListOf;
use crate::extract::{ApiJson, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// Ask for a recovery code. Always 202, whether or not the username exists; the code
/// goes to the user's email, the common recovery address, or by SMS.
#[utoipa::path(post, path = "/api/v1/auth/recovery", tag = "auth", security(()), request_body = RecoveryRequest,
    responses((status = 202), (status = 429, body = Problem)))]
pub async fn recovery(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RecoveryRequest>,
) -> Result<StatusCode, ApiError> {
    state.cadre.request_recovery(&meta, body).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Set a new password with a recovery code; every session of the user ends.
#[utoipa::path(post, path = "/api/v1/auth/recovery/confirm", tag = "auth", security(()), request_body = RecoveryConfirm,
    responses((status = 204), (status = 422, description = "invalid_otp, or the new password breaks the policy", body = Problem), (status = 429, body = Problem)))]
pub async fn recovery_confirm(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<RecoveryConfirm>,
) -> Result<StatusCode, ApiError> {
    state.cadre.confirm_recovery(&meta, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign in with an activation link's token (once); the user must then set a password.
#[utoipa::path(post, path = "/api/v1/auth/link", tag = "auth", security(()), request_body = LinkSignIn,
    responses((status = 200, body = LoginResponse), (status = 403, description = "account_deactivated", body = Problem), (status = 422, description = "invalid_link", body = Problem), (status = 429, body = Problem)))]
pub async fn link(
    State(state): State<AppState>,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<LinkSignIn>,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(Json(state.cadre.sign_in_with_link(&meta, body).await?))
}

/// The caller's live sessions, newest first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth",
    responses((status = 200, body = ListOf<SessionView>), (status = 401, body = Problem)))]
pub async fn my_sessions(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<ListOf<SessionView>>, ApiError> {
    Ok(Json(ListOf::whole(state.cadre.my_sessions(&actor).await?)))
}

/// End one of the caller's sessions (the current one included).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_my_session(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.cadre.revoke_my_session(&actor, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API token for an integration; the token is shown in this answer only.
#[utoipa::path(post, path = "/api/v1/api-tokens", tag = "auth", request_body = NewApiToken,
    responses((status = 201, body = CreatedApiToken), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_token(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<NewApiToken>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let created = state.cadre.create_api_token(&actor, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// API tokens the caller owns or created (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/api-tokens", tag = "auth",
    responses((status = 200, body = ListOf<ApiTokenView>), (status = 401, body = Problem)))]
pub async fn list_api_tokens(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<ListOf<ApiTokenView>>, ApiError> {
    Ok(Json(ListOf::whole(
        state.cadre.list_api_tokens(&actor).await?,
    )))
}

/// Revoke an API token the caller owns or created.
#[utoipa::path(delete, path = "/api/v1/api-tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_api_token(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.cadre.revoke_api_token(&actor, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
