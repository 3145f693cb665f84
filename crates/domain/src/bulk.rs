//! The columns of a bulk user file and the normalisation of what spreadsheets do to
//! cells: translated headers, Excel date serials, phone numbers turned into floats,
//! multi-valued cells, formulas.

use chrono::{Duration, NaiveDate};

/// A column of the users file, by its machine key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    Username,
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
    Campaign,
    Boundaries,
    AssignedFrom,
    AssignedTill,
    DeactivationReason,
    Remarks,
    /// For `deactivate`: the day it takes effect (today when empty).
    EffectiveDate,
    /// For `replace`: the username of the worker being replaced.
    Replaces,
}

/// Languages the template's labels exist in.
pub const LANGUAGES: [&str; 3] = ["en", "fr", "pt"];

impl Column {
    pub const ALL: [Column; 23] = [
        Column::Username,
        Column::FirstName,
        Column::LastName,
        Column::MobileNumber,
        Column::FatherOrHusbandName,
        Column::Gender,
        Column::DateOfBirth,
        Column::Email,
        Column::CorrespondenceAddress,
        Column::Roles,
        Column::EmploymentType,
        Column::DateOfEmployment,
        Column::Designation,
        Column::Department,
        Column::Jurisdictions,
        Column::Campaign,
        Column::Boundaries,
        Column::AssignedFrom,
        Column::AssignedTill,
        Column::DeactivationReason,
        Column::Remarks,
        Column::EffectiveDate,
        Column::Replaces,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The machine key, as in the API's CSV columns.
    pub fn key(self) -> &'static str {
        match self {
            Column::Username => "username",
            Column::FirstName => "first_name",
            Column::LastName => "last_name",
            Column::MobileNumber => "mobile_number",
            Column::FatherOrHusbandName => "father_or_husband_name",
            Column::Gender => "gender",
            Column::DateOfBirth => "date_of_birth",
            Column::Email => "email",
            Column::CorrespondenceAddress => "correspondence_address",
            Column::Roles => "roles",
            Column::EmploymentType => "employment_type",
            Column::DateOfEmployment => "date_of_employment",
            Column::Designation => "designation",
            Column::Department => "department",
            Column::Jurisdictions => "jurisdictions",
            Column::Campaign => "campaign",
            Column::Boundaries => "boundaries",
            Column::AssignedFrom => "assigned_from",
            Column::AssignedTill => "assigned_till",
            Column::DeactivationReason => "deactivation_reason",
            Column::Remarks => "remarks",
            Column::EffectiveDate => "effective_date",
            Column::Replaces => "replaces",
        }
    }

    /// The header label shown in a template, in `en`, `fr` or `pt` (English otherwise).
    pub fn label(self, language: &str) -> &'static str {
        let [en, fr, pt] = self.labels();
        match language {
            "fr" => fr,
            "pt" => pt,
            _ => en,
        }
    }

    fn labels(self) -> [&'static str; 3] {
        match self {
            Column::Username => ["Username", "Nom d'utilisateur", "Nome de utilizador"],
            Column::FirstName => ["First name", "Prénom", "Nome próprio"],
            Column::LastName => ["Last name", "Nom", "Apelido"],
            Column::MobileNumber => ["Mobile number", "Numéro de mobile", "Número de telemóvel"],
            Column::FatherOrHusbandName => [
                "Father or husband name",
                "Nom du père ou du mari",
                "Nome do pai ou marido",
            ],
            Column::Gender => ["Gender", "Genre", "Género"],
            Column::DateOfBirth => ["Date of birth", "Date de naissance", "Data de nascimento"],
            Column::Email => ["Email", "Courriel", "Correio eletrónico"],
            Column::CorrespondenceAddress => [
                "Correspondence address",
                "Adresse postale",
                "Morada de correspondência",
            ],
            Column::Roles => ["Roles", "Rôles", "Funções"],
            Column::EmploymentType => ["Employment type", "Type d'emploi", "Tipo de emprego"],
            Column::DateOfEmployment => {
                ["Date of employment", "Date d'embauche", "Data de admissão"]
            }
            Column::Designation => ["Designation", "Poste", "Cargo"],
            Column::Department => ["Department", "Département", "Departamento"],
            Column::Jurisdictions => ["Jurisdictions", "Juridictions", "Jurisdições"],
            Column::Campaign => ["Campaign", "Campagne", "Campanha"],
            Column::Boundaries => ["Boundaries", "Zones", "Áreas"],
            Column::AssignedFrom => ["Assigned from", "Affecté du", "Atribuído de"],
            Column::AssignedTill => ["Assigned till", "Affecté jusqu'au", "Atribuído até"],
            Column::DeactivationReason => [
                "Deactivation reason",
                "Motif de désactivation",
                "Motivo de desativação",
            ],
            Column::Remarks => ["Remarks", "Remarques", "Observações"],
            Column::EffectiveDate => ["Effective date", "Date d'effet", "Data de efeito"],
            Column::Replaces => ["Replaces", "Remplace", "Substitui"],
        }
    }

    /// Recognises a header cell: the machine key or a label in any language, ignoring
    /// case, accents, surrounding spaces and the difference between `_`, `-` and space.
    pub fn from_header(header: &str) -> Option<Column> {
        let wanted = fold_header(header);
        if wanted.is_empty() {
            return None;
        }
        Column::ALL.into_iter().find(|c| {
            fold_header(c.key()) == wanted || c.labels().iter().any(|l| fold_header(l) == wanted)
        })
    }
}

fn fold_header(header: &str) -> String {
    let header = header.trim_start_matches('\u{feff}').trim();
    // A template marks required columns with '*'.
    let header = header.trim_end_matches('*').trim();
    deunicode::deunicode(header)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// One data row of a file: a cell per known column, empty cells as `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkRow {
    /// The row's number as the spreadsheet shows it (the header is row 1).
    pub row_no: i64,
    cells: Vec<Option<String>>,
}

impl BulkRow {
    pub fn new(row_no: i64) -> Self {
        Self {
            row_no,
            cells: vec![None; Column::ALL.len()],
        }
    }

    pub fn set(&mut self, column: Column, value: &str) {
        let value = value.trim();
        self.cells[column.index()] = (!value.is_empty()).then(|| value.to_owned());
    }

    pub fn get(&self, column: Column) -> Option<&str> {
        self.cells[column.index()].as_deref()
    }

    pub fn owned(&self, column: Column) -> Option<String> {
        self.get(column).map(str::to_owned)
    }

    /// A multi-valued cell split on `;` or `,`.
    pub fn list(&self, column: Column) -> Vec<String> {
        self.get(column).map(split_list).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.iter().all(Option::is_none)
    }
}

/// Splits a multi-valued cell on `;` or `,`, dropping empty parts.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The date an Excel serial stands for (1900 date system, including Excel's phantom
/// 29 February 1900, which is why day 60 and earlier shift by one).
pub fn excel_serial_date(serial: f64) -> Option<NaiveDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let days = if days <= 60 { days + 1 } else { days };
    base.checked_add_signed(Duration::days(days))
}

/// The text of a number cell: integers without `.0` or exponent, so that a phone
/// number Excel stored as `2.58841234567E+11` reads `258841234567` again.
pub fn number_text(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e17 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

/// Whether a text cell is a spreadsheet formula (refused: a file carries data only).
pub fn is_formula_text(cell: &str) -> bool {
    cell.trim_start().starts_with('=')
}

/// Columns whose cells are dates, read from date cells or serials when a spreadsheet
/// typed them.
pub fn is_date_column(column: Column) -> bool {
    matches!(
        column,
        Column::DateOfBirth
            | Column::DateOfEmployment
            | Column::AssignedFrom
            | Column::AssignedTill
            | Column::EffectiveDate
    )
}

/// The pairs of rows that share a value of `key` (usernames, mobiles) within a file,
/// so that both rows of a duplicate are reported. Values are compared as given after
/// `normalise`; `None` skips a row.
pub fn duplicates<'a, F>(rows: &'a [BulkRow], mut normalise: F) -> Vec<(i64, i64, String)>
where
    F: FnMut(&'a BulkRow) -> Option<String>,
{
    let mut first: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for row in rows {
        if let Some(value) = normalise(row) {
            match first.get(&value) {
                Some(&earlier) => out.push((earlier, row.row_no, value)),
                None => {
                    first.insert(value, row.row_no);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_keys_and_translated_labels() {
        assert_eq!(Column::from_header("first_name"), Some(Column::FirstName));
        assert_eq!(Column::from_header(" First Name "), Some(Column::FirstName));
        assert_eq!(
            Column::from_header("\u{feff}USERNAME"),
            Some(Column::Username)
        );
        assert_eq!(Column::from_header("Prénom *"), Some(Column::FirstName));
        assert_eq!(
            Column::from_header("Número de telemóvel"),
            Some(Column::MobileNumber)
        );
        assert_eq!(
            Column::from_header("assigned-from"),
            Some(Column::AssignedFrom)
        );
        assert_eq!(Column::from_header("shoe size"), None);
        assert_eq!(Column::from_header(""), None);
    }

    #[test]
    fn every_label_maps_back_to_its_column() {
        for column in Column::ALL {
            assert_eq!(Column::from_header(column.key()), Some(column));
            for language in LANGUAGES {
                assert_eq!(Column::from_header(column.label(language)), Some(column));
            }
        }
    }

    #[test]
    fn excel_serials_become_dates() {
        assert_eq!(
            excel_serial_date(45292.0),
            NaiveDate::from_ymd_opt(2024, 1, 1)
        );
        assert_eq!(
            excel_serial_date(45292.75),
            NaiveDate::from_ymd_opt(2024, 1, 1)
        );
        assert_eq!(excel_serial_date(1.0), NaiveDate::from_ymd_opt(1900, 1, 1));
        assert_eq!(excel_serial_date(-3.0), None);
        assert_eq!(excel_serial_date(f64::NAN), None);
    }

    #[test]
    fn phone_numbers_stored_as_floats_read_as_digits() {
        assert_eq!(number_text(2.58841234567e11), "258841234567");
        assert_eq!(number_text(841234567.0), "841234567");
        assert_eq!(number_text(1.5), "1.5");
    }

    #[test]
    fn lists_split_on_semicolons_and_commas() {
        assert_eq!(split_list("A; B,C ;;"), vec!["A", "B", "C"]);
        assert!(split_list(" ").is_empty());
    }

    #[test]
    fn duplicates_name_both_rows() {
        let mut a = BulkRow::new(1);
        a.set(Column::Username, "ana");
        let mut b = BulkRow::new(2);
        b.set(Column::Username, "bob");
        let mut c = BulkRow::new(3);
        c.set(Column::Username, "ANA");
        let rows = [a, b, c];
        let dups = duplicates(&rows, |r| r.get(Column::Username).map(str::to_lowercase));
        assert_eq!(dups, vec![(1, 3, "ana".to_owned())]);
    }

    #[test]
    fn formulas_are_recognised() {
        assert!(is_formula_text("=HYPERLINK(\"x\")"));
        assert!(is_formula_text("  =1+1"));
        assert!(!is_formula_text("+258841234567"));
    }
}
