//! Assignments of users to campaigns and boundaries, with dates clamped to the
//! campaign's window, campaign-specific roles, ending as history, and moving.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::dates::parse_date;
use cadre_domain::limits;
use cadre_domain::{Action, BoundaryPath, ValidationErrors};
use cadre_store::assignments::{self as store, AssignmentRow};
use cadre_store::campaigns::CampaignRow;
use cadre_store::Conn;

use crate::audit::Event;
use crate::reference::Reference;
use crate::users::Target;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// An assignment as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct AssignmentView {
    pub id: String,
    pub user_id: String,
    pub campaign: String,
    pub boundaries: Vec<String>,
    /// The first day covered (clamped to the campaign's window).
    pub from_date: String,
    /// The last day covered: the planned end clamped to the campaign, or the day it ended.
    pub till_date: String,
    /// Campaign-specific roles, on top of the user's global roles.
    pub roles: Vec<String>,
    /// `upcoming`, `active` or `ended`, computed from the dates and today.
    pub status: String,
    pub ended_on: Option<String>,
    pub end_reason: Option<String>,
    /// The assignment this one took over when a worker was replaced.
    pub takes_over: Option<String>,
}

pub(crate) fn view(a: AssignmentRow, today: NaiveDate) -> AssignmentView {
    let today = today.to_string();
    let status = if a.till_date < today || a.till_date < a.from_date {
        "ended"
    } else if a.from_date > today {
        "upcoming"
    } else {
        "active"
    };
    AssignmentView {
        id: a.id,
        user_id: a.user_id,
        campaign: a.campaign_code,
        boundaries: a.boundaries,
        from_date: a.from_date,
        till_date: a.till_date,
        roles: a.roles,
        status: status.to_owned(),
        ended_on: a.ended_on,
        end_reason: a.end_reason,
        takes_over: a.takes_over,
    }
}

/// Body of `POST /api/v1/users/{id}/assignments` (and of `assignments` in a new user).
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    pub campaign: String,
    pub boundaries: Vec<String>,
    /// Defaults to the campaign's start; clamped to it.
    pub from_date: Option<String>,
    /// Defaults to the campaign's end; clamped to it.
    pub till_date: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

impl AssignmentInput {
    /// Records `too_many` for its lists, their fields under `prefix`.
    pub(crate) fn check_sizes(&self, prefix: &str, errors: &mut ValidationErrors) {
        errors.too_many(
            &format!("{prefix}boundaries"),
            self.boundaries.len(),
            limits::ASSIGNMENT_BOUNDARIES,
        );
        errors.too_many(&format!("{prefix}roles"), self.roles.len(), limits::ROLES);
    }
}

/// Body of `PATCH /api/v1/assignments/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AssignmentPatch {
    pub boundaries: Option<Vec<String>>,
    pub from_date: Option<String>,
    pub till_date: Option<String>,
    pub roles: Option<Vec<String>>,
}

/// Body of `POST /api/v1/assignments/{id}/end`.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EndAssignment {
    /// The last day served; today when absent.
    pub date: Option<String>,
    pub reason: Option<String>,
}

/// Body of `POST /api/v1/assignments/{id}/move`: the new assignment; the old one ends
/// the day before the new one starts.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MoveAssignment {
    pub campaign: String,
    pub boundaries: Vec<String>,
    /// The first day in the new campaign; today when absent.
    pub from_date: Option<String>,
    pub till_date: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoveResult {
    pub ended: AssignmentView,
    pub created: AssignmentView,
}

/// A validated assignment, ready to insert.
#[derive(Clone)]
pub(crate) struct Draft {
    pub campaign: CampaignRow,
    pub boundaries: Vec<String>,
    /// The paths of `boundaries`.
    pub paths: Vec<BoundaryPath>,
    pub from: NaiveDate,
    pub till: NaiveDate,
    pub roles: Vec<String>,
}

fn date(field: &str, value: &str) -> std::result::Result<NaiveDate, cadre_domain::FieldError> {
    parse_date(field, value)
}

pub(crate) fn campaign_dates(c: &CampaignRow) -> Result<(NaiveDate, NaiveDate)> {
    let parse = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|e| ServiceError::Internal(format!("stored campaign date '{s}': {e}")))
    };
    Ok((parse(&c.start_date)?, parse(&c.end_date)?))
}

impl Cadre {
    /// Checks one assignment: the campaign exists, each boundary lies inside the
    /// campaign and the actor's scope, the dates overlap the campaign (and are clamped
    /// to it), and the roles may be handed out. Errors are named under `prefix`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_assignment(
        &self,
        conn: &mut Conn,
        reference: &Reference,
        actor: &Actor,
        prefix: &str,
        campaign_code: &str,
        boundaries: &[String],
        from: Option<&str>,
        till: Option<&str>,
        roles: &[String],
        errors: &mut ValidationErrors,
    ) -> Result<Option<Draft>> {
        let field = |name: &str| format!("{prefix}{name}");
        let Some(campaign) = reference.campaign(conn, campaign_code.trim()).await? else {
            errors.add(
                field("campaign"),
                "unknown_campaign",
                format!("campaign '{campaign_code}' does not exist"),
            );
            return Ok(None);
        };
        let (start, end) = campaign_dates(&campaign)?;
        let boundaries = crate::users::dedupe(boundaries);
        if boundaries.is_empty() {
            errors.add(
                field("boundaries"),
                "required",
                "an assignment needs at least one boundary",
            );
        }
        let covered: Vec<BoundaryPath> = reference
            .boundaries(conn, &campaign.boundaries)
            .await?
            .iter()
            .map(|b| b.path())
            .collect();
        let found = reference.boundaries(conn, &boundaries).await?;
        let mut paths = Vec::with_capacity(boundaries.len());
        for (i, code) in boundaries.iter().enumerate() {
            let f = field(&format!("boundaries[{i}]"));
            match found.iter().find(|b| &b.code == code) {
                None => errors.add(
                    f,
                    "unknown_boundary",
                    format!("boundary '{code}' does not exist"),
                ),
                Some(b) if !covered.iter().any(|c| c.contains(&b.path())) => errors.add(
                    f,
                    "boundary_outside_campaign",
                    format!(
                        "boundary '{code}' is not covered by campaign '{}'",
                        campaign.code
                    ),
                ),
                Some(b) if !actor.scope.covers(&b.path()) => errors.add(
                    f,
                    "boundary_outside_scope",
                    format!("boundary '{code}' is outside your scope"),
                ),
                Some(b) => paths.push(b.path()),
            }
        }
        let from_date = match from.map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => errors.check(date(&field("from_date"), v)),
            None => Some(start),
        };
        let till_date = match till.map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => errors.check(date(&field("till_date"), v)),
            None => Some(end),
        };
        let mut clamped = None;
        if let (Some(f), Some(t)) = (from_date, till_date) {
            if f > t {
                errors.add(
                    field("till_date"),
                    "date_order",
                    "till_date is before from_date",
                );
            } else {
                // The campaign's dates take precedence (PRD).
                let (f, t) = (f.max(start), t.min(end));
                if f > t {
                    errors.add(
                        field("from_date"),
                        "dates_outside_campaign",
                        format!(
                            "the dates do not overlap the campaign ({} to {})",
                            campaign.start_date, campaign.end_date
                        ),
                    );
                } else {
                    clamped = Some((f, t));
                }
            }
        }
        let roles = crate::users::dedupe(roles);
        let mut role_errors = ValidationErrors::new();
        self.check_roles(conn, reference, actor, &roles, &[], &mut role_errors)
            .await?;
        for e in role_errors.into_errors() {
            errors.add(field(&e.field), &e.code, e.message);
        }
        Ok(clamped.map(|(from, till)| Draft {
            campaign,
            boundaries,
            paths,
            from,
            till,
            roles,
        }))
    }

    pub(crate) fn new_assignment_row(
        &self,
        user_id: &str,
        draft: Draft,
        takes_over: Option<String>,
    ) -> AssignmentRow {
        let now = cadre_store::timestamp(self.clock.now());
        AssignmentRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            campaign_code: draft.campaign.code,
            from_date: draft.from.to_string(),
            till_date: draft.till.to_string(),
            ended_on: None,
            end_reason: None,
            takes_over,
            boundaries: draft.boundaries,
            roles: draft.roles,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// Refuses a second open assignment to the same campaign.
    async fn ensure_not_assigned(
        &self,
        conn: &mut Conn,
        user_id: &str,
        campaign: &str,
        except: Option<&str>,
    ) -> Result<()> {
        let today = self.clock.today().to_string();
        let existing = store::of_users(conn, &[user_id.to_owned()])
            .await?
            .remove(user_id)
            .unwrap_or_default();
        if existing.iter().any(|a| {
            a.campaign_code == campaign && a.till_date >= today && Some(a.id.as_str()) != except
        }) {
            return Err(ServiceError::conflict(
                "already_assigned",
                format!("the user already has an open assignment in campaign '{campaign}'"),
            ));
        }
        Ok(())
    }

    pub async fn list_assignments(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<Vec<AssignmentView>> {
        actor.require(Action::UserRead)?;
        let mut conn = self.db.reader().await?;
        let target = self
            .load_target(&mut conn, actor, user_id, Target::View)
            .await?;
        let today = self.clock.today();
        Ok(
            store::of_users(&mut conn, std::slice::from_ref(&target.row.id))
                .await?
                .remove(&target.row.id)
                .unwrap_or_default()
                .into_iter()
                .map(|a| view(a, today))
                .collect(),
        )
    }

    pub async fn create_assignment(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        user_id: &str,
        input: AssignmentInput,
    ) -> Result<AssignmentView> {
        actor.require(Action::UserAssign)?;
        let mut sizes = ValidationErrors::new();
        input.check_sizes("", &mut sizes);
        sizes.into_result()?;
        let mut tx = self.db.begin().await?;
        let v = self
            .create_assignment_in(&mut tx, &Reference::default(), actor, meta, user_id, input)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// [`Cadre::create_assignment`] inside `tx`.
    pub(crate) async fn create_assignment_in(
        &self,
        tx: &mut Conn,
        reference: &Reference,
        actor: &Actor,
        meta: &RequestMeta,
        user_id: &str,
        input: AssignmentInput,
    ) -> Result<AssignmentView> {
        let target = self.load_target(tx, actor, user_id, Target::Modify).await?;
        if target.row.status != "active" {
            return Err(ServiceError::conflict(
                "user_deactivated",
                "a deactivated user cannot be assigned",
            ));
        }
        let mut errors = ValidationErrors::new();
        let draft = self
            .check_assignment(
                tx,
                reference,
                actor,
                "",
                &input.campaign,
                &input.boundaries,
                input.from_date.as_deref(),
                input.till_date.as_deref(),
                &input.roles,
                &mut errors,
            )
            .await?;
        errors.into_result()?;
        let Some(draft) = draft else {
            return Err(ServiceError::Internal(
                "assignment validated without a result".into(),
            ));
        };
        self.ensure_not_assigned(tx, &target.row.id, &draft.campaign.code, None)
            .await?;
        let row = self.new_assignment_row(&target.row.id, draft, None);
        store::insert(tx, &row).await?;
        let v = view(row, self.clock.today());
        self.record_by(
            tx,
            actor,
            meta,
            Event::new("assignment.create")
                .target("user", &target.row.id, &target.row.username)
                .after(&v),
        )
        .await?;
        Ok(v)
    }

    /// Loads an assignment and its user for a change, with the user's scope checked.
    async fn load_assignment(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        id: &str,
    ) -> Result<(AssignmentRow, crate::users::LoadedUser)> {
        let owner = store::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
        // Changes to a user's assignments are serialised on the user (an assignment
        // never changes hands): read it again once the user is held, so a change that
        // committed meanwhile is seen.
        let user = self
            .load_target(conn, actor, &owner.user_id, Target::Modify)
            .await?;
        let assignment = store::get(conn, id).await?.ok_or(ServiceError::NotFound)?;
        Ok((assignment, user))
    }

    pub async fn update_assignment(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        patch: AssignmentPatch,
    ) -> Result<AssignmentView> {
        actor.require(Action::UserAssign)?;
        let mut tx = self.db.begin().await?;
        let (old, user) = self.load_assignment(&mut tx, actor, id).await?;
        let today = self.clock.today();
        if old.till_date < today.to_string() || old.ended_on.is_some() {
            return Err(ServiceError::conflict(
                "assignment_ended",
                "an ended assignment is history and cannot change",
            ));
        }
        let mut errors = ValidationErrors::new();
        let boundaries = patch
            .boundaries
            .clone()
            .unwrap_or_else(|| old.boundaries.clone());
        let roles = patch.roles.clone().unwrap_or_else(|| old.roles.clone());
        let from = patch
            .from_date
            .clone()
            .unwrap_or_else(|| old.from_date.clone());
        let till = patch
            .till_date
            .clone()
            .unwrap_or_else(|| old.till_date.clone());
        let draft = self
            .check_assignment(
                &mut tx,
                &Reference::default(),
                actor,
                "",
                &old.campaign_code,
                &boundaries,
                Some(&from),
                Some(&till),
                &roles,
                &mut errors,
            )
            .await?;
        errors.into_result()?;
        let Some(draft) = draft else {
            return Err(ServiceError::Internal(
                "assignment validated without a result".into(),
            ));
        };
        let before = view(old.clone(), today);
        let row = AssignmentRow {
            from_date: draft.from.to_string(),
            till_date: draft.till.to_string(),
            boundaries: draft.boundaries,
            roles: draft.roles,
            updated_at: cadre_store::timestamp(self.clock.now()),
            ..old
        };
        store::update(&mut tx, &row).await?;
        let after = view(row, today);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("assignment.update")
                .target("user", &user.row.id, &user.row.username)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn end_assignment(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        input: EndAssignment,
    ) -> Result<AssignmentView> {
        actor.require(Action::UserAssign)?;
        let mut tx = self.db.begin().await?;
        let (old, user) = self.load_assignment(&mut tx, actor, id).await?;
        let last_day = self.date_or_today("date", input.date.as_deref())?;
        let ended = self.end_in(&old, last_day, input.reason.as_deref().unwrap_or("ended"))?;
        store::update(&mut tx, &ended).await?;
        let today = self.clock.today();
        let before = view(old, today);
        let after = view(ended, today);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("assignment.end")
                .target("user", &user.row.id, &user.row.username)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The assignment ended after `last_day` (which may be the day before it starts,
    /// for an upcoming assignment that never begins).
    pub(crate) fn end_in(
        &self,
        a: &AssignmentRow,
        last_day: NaiveDate,
        reason: &str,
    ) -> Result<AssignmentRow> {
        if a.ended_on.is_some() {
            return Err(ServiceError::conflict(
                "already_ended",
                "this assignment has already ended",
            ));
        }
        let from = NaiveDate::parse_from_str(&a.from_date, "%Y-%m-%d")
            .map_err(|e| ServiceError::Internal(format!("stored date: {e}")))?;
        if last_day < from - Duration::days(1) {
            return Err(ServiceError::invalid(
                "date",
                "before_start",
                format!(
                    "the assignment starts on {}; it can end no earlier than the day before",
                    a.from_date
                ),
            ));
        }
        let reason = reason.trim();
        if reason.chars().count() > 200 {
            return Err(ServiceError::invalid(
                "reason",
                "too_long",
                "at most 200 characters",
            ));
        }
        let last = last_day.to_string();
        Ok(AssignmentRow {
            till_date: if last < a.till_date {
                last.clone()
            } else {
                a.till_date.clone()
            },
            ended_on: Some(last),
            end_reason: Some(reason.to_owned()),
            updated_at: cadre_store::timestamp(self.clock.now()),
            ..a.clone()
        })
    }

    /// Ends one assignment and opens another, in one transaction.
    pub async fn move_assignment(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
        input: MoveAssignment,
    ) -> Result<MoveResult> {
        actor.require(Action::UserAssign)?;
        let mut tx = self.db.begin().await?;
        let (old, user) = self.load_assignment(&mut tx, actor, id).await?;
        let first_day = self.date_or_today("from_date", input.from_date.as_deref())?;
        let mut errors = ValidationErrors::new();
        let first = first_day.to_string();
        let draft = self
            .check_assignment(
                &mut tx,
                &Reference::default(),
                actor,
                "",
                &input.campaign,
                &input.boundaries,
                Some(&first),
                input.till_date.as_deref(),
                &input.roles,
                &mut errors,
            )
            .await?;
        errors.into_result()?;
        let Some(draft) = draft else {
            return Err(ServiceError::Internal(
                "assignment validated without a result".into(),
            ));
        };
        let ended = self.end_in(
            &old,
            draft.from - Duration::days(1),
            input.reason.as_deref().unwrap_or("moved"),
        )?;
        store::update(&mut tx, &ended).await?;
        self.ensure_not_assigned(&mut tx, &user.row.id, &draft.campaign.code, Some(&old.id))
            .await?;
        let created = self.new_assignment_row(&user.row.id, draft, None);
        store::insert(&mut tx, &created).await?;
        let today = self.clock.today();
        let result = MoveResult {
            ended: view(ended, today),
            created: view(created, today),
        };
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("assignment.move")
                .target("user", &user.row.id, &user.row.username)
                .after(&result),
        )
        .await?;
        tx.commit().await?;
        Ok(result)
    }
}
