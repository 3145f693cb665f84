//! User accounts: create, read, edit, search, credentials; with the scope rules of
//! delegated administration applied to every call.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use cadre_domain::action::SYSTEM_ADMIN;
use cadre_domain::boundary::BoundaryPath;
use cadre_domain::dates::{parse_date, parse_date_of_birth};
use cadre_domain::limits;
use cadre_domain::mobile::search_digits;
use cadre_domain::username::{with_collision_serial, FormatError, UsernameParts};
use cadre_domain::{Action, FieldError, MasterData, MobileNumber, UserField, ValidationErrors};
use cadre_store::audit::AuditQuery;
use cadre_store::locks::Lockable;
use cadre_store::user_links::{self, Links};
use cadre_store::users::{self as store, UserQuery, UserQueryAny, UserRow, UserSort};
use cadre_store::writer::Writer;
use cadre_store::{Conn, Page, StoreError};

use crate::assignments::{AssignmentInput, AssignmentView};
use crate::audit::{decode_cursor_raw, encode_cursor, AuditEventView, Event};
use crate::credentials::links::Holder;
use crate::password::generate_password;
use crate::reference::Reference;
use crate::status::StatusChangeView;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 500;

/// `?limit=`: 50 by default, at most 500.
pub fn page_limit(limit: Option<i64>) -> Result<i64> {
    Ok(limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE))
}

/// A user as the API shows it. Never carries a credential.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct UserView {
    pub id: String,
    pub username: String,
    /// `active` or `deactivated`.
    pub status: String,
    pub profile_complete: bool,
    pub version: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// E.164.
    pub mobile_number: Option<String>,
    pub father_or_husband_name: Option<String>,
    pub gender: Option<String>,
    pub date_of_birth: Option<String>,
    pub email: Option<String>,
    pub correspondence_address: Option<String>,
    pub roles: Vec<String>,
    pub employment_type: Option<String>,
    pub date_of_employment: Option<String>,
    pub designation: Option<String>,
    pub department: Option<String>,
    pub jurisdictions: Vec<String>,
    /// Every assignment, ended ones included (newest first).
    pub assignments: Vec<AssignmentView>,
    pub must_change_password: bool,
    pub has_password: bool,
    /// The deactivation in force, or scheduled; null when none.
    pub deactivation: Option<StatusChangeView>,
    /// Every deactivation and reactivation, oldest first.
    pub status_history: Vec<StatusChangeView>,
    /// The id of the worker who replaced this user.
    pub replaced_by: Option<String>,
    /// The id of the worker this user replaced.
    pub replaces: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// How a user gets (or does not yet get) a credential.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credential {
    /// The administrator types a password.
    Set { password: String },
    /// cadre generates one, shown once in the response; it must be changed at first sign-in.
    Generate,
    /// An activation link sent to the user.
    Link { channel: String },
    /// No credential yet.
    None,
}

/// Body of `POST /api/v1/users`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Generated from the configured format when absent.
    pub username: Option<String>,
    /// Shorthand for `credential: {"method": "set", "password": …}`.
    pub password: Option<String>,
    pub credential: Option<Credential>,
    pub must_change_password: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile_number: Option<String>,
    pub father_or_husband_name: Option<String>,
    pub gender: Option<String>,
    pub date_of_birth: Option<String>,
    pub email: Option<String>,
    pub correspondence_address: Option<String>,
    pub roles: Option<Vec<String>>,
    pub employment_type: Option<String>,
    pub date_of_employment: Option<String>,
    pub designation: Option<String>,
    pub department: Option<String>,
    pub jurisdictions: Option<Vec<String>>,
    /// Campaign assignments to create with the user.
    pub assignments: Option<Vec<AssignmentInput>>,
}

impl NewUser {
    /// Refuses lists past their maximum before any of their items is looked up.
    pub(crate) fn check_sizes(&self) -> Result<()> {
        let mut errors = ValidationErrors::new();
        if let Some(roles) = &self.roles {
            errors.too_many("roles", roles.len(), limits::ROLES);
        }
        if let Some(jurisdictions) = &self.jurisdictions {
            errors.too_many("jurisdictions", jurisdictions.len(), limits::JURISDICTIONS);
        }
        if let Some(assignments) = &self.assignments {
            if !errors.too_many("assignments", assignments.len(), limits::ASSIGNMENTS) {
                for (i, a) in assignments.iter().enumerate() {
                    a.check_sizes(&format!("assignments[{i}]."), &mut errors);
                }
            }
        }
        Ok(errors.into_result()?)
    }
}

fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Body of `PATCH /api/v1/users/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Never editable: present → 422 `username_immutable`.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "double_option")]
    pub username: Option<Option<serde_json::Value>>,
    /// Changed through deactivate/reactivate: present → 422 `read_only`.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "double_option")]
    pub status: Option<Option<serde_json::Value>>,
    #[serde(default, deserialize_with = "double_option")]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub mobile_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub father_or_husband_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub date_of_birth: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub correspondence_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub employment_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub date_of_employment: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub designation: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub department: Option<Option<String>>,
    pub roles: Option<Vec<String>>,
    pub jurisdictions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserView,
    /// Only when the credential was generated; shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema, Default)]
pub struct CredentialResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UsernameSuggestion {
    pub username: String,
}

/// Query of `GET /api/v1/users`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserFilter {
    pub q: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
    pub mobile_number: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    pub campaign: Option<String>,
    pub boundary: Option<String>,
    pub status: Option<String>,
    pub department: Option<String>,
    pub employment_type: Option<String>,
    pub profile_complete: Option<bool>,
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// What an operation intends to do with a user: seeing needs the footprint to touch
/// the actor's scope, changing needs it wholly inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    View,
    Modify,
}

/// A new user checked and ready to insert.
pub(crate) struct PreparedUser {
    pub row: UserRow,
    pub roles: Vec<String>,
    pub jurisdictions: Vec<String>,
    /// The paths of `jurisdictions`, written with the user: the search reads them from
    /// the user's row.
    pub jurisdiction_paths: Vec<BoundaryPath>,
    pub assignments: Vec<crate::assignments::Draft>,
    pub credential: Credential,
    pub explicit_username: Option<String>,
    pub username_hint: Option<String>,
    pub generated_password: Option<String>,
}

pub(crate) struct LoadedUser {
    pub row: UserRow,
    pub roles: Vec<String>,
    pub jurisdictions: Vec<String>,
    pub links: Links,
}

/// The scalar person fields, in one place, so create and edit validate alike.
const PERSON_FIELDS: [UserField; 12] = [
    UserField::FirstName,
    UserField::LastName,
    UserField::MobileNumber,
    UserField::FatherOrHusbandName,
    UserField::Gender,
    UserField::DateOfBirth,
    UserField::Email,
    UserField::CorrespondenceAddress,
    UserField::EmploymentType,
    UserField::DateOfEmployment,
    UserField::Designation,
    UserField::Department,
];

impl NewUser {
    fn person_value(&self, field: UserField) -> Option<String> {
        match field {
            UserField::FirstName => self.first_name.clone(),
            UserField::LastName => self.last_name.clone(),
            UserField::MobileNumber => self.mobile_number.clone(),
            UserField::FatherOrHusbandName => self.father_or_husband_name.clone(),
            UserField::Gender => self.gender.clone(),
            UserField::DateOfBirth => self.date_of_birth.clone(),
            UserField::Email => self.email.clone(),
            UserField::CorrespondenceAddress => self.correspondence_address.clone(),
            UserField::EmploymentType => self.employment_type.clone(),
            UserField::DateOfEmployment => self.date_of_employment.clone(),
            UserField::Designation => self.designation.clone(),
            UserField::Department => self.department.clone(),
            UserField::Roles | UserField::Jurisdictions => None,
        }
    }
}

impl UserPatch {
    fn person_value(&self, field: UserField) -> Option<Option<String>> {
        match field {
            UserField::FirstName => self.first_name.clone(),
            UserField::LastName => self.last_name.clone(),
            UserField::MobileNumber => self.mobile_number.clone(),
            UserField::FatherOrHusbandName => self.father_or_husband_name.clone(),
            UserField::Gender => self.gender.clone(),
            UserField::DateOfBirth => self.date_of_birth.clone(),
            UserField::Email => self.email.clone(),
            UserField::CorrespondenceAddress => self.correspondence_address.clone(),
            UserField::EmploymentType => self.employment_type.clone(),
            UserField::DateOfEmployment => self.date_of_employment.clone(),
            UserField::Designation => self.designation.clone(),
            UserField::Department => self.department.clone(),
            UserField::Roles | UserField::Jurisdictions => None,
        }
    }
}

fn text_field(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "control characters are not allowed",
        ));
    }
    Ok(value.to_owned())
}

fn email(value: &str) -> Result<String, FieldError> {
    let invalid = || {
        FieldError::new(
            "email",
            "invalid_email",
            format!("'{value}' is not an email address"),
        )
    };
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
    if local.is_empty() || local.contains('@') || !domain_ok {
        return Err(invalid());
    }
    Ok(value.to_owned())
}

/// Validates one person field and writes its normalised value into `row`; `None`
/// (or an empty string) clears it.
fn apply_person_field(
    row: &mut UserRow,
    field: UserField,
    raw: Option<String>,
    cadre: &Cadre,
    master: &MasterData,
) -> Result<(), FieldError> {
    let value = raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let name = field.name();
    let today = cadre.clock.today();
    if field == UserField::MobileNumber {
        let number = value
            .map(|v| MobileNumber::parse(&v, cadre.settings.default_country))
            .transpose()?;
        row.mobile_number = number.as_ref().map(|n| n.e164().to_owned());
        row.mobile_national = number.map(|n| n.national().to_owned());
        return Ok(());
    }
    let normalised = match value {
        None => None,
        Some(v) => Some(match field {
            UserField::FirstName
            | UserField::LastName
            | UserField::FatherOrHusbandName
            | UserField::Designation => text_field(name, &v, 100)?,
            UserField::CorrespondenceAddress => text_field(name, &v, 500)?,
            UserField::Email => email(&v)?,
            UserField::Gender => master.resolve("genders", name, &v)?,
            UserField::EmploymentType => master.resolve("employment_types", name, &v)?,
            UserField::Department => master.resolve("departments", name, &v)?,
            UserField::DateOfBirth => parse_date_of_birth(&v, today)?.to_string(),
            UserField::DateOfEmployment => parse_date(name, &v)?.to_string(),
            UserField::MobileNumber | UserField::Roles | UserField::Jurisdictions => v,
        }),
    };
    let slot = match field {
        UserField::FirstName => &mut row.first_name,
        UserField::LastName => &mut row.last_name,
        UserField::FatherOrHusbandName => &mut row.father_or_husband_name,
        UserField::Gender => &mut row.gender,
        UserField::DateOfBirth => &mut row.date_of_birth,
        UserField::Email => &mut row.email,
        UserField::CorrespondenceAddress => &mut row.correspondence_address,
        UserField::EmploymentType => &mut row.employment_type,
        UserField::DateOfEmployment => &mut row.date_of_employment,
        UserField::Designation => &mut row.designation,
        UserField::Department => &mut row.department,
        UserField::MobileNumber | UserField::Roles | UserField::Jurisdictions => return Ok(()),
    };
    *slot = normalised;
    Ok(())
}

/// Which required fields `row` (with these roles and jurisdictions) lacks.
fn missing_required(
    cadre: &Cadre,
    row: &UserRow,
    roles: &[String],
    jurisdictions: &[String],
) -> Vec<UserField> {
    cadre
        .settings
        .required_fields
        .fields()
        .iter()
        .copied()
        .filter(|field| match field {
            UserField::Roles => roles.is_empty(),
            UserField::Jurisdictions => jurisdictions.is_empty(),
            UserField::FirstName => row.first_name.is_none(),
            UserField::LastName => row.last_name.is_none(),
            UserField::MobileNumber => row.mobile_number.is_none(),
            UserField::FatherOrHusbandName => row.father_or_husband_name.is_none(),
            UserField::Gender => row.gender.is_none(),
            UserField::DateOfBirth => row.date_of_birth.is_none(),
            UserField::Email => row.email.is_none(),
            UserField::CorrespondenceAddress => row.correspondence_address.is_none(),
            UserField::EmploymentType => row.employment_type.is_none(),
            UserField::DateOfEmployment => row.date_of_employment.is_none(),
            UserField::Designation => row.designation.is_none(),
            UserField::Department => row.department.is_none(),
        })
        .collect()
}

pub(crate) fn dedupe(values: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    values
        .iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

impl Cadre {
    /// Loads a user for `actor`, enforcing scope: invisible users do not exist (404);
    /// visible users outside one's governance, and system administrators for anyone
    /// else, cannot be changed (403).
    pub(crate) async fn load_target(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        id: &str,
        mode: Target,
    ) -> Result<LoadedUser> {
        let today = self.clock.today().to_string();
        if mode == Target::Modify {
            // Held until the transaction ends, so that what is checked below is still
            // true when the change commits: of ten identical requests, one changes
            // the user and the others find the change made.
            cadre_store::locks::lock(conn, Lockable::User, id).await?;
        }
        let loaded = user_links::get_loaded(conn, id, &today)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let footprint = loaded.footprint();
        let user_links::LoadedUser { row, links, .. } = loaded;
        if !actor.scope.sees(&footprint) {
            return Err(ServiceError::NotFound);
        }
        if mode == Target::Modify {
            if links.roles.iter().any(|r| r == SYSTEM_ADMIN) && !actor.is_system_admin() {
                return Err(ServiceError::forbidden(
                    "system_admin_only",
                    "only a system administrator may change a system administrator",
                ));
            }
            if !actor.scope.governs(&footprint) {
                return Err(ServiceError::forbidden(
                    "outside_scope",
                    "this user is also tied to boundaries outside your scope",
                ));
            }
        }
        Ok(LoadedUser {
            row,
            roles: links.roles.clone(),
            jurisdictions: links.jurisdictions.iter().map(|(c, _)| c.clone()).collect(),
            links,
        })
    }

    pub(crate) async fn user_view(&self, conn: &mut Conn, row: UserRow) -> Result<UserView> {
        self.user_views(conn, vec![row])
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound)
    }

    /// The view of a user just inserted with these links, in the order `user_views`
    /// reads them (codes sorted; assignments newest first).
    fn new_user_view(
        &self,
        p: &PreparedUser,
        mut assignments: Vec<cadre_store::assignments::AssignmentRow>,
    ) -> UserView {
        let sorted = |codes: &[String]| {
            let mut codes = codes.to_vec();
            codes.sort();
            codes.dedup();
            codes
        };
        assignments.sort_by(|a, b| {
            (b.from_date.as_str(), b.created_at.as_str())
                .cmp(&(a.from_date.as_str(), a.created_at.as_str()))
        });
        let today = self.clock.today();
        view(
            p.row.clone(),
            Related {
                roles: sorted(&p.roles),
                jurisdictions: sorted(&p.jurisdictions),
                assignments: assignments
                    .into_iter()
                    .map(|a| crate::assignments::view(a, today))
                    .collect(),
                status_history: Vec::new(),
            },
        )
    }

    pub(crate) async fn user_views(
        &self,
        conn: &mut Conn,
        rows: Vec<UserRow>,
    ) -> Result<Vec<UserView>> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let links = user_links::links_of(conn, &ids).await?;
        self.views_with_links(conn, rows, links).await
    }

    /// The views of users whose links are already read: assignments and status
    /// histories are read only for the users the links say have any.
    async fn views_with_links(
        &self,
        conn: &mut Conn,
        rows: Vec<UserRow>,
        mut links: HashMap<String, Links>,
    ) -> Result<Vec<UserView>> {
        let having = |has: fn(&Links) -> bool| -> Vec<String> {
            rows.iter()
                .filter(|r| links.get(&r.id).is_some_and(has))
                .map(|r| r.id.clone())
                .collect()
        };
        let with_assignments = having(|l| l.has_assignments);
        let with_history = having(|l| l.has_status_changes);
        let mut assignments = if with_assignments.is_empty() {
            HashMap::new()
        } else {
            cadre_store::assignments::of_users(conn, &with_assignments).await?
        };
        let mut history = if with_history.is_empty() {
            HashMap::new()
        } else {
            cadre_store::status_changes::of_users(conn, &with_history).await?
        };
        let today = self.clock.today();
        Ok(rows
            .into_iter()
            .map(|r| {
                let links = links.remove(&r.id).unwrap_or_default();
                let related = Related {
                    roles: links.roles,
                    jurisdictions: links.jurisdictions.into_iter().map(|(c, _)| c).collect(),
                    assignments: assignments
                        .remove(&r.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|a| crate::assignments::view(a, today))
                        .collect(),
                    status_history: history
                        .remove(&r.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(StatusChangeView::from)
                        .collect(),
                };
                view(r, related)
            })
            .collect())
    }

    /// Checks role codes: they exist, and the actor may hand each of them out.
    pub(crate) async fn check_roles(
        &self,
        conn: &mut Conn,
        reference: &Reference,
        actor: &Actor,
        roles: &[String],
        already: &[String],
        errors: &mut ValidationErrors,
    ) -> Result<()> {
        let known = reference.role_actions(conn, roles).await?;
        let mut granted = Vec::new();
        for (i, role) in roles.iter().enumerate() {
            match known.get(role) {
                None => errors.add(
                    format!("roles[{i}]"),
                    "unknown_role",
                    format!("'{role}' is not a role"),
                ),
                Some(actions) if !already.contains(role) => {
                    if role == SYSTEM_ADMIN && !actor.is_system_admin() {
                        return Err(ServiceError::forbidden(
                            "system_admin_only",
                            "only a system administrator may grant SYSTEM_ADMIN",
                        ));
                    }
                    granted.extend(actions.iter().cloned());
                }
                Some(_) => {}
            }
        }
        self.ensure_no_escalation(actor, &granted)
    }

    /// Checks boundary codes: they exist and lie inside the actor's scope.
    async fn check_jurisdictions(
        &self,
        conn: &mut Conn,
        reference: &Reference,
        actor: &Actor,
        codes: &[String],
        errors: &mut ValidationErrors,
    ) -> Result<Vec<BoundaryPath>> {
        let found = reference.boundaries(conn, codes).await?;
        let mut paths = Vec::with_capacity(codes.len());
        for (i, code) in codes.iter().enumerate() {
            let field = format!("jurisdictions[{i}]");
            match found.iter().find(|b| &b.code == code) {
                None => errors.add(
                    field,
                    "unknown_boundary",
                    format!("boundary '{code}' does not exist"),
                ),
                Some(b) if !actor.scope.covers(&b.path()) => errors.add(
                    field,
                    "boundary_outside_scope",
                    format!("boundary '{code}' is outside your scope"),
                ),
                Some(b) => paths.push(b.path()),
            }
        }
        Ok(paths)
    }

    pub async fn create_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        input: NewUser,
    ) -> Result<CreatedUser> {
        actor.require(Action::UserCreate)?;
        let mut prepared = {
            let mut conn = self.db.reader().await?;
            self.prepare_user(&mut conn, &Reference::default(), actor, input)
                .await?
        };
        // A generated username can collide with one created a moment ago; try again.
        for attempt in 0..5 {
            let mut tx = self.db.begin().await?;
            match self
                .insert_prepared(
                    &mut Writer::Now(&mut tx),
                    actor,
                    meta,
                    &mut prepared,
                    attempt,
                )
                .await
            {
                Ok(user) => {
                    tx.commit().await?;
                    return Ok(CreatedUser {
                        user,
                        generated_password: prepared.generated_password.take(),
                    });
                }
                Err(e) if e.is_unique_on("username") && prepared.explicit_username.is_none() => {}
                Err(e) if e.is_unique_on("username") => {
                    return Err(ServiceError::conflict(
                        "username_taken",
                        format!("the username '{}' is taken", prepared.row.username),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::conflict(
            "username_taken",
            "could not find a free username; give one explicitly",
        ))
    }

    /// Validates a new user completely (every failing field at once) and hashes its
    /// credential; nothing is written.
    pub(crate) async fn prepare_user(
        &self,
        conn: &mut Conn,
        reference: &Reference,
        actor: &Actor,
        input: NewUser,
    ) -> Result<PreparedUser> {
        input.check_sizes()?;
        let master = reference.master_data(self, conn).await?;
        let now_s = cadre_store::timestamp(self.clock.now());
        let mut errors = ValidationErrors::new();
        let mut row = UserRow {
            id: uuid::Uuid::now_v7().to_string(),
            status: "active".into(),
            version: 1,
            created_by: Some(actor.user_id.clone()),
            created_at: now_s.clone(),
            updated_at: now_s.clone(),
            ..UserRow::default()
        };
        for field in PERSON_FIELDS {
            if let Err(e) =
                apply_person_field(&mut row, field, input.person_value(field), self, master)
            {
                errors.push(e);
            }
        }
        let roles = dedupe(input.roles.as_deref().unwrap_or_default());
        let jurisdictions = dedupe(input.jurisdictions.as_deref().unwrap_or_default());
        let credential = match (input.credential.clone(), input.password.clone()) {
            (Some(_), Some(_)) => {
                errors.add(
                    "password",
                    "conflicting_fields",
                    "give either password or credential, not both",
                );
                Credential::None
            }
            (Some(c), None) => c,
            (None, Some(password)) => Credential::Set { password },
            (None, None) => Credential::None,
        };
        let explicit_username = match input
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(raw) => errors
                .check(self.settings.username_rule.parse(raw))
                .map(|u| u.into_string()),
            None => None,
        };
        self.check_roles(conn, reference, actor, &roles, &[], &mut errors)
            .await?;
        let jurisdiction_paths = self
            .check_jurisdictions(conn, reference, actor, &jurisdictions, &mut errors)
            .await?;
        let inputs: Vec<AssignmentInput> = input.assignments.clone().unwrap_or_default();
        if !inputs.is_empty() {
            actor.require(Action::UserAssign)?;
        }
        let mut assignments = Vec::with_capacity(inputs.len());
        for (i, a) in inputs.iter().enumerate() {
            if inputs[..i]
                .iter()
                .any(|earlier| earlier.campaign.trim() == a.campaign.trim())
            {
                errors.add(
                    format!("assignments[{i}].campaign"),
                    "already_assigned",
                    "one assignment per campaign",
                );
                continue;
            }
            let prefix = format!("assignments[{i}].");
            if let Some(draft) = self
                .check_assignment(
                    conn,
                    reference,
                    actor,
                    &prefix,
                    &a.campaign,
                    &a.boundaries,
                    a.from_date.as_deref(),
                    a.till_date.as_deref(),
                    &a.roles,
                    &mut errors,
                )
                .await?
            {
                assignments.push(draft);
            }
        }
        let missing = missing_required(self, &row, &roles, &jurisdictions);
        if !actor.scope.is_global() {
            // Only global administrators may leave a profile for later; a scoped
            // manager's new user must also land inside their scope.
            for field in &missing {
                errors.add(
                    field.name(),
                    "required",
                    format!("{} is required", field.name()),
                );
            }
            if jurisdictions.is_empty()
                && inputs.is_empty()
                && !missing.contains(&UserField::Jurisdictions)
            {
                errors.add(
                    "jurisdictions",
                    "required",
                    "give at least one boundary of your scope (or an assignment)",
                );
            }
        }
        row.profile_complete = missing.is_empty();
        let username_hint = explicit_username
            .is_none()
            .then(|| {
                jurisdictions
                    .first()
                    .or_else(|| assignments.first().and_then(|a| a.boundaries.first()))
                    .cloned()
            })
            .flatten();
        match &credential {
            Credential::Set { password } => {
                if let Err(e) = self.password_policy_for(conn, &roles).await?.check(
                    "credential.password",
                    password,
                    explicit_username.as_deref(),
                ) {
                    errors.push(e);
                }
            }
            Credential::Link { channel } => {
                if let Some(e) = crate::credentials::links::channel_problem(&row, channel) {
                    errors.push(e);
                }
            }
            Credential::Generate | Credential::None => {}
        }
        errors.into_result()?;
        let (hash, must_change, generated_password) = self
            .credential_material(&credential, explicit_username.as_deref())
            .await?;
        row.password_hash = hash;
        row.must_change_password = must_change || input.must_change_password.unwrap_or(false);
        row.password_changed_at = row.password_hash.as_ref().map(|_| now_s.clone());
        Ok(PreparedUser {
            row,
            roles,
            jurisdictions,
            jurisdiction_paths,
            assignments,
            credential,
            explicit_username,
            username_hint,
            generated_password,
        })
    }

    /// Inserts a prepared user, its links and assignments, and the audit event, through
    /// `writer` (at once, or with the rest of a bulk batch); the `attempt`-th free
    /// username is taken when none was given.
    pub(crate) async fn insert_prepared(
        &self,
        writer: &mut Writer<'_>,
        actor: &Actor,
        meta: &RequestMeta,
        p: &mut PreparedUser,
        attempt: u32,
    ) -> std::result::Result<UserView, InsertError> {
        p.row.username = match &p.explicit_username {
            Some(name) => name.clone(),
            None => {
                self.next_free_username(writer, &p.row, p.username_hint.as_deref(), attempt)
                    .await?
            }
        };
        writer
            .insert(store::insertion(
                &p.row,
                &p.jurisdiction_paths,
                p.assignments.iter().flat_map(|a| &a.paths),
            ))
            .await?;
        if let Credential::Link { channel } = &p.credential {
            self.issue_link(writer, &p.row, channel, Holder::New)
                .await?;
        }
        let mut rows = store::role_insertions(&p.row.id, &p.roles);
        rows.extend(store::jurisdiction_insertions(&p.row.id, &p.jurisdictions));
        let mut assignments = Vec::with_capacity(p.assignments.len());
        for draft in &p.assignments {
            let row = self.new_assignment_row(&p.row.id, draft.clone(), None);
            rows.extend(cadre_store::assignments::insertions(&row));
            assignments.push(row);
        }
        writer.insert_all(rows).await?;
        // Built from what was just written rather than read back: a bulk job creates
        // users by the thousand, and reading each back cost four statements.
        let view = self.new_user_view(p, assignments);
        let mut after = serde_json::to_value(&view).unwrap_or_default();
        after["credential_method"] = serde_json::json!(credential_name(&p.credential));
        self.record_into(
            writer,
            Some((&actor.user_id, &actor.username)),
            meta,
            Event::new("user.create")
                .target("user", &p.row.id, &p.row.username)
                .after(after),
        )
        .await?;
        Ok(view)
    }

    /// Hash, must-change flag and the password to show once, for a credential choice.
    async fn credential_material(
        &self,
        credential: &Credential,
        _username: Option<&str>,
    ) -> Result<(Option<String>, bool, Option<String>)> {
        match credential {
            Credential::Set { password } => {
                Ok((Some(self.hasher.hash(password).await?), false, None))
            }
            Credential::Generate => {
                let password = generate_password();
                Ok((
                    Some(self.hasher.hash(&password).await?),
                    true,
                    Some(password),
                ))
            }
            // The link is issued once the user row exists; until it is used there is
            // no password, and any old one stops working.
            Credential::None | Credential::Link { .. } => Ok((None, false, None)),
        }
    }

    /// The first free username for the configured format: `maria.lopes`, then
    /// `maria.lopes2`…; formats with `{serial}` count from 1.
    async fn next_free_username(
        &self,
        writer: &mut Writer<'_>,
        row: &UserRow,
        boundary: Option<&str>,
        skip: u32,
    ) -> Result<String> {
        let format = &self.settings.username_format;
        let parts = UsernameParts {
            first_name: row.first_name.as_deref(),
            last_name: row.last_name.as_deref(),
            mobile_national: row.mobile_national.as_deref(),
            boundary,
        };
        let missing = |e: FormatError| {
            ServiceError::invalid(
                "username",
                "required",
                format!(
                    "give a username, or {} for the format {}",
                    e.to_string()
                        .trim_start_matches("the username format needs "),
                    format.as_str()
                ),
            )
        };
        let base = format.render(&parts, 1).map_err(missing)?;
        let stem = format.stem(&parts).map_err(missing)?;
        let looked_up: Option<BTreeSet<String>> = writer
            .queue()
            .and_then(|queue| queue.taken_usernames.under(&stem))
            .map(|known| known.map(str::to_owned).collect());
        let mut taken = match looked_up {
            Some(known) => known,
            None => {
                // Two users of the same name created at once would both find the same
                // serial free; the second waits here until the first has committed.
                cadre_store::locks::lock_name(writer.conn(), "username", &stem).await?;
                store::usernames_starting_with(writer.conn(), &stem).await?
            }
        };
        // Users created earlier in the same bulk batch are not written yet.
        if let Some(queue) = writer.queue() {
            taken.extend(queue.usernames_under(&stem).map(str::to_owned));
        }
        let mut skipped = 0;
        for n in 1..100_000u32 {
            let candidate = if format.has_serial() {
                format.render(&parts, n).map_err(missing)?
            } else {
                with_collision_serial(&base, n)
            };
            if taken.contains(&candidate) || self.settings.username_rule.parse(&candidate).is_err()
            {
                if n == 1 && self.settings.username_rule.parse(&candidate).is_err() {
                    return Err(ServiceError::invalid("username", "invalid_username", format!("the generated username '{candidate}' does not follow the username rule; give one")));
                }
                continue;
            }
            if skipped < skip {
                skipped += 1;
                continue;
            }
            return Ok(candidate);
        }
        Err(ServiceError::conflict(
            "username_taken",
            "no free username for this name; give one explicitly",
        ))
    }

    pub async fn suggest_username(
        &self,
        actor: &Actor,
        first_name: Option<String>,
        last_name: Option<String>,
        mobile_number: Option<String>,
        boundary: Option<String>,
    ) -> Result<UsernameSuggestion> {
        actor.require(Action::UserCreate)?;
        let mut row = UserRow {
            first_name,
            last_name,
            ..UserRow::default()
        };
        if let Some(mobile) = mobile_number.filter(|m| !m.trim().is_empty()) {
            let number = MobileNumber::parse(&mobile, self.settings.default_country)?;
            row.mobile_national = Some(number.national().to_owned());
        }
        let mut conn = self.db.reader().await?;
        let username = self
            .next_free_username(&mut Writer::Now(&mut conn), &row, boundary.as_deref(), 0)
            .await?;
        Ok(UsernameSuggestion { username })
    }

    pub async fn get_user(&self, actor: &Actor, id: &str) -> Result<UserView> {
        actor.require(Action::UserRead)?;
        let mut conn = self.db.reader().await?;
        let target = self.load_target(&mut conn, actor, id, Target::View).await?;
        // The links were read with the row; reading them again would cost statements.
        let links = HashMap::from([(target.row.id.clone(), target.links)]);
        self.views_with_links(&mut conn, vec![target.row], links)
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound)
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        if_match: Option<i64>,
        patch: UserPatch,
    ) -> Result<UserView> {
        actor.require(Action::UserUpdate)?;
        let mut errors = ValidationErrors::new();
        if let Some(roles) = &patch.roles {
            errors.too_many("roles", roles.len(), limits::ROLES);
        }
        if let Some(jurisdictions) = &patch.jurisdictions {
            errors.too_many("jurisdictions", jurisdictions.len(), limits::JURISDICTIONS);
        }
        if patch.username.is_some() {
            errors.add(
                "username",
                "username_immutable",
                "a username can never be changed",
            );
        }
        if patch.status.is_some() {
            errors.add(
                "status",
                "read_only",
                "use the deactivate and reactivate operations",
            );
        }
        errors.clone().into_result()?;
        // Master data is read before the transaction, so the edit holds SQLite's one
        // writer no longer than its own statements.
        let reference = Reference::default();
        reference
            .master_data(self, &mut *self.db.reader().await?)
            .await?;
        let mut tx = self.db.begin().await?;
        let (after, _) = self
            .update_user_in(
                &mut tx, &reference, actor, meta, id, if_match, patch, errors,
            )
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The edit of [`Cadre::update_user`] inside `tx`; also answers whether anything
    /// changed (nothing is written, nor audited, when nothing would).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn update_user_in(
        &self,
        tx: &mut Conn,
        reference: &Reference,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        if_match: Option<i64>,
        patch: UserPatch,
        mut errors: ValidationErrors,
    ) -> Result<(UserView, bool)> {
        let target = self.load_target(tx, actor, id, Target::Modify).await?;
        let master = reference.master_data(self, tx).await?;
        if let Some(expected) = if_match {
            if expected != target.row.version {
                return Err(ServiceError::StaleVersion);
            }
        }
        let before = self.user_view(tx, target.row.clone()).await?;
        let mut row = target.row.clone();
        for field in PERSON_FIELDS {
            if let Some(value) = patch.person_value(field) {
                if let Err(e) = apply_person_field(&mut row, field, value, self, master) {
                    errors.push(e);
                }
            }
        }
        let roles = patch
            .roles
            .as_deref()
            .map(dedupe)
            .unwrap_or_else(|| target.roles.clone());
        let jurisdictions = patch
            .jurisdictions
            .as_deref()
            .map(dedupe)
            .unwrap_or_else(|| target.jurisdictions.clone());
        if patch.roles.is_some() {
            self.check_roles(tx, reference, actor, &roles, &target.roles, &mut errors)
                .await?;
            if target.roles.iter().any(|r| r == SYSTEM_ADMIN)
                && !roles.iter().any(|r| r == SYSTEM_ADMIN)
                && actor.user_id == row.id
            {
                errors.add(
                    "roles",
                    "cannot_remove_own_admin",
                    "you cannot remove SYSTEM_ADMIN from yourself",
                );
            }
        }
        if patch.jurisdictions.is_some() {
            self.check_jurisdictions(tx, reference, actor, &jurisdictions, &mut errors)
                .await?;
            if !actor.scope.is_global() && jurisdictions.is_empty() {
                errors.add(
                    "jurisdictions",
                    "required",
                    "a user you manage must keep a boundary of your scope",
                );
            }
        }
        // A complete profile must not lose a required field.
        let missing = missing_required(self, &row, &roles, &jurisdictions);
        if target.row.profile_complete {
            for field in &missing {
                errors.add(
                    field.name(),
                    "required",
                    format!("{} is required", field.name()),
                );
            }
        }
        errors.into_result()?;
        row.profile_complete = missing.is_empty();
        let same_set = |a: &[String], b: &[String]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            b.sort();
            a == b
        };
        if row == target.row
            && same_set(&roles, &target.roles)
            && same_set(&jurisdictions, &target.jurisdictions)
        {
            return Ok((before, false));
        }
        row.version = target.row.version + 1;
        row.updated_at = cadre_store::timestamp(self.clock.now());
        if !store::update(tx, &row, target.row.version).await? {
            return Err(ServiceError::StaleVersion);
        }
        if patch.roles.is_some() {
            store::replace_roles(tx, &row.id, &roles).await?;
        }
        if patch.jurisdictions.is_some() {
            store::replace_jurisdictions(tx, &row.id, &jurisdictions).await?;
        }
        let after = self.user_view(tx, row.clone()).await?;
        self.record_by(
            tx,
            actor,
            meta,
            Event::new("user.update")
                .target("user", &row.id, &row.username)
                .before(&before)
                .after(&after),
        )
        .await?;
        Ok((after, true))
    }

    /// Sets, generates or clears a user's credential; their sessions end.
    pub async fn set_credentials(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        credential: Credential,
    ) -> Result<CredentialResult> {
        actor.require(Action::UserCredentials)?;
        let target = {
            let mut conn = self.db.reader().await?;
            self.load_target(&mut conn, actor, id, Target::Modify)
                .await?
        };
        match &credential {
            Credential::Set { password } => {
                let mut conn = self.db.reader().await?;
                let roles = store::roles_of(&mut conn, std::slice::from_ref(&target.row.id))
                    .await?
                    .remove(&target.row.id)
                    .unwrap_or_default();
                self.password_policy_for(&mut conn, &roles).await?.check(
                    "credential.password",
                    password,
                    Some(&target.row.username),
                )?;
            }
            Credential::Link { channel } => {
                if let Some(e) = crate::credentials::links::channel_problem(&target.row, channel) {
                    return Err(ServiceError::Validation(e.into()));
                }
            }
            Credential::Generate | Credential::None => {}
        }
        let (hash, must_change, generated) = self
            .credential_material(&credential, Some(&target.row.username))
            .await?;
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        // Checked again with the user held: resets of one user apply one after the other.
        let target = self.load_target(&mut tx, actor, id, Target::Modify).await?;
        store::set_password(&mut tx, &target.row.id, hash.as_deref(), must_change, &now).await?;
        if let Credential::Link { channel } = &credential {
            self.issue_link(
                &mut Writer::Now(&mut tx),
                &target.row,
                channel,
                Holder::Existing,
            )
            .await?;
        }
        let ended = cadre_store::sessions::revoke_all_for_user(
            &mut tx,
            &target.row.id,
            None,
            "credential_reset",
            &now,
        )
        .await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.credentials").target("user", &target.row.id, &target.row.username).after(serde_json::json!({
                "method": credential_name(&credential), "must_change_password": must_change, "sessions_ended": ended,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(CredentialResult {
            generated_password: generated,
        })
    }

    pub async fn user_history(
        &self,
        actor: &Actor,
        id: &str,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> Result<Page<AuditEventView>> {
        actor.require(Action::UserRead)?;
        {
            let mut conn = self.db.reader().await?;
            self.load_target(&mut conn, actor, id, Target::View).await?;
        }
        let before = match cursor {
            Some(c) => {
                let raw = decode_cursor_raw(&c)?;
                let (at, id) = raw.split_once('|').ok_or_else(|| {
                    ServiceError::invalid(
                        "cursor",
                        "invalid_cursor",
                        "the cursor is not one this service issued",
                    )
                })?;
                Some((at.to_owned(), id.to_owned()))
            }
            None => None,
        };
        self.audit_page(AuditQuery {
            target: Some(id.to_owned()),
            before,
            limit: page_limit(limit)?,
            ..AuditQuery::default()
        })
        .await
    }

    pub async fn search_users(&self, actor: &Actor, filter: UserFilter) -> Result<Page<UserView>> {
        actor.require(Action::UserRead)?;
        let mut errors = ValidationErrors::new();
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let status = match clean(filter.status).as_deref() {
            None | Some("active") => Some("active".to_owned()),
            Some("deactivated") => Some("deactivated".to_owned()),
            Some("all") => None,
            Some(other) => {
                errors.add(
                    "status",
                    "invalid_value",
                    format!("'{other}' is not one of active, deactivated, all"),
                );
                None
            }
        };
        let (sort, descending) = match clean(filter.sort).as_deref() {
            None => (UserSort::Username, false),
            Some(s) => {
                let (desc, key) = s.strip_prefix('-').map_or((false, s), |k| (true, k));
                let sort = match key {
                    "username" => UserSort::Username,
                    "name" => UserSort::Name,
                    "created_at" => UserSort::CreatedAt,
                    "updated_at" => UserSort::UpdatedAt,
                    other => {
                        errors.add("sort", "invalid_value", format!("cannot sort by '{other}' (username, name, created_at, updated_at; '-' for descending)"));
                        UserSort::Username
                    }
                };
                (sort, desc)
            }
        };
        let after = match clean(filter.cursor) {
            Some(c) => match decode_cursor_raw(&c).ok().and_then(|raw| {
                raw.split_once('\u{1f}')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
            }) {
                Some(pair) => Some(pair),
                None => {
                    errors.add(
                        "cursor",
                        "invalid_cursor",
                        "the cursor is not one this service issued",
                    );
                    None
                }
            },
            None => None,
        };
        let mut conn = self.db.reader().await?;
        let boundary = match clean(filter.boundary) {
            Some(code) => match cadre_store::boundaries::get(&mut conn, &code).await? {
                Some(b) => Some(b.path()),
                None => {
                    errors.add(
                        "boundary",
                        "unknown_boundary",
                        format!("boundary '{code}' does not exist"),
                    );
                    None
                }
            },
            None => None,
        };
        let country = self.settings.default_country;
        let mobile_digits = match clean(filter.mobile_number) {
            Some(m) => {
                let digits = search_digits(&m, country);
                if digits.is_empty() {
                    errors.add(
                        "mobile_number",
                        "invalid_mobile_number",
                        "give at least one digit of the number",
                    );
                }
                Some(digits)
            }
            None => None,
        };
        errors.into_result()?;
        let query = UserQuery {
            q: clean(filter.q).map(|q| {
                let digits: String = q.chars().filter(char::is_ascii_digit).collect();
                UserQueryAny {
                    folded: cadre_domain::text::fold(&q),
                    lower: q.to_lowercase(),
                    digits: (digits.len() >= 3).then(|| search_digits(&q, country)),
                }
            }),
            name_words: clean(filter.name)
                .map(|n| {
                    cadre_domain::text::fold(&n)
                        .split(' ')
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            username_prefix: clean(filter.username).map(|u| u.to_lowercase()),
            mobile_digits,
            email_prefix: clean(filter.email).map(|e| e.to_lowercase()),
            role: clean(filter.role),
            boundary,
            status,
            department: clean(filter.department),
            employment_type: clean(filter.employment_type),
            profile_complete: filter.profile_complete,
            visible_within: (!actor.scope.is_global()).then(|| actor.scope.roots().to_vec()),
            campaign: clean(filter.campaign),
            today: self.clock.today().to_string(),
            sort,
            descending,
            after,
            limit: page_limit(filter.limit)?,
        };
        // The total and the page each read every match; with a second connection free
        // they run side by side.
        let (total, (rows, next_cursor)) = match self.db.try_reader() {
            Some(mut other) => tokio::try_join!(
                store::search_total(&mut other, &query),
                store::search_page(&mut conn, &query)
            )?,
            None => (
                store::search_total(&mut conn, &query).await?,
                store::search_page(&mut conn, &query).await?,
            ),
        };
        let items = self.user_views(&mut conn, rows).await?;
        Ok(Page {
            items,
            next_cursor: next_cursor.map(|c| encode_cursor(&c)),
            total,
        })
    }
}

fn credential_name(credential: &Credential) -> &'static str {
    match credential {
        Credential::Set { .. } => "set",
        Credential::Generate => "generate",
        Credential::Link { .. } => "link",
        Credential::None => "none",
    }
}

/// What a user view carries besides the user's own row.
#[derive(Default)]
pub(crate) struct Related {
    pub roles: Vec<String>,
    pub jurisdictions: Vec<String>,
    pub assignments: Vec<AssignmentView>,
    pub status_history: Vec<StatusChangeView>,
}

pub(crate) fn view(r: UserRow, related: Related) -> UserView {
    let deactivation = related
        .status_history
        .iter()
        .rev()
        .find(|c| {
            c.kind == "deactivation"
                && (c.state == "scheduled" || (c.state == "applied" && r.status == "deactivated"))
        })
        .cloned();
    UserView {
        has_password: r.password_hash.is_some(),
        id: r.id,
        username: r.username,
        status: r.status,
        profile_complete: r.profile_complete,
        version: r.version,
        first_name: r.first_name,
        last_name: r.last_name,
        mobile_number: r.mobile_number,
        father_or_husband_name: r.father_or_husband_name,
        gender: r.gender,
        date_of_birth: r.date_of_birth,
        email: r.email,
        correspondence_address: r.correspondence_address,
        roles: related.roles,
        employment_type: r.employment_type,
        date_of_employment: r.date_of_employment,
        designation: r.designation,
        department: r.department,
        jurisdictions: related.jurisdictions,
        assignments: related.assignments,
        must_change_password: r.must_change_password,
        deactivation,
        status_history: related.status_history,
        replaced_by: r.replaced_by,
        replaces: r.replaces,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

/// Why inserting a user failed: a username collision is retried, anything else is not.
pub(crate) enum InsertError {
    Store(StoreError),
    Service(ServiceError),
}

impl InsertError {
    pub(crate) fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, InsertError::Store(e) if e.is_unique_on(needle))
    }
}

impl From<StoreError> for InsertError {
    fn from(e: StoreError) -> Self {
        InsertError::Store(e)
    }
}

impl From<ServiceError> for InsertError {
    fn from(e: ServiceError) -> Self {
        InsertError::Service(e)
    }
}

impl From<InsertError> for ServiceError {
    fn from(e: InsertError) -> Self {
        match e {
            InsertError::Store(e) => e.into(),
            InsertError::Service(e) => e,
        }
    }
}
