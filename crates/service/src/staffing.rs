//! Staffing history: who served a boundary on a day, a user's timeline, and the
//! boundaries of a campaign nobody covers.

use serde::Serialize;
use utoipa::ToSchema;

use cadre_domain::{Action, BoundaryPath, Scope};
use cadre_store::Page;

use crate::assignments::AssignmentView;
use crate::boundaries::BoundaryView;
use crate::users::Target;
use crate::{Actor, Cadre, Result, ServiceError};

/// One person serving at a boundary on the day asked about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffMember {
    pub user_id: String,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
    /// The boundary of the assignment: the one asked about, one inside it, or one
    /// containing it.
    pub boundary: String,
    pub assignment: AssignmentView,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffOnDay {
    pub boundary: String,
    pub date: String,
    pub campaign: Option<String>,
    pub staff: Vec<StaffMember>,
}

/// One dated event in a user's working life.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct TimelineEvent {
    pub date: String,
    /// `assignment_started`, `assignment_ended`, `deactivated`, `deactivation_scheduled`,
    /// `deactivation_cancelled`, `reactivated`, `replaced_by`, `replaces`.
    pub kind: String,
    pub campaign: Option<String>,
    pub boundaries: Vec<String>,
    pub reason: Option<String>,
    /// The other user of a replacement, or the assignment's id.
    pub reference: Option<String>,
}

impl Cadre {
    pub async fn boundary_staff(
        &self,
        actor: &Actor,
        code: &str,
        date: Option<String>,
        campaign: Option<String>,
    ) -> Result<StaffOnDay> {
        actor.require(Action::UserRead)?;
        let day = self.date_or_today("date", date.as_deref())?;
        let mut conn = self.db.reader().await?;
        let boundary = cadre_store::boundaries::get(&mut conn, code)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !actor.scope.covers(&boundary.path()) && !actor.scope.is_global() {
            return Err(ServiceError::NotFound);
        }
        let campaign = campaign
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        let rows = cadre_store::assignments::staff(
            &mut conn,
            &boundary.path(),
            &day.to_string(),
            campaign.as_deref(),
        )
        .await?;
        let today = self.clock.today();
        let mut complete = Vec::with_capacity(rows.len());
        for row in rows {
            // The row carries no boundaries and roles; read the whole assignment.
            let assignment = cadre_store::assignments::get(&mut conn, &row.assignment.id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            complete.push(StaffMember {
                user_id: row.assignment.user_id.clone(),
                username: row.username,
                first_name: row.first_name,
                last_name: row.last_name,
                status: row.status,
                boundary: row.boundary_code,
                assignment: crate::assignments::view(assignment, today),
            });
        }
        Ok(StaffOnDay {
            boundary: boundary.code,
            date: day.to_string(),
            campaign,
            staff: complete,
        })
    }

    pub async fn user_timeline(&self, actor: &Actor, user_id: &str) -> Result<Vec<TimelineEvent>> {
        actor.require(Action::UserRead)?;
        let mut conn = self.db.reader().await?;
        let target = self
            .load_target(&mut conn, actor, user_id, Target::View)
            .await?;
        let user = self.user_view(&mut conn, target.row).await?;
        let mut events = Vec::new();
        for a in &user.assignments {
            events.push(TimelineEvent {
                date: a.from_date.clone(),
                kind: "assignment_started".into(),
                campaign: Some(a.campaign.clone()),
                boundaries: a.boundaries.clone(),
                reason: a
                    .takes_over
                    .as_ref()
                    .map(|_| "took over a replaced worker's assignment".into()),
                reference: Some(a.id.clone()),
            });
            if a.ended_on.is_some() || a.status == "ended" {
                events.push(TimelineEvent {
                    date: a.till_date.clone(),
                    kind: "assignment_ended".into(),
                    campaign: Some(a.campaign.clone()),
                    boundaries: a.boundaries.clone(),
                    reason: a
                        .end_reason
                        .clone()
                        .or_else(|| Some("campaign window closed".into())),
                    reference: Some(a.id.clone()),
                });
            }
        }
        for c in &user.status_history {
            let kind = match (c.kind.as_str(), c.state.as_str()) {
                ("deactivation", "applied") => "deactivated",
                ("deactivation", "scheduled") => "deactivation_scheduled",
                ("deactivation", _) => "deactivation_cancelled",
                _ => "reactivated",
            };
            events.push(TimelineEvent {
                date: c.effective_date.clone(),
                kind: kind.into(),
                campaign: None,
                boundaries: Vec::new(),
                reason: Some(c.reason.clone()),
                reference: Some(c.id.clone()),
            });
        }
        let first_taken_over = |list: &[AssignmentView]| {
            list.iter()
                .filter(|a| a.takes_over.is_some())
                .map(|a| a.from_date.clone())
                .min()
        };
        if let Some(other) = &user.replaces {
            events.push(TimelineEvent {
                date: first_taken_over(&user.assignments)
                    .unwrap_or_else(|| user.created_at[..10].to_owned()),
                kind: "replaces".into(),
                campaign: None,
                boundaries: Vec::new(),
                reason: None,
                reference: Some(other.clone()),
            });
        }
        if let Some(other) = &user.replaced_by {
            let date = user
                .status_history
                .iter()
                .rev()
                .find(|c| c.kind == "deactivation")
                .map(|c| c.effective_date.clone())
                .unwrap_or_else(|| user.updated_at[..10].to_owned());
            events.push(TimelineEvent {
                date,
                kind: "replaced_by".into(),
                campaign: None,
                boundaries: Vec::new(),
                reason: None,
                reference: Some(other.clone()),
            });
        }
        events.sort_by(|a, b| {
            a.date
                .cmp(&b.date)
                .then_with(|| order(&a.kind).cmp(&order(&b.kind)))
        });
        Ok(events)
    }

    /// Boundaries at the service-delivery level (leaves) covered by the campaign, in the
    /// actor's scope, with no open assignment of an active worker covering them.
    pub async fn campaign_coverage(
        &self,
        actor: &Actor,
        code: &str,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> Result<Page<BoundaryView>> {
        actor.require(Action::CampaignRead)?;
        let mut conn = self.db.reader().await?;
        let campaign = cadre_store::campaigns::get(&mut conn, code)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let covered: Vec<BoundaryPath> =
            cadre_store::boundaries::get_many(&mut conn, &campaign.boundaries)
                .await?
                .iter()
                .map(|b| b.path())
                .collect();
        let subtrees = intersect(&covered, &actor.scope);
        let after = cursor
            .as_deref()
            .map(crate::audit::decode_cursor_raw)
            .transpose()?;
        let page = cadre_store::campaigns::uncovered(
            &mut conn,
            &campaign,
            &subtrees,
            &self.clock.today().to_string(),
            after.as_deref(),
            crate::users::page_limit(limit)?,
        )
        .await?;
        Ok(Page {
            items: page.items.into_iter().map(BoundaryView::from).collect(),
            next_cursor: page.next_cursor.map(|c| crate::audit::encode_cursor(&c)),
            total: page.total,
        })
    }
}

/// On one day, endings come before beginnings, so a handover reads in order.
fn order(kind: &str) -> u8 {
    match kind {
        "assignment_ended" | "replaced_by" => 0,
        "deactivated" | "deactivation_scheduled" | "deactivation_cancelled" => 1,
        "reactivated" | "replaces" => 2,
        _ => 3,
    }
}

/// The parts of `covered` inside `scope`.
fn intersect(covered: &[BoundaryPath], scope: &Scope) -> Vec<BoundaryPath> {
    match scope {
        Scope::Global => covered.to_vec(),
        Scope::Within(roots) => {
            let mut out = Vec::new();
            for c in covered {
                for r in roots {
                    if r.contains(c) {
                        out.push(c.clone());
                    } else if c.contains(r) {
                        out.push(r.clone());
                    }
                }
            }
            out.sort();
            out.dedup();
            out
        }
    }
}
