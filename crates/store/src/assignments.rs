//! Assignments: a user on a campaign, over boundaries, for a span of days.
//!
//! `till_date` is always the last day the assignment covers: the planned end clamped to
//! the campaign, or the day it was ended early (`ended_on`). An assignment is *open* on
//! day D when `till_date >= D`, which is all the footprint and search need to know.

use std::collections::HashMap;

use sqlx::any::AnyRow;

use cadre_domain::BoundaryPath;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{opt_text, text, Sql};
use crate::writer::{Insert, Writer};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssignmentRow {
    pub id: String,
    pub user_id: String,
    pub campaign_code: String,
    pub from_date: String,
    pub till_date: String,
    pub ended_on: Option<String>,
    pub end_reason: Option<String>,
    /// The assignment this one took over in a replacement.
    pub takes_over: Option<String>,
    pub boundaries: Vec<String>,
    pub roles: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, user_id, campaign_code, from_date, till_date, ended_on, end_reason, takes_over, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<AssignmentRow, StoreError> {
    Ok(AssignmentRow {
        id: text(row, "id")?,
        user_id: text(row, "user_id")?,
        campaign_code: text(row, "campaign_code")?,
        from_date: text(row, "from_date")?,
        till_date: text(row, "till_date")?,
        ended_on: opt_text(row, "ended_on")?,
        end_reason: opt_text(row, "end_reason")?,
        takes_over: opt_text(row, "takes_over")?,
        boundaries: Vec::new(),
        roles: Vec::new(),
        created_at: text(row, "created_at")?,
        updated_at: text(row, "updated_at")?,
    })
}

async fn complete(
    conn: &mut Conn,
    mut rows: Vec<AssignmentRow>,
) -> Result<Vec<AssignmentRow>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut boundaries = crate::sql::grouped(
        conn,
        "assignment_boundaries",
        "assignment_id",
        "boundary_code",
        &ids,
    )
    .await?;
    let mut roles =
        crate::sql::grouped(conn, "assignment_roles", "assignment_id", "role_code", &ids).await?;
    for row in &mut rows {
        row.boundaries = boundaries.remove(&row.id).unwrap_or_default();
        row.roles = roles.remove(&row.id).unwrap_or_default();
    }
    Ok(rows)
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<AssignmentRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM assignments WHERE id = "));
    sql.bind(id);
    let Some(row) = sql.fetch_optional(conn).await? else {
        return Ok(None);
    };
    Ok(complete(conn, vec![from_row(&row)?]).await?.pop())
}

/// Every assignment of these users, newest first, ended ones included.
pub async fn of_users(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<AssignmentRow>>, StoreError> {
    let mut rows = Vec::new();
    for chunk in user_ids.chunks(400) {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM assignments WHERE user_id IN ("
        ));
        sql.bind_list(chunk.iter().map(String::as_str))
            .push(") ORDER BY from_date DESC, created_at DESC");
        for row in sql.fetch_all(conn).await? {
            rows.push(from_row(&row)?);
        }
    }
    let mut out: HashMap<String, Vec<AssignmentRow>> = HashMap::new();
    for row in complete(conn, rows).await? {
        out.entry(row.user_id.clone()).or_default().push(row);
    }
    Ok(out)
}

/// The inserts of a new assignment and its boundary and role links.
pub fn insertions(a: &AssignmentRow) -> Vec<Insert> {
    let mut rows = vec![Insert::new("assignments")
        .set("id", a.id.as_str())
        .set("user_id", a.user_id.as_str())
        .set("campaign_code", a.campaign_code.as_str())
        .set("from_date", a.from_date.as_str())
        .set("till_date", a.till_date.as_str())
        .set("ended_on", a.ended_on.clone())
        .set("end_reason", a.end_reason.clone())
        .set("takes_over", a.takes_over.clone())
        .set("created_at", a.created_at.as_str())
        .set("updated_at", a.updated_at.as_str())];
    rows.extend(link_insertions(a));
    rows
}

fn link_insertions(a: &AssignmentRow) -> Vec<Insert> {
    let boundaries = a.boundaries.iter().map(|code| {
        Insert::new("assignment_boundaries")
            .set("assignment_id", a.id.as_str())
            .set("boundary_code", code.as_str())
    });
    let roles = a.roles.iter().map(|code| {
        Insert::new("assignment_roles")
            .set("assignment_id", a.id.as_str())
            .set("role_code", code.as_str())
    });
    boundaries.chain(roles).collect()
}

pub async fn insert(conn: &mut Conn, a: &AssignmentRow) -> Result<(), StoreError> {
    Writer::Now(conn).insert_all(insertions(a)).await
}

/// Writes dates, end and links of an existing assignment.
pub async fn update(conn: &mut Conn, a: &AssignmentRow) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE assignments SET from_date = ");
    sql.bind(a.from_date.as_str())
        .push(", till_date = ")
        .bind(a.till_date.as_str())
        .push(", ended_on = ")
        .bind(a.ended_on.clone())
        .push(", end_reason = ")
        .bind(a.end_reason.clone())
        .push(", updated_at = ")
        .bind(a.updated_at.as_str())
        .push(" WHERE id = ")
        .bind(a.id.as_str());
    sql.execute(conn).await?;
    replace_links(conn, a).await
}

async fn replace_links(conn: &mut Conn, a: &AssignmentRow) -> Result<(), StoreError> {
    for table in ["assignment_boundaries", "assignment_roles"] {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE assignment_id = "));
        sql.bind(a.id.as_str());
        sql.execute(conn).await?;
    }
    Writer::Now(conn).insert_all(link_insertions(a)).await
}

/// The boundaries of each user's assignments that are open on `today` (with paths).
pub async fn open_boundaries_of(
    conn: &mut Conn,
    user_ids: &[String],
    today: &str,
) -> Result<HashMap<String, Vec<BoundaryPath>>, StoreError> {
    let mut out: HashMap<String, Vec<BoundaryPath>> = HashMap::new();
    for chunk in user_ids.chunks(400) {
        let mut sql = Sql::new("SELECT a.user_id, b.path FROM assignments a JOIN assignment_boundaries ab ON ab.assignment_id = a.id JOIN boundaries b ON b.code = ab.boundary_code WHERE a.till_date >= ");
        sql.bind(today)
            .push(" AND a.user_id IN (")
            .bind_list(chunk.iter().map(String::as_str))
            .push(")");
        for row in sql.fetch_all(conn).await? {
            out.entry(text(&row, "user_id")?)
                .or_default()
                .push(BoundaryPath::from_stored(text(&row, "path")?));
        }
    }
    Ok(out)
}

/// One person who served somewhere on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    pub assignment: AssignmentRow,
    pub boundary_code: String,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: String,
}

/// Assignments covering `boundary` on `date`: assigned to it, inside it, or to an
/// ancestor of it.
pub async fn staff(
    conn: &mut Conn,
    boundary: &BoundaryPath,
    date: &str,
    campaign: Option<&str>,
) -> Result<Vec<StaffRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {}, ab.boundary_code, u.username, u.first_name, u.last_name, u.status \
         FROM assignments a JOIN assignment_boundaries ab ON ab.assignment_id = a.id \
         JOIN boundaries ob ON ob.code = ab.boundary_code JOIN users u ON u.id = a.user_id \
         WHERE a.from_date <= ",
        COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    sql.bind(date).push(" AND a.till_date >= ").bind(date);
    sql.push(" AND ((ob.path >= ")
        .bind(boundary.as_str())
        .push(" AND ob.path < ")
        .bind(boundary.subtree_upper_bound())
        .push(") OR substr(")
        .bind(boundary.as_str())
        .push(", 1, length(ob.path)) = ob.path)");
    // A deactivated worker served until the day before their deactivation.
    sql.push(" AND (u.deactivated_on IS NULL OR u.deactivated_on > ")
        .bind(date)
        .push(")");
    if let Some(c) = campaign {
        sql.push(" AND a.campaign_code = ").bind(c);
    }
    sql.push(" ORDER BY a.campaign_code, ab.boundary_code, u.username");
    let rows = sql.fetch_all(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(StaffRow {
            assignment: from_row(row)?,
            boundary_code: text(row, "boundary_code")?,
            username: text(row, "username")?,
            first_name: opt_text(row, "first_name")?,
            last_name: opt_text(row, "last_name")?,
            status: text(row, "status")?,
        });
    }
    Ok(out)
}

/// Assignments of a campaign that reach outside `[start, end]`, for re-clamping.
pub async fn of_campaign(
    conn: &mut Conn,
    campaign: &str,
) -> Result<Vec<AssignmentRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM assignments WHERE campaign_code = "
    ));
    sql.bind(campaign);
    let rows = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    complete(conn, rows).await
}
