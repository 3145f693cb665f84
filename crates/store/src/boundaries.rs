//! The boundary hierarchy, stored with materialised paths (see `cadre_domain::boundary`).

use sqlx::any::AnyRow;

use cadre_domain::BoundaryPath;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{int, opt_text, text, Page, Sql};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub path: String,
    pub depth: i64,
}

impl BoundaryRow {
    pub fn path(&self) -> BoundaryPath {
        BoundaryPath::from_stored(self.path.clone())
    }
}

const COLUMNS: &str = "code, name, level, parent_code, path, depth";

fn from_row(row: &AnyRow) -> Result<BoundaryRow, StoreError> {
    Ok(BoundaryRow {
        code: text(row, "code")?,
        name: text(row, "name")?,
        level: text(row, "level")?,
        parent_code: opt_text(row, "parent_code")?,
        path: text(row, "path")?,
        depth: int(row, "depth")?,
    })
}

pub async fn get(conn: &mut Conn, code: &str) -> Result<Option<BoundaryRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM boundaries WHERE code = "));
    sql.bind(code);
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The boundaries with these codes (those that exist), in no particular order.
pub async fn get_many(conn: &mut Conn, codes: &[String]) -> Result<Vec<BoundaryRow>, StoreError> {
    let mut found = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(500) {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM boundaries WHERE code IN ("));
        sql.bind_list(chunk.iter().map(String::as_str)).push(")");
        for row in sql.fetch_all(conn).await? {
            found.push(from_row(&row)?);
        }
    }
    Ok(found)
}

/// Inserts new boundaries and renames or re-levels existing ones, in batches. Callers
/// order the rows so that parents come before their children.
pub async fn upsert_many(
    conn: &mut Conn,
    rows: &[BoundaryRow],
    now: &str,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(300) {
        let mut sql = Sql::new(
            "INSERT INTO boundaries (code, name, name_folded, level, parent_code, path, depth, created_at, updated_at) VALUES ",
        );
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(row.code.as_str())
                .push(", ")
                .bind(row.name.as_str())
                .push(", ")
                .bind(cadre_domain::text::fold(&row.name))
                .push(", ")
                .bind(row.level.as_str())
                .push(", ")
                .bind(row.parent_code.clone())
                .push(", ")
                .bind(row.path.as_str())
                .push(", ")
                .bind(row.depth)
                .push(", ")
                .bind(now)
                .push(", ")
                .bind(now)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_folded = excluded.name_folded, \
             level = excluded.level, updated_at = excluded.updated_at",
        );
        sql.execute(conn).await?;
    }
    Ok(())
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct BoundaryQuery {
    pub parent: Option<String>,
    /// Only the roots of the hierarchy.
    pub roots_only: bool,
    pub level: Option<String>,
    /// Folded name fragment.
    pub name: Option<String>,
    /// Only boundaries inside one of these subtrees (`None`: everywhere).
    pub within: Option<Vec<BoundaryPath>>,
    pub after_code: Option<String>,
    pub limit: i64,
}

pub async fn list(conn: &mut Conn, query: &BoundaryQuery) -> Result<Page<BoundaryRow>, StoreError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    if let Some(parent) = &query.parent {
        filter.push(" AND parent_code = ").bind(parent.as_str());
    } else if query.roots_only {
        filter.push(" AND parent_code IS NULL");
    }
    if let Some(level) = &query.level {
        filter.push(" AND level = ").bind(level.as_str());
    }
    if let Some(name) = &query.name {
        filter
            .push(" AND name_folded LIKE ")
            .bind(format!("%{}%", cadre_domain::text::escape_like(name)))
            .push(" ESCAPE '\\'");
    }
    if let Some(within) = &query.within {
        push_path_in_subtrees(&mut filter, "path", within);
    }
    let total = count(conn, &filter).await?;
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM boundaries"));
    sql.append(&filter);
    if let Some(after) = &query.after_code {
        sql.push(" AND code > ").bind(after.as_str());
    }
    sql.push(" ORDER BY code LIMIT ").bind(query.limit + 1);
    let mut items = sql
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if items.len() as i64 > query.limit {
        items.truncate(query.limit as usize);
        items.last().map(|b| b.code.clone())
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

/// Number of boundaries in the subtree below `path`, itself included.
pub async fn subtree_count(conn: &mut Conn, path: &BoundaryPath) -> Result<i64, StoreError> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    push_path_in_subtrees(&mut filter, "path", std::slice::from_ref(path));
    count(conn, &filter).await
}

async fn count(conn: &mut Conn, filter: &Sql) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM boundaries");
    sql.append(filter);
    sql.fetch_count(conn).await
}

/// Appends `AND (column in subtree 1 OR …)`; with no subtrees nothing matches.
pub fn push_path_in_subtrees(sql: &mut Sql, column: &str, subtrees: &[BoundaryPath]) {
    if subtrees.is_empty() {
        sql.push(" AND 1 = 0");
        return;
    }
    sql.push(" AND (");
    for (i, root) in subtrees.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(")
            .push(column)
            .push(" >= ")
            .bind(root.as_str())
            .push(" AND ")
            .push(column)
            .push(" < ")
            .bind(root.subtree_upper_bound())
            .push(")");
    }
    sql.push(")");
}
