//! Inserts as values rather than SQL text, so that many of them can be written by one
//! statement. A use case hands its inserts to a [`Writer`]: either they run at once,
//! or (in a bulk batch) they wait in an [`InsertQueue`] and the batch writes them all
//! together before it commits. Each statement costs a round trip (a thread hand-off on
//! SQLite, the network on PostgreSQL) whatever it carries, so a batch of 500 new users
//! costs a handful of statements instead of thousands.

use std::collections::BTreeSet;

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{Sql, Value};
use crate::users::{starting_with, TakenUsernames};

/// Bound values per statement. SQLite allows 32,766, PostgreSQL 65,535. Since
/// statements bind by position (`Sql::text_for`) binding is linear, and larger
/// statements no longer cost more per value; but they gained nothing either (bulk
/// bench, 20,000 users: 1,000 values 3,359 users/s, 250 values 3,634 users/s, within
/// the machine's noise), so the smaller, gentler size stays.
const MAX_VALUES_PER_STATEMENT: usize = 250;

/// One row to insert.
#[derive(Debug, Clone)]
pub struct Insert {
    table: &'static str,
    columns: Vec<&'static str>,
    values: Vec<Value>,
    /// `ON CONFLICT …` clause, the same for every row of a statement.
    on_conflict: Option<&'static str>,
}

impl Insert {
    pub fn new(table: &'static str) -> Self {
        Self {
            table,
            columns: Vec::new(),
            values: Vec::new(),
            on_conflict: None,
        }
    }

    pub fn set(mut self, column: &'static str, value: impl Into<Value>) -> Self {
        self.columns.push(column);
        self.values.push(value.into());
        self
    }

    /// Rows that already exist are skipped: `ON CONFLICT (columns) DO NOTHING`.
    pub fn skip_if_exists(mut self, conflict: &'static str) -> Self {
        self.on_conflict = Some(conflict);
        self
    }

    /// The text value of `column`, if this row sets it.
    pub fn text(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| *c == column)?;
        match self.values.get(i)? {
            Value::Text(Some(text)) => Some(text),
            _ => None,
        }
    }

    fn same_statement(&self, other: &Insert) -> bool {
        self.table == other.table
            && self.columns == other.columns
            && self.on_conflict == other.on_conflict
    }

    /// Runs this one insert; returns how many rows it added (0 when skipped).
    pub async fn execute(&self, conn: &mut Conn) -> Result<u64, StoreError> {
        statement(std::slice::from_ref(self)).execute(conn).await
    }
}

/// One multi-row INSERT for rows that share table, columns and conflict clause.
fn statement(rows: &[Insert]) -> Sql {
    let Some(first) = rows.first() else {
        return Sql::new("SELECT 1");
    };
    let mut sql = Sql::new(&format!(
        "INSERT INTO {} ({}) VALUES ",
        first.table,
        first.columns.join(", ")
    ));
    for (i, row) in rows.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind_list(row.values.iter().cloned());
        sql.push(")");
    }
    if let Some(conflict) = first.on_conflict {
        sql.push(" ON CONFLICT (")
            .push(conflict)
            .push(") DO NOTHING");
    }
    sql
}

/// The statements that write `rows`, as few as possible. Rows are grouped by statement
/// shape; groups go out in the order their table first appears, which respects foreign
/// keys because every unit of work inserts a parent before its children.
fn statements(rows: Vec<Insert>) -> Vec<Sql> {
    let mut tables: Vec<&'static str> = Vec::new();
    let mut groups: Vec<Vec<Insert>> = Vec::new();
    for row in rows {
        if !tables.contains(&row.table) {
            tables.push(row.table);
        }
        match groups.iter_mut().find(|g| g[0].same_statement(&row)) {
            Some(group) => group.push(row),
            None => groups.push(vec![row]),
        }
    }
    groups.sort_by_key(|g| tables.iter().position(|t| *t == g[0].table));
    let mut out = Vec::new();
    for group in groups {
        let per_statement = (MAX_VALUES_PER_STATEMENT / group[0].values.len().max(1)).max(1);
        out.extend(group.chunks(per_statement).map(statement));
    }
    out
}

async fn write_grouped(conn: &mut Conn, rows: Vec<Insert>) -> Result<(), StoreError> {
    for sql in statements(rows) {
        sql.execute(conn).await?;
    }
    Ok(())
}

/// Inserts waiting to be written together, in the order they were made.
#[derive(Debug, Default)]
pub struct InsertQueue {
    pending: Vec<Insert>,
    /// The usernames of the users waiting here, sorted: choosing a later user's
    /// username must treat them as taken, and a scan of the queue for each new user
    /// grew with the square of the batch.
    queued_usernames: BTreeSet<String>,
    /// What the batch read of usernames before its rows ran, so that choosing each new
    /// user's username needs no statement of its own.
    pub taken_usernames: TakenUsernames,
}

impl InsertQueue {
    fn push(&mut self, row: Insert) {
        if row.table == "users" {
            if let Some(username) = row.text("username") {
                self.queued_usernames.insert(username.to_owned());
            }
        }
        self.pending.push(row);
    }

    /// The usernames of waiting users that start with `stem`.
    pub fn usernames_under<'a>(&'a self, stem: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        starting_with(&self.queued_usernames, stem)
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Writes every waiting row on `conn` (the batch's transaction).
    pub async fn flush(&mut self, conn: &mut Conn) -> Result<(), StoreError> {
        write_grouped(conn, std::mem::take(&mut self.pending)).await
    }
}

/// Where a use case's inserts go; its reads always use [`Writer::conn`].
pub enum Writer<'c> {
    /// Executed at once.
    Now(&'c mut Conn),
    /// Queued, for the owner of the queue to flush on the same connection.
    Queued(&'c mut Conn, &'c mut InsertQueue),
}

impl Writer<'_> {
    pub fn conn(&mut self) -> &mut Conn {
        match self {
            Writer::Now(conn) | Writer::Queued(conn, _) => conn,
        }
    }

    /// The rows waiting to be written, when inserts are queued.
    pub fn queue(&self) -> Option<&InsertQueue> {
        match self {
            Writer::Now(_) => None,
            Writer::Queued(_, queue) => Some(queue),
        }
    }

    pub async fn insert(&mut self, row: Insert) -> Result<(), StoreError> {
        match self {
            Writer::Now(conn) => row.execute(conn).await.map(|_| ()),
            Writer::Queued(_, queue) => {
                queue.push(row);
                Ok(())
            }
        }
    }

    /// Several rows: one statement per shape when written at once.
    pub async fn insert_all(&mut self, rows: Vec<Insert>) -> Result<(), StoreError> {
        match self {
            Writer::Now(conn) => write_grouped(conn, rows).await,
            Writer::Queued(_, queue) => {
                for row in rows {
                    queue.push(row);
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> Insert {
        Insert::new("users").set("id", id).set("username", id)
    }

    fn role(user: &str) -> Insert {
        Insert::new("user_roles")
            .set("user_id", user)
            .set("role_code", "R")
    }

    #[test]
    fn rows_of_one_shape_share_a_statement_and_parents_go_first() {
        // A second user arrives after the first one's role: users must still be
        // written before any role that refers to them.
        let rows = vec![
            user("a"),
            role("a"),
            user("b"),
            role("b"),
            Insert::new("users").set("id", "c"),
        ];
        let texts: Vec<String> = statements(rows)
            .iter()
            .map(|s| s.text().to_owned())
            .collect();
        assert_eq!(
            texts,
            [
                "INSERT INTO users (id, username) VALUES ($1, $2), ($3, $4)",
                "INSERT INTO users (id) VALUES ($1)",
                "INSERT INTO user_roles (user_id, role_code) VALUES ($1, $2), ($3, $4)",
            ]
        );
    }

    #[test]
    fn large_groups_are_split_under_the_parameter_limit() {
        let rows: Vec<Insert> = (0..251).map(|i| user(&i.to_string())).collect();
        let statements = statements(rows);
        assert_eq!(statements.len(), 3);
        assert!(statements[0].text().ends_with("($249, $250)"));
        assert!(statements[2].text().ends_with("VALUES ($1, $2)"));
    }

    #[test]
    fn skipped_conflicts_keep_their_clause_and_queued_usernames_are_known() {
        let message = Insert::new("outbox")
            .set("idempotency_key", "k")
            .skip_if_exists("idempotency_key");
        assert_eq!(
            statement(&[message.clone(), message]).text(),
            "INSERT INTO outbox (idempotency_key) VALUES ($1), ($2) ON CONFLICT (idempotency_key) DO NOTHING"
        );
        let mut queue = InsertQueue::default();
        for row in [
            user("ana.lopes"),
            role("ana.lopes"),
            user("ana.lopes2"),
            user("anabela"),
        ] {
            queue.push(row);
        }
        assert_eq!(
            queue.usernames_under("ana.lopes").collect::<Vec<_>>(),
            ["ana.lopes", "ana.lopes2"]
        );
        assert_eq!(queue.usernames_under("bruno").count(), 0);
    }
}
