//! A small SQL builder that numbers placeholders `$1, $2, …` (understood by both
//! backends) and helpers to read columns the same way on both.

use std::borrow::Cow;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Arguments, Row};

use crate::error::StoreError;

/// One bound value.
#[derive(Debug, Clone)]
pub enum Value {
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// SQL text with its arguments, built piece by piece.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        let value = match value.into() {
            // PostgreSQL cannot hold NUL in text and SQLite's LIKE stops at it; a
            // replacement character keeps both backends alike and matches nothing stored.
            Value::Text(Some(text)) if text.contains('\0') => {
                Value::Text(Some(text.replace('\0', "\u{fffd}")))
            }
            other => other,
        };
        self.values.push(value);
        self.text.push('$');
        self.text.push_str(&self.values.len().to_string());
        self
    }

    /// Appends `$a, $b, …` for each value.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self
    }

    /// Appends another fragment, renumbering its placeholders after this one's.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        let offset = self.values.len();
        let mut chars = other.text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let n: usize = digits.parse().unwrap_or(0);
                self.text.push('$');
                self.text.push_str(&(n + offset).to_string());
            } else {
                self.text.push(c);
            }
        }
        self.values.extend(other.values.iter().cloned());
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The bound values, in placeholder order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    pub fn arguments(&self) -> Result<AnyArguments<'static>, StoreError> {
        let mut args = AnyArguments::default();
        for value in &self.values {
            let added = match value {
                Value::Text(v) => args.add(v.clone()),
                Value::Int(v) => args.add(*v),
                Value::Bool(v) => args.add(*v),
                Value::Bytes(v) => args.add(v.clone()),
            };
            added.map_err(|e| StoreError::Other(format!("binding argument: {e}")))?;
        }
        Ok(args)
    }

    pub async fn fetch_all(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let text = self.text_for(conn);
        Ok(sqlx::query_with(&text, self.arguments()?)
            .fetch_all(conn)
            .await?)
    }

    pub async fn fetch_optional(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Option<AnyRow>, StoreError> {
        let text = self.text_for(conn);
        Ok(sqlx::query_with(&text, self.arguments()?)
            .fetch_optional(conn)
            .await?)
    }

    /// Runs a `SELECT COUNT(*) AS n …` and returns `n`.
    pub async fn fetch_count(&self, conn: &mut sqlx::AnyConnection) -> Result<i64, StoreError> {
        match self.fetch_optional(conn).await? {
            Some(row) => int(&row, "n"),
            None => Ok(0),
        }
    }

    /// Runs the statement and returns how many rows it changed.
    pub async fn execute(&self, conn: &mut sqlx::AnyConnection) -> Result<u64, StoreError> {
        let text = self.text_for(conn);
        Ok(sqlx::query_with(&text, self.arguments()?)
            .execute(conn)
            .await?
            .rows_affected())
    }

    /// The text as `conn`'s database runs it fastest. SQLite finds the argument of a
    /// numbered placeholder by searching the statement's placeholder names, once per
    /// placeholder, so binding a statement with many of them takes quadratic time;
    /// anonymous `?` placeholders bind by position with no search.
    fn text_for(&self, conn: &sqlx::AnyConnection) -> Cow<'_, str> {
        if is_sqlite(conn) {
            if let Some(positional) = positional_placeholders(&self.text) {
                return Cow::Owned(positional);
            }
        }
        Cow::Borrowed(&self.text)
    }
}

/// Whether `conn` is a SQLite connection.
pub fn is_sqlite(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("sqlite")
}

/// `text` with `$1, $2, …` replaced by `?`, when they occur outside string literals
/// exactly once each and in increasing order (as [`Sql`] numbers them); otherwise
/// `None`, and the numbered text must be kept.
fn positional_placeholders(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut expected: usize = 1;
    let mut in_literal = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_literal = !in_literal;
                out.push(c);
            }
            '?' if !in_literal => return None,
            '$' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n: usize = 0;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n.checked_mul(10)?.checked_add(usize::try_from(d).ok()?)?;
                    chars.next();
                }
                if n != expected {
                    return None;
                }
                expected += 1;
                out.push('?');
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Reads a text column.
pub fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(column)?)
}

/// Reads a nullable text column.
pub fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub fn bytes(row: &AnyRow, column: &str) -> Result<Vec<u8>, StoreError> {
    Ok(row.try_get::<Vec<u8>, _>(column)?)
}

pub fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(column)?)
}

/// Reads a boolean: PostgreSQL returns BOOLEAN, SQLite stores it as an integer.
pub fn boolean(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Values of a link table grouped by owner, for many owners at once (chunked to stay
/// under parameter limits): `SELECT {key}, {value} FROM {table} WHERE {key} IN (…)`.
pub async fn grouped(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    key: &str,
    value: &str,
    owners: &[String],
) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError> {
    let mut out: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for chunk in owners.chunks(400) {
        let mut sql = Sql::new(&format!(
            "SELECT {key}, {value} FROM {table} WHERE {key} IN ("
        ));
        sql.bind_list(chunk.iter().map(String::as_str))
            .push(&format!(") ORDER BY {value}"));
        for row in sql.fetch_all(conn).await? {
            out.entry(text(&row, key)?)
                .or_default()
                .push(text(&row, value)?);
        }
    }
    Ok(out)
}

/// A page of results with the total count of matching rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_placeholders_become_positional() {
        let mut sql = Sql::new("INSERT INTO t (a, b) VALUES (");
        sql.bind("x").push(", ").bind(1).push("), (");
        let mut more = Sql::new("");
        more.bind("y").push(", ").bind(2);
        sql.append(&more).push(")");
        assert_eq!(
            positional_placeholders(sql.text()).as_deref(),
            Some("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)")
        );
    }

    #[test]
    fn numbered_text_is_kept_unless_each_placeholder_comes_once_in_order() {
        assert_eq!(positional_placeholders("SELECT $2, $1"), None);
        assert_eq!(positional_placeholders("SELECT $1, $1"), None);
        assert_eq!(positional_placeholders("SELECT $1 WHERE a = ?"), None);
        assert_eq!(
            positional_placeholders("SELECT '$7 ?', $1, $10").as_deref(),
            None,
            "$10 after $1 skips numbers"
        );
        assert_eq!(
            positional_placeholders("SELECT '$7 ?', $1, $2 || '$'").as_deref(),
            Some("SELECT '$7 ?', ?, ? || '$'")
        );
        assert_eq!(
            positional_placeholders("SELECT 1").as_deref(),
            Some("SELECT 1")
        );
    }
}
