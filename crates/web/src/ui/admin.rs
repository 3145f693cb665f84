//! Administration pages: roles, master data, boundaries, campaigns, the audit log and
//! the dashboard. As elsewhere, the use cases decide every permission; a page only hides
//! what the person cannot use, and forms work without JavaScript (post, then 303).

use askama::Template;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cadre_domain::action::SYSTEM_ADMIN;
use cadre_domain::master_data::{ListItem, LIST_NAMES};
use cadre_domain::{Action, ValidationErrors};
use cadre_service::audit::AuditFilter;
use cadre_service::boundaries::{BoundaryFilter, BoundaryView, ImportSummary};
use cadre_service::campaigns::{CampaignFilter, CampaignInput, CampaignPatch, CampaignView};
use cadre_service::roles::RoleInput;
use cadre_service::users::UserFilter;
use cadre_service::ServiceError;

use super::charts::{bar_chart, Bar};
use super::i18n::Lang;
use super::pages::{render, service_error_page, Frame};
use super::session::{urlencode, UiSession};
use crate::extract::Meta;
use crate::AppState;

// ---------------------------------------------------------------- shared pieces

/// A form's errors, by field, in the reader's language.
#[derive(Default)]
pub struct Errors {
    list: Vec<(String, String)>,
}

impl Errors {
    pub(crate) fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.list.push((field.into(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The message of one field, if it has one.
    pub fn get(&self, field: &str) -> Option<String> {
        let messages: Vec<&str> = self
            .list
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }

    pub fn has(&self, field: &str) -> bool {
        self.list.iter().any(|(f, _)| f == field)
    }

    pub fn all(&self) -> &[(String, String)] {
        &self.list
    }
}

/// The Fluent key of a service error code this interface explains itself.
fn error_key(code: &str) -> Option<&'static str> {
    Some(match code {
        "invalid_code" => "admin-err-invalid-code",
        "duplicate_code" => "admin-err-duplicate-code",
        "invalid_length" => "admin-err-invalid-length",
        "required" => "admin-err-required",
        "unknown_action" => "admin-err-unknown-action",
        "unknown_value" => "admin-err-unknown-value",
        "invalid_date" => "admin-err-invalid-date",
        "date_order" => "admin-err-date-order",
        "unknown_boundary" => "admin-err-unknown-boundary",
        "boundary_outside_scope" => "admin-err-outside-scope",
        "unknown_campaign" => "admin-err-unknown-campaign",
        "outside_parent_window" => "admin-err-outside-parent-window",
        "boundary_outside_parent" => "admin-err-outside-parent",
        "cycle" => "admin-err-cycle",
        "level_order" => "admin-err-level-order",
        "parent_failed" => "admin-err-parent-failed",
        "parent_change_unsupported" => "admin-err-parent-change",
        "missing_columns" => "admin-err-missing-columns",
        _ => return None,
    })
}

/// A service error message in the reader's language when we know its code, else as
/// the service wrote it.
fn explain(lang: Lang, code: &str, message: &str) -> String {
    error_key(code).map_or_else(|| message.to_owned(), |k| lang.t(k))
}

fn errors_of(lang: Lang, errors: &ValidationErrors) -> Errors {
    let mut out = Errors::default();
    for e in errors.errors() {
        out.add(e.field.clone(), explain(lang, &e.code, &e.message));
    }
    out
}

fn forbidden() -> ServiceError {
    ServiceError::forbidden("forbidden", "not allowed")
}

/// `2026-03-01T08:05:09.000000Z` as the language writes a date, with the UTC time.
fn time_of(lang: Lang, stamp: &str) -> String {
    let (date, rest) = stamp.split_once('T').unwrap_or((stamp, ""));
    let hm = rest.get(..5).unwrap_or("");
    if hm.is_empty() {
        lang.date(date)
    } else {
        format!("{} {hm} UTC", lang.date(date))
    }
}

fn clean(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The `_csrf` of a list of posted pairs.
fn csrf_in(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn value_in(pairs: &[(String, String)], key: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- roles

pub struct RoleLine {
    pub code: String,
    pub name: String,
    pub actions: String,
    pub builtin: bool,
    pub field_role: bool,
    pub editable: bool,
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    f: Frame,
    rows: Vec<RoleLine>,
    can_manage: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn roles(
    State(state): State<AppState>,
    session: UiSession,
    Query(q): Query<SavedQuery>,
) -> Response {
    let lang = session.lang;
    let roles = match state.cadre.list_roles(&session.actor).await {
        Ok(r) => r,
        Err(e) => return service_error_page(lang, e),
    };
    let can_manage = session.actor.can(Action::RoleManage);
    let rows = roles
        .into_iter()
        .map(|r| RoleLine {
            editable: can_manage && r.code != SYSTEM_ADMIN,
            actions: lang.number(r.actions.len() as i64),
            code: r.code,
            name: r.name,
            builtin: r.builtin,
            field_role: r.field_role,
        })
        .collect();
    let notice =
        clean(&q.saved).map(|code| lang.t_with("admin-role-saved", &[("code", code.into())]));
    render(
        &RolesPage {
            f: Frame::of(&session),
            rows,
            can_manage,
            notice,
        },
        StatusCode::OK,
    )
}

pub struct ActionBox {
    pub code: String,
    pub id: String,
    pub label: String,
    pub checked: bool,
}

pub struct ActionGroup {
    pub id: String,
    pub label: String,
    pub actions: Vec<ActionBox>,
}

#[derive(Template)]
#[template(path = "admin_role_form.html")]
struct RoleFormPage {
    f: Frame,
    is_new: bool,
    action_url: String,
    code: String,
    name: String,
    description: String,
    field_role: bool,
    groups: Vec<ActionGroup>,
    errors: Errors,
}

fn action_key(code: &str) -> String {
    format!("admin-action-{}", code.replace(['.', '_'], "-"))
}

fn action_groups(lang: Lang, checked: &[String]) -> Vec<ActionGroup> {
    let mut groups: Vec<ActionGroup> = Vec::new();
    for action in Action::ALL {
        let code = action.code();
        let prefix = code.split('.').next().unwrap_or(code);
        let item = ActionBox {
            code: code.to_owned(),
            id: format!("action-{}", code.replace(['.', '_'], "-")),
            label: lang.t(&action_key(code)),
            checked: checked.iter().any(|c| c == code),
        };
        match groups.iter_mut().find(|g| g.id == prefix) {
            Some(group) => group.actions.push(item),
            None => groups.push(ActionGroup {
                id: prefix.to_owned(),
                label: lang.t(&format!("admin-group-{}", prefix.replace('_', "-"))),
                actions: vec![item],
            }),
        }
    }
    groups
}

fn require_role_editing(session: &UiSession, code: Option<&str>) -> Result<(), ServiceError> {
    session.actor.require(Action::RoleManage)?;
    if code == Some(SYSTEM_ADMIN) {
        return Err(forbidden());
    }
    Ok(())
}

pub async fn role_new(session: UiSession) -> Response {
    if let Err(e) = require_role_editing(&session, None) {
        return service_error_page(session.lang, e);
    }
    let page = RoleFormPage {
        groups: action_groups(session.lang, &[]),
        f: Frame::of(&session),
        is_new: true,
        action_url: "/roles/new".into(),
        code: String::new(),
        name: String::new(),
        description: String::new(),
        field_role: false,
        errors: Errors::default(),
    };
    render(&page, StatusCode::OK)
}

pub async fn role_edit(
    State(state): State<AppState>,
    session: UiSession,
    Path(code): Path<String>,
) -> Response {
    if let Err(e) = require_role_editing(&session, Some(&code)) {
        return service_error_page(session.lang, e);
    }
    let role = match state.cadre.get_role(&session.actor, &code).await {
        Ok(r) => r,
        Err(e) => return service_error_page(session.lang, e),
    };
    let page = RoleFormPage {
        groups: action_groups(session.lang, &role.actions),
        f: Frame::of(&session),
        is_new: false,
        action_url: format!("/roles/{}/edit", urlencode(&role.code)),
        code: role.code,
        name: role.name,
        description: role.description,
        field_role: role.field_role,
        errors: Errors::default(),
    };
    render(&page, StatusCode::OK)
}

async fn role_save(
    state: AppState,
    session: UiSession,
    meta: cadre_service::RequestMeta,
    existing: Option<String>,
    pairs: Vec<(String, String)>,
) -> Response {
    let lang = session.lang;
    if let Some(refused) = session.refuse_bad_csrf(&csrf_in(&pairs)) {
        return refused;
    }
    if let Err(e) = require_role_editing(&session, existing.as_deref()) {
        return service_error_page(lang, e);
    }
    let actions: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "actions")
        .map(|(_, v)| v.clone())
        .collect();
    let code = existing
        .clone()
        .unwrap_or_else(|| value_in(&pairs, "code").trim().to_owned());
    let input = RoleInput {
        code: Some(code.clone()),
        name: value_in(&pairs, "name"),
        description: value_in(&pairs, "description"),
        field_role: pairs.iter().any(|(k, _)| k == "field_role"),
        actions: actions.clone(),
    };
    let form = |errors: Errors, status: StatusCode| {
        let page = RoleFormPage {
            groups: action_groups(lang, &actions),
            f: Frame::of(&session),
            is_new: existing.is_none(),
            action_url: existing.as_ref().map_or_else(
                || "/roles/new".to_owned(),
                |c| format!("/roles/{}/edit", urlencode(c)),
            ),
            code: code.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            field_role: input.field_role,
            errors,
        };
        render(&page, status)
    };
    let result = match &existing {
        None => {
            state
                .cadre
                .create_role(&session.actor, &meta, input.clone())
                .await
        }
        Some(c) => {
            state
                .cadre
                .update_role(&session.actor, &meta, c, input.clone())
                .await
        }
    };
    match result {
        Ok(role) => {
            Redirect::to(&format!("/roles?saved={}", urlencode(&role.code))).into_response()
        }
        Err(ServiceError::Validation(errors)) => {
            let mut shown = errors_of(lang, &errors);
            // Unknown actions cannot come from the checkboxes; say so once, at the top.
            shown.list.iter_mut().for_each(|(f, _)| {
                if f.starts_with("actions[") {
                    *f = "actions".into();
                }
            });
            form(shown, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(ServiceError::Conflict { code, message }) => {
            let mut shown = Errors::default();
            shown.add("code", explain(lang, code, &message));
            form(shown, StatusCode::CONFLICT)
        }
        Err(ServiceError::Forbidden {
            code: "privilege_escalation",
            ..
        }) => {
            let mut shown = Errors::default();
            shown.add("actions", lang.t("admin-err-escalation"));
            form(shown, StatusCode::FORBIDDEN)
        }
        Err(e) => service_error_page(lang, e),
    }
}

pub async fn role_create(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    role_save(state, session, meta, None, pairs).await
}

pub async fn role_update(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    role_save(state, session, meta, Some(code), pairs).await
}

// ---------------------------------------------------------------- master data

/// Empty rows offered under each list for new items.
const SPARE_ROWS: usize = 3;

pub struct ItemRow {
    pub index: usize,
    pub code: String,
    pub label: String,
    pub code_error: Option<String>,
    pub label_error: Option<String>,
}

pub struct ListSection {
    pub name: String,
    pub title: String,
    pub rows: Vec<ItemRow>,
    pub error: Option<String>,
    pub saved: bool,
    pub invalid: bool,
}

#[derive(Template)]
#[template(path = "admin_master_data.html")]
struct MasterDataPage {
    f: Frame,
    sections: Vec<ListSection>,
}

fn section(lang: Lang, name: &str, items: &[ListItem], saved: bool) -> ListSection {
    let mut rows: Vec<ItemRow> = items
        .iter()
        .enumerate()
        .map(|(index, item)| ItemRow {
            index,
            code: item.code.clone(),
            label: item.label.clone(),
            code_error: None,
            label_error: None,
        })
        .collect();
    for _ in 0..SPARE_ROWS {
        rows.push(ItemRow {
            index: rows.len(),
            code: String::new(),
            label: String::new(),
            code_error: None,
            label_error: None,
        });
    }
    ListSection {
        name: name.to_owned(),
        title: lang.t(&format!("admin-list-{}", name.replace('_', "-"))),
        rows,
        error: None,
        saved,
        invalid: false,
    }
}

async fn master_data_sections(
    state: &AppState,
    session: &UiSession,
    saved: Option<&str>,
) -> Result<Vec<ListSection>, ServiceError> {
    session.actor.require(Action::MasterDataManage)?;
    let view = state.cadre.master_data_view(&session.actor).await?;
    Ok(LIST_NAMES
        .iter()
        .map(|name| {
            let items = view.lists.get(*name).map(Vec::as_slice).unwrap_or(&[]);
            section(session.lang, name, items, saved == Some(*name))
        })
        .collect())
}

pub async fn master_data(
    State(state): State<AppState>,
    session: UiSession,
    Query(q): Query<SavedQuery>,
) -> Response {
    // The page decides nothing itself: only those who may change the lists see them.
    match master_data_sections(&state, &session, q.saved.as_deref()).await {
        Ok(sections) => render(
            &MasterDataPage {
                f: Frame::of(&session),
                sections,
            },
            StatusCode::OK,
        ),
        Err(e) => service_error_page(session.lang, e),
    }
}

pub async fn master_data_save(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(list): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = session.lang;
    if let Some(refused) = session.refuse_bad_csrf(&csrf_in(&pairs)) {
        return refused;
    }
    if !LIST_NAMES.contains(&list.as_str()) {
        return service_error_page(lang, ServiceError::NotFound);
    }
    // Rows arrive as code, label, code, label… in the order of the table.
    let mut submitted: Vec<(String, String)> = Vec::new();
    for (key, value) in &pairs {
        match key.as_str() {
            "code" => submitted.push((value.clone(), String::new())),
            "label" => match submitted.last_mut() {
                Some(last) => last.1 = value.clone(),
                None => submitted.push((String::new(), value.clone())),
            },
            _ => {}
        }
    }
    // Wholly empty rows are the spare ones: left out, but remembered by position.
    let kept: Vec<usize> = submitted
        .iter()
        .enumerate()
        .filter(|(_, (c, l))| !c.trim().is_empty() || !l.trim().is_empty())
        .map(|(i, _)| i)
        .collect();
    let items: Vec<ListItem> = kept
        .iter()
        .map(|&i| ListItem {
            code: submitted[i].0.clone(),
            label: submitted[i].1.clone(),
        })
        .collect();
    match state
        .cadre
        .put_master_data(&session.actor, &meta, &list, items)
        .await
    {
        Ok(_) => Redirect::to(&format!("/master-data?saved={list}#list-{list}")).into_response(),
        Err(ServiceError::Validation(errors)) => {
            let mut sections = match master_data_sections(&state, &session, None).await {
                Ok(s) => s,
                Err(e) => return service_error_page(lang, e),
            };
            let mut edited = section(lang, &list, &[], false);
            edited.rows = submitted
                .iter()
                .enumerate()
                .map(|(index, (code, label))| ItemRow {
                    index,
                    code: code.clone(),
                    label: label.clone(),
                    code_error: None,
                    label_error: None,
                })
                .collect();
            for e in errors.errors() {
                let message = explain(lang, &e.code, &e.message);
                let parsed = e.field.strip_prefix('[').and_then(|rest| {
                    let (n, field) = rest.split_once("].")?;
                    Some((n.parse::<usize>().ok()?, field))
                });
                match parsed.and_then(|(n, field)| Some((*kept.get(n)?, field))) {
                    Some((row, "code")) => edited.rows[row].code_error = Some(message),
                    Some((row, _)) => edited.rows[row].label_error = Some(message),
                    None => edited.error = Some(message),
                }
            }
            while edited.rows.len() < kept.last().map_or(0, |l| l + 1) + SPARE_ROWS {
                edited.rows.push(ItemRow {
                    index: edited.rows.len(),
                    code: String::new(),
                    label: String::new(),
                    code_error: None,
                    label_error: None,
                });
            }
            edited.invalid = true;
            if let Some(slot) = sections.iter_mut().find(|s| s.name == list) {
                *slot = edited;
            }
            render(
                &MasterDataPage {
                    f: Frame::of(&session),
                    sections,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => service_error_page(lang, e),
    }
}

// ---------------------------------------------------------------- boundaries

pub struct Crumb {
    pub code: String,
    pub name: String,
}

pub struct BoundaryLine {
    pub code: String,
    pub name: String,
    pub level: String,
}

pub struct ImportError {
    pub row: String,
    pub column: String,
    pub message: String,
}

pub struct ImportResult {
    pub summary: String,
    pub failed: bool,
    pub errors: Vec<ImportError>,
}

#[derive(Template)]
#[template(path = "admin_boundaries.html")]
struct BoundariesPage {
    f: Frame,
    q: String,
    parent: Option<Crumb>,
    crumbs: Vec<Crumb>,
    rows: Vec<BoundaryLine>,
    count_text: String,
    next_link: Option<String>,
    can_import: bool,
    import: Option<ImportResult>,
    import_error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct BoundaryQuery {
    parent: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

async fn boundaries_page(
    state: &AppState,
    session: &UiSession,
    query: BoundaryQuery,
) -> Result<BoundariesPage, ServiceError> {
    let lang = session.lang;
    let q = clean(&query.q).unwrap_or_default();
    let parent_code = clean(&query.parent);
    let mut crumbs = Vec::new();
    let mut parent = None;
    if let Some(code) = &parent_code {
        let boundary = state.cadre.get_boundary(&session.actor, code).await?;
        crumbs = boundary
            .ancestors
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|b| Crumb {
                code: b.code,
                name: b.name,
            })
            .collect();
        parent = Some(Crumb {
            code: boundary.code,
            name: boundary.name,
        });
    }
    let filter = BoundaryFilter {
        parent: if q.is_empty() {
            parent_code.clone()
        } else {
            None
        },
        roots: q.is_empty() && parent_code.is_none(),
        q: (!q.is_empty()).then(|| q.clone()),
        limit: Some(100),
        cursor: clean(&query.cursor),
        ..BoundaryFilter::default()
    };
    let page = state.cadre.list_boundaries(&session.actor, filter).await?;
    let levels = list_labels(state, "boundary_levels").await;
    let next_link = page.next_cursor.map(|c| {
        format!(
            "/boundaries?parent={}&q={}&cursor={}",
            urlencode(parent_code.as_deref().unwrap_or("")),
            urlencode(&q),
            urlencode(&c)
        )
    });
    Ok(BoundariesPage {
        f: Frame::of(session),
        count_text: lang.t_with("admin-boundaries-count", &[("count", page.total.into())]),
        rows: page
            .items
            .into_iter()
            .map(|b: BoundaryView| BoundaryLine {
                level: label_of(&levels, &b.level),
                code: b.code,
                name: b.name,
            })
            .collect(),
        q,
        parent,
        crumbs,
        next_link,
        can_import: session.actor.can(Action::BoundaryManage),
        import: None,
        import_error: None,
    })
}

pub async fn boundaries(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<BoundaryQuery>,
) -> Response {
    match boundaries_page(&state, &session, query).await {
        Ok(page) => render(&page, StatusCode::OK),
        Err(e) => service_error_page(session.lang, e),
    }
}

fn import_result(lang: Lang, summary: &ImportSummary) -> ImportResult {
    ImportResult {
        summary: lang.t_with(
            "admin-import-summary",
            &[
                ("total", (summary.total_rows as i64).into()),
                ("created", (summary.created as i64).into()),
                ("updated", (summary.updated as i64).into()),
                ("unchanged", (summary.unchanged as i64).into()),
                ("failed", (summary.failed as i64).into()),
            ],
        ),
        failed: summary.failed > 0,
        errors: summary
            .errors
            .iter()
            .map(|e| ImportError {
                row: lang.number(e.row as i64),
                column: e.column.clone(),
                message: explain(lang, &e.code, &e.message),
            })
            .collect(),
    }
}

pub async fn boundaries_import(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let lang = session.lang;
    let mut csrf = String::new();
    let mut file: Option<Vec<u8>> = None;
    let mut broken = false;
    match multipart {
        Ok(mut parts) => loop {
            match parts.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or("").to_owned();
                    match field.bytes().await {
                        Ok(bytes) if name == "_csrf" => {
                            csrf = String::from_utf8_lossy(&bytes).into_owned();
                        }
                        Ok(bytes) if name == "file" => file = Some(bytes.to_vec()),
                        Ok(_) => {}
                        Err(_) => {
                            broken = true;
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        },
        Err(_) => broken = true,
    }
    if let Some(refused) = session.refuse_bad_csrf(&csrf) {
        return refused;
    }
    if let Err(e) = session.actor.require(Action::BoundaryManage) {
        return service_error_page(lang, e);
    }
    let mut page = match boundaries_page(&state, &session, BoundaryQuery::default()).await {
        Ok(p) => p,
        Err(e) => return service_error_page(lang, e),
    };
    let file = file.filter(|f| !f.is_empty());
    let Some(data) = file.filter(|_| !broken) else {
        page.import_error = Some(lang.t("admin-import-no-file"));
        return render(&page, StatusCode::UNPROCESSABLE_ENTITY);
    };
    match state
        .cadre
        .import_boundaries(&session.actor, &meta, &data)
        .await
    {
        Ok(summary) => {
            page.import = Some(import_result(lang, &summary));
            // Roots may have been added by the file.
            if let Ok(fresh) = boundaries_page(&state, &session, BoundaryQuery::default()).await {
                page.rows = fresh.rows;
                page.count_text = fresh.count_text;
                page.next_link = fresh.next_link;
            }
            render(&page, StatusCode::OK)
        }
        Err(e) => service_error_page(lang, e),
    }
}

// ---------------------------------------------------------------- campaigns

pub struct CampaignLine {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub dates: String,
    pub boundaries: String,
}

#[derive(Template)]
#[template(path = "admin_campaigns.html")]
struct CampaignsPage {
    f: Frame,
    rows: Vec<CampaignLine>,
    count_text: String,
    next_link: Option<String>,
    can_manage: bool,
}

#[derive(Deserialize, Default)]
pub struct CursorQuery {
    cursor: Option<String>,
}

async fn list_labels(state: &AppState, list: &str) -> Vec<ListItem> {
    state
        .cadre
        .master_data()
        .await
        .map(|m| m.list(list).to_vec())
        .unwrap_or_default()
}

async fn type_labels(state: &AppState) -> Vec<ListItem> {
    list_labels(state, "campaign_types").await
}

fn label_of(items: &[ListItem], code: &str) -> String {
    items
        .iter()
        .find(|i| i.code == code)
        .map_or_else(|| code.to_owned(), |i| i.label.clone())
}

fn dates_of(lang: Lang, c: &CampaignView) -> String {
    format!("{} – {}", lang.date(&c.start_date), lang.date(&c.end_date))
}

pub async fn campaigns(
    State(state): State<AppState>,
    session: UiSession,
    Query(q): Query<CursorQuery>,
) -> Response {
    let lang = session.lang;
    let filter = CampaignFilter {
        cursor: clean(&q.cursor),
        limit: Some(50),
        ..CampaignFilter::default()
    };
    let page = match state.cadre.list_campaigns(&session.actor, filter).await {
        Ok(p) => p,
        Err(e) => return service_error_page(lang, e),
    };
    let types = type_labels(&state).await;
    let rows = page
        .items
        .iter()
        .map(|c| CampaignLine {
            code: c.code.clone(),
            name: c.name.clone(),
            kind: label_of(&types, &c.campaign_type),
            dates: dates_of(lang, c),
            boundaries: c.boundaries.join(", "),
        })
        .collect();
    let view = CampaignsPage {
        f: Frame::of(&session),
        rows,
        count_text: lang.t_with("admin-campaigns-count", &[("count", page.total.into())]),
        next_link: page
            .next_cursor
            .map(|c| format!("/campaigns?cursor={}", urlencode(&c))),
        can_manage: session.actor.can(Action::CampaignManage),
    };
    render(&view, StatusCode::OK)
}

pub struct Choice {
    pub code: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "admin_campaign_form.html")]
struct CampaignFormPage {
    f: Frame,
    code: String,
    name: String,
    kind: String,
    parent: String,
    start_date: String,
    end_date: String,
    boundaries: String,
    types: Vec<Choice>,
    parents: Vec<Choice>,
    errors: Errors,
    /// Editing an existing campaign (its code is fixed) rather than creating one.
    editing: bool,
    version: String,
}

#[derive(Deserialize, Default)]
pub struct CampaignForm {
    #[serde(default)]
    version: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    #[serde(default)]
    boundaries: String,
}

async fn campaign_form(
    state: &AppState,
    session: &UiSession,
    form: CampaignForm,
    errors: Errors,
) -> CampaignFormPage {
    let types = type_labels(state)
        .await
        .into_iter()
        .map(|i| Choice {
            code: i.code,
            label: i.label,
        })
        .collect();
    let parents = state
        .cadre
        .list_campaigns(
            &session.actor,
            CampaignFilter {
                limit: Some(100),
                ..CampaignFilter::default()
            },
        )
        .await
        .map(|p| {
            p.items
                .into_iter()
                .map(|c| Choice {
                    label: format!("{} ({})", c.name, c.code),
                    code: c.code,
                })
                .collect()
        })
        .unwrap_or_default();
    CampaignFormPage {
        f: Frame::of(session),
        code: form.code,
        name: form.name,
        kind: form.kind,
        parent: form.parent,
        start_date: form.start_date,
        end_date: form.end_date,
        boundaries: form.boundaries,
        types,
        parents,
        errors,
        editing: false,
        version: form.version,
    }
}

pub async fn campaign_new(State(state): State<AppState>, session: UiSession) -> Response {
    if let Err(e) = session.actor.require(Action::CampaignManage) {
        return service_error_page(session.lang, e);
    }
    let page = campaign_form(&state, &session, CampaignForm::default(), Errors::default()).await;
    render(&page, StatusCode::OK)
}

fn boundary_codes(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn campaign_create(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Form(form): Form<CampaignForm>,
) -> Response {
    let lang = session.lang;
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    let codes = boundary_codes(&form.boundaries);
    let input = CampaignInput {
        code: form.code.trim().to_owned(),
        name: form.name.clone(),
        campaign_type: form.kind.clone(),
        parent: clean(&Some(form.parent.clone())),
        start_date: form.start_date.trim().to_owned(),
        end_date: form.end_date.trim().to_owned(),
        boundaries: codes.clone(),
    };
    let errors = match state
        .cadre
        .create_campaign(&session.actor, &meta, input)
        .await
    {
        Ok(c) => {
            return Redirect::to(&format!("/campaigns/{}", urlencode(&c.code))).into_response()
        }
        Err(ServiceError::Validation(errors)) => campaign_errors(lang, &errors, &codes),
        Err(ServiceError::Conflict { code, message }) => {
            let mut shown = Errors::default();
            shown.add("code", explain(lang, code, &message));
            shown
        }
        Err(e) => return service_error_page(lang, e),
    };
    let page = campaign_form(&state, &session, form, errors).await;
    render(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The service's refusals of a campaign form, next to their fields; a boundary's
/// error names the code it is about.
fn campaign_errors(lang: Lang, errors: &ValidationErrors, codes: &[String]) -> Errors {
    let mut shown = Errors::default();
    for e in errors.errors() {
        let message = explain(lang, &e.code, &e.message);
        match e
            .field
            .strip_prefix("boundaries[")
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            // The service deduplicates in order, as we split.
            Some(i) => {
                let unique = cadre_unique(codes);
                let code = unique.get(i).cloned().unwrap_or_default();
                shown.add("boundaries", format!("{code}: {message}"));
            }
            None => shown.add(e.field.clone(), message),
        }
    }
    shown
}

/// The edit form of a campaign: name, type, parent, dates and boundaries (the code is
/// its identity and never changes).
pub async fn campaign_edit(
    State(state): State<AppState>,
    session: UiSession,
    Path(code): Path<String>,
) -> Response {
    if let Err(e) = session.actor.require(Action::CampaignManage) {
        return service_error_page(session.lang, e);
    }
    let c = match state.cadre.get_campaign(&session.actor, &code).await {
        Ok(c) => c,
        Err(e) => return service_error_page(session.lang, e),
    };
    let form = CampaignForm {
        code: c.code,
        name: c.name,
        kind: c.campaign_type,
        parent: c.parent.unwrap_or_default(),
        start_date: c.start_date,
        end_date: c.end_date,
        boundaries: c.boundaries.join(", "),
        version: c.version.to_string(),
        ..CampaignForm::default()
    };
    let mut page = campaign_form(&state, &session, form, Errors::default()).await;
    page.editing = true;
    page.parents.retain(|p| p.code != code);
    render(&page, StatusCode::OK)
}

pub async fn campaign_update(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(code): Path<String>,
    Form(mut form): Form<CampaignForm>,
) -> Response {
    let lang = session.lang;
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    let codes = boundary_codes(&form.boundaries);
    let patch = CampaignPatch {
        name: Some(form.name.clone()),
        campaign_type: Some(form.kind.clone()),
        parent: Some(clean(&Some(form.parent.clone()))),
        start_date: Some(form.start_date.trim().to_owned()),
        end_date: Some(form.end_date.trim().to_owned()),
        boundaries: Some(codes.clone()),
        ..CampaignPatch::default()
    };
    let version = form.version.trim().parse::<i64>().ok();
    let errors = match state
        .cadre
        .update_campaign(&session.actor, &meta, &code, version, patch)
        .await
    {
        Ok(c) => {
            return Redirect::to(&format!("/campaigns/{}", urlencode(&c.code))).into_response()
        }
        Err(ServiceError::Validation(errors)) => campaign_errors(lang, &errors, &codes),
        Err(ServiceError::StaleVersion) => {
            // Show what is saved now, so saving again is a decision, not an accident.
            if let Ok(current) = state.cadre.get_campaign(&session.actor, &code).await {
                form.version = current.version.to_string();
            }
            let mut shown = Errors::default();
            shown.add("name", lang.t("admin-campaign-stale"));
            shown
        }
        Err(ServiceError::Conflict { code, message }) => {
            let mut shown = Errors::default();
            shown.add("boundaries", explain(lang, code, &message));
            shown
        }
        Err(e) => return service_error_page(lang, e),
    };
    form.code = code.clone();
    let mut page = campaign_form(&state, &session, form, errors).await;
    page.editing = true;
    page.parents.retain(|p| p.code != code);
    render(&page, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The codes in order, each once, as the service keeps them.
fn cadre_unique(codes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in codes {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

#[derive(Template)]
#[template(path = "admin_campaign.html")]
struct CampaignPage {
    f: Frame,
    code: String,
    name: String,
    kind: String,
    parent: Option<String>,
    dates: String,
    boundaries: Vec<BoundaryLine>,
    uncovered: Vec<BoundaryLine>,
    uncovered_text: String,
    uncovered_more: bool,
    can_edit: bool,
}

pub async fn campaign(
    State(state): State<AppState>,
    session: UiSession,
    Path(code): Path<String>,
) -> Response {
    let lang = session.lang;
    let c = match state.cadre.get_campaign(&session.actor, &code).await {
        Ok(c) => c,
        Err(e) => return service_error_page(lang, e),
    };
    let coverage = match state
        .cadre
        .campaign_coverage(&session.actor, &c.code, Some(100), None)
        .await
    {
        Ok(p) => p,
        Err(e) => return service_error_page(lang, e),
    };
    let levels = list_labels(&state, "boundary_levels").await;
    let mut boundaries = Vec::new();
    for b in &c.boundaries {
        let line = match state.cadre.get_boundary(&session.actor, b).await {
            Ok(v) => BoundaryLine {
                level: label_of(&levels, &v.level),
                code: v.code,
                name: v.name,
            },
            Err(_) => BoundaryLine {
                code: b.clone(),
                name: b.clone(),
                level: String::new(),
            },
        };
        boundaries.push(line);
    }
    let types = type_labels(&state).await;
    let page = CampaignPage {
        f: Frame::of(&session),
        can_edit: session.actor.can(Action::CampaignManage),
        kind: label_of(&types, &c.campaign_type),
        dates: dates_of(lang, &c),
        parent: c.parent.clone(),
        uncovered_text: lang.t_with("admin-uncovered-count", &[("count", coverage.total.into())]),
        uncovered_more: coverage.next_cursor.is_some(),
        uncovered: coverage
            .items
            .into_iter()
            .map(|b| BoundaryLine {
                level: label_of(&levels, &b.level),
                code: b.code,
                name: b.name,
            })
            .collect(),
        boundaries,
        code: c.code,
        name: c.name,
    };
    render(&page, StatusCode::OK)
}

// ---------------------------------------------------------------- audit

pub struct AuditLine {
    pub time: String,
    pub stamp: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub outcome_class: &'static str,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    f: Frame,
    actor: String,
    target: String,
    action: String,
    from: String,
    to: String,
    rows: Vec<AuditLine>,
    count_text: String,
    next_link: Option<String>,
    errors: Errors,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    actor: Option<String>,
    target: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
}

fn day_start(date: chrono::NaiveDate) -> String {
    cadre_store::timestamp(date.and_time(chrono::NaiveTime::MIN).and_utc())
}

pub async fn audit(
    State(state): State<AppState>,
    session: UiSession,
    Query(q): Query<AuditQuery>,
) -> Response {
    let lang = session.lang;
    if let Err(e) = session.actor.require(Action::AuditRead) {
        return service_error_page(lang, e);
    }
    let mut errors = Errors::default();
    let parse = |field: &str, value: &Option<String>, errors: &mut Errors| {
        let text = clean(value)?;
        match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(field, lang.t("admin-err-invalid-date"));
                None
            }
        }
    };
    let from = parse("from", &q.from, &mut errors);
    let to = parse("to", &q.to, &mut errors);
    let mut view = AuditPage {
        f: Frame::of(&session),
        actor: clean(&q.actor).unwrap_or_default(),
        target: clean(&q.target).unwrap_or_default(),
        action: clean(&q.action).unwrap_or_default(),
        from: clean(&q.from).unwrap_or_default(),
        to: clean(&q.to).unwrap_or_default(),
        rows: Vec::new(),
        count_text: String::new(),
        next_link: None,
        errors: Errors::default(),
    };
    if !errors.is_empty() {
        view.errors = errors;
        return render(&view, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let filter = AuditFilter {
        actor: clean(&q.actor),
        target: clean(&q.target),
        action: clean(&q.action),
        from: from.map(day_start),
        // The "to" day is included: events before the next day's start.
        to: to.and_then(|d| d.succ_opt()).map(day_start),
        limit: Some(50),
        cursor: clean(&q.cursor),
    };
    let page = match state.cadre.audit_search(&session.actor, filter).await {
        Ok(p) => p,
        Err(e) => return service_error_page(lang, e),
    };
    view.count_text = lang.t_with("admin-audit-count", &[("count", page.total.into())]);
    view.rows = page
        .items
        .into_iter()
        .map(|e| {
            let target = match (&e.target_label, &e.target_type) {
                (Some(label), Some(kind)) => format!("{label} ({kind})"),
                (Some(label), None) => label.clone(),
                (None, Some(kind)) => kind.clone(),
                (None, None) => String::new(),
            };
            let ok = e.outcome == "success";
            let outcome = match e.outcome.as_str() {
                "success" => lang.t("admin-outcome-success"),
                "failure" => lang.t("admin-outcome-failure"),
                o if o.starts_with("denied") => lang.t("admin-outcome-denied"),
                o => o.to_owned(),
            };
            AuditLine {
                time: time_of(lang, &e.occurred_at),
                stamp: e.occurred_at.clone(),
                actor: e
                    .actor_username
                    .clone()
                    .or(e.actor_id.clone())
                    .unwrap_or_default(),
                action: e.action,
                target,
                outcome_class: if ok { "ok" } else { "off" },
                outcome,
            }
        })
        .collect();
    view.next_link = page.next_cursor.map(|c| {
        format!(
            "/audit?actor={}&target={}&action={}&from={}&to={}&cursor={}",
            urlencode(&view.actor),
            urlencode(&view.target),
            urlencode(&view.action),
            urlencode(&view.from),
            urlencode(&view.to),
            urlencode(&c)
        )
    });
    render(&view, StatusCode::OK)
}

// ---------------------------------------------------------------- dashboard

pub struct Chart {
    pub id: String,
    pub title: String,
    pub svg: String,
    pub label_header: String,
    pub value_header: String,
    pub bars: Vec<Bar>,
    pub empty: bool,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct DashboardPage {
    f: Frame,
    charts: Vec<Chart>,
}

fn chart(lang: Lang, id: &str, title_key: &str, label_key: &str, bars: Vec<Bar>) -> Chart {
    let title = lang.t(title_key);
    Chart {
        id: id.to_owned(),
        svg: bar_chart(id, &title, &bars),
        title,
        label_header: lang.t(label_key),
        value_header: lang.t("admin-chart-count"),
        empty: bars.is_empty(),
        bars,
    }
}

/// How many active users a filter finds (one row fetched, the total counted).
async fn active_count(
    state: &AppState,
    session: &UiSession,
    filter: UserFilter,
) -> Result<i64, ServiceError> {
    let filter = UserFilter {
        status: Some("active".into()),
        limit: Some(1),
        ..filter
    };
    Ok(state
        .cadre
        .search_users(&session.actor, filter)
        .await?
        .total)
}

/// The provinces touching the actor's scope.
async fn provinces(
    state: &AppState,
    session: &UiSession,
) -> Result<Vec<BoundaryView>, ServiceError> {
    let all = state
        .cadre
        .list_boundaries(
            &session.actor,
            BoundaryFilter {
                level: Some("PROVINCE".into()),
                limit: Some(100),
                ..BoundaryFilter::default()
            },
        )
        .await?
        .items;
    let scope = &session.actor.scope;
    if scope.is_global() {
        return Ok(all);
    }
    let roots: Vec<Vec<String>> = scope
        .roots()
        .iter()
        .map(|r| r.codes().map(str::to_owned).collect())
        .collect();
    let mut out = Vec::new();
    for p in all {
        // A province holding one of the scope's roots, or lying below one.
        let holds = roots.iter().any(|r| r.contains(&p.code));
        let below = if holds {
            false
        } else {
            let ancestors = state
                .cadre
                .get_boundary(&session.actor, &p.code)
                .await?
                .ancestors
                .unwrap_or_default();
            roots.iter().any(|r| {
                r.last()
                    .is_some_and(|last| ancestors.iter().any(|a| &a.code == last))
            })
        };
        if holds || below {
            out.push(p);
        }
    }
    Ok(out)
}

pub async fn dashboard(State(state): State<AppState>, session: UiSession) -> Response {
    let lang = session.lang;
    if let Err(e) = session.actor.require(Action::UserRead) {
        return service_error_page(lang, e);
    }
    let mut charts = Vec::new();
    let bar = |label: String, value: i64, href: Option<String>| Bar {
        shown: lang.number(value),
        label,
        value,
        href,
    };
    if session.actor.can(Action::CampaignRead) {
        let list = match state
            .cadre
            .list_campaigns(
                &session.actor,
                CampaignFilter {
                    limit: Some(100),
                    ..CampaignFilter::default()
                },
            )
            .await
        {
            Ok(p) => p.items,
            Err(e) => return service_error_page(lang, e),
        };
        let mut users = Vec::new();
        let mut gaps = Vec::new();
        for c in &list {
            let filter = UserFilter {
                campaign: Some(c.code.clone()),
                ..UserFilter::default()
            };
            let count = match active_count(&state, &session, filter).await {
                Ok(n) => n,
                Err(e) => return service_error_page(lang, e),
            };
            let href = Some(format!("/campaigns/{}", urlencode(&c.code)));
            users.push(bar(c.name.clone(), count, href.clone()));
            let uncovered = match state
                .cadre
                .campaign_coverage(&session.actor, &c.code, Some(1), None)
                .await
            {
                Ok(p) => p.total,
                Err(e) => return service_error_page(lang, e),
            };
            gaps.push(bar(c.name.clone(), uncovered, href));
        }
        charts.push(chart(
            lang,
            "chart-campaign-users",
            "admin-chart-users-by-campaign",
            "admin-col-campaign",
            users,
        ));
        charts.push(chart(
            lang,
            "chart-uncovered",
            "admin-chart-uncovered",
            "admin-col-campaign",
            gaps,
        ));
    }
    if session.actor.can(Action::BoundaryRead) {
        let list = match provinces(&state, &session).await {
            Ok(p) => p,
            Err(e) => return service_error_page(lang, e),
        };
        let mut bars = Vec::new();
        for p in &list {
            let filter = UserFilter {
                boundary: Some(p.code.clone()),
                ..UserFilter::default()
            };
            let count = match active_count(&state, &session, filter).await {
                Ok(n) => n,
                Err(e) => return service_error_page(lang, e),
            };
            bars.push(bar(
                p.name.clone(),
                count,
                Some(format!("/boundaries?parent={}", urlencode(&p.code))),
            ));
        }
        charts.insert(
            charts.len().min(1),
            chart(
                lang,
                "chart-province-users",
                "admin-chart-users-by-province",
                "admin-col-province",
                bars,
            ),
        );
    }
    render(
        &DashboardPage {
            f: Frame::of(&session),
            charts,
        },
        StatusCode::OK,
    )
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
    fn every_language_has_every_administration_message() {
        let english = include_str!("../../locales/en/admin.ftl");
        let en_keys = keys(english);
        assert!(en_keys.len() > 50);
        assert!(en_keys.iter().all(|k| k.starts_with("admin-")));
        for (code, source) in [
            ("pt", include_str!("../../locales/pt/admin.ftl")),
            ("fr", include_str!("../../locales/fr/admin.ftl")),
        ] {
            let there = keys(source);
            for key in &en_keys {
                assert!(there.contains(key), "{code} lacks {key}");
            }
            for key in &there {
                assert!(
                    en_keys.contains(key),
                    "{code} has {key}, which English lacks"
                );
            }
        }
    }

    #[test]
    fn every_action_list_and_error_has_a_message() {
        let english = include_str!("../../locales/en/admin.ftl");
        let en_keys = keys(english);
        for action in Action::ALL {
            let key = action_key(action.code());
            assert!(en_keys.contains(&key.as_str()), "{key}");
            let prefix = action.code().split('.').next().unwrap_or("");
            let group = format!("admin-group-{}", prefix.replace('_', "-"));
            assert!(en_keys.contains(&group.as_str()), "{group}");
        }
        for list in LIST_NAMES {
            let key = format!("admin-list-{}", list.replace('_', "-"));
            assert!(en_keys.contains(&key.as_str()), "{key}");
        }
        for code in [
            "invalid_code",
            "duplicate_code",
            "invalid_length",
            "required",
            "unknown_action",
            "unknown_value",
            "invalid_date",
            "date_order",
            "unknown_boundary",
            "boundary_outside_scope",
            "unknown_campaign",
            "outside_parent_window",
            "boundary_outside_parent",
            "cycle",
            "level_order",
            "parent_failed",
            "parent_change_unsupported",
            "missing_columns",
        ] {
            let key = error_key(code).unwrap_or("none");
            assert!(en_keys.contains(&key), "{code}");
        }
        assert_eq!(Lang::Pt.t("admin-roles-title"), "Perfis");
    }

    #[test]
    fn times_and_boundary_lists_read_naturally() {
        assert_eq!(
            time_of(Lang::En, "2026-03-01T08:05:09.000000Z"),
            "1 Mar 2026 08:05 UTC"
        );
        assert_eq!(
            time_of(Lang::Fr, "2026-03-01T08:05:09Z"),
            "01/03/2026 08:05 UTC"
        );
        assert_eq!(
            boundary_codes(" TETE, NIASSA;MZ \n X"),
            ["TETE", "NIASSA", "MZ", "X"]
        );
    }
}
