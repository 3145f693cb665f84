//! Roles and the actions each carries.

use std::collections::BTreeMap;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{boolean, text, Sql};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub field_role: bool,
    pub actions: Vec<String>,
}

/// Every role with its actions, ordered by code.
pub async fn list(conn: &mut Conn) -> Result<Vec<RoleRow>, StoreError> {
    let mut roles: BTreeMap<String, RoleRow> = BTreeMap::new();
    for row in Sql::new("SELECT code, name, description, builtin, field_role FROM roles")
        .fetch_all(conn)
        .await?
    {
        let role = RoleRow {
            code: text(&row, "code")?,
            name: text(&row, "name")?,
            description: text(&row, "description")?,
            builtin: boolean(&row, "builtin")?,
            field_role: boolean(&row, "field_role")?,
            actions: Vec::new(),
        };
        roles.insert(role.code.clone(), role);
    }
    for row in Sql::new("SELECT role_code, action FROM role_actions ORDER BY action")
        .fetch_all(conn)
        .await?
    {
        if let Some(role) = roles.get_mut(&text(&row, "role_code")?) {
            role.actions.push(text(&row, "action")?);
        }
    }
    Ok(roles.into_values().collect())
}

pub async fn get(conn: &mut Conn, code: &str) -> Result<Option<RoleRow>, StoreError> {
    Ok(list(conn).await?.into_iter().find(|r| r.code == code))
}

/// The actions of each of these roles (unknown codes are simply absent).
pub async fn actions_of(
    conn: &mut Conn,
    codes: &[String],
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if codes.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new("SELECT code FROM roles WHERE code IN (");
    sql.bind_list(codes.iter().map(String::as_str)).push(")");
    for row in sql.fetch_all(conn).await? {
        out.insert(text(&row, "code")?, Vec::new());
    }
    let mut sql = Sql::new("SELECT role_code, action FROM role_actions WHERE role_code IN (");
    sql.bind_list(codes.iter().map(String::as_str)).push(")");
    for row in sql.fetch_all(conn).await? {
        out.entry(text(&row, "role_code")?)
            .or_default()
            .push(text(&row, "action")?);
    }
    Ok(out)
}

pub async fn insert(conn: &mut Conn, role: &RoleRow, now: &str) -> Result<(), StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO roles (code, name, description, builtin, field_role, created_at, updated_at) VALUES (",
    );
    sql.bind(role.code.as_str())
        .push(", ")
        .bind(role.name.as_str())
        .push(", ")
        .bind(role.description.as_str())
        .push(", ")
        .bind(role.builtin)
        .push(", ")
        .bind(role.field_role)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(")");
    sql.execute(conn).await?;
    replace_actions(conn, &role.code, &role.actions).await
}

pub async fn update(conn: &mut Conn, role: &RoleRow, now: &str) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE roles SET name = ");
    sql.bind(role.name.as_str())
        .push(", description = ")
        .bind(role.description.as_str())
        .push(", field_role = ")
        .bind(role.field_role)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE code = ")
        .bind(role.code.as_str());
    sql.execute(conn).await?;
    replace_actions(conn, &role.code, &role.actions).await
}

async fn replace_actions(
    conn: &mut Conn,
    code: &str,
    actions: &[String],
) -> Result<(), StoreError> {
    let mut sql = Sql::new("DELETE FROM role_actions WHERE role_code = ");
    sql.bind(code);
    sql.execute(conn).await?;
    if actions.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("INSERT INTO role_actions (role_code, action) VALUES ");
    for (i, action) in actions.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(code)
            .push(", ")
            .bind(action.as_str())
            .push(")");
    }
    sql.execute(conn).await?;
    Ok(())
}
