//! Searches answered from the words of names (migration 12): a name fragment
//! that only one word of the vocabulary holds matches exactly the users of that word,
//! whom `user_name_words` keeps in username order with their status. Such a search —
//! a helpdesk looking up a surname thousands share — is counted and paged from the
//! word's entries alone, without reading each user's row. A one-box search for such a
//! fragment adds the few users its username, email or mobile prefix finds besides.

use std::collections::HashMap;

use super::{
    dialect, fetch_users, fts_phrase, like_contains, long_enough, one_box_alternatives,
    prefixed_columns, Dialect, UserQuery, UserRow, UserSort,
};

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{text, Sql};

/// The one word whose users are exactly the users matching `q`, when the word table
/// can answer `q`: one name fragment long enough for the vocabulary's trigram index,
/// held by a single word, no filter but the status, no scope, sorted by username.
/// The fragment's `holders`, when looked up already (PostgreSQL), answer without
/// asking the vocabulary again.
pub(super) async fn sole_word(
    conn: &mut Conn,
    q: &UserQuery,
    holders: &Holders,
) -> Result<Option<String>, StoreError> {
    let Some(fragment) = answerable(q) else {
        return Ok(None);
    };
    let looked_up;
    let words = match holders.of_fragment(fragment) {
        Some(words) => words,
        None => {
            looked_up = words_holding(conn, fragment, 2).await?;
            looked_up.as_slice()
        }
    };
    match words {
        [only] => Ok(Some(only.clone())),
        _ => Ok(None),
    }
}

/// Up to `most` words of the vocabulary that hold `fragment`, a fragment of three
/// characters or more without a space. Every word of every name is in the vocabulary
/// (the triggers add it with the user's entries), so a name holds such a fragment
/// exactly when it has one of the words holding it. Words whose users have all gone
/// stay, and match nobody.
async fn words_holding(
    conn: &mut Conn,
    fragment: &str,
    most: usize,
) -> Result<Vec<String>, StoreError> {
    let mut sql = match dialect(conn) {
        // The trigram tokenizer matches a phrase of three characters or more exactly as
        // a substring.
        Dialect::Sqlite => {
            let mut sql = Sql::new(
                "SELECT v.word AS word FROM name_vocabulary_fts f CROSS JOIN name_vocabulary v \
                 WHERE v.rowid = f.rowid AND name_vocabulary_fts MATCH ",
            );
            sql.bind(fts_phrase(fragment));
            sql
        }
        // Answered from the trigram index of the vocabulary; a word may stand in it twice.
        Dialect::Postgres => {
            let mut sql = Sql::new("SELECT DISTINCT word FROM name_vocabulary WHERE word LIKE ");
            sql.bind(like_contains(fragment)).push(" ESCAPE '\\'");
            sql
        }
    };
    sql.push(" LIMIT ")
        .bind(i64::try_from(most).unwrap_or(i64::MAX));
    sql.fetch_all(conn)
        .await?
        .iter()
        .map(|row| text(row, "word"))
        .collect()
}

/// The most words a name fragment is matched by (see [`Holders`]); a fragment more
/// words hold is matched by the trigram index of names, as before.
const MOST_HOLDERS: usize = 64;

/// The words of the vocabulary holding each name fragment of a search, where they are
/// few (PostgreSQL only). A user's name then holds the fragment exactly when it has one
/// of those words, which the GIN index of name words and places (migration 13) answers
/// in the same scan as a place: a surname within a province is found among the
/// province's users without listing either in full.
#[derive(Debug, Default)]
pub(super) struct Holders(HashMap<String, Vec<String>>);

impl Holders {
    /// The holders of `q`'s name fragments on PostgreSQL; none on SQLite, whose trigram
    /// table of names finds a fragment with the places already.
    pub(super) async fn of(conn: &mut Conn, q: &UserQuery) -> Result<Self, StoreError> {
        let mut found = HashMap::new();
        if dialect(conn) != Dialect::Postgres {
            return Ok(Self(found));
        }
        let fragments = q
            .name_words
            .iter()
            .chain(q.q.as_ref().map(|any| &any.folded));
        for fragment in fragments {
            if !long_enough(fragment) || fragment.contains(' ') || found.contains_key(fragment) {
                continue;
            }
            let words = words_holding(conn, fragment, MOST_HOLDERS + 1).await?;
            if words.len() <= MOST_HOLDERS {
                found.insert(fragment.clone(), words);
            }
        }
        Ok(Self(found))
    }

    /// The words holding `fragment`, when they are known and few.
    pub(super) fn of_fragment(&self, fragment: &str) -> Option<&[String]> {
        self.0.get(fragment).map(Vec::as_slice)
    }
}

/// The name fragment of `q` when nothing else but its status narrows it. Every field
/// is named, so that a filter added to [`UserQuery`] has to be considered here.
fn answerable(q: &UserQuery) -> Option<&str> {
    let UserQuery {
        q: any,
        name_words,
        username_prefix,
        mobile_digits,
        email_prefix,
        role,
        boundary,
        status: _,
        department,
        employment_type,
        profile_complete,
        visible_within,
        campaign,
        today: _,
        sort,
        descending: _,
        after: _,
        limit: _,
    } = q;
    let narrowed_otherwise = username_prefix.is_some()
        || mobile_digits.is_some()
        || email_prefix.is_some()
        || role.is_some()
        || boundary.is_some()
        || department.is_some()
        || employment_type.is_some()
        || profile_complete.is_some()
        || visible_within.is_some()
        || campaign.is_some();
    if narrowed_otherwise || *sort != UserSort::Username {
        return None;
    }
    // A one-box fragment is a name fragment only while it holds no space; its other
    // alternatives are read apart (see [`others`]).
    let fragment = match (name_words.as_slice(), any) {
        ([fragment], None) => fragment.as_str(),
        ([], Some(any)) if !any.folded.contains(' ') => any.folded.as_str(),
        _ => return None,
    };
    long_enough(fragment).then_some(fragment)
}

/// `FROM user_name_words WHERE …`: the entries of `word` in `q`'s status.
fn entries(word: &str, q: &UserQuery) -> Sql {
    let mut sql = Sql::new(" FROM user_name_words WHERE word = ");
    sql.bind(word);
    if let Some(status) = &q.status {
        sql.push(" AND status = ").bind(status.as_str());
    }
    sql
}

/// How many users `word` has in `q`'s status.
pub(super) async fn total(conn: &mut Conn, word: &str, q: &UserQuery) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n");
    sql.append(&entries(word, q));
    let mut total = sql.fetch_count(conn).await?;
    if let Some(others) = others(q) {
        let mut sql = Sql::new("SELECT COUNT(*) AS n");
        sql.append(&others);
        total += sql.fetch_count(conn).await?;
    }
    Ok(total)
}

/// `FROM users u WHERE …`: the users a one-box search finds by its other alternatives
/// (username, email, mobile) and not by name, in `q`'s status. Prefixes walk their own
/// indexes, so these are few.
fn others(q: &UserQuery) -> Option<Sql> {
    let any = q.q.as_ref()?;
    let alternatives = one_box_alternatives(any, &Holders::default());
    let (name, rest) = alternatives.split_first()?;
    let mut sql = Sql::new(" FROM users u WHERE (");
    for (i, alternative) in rest.iter().enumerate() {
        sql.push(if i == 0 { "" } else { " OR " })
            .append(alternative);
    }
    sql.push(") AND NOT (").append(name).push(")");
    if let Some(status) = &q.status {
        sql.push(" AND u.status = ").bind(status.as_str());
    }
    Some(sql)
}

/// The first `q.limit + 1` users of `word` after `q`'s cursor, in username order.
/// Usernames are unique, so the cursor's username alone says where the page starts.
pub(super) async fn page(
    conn: &mut Conn,
    word: &str,
    q: &UserQuery,
) -> Result<Vec<UserRow>, StoreError> {
    let (cmp, order) = if q.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let mut usernames = Sql::new("SELECT username");
    usernames.append(&entries(word, q));
    if let Some((username, _)) = &q.after {
        usernames
            .push(&format!(" AND username {cmp} "))
            .bind(username.as_str());
    }
    usernames
        .push(&format!(" ORDER BY username {order} LIMIT "))
        .bind(q.limit + 1);
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM users p WHERE p.username IN (",
        prefixed_columns("p")
    ));
    sql.append(&usernames)
        .push(&format!(") ORDER BY p.username {order}, p.id {order}"));
    let mut found = fetch_users(conn, &sql).await?;
    if let Some(others) = others(q) {
        let mut sql = Sql::new(&format!("SELECT {}", prefixed_columns("u")));
        sql.append(&others);
        if let Some((username, _)) = &q.after {
            sql.push(&format!(" AND u.username {cmp} "))
                .bind(username.as_str());
        }
        sql.push(&format!(" ORDER BY u.username {order} LIMIT "))
            .bind(q.limit + 1);
        // Nobody is in both: the others are those the name does not match.
        found.extend(fetch_users(conn, &sql).await?);
        found.sort_by(|a, b| a.username.cmp(&b.username));
        if q.descending {
            found.reverse();
        }
        found.truncate(usize::try_from(q.limit + 1).unwrap_or(usize::MAX));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lone_fragment_sorted_by_username_is_answered_by_its_word() {
        let lone = UserQuery {
            name_words: vec!["macuac".into()],
            status: Some("active".into()),
            ..Default::default()
        };
        assert_eq!(answerable(&lone), Some("macuac"));
        let everyone = UserQuery {
            status: None,
            descending: true,
            after: Some(("ana.macuacua".into(), "u1".into())),
            ..lone.clone()
        };
        assert_eq!(
            answerable(&everyone),
            Some("macuac"),
            "status, order and cursor"
        );

        let one_box = UserQuery {
            name_words: vec![],
            q: Some(super::super::UserQueryAny {
                folded: "nhantumbo".into(),
                lower: "nhantumbo".into(),
                digits: None,
            }),
            ..lone.clone()
        };
        assert_eq!(answerable(&one_box), Some("nhantumbo"));

        let not = [
            UserQuery {
                q: Some(super::super::UserQueryAny {
                    folded: "ana lopes".into(),
                    ..Default::default()
                }),
                ..one_box.clone()
            },
            UserQuery {
                name_words: vec!["ana".into()],
                ..one_box.clone()
            },
            UserQuery {
                name_words: vec!["ma".into()],
                ..lone.clone()
            },
            UserQuery {
                name_words: vec!["ana".into(), "macuac".into()],
                ..lone.clone()
            },
            UserQuery {
                sort: UserSort::Name,
                ..lone.clone()
            },
            UserQuery {
                role: Some("REGISTRAR".into()),
                ..lone.clone()
            },
            UserQuery {
                visible_within: Some(vec![]),
                ..lone.clone()
            },
            UserQuery {
                campaign: Some("IRS-2026".into()),
                ..lone.clone()
            },
            UserQuery {
                username_prefix: Some("ana".into()),
                ..lone.clone()
            },
        ];
        for q in not {
            assert_eq!(answerable(&q), None, "{q:?}");
        }
    }
}
