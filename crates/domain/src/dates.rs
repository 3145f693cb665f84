//! Calendar dates as the API exchanges them (`YYYY-MM-DD`).

use chrono::NaiveDate;

use crate::validation::FieldError;

/// Parses a `YYYY-MM-DD` date, naming `field` when it is not a real date.
pub fn parse_date(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            "invalid_date",
            format!("'{value}' is not a real date in the form YYYY-MM-DD"),
        )
    })
}

/// A date of birth must be a real date strictly before `today` and not absurdly old.
pub fn parse_date_of_birth(value: &str, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = parse_date("date_of_birth", value)?;
    if date >= today {
        return Err(FieldError::new(
            "date_of_birth",
            "date_not_in_past",
            "the date of birth must be in the past",
        ));
    }
    if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
        return Err(FieldError::new(
            "date_of_birth",
            "date_out_of_range",
            "the date of birth must be after 1900-01-01",
        ));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_date("x", "2024-02-30").is_err());
        assert!(parse_date("x", "2024-13-01").is_err());
        assert!(parse_date("x", "01/02/2024").is_err());
        assert_eq!(parse_date("x", "2024-02-29").ok(), Some(day(2024, 2, 29)));
    }

    #[test]
    fn date_of_birth_must_be_past() {
        let today = day(2026, 1, 10);
        assert!(parse_date_of_birth("2026-01-10", today).is_err());
        assert!(parse_date_of_birth("1990-05-01", today).is_ok());
    }
}
