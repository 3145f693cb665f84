//! Property tests for every parser and validator input reaches: usernames, mobile
//! numbers, dates, names folded for search, LIKE escaping, passwords, boundary codes and
//! boundary CSV files. Each property holds for any input, hostile ones included.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

use cadre_domain::dates::{parse_date, parse_date_of_birth};
use cadre_domain::password::PasswordPolicy;
use cadre_domain::text::{escape_like, fold};
use cadre_domain::username::DEFAULT_USERNAME_PATTERN;
use cadre_domain::{BoundaryCode, MasterData, MobileCountry, MobileNumber, UsernameRule};
use cadre_service::boundaries::{check_boundary_csv, RowError};

fn rule() -> UsernameRule {
    UsernameRule::new(DEFAULT_USERNAME_PATTERN).unwrap_or_else(|e| panic!("{e}"))
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (1i32..=9999, 1u32..=12, 1u32..=31)
        .prop_filter_map("a real day", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
}

/// Text with the characters attackers like: quotes, markup, NUL, separators, accents.
fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("'".to_owned()),
            Just("\"".to_owned()),
            Just("<script>".to_owned()),
            Just("\0".to_owned()),
            Just(";".to_owned()),
            Just(",".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("%".to_owned()),
            Just("_".to_owned()),
            Just("\\".to_owned()),
            Just("--".to_owned()),
            Just("\u{feff}".to_owned()),
            "[a-z0-9.]{1,4}",
            "\\PC{1,4}",
        ],
        0..max,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    // --- usernames ---------------------------------------------------------------------

    #[test]
    fn usernames_following_the_rule_are_accepted_in_any_case(raw in "[a-z0-9][a-z0-9._-]{2,63}") {
        let name = rule().parse(&raw).map_err(|e| TestCaseError::fail(e.message))?;
        prop_assert_eq!(name.as_str(), raw.as_str());
        let shouted = rule().parse(&format!("  {}  ", raw.to_uppercase()));
        prop_assert_eq!(shouted.map(|n| n.as_str().to_owned()).ok(), Some(raw));
    }

    #[test]
    fn usernames_outside_the_rule_are_refused_naming_the_field(raw in hostile_text(12)) {
        let lower = raw.trim().to_lowercase();
        let follows = follows_default_rule(&lower);
        match rule().parse(&raw) {
            Ok(name) => prop_assert!(follows, "{:?} was accepted as {:?}", raw, name),
            Err(e) => {
                prop_assert!(!follows, "{:?} was refused: {}", raw, e.message);
                prop_assert_eq!(e.field, "username");
            }
        }
    }

    // --- mobile numbers ------------------------------------------------------------------

    #[test]
    fn mozambican_mobiles_parse_the_same_in_every_common_writing(
        prefix in 2u32..=7, rest in 0u32..10_000_000
    ) {
        let national = format!("8{prefix}{rest:07}");
        let mz = MobileCountry::mozambique();
        let plain = MobileNumber::parse(&national, mz).map_err(|e| TestCaseError::fail(e.message))?;
        prop_assert_eq!(plain.e164(), format!("+258{national}"));
        for written in [
            format!("+258 {} {} {}", &national[..2], &national[2..5], &national[5..]),
            format!("00258{national}"),
            format!("{}-{}-{}", &national[..2], &national[2..5], &national[5..]),
            format!(" ({}) {} ", &national[..2], &national[2..]),
        ] {
            let again = MobileNumber::parse(&written, mz).map_err(|e| TestCaseError::fail(e.message))?;
            prop_assert_eq!(again.e164(), plain.e164(), "{}", written);
        }
        // The stored form reads back as itself.
        let stored = MobileNumber::parse(plain.e164(), mz).map_err(|e| TestCaseError::fail(e.message))?;
        prop_assert_eq!(stored, plain);
    }

    #[test]
    fn anything_else_is_a_clear_mobile_number_error(raw in hostile_text(10)) {
        if let Err(e) = MobileNumber::parse(&raw, MobileCountry::mozambique()) {
            prop_assert_eq!(e.field, "mobile_number");
            prop_assert_eq!(e.code, "invalid_mobile_number");
            prop_assert!(e.message.chars().count() < 200, "the message stays short");
        }
    }

    // --- dates ---------------------------------------------------------------------------

    #[test]
    fn every_real_date_round_trips(date in any_date()) {
        let text = date.format("%Y-%m-%d").to_string();
        prop_assert_eq!(parse_date("from_date", &text).ok(), Some(date));
    }

    #[test]
    fn a_parsed_date_is_what_the_text_said(raw in "[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}|\\PC{0,12}") {
        match parse_date("till_date", &raw) {
            Ok(date) => {
                let parts: Vec<i64> = raw.trim().split('-').filter_map(|p| p.parse().ok()).collect();
                prop_assert_eq!(parts, vec![i64::from(date.year()), i64::from(date.month()), i64::from(date.day())]);
            }
            Err(e) => {
                prop_assert_eq!(e.field, "till_date");
                prop_assert_eq!(e.code, "invalid_date");
            }
        }
    }

    #[test]
    fn dates_of_birth_are_past_and_after_1900(date in any_date(), today in any_date()) {
        let text = date.format("%Y-%m-%d").to_string();
        let bound = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        let expected_ok = date < today && date >= bound;
        prop_assert_eq!(parse_date_of_birth(&text, today).is_ok(), expected_ok);
    }

    // --- search folding and LIKE escaping -------------------------------------------------

    #[test]
    fn folding_is_idempotent_ascii_lowercase_single_spaced(raw in hostile_text(16)) {
        let folded = fold(&raw);
        prop_assert_eq!(fold(&folded), folded.clone());
        prop_assert!(folded.is_ascii());
        prop_assert!(!folded.chars().any(|c| c.is_ascii_uppercase()));
        prop_assert!(!folded.contains("  ") && folded.trim() == folded);
    }

    #[test]
    fn escaped_like_patterns_match_only_literally(raw in hostile_text(16)) {
        let escaped = escape_like(&raw);
        // Unescaping gives the input back, and no wildcard is left unescaped.
        let mut out = String::new();
        let mut chars = escaped.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().ok_or_else(|| TestCaseError::fail("dangling escape"))?),
                '%' | '_' => return Err(TestCaseError::fail(format!("bare wildcard in {escaped:?}"))),
                other => out.push(other),
            }
        }
        prop_assert_eq!(out, raw);
    }

    // --- passwords -----------------------------------------------------------------------

    #[test]
    fn password_length_bounds_hold_in_characters(password in "\\PC{0,140}") {
        let policy = PasswordPolicy::default();
        let length = password.chars().count();
        let verdict = policy.check("password", &password, Some("maria.lopes"));
        if length < policy.min_length {
            prop_assert_eq!(verdict.map_err(|e| e.code).err(), Some("password_too_short".to_owned()));
        } else if length > policy.max_length {
            prop_assert_eq!(verdict.map_err(|e| e.code).err(), Some("password_too_long".to_owned()));
        } else if let Err(e) = verdict {
            prop_assert!(["password_contains_username", "password_too_common"].contains(&e.code.as_str()), "{}", e.code);
        }
    }

    // --- boundary codes and CSV ----------------------------------------------------------

    #[test]
    fn boundary_codes_are_exactly_the_documented_alphabet(raw in hostile_text(8)) {
        let code = raw.trim();
        let documented = !code.is_empty()
            && code.len() <= 64
            && code.starts_with(|c: char| c.is_ascii_alphanumeric())
            && code.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
        prop_assert_eq!(BoundaryCode::parse("code", &raw).is_ok(), documented);
    }

    #[test]
    fn any_bytes_give_a_report_never_a_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (taken, errors, total) = check_boundary_csv(&data, &MasterData::default());
        assert_partition(&taken, &errors, total)?;
    }

    #[test]
    fn hostile_csv_text_gives_a_report_never_a_panic(body in hostile_text(40), semicolons in any::<bool>()) {
        let header = if semicolons { "code;name;level;parent_code\n" } else { "code,name,level,parent_code\n" };
        let data = format!("{header}{body}");
        let (taken, errors, total) = check_boundary_csv(data.as_bytes(), &MasterData::default());
        assert_partition(&taken, &errors, total)?;
    }

    #[test]
    fn good_rows_are_all_taken_and_each_bad_cell_is_named(
        rows in proptest::collection::vec(
            (
                "[A-Z][A-Z0-9_-]{0,10}",
                "\\PC{1,30}",
                prop::sample::select(vec!["PROVINCE", "district", "Village"]),
            ),
            1..30
        ),
        broken in proptest::option::of((0usize..30, 0usize..3)),
    ) {
        let mut csv = String::from("\u{feff}Code,Name,Level,Parent_Code\n");
        let mut expected = BTreeSet::new();
        for (i, (code, name, level)) in rows.iter().enumerate() {
            let name = name.replace(['"', '\n', '\r'], " ");
            let mut name = if name.trim().is_empty() { "x".to_owned() } else { name };
            let (mut code, mut level) = (code.clone(), (*level).to_owned());
            if let Some((_, which)) = broken.filter(|(row, _)| *row == i) {
                match which {
                    0 => { code = format!("{code} bad"); expected.insert((i + 2, "code".to_owned())); }
                    1 => { name = String::new(); expected.insert((i + 2, "name".to_owned())); }
                    _ => { level = "GALAXY".into(); expected.insert((i + 2, "level".to_owned())); }
                }
            }
            csv.push_str(&format!("{code},\"{name}\",{level},MZ\n"));
        }
        let (taken, errors, total) = check_boundary_csv(csv.as_bytes(), &MasterData::default());
        assert_partition(&taken, &errors, total)?;
        prop_assert_eq!(total, rows.len());
        let named: BTreeSet<(usize, String)> = errors.iter().map(|e| (e.row, e.column.clone())).collect();
        prop_assert_eq!(&named, &expected, "{:?}", errors);
        prop_assert_eq!(taken.len(), rows.len() - expected.len());
    }
}

/// Each data row (lines 2..=total+1) is either taken or refused, never both, and every
/// refusal names a row of the file (line 1 only when the header itself is refused).
fn assert_partition(
    taken: &[usize],
    errors: &[RowError],
    total: usize,
) -> Result<(), TestCaseError> {
    let taken: BTreeSet<usize> = taken.iter().copied().collect();
    let refused: BTreeSet<usize> = errors.iter().map(|e| e.row).collect();
    prop_assert!(taken.is_disjoint(&refused), "a row both taken and refused");
    for e in errors {
        prop_assert!(!e.code.is_empty() && !e.message.is_empty(), "{:?}", e);
    }
    if refused.contains(&1) {
        prop_assert!(
            total == 0 && taken.is_empty(),
            "a refused header takes no row"
        );
        return Ok(());
    }
    let rows: BTreeSet<usize> = (2..=total + 1).collect();
    let covered: BTreeSet<usize> = taken.union(&refused).copied().collect();
    prop_assert_eq!(covered, rows, "every data row is taken or refused");
    Ok(())
}

/// The default username rule written out by hand, to check the regex against.
fn follows_default_rule(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    (3..=64).contains(&chars.len())
        && (chars[0].is_ascii_lowercase() || chars[0].is_ascii_digit())
        && chars
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(*c))
}
