//! Usernames: the rule they must follow, and how they are generated from person data.
//!
//! A username is chosen once and never edited; it is unique case-insensitively, which is
//! why the canonical form stored for uniqueness is its lowercase.

use std::fmt;

use deunicode::deunicode;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// The PRD's recommendation: lowercase letters and digits, with period, underscore and
/// hyphen inside, 3 to 64 characters.
pub const DEFAULT_USERNAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{2,63}$";

/// The rule a username must satisfy, compiled once from configuration.
#[derive(Debug, Clone)]
pub struct UsernameRule {
    pattern: Regex,
}

impl UsernameRule {
    /// Compiles a configured pattern; the pattern is anchored so a partial match never passes.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let anchored = format!(
            "^(?:{})$",
            pattern.trim_start_matches('^').trim_end_matches('$')
        );
        Ok(Self {
            pattern: Regex::new(&anchored)?,
        })
    }

    /// Checks `raw` against the rule. A username is stored as given but compared
    /// case-insensitively, so the pattern sees the lowercase form.
    pub fn parse(&self, raw: &str) -> Result<Username, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(
                "username",
                "required",
                "a username is required",
            ));
        }
        let lower = trimmed.to_lowercase();
        if !self.pattern.is_match(&lower) {
            return Err(FieldError::new(
                "username",
                "invalid_username",
                format!(
                    "'{trimmed}' does not follow the username rule {}",
                    self.pattern.as_str()
                ),
            ));
        }
        Ok(Username(lower))
    }
}

/// A username that satisfied the configured rule; always lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a username format may draw on.
#[derive(Debug, Clone, Default)]
pub struct UsernameParts<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub mobile_national: Option<&'a str>,
    pub boundary: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    First,
    Last,
    Mobile,
    Boundary,
    Serial,
}

/// A configured username format such as `{first}.{last}`, `{mobile}` or `{boundary}.{serial}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameFormat {
    pieces: Vec<Piece>,
    source: String,
}

/// Why a format could not produce a username for the given person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("unknown placeholder {{{0}}} in the username format")]
    UnknownPlaceholder(String),
    #[error("unclosed '{{' in the username format")]
    Unclosed,
    #[error("the username format needs {0}")]
    Missing(&'static str),
}

impl UsernameFormat {
    pub fn parse(source: &str) -> Result<Self, FormatError> {
        let mut pieces = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or(FormatError::Unclosed)?;
            let piece = match &after[..close] {
                "first" => Piece::First,
                "last" => Piece::Last,
                "mobile" => Piece::Mobile,
                "boundary" => Piece::Boundary,
                "serial" => Piece::Serial,
                other => return Err(FormatError::UnknownPlaceholder(other.to_owned())),
            };
            pieces.push(piece);
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Literal(rest.to_owned()));
        }
        Ok(Self {
            pieces,
            source: source.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the format numbers every username itself (`{serial}`), rather than only
    /// numbering collisions.
    pub fn has_serial(&self) -> bool {
        self.pieces.contains(&Piece::Serial)
    }

    /// What every username this format gives for `parts` starts with: the base itself,
    /// or, with `{serial}`, what comes before the number.
    pub fn stem(&self, parts: &UsernameParts<'_>) -> Result<String, FormatError> {
        if self.has_serial() {
            Ok(self.render(parts, 0)?.trim_end_matches('0').to_owned())
        } else {
            self.render(parts, 1)
        }
    }

    /// Renders the base of a username. `serial` fills `{serial}`; collisions of formats
    /// without `{serial}` are numbered by [`with_collision_serial`].
    pub fn render(&self, parts: &UsernameParts<'_>, serial: u32) -> Result<String, FormatError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(&slug(text)),
                Piece::First => out.push_str(&required_slug(parts.first_name, "a first name")?),
                Piece::Last => out.push_str(&required_slug(parts.last_name, "a last name")?),
                Piece::Mobile => {
                    out.push_str(&required_slug(parts.mobile_national, "a mobile number")?)
                }
                Piece::Boundary => out.push_str(&required_slug(parts.boundary, "a boundary")?),
                Piece::Serial => out.push_str(&serial.to_string()),
            }
        }
        Ok(tidy(&out))
    }
}

impl Default for UsernameFormat {
    fn default() -> Self {
        Self {
            pieces: vec![Piece::First, Piece::Literal(".".into()), Piece::Last],
            source: "{first}.{last}".into(),
        }
    }
}

/// The username for the `n`-th collision of `base`: `base` itself, then `base2`, `base3`…
pub fn with_collision_serial(base: &str, n: u32) -> String {
    if n <= 1 {
        base.to_owned()
    } else {
        format!("{base}{n}")
    }
}

fn required_slug(value: Option<&str>, what: &'static str) -> Result<String, FormatError> {
    let slugged = value.map(slug).unwrap_or_default();
    if slugged.is_empty() {
        Err(FormatError::Missing(what))
    } else {
        Ok(slugged)
    }
}

/// Transliterates to ASCII (João → joao), lowercases, and keeps only the characters a
/// username allows; spaces inside a name become periods ("Ana Maria" → "ana.maria").
pub fn slug(text: &str) -> String {
    let ascii = deunicode(text).to_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii.split_whitespace() {
        if !out.is_empty() {
            out.push('.');
        }
        out.extend(
            word.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
        );
    }
    out
}

/// Collapses repeated separators and trims them from the start and end, so that a
/// missing optional part never leaves "maria..lopes" or ".lopes".
fn tidy(candidate: &str) -> String {
    let mut out = String::with_capacity(candidate.len());
    let mut last_sep = true;
    for c in candidate.chars() {
        let is_sep = matches!(c, '.' | '_' | '-');
        if is_sep && last_sep {
            continue;
        }
        out.push(c);
        last_sep = is_sep;
    }
    while out.ends_with(['.', '_', '-']) {
        out.pop();
    }
    out.truncate(60);
    while out.ends_with(['.', '_', '-']) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts<'a>(first: &'a str, last: &'a str) -> UsernameParts<'a> {
        UsernameParts {
            first_name: Some(first),
            last_name: Some(last),
            ..Default::default()
        }
    }

    #[test]
    fn default_rule_accepts_prd_examples_and_lowercases() {
        let rule = UsernameRule::new(DEFAULT_USERNAME_PATTERN).unwrap();
        assert_eq!(
            rule.parse("Maria.Lopes").map(Username::into_string),
            Ok("maria.lopes".into())
        );
        assert!(rule.parse("ab").is_err());
        assert!(rule.parse(".maria").is_err());
        assert!(rule.parse("maria lopes").is_err());
        assert!(rule.parse("maria'; drop table users;--").is_err());
    }

    #[test]
    fn generates_transliterated_names() {
        let format = UsernameFormat::default();
        assert_eq!(
            format.render(&parts("João", "Lopes"), 1),
            Ok("joao.lopes".into())
        );
        assert_eq!(
            format.render(&parts("Ana Maria", "D'Souza"), 1),
            Ok("ana.maria.dsouza".into())
        );
        assert_eq!(
            format.render(&parts("François", "Ngũgĩ"), 1),
            Ok("francois.ngugi".into())
        );
    }

    #[test]
    fn stems_are_what_every_generated_username_starts_with() {
        let plain = UsernameFormat::default();
        assert_eq!(plain.stem(&parts("João", "Lopes")), Ok("joao.lopes".into()));
        let serial = UsernameFormat::parse("{first}{serial}").unwrap();
        let stem = serial.stem(&parts("Ana", "Nova")).unwrap();
        assert_eq!(stem, "ana");
        for n in [1, 10, 205] {
            assert!(serial
                .render(&parts("Ana", "Nova"), n)
                .unwrap()
                .starts_with(&stem));
        }
        assert!(plain.stem(&parts("", "Lopes")).is_err());
    }

    #[test]
    fn formats_with_mobile_boundary_and_serial() {
        let format = UsernameFormat::parse("{boundary}.{serial}");
        let parts = UsernameParts {
            boundary: Some("MZ-TETE"),
            ..Default::default()
        };
        assert_eq!(
            format.and_then(|f| f.render(&parts, 7)),
            Ok("mz-tete.7".into())
        );
        let mobile = UsernameFormat::parse("{mobile}").and_then(|f| {
            f.render(
                &UsernameParts {
                    mobile_national: Some("841234567"),
                    ..Default::default()
                },
                1,
            )
        });
        assert_eq!(mobile, Ok("841234567".into()));
    }

    #[test]
    fn missing_parts_and_bad_formats_are_errors() {
        let format = UsernameFormat::default();
        assert_eq!(
            format.render(&UsernameParts::default(), 1),
            Err(FormatError::Missing("a first name"))
        );
        assert!(matches!(
            UsernameFormat::parse("{nick}"),
            Err(FormatError::UnknownPlaceholder(_))
        ));
        assert_eq!(UsernameFormat::parse("{first"), Err(FormatError::Unclosed));
    }

    #[test]
    fn collisions_are_numbered_from_two() {
        assert_eq!(with_collision_serial("maria.lopes", 1), "maria.lopes");
        assert_eq!(with_collision_serial("maria.lopes", 2), "maria.lopes2");
    }

    proptest! {
        #[test]
        fn rendered_names_always_satisfy_the_default_rule(first in "\\PC{1,20}", last in "\\PC{1,20}") {
            let rule = UsernameRule::new(DEFAULT_USERNAME_PATTERN).unwrap();
            if let Ok(name) = UsernameFormat::default().render(&parts(&first, &last), 1) {
                if name.len() >= 3 {
                    prop_assert!(rule.parse(&name).is_ok(), "{name}");
                }
            }
        }

        #[test]
        fn rule_never_panics_and_accepts_only_lowercase_forms(raw in "\\PC{0,80}") {
            if let Ok(name) = UsernameRule::new(DEFAULT_USERNAME_PATTERN).unwrap().parse(&raw) {
                prop_assert_eq!(name.as_str(), name.as_str().to_lowercase());
                prop_assert!(name.as_str().len() <= 64);
            }
        }
    }
}
