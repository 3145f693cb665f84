//! Deactivation and reactivation, with their history; future deactivations are
//! scheduled and applied by [`Cadre::apply_due_status_changes`] on the day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::dates::parse_date;
use cadre_domain::limits;
use cadre_domain::{Action, ValidationErrors};
use cadre_store::locks::Lockable;
use cadre_store::status_changes::{self as store, StatusChangeRow};
use cadre_store::users::UserRow;
use cadre_store::Conn;

use crate::audit::Event;
use crate::users::{Target, UserView};
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// One deactivation or reactivation, as the user's history shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct StatusChangeView {
    pub id: String,
    /// `deactivation` or `reactivation`.
    pub kind: String,
    pub reason: String,
    pub effective_date: String,
    pub order_number: Option<String>,
    pub remarks: Option<String>,
    /// `scheduled`, `applied` or `cancelled`.
    pub state: String,
    pub applied_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
}

impl From<StatusChangeRow> for StatusChangeView {
    fn from(c: StatusChangeRow) -> Self {
        Self {
            id: c.id,
            kind: c.kind,
            reason: c.reason,
            effective_date: c.effective_date,
            order_number: c.order_number,
            remarks: c.remarks,
            state: c.state,
            applied_at: c.applied_at,
            created_by: c.created_by_username,
            created_at: c.created_at,
        }
    }
}

/// Body of `POST /api/v1/users/{id}/deactivate` (the PRD's deactivation fields).
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DeactivateRequest {
    /// From the `deactivation_reasons` list.
    pub reason: String,
    /// Today when absent; a past date records it, a future date schedules it.
    pub effective_date: Option<String>,
    pub order_number: Option<String>,
    pub remarks: Option<String>,
    /// Documents uploaded with `POST /api/v1/users/{id}/documents`.
    #[serde(default)]
    pub document_ids: Vec<String>,
}

/// Body of `POST /api/v1/users/{id}/reactivate`.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReactivateRequest {
    /// From the `reactivation_reasons` list.
    pub reason: String,
    pub remarks: Option<String>,
}

/// A checked deactivation, ready to apply or schedule.
pub(crate) struct Deactivation {
    pub reason: String,
    pub effective: NaiveDate,
    pub order_number: Option<String>,
    pub remarks: Option<String>,
    pub document_ids: Vec<String>,
}

fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errors.add(field, "too_long", format!("at most {max} characters"));
    } else if v.chars().any(|c| c.is_control() && c != '\n') {
        errors.add(
            field,
            "invalid_characters",
            "control characters are not allowed",
        );
    }
    Some(v.to_owned())
}

impl Cadre {
    pub(crate) async fn check_deactivation(
        &self,
        request: &DeactivateRequest,
    ) -> Result<Deactivation> {
        let mut errors = ValidationErrors::new();
        if errors.too_many(
            "document_ids",
            request.document_ids.len(),
            limits::DOCUMENTS,
        ) {
            return Err(errors.into());
        }
        let master = self.master_data().await?;
        let reason =
            errors.check(master.resolve("deactivation_reasons", "reason", &request.reason));
        let effective = match request
            .effective_date
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(v) => errors.check(parse_date("effective_date", v)),
            None => Some(self.clock.today()),
        };
        let order_number = optional_text(
            "order_number",
            request.order_number.as_deref(),
            100,
            &mut errors,
        );
        let remarks = optional_text("remarks", request.remarks.as_deref(), 2000, &mut errors);
        errors.into_result()?;
        match (reason, effective) {
            (Some(reason), Some(effective)) => Ok(Deactivation {
                reason,
                effective,
                order_number,
                remarks,
                document_ids: crate::users::dedupe(&request.document_ids),
            }),
            _ => Err(ServiceError::Internal(
                "deactivation validated without a result".into(),
            )),
        }
    }

    /// Records a deactivation of `user` inside `conn`'s transaction: applied at once
    /// when its day has come (sessions end in the same transaction), scheduled otherwise.
    pub(crate) async fn deactivate_in(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        meta: &RequestMeta,
        user: &UserRow,
        d: Deactivation,
    ) -> Result<StatusChangeRow> {
        if user.status != "active" {
            return Err(ServiceError::conflict(
                "already_deactivated",
                "this user is already deactivated",
            ));
        }
        if store::of_user(conn, &user.id)
            .await?
            .iter()
            .any(|c| c.state == "scheduled")
        {
            return Err(ServiceError::conflict(
                "deactivation_scheduled",
                "a deactivation of this user is already scheduled; reactivate to cancel it first",
            ));
        }
        self.check_no_service_erased(conn, user, d.effective)
            .await?;
        let now = cadre_store::timestamp(self.clock.now());
        let applies_now = d.effective <= self.clock.today();
        let change = StatusChangeRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.id.clone(),
            kind: "deactivation".into(),
            reason: d.reason,
            effective_date: d.effective.to_string(),
            order_number: d.order_number,
            remarks: d.remarks,
            state: if applies_now { "applied" } else { "scheduled" }.into(),
            applied_at: applies_now.then(|| now.clone()),
            created_by: Some(actor.user_id.clone()),
            created_by_username: Some(actor.username.clone()),
            created_at: now.clone(),
        };
        store::insert(conn, &change).await?;
        let attached =
            cadre_store::documents::attach(conn, &user.id, &d.document_ids, &change.id).await?;
        if attached as usize != d.document_ids.len() {
            return Err(ServiceError::invalid(
                "document_ids",
                "unknown_document",
                "every document must be an unattached upload of this user",
            ));
        }
        let sessions_ended = if applies_now {
            self.apply_deactivation(conn, user, &change.effective_date, &now)
                .await?
        } else {
            0
        };
        let action = if applies_now {
            "user.deactivate"
        } else {
            "user.deactivation_schedule"
        };
        self.record_by(
            conn,
            actor,
            meta,
            Event::new(action)
                .target("user", &user.id, &user.username)
                .after(serde_json::json!({
                    "change": StatusChangeView::from(change.clone()),
                    "documents": d.document_ids,
                    "sessions_ended": sessions_ended,
                })),
        )
        .await?;
        Ok(change)
    }

    /// A deactivation dated in the past must not erase service already recorded:
    /// staffing leaves out a worker from the day their deactivation takes effect, so a
    /// backdated one would silently remove them from days their assignment says they
    /// served. Refused, naming the first day it could take effect.
    async fn check_no_service_erased(
        &self,
        conn: &mut Conn,
        user: &UserRow,
        effective: NaiveDate,
    ) -> Result<()> {
        let today = self.clock.today();
        if effective >= today {
            return Ok(());
        }
        let effective_s = effective.to_string();
        let today_s = today.to_string();
        let yesterday = (today - chrono::Duration::days(1)).to_string();
        let served_until = cadre_store::assignments::of_users(conn, std::slice::from_ref(&user.id))
            .await?
            .remove(&user.id)
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a.from_date < today_s && a.till_date >= effective_s)
            .map(|a| a.till_date.min(yesterday.clone()))
            .max();
        match served_until {
            None => Ok(()),
            Some(last) => Err(ServiceError::invalid(
                "effective_date",
                "service_recorded",
                format!(
                    "an assignment records this worker's service until {last}; date the deactivation after that day, or end the assignment first"
                ),
            )),
        }
    }

    /// The effects of a deactivation taking hold: status, and every session ended.
    async fn apply_deactivation(
        &self,
        conn: &mut Conn,
        user: &UserRow,
        effective: &str,
        now: &str,
    ) -> Result<u64> {
        cadre_store::users::set_status(conn, &user.id, "deactivated", Some(effective), now).await?;
        Ok(
            cadre_store::sessions::revoke_all_for_user(conn, &user.id, None, "deactivated", now)
                .await?,
        )
    }

    pub async fn deactivate_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        user_id: &str,
        request: DeactivateRequest,
    ) -> Result<UserView> {
        actor.require(Action::UserDeactivate)?;
        let d = self.check_deactivation(&request).await?;
        let mut tx = self.db.begin().await?;
        let target = self
            .load_target(&mut tx, actor, user_id, Target::Modify)
            .await?;
        if target.row.id == actor.user_id {
            return Err(ServiceError::forbidden(
                "cannot_deactivate_self",
                "you cannot deactivate your own account",
            ));
        }
        self.deactivate_in(&mut tx, actor, meta, &target.row, d)
            .await?;
        let row = cadre_store::users::get_by_id(&mut tx, &target.row.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let view = self.user_view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Reactivates a deactivated user, or cancels a deactivation still scheduled.
    pub async fn reactivate_user(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        user_id: &str,
        request: ReactivateRequest,
    ) -> Result<UserView> {
        actor.require(Action::UserDeactivate)?;
        let master = self.master_data().await?;
        let mut errors = ValidationErrors::new();
        let reason =
            errors.check(master.resolve("reactivation_reasons", "reason", &request.reason));
        let remarks = optional_text("remarks", request.remarks.as_deref(), 2000, &mut errors);
        errors.into_result()?;
        let reason = reason.unwrap_or_default();
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        let target = self
            .load_target(&mut tx, actor, user_id, Target::Modify)
            .await?;
        let scheduled = store::of_user(&mut tx, &target.row.id)
            .await?
            .into_iter()
            .find(|c| c.state == "scheduled");
        if target.row.status == "active" && scheduled.is_none() {
            return Err(ServiceError::conflict(
                "not_deactivated",
                "this user is active",
            ));
        }
        if let Some(pending) = &scheduled {
            if !store::transition(&mut tx, &pending.id, "scheduled", "cancelled", &now).await? {
                // Only reachable if something changed the user without holding them.
                return Err(ServiceError::conflict(
                    "concurrent_change",
                    "the scheduled deactivation changed meanwhile; try again",
                ));
            }
        }
        let change = StatusChangeRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: target.row.id.clone(),
            kind: "reactivation".into(),
            reason,
            effective_date: self.clock.today().to_string(),
            order_number: None,
            remarks,
            state: "applied".into(),
            applied_at: Some(now.clone()),
            created_by: Some(actor.user_id.clone()),
            created_by_username: Some(actor.username.clone()),
            created_at: now.clone(),
        };
        store::insert(&mut tx, &change).await?;
        if target.row.status != "active" {
            cadre_store::users::set_status(&mut tx, &target.row.id, "active", None, &now).await?;
        }
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.reactivate")
                .target("user", &target.row.id, &target.row.username)
                .after(serde_json::json!({
                    "change": StatusChangeView::from(change),
                    "cancelled_scheduled_deactivation": scheduled.map(|c| c.id),
                })),
        )
        .await?;
        let row = cadre_store::users::get_by_id(&mut tx, &target.row.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let view = self.user_view(&mut tx, row).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn status_history(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<Vec<StatusChangeView>> {
        actor.require(Action::UserRead)?;
        let mut conn = self.db.reader().await?;
        let target = self
            .load_target(&mut conn, actor, user_id, Target::View)
            .await?;
        Ok(store::of_user(&mut conn, &target.row.id)
            .await?
            .into_iter()
            .map(StatusChangeView::from)
            .collect())
    }

    /// Applies every scheduled deactivation whose day has come, each in its own
    /// transaction. Claiming a change flips its state only if it is still scheduled, so
    /// several processes may run this at once and each change is applied exactly once;
    /// a change whose day passed while the service was down is applied on the next run,
    /// keeping its original effective date. Returns how many were applied.
    pub async fn apply_due_status_changes(&self) -> Result<usize> {
        let today = self.clock.today().to_string();
        let mut applied = 0;
        loop {
            let due = {
                let mut conn = self.db.reader().await?;
                store::due(&mut conn, &today, 100).await?
            };
            if due.is_empty() {
                return Ok(applied);
            }
            let mut progressed = false;
            for change in due {
                let now = cadre_store::timestamp(self.clock.now());
                let mut tx = self.db.begin().await?;
                // The user is held as every other change of theirs holds them, so a
                // reactivation in flight either cancels this change first or finds it
                // applied.
                cadre_store::locks::lock(&mut tx, Lockable::User, &change.user_id).await?;
                if !store::transition(&mut tx, &change.id, "scheduled", "applied", &now).await? {
                    continue;
                }
                let change = StatusChangeRow {
                    state: "applied".into(),
                    applied_at: Some(now.clone()),
                    ..change
                };
                progressed = true;
                let Some(user) = cadre_store::users::get_by_id(&mut tx, &change.user_id).await?
                else {
                    continue;
                };
                let ended = if user.status == "active" {
                    self.apply_deactivation(&mut tx, &user, &change.effective_date, &now)
                        .await?
                } else {
                    0
                };
                self.record(
                    &mut tx,
                    Some(("cadre-scheduler", "cadre-scheduler")),
                    &RequestMeta::default(),
                    Event::new("user.deactivate")
                        .target("user", &user.id, &user.username)
                        .after(serde_json::json!({
                            "change": StatusChangeView::from(change.clone()),
                            "scheduled_by": change.created_by_username,
                            "sessions_ended": ended,
                        })),
                )
                .await?;
                tx.commit().await?;
                applied += 1;
            }
            if !progressed {
                return Ok(applied);
            }
        }
    }
}
