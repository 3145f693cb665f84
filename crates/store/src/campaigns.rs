//! Campaigns (DIGIT "projects"): a date window over a set of boundaries.

use sqlx::any::AnyRow;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{int, opt_text, text, Page, Sql};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CampaignRow {
    pub code: String,
    pub name: String,
    pub campaign_type: String,
    pub parent_code: Option<String>,
    pub start_date: String,
    pub end_date: String,
    pub version: i64,
    pub boundaries: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str =
    "code, name, campaign_type, parent_code, start_date, end_date, version, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<CampaignRow, StoreError> {
    Ok(CampaignRow {
        code: text(row, "code")?,
        name: text(row, "name")?,
        campaign_type: text(row, "campaign_type")?,
        parent_code: opt_text(row, "parent_code")?,
        start_date: text(row, "start_date")?,
        end_date: text(row, "end_date")?,
        version: int(row, "version")?,
        boundaries: Vec::new(),
        created_at: text(row, "created_at")?,
        updated_at: text(row, "updated_at")?,
    })
}

async fn with_boundaries(
    conn: &mut Conn,
    mut rows: Vec<CampaignRow>,
) -> Result<Vec<CampaignRow>, StoreError> {
    if rows.is_empty() {
        return Ok(rows);
    }
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let mut by_code = crate::sql::grouped(
        conn,
        "campaign_boundaries",
        "campaign_code",
        "boundary_code",
        &codes,
    )
    .await?;
    for row in &mut rows {
        row.boundaries = by_code.remove(&row.code).unwrap_or_default();
    }
    Ok(rows)
}

pub async fn get(conn: &mut Conn, code: &str) -> Result<Option<CampaignRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM campaigns WHERE code = "));
    sql.bind(code);
    let Some(row) = sql.fetch_optional(conn).await? else {
        return Ok(None);
    };
    Ok(with_boundaries(conn, vec![from_row(&row)?]).await?.pop())
}

pub async fn children(conn: &mut Conn, code: &str) -> Result<Vec<CampaignRow>, StoreError> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM campaigns WHERE parent_code = "
    ));
    sql.bind(code).push(" ORDER BY code");
    let rows = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    with_boundaries(conn, rows).await
}

#[derive(Debug, Clone, Default)]
pub struct CampaignQuery {
    pub campaign_type: Option<String>,
    pub parent: Option<String>,
    /// Only campaigns whose window contains this date.
    pub active_on: Option<String>,
    /// Folded name or code fragment.
    pub q: Option<String>,
    pub after_code: Option<String>,
    pub limit: i64,
}

pub async fn list(conn: &mut Conn, q: &CampaignQuery) -> Result<Page<CampaignRow>, StoreError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(t) = &q.campaign_type {
        filter.push(" AND campaign_type = ").bind(t.as_str());
    }
    if let Some(p) = &q.parent {
        filter.push(" AND parent_code = ").bind(p.as_str());
    }
    if let Some(d) = &q.active_on {
        filter
            .push(" AND start_date <= ")
            .bind(d.as_str())
            .push(" AND end_date >= ")
            .bind(d.as_str());
    }
    if let Some(text) = &q.q {
        let pattern = format!(
            "%{}%",
            cadre_domain::text::escape_like(&text.to_lowercase())
        );
        filter
            .push(" AND (lower(name) LIKE ")
            .bind(pattern.clone())
            .push(" ESCAPE '\\' OR lower(code) LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\')");
    }
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM campaigns");
    count.append(&filter);
    let total = count.fetch_count(conn).await?;
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM campaigns"));
    sql.append(&filter);
    if let Some(after) = &q.after_code {
        sql.push(" AND code > ").bind(after.as_str());
    }
    sql.push(" ORDER BY code LIMIT ").bind(q.limit + 1);
    let mut rows = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if rows.len() as i64 > q.limit {
        rows.truncate(q.limit as usize);
        rows.last().map(|c| c.code.clone())
    } else {
        None
    };
    Ok(Page {
        items: with_boundaries(conn, rows).await?,
        next_cursor,
        total,
    })
}

pub async fn insert(conn: &mut Conn, c: &CampaignRow) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!("INSERT INTO campaigns ({COLUMNS}) VALUES ("));
    sql.bind(c.code.as_str())
        .push(", ")
        .bind(c.name.as_str())
        .push(", ")
        .bind(c.campaign_type.as_str())
        .push(", ")
        .bind(c.parent_code.clone())
        .push(", ")
        .bind(c.start_date.as_str())
        .push(", ")
        .bind(c.end_date.as_str())
        .push(", ")
        .bind(c.version)
        .push(", ")
        .bind(c.created_at.as_str())
        .push(", ")
        .bind(c.updated_at.as_str())
        .push(")");
    sql.execute(conn).await?;
    replace_boundaries(conn, &c.code, &c.boundaries).await
}

/// Writes `c` if its stored version is still `expected`; false when someone else won.
pub async fn update(conn: &mut Conn, c: &CampaignRow, expected: i64) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE campaigns SET name = ");
    sql.bind(c.name.as_str())
        .push(", campaign_type = ")
        .bind(c.campaign_type.as_str())
        .push(", parent_code = ")
        .bind(c.parent_code.clone())
        .push(", start_date = ")
        .bind(c.start_date.as_str())
        .push(", end_date = ")
        .bind(c.end_date.as_str())
        .push(", version = ")
        .bind(c.version)
        .push(", updated_at = ")
        .bind(c.updated_at.as_str())
        .push(" WHERE code = ")
        .bind(c.code.as_str())
        .push(" AND version = ")
        .bind(expected);
    if sql.execute(conn).await? != 1 {
        return Ok(false);
    }
    replace_boundaries(conn, &c.code, &c.boundaries).await?;
    Ok(true)
}

async fn replace_boundaries(
    conn: &mut Conn,
    code: &str,
    boundaries: &[String],
) -> Result<(), StoreError> {
    let mut sql = Sql::new("DELETE FROM campaign_boundaries WHERE campaign_code = ");
    sql.bind(code);
    sql.execute(conn).await?;
    for chunk in boundaries.chunks(400) {
        let mut sql =
            Sql::new("INSERT INTO campaign_boundaries (campaign_code, boundary_code) VALUES ");
        for (i, b) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(code)
                .push(", ")
                .bind(b.as_str())
                .push(")");
        }
        sql.execute(conn).await?;
    }
    Ok(())
}

/// Leaf boundaries (the service-delivery level) inside the campaign's boundaries that no
/// open assignment of the campaign covers on `today` or later.
pub async fn uncovered(
    conn: &mut Conn,
    campaign: &CampaignRow,
    subtrees: &[cadre_domain::BoundaryPath],
    today: &str,
    after_code: Option<&str>,
    limit: i64,
) -> Result<Page<crate::boundaries::BoundaryRow>, StoreError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    crate::boundaries::push_path_in_subtrees(&mut filter, "b.path", subtrees);
    filter
        .push(" AND NOT EXISTS (SELECT 1 FROM boundaries child WHERE child.parent_code = b.code)");
    filter.push(" AND NOT EXISTS (SELECT 1 FROM assignments a JOIN assignment_boundaries ab ON ab.assignment_id = a.id JOIN boundaries ob ON ob.code = ab.boundary_code JOIN users au ON au.id = a.user_id AND au.status = 'active' WHERE a.campaign_code = ")
        .bind(campaign.code.as_str())
        .push(" AND a.till_date >= ")
        .bind(today)
        .push(" AND a.till_date >= a.from_date AND substr(b.path, 1, length(ob.path)) = ob.path)");
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM boundaries b");
    count.append(&filter);
    let total = count.fetch_count(conn).await?;
    let mut sql = Sql::new("SELECT b.code FROM boundaries b");
    sql.append(&filter);
    if let Some(after) = after_code {
        sql.push(" AND b.code > ").bind(after);
    }
    sql.push(" ORDER BY b.code LIMIT ").bind(limit + 1);
    let mut codes: Vec<String> = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| text(r, "code"))
        .collect::<Result<_, _>>()?;
    let next_cursor = if codes.len() as i64 > limit {
        codes.truncate(limit as usize);
        codes.last().cloned()
    } else {
        None
    };
    let mut items = crate::boundaries::get_many(conn, &codes).await?;
    items.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}
