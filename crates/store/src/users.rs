//! User accounts with their roles and jurisdictions, and user search.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Bound;

use sqlx::any::AnyRow;

use cadre_domain::BoundaryPath;

use crate::boundaries::push_path_in_subtrees;
use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{boolean, int, opt_text, text, Sql};
use crate::writer::{Insert, Writer};

mod by_word;

use by_word::Holders;

/// One row of `users`, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub status: String,
    pub profile_complete: bool,
    pub version: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub mobile_number: Option<String>,
    pub mobile_national: Option<String>,
    pub father_or_husband_name: Option<String>,
    pub gender: Option<String>,
    pub date_of_birth: Option<String>,
    pub email: Option<String>,
    pub correspondence_address: Option<String>,
    pub employment_type: Option<String>,
    pub date_of_employment: Option<String>,
    pub designation: Option<String>,
    pub department: Option<String>,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub password_changed_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The worker who took this user's place, and the one this user replaced.
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
    /// The day the current deactivation took effect; none while active.
    pub deactivated_on: Option<String>,
}

impl UserRow {
    /// The accent- and case-folded full name that name search matches against.
    pub fn name_folded(&self) -> String {
        let full = format!(
            "{} {}",
            self.first_name.as_deref().unwrap_or(""),
            self.last_name.as_deref().unwrap_or("")
        );
        cadre_domain::text::fold(&full)
    }
}

const COLUMNS: &str = "id, username, status, profile_complete, version, first_name, last_name, \
     mobile_number, mobile_national, father_or_husband_name, gender, date_of_birth, email, \
     correspondence_address, employment_type, date_of_employment, designation, department, \
     password_hash, must_change_password, password_changed_at, created_by, created_at, updated_at, \
     replaced_by, replaces, deactivated_on";

pub(crate) fn from_row(row: &AnyRow) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: text(row, "id")?,
        username: text(row, "username")?,
        status: text(row, "status")?,
        profile_complete: boolean(row, "profile_complete")?,
        version: int(row, "version")?,
        first_name: opt_text(row, "first_name")?,
        last_name: opt_text(row, "last_name")?,
        mobile_number: opt_text(row, "mobile_number")?,
        mobile_national: opt_text(row, "mobile_national")?,
        father_or_husband_name: opt_text(row, "father_or_husband_name")?,
        gender: opt_text(row, "gender")?,
        date_of_birth: opt_text(row, "date_of_birth")?,
        email: opt_text(row, "email")?,
        correspondence_address: opt_text(row, "correspondence_address")?,
        employment_type: opt_text(row, "employment_type")?,
        date_of_employment: opt_text(row, "date_of_employment")?,
        designation: opt_text(row, "designation")?,
        department: opt_text(row, "department")?,
        password_hash: opt_text(row, "password_hash")?,
        must_change_password: boolean(row, "must_change_password")?,
        password_changed_at: opt_text(row, "password_changed_at")?,
        created_by: opt_text(row, "created_by")?,
        created_at: text(row, "created_at")?,
        updated_at: text(row, "updated_at")?,
        replaced_by: opt_text(row, "replaced_by")?,
        replaces: opt_text(row, "replaces")?,
        deactivated_on: opt_text(row, "deactivated_on")?,
    })
}

/// Binds the person and administrative columns in `COLUMNS` order from `first_name`
/// to `department`, shared by insert and update.
fn bind_person(sql: &mut Sql, u: &UserRow, mut separator: impl FnMut(&mut Sql, &'static str)) {
    let fields: [(&str, Option<String>); 13] = [
        ("first_name", u.first_name.clone()),
        ("last_name", u.last_name.clone()),
        ("mobile_number", u.mobile_number.clone()),
        ("mobile_national", u.mobile_national.clone()),
        ("father_or_husband_name", u.father_or_husband_name.clone()),
        ("gender", u.gender.clone()),
        ("date_of_birth", u.date_of_birth.clone()),
        ("email", u.email.clone()),
        ("correspondence_address", u.correspondence_address.clone()),
        ("employment_type", u.employment_type.clone()),
        ("date_of_employment", u.date_of_employment.clone()),
        ("designation", u.designation.clone()),
        ("department", u.department.clone()),
    ];
    for (column, value) in fields {
        separator(sql, column);
        sql.bind(value);
    }
    separator(sql, "email_lower");
    sql.bind(u.email.as_ref().map(|e| e.to_lowercase()));
    separator(sql, "name_folded");
    sql.bind(u.name_folded());
}

/// The insert of a new user with the paths of their jurisdictions and of their
/// assignments' boundaries. The paths go in with the user (migrations 10 and 11 keep
/// them as the links are written), so that the trigram table indexes the user once
/// rather than again for each link written after.
pub fn insertion<'a>(
    u: &UserRow,
    jurisdictions: impl IntoIterator<Item = &'a BoundaryPath>,
    assignments: impl IntoIterator<Item = &'a BoundaryPath>,
) -> Insert {
    let mut row = Insert::new("users")
        .set("id", u.id.as_str())
        .set("username", u.username.as_str())
        .set("status", u.status.as_str())
        .set("profile_complete", u.profile_complete)
        .set("version", u.version)
        .set("password_hash", u.password_hash.clone())
        .set("must_change_password", u.must_change_password)
        .set("password_changed_at", u.password_changed_at.clone())
        .set("created_by", u.created_by.clone())
        .set("created_at", u.created_at.as_str())
        .set("updated_at", u.updated_at.as_str())
        .set("jurisdiction_paths", joined_paths(jurisdictions))
        .set("assignment_paths", joined_paths(assignments));
    let mut person = Sql::default();
    let mut columns = Vec::new();
    bind_person(&mut person, u, |_, column| columns.push(column));
    for (column, value) in columns.into_iter().zip(person.into_values()) {
        row = row.set(column, value);
    }
    row
}

/// Paths as a user's row keeps them: each appended unless one already there holds it
/// (which names every code it would add), as the triggers of migrations 10 and 11 do.
fn joined_paths<'a>(paths: impl IntoIterator<Item = &'a BoundaryPath>) -> String {
    let mut joined = String::new();
    for path in paths {
        if !joined.contains(path.as_str()) {
            joined.push_str(path.as_str());
        }
    }
    joined
}

/// Writes the person data, status and completeness of `u` if its stored version is
/// still `expected_version`; returns false when someone else changed it first.
pub async fn update(
    conn: &mut Conn,
    u: &UserRow,
    expected_version: i64,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE users SET status = ");
    sql.bind(u.status.as_str())
        .push(", profile_complete = ")
        .bind(u.profile_complete)
        .push(", version = ")
        .bind(u.version)
        .push(", updated_at = ")
        .bind(u.updated_at.as_str());
    bind_person(&mut sql, u, |sql, column| {
        sql.push(", ").push(column).push(" = ");
    });
    sql.push(" WHERE id = ")
        .bind(u.id.as_str())
        .push(" AND version = ")
        .bind(expected_version);
    Ok(sql.execute(conn).await? == 1)
}

pub async fn set_password(
    conn: &mut Conn,
    id: &str,
    hash: Option<&str>,
    must_change: bool,
    now: &str,
) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE users SET password_hash = ");
    sql.bind(hash)
        .push(", must_change_password = ")
        .bind(must_change)
        .push(", password_changed_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    sql.execute(conn).await?;
    Ok(())
}

pub async fn get_by_id(conn: &mut Conn, id: &str) -> Result<Option<UserRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM users WHERE id = "));
    sql.bind(id);
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn get_by_username(
    conn: &mut Conn,
    username: &str,
) -> Result<Option<UserRow>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM users WHERE username = "));
    sql.bind(username.to_lowercase());
    sql.fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Usernames equal to `base` or starting with it, to number a generated username.
pub async fn usernames_starting_with(
    conn: &mut Conn,
    base: &str,
) -> Result<BTreeSet<String>, StoreError> {
    let known = TakenUsernames::load(conn, HashSet::from([base.to_owned()])).await?;
    Ok(known.taken)
}

/// Stems looked up by one statement: each adds three bound values.
const STEMS_PER_STATEMENT: usize = 80;

/// The usernames already taken under each of several stems, read a few statements at a
/// time: a bulk batch looks them up for all its new users before its rows run, rather
/// than one statement a user.
#[derive(Debug, Default)]
pub struct TakenUsernames {
    stems: HashSet<String>,
    taken: BTreeSet<String>,
}

impl TakenUsernames {
    pub async fn load(conn: &mut Conn, stems: HashSet<String>) -> Result<Self, StoreError> {
        // The ranges let both databases walk the username index (a LIKE alone scans
        // every user, which made bulk creation slow down as the table grew); usernames
        // compare byte by byte (migration 7 on PostgreSQL), so every username starting
        // with a stem sorts between the stem and the stem followed by the highest code
        // point. The stems come as a VALUES list joined to that index: written as one OR
        // of ranges, PostgreSQL's generic plan overestimated the matches and started
        // parallel workers for every statement (12 ms against 0.5 ms; most of a bulk
        // batch's time).
        let mut taken = BTreeSet::new();
        let ordered: Vec<&String> = stems.iter().collect();
        for chunk in ordered.chunks(STEMS_PER_STATEMENT) {
            let mut sql = Sql::new("SELECT u.username FROM (VALUES ");
            for (i, stem) in chunk.iter().enumerate() {
                let (from, below, pattern) = prefix_range(stem);
                sql.push(if i == 0 { "(" } else { ", (" })
                    .bind(from)
                    .push(", ")
                    .bind(below)
                    .push(", ")
                    .bind(pattern)
                    .push(")");
            }
            sql.push(
                ") AS s JOIN users u ON u.username >= s.column1 AND u.username < s.column2 \
                 AND u.username LIKE s.column3 ESCAPE '\\'",
            );
            for row in sql.fetch_all(conn).await? {
                taken.insert(text(&row, "username")?);
            }
        }
        Ok(Self { stems, taken })
    }

    /// The taken usernames starting with `stem`; `None` when `stem` was not looked up.
    pub fn under<'a>(&'a self, stem: &'a str) -> Option<impl Iterator<Item = &'a str> + 'a> {
        self.stems
            .contains(stem)
            .then(|| starting_with(&self.taken, stem))
    }
}

/// The names of a sorted set that start with `stem`, by walking its range.
pub(crate) fn starting_with<'a>(
    names: &'a BTreeSet<String>,
    stem: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    names
        .range::<str, _>((Bound::Included(stem), Bound::Unbounded))
        .take_while(move |u| u.starts_with(stem))
        .map(String::as_str)
}

pub async fn replace_roles(
    conn: &mut Conn,
    user_id: &str,
    roles: &[String],
) -> Result<(), StoreError> {
    replace_links(conn, "user_roles", "role_code", user_id, roles).await
}

pub async fn replace_jurisdictions(
    conn: &mut Conn,
    user_id: &str,
    codes: &[String],
) -> Result<(), StoreError> {
    replace_links(conn, "user_jurisdictions", "boundary_code", user_id, codes).await
}

/// Links a new user to roles (no earlier links to remove).
/// The inserts linking a new user to its roles (no earlier links to remove).
pub fn role_insertions(user_id: &str, roles: &[String]) -> Vec<Insert> {
    link_insertions("user_roles", "role_code", user_id, roles)
}

/// The inserts linking a new user to boundaries (no earlier links to remove).
pub fn jurisdiction_insertions(user_id: &str, codes: &[String]) -> Vec<Insert> {
    link_insertions("user_jurisdictions", "boundary_code", user_id, codes)
}

fn link_insertions(
    table: &'static str,
    column: &'static str,
    user_id: &str,
    values: &[String],
) -> Vec<Insert> {
    values
        .iter()
        .map(|value| {
            Insert::new(table)
                .set("user_id", user_id)
                .set(column, value.as_str())
        })
        .collect()
}

async fn replace_links(
    conn: &mut Conn,
    table: &'static str,
    column: &'static str,
    user_id: &str,
    values: &[String],
) -> Result<(), StoreError> {
    let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE user_id = "));
    sql.bind(user_id);
    sql.execute(conn).await?;
    Writer::Now(conn)
        .insert_all(link_insertions(table, column, user_id, values))
        .await
}

/// The role codes of each user, sorted.
pub async fn roles_of(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, StoreError> {
    crate::sql::grouped(conn, "user_roles", "user_id", "role_code", user_ids).await
}

/// The jurisdictions of each user as (code, path), sorted by code.
pub async fn jurisdictions_of(
    conn: &mut Conn,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<(String, BoundaryPath)>>, StoreError> {
    let mut out: HashMap<String, Vec<(String, BoundaryPath)>> = HashMap::new();
    for chunk in user_ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT uj.user_id, b.code, b.path FROM user_jurisdictions uj \
             JOIN boundaries b ON b.code = uj.boundary_code WHERE uj.user_id IN (",
        );
        sql.bind_list(chunk.iter().map(String::as_str))
            .push(") ORDER BY b.code");
        for row in sql.fetch_all(conn).await? {
            out.entry(text(&row, "user_id")?).or_default().push((
                text(&row, "code")?,
                BoundaryPath::from_stored(text(&row, "path")?),
            ));
        }
    }
    Ok(out)
}

/// Appends `AND (…)`: the footprint of the user whose id is in `user_id_column` touches
/// one of `subtrees`. The footprint is the user's jurisdictions and the boundaries of
/// their assignments still open on `today`.
pub fn push_footprint_touches(
    sql: &mut Sql,
    user_id_column: &str,
    subtrees: &[BoundaryPath],
    today: &str,
) {
    sql.push(" AND (EXISTS (SELECT 1 FROM user_jurisdictions fj JOIN boundaries fb ON fb.code = fj.boundary_code WHERE fj.user_id = ")
        .push(user_id_column);
    push_path_in_subtrees(sql, "fb.path", subtrees);
    sql.push(") OR ");
    push_open_assignment_within(sql, user_id_column, subtrees, today);
    sql.push(")");
}

/// Appends `EXISTS (…)`: the user whose id is in `user_id_column` has an assignment
/// open on `today` covering a boundary in one of `subtrees`.
fn push_open_assignment_within(
    sql: &mut Sql,
    user_id_column: &str,
    subtrees: &[BoundaryPath],
    today: &str,
) {
    sql.push("EXISTS (SELECT 1 FROM assignments fa JOIN assignment_boundaries fab ON fab.assignment_id = fa.id JOIN boundaries fab_b ON fab_b.code = fab.boundary_code WHERE fa.user_id = ")
        .push(user_id_column)
        .push(" AND fa.till_date >= ")
        .bind(today);
    push_path_in_subtrees(sql, "fab_b.path", subtrees);
    sql.push(")");
}

/// Appends `AND (…)`: the footprint of user `u` touches one of `subtrees`, as
/// [`push_footprint_touches`] but read from the paths kept in the user's row
/// (migration 10). Jurisdictions answer from the row alone; the boundaries of past
/// assignments are kept too, so a user found only there is checked for an assignment
/// open on `today`. On PostgreSQL the paths are split into the codes its indexes hold
/// (migration 11): a path lies in a subtree exactly when it names the subtree's code.
fn push_places_within(sql: &mut Sql, dialect: Dialect, subtrees: &[BoundaryPath], today: &str) {
    let occurs_in = |sql: &mut Sql, column: &str| {
        if subtrees.is_empty() {
            sql.push("1 = 0");
            return;
        }
        match dialect {
            Dialect::Sqlite => {
                sql.push("(");
                for (i, root) in subtrees.iter().enumerate() {
                    sql.push(if i == 0 { "instr(" } else { " OR instr(" })
                        .push(column)
                        .push(", ")
                        .bind(root.as_str())
                        .push(") > 0");
                }
                sql.push(")");
            }
            Dialect::Postgres => {
                sql.push("string_to_array(")
                    .push(column)
                    .push(", '/') && ARRAY[")
                    .bind_list(subtrees.iter().filter_map(|root| root.codes().last()))
                    .push("]::text[]");
            }
        }
    };
    sql.push(" AND (");
    occurs_in(sql, "u.jurisdiction_paths");
    sql.push(" OR (");
    occurs_in(sql, "u.assignment_paths");
    sql.push(" AND ");
    push_open_assignment_within(sql, "u.id", subtrees, today);
    sql.push("))");
}

/// Each user's footprint: jurisdictions and boundaries of assignments open on `today`.
pub async fn footprints_of(
    conn: &mut Conn,
    user_ids: &[String],
    today: &str,
) -> Result<HashMap<String, Vec<BoundaryPath>>, StoreError> {
    let mut out: HashMap<String, Vec<BoundaryPath>> = HashMap::new();
    for (id, list) in jurisdictions_of(conn, user_ids).await? {
        out.entry(id)
            .or_default()
            .extend(list.into_iter().map(|(_, p)| p));
    }
    for (id, list) in crate::assignments::open_boundaries_of(conn, user_ids, today).await? {
        out.entry(id).or_default().extend(list);
    }
    Ok(out)
}

/// Sets a user's status and the day a deactivation took effect, bumping the version.
pub async fn set_status(
    conn: &mut Conn,
    id: &str,
    status: &str,
    deactivated_on: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE users SET status = ");
    sql.bind(status)
        .push(", deactivated_on = ")
        .bind(deactivated_on)
        .push(", version = version + 1, updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    sql.execute(conn).await?;
    Ok(())
}

/// Links a replaced user and their replacement, both ways.
pub async fn link_replacement(
    conn: &mut Conn,
    old_id: &str,
    new_id: &str,
    now: &str,
) -> Result<(), StoreError> {
    for (id, column, other) in [
        (old_id, "replaced_by", new_id),
        (new_id, "replaces", old_id),
    ] {
        let mut sql = Sql::new(&format!("UPDATE users SET {column} = "));
        sql.bind(other)
            .push(", version = version + 1, updated_at = ")
            .bind(now)
            .push(" WHERE id = ")
            .bind(id);
        sql.execute(conn).await?;
    }
    Ok(())
}

/// Sort orders for user lists; every one ends with `id` so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    Username,
    Name,
    CreatedAt,
    UpdatedAt,
}

impl UserSort {
    fn column(self) -> &'static str {
        match self {
            UserSort::Username => "username",
            UserSort::Name => "name_folded",
            UserSort::CreatedAt => "created_at",
            UserSort::UpdatedAt => "updated_at",
        }
    }
}

/// What to search for. Text fields are already normalised by the caller (folded name,
/// lowercase username, national digits).
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub q: Option<UserQueryAny>,
    pub name_words: Vec<String>,
    pub username_prefix: Option<String>,
    pub mobile_digits: Option<String>,
    pub email_prefix: Option<String>,
    pub role: Option<String>,
    pub boundary: Option<BoundaryPath>,
    pub status: Option<String>,
    pub department: Option<String>,
    pub employment_type: Option<String>,
    pub profile_complete: Option<bool>,
    /// `None`: every user. `Some(subtrees)`: only users whose footprint touches them.
    pub visible_within: Option<Vec<BoundaryPath>>,
    /// Users with an assignment in this campaign open on `today`.
    pub campaign: Option<String>,
    /// The day against which assignments count as open.
    pub today: String,
    pub sort: UserSort,
    pub descending: bool,
    /// Continue after this (sort value, id).
    pub after: Option<(String, String)>,
    pub limit: i64,
}

impl UserQuery {
    /// Whether a prefix narrows the search through its column's index: a username,
    /// mobile or email prefix, or the one-box search (whose fragment is each of them).
    fn has_prefix(&self) -> bool {
        self.username_prefix.is_some()
            || self.mobile_digits.is_some()
            || self.email_prefix.is_some()
            || self.q.is_some()
    }
}

/// The one-box search: a fragment matched against name, username, mobile and email.
#[derive(Debug, Clone, Default)]
pub struct UserQueryAny {
    pub folded: String,
    pub lower: String,
    pub digits: Option<String>,
}

fn like_contains(value: &str) -> String {
    format!("%{}%", cadre_domain::text::escape_like(value))
}

fn like_prefix(value: &str) -> String {
    format!("{}%", cadre_domain::text::escape_like(value))
}

/// Appends `{column} LIKE 'prefix%'` together with the range every value starting with
/// `prefix` falls in: the range lets both databases walk the column's index (a LIKE
/// alone scans every user, since SQLite's LIKE ignores case and the index does not);
/// the LIKE keeps the match exact. Columns searched this way compare byte by byte (on
/// PostgreSQL through migrations 7 and 9), so every value starting with `prefix` sorts
/// between `prefix` and `prefix` followed by the highest code point.
fn push_prefix(sql: &mut Sql, column: &str, prefix: &str) {
    let (from, below, pattern) = prefix_range(prefix);
    sql.push("(")
        .push(column)
        .push(" >= ")
        .bind(from)
        .push(" AND ")
        .push(column)
        .push(" < ")
        .bind(below)
        .push(" AND ")
        .push(column)
        .push(" LIKE ")
        .bind(pattern)
        .push(" ESCAPE '\\')");
}

/// What [`push_prefix`] binds: the range every value starting with `prefix` falls in,
/// and the LIKE pattern.
fn prefix_range(prefix: &str) -> (String, String, String) {
    (
        prefix.to_owned(),
        format!("{prefix}{}", char::MAX),
        like_prefix(prefix),
    )
}

/// The shortest fragment the trigram index can look up; shorter ones are matched by
/// scanning.
const TRIGRAM: usize = 3;

/// Where the two databases' searches differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// Name fragments: a plain LIKE, which the planner answers from the trigram index
    /// (migration 9) when it pays. Substrings: `strpos`.
    Postgres,
    /// Name fragments: the planner cannot use an index for `LIKE '%…%'`, so the
    /// matches come from the FTS5 trigram table (migration 9). Substrings: `instr`.
    Sqlite,
}

/// An FTS5 phrase matching `fragment` anywhere: with the trigram tokenizer, the
/// trigrams of the fragment at consecutive positions.
fn fts_phrase(fragment: &str) -> String {
    format!("\"{}\"", fragment.replace('"', "\"\""))
}

/// Appends the condition that a user's name holds `fragment`: where the vocabulary
/// names the few words holding it (PostgreSQL), that the name has one of them, which
/// the GIN index of name words and places (migration 13) answers in the same scan as a
/// place; otherwise `u.name_folded LIKE '%fragment%'`.
fn push_name_holds(sql: &mut Sql, holders: &Holders, fragment: &str) {
    match holders.of_fragment(fragment) {
        Some([]) => {
            sql.push("FALSE");
        }
        Some(words) => {
            sql.push("string_to_array(u.name_folded, ' ') && ARRAY[")
                .bind_list(words.iter().map(String::as_str))
                .push("]::text[]");
        }
        None => push_name_like(sql, fragment),
    }
}

/// Appends `u.name_folded LIKE '%fragment%'`.
fn push_name_like(sql: &mut Sql, fragment: &str) {
    sql.push("u.name_folded LIKE ")
        .bind(like_contains(fragment))
        .push(" ESCAPE '\\'");
}

/// Whether a name fragment long enough for the trigram index narrows the search.
fn by_trigram(q: &UserQuery) -> bool {
    q.q.as_ref().is_some_and(|any| long_enough(&any.folded))
        || q.name_words.iter().any(|w| long_enough(w))
}

fn long_enough(fragment: &str) -> bool {
    fragment.chars().count() >= TRIGRAM
}

/// An FTS5 query that every name containing all of `fragments` satisfies: the first and
/// the last trigram of each. Those two take a third of the time of the whole phrase
/// (whose every trigram's positions must line up), and the LIKE that follows them
/// reads a name already at hand, since each match is joined to its user for the
/// sort key and the other filters anyway.
fn fts_candidates<'a>(fragments: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut terms: Vec<String> = Vec::new();
    for fragment in fragments.filter(|f| long_enough(f)) {
        let chars: Vec<char> = fragment.chars().collect();
        let first: String = chars[..TRIGRAM].iter().collect();
        let last: String = chars[chars.len() - TRIGRAM..].iter().collect();
        for trigram in [first, last] {
            let term = fts_phrase(&trigram);
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// What a search reads its matches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// All of them, to count them.
    Count,
    /// The first of them in the sort order. Places narrow a page only beside a name
    /// fragment: by themselves they may hold most users (a province), whom the sort
    /// column's index yields in order where the trigram table would have them all
    /// sorted.
    Page,
    /// The first of them in the sort order, where the places are known to hold few
    /// users (see [`WALK`]): they narrow by themselves.
    PageOfFew,
}

impl Reading {
    fn places_alone(self) -> bool {
        matches!(self, Reading::Count | Reading::PageOfFew)
    }
}

/// The FTS5 query whose matches drive the search, when the trigram table does (SQLite,
/// with a name fragment long enough, or places to narrow a count to).
fn driving_candidates(q: &UserQuery, dialect: Dialect, reading: Reading) -> Option<String> {
    match dialect {
        Dialect::Sqlite => fts_query(
            q,
            q.name_words.iter().map(String::as_str),
            reading.places_alone() && !q.has_prefix(),
        ),
        Dialect::Postgres => None,
    }
}

/// An FTS5 query every user matching `q` satisfies: the trigrams of `fragments` in the
/// name and, when a name fragment narrows too or `places_alone`, the codes of the
/// places `q` keeps to in the paths. Places are left out of a search a prefix narrows
/// better by itself (a username, mobile or email prefix walks its own index).
fn fts_query<'a>(
    q: &UserQuery,
    fragments: impl Iterator<Item = &'a str>,
    places_alone: bool,
) -> Option<String> {
    let names = fts_candidates(fragments).map(|terms| format!("name_folded : ({terms})"));
    let places = if names.is_some() || places_alone {
        places_candidates(q)
    } else {
        None
    };
    match (names, places) {
        (Some(names), Some(places)) => Some(format!("{names} AND {places}")),
        (names, places) => names.or(places),
    }
}

/// The FTS5 condition on the paths columns that the users within `q`'s boundary and
/// the caller's scope satisfy: for each list of subtrees, one of their codes. Unlike a
/// name fragment, a code is matched whole: codes are short, and built of trigrams many
/// other codes share (a village's digits), so its ends alone let in many more users.
/// A list with a code too short for a trigram narrows nothing.
fn places_candidates(q: &UserQuery) -> Option<String> {
    let lists = q
        .boundary
        .iter()
        .map(std::slice::from_ref)
        .chain(q.visible_within.as_deref());
    let groups: Vec<String> = lists
        .filter_map(|subtrees| {
            let codes = subtrees
                .iter()
                .map(|s| s.codes().last().filter(|c| long_enough(c)).map(fts_phrase))
                .collect::<Option<Vec<String>>>()?;
            (!codes.is_empty()).then(|| format!("({})", codes.join(" OR ")))
        })
        .collect();
    (!groups.is_empty()).then(|| {
        format!(
            "{{jurisdiction_paths assignment_paths}} : ({})",
            groups.join(" AND ")
        )
    })
}

/// A search's `FROM users u WHERE …`: driven by the trigram table's matches of
/// `candidates` when given.
fn from_users(candidates: Option<String>) -> Sql {
    match candidates {
        // The trigram table drives: the planner would otherwise look each user up in it.
        // A CROSS JOIN is SQLite's way of fixing that order, which also keeps it from
        // walking the sort column's index for the page.
        Some(query) => {
            let mut sql = Sql::new(
                " FROM users_name_fts f CROSS JOIN users u WHERE u.rowid = f.rowid AND users_name_fts MATCH ",
            );
            sql.bind(query);
            sql
        }
        None => Sql::new(" FROM users u WHERE 1 = 1"),
    }
}

/// The alternatives of the one-box search, each a condition on `u`: name, username,
/// email and, when the fragment holds digits, mobile.
fn one_box_alternatives(any: &UserQueryAny, holders: &Holders) -> Vec<Sql> {
    let mut name = Sql::new("");
    push_name_holds(&mut name, holders, &any.folded);
    let mut alternatives = vec![name];
    for (column, prefix) in [
        ("u.username", Some(any.lower.as_str())),
        ("u.email_lower", Some(any.lower.as_str())),
        (
            "u.mobile_national",
            any.digits.as_deref().filter(|d| !d.is_empty()),
        ),
    ] {
        if let Some(prefix) = prefix {
            let mut alternative = Sql::new("");
            push_prefix(&mut alternative, column, prefix);
            alternatives.push(alternative);
        }
    }
    alternatives
}

/// `FROM` and `WHERE` of the users matching `q`, as `u`, in parts no user is in twice,
/// to be joined by `UNION ALL`: one part, except for a one-box search on SQLite.
fn matching(q: &UserQuery, dialect: Dialect, reading: Reading, holders: &Holders) -> Vec<Sql> {
    let driving = driving_candidates(q, dialect, reading);
    let mut parts = match (&q.q, dialect) {
        (None, _) => vec![from_users(driving)],
        // Each alternative can be answered by an index of its own, which PostgreSQL's
        // bitmap OR combines.
        (Some(any), Dialect::Postgres) => {
            let mut sql = from_users(driving);
            sql.push(" AND (");
            for (i, alternative) in one_box_alternatives(any, holders).iter().enumerate() {
                sql.push(if i == 0 { "" } else { " OR " })
                    .append(alternative);
            }
            sql.push(")");
            vec![sql]
        }
        // SQLite's multi-index OR would look every user up in the trigram table's
        // answer; a part per alternative lets the trigram table drive the name's. Each
        // part leaves out the users an earlier one holds (a missing email or mobile
        // holding none), so none is counted twice.
        (Some(any), Dialect::Sqlite) => {
            let alternatives = one_box_alternatives(any, holders);
            alternatives
                .iter()
                .enumerate()
                .map(|(i, alternative)| {
                    let mut sql = if i == 0 {
                        let fragments = q.name_words.iter().map(String::as_str);
                        from_users(fts_query(
                            q,
                            fragments.chain(std::iter::once(any.folded.as_str())),
                            reading.places_alone(),
                        ))
                    } else {
                        from_users(driving.clone())
                    };
                    sql.push(" AND ").append(alternative);
                    for earlier in &alternatives[..i] {
                        sql.push(" AND NOT COALESCE(")
                            .append(earlier)
                            .push(", FALSE)");
                    }
                    sql
                })
                .collect()
        }
    };
    for part in &mut parts {
        push_filters(part, q, dialect, holders);
    }
    parts
}

/// Appends every condition of `q` but the one-box search.
fn push_filters(sql: &mut Sql, q: &UserQuery, dialect: Dialect, holders: &Holders) {
    for fragment in &q.name_words {
        sql.push(" AND ");
        push_name_holds(sql, holders, fragment);
    }
    if let Some(prefix) = &q.username_prefix {
        sql.push(" AND ");
        push_prefix(sql, "u.username", prefix);
    }
    if let Some(digits) = &q.mobile_digits {
        sql.push(" AND ");
        push_prefix(sql, "u.mobile_national", digits);
    }
    if let Some(prefix) = &q.email_prefix {
        sql.push(" AND ");
        push_prefix(sql, "u.email_lower", prefix);
    }
    if let Some(role) = &q.role {
        sql.push(" AND (EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role_code = ")
            .bind(role.as_str())
            .push(") OR EXISTS (SELECT 1 FROM assignments ra JOIN assignment_roles rr ON rr.assignment_id = ra.id WHERE ra.user_id = u.id AND ra.till_date >= ")
            .bind(q.today.as_str())
            .push(" AND rr.role_code = ")
            .bind(role.as_str())
            .push("))");
    }
    if let Some(campaign) = &q.campaign {
        sql.push(" AND EXISTS (SELECT 1 FROM assignments ca WHERE ca.user_id = u.id AND ca.campaign_code = ")
            .bind(campaign.as_str())
            .push(" AND ca.till_date >= ")
            .bind(q.today.as_str())
            .push(")");
    }
    if let Some(boundary) = &q.boundary {
        push_places_within(sql, dialect, std::slice::from_ref(boundary), &q.today);
    }
    if let Some(status) = &q.status {
        sql.push(" AND u.status = ").bind(status.as_str());
    }
    if let Some(department) = &q.department {
        sql.push(" AND u.department = ").bind(department.as_str());
    }
    if let Some(employment_type) = &q.employment_type {
        sql.push(" AND u.employment_type = ")
            .bind(employment_type.as_str());
    }
    if let Some(complete) = q.profile_complete {
        sql.push(" AND u.profile_complete = ").bind(complete);
    }
    if let Some(subtrees) = &q.visible_within {
        push_places_within(sql, dialect, subtrees, &q.today);
    }
}

fn dialect(conn: &Conn) -> Dialect {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        Dialect::Sqlite
    } else {
        Dialect::Postgres
    }
}

/// How many users match `q`, whatever the page. This and [`search_page`] each read
/// every match, so running them on two connections at once halves the wait when the
/// database has cores to spare.
pub async fn search_total(conn: &mut Conn, q: &UserQuery) -> Result<i64, StoreError> {
    let holders = Holders::of(conn, q).await?;
    if let Some(word) = by_word::sole_word(conn, q, &holders).await? {
        return by_word::total(conn, &word, q).await;
    }
    let count = match matching(q, dialect(conn), Reading::Count, &holders).as_slice() {
        [only] => {
            let mut count = Sql::new("SELECT COUNT(*) AS n");
            count.append(only);
            count
        }
        parts => {
            let mut count = Sql::new("SELECT COUNT(*) AS n FROM (");
            count.append(&union_all(parts, "u.id")).push(") m");
            count
        }
    };
    count.fetch_count(conn).await
}

/// `SELECT columns` of every part, joined by `UNION ALL`.
fn union_all(parts: &[Sql], columns: &str) -> Sql {
    let mut sql = Sql::new("");
    for (i, part) in parts.iter().enumerate() {
        sql.push(if i == 0 {
            "SELECT "
        } else {
            " UNION ALL SELECT "
        })
        .push(columns)
        .append(part);
    }
    sql
}

/// How many users in sort order a page of a search narrowed only by places walks
/// before it turns to the places' index instead. A page of matches among them means
/// the places hold more than one user in 80, and walking on is the quicker way to the
/// page; fewer means they hold few users, and their index yields those at once. Over
/// a million users either way costs a few milliseconds at most: the walk reads a user
/// in about a microsecond, the index its matches in half that.
const WALK: i64 = 4_000;

/// The page of users matching `q` after its cursor, and the cursor of the next page.
pub async fn search_page(
    conn: &mut Conn,
    q: &UserQuery,
) -> Result<(Vec<UserRow>, Option<String>), StoreError> {
    let holders = Holders::of(conn, q).await?;
    let mut items = match by_word::sole_word(conn, q, &holders).await? {
        Some(word) => by_word::page(conn, &word, q).await?,
        None => page_by_filters(conn, q, &holders).await?,
    };
    let next = if items.len() as i64 > q.limit {
        items.truncate(q.limit as usize);
        items.last().map(|u| sort_value(u, q.sort))
    } else {
        None
    };
    Ok((items, next))
}

/// The first `q.limit + 1` users matching `q` after its cursor, found through the
/// index that narrows `q` most.
async fn page_by_filters(
    conn: &mut Conn,
    q: &UserQuery,
    holders: &Holders,
) -> Result<Vec<UserRow>, StoreError> {
    let dialect = dialect(conn);
    // None as well when fewer users than the walk's length remain after the cursor.
    let bound = if walks_first(q) {
        walk_bound(conn, q).await?
    } else {
        None
    };
    let items = page_rows(conn, q, dialect, Reading::Page, bound.as_deref(), holders).await?;
    if bound.is_some() && items.len() as i64 <= q.limit {
        return page_rows(conn, q, dialect, Reading::PageOfFew, None, holders).await;
    }
    Ok(items)
}

/// Whether a page of `q` walks the sort column's index first: when places are all that
/// narrow it (a name fragment or a prefix would drive it through their own index).
fn walks_first(q: &UserQuery) -> bool {
    has_places(q) && !by_trigram(q) && !q.has_prefix()
}

fn has_places(q: &UserQuery) -> bool {
    q.boundary.is_some() || q.visible_within.is_some()
}

/// The sort value [`WALK`] users after `q`'s cursor (every user counts, matching or
/// not), read from the sort column's index alone; none when fewer users remain. A
/// cursor's ties before it count too, which only shortens the walk.
async fn walk_bound(conn: &mut Conn, q: &UserQuery) -> Result<Option<String>, StoreError> {
    let column = format!("u.{}", q.sort.column());
    let (from, order) = if q.descending {
        ("<=", "DESC")
    } else {
        (">=", "ASC")
    };
    let mut sql = Sql::new(&format!("SELECT {column} AS k FROM users u"));
    if let Some((value, _)) = &q.after {
        sql.push(&format!(" WHERE {column} {from} "))
            .bind(value.as_str());
    }
    sql.push(&format!(" ORDER BY {column} {order} LIMIT 1 OFFSET "))
        .bind(WALK);
    match sql.fetch_optional(conn).await? {
        Some(row) => Ok(Some(text(&row, "k")?)),
        None => Ok(None),
    }
}

/// The first `q.limit + 1` users matching `q` after its cursor, in its order; up to
/// the sort value `bound` when given.
async fn page_rows(
    conn: &mut Conn,
    q: &UserQuery,
    dialect: Dialect,
    reading: Reading,
    bound: Option<&str>,
    holders: &Holders,
) -> Result<Vec<UserRow>, StoreError> {
    let mut parts = matching(q, dialect, reading, holders);
    let column = format!("u.{}", q.sort.column());
    let (cmp, order) = if q.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some((value, id)) = &q.after {
        for part in &mut parts {
            part.push(&format!(" AND ({column} {cmp} "))
                .bind(value.as_str())
                .push(&format!(" OR ({column} = "))
                .bind(value.as_str())
                .push(&format!(" AND u.id {cmp} "))
                .bind(id.as_str())
                .push("))");
        }
    }
    if let Some(bound) = bound {
        let within = if q.descending { ">=" } else { "<=" };
        for part in &mut parts {
            part.push(&format!(" AND {column} {within} ")).bind(bound);
        }
    }
    // Whole rows are read for the one page only, by id, in the order of the page's ids.
    let whole_rows = |ids: &Sql| {
        let mut sql = Sql::new(&format!(
            "SELECT {} FROM users p WHERE p.id IN (",
            prefixed_columns("p")
        ));
        sql.append(ids).push(&format!(
            ") ORDER BY p.{} {order}, p.id {order}",
            q.sort.column()
        ));
        sql
    };
    let sql = match parts.as_slice() {
        [page] if by_trigram(q) || (reading == Reading::PageOfFew && has_places(q)) => {
            // Walking the sort column's index and checking the name on each row is what
            // the planners choose, and it reads far more rows than match whenever the
            // matches sort late (a first name, sorted by username: nearly the whole
            // table). The trigram index yields the matches, which the count reads
            // anyway: sorting them by an expression rather than the indexed column makes
            // both databases do that, on the sort key and id alone. Where the trigram
            // table drives through a CROSS JOIN the order is fixed already, and the
            // plain column spares building a copy of every match's key.
            let key = if driving_candidates(q, dialect, reading).is_some() {
                column.clone()
            } else {
                format!("{column} || ''")
            };
            let mut ids = Sql::new("SELECT u.id");
            ids.append(page)
                .push(&format!(" ORDER BY {key} {order}, u.id {order} LIMIT "))
                .bind(q.limit + 1);
            whole_rows(&ids)
        }
        [page] => {
            let mut sql = Sql::new(&format!("SELECT {}", prefixed_columns("u")));
            sql.append(page)
                .push(&format!(" ORDER BY {column} {order}, u.id {order} LIMIT "))
                .bind(q.limit + 1);
            sql
        }
        parts => {
            let mut ids = Sql::new("SELECT id FROM (");
            ids.append(&union_all(parts, &format!("u.id AS id, {column} AS k")))
                .push(&format!(") m ORDER BY k {order}, id {order} LIMIT "))
                .bind(q.limit + 1);
            whole_rows(&ids)
        }
    };
    fetch_users(conn, &sql).await
}

/// The users whose rows `sql` selects (`COLUMNS`, under any alias).
async fn fetch_users(conn: &mut Conn, sql: &Sql) -> Result<Vec<UserRow>, StoreError> {
    sql.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// The value a user sorts by, joined with its id: the cursor of the next page.
fn sort_value(u: &UserRow, sort: UserSort) -> String {
    let value = match sort {
        UserSort::Username => u.username.clone(),
        UserSort::Name => u.name_folded(),
        UserSort::CreatedAt => u.created_at.clone(),
        UserSort::UpdatedAt => u.updated_at.clone(),
    };
    format!("{value}\u{1f}{}", u.id)
}

/// `COLUMNS` qualified by `alias`.
pub(crate) fn prefixed_columns(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn count(conn: &mut Conn) -> Result<i64, StoreError> {
    Sql::new("SELECT COUNT(*) AS n FROM users")
        .fetch_count(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigram_candidates_take_the_ends_of_each_long_fragment() {
        let query = |words: &[&str]| fts_candidates(words.iter().copied());
        assert_eq!(query(&["macuacua"]).as_deref(), Some(r#""mac" AND "cua""#));
        assert_eq!(query(&["ana"]).as_deref(), Some(r#""ana""#));
        assert_eq!(
            query(&["jo", "lopes", "sitoe"]).as_deref(),
            Some(r#""lop" AND "pes" AND "sit" AND "toe""#),
            "fragments under three characters are left to the LIKE"
        );
        assert_eq!(query(&["ab"]), None);
        assert_eq!(query(&["çãoçã"]).as_deref(), Some(r#""ção" AND "oçã""#));
        assert_eq!(query(&["a\"b\"c"]).as_deref(), Some(r#""a""b" AND "b""c""#));
    }

    #[test]
    fn places_narrow_a_count_and_join_names_on_a_page() {
        let path = |p: &str| BoundaryPath::from_stored(p.to_owned());
        let q = UserQuery {
            name_words: vec!["lopes".into()],
            boundary: Some(path("/MZ/NIASSA/D03/")),
            visible_within: Some(vec![path("/MZ/TETE/"), path("/MZ/NIASSA/V_1.x-2/")]),
            ..Default::default()
        };
        let names = r#"name_folded : ("lop" AND "pes")"#;
        let places =
            r#"{jurisdiction_paths assignment_paths} : (("D03") AND ("TETE" OR "V_1.x-2"))"#;
        let both = format!("{names} AND {places}");
        for reading in [Reading::Count, Reading::Page] {
            let query = driving_candidates(&q, Dialect::Sqlite, reading);
            assert_eq!(query.as_deref(), Some(both.as_str()), "{reading:?}");
        }
        assert_eq!(
            driving_candidates(&q, Dialect::Postgres, Reading::Count),
            None
        );

        let places_only = UserQuery {
            name_words: vec![],
            ..q.clone()
        };
        assert_eq!(
            driving_candidates(&places_only, Dialect::Sqlite, Reading::Count).as_deref(),
            Some(places),
        );
        assert_eq!(
            driving_candidates(&places_only, Dialect::Sqlite, Reading::Page),
            None,
            "a page without a name fragment walks the sort column's index"
        );
        let by_prefix = UserQuery {
            username_prefix: Some("lop".into()),
            ..places_only.clone()
        };
        assert_eq!(
            driving_candidates(&by_prefix, Dialect::Sqlite, Reading::Count),
            None,
            "a prefix narrows by its own index"
        );
        let short = UserQuery {
            visible_within: Some(vec![path("/MZ/"), path("/MZ/TETE/")]),
            ..places_only
        };
        assert_eq!(
            driving_candidates(&short, Dialect::Sqlite, Reading::Count).as_deref(),
            Some(r#"{jurisdiction_paths assignment_paths} : (("D03"))"#),
            "a scope with a code too short for a trigram narrows nothing"
        );
    }

    #[test]
    fn taken_usernames_answer_only_for_stems_looked_up() {
        let known = TakenUsernames {
            stems: ["joao.lopes".to_owned(), "ana.nova".to_owned()].into(),
            taken: [
                "joao.lopes",
                "joao.lopes2",
                "joao.lopesa",
                "joao.lopez",
                "ana.nova",
            ]
            .map(String::from)
            .into(),
        };
        fn under<'a>(known: &'a TakenUsernames, stem: &'a str) -> Option<Vec<&'a str>> {
            known.under(stem).map(Iterator::collect)
        }
        assert_eq!(
            under(&known, "joao.lopes"),
            Some(vec!["joao.lopes", "joao.lopes2", "joao.lopesa"])
        );
        assert_eq!(under(&known, "ana.nova"), Some(vec!["ana.nova"]));
        assert_eq!(
            under(&known, "joao"),
            None,
            "a stem not looked up is not known to be free"
        );
    }
}
