//! Campaigns (DIGIT "projects"): code, type, date window, covered boundaries, and an
//! optional parent whose window and boundaries contain the child's.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use cadre_domain::dates::parse_date;
use cadre_domain::limits;
use cadre_domain::{Action, BoundaryCode, BoundaryPath, ValidationErrors};
use cadre_store::campaigns::{self as store, CampaignQuery, CampaignRow};
use cadre_store::{Conn, Page};

use crate::audit::{decode_cursor_raw, encode_cursor, Event};
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct CampaignView {
    pub code: String,
    pub name: String,
    /// From the `campaign_types` list.
    #[serde(rename = "type")]
    pub campaign_type: String,
    pub parent: Option<String>,
    pub start_date: String,
    pub end_date: String,
    pub boundaries: Vec<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<CampaignRow> for CampaignView {
    fn from(c: CampaignRow) -> Self {
        Self {
            code: c.code,
            name: c.name,
            campaign_type: c.campaign_type,
            parent: c.parent_code,
            start_date: c.start_date,
            end_date: c.end_date,
            boundaries: c.boundaries,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Body of `POST /api/v1/campaigns`.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub campaign_type: String,
    pub parent: Option<String>,
    pub start_date: String,
    pub end_date: String,
    pub boundaries: Vec<String>,
}

fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Body of `PATCH /api/v1/campaigns/{code}`: absent fields stay.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    /// Never editable: present → 422.
    #[schema(value_type = Option<String>)]
    pub code: Option<serde_json::Value>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub campaign_type: Option<String>,
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "double_option")]
    pub parent: Option<Option<String>>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub boundaries: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub campaign_type: Option<String>,
    pub parent: Option<String>,
    pub active_on: Option<String>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl Cadre {
    pub async fn list_campaigns(
        &self,
        actor: &Actor,
        filter: CampaignFilter,
    ) -> Result<Page<CampaignView>> {
        actor.require(Action::CampaignRead)?;
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let active_on = match clean(filter.active_on) {
            Some(d) => Some(parse_date("active_on", &d)?.to_string()),
            None => None,
        };
        let query = CampaignQuery {
            campaign_type: clean(filter.campaign_type),
            parent: clean(filter.parent),
            active_on,
            q: clean(filter.q),
            after_code: clean(filter.cursor)
                .map(|c| decode_cursor_raw(&c))
                .transpose()?,
            limit: crate::users::page_limit(filter.limit)?,
        };
        let mut conn = self.db.reader().await?;
        let page = store::list(&mut conn, &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(CampaignView::from).collect(),
            next_cursor: page.next_cursor.map(|c| encode_cursor(&c)),
            total: page.total,
        })
    }

    pub async fn get_campaign(&self, actor: &Actor, code: &str) -> Result<CampaignView> {
        actor.require(Action::CampaignRead)?;
        let mut conn = self.db.reader().await?;
        store::get(&mut conn, code)
            .await?
            .map(CampaignView::from)
            .ok_or(ServiceError::NotFound)
    }

    pub async fn create_campaign(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        input: CampaignInput,
    ) -> Result<CampaignView> {
        actor.require(Action::CampaignManage)?;
        let mut errors = ValidationErrors::new();
        if errors.too_many(
            "boundaries",
            input.boundaries.len(),
            limits::CAMPAIGN_BOUNDARIES,
        ) {
            return Err(errors.into());
        }
        let code = errors
            .check(BoundaryCode::parse("code", &input.code))
            .map(|c| c.as_str().to_owned());
        let now = cadre_store::timestamp(self.clock.now());
        let draft = CampaignRow {
            code: code.clone().unwrap_or_default(),
            name: input.name,
            campaign_type: input.campaign_type,
            parent_code: input
                .parent
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty()),
            start_date: input.start_date,
            end_date: input.end_date,
            version: 1,
            boundaries: input.boundaries,
            created_at: now.clone(),
            updated_at: now,
        };
        let mut tx = self.db.begin().await?;
        let row = self.check_campaign(&mut tx, actor, draft, errors).await?;
        if store::get(&mut tx, &row.code).await?.is_some() {
            return Err(ServiceError::conflict(
                "duplicate_code",
                format!("campaign '{}' exists", row.code),
            ));
        }
        store::insert(&mut tx, &row).await?;
        let view = CampaignView::from(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("campaign.create")
                .target("campaign", &view.code, &view.name)
                .after(&view),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn update_campaign(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        code: &str,
        if_match: Option<i64>,
        patch: CampaignPatch,
    ) -> Result<CampaignView> {
        actor.require(Action::CampaignManage)?;
        if patch.code.is_some() {
            return Err(ServiceError::invalid(
                "code",
                "code_immutable",
                "a campaign's code can never be changed",
            ));
        }
        if let Some(boundaries) = &patch.boundaries {
            let mut errors = ValidationErrors::new();
            errors.too_many("boundaries", boundaries.len(), limits::CAMPAIGN_BOUNDARIES);
            errors.into_result()?;
        }
        let mut tx = self.db.begin().await?;
        // Without `If-Match` the last writer wins; held, so that it wins in turn
        // rather than failing on a version it never asked about.
        cadre_store::locks::lock(&mut tx, cadre_store::locks::Lockable::Campaign, code).await?;
        let before = store::get(&mut tx, code)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if if_match.is_some_and(|v| v != before.version) {
            return Err(ServiceError::StaleVersion);
        }
        let draft = CampaignRow {
            name: patch.name.unwrap_or_else(|| before.name.clone()),
            campaign_type: patch
                .campaign_type
                .unwrap_or_else(|| before.campaign_type.clone()),
            parent_code: match patch.parent {
                Some(p) => p.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
                None => before.parent_code.clone(),
            },
            start_date: patch
                .start_date
                .unwrap_or_else(|| before.start_date.clone()),
            end_date: patch.end_date.unwrap_or_else(|| before.end_date.clone()),
            boundaries: patch
                .boundaries
                .unwrap_or_else(|| before.boundaries.clone()),
            version: before.version + 1,
            updated_at: cadre_store::timestamp(self.clock.now()),
            ..before.clone()
        };
        let row = self
            .check_campaign(&mut tx, actor, draft, ValidationErrors::new())
            .await?;
        let reclamped = self.check_against_dependants(&mut tx, &row).await?;
        if !store::update(&mut tx, &row, before.version).await? {
            return Err(ServiceError::StaleVersion);
        }
        // Each assignment the new window changes is changed, and audited, as itself.
        let today = self.clock.today();
        for a in reclamped {
            let old = cadre_store::assignments::get(&mut tx, &a.id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            cadre_store::assignments::update(&mut tx, &a).await?;
            let owner = cadre_store::users::get_by_id(&mut tx, &a.user_id).await?;
            let label = owner.map(|u| u.username).unwrap_or_default();
            let user_id = a.user_id.clone();
            self.record_by(
                &mut tx,
                actor,
                meta,
                Event::new("assignment.update")
                    .target("user", &user_id, &label)
                    .before(crate::assignments::view(old, today))
                    .after(serde_json::json!({
                        "assignment": crate::assignments::view(a, today),
                        "cause": "campaign.update",
                        "campaign": row.code,
                    })),
            )
            .await?;
        }
        let before = CampaignView::from(before);
        let after = CampaignView::from(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("campaign.update")
                .target("campaign", &after.code, &after.name)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Validates every field of a campaign, naming each failing one.
    async fn check_campaign(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        mut c: CampaignRow,
        mut errors: ValidationErrors,
    ) -> Result<CampaignRow> {
        let master = self.master_data().await?;
        c.name = c.name.trim().to_owned();
        if c.name.is_empty() || c.name.chars().count() > 200 || c.name.chars().any(char::is_control)
        {
            errors.add(
                "name",
                "invalid_length",
                "a name of 1 to 200 characters is required",
            );
        }
        if let Some(t) = errors.check(master.resolve("campaign_types", "type", &c.campaign_type)) {
            c.campaign_type = t;
        }
        let start = errors.check(parse_date("start_date", &c.start_date));
        let end = errors.check(parse_date("end_date", &c.end_date));
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.add(
                    "end_date",
                    "date_order",
                    "the campaign ends before it starts",
                );
            }
            c.start_date = s.to_string();
            c.end_date = e.to_string();
        }
        c.boundaries = crate::users::dedupe(&c.boundaries);
        if c.boundaries.is_empty() {
            errors.add(
                "boundaries",
                "required",
                "a campaign covers at least one boundary",
            );
        }
        let found = cadre_store::boundaries::get_many(conn, &c.boundaries).await?;
        let mut paths: Vec<(usize, BoundaryPath)> = Vec::new();
        for (i, code) in c.boundaries.iter().enumerate() {
            match found.iter().find(|b| &b.code == code) {
                None => errors.add(
                    format!("boundaries[{i}]"),
                    "unknown_boundary",
                    format!("boundary '{code}' does not exist"),
                ),
                Some(b) if !actor.scope.covers(&b.path()) => errors.add(
                    format!("boundaries[{i}]"),
                    "boundary_outside_scope",
                    format!("boundary '{code}' is outside your scope"),
                ),
                Some(b) => paths.push((i, b.path())),
            }
        }
        if let Some(parent_code) = c.parent_code.clone() {
            match store::get(conn, &parent_code).await? {
                None => errors.add(
                    "parent",
                    "unknown_campaign",
                    format!("campaign '{parent_code}' does not exist"),
                ),
                Some(parent) => {
                    if self
                        .is_descendant_or_self(conn, &parent.code, &c.code)
                        .await?
                    {
                        errors.add("parent", "cycle", "a campaign cannot sit below itself");
                    }
                    if start.is_some_and(|s| s.to_string() < parent.start_date) {
                        errors.add(
                            "start_date",
                            "outside_parent_window",
                            format!("the parent campaign starts on {}", parent.start_date),
                        );
                    }
                    if end.is_some_and(|e| e.to_string() > parent.end_date) {
                        errors.add(
                            "end_date",
                            "outside_parent_window",
                            format!("the parent campaign ends on {}", parent.end_date),
                        );
                    }
                    let parent_paths: Vec<BoundaryPath> =
                        cadre_store::boundaries::get_many(conn, &parent.boundaries)
                            .await?
                            .iter()
                            .map(|b| b.path())
                            .collect();
                    for (i, path) in &paths {
                        if !parent_paths.iter().any(|p| p.contains(path)) {
                            errors.add(
                                format!("boundaries[{i}]"),
                                "boundary_outside_parent",
                                format!(
                                    "'{}' is not covered by the parent campaign",
                                    c.boundaries[*i]
                                ),
                            );
                        }
                    }
                }
            }
        }
        errors.into_result()?;
        Ok(c)
    }

    async fn is_descendant_or_self(
        &self,
        conn: &mut Conn,
        candidate: &str,
        ancestor: &str,
    ) -> Result<bool> {
        let mut cursor = Some(candidate.to_owned());
        let mut steps = 0;
        while let Some(code) = cursor {
            if code == ancestor {
                return Ok(true);
            }
            steps += 1;
            if steps > 64 {
                return Ok(true);
            }
            cursor = store::get(conn, &code).await?.and_then(|c| c.parent_code);
        }
        Ok(false)
    }

    /// A changed campaign must still contain its children and its open assignments;
    /// assignments are re-clamped to a narrower window.
    /// Checks the campaign against its children and its assignments, and answers the
    /// open assignments the new window reaches, as they must become: upcoming ones
    /// start no earlier than the campaign, and none ends after it.
    async fn check_against_dependants(
        &self,
        conn: &mut Conn,
        c: &CampaignRow,
    ) -> Result<Vec<cadre_store::assignments::AssignmentRow>> {
        let mut errors = ValidationErrors::new();
        let paths: Vec<BoundaryPath> = cadre_store::boundaries::get_many(conn, &c.boundaries)
            .await?
            .iter()
            .map(|b| b.path())
            .collect();
        for child in store::children(conn, &c.code).await? {
            if child.start_date < c.start_date || child.end_date > c.end_date {
                errors.add(
                    "start_date",
                    "children_outside_window",
                    format!(
                        "child campaign '{}' runs {} to {}",
                        child.code, child.start_date, child.end_date
                    ),
                );
            }
            let child_paths = cadre_store::boundaries::get_many(conn, &child.boundaries).await?;
            if child_paths
                .iter()
                .any(|b| !paths.iter().any(|p| p.contains(&b.path())))
            {
                errors.add(
                    "boundaries",
                    "children_outside_boundaries",
                    format!(
                        "child campaign '{}' covers boundaries this campaign would no longer cover",
                        child.code
                    ),
                );
            }
        }
        let today = self.clock.today().to_string();
        let start = NaiveDate::parse_from_str(&c.start_date, "%Y-%m-%d")
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let end = NaiveDate::parse_from_str(&c.end_date, "%Y-%m-%d")
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let mut reclamped = Vec::new();
        for a in cadre_store::assignments::of_campaign(conn, &c.code).await? {
            if a.till_date < today || a.ended_on.is_some() {
                continue;
            }
            let bounds = cadre_store::boundaries::get_many(conn, &a.boundaries).await?;
            if bounds
                .iter()
                .any(|b| !paths.iter().any(|p| p.contains(&b.path())))
            {
                errors.add("boundaries", "boundary_in_use", format!("an open assignment ({}) uses a boundary the campaign would no longer cover", a.id));
                continue;
            }
            let from = a.from_date.clone().max(start.to_string());
            let till = a.till_date.clone().min(end.to_string());
            // Days an assignment has already covered are history: a window that would
            // move its first day, or end it before today, would rewrite who served
            // where. Such an edit is refused; the assignment can be ended first.
            let begun = a.from_date <= today;
            if from > till {
                errors.add(
                    "start_date",
                    "assignments_outside_window",
                    format!("open assignment {} would fall outside the new window", a.id),
                );
            } else if (begun && from != a.from_date) || till < today {
                errors.add(
                    if from != a.from_date { "start_date" } else { "end_date" },
                    "assignments_already_served",
                    format!(
                        "assignment {} has covered days since {}; the window cannot leave them out (end the assignment first)",
                        a.id, a.from_date
                    ),
                );
            } else if from != a.from_date || till != a.till_date {
                reclamped.push(cadre_store::assignments::AssignmentRow {
                    from_date: from,
                    till_date: till,
                    updated_at: c.updated_at.clone(),
                    ..a
                });
            }
        }
        errors.into_result()?;
        Ok(reclamped)
    }
}
