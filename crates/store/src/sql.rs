//! A small SQL builder that numbers placeholders `$1, $2, …` (understood by both
//! backends) and helpers to read columns the same way on both.

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
        Ok(sqlx::query_with(&self.text, self.arguments()?)
            .fetch_all(conn)
            .await?)
    }

    pub async fn fetch_optional(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Option<AnyRow>, StoreError> {
        Ok(sqlx::query_with(&self.text, self.arguments()?)
            .fetch_optional(conn)
            .await?)
    }

    /// Runs the statement and returns how many rows it changed.
    pub async fn execute(&self, conn: &mut sqlx::AnyConnection) -> Result<u64, StoreError> {
        Ok(sqlx::query_with(&self.text, self.arguments()?)
            .execute(conn)
            .await?
            .rows_affected())
    }
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
