//! Mobile numbers: validated against libphonenumber metadata, stored in E.164, searched
//! by their national number.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use phonenumber::{country, Mode};

use crate::validation::FieldError;

/// Longest input worth parsing; anything longer is not a phone number.
const MAX_INPUT_LEN: usize = 40;

/// The country whose numbering plan applies to numbers written without a `+` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MobileCountry(country::Id);

impl MobileCountry {
    /// An ISO 3166-1 alpha-2 code such as `MZ`.
    pub fn from_iso(code: &str) -> Option<Self> {
        country::Id::from_str(&code.trim().to_uppercase())
            .ok()
            .map(Self)
    }

    pub fn mozambique() -> Self {
        Self(country::Id::MZ)
    }
}

/// A valid phone number, kept in both forms cadre needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileNumber {
    e164: String,
    national: String,
}

impl MobileNumber {
    /// Parses any common way of writing a number (`+258 84 123 4567`, `00258841234567`,
    /// `84-123-4567`) in the numbering plan of `country` unless it carries its own prefix.
    pub fn parse(input: &str, country: MobileCountry) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::new(
                "mobile_number",
                "invalid_mobile_number",
                format!("'{}' is not a valid mobile number", truncate(input)),
            )
        };
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > MAX_INPUT_LEN {
            return Err(invalid());
        }
        let normalised = normalise_international_prefix(trimmed);
        // The metadata parser has panicked on hostile input in past releases; a bad phone
        // number must never take a request down with it.
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            phonenumber::parse(Some(country.0), &normalised)
                .ok()
                .filter(phonenumber::is_valid)
                .map(|number| {
                    let e164 = number.format().mode(Mode::E164).to_string();
                    let code_len = number.code().value().to_string().len();
                    (e164, code_len)
                })
        }))
        .ok()
        .flatten();
        let (e164, code_len) = parsed.ok_or_else(invalid)?;
        let national = e164.get(1 + code_len..).unwrap_or_default().to_owned();
        if national.is_empty() {
            return Err(invalid());
        }
        Ok(Self { e164, national })
    }

    /// `+258841234567`
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// `841234567`: what people type, and what search matches on.
    pub fn national(&self) -> &str {
        &self.national
    }

    /// Rebuilds a stored number without re-validating it.
    pub fn from_stored(e164: String, national: String) -> Self {
        Self { e164, national }
    }
}

/// The digits to search for when someone types a (possibly partial) number: the
/// national number when the input parses, otherwise its digits without a leading
/// international or trunk prefix.
pub fn search_digits(input: &str, country: MobileCountry) -> String {
    if let Ok(number) = MobileNumber::parse(input, country) {
        return number.national;
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.strip_prefix("00").unwrap_or(&digits);
    digits.trim_start_matches('0').to_owned()
}

fn normalise_international_prefix(input: &str) -> String {
    match input.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => input.to_owned(),
    }
}

fn truncate(input: &str) -> String {
    input.chars().take(MAX_INPUT_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_common_format_gives_the_same_e164() {
        let mz = MobileCountry::mozambique();
        for input in [
            "+258 84 123 4567",
            "258841234567",
            "00258841234567",
            "84 123 4567",
            "84-123-4567",
            "841234567",
        ] {
            let number = MobileNumber::parse(input, mz);
            assert!(number.is_ok(), "{input}");
            let number = number.unwrap();
            assert_eq!(number.e164(), "+258841234567", "{input}");
            assert_eq!(number.national(), "841234567", "{input}");
        }
    }

    #[test]
    fn other_countries_keep_their_prefix() {
        let number = MobileNumber::parse("+33 6 12 34 56 78", MobileCountry::mozambique()).unwrap();
        assert_eq!(number.e164(), "+33612345678");
        assert_eq!(number.national(), "612345678");
    }

    #[test]
    fn rejects_non_numbers() {
        let mz = MobileCountry::mozambique();
        for input in ["", "abc", "12", "+258 1", "8412345678901234567890"] {
            let err = MobileNumber::parse(input, mz).unwrap_err();
            assert_eq!(err.field, "mobile_number");
            assert_eq!(err.code, "invalid_mobile_number");
        }
    }

    #[test]
    fn search_digits_accept_partial_input() {
        let mz = MobileCountry::mozambique();
        assert_eq!(search_digits("+258 84 123 4567", mz), "841234567");
        assert_eq!(search_digits("84 12", mz), "8412");
    }

    proptest! {
        #[test]
        fn never_panics_and_valid_numbers_are_e164(input in "\\PC{0,50}") {
            if let Ok(number) = MobileNumber::parse(&input, MobileCountry::mozambique()) {
                prop_assert!(number.e164().starts_with('+'));
                prop_assert!(number.e164()[1..].chars().all(|c| c.is_ascii_digit()));
                prop_assert!(number.e164().ends_with(number.national()));
            }
        }
    }
}
