//! Delivery status of notifications: one user's messages, and the whole queue for
//! national administrators. Parameters (codes, links) are never shown.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::notify::status::{MessageView, NotificationFilter};

use crate::api::ListOf;
use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiError, Problem};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Messages sent or queued for one user, newest first, with their delivery status.
#[utoipa::path(get, path = "/api/v1/users/{id}/messages", tag = "notifications", params(("id" = String, Path), MessageParams),
    responses((status = 200, body = ListOf<MessageView>), (status = 404, body = Problem)))]
pub async fn user_messages(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<MessageParams>,
) -> Result<Json<ListOf<MessageView>>, ApiError> {
    Ok(Json(
        state
            .cadre
            .user_messages(&actor, &id, p.limit, p.cursor)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// `pending`, `sent`, `failed` or `no_gateway`.
    pub status: Option<String>,
    /// `email` or `sms`.
    pub channel: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every message, newest first (administrators with national scope).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationParams),
    responses((status = 200, body = ListOf<MessageView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(p): ApiQuery<NotificationParams>,
) -> Result<Json<ListOf<MessageView>>, ApiError> {
    let filter = NotificationFilter {
        status: p.status,
        channel: p.channel,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(
        state.cadre.notifications(&actor, filter).await?.into(),
    ))
}
