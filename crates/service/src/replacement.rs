//! Replacing a worker (the CHT practice "new contact and new user on the existing
//! place"): the new worker takes over the old one's open assignments from a date, the
//! old one's end the day before, the old one is deactivated, and both stay linked.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::{Action, FieldError, ValidationErrors};
use cadre_store::assignments::{self as assignment_store, AssignmentRow};
use cadre_store::users::UserRow;
use cadre_store::writer::Writer;
use cadre_store::Conn;

use crate::audit::Event;
use crate::reference::Reference;
use crate::status::{DeactivateRequest, Deactivation};
use crate::users::{NewUser, PreparedUser, Target, UserView};
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// Who replaces: a new user to create, or the id of an existing one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Replacement {
    Existing(String),
    New(Box<NewUser>),
}

/// Body of `POST /api/v1/users/{id}/replace`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRequest {
    pub replacement: Replacement,
    /// The new worker's first day; today when absent.
    pub effective_date: Option<String>,
    /// The old worker's deactivation reason; REPLACED when absent.
    pub reason: Option<String>,
    pub order_number: Option<String>,
    pub remarks: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplaceResult {
    pub old_user: UserView,
    pub new_user: UserView,
    /// Shown once when the new user's credential was generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

/// The worker taking over: a user prepared to be created, or an existing user's id.
pub(crate) enum Successor<'a> {
    Existing(&'a str),
    New(&'a mut PreparedUser),
}

/// The new worker takes the old one's place: unless told otherwise, the same roles and
/// jurisdictions.
pub(crate) fn in_place_of(
    mut input: NewUser,
    roles: &[String],
    jurisdictions: &[String],
) -> NewUser {
    if input.jurisdictions.is_none() {
        input.jurisdictions = Some(jurisdictions.to_vec());
    }
    if input.roles.is_none() {
        input.roles = Some(roles.to_vec());
    }
    input
}

/// Only an active worker who has not been replaced yet can be replaced.
pub(crate) fn check_replaceable(old: &UserRow) -> Result<()> {
    if old.replaced_by.is_some() {
        return Err(ServiceError::conflict(
            "already_replaced",
            "this user has already been replaced",
        ));
    }
    if old.status != "active" {
        return Err(ServiceError::conflict(
            "user_deactivated",
            "a deactivated user cannot be replaced; reactivate them first",
        ));
    }
    Ok(())
}

/// Names the new user's fields under `replacement.` so the client knows which part failed.
fn nested(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Validation(errors) => {
            let mut out = ValidationErrors::new();
            for e in errors.into_errors() {
                out.push(FieldError {
                    field: format!("replacement.{}", e.field),
                    ..e
                });
            }
            ServiceError::Validation(out)
        }
        other => other,
    }
}

impl Cadre {
    pub async fn replace_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        old_id: &str,
        request: ReplaceRequest,
    ) -> Result<ReplaceResult> {
        actor.require(Action::UserReplace)?;
        let effective = self.date_or_today("effective_date", request.effective_date.as_deref())?;
        let deactivation: Deactivation = self
            .check_deactivation(&DeactivateRequest {
                reason: request.reason.clone().unwrap_or_else(|| "REPLACED".into()),
                effective_date: Some(effective.to_string()),
                order_number: request.order_number.clone(),
                remarks: request.remarks.clone(),
                document_ids: Vec::new(),
            })
            .await?;
        let mut prepared = match &request.replacement {
            Replacement::New(input) => {
                actor.require(Action::UserCreate)?;
                let mut conn = self.db.reader().await?;
                let old = self
                    .load_target(&mut conn, actor, old_id, Target::Modify)
                    .await?;
                let input = in_place_of((**input).clone(), &old.roles, &old.jurisdictions);
                Some(
                    self.prepare_user(&mut conn, &Reference::default(), actor, input)
                        .await
                        .map_err(nested)?,
                )
            }
            Replacement::Existing(_) => None,
        };

        let mut tx = self.db.begin().await?;
        let successor = match (&request.replacement, prepared.as_mut()) {
            (Replacement::Existing(id), _) => Successor::Existing(id.trim()),
            (Replacement::New(_), Some(p)) => Successor::New(p),
            (Replacement::New(_), None) => {
                return Err(ServiceError::Internal(
                    "replacement prepared without a user".into(),
                ))
            }
        };
        let (old_row, new_row) = self
            .replace_in(
                &mut tx,
                actor,
                meta,
                old_id,
                successor,
                effective,
                deactivation,
            )
            .await?;
        let old_user = self.user_view(&mut tx, old_row).await?;
        let new_user = self.user_view(&mut tx, new_row).await?;
        tx.commit().await?;
        Ok(ReplaceResult {
            old_user,
            new_user,
            generated_password: prepared.and_then(|p| p.generated_password),
        })
    }

    /// Replaces a worker on `tx`: creates or takes the successor, hands over every
    /// assignment open on the effective date, deactivates the old worker and links the
    /// two. Returns the old and the new user as they are afterwards.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn replace_in(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        meta: &RequestMeta,
        old_id: &str,
        successor: Successor<'_>,
        effective: NaiveDate,
        deactivation: Deactivation,
    ) -> Result<(UserRow, UserRow)> {
        let old = self.load_target(tx, actor, old_id, Target::Modify).await?;
        check_replaceable(&old.row)?;
        let new_id = match successor {
            Successor::Existing(id) => {
                let new = self
                    .load_target(tx, actor, id, Target::Modify)
                    .await
                    .map_err(|e| match e {
                        ServiceError::NotFound => ServiceError::invalid(
                            "replacement",
                            "unknown_user",
                            "no such user in your scope",
                        ),
                        other => other,
                    })?;
                if new.row.id == old.row.id {
                    return Err(ServiceError::invalid(
                        "replacement",
                        "same_user",
                        "a user cannot replace themselves",
                    ));
                }
                if new.row.status != "active" {
                    return Err(ServiceError::conflict(
                        "replacement_deactivated",
                        "the replacement is deactivated",
                    ));
                }
                new.row.id
            }
            Successor::New(p) => {
                self.insert_prepared(&mut Writer::Now(tx), actor, meta, p, 0)
                    .await
                    .map_err(|e| match e {
                        e if e.is_unique_on("username") => ServiceError::conflict(
                            "username_taken",
                            format!("the username '{}' is taken", p.row.username),
                        ),
                        e => e.into(),
                    })?;
                p.row.id.clone()
            }
        };

        // Hand over every assignment still open on the effective date.
        let today = self.clock.today();
        let effective_s = effective.to_string();
        let now = cadre_store::timestamp(self.clock.now());
        let new_assignments = assignment_store::of_users(tx, std::slice::from_ref(&new_id))
            .await?
            .remove(&new_id)
            .unwrap_or_default();
        let old_assignments = assignment_store::of_users(tx, std::slice::from_ref(&old.row.id))
            .await?
            .remove(&old.row.id)
            .unwrap_or_default();
        let mut handed_over = Vec::new();
        for a in old_assignments
            .into_iter()
            .filter(|a| a.till_date >= effective_s && a.ended_on.is_none())
        {
            if new_assignments
                .iter()
                .any(|n| n.campaign_code == a.campaign_code && n.till_date >= effective_s)
            {
                return Err(ServiceError::conflict(
                    "already_assigned",
                    format!(
                        "the replacement already has an open assignment in campaign '{}'",
                        a.campaign_code
                    ),
                ));
            }
            let taken = AssignmentRow {
                id: uuid::Uuid::now_v7().to_string(),
                user_id: new_id.clone(),
                from_date: a.from_date.clone().max(effective_s.clone()),
                ended_on: None,
                end_reason: None,
                takes_over: Some(a.id.clone()),
                created_at: now.clone(),
                updated_at: now.clone(),
                ..a.clone()
            };
            let ended = self.end_in(&a, effective - Duration::days(1), "replaced")?;
            assignment_store::update(tx, &ended).await?;
            assignment_store::insert(tx, &taken).await?;
            handed_over.push(serde_json::json!({"from": ended.id, "to": taken.id, "campaign": taken.campaign_code}));
        }

        self.deactivate_in(tx, actor, meta, &old.row, deactivation)
            .await?;
        cadre_store::users::link_replacement(tx, &old.row.id, &new_id, &now).await?;
        let old_row = cadre_store::users::get_by_id(tx, &old.row.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let new_row = cadre_store::users::get_by_id(tx, &new_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let details = serde_json::json!({
            "old_user": old_row.username, "new_user": new_row.username,
            "effective_date": effective_s, "assignments": handed_over,
            "scheduled": effective > today,
        });
        self.record_by(
            tx,
            actor,
            meta,
            Event::new("user.replace")
                .target("user", &old_row.id, &old_row.username)
                .after(&details),
        )
        .await?;
        self.record_by(
            tx,
            actor,
            meta,
            Event::new("user.replaces")
                .target("user", &new_row.id, &new_row.username)
                .after(&details),
        )
        .await?;
        Ok((old_row, new_row))
    }
}
