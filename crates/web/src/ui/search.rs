//! The user search page: free text plus every filter of the API's user search (role,
//! campaign, boundary, department, employment type, status, profile completeness) and a
//! sort order. A plain GET form, so it works without JavaScript; `app.js` refreshes the
//! results while the person types or changes a filter.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use cadre_service::campaigns::CampaignFilter;
use cadre_service::users::UserFilter;
use cadre_service::{Actor, ServiceError};

use super::i18n::Lang;
use super::pages::{render, service_error_page, Frame};
use super::session::{urlencode, UiSession};
use crate::AppState;

/// Results per page: small enough for a slow connection.
const PAGE_SIZE: i64 = 50;

/// The sort orders offered, with their catalogue keys; the first is the default.
const SORTS: [(&str, &str); 5] = [
    ("username", "sort-username"),
    ("name", "sort-name"),
    ("-name", "sort-name-desc"),
    ("-created_at", "sort-newest"),
    ("-updated_at", "sort-changed"),
];

/// One option of a filter's list.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A filter shown as a list: its query name, label and options ("any" first).
pub struct SelectFilter {
    pub name: &'static str,
    pub label: String,
    pub options: Vec<Opt>,
}

struct UserRow {
    id: String,
    username: String,
    name: String,
    mobile: String,
    roles: String,
    status: String,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    f: Frame,
    can_create: bool,
    q: String,
    boundary: String,
    selects: Vec<SelectFilter>,
    filtered: bool,
    error: Option<String>,
    rows: Vec<UserRow>,
    count_text: String,
    next_link: Option<String>,
}

/// The query string of the search form, exactly as the API names its filters.
#[derive(Deserialize, Default, Clone)]
pub struct UserSearchQuery {
    q: Option<String>,
    role: Option<String>,
    campaign: Option<String>,
    boundary: Option<String>,
    department: Option<String>,
    employment_type: Option<String>,
    status: Option<String>,
    profile_complete: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl UserSearchQuery {
    fn status(&self) -> &'static str {
        match self.status.as_deref() {
            Some("deactivated") => "deactivated",
            Some("all") => "all",
            _ => "active",
        }
    }

    fn profile_complete(&self) -> Option<bool> {
        match self.profile_complete.as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }
    }

    fn sort(&self) -> &'static str {
        let wanted = self.sort.as_deref().unwrap_or_default();
        SORTS
            .iter()
            .map(|(code, _)| *code)
            .find(|code| *code == wanted)
            .unwrap_or(SORTS[0].0)
    }

    fn filter(&self) -> UserFilter {
        UserFilter {
            q: given(&self.q),
            role: given(&self.role),
            campaign: given(&self.campaign),
            boundary: given(&self.boundary),
            department: given(&self.department),
            employment_type: given(&self.employment_type),
            status: Some(self.status().to_owned()),
            profile_complete: self.profile_complete(),
            sort: Some(self.sort().to_owned()),
            cursor: given(&self.cursor),
            limit: Some(PAGE_SIZE),
            ..UserFilter::default()
        }
    }

    /// Whether a filter beyond the text and the default status is in use, so the
    /// folded filter panel opens by itself.
    fn narrowed(&self) -> bool {
        [
            &self.role,
            &self.campaign,
            &self.boundary,
            &self.department,
            &self.employment_type,
            &self.profile_complete,
        ]
        .iter()
        .any(|v| given(v).is_some())
            || self.status() != "active"
            || self.sort() != SORTS[0].0
    }

    /// This search's address with another cursor, for the next page.
    fn link_with_cursor(&self, cursor: &str) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (name, value) in [
            ("q", given(&self.q)),
            ("role", given(&self.role)),
            ("campaign", given(&self.campaign)),
            ("boundary", given(&self.boundary)),
            ("department", given(&self.department)),
            ("employment_type", given(&self.employment_type)),
            ("profile_complete", given(&self.profile_complete)),
        ] {
            if let Some(v) = value {
                pairs.push((name, v));
            }
        }
        pairs.push(("status", self.status().to_owned()));
        pairs.push(("sort", self.sort().to_owned()));
        pairs.push(("cursor", cursor.to_owned()));
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", urlencode(&v)))
            .collect();
        format!("/users?{}", query.join("&"))
    }
}

/// The choices of the list filters. A list the person may not read is simply empty
/// (the service decides); the current value stays selectable either way.
struct Choices {
    roles: Vec<(String, String)>,
    campaigns: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    employment_types: Vec<(String, String)>,
}

fn allowed<T>(result: Result<T, ServiceError>) -> Result<Option<T>, ServiceError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ServiceError::Forbidden { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn choices(state: &AppState, actor: &Actor) -> Result<Choices, ServiceError> {
    let roles = allowed(state.cadre.list_roles(actor).await)?
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    let filter = CampaignFilter {
        limit: Some(500),
        ..CampaignFilter::default()
    };
    let campaigns = allowed(state.cadre.list_campaigns(actor, filter).await)?
        .map(|page| page.items)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.code.clone(), format!("{} ({})", c.name, c.code)))
        .collect();
    let mut lists = allowed(state.cadre.master_data_view(actor).await)?
        .map(|m| m.lists)
        .unwrap_or_default();
    let mut list = |name: &str| -> Vec<(String, String)> {
        lists
            .remove(name)
            .unwrap_or_default()
            .into_iter()
            .map(|i| (i.code, i.label))
            .collect()
    };
    Ok(Choices {
        departments: list("departments"),
        employment_types: list("employment_types"),
        roles,
        campaigns,
    })
}

fn select(
    lang: Lang,
    name: &'static str,
    label_key: &str,
    any_key: &str,
    current: &str,
    items: Vec<(String, String)>,
) -> SelectFilter {
    let mut options = vec![Opt {
        value: String::new(),
        label: lang.t(any_key),
        selected: current.is_empty(),
    }];
    let mut found = current.is_empty();
    for (value, label) in items {
        let selected = value == current;
        found |= selected;
        options.push(Opt {
            value,
            label,
            selected,
        });
    }
    if !found {
        options.push(Opt {
            value: current.to_owned(),
            label: current.to_owned(),
            selected: true,
        });
    }
    SelectFilter {
        name,
        label: lang.t(label_key),
        options,
    }
}

fn fixed(
    lang: Lang,
    name: &'static str,
    label_key: &str,
    current: &str,
    items: &[(&str, &str)],
) -> SelectFilter {
    SelectFilter {
        name,
        label: lang.t(label_key),
        options: items
            .iter()
            .map(|(value, key)| Opt {
                value: (*value).to_owned(),
                label: lang.t(key),
                selected: *value == current,
            })
            .collect(),
    }
}

pub async fn users(
    State(state): State<AppState>,
    session: UiSession,
    Query(query): Query<UserSearchQuery>,
) -> Response {
    let lang = session.lang;
    let choices = match choices(&state, &session.actor).await {
        Ok(c) => c,
        Err(e) => return service_error_page(lang, e),
    };
    let (rows, total, next, error) = match state
        .cadre
        .search_users(&session.actor, query.filter())
        .await
    {
        Ok(page) => (page.items, page.total, page.next_cursor, None),
        Err(ServiceError::Validation(errors)) => {
            let fields: Vec<String> = errors.errors().iter().map(|e| e.field.clone()).collect();
            let message = lang.t_with(
                "search-invalid-filter",
                &[("fields", fields.join(", ").into())],
            );
            (Vec::new(), 0, None, Some(message))
        }
        Err(e) => return service_error_page(lang, e),
    };
    let rows = rows
        .into_iter()
        .map(|u| UserRow {
            name: format!(
                "{} {}",
                u.first_name.unwrap_or_default(),
                u.last_name.unwrap_or_default()
            )
            .trim()
            .to_owned(),
            mobile: u.mobile_number.unwrap_or_default(),
            roles: u.roles.join(", "),
            status_class: if u.status == "active" { "ok" } else { "off" },
            status: lang.t(if u.status == "active" {
                "status-active"
            } else {
                "status-deactivated"
            }),
            id: u.id,
            username: u.username,
        })
        .collect();
    let text = |v: &Option<String>| given(v).unwrap_or_default();
    let profile = query.profile_complete.clone().unwrap_or_default();
    let profile = if profile == "true" || profile == "false" {
        profile
    } else {
        String::new()
    };
    let sorts: Vec<(&str, &str)> = SORTS.to_vec();
    let selects = vec![
        select(
            lang,
            "role",
            "filter-role",
            "filter-any",
            &text(&query.role),
            choices.roles,
        ),
        select(
            lang,
            "campaign",
            "filter-campaign",
            "filter-any",
            &text(&query.campaign),
            choices.campaigns,
        ),
        select(
            lang,
            "department",
            "filter-department",
            "filter-any",
            &text(&query.department),
            choices.departments,
        ),
        select(
            lang,
            "employment_type",
            "filter-employment-type",
            "filter-any",
            &text(&query.employment_type),
            choices.employment_types,
        ),
        fixed(
            lang,
            "status",
            "filter-status",
            query.status(),
            &[
                ("active", "status-active"),
                ("deactivated", "status-deactivated"),
                ("all", "filter-status-all"),
            ],
        ),
        fixed(
            lang,
            "profile_complete",
            "filter-profile",
            &profile,
            &[
                ("", "filter-any"),
                ("true", "filter-profile-complete"),
                ("false", "filter-profile-incomplete"),
            ],
        ),
        fixed(lang, "sort", "filter-sort", query.sort(), &sorts),
    ];
    let view = UsersPage {
        can_create: session.actor.can(cadre_domain::Action::UserCreate),
        count_text: lang.t_with("results-count", &[("count", total.into())]),
        f: Frame::of(&session),
        q: text(&query.q),
        boundary: text(&query.boundary),
        selects,
        filtered: query.narrowed(),
        error,
        rows,
        next_link: next.map(|c| query.link_with_cursor(&c)),
    };
    render(&view, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_every_filter_and_unknown_sorts_fall_back() {
        let query = UserSearchQuery {
            q: Some("lopes".into()),
            role: Some("DISTRIBUTOR".into()),
            boundary: Some(" MZ-TETE ".into()),
            profile_complete: Some("false".into()),
            status: Some("all".into()),
            sort: Some("-created_at".into()),
            ..UserSearchQuery::default()
        };
        assert_eq!(
            query.link_with_cursor("c 1"),
            "/users?q=lopes&role=DISTRIBUTOR&boundary=MZ-TETE&profile_complete=false&status=all&sort=-created_at&cursor=c+1"
        );
        assert!(query.narrowed());
        let filter = query.filter();
        assert_eq!(filter.profile_complete, Some(false));
        assert_eq!(filter.boundary.as_deref(), Some("MZ-TETE"));
        let plain = UserSearchQuery {
            sort: Some("password".into()),
            ..UserSearchQuery::default()
        };
        assert_eq!(plain.sort(), "username");
        assert_eq!(plain.status(), "active");
        assert!(!plain.narrowed());
    }
}
