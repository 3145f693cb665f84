//! `GET /api/v1/users/export`: the result of a user search as a CSV or XLSX file.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::export::ExportFormat;
use cadre_service::users::UserFilter;

use crate::extract::{ApiQuery, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// Query of `GET /api/v1/users/export` (documentation): the filters of
/// `GET /api/v1/users`, without paging, plus the file format.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UserExportParams {
    /// csv (default) or xlsx.
    format: Option<String>,
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
    campaign: Option<String>,
    /// Boundary code: users tied to its whole subtree.
    boundary: Option<String>,
    /// active (default), deactivated or all.
    status: Option<String>,
    department: Option<String>,
    employment_type: Option<String>,
    profile_complete: Option<bool>,
    /// username, name, created_at, updated_at; prefix '-' for descending.
    sort: Option<String>,
}

/// The `format` parameter; the filters are read separately as a [`UserFilter`].
#[derive(Deserialize)]
pub struct FormatParam {
    pub format: Option<String>,
}

/// Export the users a search shows, as one CSV (UTF-8 with BOM) or XLSX file.
///
/// Every matching user in the caller's scope, whatever `limit` and `cursor` say; at most
/// 1,000,000 rows. Cells that a spreadsheet would run as a formula start with `'`.
#[utoipa::path(get, path = "/api/v1/users/export", tag = "users", params(UserExportParams),
    responses(
        (status = 200, description = "The users as a file, with one header row",
            content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            headers(("Content-Disposition" = String))),
        (status = 403, body = Problem),
        (status = 422, description = "An unknown format or filter value, or more rows than an export holds (field limit)", body = Problem)))]
pub async fn export_users(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiQuery(FormatParam { format }): ApiQuery<FormatParam>,
    ApiQuery(filter): ApiQuery<UserFilter>,
) -> Result<Response, ApiError> {
    let format = match format.as_deref() {
        None | Some("") => ExportFormat::Csv,
        Some(name) => ExportFormat::parse(name)?,
    };
    let bytes = state
        .cadre
        .export_users(&actor, &meta, filter, format)
        .await?;
    let disposition = match format {
        ExportFormat::Csv => "attachment; filename=\"users.csv\"",
        ExportFormat::Xlsx => "attachment; filename=\"users.xlsx\"",
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    Ok(response)
}
