//! The JSON API under `/api/v1`, and its OpenAPI document built from the same routes.

pub mod assignments;
pub mod audit;
pub mod auth;
pub mod boundaries;
pub mod bulk;
pub mod campaigns;
pub mod credentials;
pub mod documents;
pub mod export;
pub mod lifecycle;
pub mod master_data;
pub mod notifications;
pub mod roles;
pub mod users;

use axum::Router;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use cadre_store::Page;

use crate::problem::{Problem, ProblemField};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "cadre", description = "User and team management for health campaigns.", version = "1"),
    components(schemas(Problem, ProblemField)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Signing in and one's own account"),
        (name = "users", description = "User accounts"),
        (name = "boundaries", description = "The administrative hierarchy"),
        (name = "roles", description = "Roles and actions"),
        (name = "master-data", description = "Configurable lists"),
        (name = "audit", description = "The audit log"),
        (name = "campaigns", description = "Campaigns and their coverage"),
        (name = "assignments", description = "Users on campaigns and boundaries"),
        (name = "notifications", description = "Emails and SMS and their delivery"),
        (name = "bulk", description = "Bulk operations from spreadsheets"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// A page of a list: `{items, next_cursor, total}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOf<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

impl<T> ListOf<T> {
    /// A list that fits on one page: all of it, with no cursor.
    pub fn whole(items: Vec<T>) -> Self {
        Self {
            total: i64::try_from(items.len()).unwrap_or(i64::MAX),
            items,
            next_cursor: None,
        }
    }
}

impl<T> From<Page<T>> for ListOf<T> {
    fn from(page: Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
            total: page.total,
        }
    }
}

pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(users::search, users::create))
        .routes(routes!(users::get, users::update))
        .routes(routes!(users::credentials))
        .routes(routes!(users::sessions))
        .routes(routes!(users::revoke_sessions))
        .routes(routes!(users::unlock))
        .routes(routes!(users::history))
        .routes(routes!(notifications::user_messages))
        .routes(routes!(notifications::list))
        .routes(routes!(users::suggest_username))
        .routes(routes!(boundaries::list, boundaries::create))
        .routes(routes!(boundaries::get))
        .routes(routes!(boundaries::import))
        .routes(routes!(roles::actions))
        .routes(routes!(roles::list, roles::create))
        .routes(routes!(roles::get, roles::update))
        .routes(routes!(master_data::get))
        .routes(routes!(master_data::put))
        .routes(routes!(audit::search))
        // credentials routes (begin)
        .routes(routes!(credentials::recovery))
        .routes(routes!(credentials::recovery_confirm))
        .routes(routes!(credentials::link))
        .routes(routes!(credentials::my_sessions))
        .routes(routes!(credentials::revoke_my_session))
        .routes(routes!(
            credentials::create_api_token,
            credentials::list_api_tokens
        ))
        .routes(routes!(credentials::revoke_api_token))
        // credentials routes (end)
        // documents routes (begin)
        .routes(routes!(documents::upload, documents::list))
        .routes(routes!(documents::download))
        // documents routes (end)
        // export routes (begin)
        .routes(routes!(export::export_users))
        // export routes (end)
        // campaign and assignment routes (begin)
        .routes(routes!(campaigns::list, campaigns::create))
        .routes(routes!(campaigns::get, campaigns::update))
        .routes(routes!(campaigns::coverage))
        .routes(routes!(assignments::list, assignments::create))
        .routes(routes!(assignments::update))
        .routes(routes!(assignments::end))
        .routes(routes!(assignments::move_to))
        .routes(routes!(lifecycle::deactivate))
        .routes(routes!(lifecycle::reactivate))
        .routes(routes!(lifecycle::status_history))
        .routes(routes!(lifecycle::replace))
        .routes(routes!(lifecycle::timeline))
        .routes(routes!(lifecycle::staff))
        // campaign and assignment routes (end)
        // bulk routes (begin)
        .routes(routes!(bulk::create_job))
        .routes(routes!(bulk::get_job))
        .routes(routes!(bulk::result_xlsx))
        .routes(routes!(bulk::result_csv))
        .routes(routes!(bulk::slips_pdf))
        .routes(routes!(bulk::slips_html))
        .routes(routes!(bulk::template_xlsx))
        .routes(routes!(bulk::template_csv))
        // bulk routes (end)
        .split_for_parts()
}
