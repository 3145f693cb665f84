//! The web interface: server-rendered pages that work without JavaScript, in English,
//! Portuguese and French. Pages call the same use cases as the API, so the service
//! layer decides every permission; a page only hides what the person cannot use.

pub mod admin;
pub mod bulk;
pub mod charts;
mod contrast;
pub mod credentials;
pub mod i18n;
pub mod lifecycle;
pub mod notifications;
pub mod pages;
pub mod search;
pub mod session;
pub mod users;

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");

/// No inline script or style, no framing, forms only to ourselves.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/lang/{code}", get(pages::switch_language))
        .route("/users", get(search::users))
        // credential pages (begin)
        .route("/login/link", post(credentials::link_submit))
        .route("/login/link/{token}", get(credentials::link_page))
        .route(
            "/me/password",
            get(credentials::password_page).post(credentials::password_submit),
        )
        .route("/me/sessions", get(credentials::sessions_page))
        .route(
            "/me/sessions/{id}/revoke",
            post(credentials::session_revoke),
        )
        .route(
            "/forgot-password",
            get(credentials::forgot_page).post(credentials::forgot_submit),
        )
        .route(
            "/forgot-password/confirm",
            post(credentials::forgot_confirm),
        )
        // credential pages (end)
        // user pages (begin)
        .route("/users/new", get(users::new_page).post(users::new_submit))
        .route("/users/{id}", get(users::view))
        .route(
            "/users/{id}/edit",
            get(users::edit_page).post(users::edit_submit),
        )
        .route(
            "/users/{id}/credentials",
            get(users::credentials_page).post(users::credentials_submit),
        )
        .route("/users/{id}/sessions/revoke", post(users::sessions_revoke))
        // user pages (end)
        // lifecycle pages (begin)
        .route(
            "/users/{id}/deactivate",
            get(lifecycle::deactivate_page).post(lifecycle::deactivate_submit),
        )
        .route(
            "/users/{id}/reactivate",
            get(lifecycle::reactivate_page).post(lifecycle::reactivate_submit),
        )
        .route(
            "/users/{id}/replace",
            get(lifecycle::replace_page).post(lifecycle::replace_submit),
        )
        .route(
            "/users/{id}/assignments/new",
            get(lifecycle::assign_page).post(lifecycle::assign_submit),
        )
        .route(
            "/users/{id}/assignments/{assignment}/end",
            post(lifecycle::end_submit),
        )
        // lifecycle pages (end)
        // administration pages (begin)
        .route("/roles", get(admin::roles))
        .route("/roles/new", get(admin::role_new).post(admin::role_create))
        .route(
            "/roles/{code}/edit",
            get(admin::role_edit).post(admin::role_update),
        )
        .route("/master-data", get(admin::master_data))
        .route("/master-data/{list}", post(admin::master_data_save))
        .route("/boundaries", get(admin::boundaries))
        .route("/boundaries/import", post(admin::boundaries_import))
        .route("/campaigns", get(admin::campaigns))
        .route(
            "/campaigns/new",
            get(admin::campaign_new).post(admin::campaign_create),
        )
        .route("/campaigns/{code}", get(admin::campaign))
        .route(
            "/campaigns/{code}/edit",
            get(admin::campaign_edit).post(admin::campaign_update),
        )
        .route("/audit", get(admin::audit))
        .route("/bulk", get(bulk::page).post(bulk::submit))
        .route("/bulk/jobs/{id}", get(bulk::job))
        .route("/bulk/jobs/{id}/slips", post(bulk::slips))
        .route("/dashboard", get(admin::dashboard))
        // administration pages (end)
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
                    .into_response()
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    JS,
                )
                    .into_response()
            }),
        )
        // Pages, CSS and JS travel compressed (brotli or gzip, as the browser accepts):
        // a page then weighs a few kilobytes on a 2G connection.
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}
