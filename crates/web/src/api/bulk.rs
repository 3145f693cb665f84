//! Bulk operations: templates, jobs from an uploaded CSV/XLSX, progress and results.

use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::bulk::{
    render_slips, BulkJobView, NewBulkJob, ResultFormat, SlipFormat, MAX_FILE_BYTES,
};
use cadre_service::{Actor, RequestMeta, ServiceError};

use crate::extract::{ApiJson, ApiQuery, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// The OpenAPI shape of the upload form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct BulkUpload {
    /// A CSV (UTF-8, `,` or `;`) or XLSX file with a header row; not needed with
    /// `campaign`.
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
    /// create (default), upsert, deactivate, assign or replace.
    operation: Option<String>,
    /// true: check every row and report, change nothing.
    dry_run: Option<bool>,
    /// link (default), none or generate.
    credential: Option<String>,
    /// With `operation=deactivate` and no file: deactivate every active user in the
    /// caller's scope whose open work is all in this campaign (or its sub-campaigns),
    /// from the day after it ends.
    campaign: Option<String>,
    /// With `campaign`: the reason from the deactivation_reasons list
    /// (END_OF_CAMPAIGN when absent).
    deactivation_reason: Option<String>,
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a bulk file may be at most {MAX_FILE_BYTES} bytes"),
    )
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request("file", "malformed_multipart", error.body_text())
    }
}

/// The client's name for the file, kept only as a label of the job: it never becomes a
/// path. Control and bidirectional-override characters are dropped, since they could
/// hide or reorder what the job page and the audit log show.
pub(crate) fn upload_name(sent: Option<&str>) -> String {
    let kept: String = sent
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    match kept.trim() {
        "" => "upload".to_owned(),
        name => name.to_owned(),
    }
}

/// Bidirectional overrides and isolates are not control characters to Rust, but they
/// make `users\u{202E}vsc.exe` read as `usersexe.csv`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn boolean(field: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "" | "false" | "0" | "no" | "off" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
        _ => Err(ApiError::bad_request(
            field,
            "invalid_boolean",
            format!("'{value}' is not true or false"),
        )),
    }
}

/// Reads the upload form: the `file` part (refused with 413 past the limit while
/// reading) and the options.
async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<NewBulkJob, ApiError> {
    let mut multipart = multipart
        .map_err(|e| ApiError::bad_request("file", "malformed_multipart", e.body_text()))?;
    let mut job = NewBulkJob::default();
    let mut has_file = false;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "file" => {
                job.file_name = upload_name(field.file_name());
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if job.content.len() + chunk.len() > MAX_FILE_BYTES {
                        return Err(too_large());
                    }
                    job.content.extend_from_slice(&chunk);
                }
                has_file = true;
            }
            "operation" | "dry_run" | "credential" | "campaign" | "deactivation_reason" => {
                let value = field.text().await.map_err(multipart_error)?;
                match name.as_str() {
                    "operation" => job.operation = Some(value),
                    "credential" => job.credential = Some(value),
                    "campaign" => job.campaign = Some(value),
                    "deactivation_reason" => job.reason = Some(value),
                    _ => job.dry_run = boolean("dry_run", &value)?,
                }
            }
            _ => {}
        }
    }
    let closing_campaign = job
        .campaign
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty());
    if !has_file && !closing_campaign {
        return Err(ApiError::bad_request(
            "file",
            "missing_field",
            "the form needs a 'file' part (or, to deactivate at a campaign's close, a 'campaign')",
        ));
    }
    Ok(job)
}

/// Start a bulk job from a CSV or XLSX file.
///
/// The file is checked at once (format, columns, formulas, size, row count); the rows
/// are then validated and applied in the background: poll the job for progress.
#[utoipa::path(post, path = "/api/v1/bulk/jobs", tag = "bulk",
    request_body(content = BulkUpload, content_type = "multipart/form-data"),
    responses((status = 202, body = BulkJobView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn create_job(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<BulkJobView>), ApiError> {
    let upload = read_form(multipart).await?;
    let job = state.cadre.create_bulk_job(&actor, &meta, upload).await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// A bulk job's status, progress and first errors.
#[utoipa::path(get, path = "/api/v1/bulk/jobs/{id}", tag = "bulk", params(("id" = String, Path)),
    responses((status = 200, body = BulkJobView), (status = 404, body = Problem)))]
pub async fn get_job(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<BulkJobView>, ApiError> {
    Ok(Json(state.cadre.get_bulk_job(&actor, &id).await?))
}

pub(crate) fn file_response(
    bytes: Vec<u8>,
    content_type: &'static str,
    filename: &str,
) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Every input row of a job with its status, username and errors, as XLSX.
#[utoipa::path(get, path = "/api/v1/bulk/jobs/{id}/result.xlsx", tag = "bulk", params(("id" = String, Path)),
    responses((status = 200, description = "The result workbook",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, body = Problem)))]
pub async fn result_xlsx(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    job_result(&state, &actor, &id, ResultFormat::Xlsx).await
}

/// Every input row of a job with its status, username and errors, as CSV.
#[utoipa::path(get, path = "/api/v1/bulk/jobs/{id}/result.csv", tag = "bulk", params(("id" = String, Path)),
    responses((status = 200, description = "The result as CSV", content(("text/csv"))),
        (status = 404, body = Problem)))]
pub async fn result_csv(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    job_result(&state, &actor, &id, ResultFormat::Csv).await
}

async fn job_result(
    state: &AppState,
    actor: &Actor,
    id: &str,
    format: ResultFormat,
) -> Result<Response, ApiError> {
    let bytes = state.cadre.bulk_job_result(actor, id, format).await?;
    Ok(file_response(
        bytes,
        format.content_type(),
        &format!("result.{}", format.extension()),
    ))
}

/// `?lang=` of the templates: en (default), fr or pt.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateParams {
    pub lang: Option<String>,
}

/// The users template as XLSX: instructions, the users sheet with labels in the
/// caller's language and dropdowns, and the lists (codes with names) in scope.
#[utoipa::path(get, path = "/api/v1/bulk/templates/users.xlsx", tag = "bulk", params(TemplateParams),
    responses((status = 200, description = "The template workbook",
        content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = Problem)))]
pub async fn template_xlsx(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<TemplateParams>,
) -> Result<Response, ApiError> {
    template(&state, &actor, &params, ResultFormat::Xlsx).await
}

/// The users template as CSV: the header row of machine keys.
#[utoipa::path(get, path = "/api/v1/bulk/templates/users.csv", tag = "bulk", params(TemplateParams),
    responses((status = 200, description = "The template", content(("text/csv"))),
        (status = 403, body = Problem)))]
pub async fn template_csv(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<TemplateParams>,
) -> Result<Response, ApiError> {
    template(&state, &actor, &params, ResultFormat::Csv).await
}

async fn template(
    state: &AppState,
    actor: &Actor,
    params: &TemplateParams,
    format: ResultFormat,
) -> Result<Response, ApiError> {
    let lang = params.lang.as_deref().unwrap_or("en");
    let bytes = state.cadre.bulk_template(actor, lang, format).await?;
    Ok(file_response(
        bytes,
        format.content_type(),
        &format!("users.{}", format.extension()),
    ))
}

/// Body of a slip sheet download.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlipRequest {
    /// The `slip_key` the upload answered with.
    pub key: String,
    /// The sheet's language: en (default), fr or pt.
    pub lang: Option<String>,
}

/// The slip sheet of a job with `credential=generate`, as a PDF to print and cut.
///
/// Only the uploader, with the `slip_key` of the upload, once the job has finished;
/// once only (the slips are destroyed as they are handed over), within 24 hours.
#[utoipa::path(post, path = "/api/v1/bulk/jobs/{id}/slips.pdf", tag = "bulk", params(("id" = String, Path)),
    request_body = SlipRequest,
    responses((status = 200, description = "The slip sheet", content(("application/pdf"))),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem),
        (status = 422, body = Problem)))]
pub async fn slips_pdf(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SlipRequest>,
) -> Result<Response, ApiError> {
    slip_sheet(&state, &actor, &meta, &id, &body, SlipFormat::Pdf).await
}

/// The slip sheet of a job with `credential=generate`, as a page to print.
///
/// The same rules as the PDF: one download of either form.
#[utoipa::path(post, path = "/api/v1/bulk/jobs/{id}/slips.html", tag = "bulk", params(("id" = String, Path)),
    request_body = SlipRequest,
    responses((status = 200, description = "The slip sheet", content(("text/html"))),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem),
        (status = 422, body = Problem)))]
pub async fn slips_html(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SlipRequest>,
) -> Result<Response, ApiError> {
    slip_sheet(&state, &actor, &meta, &id, &body, SlipFormat::Html).await
}

async fn slip_sheet(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    id: &str,
    body: &SlipRequest,
    format: SlipFormat,
) -> Result<Response, ApiError> {
    let lang = crate::ui::i18n::Lang::from_code(body.lang.as_deref().unwrap_or("en"))
        .unwrap_or(crate::ui::i18n::Lang::En);
    let bytes = slip_sheet_bytes(state, actor, meta, id, &body.key, format, lang).await?;
    Ok(slip_response(bytes, format))
}

/// Takes a job's slips and renders them: shared by the API and the web page.
pub(crate) async fn slip_sheet_bytes(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    id: &str,
    key: &str,
    format: SlipFormat,
    lang: crate::ui::i18n::Lang,
) -> Result<Vec<u8>, ServiceError> {
    let slips = state.cadre.take_bulk_slips(actor, meta, id, key).await?;
    let labels = crate::ui::bulk::slip_labels(lang);
    tokio::task::spawn_blocking(move || render_slips(&slips, format, &labels))
        .await
        .map_err(|e| ServiceError::Internal(format!("rendering slips: {e}")))?
}

/// A sheet as a download nobody may keep a copy of on the way.
pub(crate) fn slip_response(bytes: Vec<u8>, format: SlipFormat) -> Response {
    let mut response = file_response(
        bytes,
        format.content_type(),
        &format!("slips.{}", format.extension()),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::upload_name;

    #[test]
    fn upload_names_lose_what_could_hide_or_reorder_them() {
        assert_eq!(upload_name(Some("users.csv")), "users.csv");
        assert_eq!(upload_name(Some("../../etc/passwd")), "../../etc/passwd");
        assert_eq!(upload_name(Some("a\tb\u{85}c.csv")), "abc.csv");
        assert_eq!(upload_name(Some("users\u{202E}vsc.exe")), "usersvsc.exe");
        assert_eq!(upload_name(Some(" \u{2066}\t ")), "upload");
        assert_eq!(upload_name(None), "upload");
    }
}
