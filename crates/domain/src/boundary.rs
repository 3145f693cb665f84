//! Boundaries: nodes of the administrative hierarchy, located by a materialised path.
//!
//! A boundary's path is `/` + the codes from the root down to it, each followed by `/`
//! (`/MZ/MZ-TETE/MZ-TETE-ANGONIA/`). Every descendant's path starts with its ancestor's,
//! so a subtree is one range scan on an ordinary index: `path >= P AND path < upper(P)`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// The deepest a boundary may lie (a root is at depth 1). Real hierarchies have fewer
/// than ten levels; the limit keeps a path (up to 65 bytes a level) within what an
/// index entry holds on both databases, so a chain that one accepts the other does too.
pub const MAX_DEPTH: i64 = 20;

/// A boundary's stable identifier: letters, digits, `.`, `_`, `-`; 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BoundaryCode(String);

impl BoundaryCode {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim();
        let valid = !code.is_empty()
            && code.len() <= 64
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && code
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if valid {
            Ok(Self(code.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "invalid_code",
                format!(
                    "'{raw}' is not a boundary code (letters, digits, '.', '_', '-'; up to 64)"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BoundaryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A materialised path; always starts and ends with `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BoundaryPath(String);

impl BoundaryPath {
    pub fn root(code: &BoundaryCode) -> Self {
        Self(format!("/{code}/"))
    }

    pub fn child(&self, code: &BoundaryCode) -> Self {
        Self(format!("{}{code}/", self.0))
    }

    /// Wraps a path read back from the store.
    pub fn from_stored(path: String) -> Self {
        Self(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The exclusive upper bound of this subtree's range: `/` is followed by `0` in
    /// ASCII, and codes never contain `/`, so every descendant sorts below it.
    pub fn subtree_upper_bound(&self) -> String {
        let mut upper = self.0.clone();
        upper.pop();
        upper.push('0');
        upper
    }

    /// True when `other` is this boundary or lies below it.
    pub fn contains(&self, other: &BoundaryPath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The codes from the root down to this boundary, itself included.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    pub fn depth(&self) -> usize {
        self.codes().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> BoundaryCode {
        BoundaryCode::parse("code", s).unwrap()
    }

    #[test]
    fn subtree_contains_descendants_only() {
        let mz = BoundaryPath::root(&code("MZ"));
        let tete = mz.child(&code("MZ-TETE"));
        let village = tete.child(&code("V1"));
        let mzx = BoundaryPath::root(&code("MZX"));
        assert!(mz.contains(&village));
        assert!(tete.contains(&tete));
        assert!(!tete.contains(&mz));
        assert!(!mz.contains(&mzx));
        assert_eq!(village.codes().collect::<Vec<_>>(), ["MZ", "MZ-TETE", "V1"]);
    }

    #[test]
    fn rejects_codes_with_separators_or_sql() {
        for bad in ["", "a/b", "x' OR 1=1", "-lead", &"a".repeat(65)] {
            assert!(BoundaryCode::parse("code", bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn range_bound_matches_prefix(a in "[A-Za-z0-9][A-Za-z0-9._-]{0,8}", b in "[A-Za-z0-9][A-Za-z0-9._-]{0,8}", c in "[A-Za-z0-9][A-Za-z0-9._-]{0,8}") {
            let parent = BoundaryPath::root(&code(&a));
            let other = BoundaryPath::root(&code(&b)).child(&code(&c));
            let upper = parent.subtree_upper_bound();
            let in_range = other.as_str() >= parent.as_str() && other.as_str() < upper.as_str();
            prop_assert_eq!(in_range, parent.contains(&other));
        }
    }
}
