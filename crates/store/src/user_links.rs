//! What hangs off a user row: roles, the actions they carry, jurisdictions, and whether
//! the user has assignments or a status history. Each is a correlated subquery folded
//! into the statement that reads the row itself, so resolving a caller or loading a
//! user costs one statement instead of one per table: on SQLite every statement is a
//! hand-off to the connection's thread and back, on PostgreSQL a network round trip.

use std::collections::HashMap;

use sqlx::any::AnyRow;

use cadre_domain::BoundaryPath;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{boolean, opt_text, Sql};
use crate::users::{self, UserRow};

/// Joins aggregated values. Role codes, action codes and boundary codes and paths are
/// validated to letters, digits and a little punctuation, so it never occurs in them.
const SEPARATOR: &str = "\u{1f}";

/// What a user may do and where: enough to build the actor of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Role codes, sorted.
    pub roles: Vec<String>,
    /// Action codes of those roles, in no particular order (a code may repeat across
    /// roles).
    pub actions: Vec<String>,
    /// Jurisdictions as (code, path), sorted by code.
    pub jurisdictions: Vec<(String, BoundaryPath)>,
}

/// What a user's view needs besides the row, and what the next reads can skip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// Role codes, sorted.
    pub roles: Vec<String>,
    /// Jurisdictions as (code, path), sorted by code.
    pub jurisdictions: Vec<(String, BoundaryPath)>,
    /// False when the user has no assignment at all, ended ones included.
    pub has_assignments: bool,
    /// False when the user has no status change at all.
    pub has_status_changes: bool,
}

/// A user row read with its links and with the boundaries of its assignments open on
/// the day asked about: the user's footprint, which scope checks need.
#[derive(Debug, Clone)]
pub struct LoadedUser {
    pub row: UserRow,
    pub links: Links,
    pub open_assignment_paths: Vec<BoundaryPath>,
}

impl LoadedUser {
    /// Jurisdictions and the boundaries of open assignments.
    pub fn footprint(&self) -> Vec<BoundaryPath> {
        self.links
            .jurisdictions
            .iter()
            .map(|(_, path)| path.clone())
            .chain(self.open_assignment_paths.iter().cloned())
            .collect()
    }
}

/// Appends `, (…) AS {name}`: the values of `column` from the `FROM … WHERE …` clause
/// that `from_where` appends (correlated to the outer row), joined by [`SEPARATOR`];
/// NULL when there are none. In no particular order: an ordered aggregate makes
/// SQLite open a temporary table on every call, which cost more than the rest of the
/// statement, so callers sort.
fn push_aggregate(sql: &mut Sql, column: &str, name: &str, from_where: impl FnOnce(&mut Sql)) {
    // `string_agg` is spelled alike by PostgreSQL and SQLite (3.44 and later; the
    // bundled library is newer).
    sql.push(", (SELECT string_agg(")
        .push(column)
        .push(", ")
        .bind(SEPARATOR)
        .push(") ");
    from_where(sql);
    sql.push(") AS ").push(name);
}

fn push_roles(sql: &mut Sql, user_id: &str) {
    push_aggregate(sql, "lr.role_code", "link_roles", |sql| {
        sql.push("FROM user_roles lr WHERE lr.user_id = ")
            .push(user_id);
    });
}

/// Each jurisdiction as its code followed by its path: codes never contain `/` and
/// paths start with it, so the pair splits apart again at the first `/`.
fn push_jurisdictions(sql: &mut Sql, user_id: &str) {
    push_aggregate(sql, "lb.code || lb.path", "link_jurisdictions", |sql| {
        sql.push(
            "FROM user_jurisdictions lj JOIN boundaries lb ON lb.code = lj.boundary_code \
             WHERE lj.user_id = ",
        )
        .push(user_id);
    });
}

fn push_flags(sql: &mut Sql, user_id: &str) {
    sql.push(&format!(
        ", EXISTS (SELECT 1 FROM assignments la WHERE la.user_id = {user_id}) AS link_has_assignments\
         , EXISTS (SELECT 1 FROM status_changes ls WHERE ls.user_id = {user_id}) AS link_has_history"
    ));
}

fn split(row: &AnyRow, column: &str) -> Result<Vec<String>, StoreError> {
    Ok(opt_text(row, column)?
        .map(|joined| joined.split(SEPARATOR).map(str::to_owned).collect())
        .unwrap_or_default())
}

fn roles_from(row: &AnyRow) -> Result<Vec<String>, StoreError> {
    let mut roles = split(row, "link_roles")?;
    roles.sort();
    Ok(roles)
}

fn jurisdictions_from(row: &AnyRow) -> Result<Vec<(String, BoundaryPath)>, StoreError> {
    let mut jurisdictions = split(row, "link_jurisdictions")?
        .into_iter()
        .map(|pair| match pair.find('/') {
            Some(at) => Ok((
                pair[..at].to_owned(),
                BoundaryPath::from_stored(pair[at..].to_owned()),
            )),
            None => Err(StoreError::Corrupt(format!(
                "jurisdiction '{pair}' has no path"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    jurisdictions.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(jurisdictions)
}

fn links_from(row: &AnyRow) -> Result<Links, StoreError> {
    Ok(Links {
        roles: roles_from(row)?,
        jurisdictions: jurisdictions_from(row)?,
        has_assignments: boolean(row, "link_has_assignments")?,
        has_status_changes: boolean(row, "link_has_history")?,
    })
}

/// Appends the columns [`grants_from`] reads, for the user whose id is in `user_id`.
fn push_grant_columns(sql: &mut Sql, user_id: &str) {
    push_roles(sql, user_id);
    push_aggregate(sql, "ga.action", "link_actions", |sql| {
        sql.push(
            "FROM user_roles gr JOIN role_actions ga ON ga.role_code = gr.role_code \
             WHERE gr.user_id = ",
        )
        .push(user_id);
    });
    push_jurisdictions(sql, user_id);
}

fn grants_from(row: &AnyRow) -> Result<Grants, StoreError> {
    Ok(Grants {
        roles: roles_from(row)?,
        actions: split(row, "link_actions")?,
        jurisdictions: jurisdictions_from(row)?,
    })
}

/// The live row of a hashed-secret table (`sessions`, `api_tokens`: unrevoked, unexpired
/// at `now`) whose secret hashes to `token_hash`, read with its user and the user's
/// grants in one statement: every authenticated request starts with this. The table's
/// `columns` come named `{prefix}{column}`, the user's under their own names.
pub(crate) async fn find_live_with_user(
    conn: &mut Conn,
    table: &str,
    columns: &str,
    prefix: &str,
    token_hash: &str,
    now: &str,
) -> Result<Option<(AnyRow, UserRow, Grants)>, StoreError> {
    let owned = columns
        .split(", ")
        .map(|c| format!("o.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = Sql::new(&format!("SELECT {owned}, {}", users::prefixed_columns("u")));
    push_grant_columns(&mut sql, "u.id");
    sql.push(&format!(
        " FROM {table} o JOIN users u ON u.id = o.user_id WHERE o.token_hash = "
    ))
    .bind(token_hash)
    .push(" AND o.revoked_at IS NULL AND (o.expires_at IS NULL OR o.expires_at > ")
    .bind(now)
    .push(")");
    let Some(row) = sql.fetch_optional(conn).await? else {
        return Ok(None);
    };
    let user = users::from_row(&row)?;
    let grants = grants_from(&row)?;
    Ok(Some((row, user, grants)))
}

/// The grants of one user (none when the user does not exist).
pub async fn grants_of(conn: &mut Conn, user_id: &str) -> Result<Grants, StoreError> {
    let mut sql = Sql::new("SELECT u.id");
    push_grant_columns(&mut sql, "u.id");
    sql.push(" FROM users u WHERE u.id = ").bind(user_id);
    match sql.fetch_optional(conn).await? {
        Some(row) => grants_from(&row),
        None => Ok(Grants::default()),
    }
}

/// A user with its links and the boundaries of its assignments open on `today`.
pub async fn get_loaded(
    conn: &mut Conn,
    id: &str,
    today: &str,
) -> Result<Option<LoadedUser>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {}", users::prefixed_columns("u")));
    push_roles(&mut sql, "u.id");
    push_jurisdictions(&mut sql, "u.id");
    push_flags(&mut sql, "u.id");
    push_aggregate(&mut sql, "lob.path", "link_open_paths", |sql| {
        sql.push(
            "FROM assignments loa JOIN assignment_boundaries lab ON lab.assignment_id = loa.id \
             JOIN boundaries lob ON lob.code = lab.boundary_code \
             WHERE loa.user_id = u.id AND loa.till_date >= ",
        )
        .bind(today);
    });
    sql.push(" FROM users u WHERE u.id = ").bind(id);
    let Some(row) = sql.fetch_optional(conn).await? else {
        return Ok(None);
    };
    Ok(Some(LoadedUser {
        row: users::from_row(&row)?,
        links: links_from(&row)?,
        open_assignment_paths: split(&row, "link_open_paths")?
            .into_iter()
            .map(BoundaryPath::from_stored)
            .collect(),
    }))
}

/// The links of many users, for views of a page of them.
pub async fn links_of(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<HashMap<String, Links>, StoreError> {
    let mut out = HashMap::new();
    for chunk in user_ids.chunks(400) {
        let mut sql = Sql::new("SELECT u.id");
        push_roles(&mut sql, "u.id");
        push_jurisdictions(&mut sql, "u.id");
        push_flags(&mut sql, "u.id");
        sql.push(" FROM users u WHERE u.id IN (")
            .bind_list(chunk.iter().map(String::as_str))
            .push(")");
        for row in sql.fetch_all(conn).await? {
            out.insert(crate::sql::text(&row, "id")?, links_from(&row)?);
        }
    }
    Ok(out)
}
