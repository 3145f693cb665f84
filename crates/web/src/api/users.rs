use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::audit::AuditEventView;
use cadre_service::credentials::sessions::SessionView;
use cadre_service::users::{
    CreatedUser, Credential, CredentialResult, NewUser, UserFilter, UserPatch, UserView,
    UsernameSuggestion,
};

use crate::api::ListOf;
use crate::extract::{ApiJson, ApiQuery, Auth, IfMatch, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// Query of `GET /api/v1/users` (documentation; the service reads [`UserFilter`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UserSearchParams {
    /// Searches name, username, mobile and email at once.
    q: Option<String>,
    /// Name fragment; accent- and case-insensitive.
    name: Option<String>,
    /// Username prefix.
    username: Option<String>,
    /// Any common format; matches the national number.
    mobile_number: Option<String>,
    email: Option<String>,
    role: Option<String>,
    /// Boundary code: users tied to its whole subtree.
    boundary: Option<String>,
    /// active (default), deactivated or all.
    status: Option<String>,
    department: Option<String>,
    employment_type: Option<String>,
    profile_complete: Option<bool>,
    /// username, name, created_at, updated_at; prefix '-' for descending.
    sort: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn with_etag(view: UserView, status: StatusCode) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.version)).ok();
    let mut response = (status, Json(view)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Search users in the caller's scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserSearchParams),
    responses((status = 200, body = ListOf<UserView>), (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(filter): ApiQuery<UserFilter>,
) -> Result<Json<ListOf<UserView>>, ApiError> {
    Ok(Json(state.cadre.search_users(&actor, filter).await?.into()))
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    let created = state.cadre.create_user(&actor, &meta, body).await?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", created.user.version)).ok();
    let location = HeaderValue::from_str(&format!("/api/v1/users/{}", created.user.id)).ok();
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Read one user; the ETag carries its version.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = UserView, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state.cadre.get_user(&actor, &id).await?,
        StatusCode::OK,
    ))
}

/// Change some fields of a user; `If-Match` guards against lost updates.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path), ("If-Match" = Option<String>, Header)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    IfMatch(version): IfMatch,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserPatch>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state
            .cadre
            .update_user(&actor, &meta, &id, version, body)
            .await?,
        StatusCode::OK,
    ))
}

/// Set, generate or clear a user's credential; their sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/credentials", tag = "users", params(("id" = String, Path)), request_body = Credential,
    responses((status = 200, body = CredentialResult), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn credentials(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Credential>,
) -> Result<Json<CredentialResult>, ApiError> {
    Ok(Json(
        state
            .cadre
            .set_credentials(&actor, &meta, &id, body)
            .await?,
    ))
}

/// A user's live sessions (kind, when used, from where), newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = ListOf<SessionView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn sessions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ListOf<SessionView>>, ApiError> {
    Ok(Json(ListOf::whole(
        state.cadre.user_sessions(&actor, &id).await?,
    )))
}

/// End every session of a user.
#[utoipa::path(post, path = "/api/v1/users/{id}/sessions/revoke", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.cadre.revoke_sessions(&actor, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift the sign-in slowdown of a user.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn unlock(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.cadre.unlock(&actor, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Audit events about one user, newest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/history", tag = "users", params(("id" = String, Path), PageParams),
    responses((status = 200, body = ListOf<AuditEventView>), (status = 404, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<ListOf<AuditEventView>>, ApiError> {
    Ok(Json(
        state
            .cadre
            .user_history(&actor, &id, page.limit, page.cursor)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile_number: Option<String>,
    pub boundary: Option<String>,
}

/// The username that creating this person now would give.
#[utoipa::path(get, path = "/api/v1/usernames/suggest", tag = "users", params(SuggestParams),
    responses((status = 200, body = UsernameSuggestion), (status = 422, body = Problem)))]
pub async fn suggest_username(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(p): ApiQuery<SuggestParams>,
) -> Result<Json<UsernameSuggestion>, ApiError> {
    Ok(Json(
        state
            .cadre
            .suggest_username(
                &actor,
                p.first_name,
                p.last_name,
                p.mobile_number,
                p.boundary,
            )
            .await?,
    ))
}
