//! Text folding for search: accent- and case-insensitive comparisons.

use deunicode::deunicode;

/// Folds text to lowercase ASCII with single spaces, so that "João  LOPES" and
/// "joao lopes" compare equal. Used both when storing search keys and when querying.
pub fn fold(text: &str) -> String {
    let ascii = deunicode(text).to_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Escapes `%`, `_` and the escape character itself so that user input is matched
/// literally inside a `LIKE ... ESCAPE '\'` pattern.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_spaces() {
        assert_eq!(fold("  João   LOPES "), "joao lopes");
        assert_eq!(fold("Françoise Élodie"), "francoise elodie");
    }

    #[test]
    fn escapes_like_metacharacters() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
