//! Lifecycle pages: deactivate, reactivate, replace a worker, assign campaigns. Plain
//! forms answered with 303 redirects, usable without JavaScript; every decision is the
//! service's, a page only shows it.

use std::collections::HashSet;

use askama::Template;
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cadre_domain::master_data::ListItem;
use cadre_domain::{Action, BoundaryPath, FieldError, Scope, ValidationErrors};
use cadre_service::assignments::{AssignmentInput, AssignmentView, EndAssignment, MoveAssignment};
use cadre_service::boundaries::{BoundaryFilter, BoundaryView};
use cadre_service::campaigns::{CampaignFilter, CampaignView};
use cadre_service::documents::MAX_DOCUMENT_BYTES;
use cadre_service::replacement::{ReplaceRequest, Replacement};
use cadre_service::status::{DeactivateRequest, ReactivateRequest};
use cadre_service::users::{Credential, NewUser, UserFilter, UserView};
use cadre_service::{Actor, ServiceError};

use super::i18n::Lang;
use super::pages::{error_page, render, service_error_page, Frame};
use super::session::UiSession;
use crate::extract::Meta;
use crate::AppState;

/// Most boundaries a picker lists; anything else is typed as a code.
const PICKER_CAP: usize = 300;

// ---------------------------------------------------------------- shared pieces

/// One message of the error summary; `field` is the id of the input it is about, empty
/// for a message about the whole form.
pub struct ErrorItem {
    pub field: String,
    pub message: String,
}

/// The errors of one form, in the visitor's language.
#[derive(Default)]
pub struct Errors {
    items: Vec<ErrorItem>,
}

impl Errors {
    pub fn has(&self, field: &str) -> bool {
        self.items.iter().any(|e| e.field == field)
    }

    /// The messages about one field, as one sentence.
    pub fn get(&self, field: &str) -> String {
        let mut messages: Vec<&str> = Vec::new();
        for e in self.items.iter().filter(|e| e.field == field) {
            if !messages.contains(&e.message.as_str()) {
                messages.push(&e.message);
            }
        }
        messages.join(" ")
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn items(&self) -> &[ErrorItem] {
        &self.items
    }

    fn add(&mut self, field: &str, message: String) {
        self.items.push(ErrorItem {
            field: field.to_owned(),
            message,
        });
    }

    /// The service's field errors, each placed on the input `place` names (or on the
    /// whole form when it names none).
    fn from_service(lang: Lang, errors: ValidationErrors, place: impl Fn(&str) -> String) -> Self {
        let mut out = Errors::default();
        for e in errors.into_errors() {
            let field = place(&e.field);
            let message = field_message(lang, &e);
            if field.is_empty() {
                // No input of the form shows it: say which value of the request it is.
                out.add("", format!("{}: {message}", e.field));
            } else {
                out.add(&field, message);
            }
        }
        out
    }
}

/// Error codes with a message of their own in the catalogue (`life-err-…`).
const KNOWN_ERRORS: &[&str] = &[
    "required",
    "unknown_value",
    "invalid_date",
    "too_long",
    "invalid_characters",
    "unknown_boundary",
    "boundary_outside_campaign",
    "boundary_outside_scope",
    "date_order",
    "dates_outside_campaign",
    "unknown_campaign",
    "empty_file",
    "file_too_large",
    "unsupported_file_type",
    "unknown_document",
    "unknown_user",
    "same_user",
    "before_start",
    "invalid_mobile_number",
    "invalid_email",
    "unknown_role",
];

/// Refusals of the current state (409) with a message of their own (`life-conflict-…`).
const KNOWN_CONFLICTS: &[&str] = &[
    "already_deactivated",
    "deactivation_scheduled",
    "not_deactivated",
    "already_replaced",
    "user_deactivated",
    "replacement_deactivated",
    "already_assigned",
    "already_ended",
    "username_taken",
];

fn field_message(lang: Lang, e: &FieldError) -> String {
    if KNOWN_ERRORS.contains(&e.code.as_str()) {
        lang.t(&format!("life-err-{}", e.code.replace('_', "-")))
    } else {
        e.message.clone()
    }
}

fn conflict_message(lang: Lang, code: &str, message: &str) -> String {
    if KNOWN_CONFLICTS.contains(&code) {
        lang.t(&format!("life-conflict-{}", code.replace('_', "-")))
    } else {
        message.to_owned()
    }
}

/// What a form does with a refusal: show it on the form (validation, conflicts) or
/// answer with the error page (scope, permission, failures).
enum Refusal {
    Form(Errors, StatusCode),
    Page(Response),
}

fn refusal(lang: Lang, error: ServiceError, place: impl Fn(&str) -> String) -> Refusal {
    match error {
        ServiceError::Validation(errors) => Refusal::Form(
            Errors::from_service(lang, errors, place),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ServiceError::Conflict { code, message } => {
            let mut errors = Errors::default();
            errors.add("", conflict_message(lang, code, &message));
            Refusal::Form(errors, StatusCode::CONFLICT)
        }
        other => Refusal::Page(service_error_page(lang, other)),
    }
}

fn forbidden(lang: Lang) -> Response {
    error_page(
        lang,
        StatusCode::FORBIDDEN,
        "forbidden-title",
        "forbidden-text",
    )
}

fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// "Today" for pre-filled dates (UTC, as the service counts days).
fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

fn optional(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// An urlencoded form body, where a name may repeat (checkboxes).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Self {
        Fields(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// The person a page is about, as its heading shows them.
pub struct UserHead {
    pub id: String,
    pub username: String,
    pub name: String,
    pub active: bool,
    /// The day of a deactivation still scheduled, in the visitor's way of writing dates.
    pub scheduled: Option<String>,
    pub roles: String,
    pub jurisdictions: String,
}

impl UserHead {
    fn of(lang: Lang, u: &UserView) -> Self {
        let name = format!(
            "{} {}",
            u.first_name.clone().unwrap_or_default(),
            u.last_name.clone().unwrap_or_default()
        )
        .trim()
        .to_owned();
        let scheduled = u
            .status_history
            .iter()
            .chain(u.deactivation.iter())
            .find(|c| c.kind == "deactivation" && c.state == "scheduled")
            .map(|c| lang.date(&c.effective_date));
        Self {
            id: u.id.clone(),
            name: if name.is_empty() {
                u.username.clone()
            } else {
                name
            },
            username: u.username.clone(),
            active: u.status == "active",
            scheduled,
            roles: u.roles.join(", "),
            jurisdictions: u.jurisdictions.join(", "),
        }
    }

    pub fn back_link(&self) -> String {
        format!("/users/{}", self.id)
    }
}

/// A message about one person, by name.
fn named(lang: Lang, key: &str, name: &str) -> String {
    lang.t_with(key, &[("name", name.to_owned().into())])
}

async fn load_user(state: &AppState, session: &UiSession, id: &str) -> Result<UserView, Response> {
    state
        .cadre
        .get_user(&session.actor, id)
        .await
        .map_err(|e| service_error_page(session.lang, e))
}

async fn master_list(state: &AppState, session: &UiSession, list: &str) -> Vec<ListItem> {
    match state.cadre.master_data_view(&session.actor).await {
        Ok(view) => view.lists.get(list).cloned().unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "master data for a form");
            Vec::new()
        }
    }
}

// ---------------------------------------------------------------- deactivate

#[derive(Default)]
pub struct DeactivateValues {
    pub reason: String,
    pub effective_date: String,
    pub order_number: String,
    pub remarks: String,
    /// Documents already uploaded by an earlier try of this form, attached on success.
    pub document_ids: Vec<String>,
}

pub struct KeptDocument {
    pub id: String,
    pub filename: String,
}

#[derive(Template)]
#[template(path = "life_deactivate.html")]
pub struct DeactivatePage {
    pub f: Frame,
    pub user: UserHead,
    pub reasons: Vec<ListItem>,
    pub v: DeactivateValues,
    pub kept: Vec<KeptDocument>,
    pub errors: Errors,
    pub max_mb: usize,
}

impl DeactivatePage {
    pub fn named(&self, key: &str) -> String {
        named(self.f.lang, key, &self.user.name)
    }

    pub fn scheduled_text(&self, date: &str) -> String {
        self.f.lang.t_with(
            "life-deactivation-scheduled",
            &[("date", date.to_owned().into())],
        )
    }

    pub fn documents_hint(&self) -> String {
        self.f.lang.t_with(
            "life-documents-hint",
            &[("mb", (self.max_mb as i64).into())],
        )
    }
}

async fn deactivate_view(
    state: &AppState,
    session: &UiSession,
    id: &str,
    v: DeactivateValues,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let user = match load_user(state, session, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let kept = if v.document_ids.is_empty() {
        Vec::new()
    } else {
        state
            .cadre
            .list_documents(&session.actor, id)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|d| d.status_change_id.is_none() && v.document_ids.contains(&d.id))
            .map(|d| KeptDocument {
                id: d.id,
                filename: d.filename,
            })
            .collect()
    };
    let page = DeactivatePage {
        f: Frame::of(session),
        user: UserHead::of(session.lang, &user),
        reasons: master_list(state, session, "deactivation_reasons").await,
        v,
        kept,
        errors,
        max_mb: MAX_DOCUMENT_BYTES / (1024 * 1024),
    };
    render(&page, status)
}

pub async fn deactivate_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = session.actor.require(Action::UserDeactivate) {
        return service_error_page(session.lang, e);
    }
    let v = DeactivateValues {
        effective_date: today(),
        ..DeactivateValues::default()
    };
    deactivate_view(&state, &session, &id, v, Errors::default(), StatusCode::OK).await
}

fn deactivate_field(field: &str) -> String {
    match field {
        "reason" | "effective_date" | "order_number" | "remarks" => field.to_owned(),
        "document_ids" | "file" => "documents".to_owned(),
        _ => String::new(),
    }
}

pub async fn deactivate_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let lang = session.lang;
    // Without a readable form there is no CSRF token either.
    let Ok(mut multipart) = multipart else {
        return forbidden(lang);
    };
    let mut csrf_ok = false;
    let mut v = DeactivateValues::default();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut errors = Errors::default();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if csrf_ok && e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                errors.add("documents", lang.t("life-err-file-too-large"));
                break;
            }
            Err(_) if csrf_ok => {
                errors.add("documents", lang.t("life-err-upload-broken"));
                break;
            }
            Err(_) => return forbidden(lang),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "_csrf" {
            let token = field.text().await.unwrap_or_default();
            if let Some(refused) = session.refuse_bad_csrf(&token) {
                return refused;
            }
            csrf_ok = true;
            continue;
        }
        // Nothing of the form is read, let alone stored, before the token.
        if !csrf_ok {
            return forbidden(lang);
        }
        if name == "documents" {
            let filename = field.file_name().unwrap_or("").to_owned();
            let mut content = Vec::new();
            let mut too_large = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if content.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                            too_large = true;
                            content.clear();
                        } else if !too_large {
                            content.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        too_large = true;
                        break;
                    }
                }
            }
            if too_large {
                errors.add(
                    "documents",
                    format!("{filename}: {}", lang.t("life-err-file-too-large")),
                );
            } else if !(filename.is_empty() && content.is_empty()) {
                // A file input left empty still sends an empty, nameless part.
                files.push((filename, content));
            }
            continue;
        }
        let text = field.text().await.unwrap_or_default();
        match name.as_str() {
            "reason" => v.reason = text,
            "effective_date" => v.effective_date = text,
            "order_number" => v.order_number = text,
            "remarks" => v.remarks = text,
            "document_ids" if !text.trim().is_empty() => v.document_ids.push(text.trim().into()),
            _ => {}
        }
    }
    if !csrf_ok {
        return forbidden(lang);
    }
    // Upload first, so that a correction of another field never costs a second upload
    // over a slow network: the uploaded documents are kept on the form.
    for (filename, content) in files {
        match state
            .cadre
            .upload_document(&session.actor, &meta, &id, &filename, content)
            .await
        {
            Ok(doc) => v.document_ids.push(doc.id),
            Err(ServiceError::Validation(errs)) => {
                for e in errs.errors() {
                    errors.add(
                        "documents",
                        format!("{filename}: {}", field_message(lang, e)),
                    );
                }
            }
            Err(other) => return service_error_page(lang, other),
        }
    }
    if !errors.is_empty() {
        return deactivate_view(
            &state,
            &session,
            &id,
            v,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let request = DeactivateRequest {
        reason: v.reason.trim().to_owned(),
        effective_date: optional(&v.effective_date),
        order_number: optional(&v.order_number),
        remarks: optional(&v.remarks),
        document_ids: v.document_ids.clone(),
    };
    match state
        .cadre
        .deactivate_user(&session.actor, &meta, &id, request)
        .await
    {
        Ok(user) => see_other(&format!("/users/{}", user.id)),
        Err(e) => match refusal(lang, e, deactivate_field) {
            Refusal::Form(errors, status) => {
                deactivate_view(&state, &session, &id, v, errors, status).await
            }
            Refusal::Page(r) => r,
        },
    }
}

// ---------------------------------------------------------------- reactivate

#[derive(Deserialize, Default)]
pub struct ReactivateForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    remarks: String,
}

#[derive(Template)]
#[template(path = "life_reactivate.html")]
pub struct ReactivatePage {
    pub f: Frame,
    pub user: UserHead,
    pub reasons: Vec<ListItem>,
    pub reason: String,
    pub remarks: String,
    pub errors: Errors,
}

impl ReactivatePage {
    pub fn named(&self, key: &str) -> String {
        named(self.f.lang, key, &self.user.name)
    }

    pub fn cancels_text(&self, date: &str) -> String {
        self.f.lang.t_with(
            "life-reactivate-cancels",
            &[("date", date.to_owned().into())],
        )
    }
}

async fn reactivate_view(
    state: &AppState,
    session: &UiSession,
    id: &str,
    form: ReactivateForm,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let user = match load_user(state, session, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let page = ReactivatePage {
        f: Frame::of(session),
        user: UserHead::of(session.lang, &user),
        reasons: master_list(state, session, "reactivation_reasons").await,
        reason: form.reason,
        remarks: form.remarks,
        errors,
    };
    render(&page, status)
}

pub async fn reactivate_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = session.actor.require(Action::UserDeactivate) {
        return service_error_page(session.lang, e);
    }
    reactivate_view(
        &state,
        &session,
        &id,
        ReactivateForm::default(),
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn reactivate_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form: ReactivateForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    let request = ReactivateRequest {
        reason: form.reason.trim().to_owned(),
        remarks: optional(&form.remarks),
    };
    match state
        .cadre
        .reactivate_user(&session.actor, &meta, &id, request)
        .await
    {
        Ok(user) => see_other(&format!("/users/{}", user.id)),
        Err(e) => match refusal(session.lang, e, |f| match f {
            "reason" | "remarks" => f.to_owned(),
            _ => String::new(),
        }) {
            Refusal::Form(errors, status) => {
                reactivate_view(&state, &session, &id, form, errors, status).await
            }
            Refusal::Page(r) => r,
        },
    }
}

// ---------------------------------------------------------------- replace

#[derive(Default)]
pub struct ReplaceValues {
    /// `new` or `existing`.
    pub mode: String,
    pub first_name: String,
    pub last_name: String,
    pub mobile_number: String,
    pub gender: String,
    pub email: String,
    pub employment_type: String,
    pub department: String,
    pub correspondence_address: String,
    pub existing_username: String,
    pub effective_date: String,
    pub reason: String,
    pub order_number: String,
    pub remarks: String,
}

impl ReplaceValues {
    fn from_fields(fields: &Fields) -> Self {
        Self {
            mode: if fields.one("mode") == "existing" {
                "existing".into()
            } else {
                "new".into()
            },
            first_name: fields.one("first_name"),
            last_name: fields.one("last_name"),
            mobile_number: fields.one("mobile_number"),
            gender: fields.one("gender"),
            email: fields.one("email"),
            employment_type: fields.one("employment_type"),
            department: fields.one("department"),
            correspondence_address: fields.one("correspondence_address"),
            existing_username: fields.one("existing_username"),
            effective_date: fields.one("effective_date"),
            reason: match fields.one("reason") {
                r if r.trim().is_empty() => "REPLACED".into(),
                r => r,
            },
            order_number: fields.one("order_number"),
            remarks: fields.one("remarks"),
        }
    }
}

/// An assignment as a sentence of the page.
pub struct AssignmentLine {
    pub id: String,
    pub campaign: String,
    pub places: String,
    pub from: String,
    pub till: String,
    pub status: String,
}

impl AssignmentLine {
    fn of(lang: Lang, a: &AssignmentView) -> Self {
        Self {
            id: a.id.clone(),
            campaign: a.campaign.clone(),
            places: a.boundaries.join(", "),
            from: lang.date(&a.from_date),
            till: lang.date(&a.till_date),
            status: lang.t(if a.status == "upcoming" {
                "life-status-upcoming"
            } else {
                "life-status-active"
            }),
        }
    }
}

fn is_open(a: &AssignmentView) -> bool {
    a.status != "ended" && a.ended_on.is_none()
}

#[derive(Template)]
#[template(path = "life_replace.html")]
pub struct ReplacePage {
    pub f: Frame,
    pub user: UserHead,
    pub v: ReplaceValues,
    pub genders: Vec<ListItem>,
    pub employment_types: Vec<ListItem>,
    pub departments: Vec<ListItem>,
    pub reasons: Vec<ListItem>,
    pub handed_over: Vec<AssignmentLine>,
    /// The person fields this deployment requires of every user.
    pub required: Vec<String>,
    pub errors: Errors,
}

impl ReplacePage {
    pub fn optional(&self, field: &str) -> bool {
        !self.required.iter().any(|r| r == field)
    }

    pub fn takeover_text(&self) -> String {
        let date = if self.v.effective_date.trim().is_empty() {
            today()
        } else {
            self.v.effective_date.trim().to_owned()
        };
        self.f.lang.t_with(
            "life-happens-takeover",
            &[("date", self.f.lang.date(&date).into())],
        )
    }

    pub fn named(&self, key: &str) -> String {
        named(self.f.lang, key, &self.user.name)
    }

    pub fn same_places_text(&self) -> String {
        self.f.lang.t_with(
            "life-new-worker-hint",
            &[
                ("name", self.user.name.clone().into()),
                ("areas", self.user.jurisdictions.clone().into()),
                ("roles", self.user.roles.clone().into()),
            ],
        )
    }
}

#[derive(Template)]
#[template(path = "life_replaced.html")]
pub struct ReplacedPage {
    pub f: Frame,
    pub old_name: String,
    pub new_id: String,
    pub new_username: String,
    pub password: String,
}

impl ReplacedPage {
    pub fn title(&self) -> String {
        named(self.f.lang, "life-replaced-title", &self.old_name)
    }

    pub fn password_title(&self) -> String {
        self.f.lang.t_with(
            "life-password-title",
            &[("username", self.new_username.clone().into())],
        )
    }

    pub fn open_text(&self) -> String {
        self.f.lang.t_with(
            "life-open-new-user",
            &[("username", self.new_username.clone().into())],
        )
    }
}

async fn replace_view(
    state: &AppState,
    session: &UiSession,
    id: &str,
    v: ReplaceValues,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let user = match load_user(state, session, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (lists, required) = match state.cadre.master_data_view(&session.actor).await {
        Ok(view) => (view.lists, view.required_fields),
        Err(e) => return service_error_page(session.lang, e),
    };
    let list = |name: &str| lists.get(name).cloned().unwrap_or_default();
    let page = ReplacePage {
        f: Frame::of(session),
        user: UserHead::of(session.lang, &user),
        genders: list("genders"),
        employment_types: list("employment_types"),
        departments: list("departments"),
        reasons: list("deactivation_reasons"),
        handed_over: user
            .assignments
            .iter()
            .filter(|a| is_open(a))
            .map(|a| AssignmentLine::of(session.lang, a))
            .collect(),
        required,
        v,
        errors,
    };
    render(&page, status)
}

pub async fn replace_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    if let Err(e) = session.actor.require(Action::UserReplace) {
        return service_error_page(session.lang, e);
    }
    let v = ReplaceValues {
        mode: "new".into(),
        effective_date: today(),
        reason: "REPLACED".into(),
        ..ReplaceValues::default()
    };
    replace_view(&state, &session, &id, v, Errors::default(), StatusCode::OK).await
}

fn replace_field(field: &str) -> String {
    match field {
        "effective_date" | "reason" | "order_number" | "remarks" => field.to_owned(),
        "replacement" => "existing_username".to_owned(),
        other => match other.strip_prefix("replacement.") {
            Some(
                f @ ("first_name"
                | "last_name"
                | "mobile_number"
                | "gender"
                | "email"
                | "employment_type"
                | "department"
                | "correspondence_address"),
            ) => f.to_owned(),
            _ => String::new(),
        },
    }
}

/// The id of the user with exactly this username, among those the actor can see.
async fn user_by_username(
    state: &AppState,
    actor: &Actor,
    username: &str,
) -> Result<Option<String>, ServiceError> {
    let page = state
        .cadre
        .search_users(
            actor,
            UserFilter {
                username: Some(username.to_owned()),
                status: Some("all".into()),
                limit: Some(50),
                ..UserFilter::default()
            },
        )
        .await?;
    Ok(page
        .items
        .into_iter()
        .find(|u| u.username.eq_ignore_ascii_case(username))
        .map(|u| u.id))
}

pub async fn replace_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = session.lang;
    let fields = Fields::parse(&body);
    if let Some(refused) = session.refuse_bad_csrf(&fields.one("_csrf")) {
        return refused;
    }
    let v = ReplaceValues::from_fields(&fields);
    let replacement = if v.mode == "existing" {
        let username = v.existing_username.trim();
        let mut errors = Errors::default();
        let found = if username.is_empty() {
            errors.add("existing_username", lang.t("life-err-required"));
            None
        } else {
            match user_by_username(&state, &session.actor, username).await {
                Ok(Some(found)) => Some(found),
                Ok(None) => {
                    errors.add("existing_username", lang.t("life-err-unknown-user"));
                    None
                }
                Err(e) => return service_error_page(lang, e),
            }
        };
        match found {
            Some(found) => Replacement::Existing(found),
            None => {
                return replace_view(
                    &state,
                    &session,
                    &id,
                    v,
                    errors,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
        }
    } else {
        Replacement::New(Box::new(NewUser {
            credential: Some(Credential::Generate),
            first_name: optional(&v.first_name),
            last_name: optional(&v.last_name),
            mobile_number: optional(&v.mobile_number),
            gender: optional(&v.gender),
            email: optional(&v.email),
            employment_type: optional(&v.employment_type),
            department: optional(&v.department),
            correspondence_address: optional(&v.correspondence_address),
            ..NewUser::default()
        }))
    };
    let request = ReplaceRequest {
        replacement,
        effective_date: optional(&v.effective_date),
        reason: optional(&v.reason),
        order_number: optional(&v.order_number),
        remarks: optional(&v.remarks),
    };
    match state
        .cadre
        .replace_user(&session.actor, &meta, &id, request)
        .await
    {
        Ok(result) => match result.generated_password {
            Some(password) => {
                let page = ReplacedPage {
                    f: Frame::of(&session),
                    old_name: UserHead::of(lang, &result.old_user).name,
                    new_id: result.new_user.id,
                    new_username: result.new_user.username,
                    password,
                };
                render(&page, StatusCode::OK)
            }
            None => see_other(&format!("/users/{}", result.new_user.id)),
        },
        Err(e) => match refusal(lang, e, replace_field) {
            Refusal::Form(errors, status) => {
                replace_view(&state, &session, &id, v, errors, status).await
            }
            Refusal::Page(r) => r,
        },
    }
}

// ---------------------------------------------------------------- assignments

#[derive(Default)]
pub struct AssignValues {
    pub campaign: String,
    pub boundaries: Vec<String>,
    pub boundary_codes: String,
    pub from_date: String,
    pub till_date: String,
    pub roles: Vec<String>,
    pub move_from: String,
}

pub struct BoundaryOption {
    pub code: String,
    pub label: String,
    pub indent: usize,
    pub checked: bool,
}

pub struct RoleOption {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

/// An open assignment with its "End" form.
pub struct OpenAssignment {
    pub line: AssignmentLine,
    pub end_date: String,
    pub end_reason: String,
}

#[derive(Template)]
#[template(path = "life_assign.html")]
pub struct AssignPage {
    pub f: Frame,
    pub user: UserHead,
    pub campaigns: Vec<CampaignView>,
    pub chosen: Option<CampaignView>,
    pub options: Vec<BoundaryOption>,
    pub capped: bool,
    pub roles: Vec<RoleOption>,
    pub v: AssignValues,
    pub moving: Option<AssignmentLine>,
    pub open: Vec<OpenAssignment>,
    pub can_assign: bool,
    pub errors: Errors,
}

impl AssignPage {
    pub fn title(&self) -> String {
        let key = if self.moving.is_some() {
            "life-move-title"
        } else {
            "life-assign-title"
        };
        named(self.f.lang, key, &self.user.name)
    }

    pub fn move_note(&self) -> String {
        let campaign = self
            .moving
            .as_ref()
            .map(|m| m.campaign.clone())
            .unwrap_or_default();
        self.f
            .lang
            .t_with("life-move-note", &[("campaign", campaign.into())])
    }

    pub fn dates_hint(&self) -> String {
        match &self.chosen {
            Some(c) => self.f.lang.t_with(
                "life-dates-hint",
                &[
                    ("start", self.f.lang.date(&c.start_date).into()),
                    ("end", self.f.lang.date(&c.end_date).into()),
                ],
            ),
            None => String::new(),
        }
    }

    pub fn capped_text(&self) -> String {
        self.f
            .lang
            .t_with("life-boundaries-capped", &[("count", PICKER_CAP.into())])
    }

    pub fn is_chosen(&self, code: &str) -> bool {
        self.v.campaign == code
    }

    pub fn summary_of(&self, a: &AssignmentLine) -> String {
        self.f.lang.t_with(
            "life-assignment-summary",
            &[
                ("campaign", a.campaign.clone().into()),
                ("from", a.from.clone().into()),
                ("till", a.till.clone().into()),
            ],
        )
    }

    pub fn end_field(&self, a: &AssignmentLine, name: &str) -> String {
        format!("end-{}-{name}", a.id)
    }
}

fn path_of(b: &BoundaryView) -> BoundaryPath {
    let mut codes: Vec<&str> = b
        .ancestors
        .iter()
        .flatten()
        .map(|a| a.code.as_str())
        .collect();
    codes.push(&b.code);
    BoundaryPath::from_stored(format!("/{}/", codes.join("/")))
}

/// The boundaries of a campaign that lie in the actor's scope, each followed by its
/// children down to the lowest level, at most [`PICKER_CAP`] of them; and whether the
/// list was cut.
async fn boundary_options(
    state: &AppState,
    actor: &Actor,
    campaign: &CampaignView,
    lowest_level: Option<&str>,
) -> Result<(Vec<BoundaryView>, bool), ServiceError> {
    let mut starts: Vec<BoundaryView> = Vec::new();
    for code in &campaign.boundaries {
        let b = match state.cadre.get_boundary(actor, code).await {
            Ok(b) => b,
            Err(ServiceError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let path = path_of(&b);
        if actor.scope.covers(&path) {
            starts.push(b);
        } else if let Scope::Within(roots) = &actor.scope {
            // Parts of the actor's area inside a wider campaign boundary.
            for root in roots.iter().filter(|r| path.contains(r)) {
                if let Some(code) = root.codes().last() {
                    match state.cadre.get_boundary(actor, code).await {
                        Ok(inner) => starts.push(inner),
                        Err(ServiceError::NotFound) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
    starts.sort_by_key(path_of);
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<BoundaryView> = Vec::new();
    let mut stack: Vec<BoundaryView> = starts.into_iter().rev().collect();
    let mut capped = false;
    while let Some(b) = stack.pop() {
        if !seen.insert(b.code.clone()) {
            continue;
        }
        if out.len() >= PICKER_CAP {
            capped = true;
            break;
        }
        let leaf = lowest_level.is_some_and(|l| l.eq_ignore_ascii_case(&b.level));
        let code = b.code.clone();
        out.push(b);
        if leaf {
            continue;
        }
        let children = state
            .cadre
            .list_boundaries(
                actor,
                BoundaryFilter {
                    parent: Some(code),
                    limit: Some(500),
                    ..BoundaryFilter::default()
                },
            )
            .await?;
        stack.extend(children.items.into_iter().rev());
    }
    Ok((out, capped))
}

/// End-form values and errors kept for one assignment after a refused "End".
struct EndTry {
    assignment: String,
    date: String,
    reason: String,
}

async fn assign_view(
    state: &AppState,
    session: &UiSession,
    id: &str,
    mut v: AssignValues,
    end_try: Option<EndTry>,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let lang = session.lang;
    let actor = &session.actor;
    let user = match load_user(state, session, id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let assignments = match state.cadre.list_assignments(actor, id).await {
        Ok(a) => a,
        Err(e) => return service_error_page(lang, e),
    };
    let moving = if v.move_from.is_empty() {
        None
    } else {
        match assignments
            .iter()
            .find(|a| a.id == v.move_from && is_open(a))
        {
            Some(a) => Some(AssignmentLine::of(lang, a)),
            None => return service_error_page(lang, ServiceError::NotFound),
        }
    };
    let campaigns = match state
        .cadre
        .list_campaigns(
            actor,
            CampaignFilter {
                limit: Some(500),
                ..CampaignFilter::default()
            },
        )
        .await
    {
        Ok(page) => page.items,
        Err(e) => return service_error_page(lang, e),
    };
    let chosen = campaigns
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(v.campaign.trim()))
        .cloned();
    let mut options = Vec::new();
    let mut capped = false;
    if let Some(c) = &chosen {
        v.campaign = c.code.clone();
        let levels: Vec<ListItem> = match state.cadre.master_data_view(actor).await {
            Ok(view) => view
                .lists
                .get("boundary_levels")
                .cloned()
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let lowest = levels.last().map(|i| i.code.clone());
        let (found, cut) = match boundary_options(state, actor, c, lowest.as_deref()).await {
            Ok(found) => found,
            Err(e) => return service_error_page(lang, e),
        };
        capped = cut;
        let top = found.iter().map(|b| b.depth).min().unwrap_or(0);
        options = found
            .into_iter()
            .map(|b| BoundaryOption {
                checked: v.boundaries.contains(&b.code),
                indent: usize::try_from(b.depth - top).unwrap_or(0).min(5),
                label: format!(
                    "{} · {}",
                    b.name,
                    levels
                        .iter()
                        .find(|l| l.code == b.level)
                        .map_or(b.level.as_str(), |l| l.label.as_str())
                ),
                code: b.code,
            })
            .collect();
        // Checked codes the list does not show stay in the code field.
        let shown: HashSet<&str> = options.iter().map(|o| o.code.as_str()).collect();
        let extra: Vec<String> = v
            .boundaries
            .iter()
            .filter(|b| !shown.contains(b.as_str()))
            .cloned()
            .collect();
        if !extra.is_empty() {
            let mut codes: Vec<String> = split_codes(&v.boundary_codes);
            for e in extra {
                if !codes.contains(&e) {
                    codes.push(e);
                }
            }
            v.boundary_codes = codes.join(", ");
        }
    }
    let roles = match state.cadre.list_roles(actor).await {
        Ok(roles) => roles
            .into_iter()
            .filter(|r| r.field_role || v.roles.contains(&r.code))
            .map(|r| RoleOption {
                checked: v.roles.contains(&r.code),
                code: r.code,
                name: r.name,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let open = assignments
        .iter()
        .filter(|a| is_open(a))
        .map(|a| {
            let kept = end_try.as_ref().filter(|t| t.assignment == a.id);
            OpenAssignment {
                line: AssignmentLine::of(lang, a),
                end_date: kept.map(|t| t.date.clone()).unwrap_or_else(today),
                end_reason: kept.map(|t| t.reason.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let page = AssignPage {
        f: Frame::of(session),
        user: UserHead::of(lang, &user),
        campaigns,
        chosen,
        options,
        capped,
        roles,
        v,
        moving,
        open,
        can_assign: actor.can(Action::UserAssign),
        errors,
    };
    render(&page, status)
}

fn split_codes(text: &str) -> Vec<String> {
    text.split([',', ';', ' ', '\n', '\t'])
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

#[derive(Deserialize, Default)]
pub struct AssignQuery {
    campaign: Option<String>,
    move_from: Option<String>,
}

pub async fn assign_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Query(q): Query<AssignQuery>,
) -> Response {
    if let Err(e) = session.actor.require(Action::UserAssign) {
        return service_error_page(session.lang, e);
    }
    let mut v = AssignValues {
        campaign: q.campaign.unwrap_or_default(),
        move_from: q.move_from.unwrap_or_default().trim().to_owned(),
        ..AssignValues::default()
    };
    if !v.move_from.is_empty() {
        // Moving keeps the campaign roles and starts today.
        if let Ok(list) = state.cadre.list_assignments(&session.actor, &id).await {
            if let Some(a) = list.iter().find(|a| a.id == v.move_from) {
                v.roles = a.roles.clone();
                v.from_date = today();
            }
        }
    }
    assign_view(
        &state,
        &session,
        &id,
        v,
        None,
        Errors::default(),
        StatusCode::OK,
    )
    .await
}

fn assign_field(field: &str) -> String {
    match field {
        "campaign" | "from_date" | "till_date" => field.to_owned(),
        f if f.starts_with("boundaries") => "boundaries".to_owned(),
        f if f.starts_with("roles") => "roles".to_owned(),
        _ => String::new(),
    }
}

pub async fn assign_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let lang = session.lang;
    let fields = Fields::parse(&body);
    if let Some(refused) = session.refuse_bad_csrf(&fields.one("_csrf")) {
        return refused;
    }
    let v = AssignValues {
        campaign: fields.one("campaign").trim().to_owned(),
        boundaries: fields.all("boundaries"),
        boundary_codes: fields.one("boundary_codes"),
        from_date: fields.one("from_date"),
        till_date: fields.one("till_date"),
        roles: fields.all("roles"),
        move_from: fields.one("move_from").trim().to_owned(),
    };
    if fields.one("step") != "save" {
        // Step one: show the chosen campaign's boundaries.
        let mut errors = Errors::default();
        if v.campaign.is_empty() {
            errors.add("campaign", lang.t("life-err-unknown-campaign"));
        }
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return assign_view(&state, &session, &id, v, None, errors, status).await;
    }
    let mut boundaries = v.boundaries.clone();
    for code in split_codes(&v.boundary_codes) {
        if !boundaries.contains(&code) {
            boundaries.push(code);
        }
    }
    let result = if v.move_from.is_empty() {
        state
            .cadre
            .create_assignment(
                &session.actor,
                &meta,
                &id,
                AssignmentInput {
                    campaign: v.campaign.clone(),
                    boundaries,
                    from_date: optional(&v.from_date),
                    till_date: optional(&v.till_date),
                    roles: v.roles.clone(),
                },
            )
            .await
            .map(|_| ())
    } else {
        // Only an open assignment of this very user may be moved from this page.
        match state.cadre.list_assignments(&session.actor, &id).await {
            Ok(list) if list.iter().any(|a| a.id == v.move_from && is_open(a)) => {}
            Ok(_) => return service_error_page(lang, ServiceError::NotFound),
            Err(e) => return service_error_page(lang, e),
        }
        state
            .cadre
            .move_assignment(
                &session.actor,
                &meta,
                &v.move_from,
                MoveAssignment {
                    campaign: v.campaign.clone(),
                    boundaries,
                    from_date: optional(&v.from_date),
                    till_date: optional(&v.till_date),
                    roles: v.roles.clone(),
                    reason: None,
                },
            )
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => see_other(&format!("/users/{id}")),
        Err(e) => match refusal(lang, e, assign_field) {
            Refusal::Form(errors, status) => {
                assign_view(&state, &session, &id, v, None, errors, status).await
            }
            Refusal::Page(r) => r,
        },
    }
}

pub async fn end_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path((id, assignment)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let lang = session.lang;
    let fields = Fields::parse(&body);
    if let Some(refused) = session.refuse_bad_csrf(&fields.one("_csrf")) {
        return refused;
    }
    match state.cadre.list_assignments(&session.actor, &id).await {
        Ok(list) if list.iter().any(|a| a.id == assignment) => {}
        Ok(_) => return service_error_page(lang, ServiceError::NotFound),
        Err(e) => return service_error_page(lang, e),
    }
    let kept = EndTry {
        assignment: assignment.clone(),
        date: fields.one("date"),
        reason: fields.one("reason"),
    };
    let input = EndAssignment {
        date: optional(&kept.date),
        reason: optional(&kept.reason),
    };
    match state
        .cadre
        .end_assignment(&session.actor, &meta, &assignment, input)
        .await
    {
        Ok(_) => see_other(&format!("/users/{id}")),
        Err(e) => {
            let prefix = format!("end-{assignment}-");
            match refusal(lang, e, |f| match f {
                "date" | "reason" => format!("{prefix}{f}"),
                _ => String::new(),
            }) {
                Refusal::Form(errors, status) => {
                    assign_view(
                        &state,
                        &session,
                        &id,
                        AssignValues::default(),
                        Some(kept),
                        errors,
                        status,
                    )
                    .await
                }
                Refusal::Page(r) => r,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '*', '[', '}']) && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next())
            .collect()
    }

    #[test]
    fn every_lifecycle_message_exists_in_every_language() {
        let english = include_str!("../../locales/en/lifecycle.ftl");
        let keys = keys(english);
        assert!(keys.len() > 60, "{}", keys.len());
        assert!(keys.iter().all(|k| k.starts_with("life-")));
        for (code, source) in [
            ("pt", include_str!("../../locales/pt/lifecycle.ftl")),
            ("fr", include_str!("../../locales/fr/lifecycle.ftl")),
        ] {
            for key in &keys {
                assert!(
                    source.lines().any(|l| l.starts_with(&format!("{key} ="))),
                    "{code} lacks {key}"
                );
            }
        }
    }

    #[test]
    fn every_known_error_code_has_a_message() {
        let english = include_str!("../../locales/en/lifecycle.ftl");
        let keys = keys(english);
        for code in KNOWN_ERRORS {
            let key = format!("life-err-{}", code.replace('_', "-"));
            assert!(keys.contains(&key.as_str()), "{key}");
        }
        for code in KNOWN_CONFLICTS {
            let key = format!("life-conflict-{}", code.replace('_', "-"));
            assert!(keys.contains(&key.as_str()), "{key}");
        }
    }

    #[test]
    fn messages_are_translated() {
        assert_eq!(Lang::Pt.t("life-remarks"), "Observações");
        assert_eq!(Lang::Fr.t("life-remarks"), "Remarques");
    }

    #[test]
    fn errors_of_the_service_land_on_the_inputs_of_the_form() {
        assert_eq!(replace_field("replacement.first_name"), "first_name");
        assert_eq!(replace_field("replacement"), "existing_username");
        assert_eq!(replace_field("replacement.roles[0]"), "");
        assert_eq!(assign_field("boundaries[2]"), "boundaries");
        assert_eq!(deactivate_field("document_ids"), "documents");
        assert_eq!(split_codes("ULONGUE, Zobue;X "), ["ULONGUE", "Zobue", "X"]);
    }
}
