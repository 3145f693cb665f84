//! The bulk pages: upload a spreadsheet (or close a campaign) as a job, then follow its
//! progress. Without JavaScript the job page refreshes itself while the job runs; with
//! it, the progress bar follows the job's JSON and the page reloads once it is done.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use cadre_domain::master_data::ListItem;
use cadre_domain::Action;
use cadre_service::bulk::{BulkJobView, NewBulkJob, SlipFormat, SlipLabels, MAX_FILE_BYTES};
use cadre_service::campaigns::CampaignFilter;
use cadre_service::ServiceError;

use super::admin::{Choice, Errors};
use super::i18n::Lang;
use super::pages::{render, service_error_page, Frame};
use super::session::UiSession;
use crate::extract::Meta;
use crate::AppState;

/// The operations offered, in the order a campaign meets them.
const OPERATIONS: [&str; 5] = ["create", "upsert", "assign", "replace", "deactivate"];
const CREDENTIALS: [&str; 3] = ["link", "generate", "none"];
/// Error codes with their own message in the catalogues (`bulk-error-<code>`).
const TRANSLATED: [&str; 9] = [
    "file_too_large",
    "unsupported_format",
    "too_many_rows",
    "too_many_cells",
    "formula_not_allowed",
    "zip_bomb",
    "empty_file",
    "unknown_campaign",
    "nobody_to_deactivate",
];

fn explain(lang: Lang, code: &str, message: &str) -> String {
    if TRANSLATED.contains(&code) {
        lang.t(&format!("bulk-error-{}", code.replace('_', "-")))
    } else {
        message.to_owned()
    }
}

/// What was chosen in the upload form, kept when it is refused.
#[derive(Default)]
pub struct Chosen {
    pub operation: String,
    pub credential: String,
    pub dry_run: bool,
    pub campaign: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
pub struct BulkPage {
    pub f: Frame,
    pub operations: Vec<Choice>,
    pub credentials: Vec<Choice>,
    pub campaigns: Vec<Choice>,
    pub reasons: Vec<ListItem>,
    pub chosen: Chosen,
    pub errors: Errors,
    pub file_hint: String,
}

async fn bulk_page(
    state: &AppState,
    session: &UiSession,
    chosen: Chosen,
    errors: Errors,
) -> BulkPage {
    let lang = session.lang;
    let choices = |codes: &[&str], prefix: &str| -> Vec<Choice> {
        codes
            .iter()
            .map(|c| Choice {
                code: (*c).to_owned(),
                label: lang.t(&format!("{prefix}{c}")),
            })
            .collect()
    };
    let filter = CampaignFilter {
        limit: Some(200),
        ..CampaignFilter::default()
    };
    let campaigns = match state.cadre.list_campaigns(&session.actor, filter).await {
        Ok(page) => page
            .items
            .into_iter()
            .map(|c| Choice {
                label: format!("{} — {}", c.code, c.name),
                code: c.code,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let reasons = match state.cadre.master_data_view(&session.actor).await {
        Ok(view) => view
            .lists
            .get("deactivation_reasons")
            .cloned()
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    BulkPage {
        f: Frame::of(session),
        operations: choices(&OPERATIONS, "bulk-operation-"),
        credentials: choices(&CREDENTIALS, "bulk-credential-"),
        campaigns,
        reasons,
        chosen,
        errors,
        file_hint: lang.t_with(
            "bulk-file-hint",
            &[(
                "megabytes",
                // The stricter of the jobs' own limit and the server's body limit.
                i64::try_from(MAX_FILE_BYTES.min(state.config.max_body_bytes) / (1024 * 1024))
                    .unwrap_or(0)
                    .into(),
            )],
        ),
    }
}

pub async fn page(State(state): State<AppState>, session: UiSession) -> Response {
    if let Err(e) = session.actor.require(Action::BulkRun) {
        return service_error_page(session.lang, e);
    }
    let chosen = Chosen {
        operation: "create".into(),
        credential: "link".into(),
        ..Chosen::default()
    };
    render(
        &bulk_page(&state, &session, chosen, Errors::default()).await,
        StatusCode::OK,
    )
}

/// The upload form, read whole: the file and the options.
async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
) -> Option<(String, NewBulkJob)> {
    let mut parts = multipart.ok()?;
    let mut csrf = String::new();
    let mut job = NewBulkJob::default();
    while let Some(field) = parts.next_field().await.ok()? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            job.file_name = crate::api::bulk::upload_name(field.file_name());
            job.content = field.bytes().await.ok()?.to_vec();
            continue;
        }
        let value = field.text().await.ok()?;
        match name.as_str() {
            "_csrf" => csrf = value,
            "operation" => job.operation = Some(value),
            "credential" => job.credential = Some(value),
            "dry_run" => job.dry_run = value == "on" || value == "true",
            "campaign" => job.campaign = Some(value),
            "deactivation_reason" => job.reason = Some(value),
            _ => {}
        }
    }
    Some((csrf, job))
}

pub async fn submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let lang = session.lang;
    let Some((csrf, upload)) = read_form(multipart).await else {
        let mut errors = Errors::default();
        errors.add("file", lang.t("bulk-error-file-too-large"));
        let page = bulk_page(&state, &session, Chosen::default(), errors).await;
        return render(&page, StatusCode::PAYLOAD_TOO_LARGE);
    };
    if let Some(refused) = session.refuse_bad_csrf(&csrf) {
        return refused;
    }
    let chosen = Chosen {
        operation: upload.operation.clone().unwrap_or_default(),
        credential: upload.credential.clone().unwrap_or_default(),
        dry_run: upload.dry_run,
        campaign: upload.campaign.clone().unwrap_or_default(),
        reason: upload.reason.clone().unwrap_or_default(),
    };
    let closing = !chosen.campaign.trim().is_empty();
    if upload.content.is_empty() && !closing {
        let mut errors = Errors::default();
        errors.add("file", lang.t("bulk-error-no-file"));
        let page = bulk_page(&state, &session, chosen, errors).await;
        return render(&page, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match state
        .cadre
        .create_bulk_job(&session.actor, &meta, upload)
        .await
    {
        // The slip key is shown on this answer only: the server does not keep it.
        Ok(job) if job.slip_key.is_some() => job_page(&session, job, None, StatusCode::OK),
        Ok(job) => Redirect::to(&format!("/bulk/jobs/{}", job.id)).into_response(),
        Err(ServiceError::Validation(found)) => {
            let mut errors = Errors::default();
            for e in found.errors() {
                errors.add(e.field.clone(), explain(lang, &e.code, &e.message));
            }
            let page = bulk_page(&state, &session, chosen, errors).await;
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => service_error_page(lang, e),
    }
}

/// One error of a job, as the job page lists it.
pub struct ErrorRow {
    pub row: String,
    pub column: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "bulk_job.html")]
pub struct JobPage {
    pub f: Frame,
    pub job: BulkJobView,
    pub operation: String,
    pub status: String,
    pub running: bool,
    pub processed: String,
    pub total: String,
    pub succeeded: String,
    pub failed: String,
    pub errors: Vec<ErrorRow>,
    /// Why the slip sheet could not be taken, after a try.
    pub slip_error: Option<String>,
    pub slips_until: String,
}

pub async fn job(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    match state.cadre.get_bulk_job(&session.actor, &id).await {
        Ok(job) => job_page(&session, job, None, StatusCode::OK),
        Err(e) => service_error_page(session.lang, e),
    }
}

fn job_page(
    session: &UiSession,
    job: BulkJobView,
    slip_error: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = session.lang;
    let errors = job
        .errors_preview
        .iter()
        .map(|e| ErrorRow {
            row: lang.number(e.row),
            column: e.column.clone(),
            message: explain(lang, &e.code, &e.message),
        })
        .collect();
    let page = JobPage {
        f: Frame::of(session),
        operation: lang.t(&format!("bulk-operation-{}", job.operation)),
        status: lang.t(&format!("bulk-status-{}", job.status)),
        running: job.status == "queued" || job.status == "running",
        processed: lang.number(job.processed_rows),
        total: lang.number(job.total_rows),
        succeeded: lang.number(job.succeeded),
        failed: lang.number(job.failed),
        errors,
        slips_until: job
            .slip_sheet
            .as_ref()
            .map(|s| lang.date_time(&s.expires_at))
            .unwrap_or_default(),
        slip_error,
        job,
    };
    render(&page, status)
}

/// The words of a slip sheet in `lang`.
pub fn slip_labels(lang: Lang) -> SlipLabels {
    SlipLabels {
        language: lang.code().to_owned(),
        title: lang.t("bulk-slip-title"),
        username: lang.t("bulk-slip-username"),
        password: lang.t("bulk-slip-password"),
        scan: lang.t("bulk-slip-scan"),
        change: lang.t("bulk-slip-change"),
    }
}

/// The slip sheet form: the key and the wanted format.
#[derive(serde::Deserialize)]
pub struct SlipForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub format: String,
}

pub async fn slips(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Form(form): Form<SlipForm>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    let lang = session.lang;
    let format = if form.format == "html" {
        SlipFormat::Html
    } else {
        SlipFormat::Pdf
    };
    let taken = crate::api::bulk::slip_sheet_bytes(
        &state,
        &session.actor,
        &meta,
        &id,
        &form.key,
        format,
        lang,
    )
    .await;
    let (status, why) = match taken {
        Ok(bytes) => return crate::api::bulk::slip_response(bytes, format),
        Err(ServiceError::Validation(found)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            found
                .errors()
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(ServiceError::Conflict { message, .. }) => (StatusCode::CONFLICT, message),
        Err(ServiceError::Gone { message, .. }) => (StatusCode::GONE, message),
        Err(e) => return service_error_page(lang, e),
    };
    match state.cadre.get_bulk_job(&session.actor, &id).await {
        Ok(job) => job_page(&session, job, Some(why), status),
        Err(e) => service_error_page(lang, e),
    }
}
