//! The user pages: view one user, edit them, create one, reset their credentials.
//! Plain forms with 303 redirects; the service decides every permission and validates
//! every field, and the pages show its answers next to the fields they concern.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cadre_domain::master_data::ListItem;
use cadre_domain::{Action, FieldError};
use cadre_service::assignments::AssignmentInput;
use cadre_service::campaigns::CampaignFilter;
use cadre_service::roles::RoleView;
use cadre_service::users::{Credential, NewUser, UserPatch, UserView};
use cadre_service::{Actor, ServiceError};

use super::i18n::Lang;
use super::pages::{render, service_error_page, Frame};
use super::session::UiSession;
use crate::extract::Meta;
use crate::AppState;

/// A submitted form, as name/value pairs (checkbox groups repeat a name).
type Pairs = Vec<(String, String)>;

fn one(pairs: &Pairs, name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn every(pairs: &Pairs, name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `"TETE, ANGONIA"` → `["TETE", "ANGONIA"]`.
fn codes(text: &str) -> Vec<String> {
    text.split([',', ';', '\n'])
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

fn opt(text: String) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The HTML id of a form field: `assignments[0].campaign` → `assignments-0-campaign`.
pub fn field_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_matches('-').to_owned()
}

/// The form field an error of the service is about: indexes of lists point at the
/// list's field, and nested assignment errors at the one assignment of the form.
pub fn form_field_of(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("assignments[") {
        let inner = rest.split_once("].").map(|(_, f)| f).unwrap_or("campaign");
        let name = inner.split(['[', '.']).next().unwrap_or("campaign");
        let name = match name {
            "boundaries" | "from_date" | "till_date" | "campaign" => name,
            _ => "campaign",
        };
        return format!("assignments[0].{name}");
    }
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "password" => "credential.password".into(),
        "credential" | "credential.channel" | "credential.method" => "credential.method".into(),
        other => other.to_owned(),
    }
}

/// Error codes with a message of their own in the catalogues.
const KNOWN_CODES: &[&str] = &[
    "required",
    "too_long",
    "invalid_characters",
    "invalid_email",
    "unknown_value",
    "invalid_mobile_number",
    "invalid_date",
    "date_out_of_range",
    "date_not_in_past",
    "unknown_role",
    "unknown_boundary",
    "boundary_outside_scope",
    "invalid_username",
    "username_taken",
    "conflicting_fields",
    "password_too_short",
    "password_too_long",
    "password_too_common",
    "password_contains_username",
    "password_mismatch",
    "unknown_campaign",
    "already_assigned",
    "dates_outside_campaign",
    "date_order",
    "boundary_outside_campaign",
    "cannot_remove_own_admin",
    "channel_not_configured",
    "privilege_escalation",
];

/// An error as a page shows it: next to its field and in the summary.
pub struct Shown {
    pub field: String,
    pub id: String,
    pub message: String,
}

/// The value at `[i]` of an indexed field (`jurisdictions[1]`), from what was typed.
fn indexed_value(field: &str, pairs: &Pairs) -> String {
    let Some((list, rest)) = field.rsplit_once('[') else {
        return String::new();
    };
    let Some(i) = rest
        .trim_end_matches(']')
        .parse::<usize>()
        .ok()
        .filter(|_| rest.ends_with(']'))
    else {
        return String::new();
    };
    let values = if list == "roles" {
        every(pairs, "roles")
    } else {
        codes(&one(pairs, &form_field_of(field)))
    };
    values.get(i).cloned().unwrap_or_default()
}

fn show(lang: Lang, error: &FieldError, pairs: &Pairs) -> Shown {
    let field = form_field_of(&error.field);
    let key = if KNOWN_CODES.contains(&error.code.as_str()) {
        format!("user-error-{}", error.code.replace('_', "-"))
    } else {
        "user-error-invalid".to_owned()
    };
    let value = indexed_value(&error.field, pairs);
    Shown {
        id: field_id(&field),
        message: lang.t_with(&key, &[("value", value.into())]),
        field,
    }
}

fn shown(lang: Lang, field: &str, code: &str) -> Shown {
    show(lang, &FieldError::new(field, code, ""), &Vec::new())
}

// ------------------------------------------------------------------ form fields

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One labelled input with its error, everything the template needs precomputed.
pub struct Field {
    pub name: String,
    pub id: String,
    pub label: String,
    /// `text`, `email`, `tel`, `date`, `select` or `textarea`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<Opt>,
    pub error: Option<String>,
    pub required: bool,
    pub hint: Option<String>,
    pub autocomplete: &'static str,
    /// Value of `aria-describedby`, empty when none.
    pub describedby: String,
}

struct Builder<'a> {
    lang: Lang,
    values: &'a Pairs,
    errors: &'a [Shown],
    required: &'a [String],
    lists: &'a BTreeMap<String, Vec<ListItem>>,
}

impl Builder<'_> {
    fn field(&self, name: &str, label_key: &str, kind: &'static str) -> Field {
        let id = field_id(name);
        let error = self
            .errors
            .iter()
            .find(|e| e.field == name)
            .map(|e| e.message.clone());
        let hint_key = match name {
            "jurisdictions" | "assignments[0].boundaries" => Some("user-hint-codes"),
            "mobile_number" => Some("user-hint-mobile"),
            "username" => Some("user-hint-username"),
            _ => None,
        };
        let hint = hint_key.map(|k| self.lang.t(k));
        let mut described = Vec::new();
        if hint.is_some() {
            described.push(format!("{id}-hint"));
        }
        if error.is_some() {
            described.push(format!("{id}-error"));
        }
        Field {
            name: name.to_owned(),
            label: self.lang.t(label_key),
            kind,
            value: one(self.values, name),
            options: Vec::new(),
            error,
            required: self.required.iter().any(|r| r == name),
            hint,
            autocomplete: match name {
                "first_name" => "given-name",
                "last_name" => "family-name",
                "mobile_number" => "tel",
                "email" => "email",
                "correspondence_address" => "street-address",
                "date_of_birth" => "bday",
                _ => "off",
            },
            describedby: described.join(" "),
            id,
        }
    }

    fn select(&self, name: &str, label_key: &str, list: &str) -> Field {
        let mut field = self.field(name, label_key, "select");
        let items = self.lists.get(list).cloned().unwrap_or_default();
        field.options = self.options(
            &field.value,
            items.into_iter().map(|i| (i.code, i.label)).collect(),
        );
        field
    }

    fn options(&self, current: &str, items: Vec<(String, String)>) -> Vec<Opt> {
        let mut options = vec![Opt {
            value: String::new(),
            label: self.lang.t("user-choose"),
            selected: current.is_empty(),
        }];
        let mut found = current.is_empty();
        for (value, label) in items {
            let selected = value.eq_ignore_ascii_case(current);
            found |= selected;
            options.push(Opt {
                value,
                label,
                selected,
            });
        }
        if !found {
            // Keep what was sent even when the list no longer has it.
            options.push(Opt {
                value: current.to_owned(),
                label: current.to_owned(),
                selected: true,
            });
        }
        options
    }
}

pub struct RoleBox {
    pub code: String,
    pub name: String,
    pub id: String,
    pub checked: bool,
    pub enabled: bool,
}

/// Whether `actor` may hand out `role`; the service checks again on saving.
fn grantable(actor: &Actor, role: &RoleView) -> bool {
    if role.code == cadre_domain::action::SYSTEM_ADMIN && !actor.is_system_admin() {
        return false;
    }
    role.actions.iter().all(|code| {
        code.parse::<Action>()
            .is_ok_and(|a| !a.is_administrative() || actor.can(a))
    })
}

/// Everything a user form page needs besides what was typed.
struct Lists {
    lists: BTreeMap<String, Vec<ListItem>>,
    required: Vec<String>,
    roles: Option<Vec<RoleView>>,
    campaigns: Option<Vec<(String, String)>>,
}

async fn lists(state: &AppState, actor: &Actor, campaigns: bool) -> Result<Lists, ServiceError> {
    let master = state.cadre.master_data_view(actor).await?;
    let roles = match state.cadre.list_roles(actor).await {
        Ok(r) => Some(r),
        Err(ServiceError::Forbidden { .. }) => None,
        Err(e) => return Err(e),
    };
    let campaigns = if campaigns && actor.can(Action::UserAssign) {
        let filter = CampaignFilter {
            limit: Some(500),
            ..CampaignFilter::default()
        };
        match state.cadre.list_campaigns(actor, filter).await {
            Ok(page) => Some(
                page.items
                    .into_iter()
                    .map(|c| (c.code.clone(), format!("{} ({})", c.name, c.code)))
                    .collect(),
            ),
            Err(ServiceError::Forbidden { .. }) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    Ok(Lists {
        lists: master.lists,
        required: master.required_fields,
        roles,
        campaigns,
    })
}

#[derive(Template)]
#[template(path = "user_form.html")]
pub struct UserFormPage {
    pub f: Frame,
    pub creating: bool,
    pub title: String,
    pub action: String,
    pub cancel: String,
    pub username: String,
    pub version: String,
    pub message: Option<String>,
    pub errors: Vec<Shown>,
    pub username_field: Option<Field>,
    pub method: String,
    pub password: Option<Field>,
    pub confirmation: Option<Field>,
    pub demographic: Vec<Field>,
    pub roles: Vec<RoleBox>,
    pub roles_error: Option<String>,
    pub roles_required: bool,
    pub administrative: Vec<Field>,
    pub assignment: Vec<Field>,
}

struct FormInput<'a> {
    creating: bool,
    user: Option<&'a UserView>,
    values: &'a Pairs,
    errors: Vec<Shown>,
    message: Option<String>,
}

fn form_page(session: &UiSession, lists: &Lists, input: FormInput<'_>) -> UserFormPage {
    let lang = session.lang;
    let b = Builder {
        lang,
        values: input.values,
        errors: &input.errors,
        required: &lists.required,
        lists: &lists.lists,
    };
    let demographic = vec![
        b.field("first_name", "user-field-first-name", "text"),
        b.field("last_name", "user-field-last-name", "text"),
        b.field("mobile_number", "user-field-mobile-number", "tel"),
        b.field(
            "father_or_husband_name",
            "user-field-father-or-husband-name",
            "text",
        ),
        b.select("gender", "user-field-gender", "genders"),
        b.field("date_of_birth", "user-field-date-of-birth", "date"),
        b.field("email", "user-field-email", "email"),
        b.field(
            "correspondence_address",
            "user-field-correspondence-address",
            "textarea",
        ),
    ];
    let administrative = vec![
        b.select(
            "employment_type",
            "user-field-employment-type",
            "employment_types",
        ),
        b.field(
            "date_of_employment",
            "user-field-date-of-employment",
            "date",
        ),
        b.field("designation", "user-field-designation", "text"),
        b.select("department", "user-field-department", "departments"),
        b.field("jurisdictions", "user-field-jurisdictions", "text"),
    ];
    let chosen = every(input.values, "roles");
    let held = input.user.map(|u| u.roles.clone()).unwrap_or_default();
    let all_roles: Vec<(String, String, bool)> = match &lists.roles {
        Some(roles) => roles
            .iter()
            .map(|r| (r.code.clone(), r.name.clone(), grantable(&session.actor, r)))
            .collect(),
        None => chosen
            .iter()
            .chain(held.iter())
            .map(|c| (c.clone(), c.clone(), true))
            .collect(),
    };
    let mut roles: Vec<RoleBox> = Vec::new();
    for (code, name, enabled) in all_roles {
        if roles.iter().any(|r| r.code == code) {
            continue;
        }
        // A role the actor cannot grant stays visible only when already chosen.
        let checked = chosen.contains(&code);
        if !enabled && !checked {
            continue;
        }
        let id = if roles.is_empty() {
            "roles".to_owned()
        } else {
            format!("roles-{}", field_id(&code))
        };
        roles.push(RoleBox {
            code,
            name,
            id,
            checked,
            enabled,
        });
    }
    let (username_field, password, confirmation, assignment) = if input.creating {
        let assignment = match &lists.campaigns {
            Some(campaigns) => {
                let mut campaign =
                    b.field("assignments[0].campaign", "user-field-campaign", "select");
                campaign.options = b.options(&campaign.value, campaigns.clone());
                vec![
                    campaign,
                    b.field("assignments[0].boundaries", "user-field-boundaries", "text"),
                    b.field("assignments[0].from_date", "user-field-from-date", "date"),
                    b.field("assignments[0].till_date", "user-field-till-date", "date"),
                ]
            }
            None => Vec::new(),
        };
        (
            Some(b.field("username", "user-field-username", "text")),
            Some(b.field("credential.password", "user-field-password", "password")),
            Some(b.field(
                "credential.password_confirmation",
                "user-field-password-confirmation",
                "password",
            )),
            assignment,
        )
    } else {
        (None, None, None, Vec::new())
    };
    let method = match one(input.values, "credential.method").as_str() {
        m @ ("set" | "none") => m.to_owned(),
        _ => "generate".to_owned(),
    };
    let (title, action, cancel) = match input.user {
        Some(u) => (
            lang.t_with(
                "user-edit-title",
                &[("username", u.username.clone().into())],
            ),
            format!("/users/{}/edit", u.id),
            format!("/users/{}", u.id),
        ),
        None => (
            lang.t("user-new-title"),
            "/users/new".to_owned(),
            "/users".to_owned(),
        ),
    };
    // In the summary, each message names its field: several may say "required".
    let labels: Vec<(&str, &str)> = demographic
        .iter()
        .chain(&administrative)
        .chain(&assignment)
        .chain(username_field.iter())
        .chain(password.iter())
        .chain(confirmation.iter())
        .map(|x| (x.name.as_str(), x.label.as_str()))
        .collect();
    let roles_label = lang.t("user-field-roles");
    // One entry per field, the first, as next to the field itself.
    let mut seen: Vec<&str> = Vec::new();
    let summary: Vec<Shown> = input
        .errors
        .iter()
        .filter(|e| {
            let first = !seen.contains(&e.field.as_str());
            seen.push(e.field.as_str());
            first
        })
        .map(|e| {
            let label = if e.field == "roles" {
                Some(roles_label.as_str())
            } else {
                labels.iter().find(|(n, _)| *n == e.field).map(|(_, l)| *l)
            };
            Shown {
                field: e.field.clone(),
                id: e.id.clone(),
                message: match label {
                    Some(l) => format!("{l}: {}", e.message),
                    None => e.message.clone(),
                },
            }
        })
        .collect();
    UserFormPage {
        f: Frame::of(session),
        creating: input.creating,
        title,
        action,
        cancel,
        username: input.user.map(|u| u.username.clone()).unwrap_or_default(),
        version: one(input.values, "version"),
        message: input.message,
        roles_error: input
            .errors
            .iter()
            .find(|e| e.field == "roles")
            .map(|e| e.message.clone()),
        roles_required: lists.required.iter().any(|r| r == "roles"),
        errors: summary,
        username_field,
        method,
        password,
        confirmation,
        demographic,
        roles,
        administrative,
        assignment,
    }
}

/// The form values of an existing user.
fn values_of(user: &UserView) -> Pairs {
    let mut pairs: Pairs = vec![
        ("version".into(), user.version.to_string()),
        ("jurisdictions".into(), user.jurisdictions.join(", ")),
    ];
    let scalar = [
        ("first_name", &user.first_name),
        ("last_name", &user.last_name),
        ("mobile_number", &user.mobile_number),
        ("father_or_husband_name", &user.father_or_husband_name),
        ("gender", &user.gender),
        ("date_of_birth", &user.date_of_birth),
        ("email", &user.email),
        ("correspondence_address", &user.correspondence_address),
        ("employment_type", &user.employment_type),
        ("date_of_employment", &user.date_of_employment),
        ("designation", &user.designation),
        ("department", &user.department),
    ];
    for (name, value) in scalar {
        pairs.push((name.into(), value.clone().unwrap_or_default()));
    }
    for role in &user.roles {
        pairs.push(("roles".into(), role.clone()));
    }
    pairs
}

/// Errors from the service as shown on a form, or the page for any other refusal.
/// (The refusal page is boxed: a response is large.)
fn form_errors(
    lang: Lang,
    error: ServiceError,
    pairs: &Pairs,
) -> Result<Vec<Shown>, Box<Response>> {
    match error {
        ServiceError::Validation(errors) => Ok(errors
            .errors()
            .iter()
            .map(|e| show(lang, e, pairs))
            .collect()),
        ServiceError::Conflict {
            code: "username_taken",
            ..
        } => Ok(vec![shown(lang, "username", "username_taken")]),
        ServiceError::Forbidden {
            code: "privilege_escalation",
            ..
        } => Ok(vec![shown(lang, "roles", "privilege_escalation")]),
        other => Err(Box::new(service_error_page(lang, other))),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ------------------------------------------------------------------ view

pub struct Row {
    pub label: String,
    pub value: String,
}

pub struct AssignmentRow {
    pub campaign: String,
    pub boundaries: String,
    pub from: String,
    pub till: String,
    pub status: String,
    pub status_class: &'static str,
}

pub struct StatusRow {
    pub kind: String,
    pub reason: String,
    pub date: String,
    pub state: String,
    pub order_number: String,
    pub remarks: String,
}

pub struct DocumentRow {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub date: String,
}

pub struct EventRow {
    pub action: String,
    pub who: String,
    pub when: String,
}

pub struct ActionLink {
    pub href: String,
    pub label: String,
    pub id: &'static str,
}

#[derive(Template)]
#[template(path = "user_view.html")]
pub struct UserViewPage {
    pub f: Frame,
    pub name: String,
    pub username: String,
    pub status: String,
    pub status_class: &'static str,
    pub notice: Option<String>,
    pub actions: Vec<ActionLink>,
    pub demographic: Vec<Row>,
    pub administrative: Vec<Row>,
    pub assignments: Vec<AssignmentRow>,
    pub statuses: Vec<StatusRow>,
    pub documents: Vec<DocumentRow>,
    pub events: Vec<EventRow>,
    pub messages: Vec<super::notifications::MessageRow>,
    pub user_id: String,
    /// Live sessions, when the reader may end them.
    pub sessions: Option<Vec<super::credentials::SessionLine>>,
}

fn label_in(lists: &BTreeMap<String, Vec<ListItem>>, list: &str, code: &str) -> String {
    lists
        .get(list)
        .and_then(|items| items.iter().find(|i| i.code == code))
        .map(|i| i.label.clone())
        .unwrap_or_else(|| code.to_owned())
}

fn full_name(user: &UserView) -> String {
    format!(
        "{} {}",
        user.first_name.as_deref().unwrap_or_default(),
        user.last_name.as_deref().unwrap_or_default()
    )
    .trim()
    .to_owned()
}

/// Audit actions with a message of their own.
const KNOWN_EVENTS: &[&str] = &[
    "user.create",
    "user.update",
    "user.credentials",
    "user.deactivate",
    "user.reactivate",
    "user.replace",
    "user.sessions",
    "user.unlock",
    "assignment.create",
    "assignment.update",
    "assignment.end",
    "assignment.move",
    "document.upload",
];

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    notice: Option<String>,
}

pub async fn view(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
    Query(query): Query<ViewQuery>,
) -> Response {
    let lang = session.lang;
    let actor = &session.actor;
    let user = match state.cadre.get_user(actor, &id).await {
        Ok(u) => u,
        Err(e) => return service_error_page(lang, e),
    };
    let documents = match state.cadre.list_documents(actor, &id).await {
        Ok(d) => d,
        Err(e) => return service_error_page(lang, e),
    };
    let history = match state.cadre.user_history(actor, &id, Some(20), None).await {
        Ok(h) => h.items,
        Err(ServiceError::Forbidden { .. }) => Vec::new(),
        Err(e) => return service_error_page(lang, e),
    };
    let lists = match state.cadre.master_data_view(actor).await {
        Ok(m) => m.lists,
        Err(e) => return service_error_page(lang, e),
    };
    let role_names: BTreeMap<String, String> = match state.cadre.list_roles(actor).await {
        Ok(roles) => roles.into_iter().map(|r| (r.code, r.name)).collect(),
        Err(_) => BTreeMap::new(),
    };
    let dash = || "—".to_owned();
    let row = |key: &str, value: Option<String>| Row {
        label: lang.t(key),
        value: value.filter(|v| !v.is_empty()).unwrap_or_else(dash),
    };
    let demographic = vec![
        row("user-field-first-name", user.first_name.clone()),
        row("user-field-last-name", user.last_name.clone()),
        row("user-field-mobile-number", user.mobile_number.clone()),
        row(
            "user-field-father-or-husband-name",
            user.father_or_husband_name.clone(),
        ),
        row(
            "user-field-gender",
            user.gender
                .as_deref()
                .map(|g| label_in(&lists, "genders", g)),
        ),
        row(
            "user-field-date-of-birth",
            user.date_of_birth.as_deref().map(|d| lang.date(d)),
        ),
        row("user-field-email", user.email.clone()),
        row(
            "user-field-correspondence-address",
            user.correspondence_address.clone(),
        ),
    ];
    let administrative = vec![
        row(
            "user-field-roles",
            Some(
                user.roles
                    .iter()
                    .map(|r| role_names.get(r).cloned().unwrap_or_else(|| r.clone()))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ),
        row(
            "user-field-employment-type",
            user.employment_type
                .as_deref()
                .map(|e| label_in(&lists, "employment_types", e)),
        ),
        row(
            "user-field-date-of-employment",
            user.date_of_employment.as_deref().map(|d| lang.date(d)),
        ),
        row("user-field-designation", user.designation.clone()),
        row(
            "user-field-department",
            user.department
                .as_deref()
                .map(|d| label_in(&lists, "departments", d)),
        ),
        row(
            "user-field-jurisdictions",
            Some(user.jurisdictions.join(", ")),
        ),
    ];
    let assignments = user
        .assignments
        .iter()
        .map(|a| AssignmentRow {
            campaign: a.campaign.clone(),
            boundaries: a.boundaries.join(", "),
            from: lang.date(&a.from_date),
            till: lang.date(&a.till_date),
            status: lang.t(match a.status.as_str() {
                "active" => "user-assignment-active",
                "upcoming" => "user-assignment-upcoming",
                _ => "user-assignment-ended",
            }),
            status_class: if a.status == "ended" { "off" } else { "ok" },
        })
        .collect();
    let statuses = user
        .status_history
        .iter()
        .rev()
        .map(|c| {
            let reasons = if c.kind == "deactivation" {
                "deactivation_reasons"
            } else {
                "reactivation_reasons"
            };
            StatusRow {
                kind: lang.t(if c.kind == "deactivation" {
                    "user-change-deactivation"
                } else {
                    "user-change-reactivation"
                }),
                reason: label_in(&lists, reasons, &c.reason),
                date: lang.date(&c.effective_date),
                state: lang.t(match c.state.as_str() {
                    "scheduled" => "user-change-scheduled",
                    "cancelled" => "user-change-cancelled",
                    _ => "user-change-applied",
                }),
                order_number: c.order_number.clone().unwrap_or_default(),
                remarks: c.remarks.clone().unwrap_or_default(),
            }
        })
        .collect();
    let documents = documents
        .into_iter()
        .map(|d| DocumentRow {
            size: lang.t_with(
                "user-document-size",
                &[("kb", ((d.size + 1023) / 1024).max(1).into())],
            ),
            date: lang.date(&d.created_at),
            id: d.id,
            filename: d.filename,
        })
        .collect();
    let events = history
        .into_iter()
        .map(|e| EventRow {
            action: if KNOWN_EVENTS.contains(&e.action.as_str()) {
                lang.t(&format!("user-event-{}", e.action.replace(['.', '_'], "-")))
            } else {
                e.action.clone()
            },
            who: e.actor_username.unwrap_or_else(dash),
            when: lang.date_time(&e.occurred_at),
        })
        .collect();
    let mut actions = Vec::new();
    let mut link = |allowed: bool, href: String, key: &str, id: &'static str| {
        if allowed {
            actions.push(ActionLink {
                href,
                label: lang.t(key),
                id,
            });
        }
    };
    link(
        actor.can(Action::UserUpdate),
        format!("/users/{id}/edit"),
        "user-action-edit",
        "action-edit",
    );
    link(
        actor.can(Action::UserCredentials),
        format!("/users/{id}/credentials"),
        "user-action-credentials",
        "action-credentials",
    );
    link(
        actor.can(Action::UserAssign),
        format!("/users/{id}/assignments/new"),
        "user-action-assign",
        "action-assign",
    );
    if user.status == "active" {
        link(
            actor.can(Action::UserDeactivate),
            format!("/users/{id}/deactivate"),
            "user-action-deactivate",
            "action-deactivate",
        );
    } else {
        link(
            actor.can(Action::UserDeactivate),
            format!("/users/{id}/reactivate"),
            "user-action-reactivate",
            "action-reactivate",
        );
    }
    link(
        actor.can(Action::UserReplace),
        format!("/users/{id}/replace"),
        "user-action-replace",
        "action-replace",
    );
    let notice = match query.notice.as_deref() {
        Some("saved") => Some(lang.t("user-notice-saved")),
        Some("created") => Some(lang.t("user-notice-created")),
        Some("credentials") => Some(lang.t("user-notice-credentials")),
        Some("sessions") => Some(lang.t("user-notice-sessions")),
        Some("link") => Some(lang.t("user-notice-link")),
        _ => None,
    };
    let active = user.status == "active";
    let page = UserViewPage {
        f: Frame::of(&session),
        name: full_name(&user),
        status: lang.t(if active {
            "status-active"
        } else {
            "status-deactivated"
        }),
        status_class: if active { "ok" } else { "off" },
        username: user.username,
        notice,
        actions,
        demographic,
        administrative,
        assignments,
        statuses,
        documents,
        events,
        messages: super::notifications::message_rows(&state, actor, lang, &id).await,
        sessions: match actor.can(Action::UserSessions) {
            true => state
                .cadre
                .user_sessions(actor, &id)
                .await
                .ok()
                .map(|s| super::credentials::session_lines(lang, s)),
            false => None,
        },
        user_id: id,
    };
    render(&page, StatusCode::OK)
}

// ------------------------------------------------------------------ edit

pub async fn edit_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    let lang = session.lang;
    if let Err(e) = session.actor.require(Action::UserUpdate) {
        return service_error_page(lang, e);
    }
    let user = match state.cadre.get_user(&session.actor, &id).await {
        Ok(u) => u,
        Err(e) => return service_error_page(lang, e),
    };
    let lists = match lists(&state, &session.actor, false).await {
        Ok(l) => l,
        Err(e) => return service_error_page(lang, e),
    };
    let values = values_of(&user);
    let page = form_page(
        &session,
        &lists,
        FormInput {
            creating: false,
            user: Some(&user),
            values: &values,
            errors: Vec::new(),
            message: None,
        },
    );
    render(&page, StatusCode::OK)
}

fn patch_of(pairs: &Pairs) -> UserPatch {
    let scalar = |name: &str| Some(opt(one(pairs, name)));
    UserPatch {
        first_name: scalar("first_name"),
        last_name: scalar("last_name"),
        mobile_number: scalar("mobile_number"),
        father_or_husband_name: scalar("father_or_husband_name"),
        gender: scalar("gender"),
        date_of_birth: scalar("date_of_birth"),
        email: scalar("email"),
        correspondence_address: scalar("correspondence_address"),
        employment_type: scalar("employment_type"),
        date_of_employment: scalar("date_of_employment"),
        designation: scalar("designation"),
        department: scalar("department"),
        roles: Some(every(pairs, "roles")),
        jurisdictions: Some(codes(&one(pairs, "jurisdictions"))),
        ..UserPatch::default()
    }
}

pub async fn edit_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Form(mut pairs): Form<Pairs>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&one(&pairs, "_csrf")) {
        return refused;
    }
    let lang = session.lang;
    let version = one(&pairs, "version").trim().parse::<i64>().ok();
    let result = state
        .cadre
        .update_user(&session.actor, &meta, &id, version, patch_of(&pairs))
        .await;
    let (status, errors, message) = match result {
        Ok(_) => return Redirect::to(&format!("/users/{id}?notice=saved")).into_response(),
        Err(ServiceError::StaleVersion) => {
            (StatusCode::CONFLICT, Vec::new(), Some(lang.t("user-stale")))
        }
        Err(e) => match form_errors(lang, e, &pairs) {
            Ok(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
            Err(page) => return *page,
        },
    };
    let user = match state.cadre.get_user(&session.actor, &id).await {
        Ok(u) => u,
        Err(e) => return service_error_page(lang, e),
    };
    if status == StatusCode::CONFLICT {
        // Saving again deliberately overwrites the other change.
        pairs.retain(|(k, _)| k != "version");
        pairs.push(("version".into(), user.version.to_string()));
    }
    let lists = match lists(&state, &session.actor, false).await {
        Ok(l) => l,
        Err(e) => return service_error_page(lang, e),
    };
    let page = form_page(
        &session,
        &lists,
        FormInput {
            creating: false,
            user: Some(&user),
            values: &pairs,
            errors,
            message,
        },
    );
    render(&page, status)
}

// ------------------------------------------------------------------ create

pub async fn new_page(State(state): State<AppState>, session: UiSession) -> Response {
    let lang = session.lang;
    if let Err(e) = session.actor.require(Action::UserCreate) {
        return service_error_page(lang, e);
    }
    let lists = match lists(&state, &session.actor, true).await {
        Ok(l) => l,
        Err(e) => return service_error_page(lang, e),
    };
    let page = form_page(
        &session,
        &lists,
        FormInput {
            creating: true,
            user: None,
            values: &Vec::new(),
            errors: Vec::new(),
            message: None,
        },
    );
    render(&page, StatusCode::OK)
}

/// The credential chosen on a form, or the error of a mistyped confirmation.
fn credential_of(pairs: &Pairs, lang: Lang) -> (Credential, Option<Shown>) {
    match one(pairs, "credential.method").as_str() {
        "set" => {
            let password = one(pairs, "credential.password");
            let mismatch =
                (password != one(pairs, "credential.password_confirmation")).then(|| {
                    shown(
                        lang,
                        "credential.password_confirmation",
                        "password_mismatch",
                    )
                });
            (Credential::Set { password }, mismatch)
        }
        "none" => (Credential::None, None),
        "link-sms" => (
            Credential::Link {
                channel: "sms".into(),
            },
            None,
        ),
        "link-email" => (
            Credential::Link {
                channel: "email".into(),
            },
            None,
        ),
        _ => (Credential::Generate, None),
    }
}

fn new_user_of(pairs: &Pairs, credential: Credential) -> NewUser {
    let scalar = |name: &str| opt(one(pairs, name));
    let campaign = one(pairs, "assignments[0].campaign");
    let assignments = opt(campaign).map(|campaign| {
        vec![AssignmentInput {
            campaign,
            boundaries: codes(&one(pairs, "assignments[0].boundaries")),
            from_date: scalar("assignments[0].from_date"),
            till_date: scalar("assignments[0].till_date"),
            roles: Vec::new(),
        }]
    });
    NewUser {
        username: scalar("username"),
        credential: Some(credential),
        first_name: scalar("first_name"),
        last_name: scalar("last_name"),
        mobile_number: scalar("mobile_number"),
        father_or_husband_name: scalar("father_or_husband_name"),
        gender: scalar("gender"),
        date_of_birth: scalar("date_of_birth"),
        email: scalar("email"),
        correspondence_address: scalar("correspondence_address"),
        roles: Some(every(pairs, "roles")),
        employment_type: scalar("employment_type"),
        date_of_employment: scalar("date_of_employment"),
        designation: scalar("designation"),
        department: scalar("department"),
        jurisdictions: Some(codes(&one(pairs, "jurisdictions"))),
        assignments,
        ..NewUser::default()
    }
}

#[derive(Template)]
#[template(path = "user_password.html")]
pub struct PasswordPage {
    pub f: Frame,
    pub title: String,
    /// The user's page, with the notice of what was done.
    pub next: String,
    pub username: String,
    pub name: String,
    pub password: String,
}

/// The one page that shows a generated password; `notice` is what the user's page says
/// once the password has been noted.
fn password_page(
    session: &UiSession,
    title_key: &str,
    notice: &str,
    user: &UserView,
    password: String,
) -> Response {
    let page = PasswordPage {
        f: Frame::of(session),
        title: session.lang.t(title_key),
        next: format!("/users/{}?notice={notice}", user.id),
        username: user.username.clone(),
        name: full_name(user),
        password,
    };
    no_store(render(&page, StatusCode::OK))
}

pub async fn new_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&one(&pairs, "_csrf")) {
        return refused;
    }
    let lang = session.lang;
    let (credential, mismatch) = credential_of(&pairs, lang);
    let mut errors = Vec::new();
    let has_assignment_detail = ["boundaries", "from_date", "till_date"].iter().any(|f| {
        !one(&pairs, &format!("assignments[0].{f}"))
            .trim()
            .is_empty()
    });
    if has_assignment_detail && one(&pairs, "assignments[0].campaign").trim().is_empty() {
        errors.push(shown(lang, "assignments[0].campaign", "required"));
    }
    errors.extend(mismatch);
    if errors.is_empty() {
        let input = new_user_of(&pairs, credential);
        match state.cadre.create_user(&session.actor, &meta, input).await {
            Ok(created) => {
                return match created.generated_password {
                    Some(password) => password_page(
                        &session,
                        "user-created-title",
                        "created",
                        &created.user,
                        password,
                    ),
                    None => Redirect::to(&format!("/users/{}?notice=created", created.user.id))
                        .into_response(),
                };
            }
            Err(e) => match form_errors(lang, e, &pairs) {
                Ok(found) => errors = found,
                Err(page) => return *page,
            },
        }
    }
    let lists = match lists(&state, &session.actor, true).await {
        Ok(l) => l,
        Err(e) => return service_error_page(lang, e),
    };
    let page = form_page(
        &session,
        &lists,
        FormInput {
            creating: true,
            user: None,
            values: &pairs,
            errors,
            message: None,
        },
    );
    no_store(render(&page, StatusCode::UNPROCESSABLE_ENTITY))
}

// ------------------------------------------------------------------ credentials

#[derive(Template)]
#[template(path = "user_credentials.html")]
pub struct CredentialsPage {
    pub f: Frame,
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub method: String,
    pub errors: Vec<Shown>,
    pub password: Field,
    pub confirmation: Field,
}

fn credentials_form(
    session: &UiSession,
    user: &UserView,
    pairs: &Pairs,
    errors: Vec<Shown>,
) -> CredentialsPage {
    let lists = BTreeMap::new();
    let b = Builder {
        lang: session.lang,
        values: pairs,
        errors: &errors,
        required: &[],
        lists: &lists,
    };
    let password = b.field("credential.password", "user-field-password", "password");
    let confirmation = b.field(
        "credential.password_confirmation",
        "user-field-password-confirmation",
        "password",
    );
    CredentialsPage {
        f: Frame::of(session),
        user_id: user.id.clone(),
        username: user.username.clone(),
        name: full_name(user),
        method: match one(pairs, "credential.method").as_str() {
            m @ ("set" | "none" | "link-sms" | "link-email") => m.to_owned(),
            _ => "generate".to_owned(),
        },
        errors,
        password,
        confirmation,
    }
}

pub async fn credentials_page(
    State(state): State<AppState>,
    session: UiSession,
    Path(id): Path<String>,
) -> Response {
    let lang = session.lang;
    if let Err(e) = session.actor.require(Action::UserCredentials) {
        return service_error_page(lang, e);
    }
    let user = match state.cadre.get_user(&session.actor, &id).await {
        Ok(u) => u,
        Err(e) => return service_error_page(lang, e),
    };
    render(
        &credentials_form(&session, &user, &Vec::new(), Vec::new()),
        StatusCode::OK,
    )
}

pub async fn credentials_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&one(&pairs, "_csrf")) {
        return refused;
    }
    let lang = session.lang;
    let user = match state.cadre.get_user(&session.actor, &id).await {
        Ok(u) => u,
        Err(e) => return service_error_page(lang, e),
    };
    let (credential, mismatch) = credential_of(&pairs, lang);
    let errors = match mismatch {
        Some(m) => vec![m],
        None => match state
            .cadre
            .set_credentials(&session.actor, &meta, &id, credential)
            .await
        {
            Ok(result) => {
                return match result.generated_password {
                    Some(password) => password_page(
                        &session,
                        "user-credentials-done-title",
                        "credentials",
                        &user,
                        password,
                    ),
                    None => {
                        let notice = if one(&pairs, "credential.method").starts_with("link") {
                            "link"
                        } else {
                            "credentials"
                        };
                        Redirect::to(&format!("/users/{id}?notice={notice}")).into_response()
                    }
                };
            }
            Err(ServiceError::Validation(errors)) => errors
                .errors()
                .iter()
                .map(|e| show(lang, e, &pairs))
                .collect(),
            Err(e) => return service_error_page(lang, e),
        },
    };
    no_store(render(
        &credentials_form(&session, &user, &pairs, errors),
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

// ------------------------------------------------------------------ sessions

/// Ends every session of a user (a lost phone, a worker who left).
pub async fn sessions_revoke(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Form(form): Form<super::pages::CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    match state
        .cadre
        .revoke_sessions(&session.actor, &meta, &id)
        .await
    {
        Ok(()) => {
            Redirect::to(&format!("/users/{id}?notice=sessions#section-sessions")).into_response()
        }
        Err(e) => service_error_page(session.lang, e),
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
    fn every_language_has_every_user_message_of_english() {
        let english = keys(include_str!("../../locales/en/users.ftl"));
        assert!(english.len() > 40);
        for (code, source) in [
            ("pt", include_str!("../../locales/pt/users.ftl")),
            ("fr", include_str!("../../locales/fr/users.ftl")),
        ] {
            let theirs = keys(source);
            for key in &english {
                assert!(theirs.contains(key), "{code} lacks {key}");
                assert!(key.starts_with("user-"), "{key} is not prefixed user-");
            }
        }
    }

    #[test]
    fn every_error_code_and_event_has_a_message() {
        let english = keys(include_str!("../../locales/en/users.ftl"));
        for code in KNOWN_CODES {
            let key = format!("user-error-{}", code.replace('_', "-"));
            assert!(english.contains(&key.as_str()), "{key}");
        }
        for event in KNOWN_EVENTS {
            let key = format!("user-event-{}", event.replace(['.', '_'], "-"));
            assert!(english.contains(&key.as_str()), "{key}");
        }
    }

    #[test]
    fn errors_of_nested_fields_point_at_the_form_fields() {
        assert_eq!(
            form_field_of("assignments[0].boundaries[2]"),
            "assignments[0].boundaries"
        );
        assert_eq!(
            form_field_of("assignments[0].campaign"),
            "assignments[0].campaign"
        );
        assert_eq!(form_field_of("jurisdictions[1]"), "jurisdictions");
        assert_eq!(form_field_of("roles[0]"), "roles");
        assert_eq!(form_field_of("password"), "credential.password");
        assert_eq!(
            field_id("assignments[0].from_date"),
            "assignments-0-from_date"
        );
        assert_eq!(field_id("credential.password"), "credential-password");
        let pairs: Pairs = vec![("jurisdictions".into(), "TETE, NOPE".into())];
        assert_eq!(indexed_value("jurisdictions[1]", &pairs), "NOPE");
    }
}
