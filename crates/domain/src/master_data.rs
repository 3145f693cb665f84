//! Master data: the configurable lists that user fields draw from, and which fields a
//! complete profile needs. Defaults are the DIGIT HCM PRD's values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// One entry of a list: a stable code stored on records, and a label shown to people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItem {
    pub code: String,
    pub label: String,
}

impl ListItem {
    fn new(code: &str, label: &str) -> Self {
        Self {
            code: code.into(),
            label: label.into(),
        }
    }
}

/// The names of the lists, as they appear in the API (`/api/v1/master-data/{list}`).
pub const LIST_NAMES: [&str; 7] = [
    "genders",
    "employment_types",
    "departments",
    "deactivation_reasons",
    "reactivation_reasons",
    "campaign_types",
    "boundary_levels",
];

/// All lists by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterData {
    pub lists: BTreeMap<String, Vec<ListItem>>,
}

impl MasterData {
    pub fn list(&self, name: &str) -> &[ListItem] {
        self.lists.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Finds the canonical code for a value given as a code or a label, ignoring case,
    /// so that spreadsheets may carry either.
    pub fn resolve(&self, list: &str, field: &str, value: &str) -> Result<String, FieldError> {
        let wanted = value.trim();
        self.list(list)
            .iter()
            .find(|item| {
                item.code.eq_ignore_ascii_case(wanted) || item.label.eq_ignore_ascii_case(wanted)
            })
            .map(|item| item.code.clone())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "unknown_value",
                    format!("'{wanted}' is not in the {list} list"),
                )
            })
    }

    /// Position of a boundary level from the top of the hierarchy.
    pub fn level_rank(&self, level: &str) -> Option<usize> {
        self.list("boundary_levels")
            .iter()
            .position(|item| item.code.eq_ignore_ascii_case(level.trim()))
    }
}

impl Default for MasterData {
    fn default() -> Self {
        let items = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(code, label)| ListItem::new(code, label))
                .collect::<Vec<_>>()
        };
        let mut lists = BTreeMap::new();
        lists.insert(
            "genders".into(),
            items(&[("MALE", "Male"), ("FEMALE", "Female"), ("OTHER", "Others")]),
        );
        lists.insert(
            "employment_types".into(),
            items(&[
                ("PERMANENT", "Permanent"),
                ("TEMPORARY", "Temporary"),
                ("DAILY_WAGE", "Daily wage"),
                ("CONTRACTUAL", "Contractual"),
            ]),
        );
        lists.insert(
            "departments".into(),
            items(&[
                ("NMCP", "National Malaria Control Programme"),
                ("POLIO", "Polio programme"),
                ("EPI", "Expanded Programme on Immunization"),
            ]),
        );
        lists.insert(
            "deactivation_reasons".into(),
            items(&[
                ("END_OF_CAMPAIGN", "End of campaign"),
                ("RESIGNED", "Resigned"),
                ("TERMINATED", "Contract terminated"),
                ("ABSENT", "Absent without notice"),
                ("REPLACED", "Replaced by another worker"),
                ("DECEASED", "Deceased"),
                ("OTHER", "Other"),
            ]),
        );
        lists.insert(
            "reactivation_reasons".into(),
            items(&[
                ("REHIRED", "Rehired"),
                ("NEW_CAMPAIGN", "New campaign"),
                ("DEACTIVATED_IN_ERROR", "Deactivated in error"),
                ("OTHER", "Other"),
            ]),
        );
        lists.insert(
            "campaign_types".into(),
            items(&[
                ("LLIN", "Long-lasting insecticidal nets"),
                ("IRS", "Indoor residual spraying"),
                ("SMC", "Seasonal malaria chemoprevention"),
                ("POLIO", "Polio vaccination"),
            ]),
        );
        lists.insert(
            "boundary_levels".into(),
            items(&[
                ("COUNTRY", "Country"),
                ("PROVINCE", "Province"),
                ("DISTRICT", "District"),
                ("POST", "Administrative post"),
                ("LOCALITY", "Locality"),
                ("VILLAGE", "Village"),
            ]),
        );
        Self { lists }
    }
}

/// The user fields whose presence can be required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserField {
    FirstName,
    LastName,
    MobileNumber,
    FatherOrHusbandName,
    Gender,
    DateOfBirth,
    Email,
    CorrespondenceAddress,
    Roles,
    EmploymentType,
    DateOfEmployment,
    Designation,
    Department,
    Jurisdictions,
}

impl UserField {
    pub fn name(self) -> &'static str {
        match self {
            UserField::FirstName => "first_name",
            UserField::LastName => "last_name",
            UserField::MobileNumber => "mobile_number",
            UserField::FatherOrHusbandName => "father_or_husband_name",
            UserField::Gender => "gender",
            UserField::DateOfBirth => "date_of_birth",
            UserField::Email => "email",
            UserField::CorrespondenceAddress => "correspondence_address",
            UserField::Roles => "roles",
            UserField::EmploymentType => "employment_type",
            UserField::DateOfEmployment => "date_of_employment",
            UserField::Designation => "designation",
            UserField::Department => "department",
            UserField::Jurisdictions => "jurisdictions",
        }
    }
}

/// Which fields a complete profile must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldRequirements(pub Vec<UserField>);

impl Default for FieldRequirements {
    /// The PRD's "Required: Y" fields.
    fn default() -> Self {
        Self(vec![
            UserField::FirstName,
            UserField::LastName,
            UserField::Email,
            UserField::CorrespondenceAddress,
            UserField::Roles,
            UserField::EmploymentType,
            UserField::Department,
        ])
    }
}

impl FieldRequirements {
    pub fn fields(&self) -> &[UserField] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_codes_and_labels_case_insensitively() {
        let md = MasterData::default();
        assert_eq!(
            md.resolve("genders", "gender", "female").ok(),
            Some("FEMALE".into())
        );
        assert_eq!(
            md.resolve("employment_types", "employment_type", "Daily wage")
                .ok(),
            Some("DAILY_WAGE".into())
        );
        let err = md.resolve("genders", "gender", "robot").unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.code.as_str()),
            ("gender", "unknown_value")
        );
    }

    #[test]
    fn every_list_has_defaults() {
        let md = MasterData::default();
        for name in LIST_NAMES {
            assert!(!md.list(name).is_empty(), "{name}");
        }
        assert!(md.level_rank("PROVINCE") < md.level_rank("VILLAGE"));
    }
}
