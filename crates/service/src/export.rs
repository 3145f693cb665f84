//! Exporting the result of a user search as a CSV or XLSX file.
//!
//! The export reuses [`Cadre::search_users`] page by page, so it sees exactly what the
//! actor's search shows (scope, filters, sort) and nothing more. Its columns are the
//! bulk-import columns of the API contract, framed by the id, status and timestamps, so
//! that an exported file can be read back by an import.

use std::path::Path;
use std::str::FromStr;

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde_json::{json, Value};

use cadre_domain::Action;

use crate::audit::Event;
use crate::users::{UserFilter, UserView, MAX_PAGE};
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// The most rows one export may hold; more and the caller must narrow the filters.
/// (An XLSX sheet holds 1,048,576 rows, header included.)
pub const MAX_EXPORT_ROWS: usize = 1_000_000;

/// The columns of an export, in order: the identity and state of the account, then the
/// user columns of the bulk import (API.md, "Bulk") in their order, then the timestamps.
pub const COLUMNS: [&str; 26] = [
    "id",
    "status",
    "profile_complete",
    "username",
    "first_name",
    "last_name",
    "mobile_number",
    "father_or_husband_name",
    "gender",
    "date_of_birth",
    "email",
    "correspondence_address",
    "roles",
    "employment_type",
    "date_of_employment",
    "designation",
    "department",
    "jurisdictions",
    "campaign",
    "boundaries",
    "assigned_from",
    "assigned_till",
    "deactivation_reason",
    "remarks",
    "created_at",
    "updated_at",
];

/// What a multi-valued cell joins its values with (the import splits on `;` or `,`).
const SEPARATOR: &str = ";";

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    /// `csv` or `xlsx`, in any case; anything else is a 422 naming `format`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            _ => Err(ServiceError::invalid(
                "format",
                "invalid_value",
                format!("'{text}' is not one of csv, xlsx"),
            )),
        }
    }

    /// The format a file name asks for by its extension (`.csv`, `.xlsx`), if any.
    pub fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?;
        Self::parse(extension).ok()
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

impl FromStr for ExportFormat {
    type Err = ServiceError;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// A finished export: the file and how many users it holds.
#[derive(Debug, Clone)]
pub struct UserExport {
    pub bytes: Vec<u8>,
    pub rows: usize,
}

impl Cadre {
    /// Every user the actor's search with `filter` shows, as one file. `filter.limit`
    /// and `filter.cursor` are ignored: the export pages through the whole result.
    pub async fn export_users(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        filter: UserFilter,
        format: ExportFormat,
    ) -> Result<Vec<u8>> {
        Ok(self
            .export_users_counted(actor, meta, filter, format)
            .await?
            .bytes)
    }

    /// [`Cadre::export_users`], also saying how many users were written (the command
    /// line reports it).
    pub async fn export_users_counted(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        filter: UserFilter,
        format: ExportFormat,
    ) -> Result<UserExport> {
        actor.require(Action::UserExport)?;
        let audited_filter = filter_summary(&filter);
        let mut sheet = SheetWriter::new(format)?;
        let mut rows = 0usize;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .search_users(
                    actor,
                    UserFilter {
                        limit: Some(MAX_PAGE),
                        cursor: cursor.take(),
                        ..filter.clone()
                    },
                )
                .await?;
            // `total` counts the whole result: refuse an oversized export before writing
            // anything; the running count below also catches growth while paging.
            if usize::try_from(page.total).unwrap_or(usize::MAX) > MAX_EXPORT_ROWS
                || rows + page.items.len() > MAX_EXPORT_ROWS
            {
                return Err(too_many_rows());
            }
            for user in &page.items {
                sheet.write_row(&user_row(user))?;
            }
            rows += page.items.len();
            match page.next_cursor {
                // An empty page with a cursor would loop forever; it cannot happen with
                // keyset paging, but the export must end whatever the store answers.
                Some(next) if !page.items.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        let bytes = sheet.finish().await?;
        let mut tx = self.db.begin().await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.export").after(json!({
                "filter": audited_filter,
                "format": format.extension(),
                "rows": rows,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(UserExport { bytes, rows })
    }
}

fn too_many_rows() -> ServiceError {
    ServiceError::invalid(
        "limit",
        "too_many_rows",
        format!("an export holds at most {MAX_EXPORT_ROWS} users; narrow the filters"),
    )
}

/// The filter as the audit log records it: what was asked for, without paging.
fn filter_summary(filter: &UserFilter) -> Value {
    json!({
        "q": filter.q,
        "name": filter.name,
        "username": filter.username,
        "mobile_number": filter.mobile_number,
        "email": filter.email,
        "role": filter.role,
        "campaign": filter.campaign,
        "boundary": filter.boundary,
        "status": filter.status,
        "department": filter.department,
        "employment_type": filter.employment_type,
        "profile_complete": filter.profile_complete,
        "sort": filter.sort,
    })
}

/// One user's cells, in [`COLUMNS`] order, before formula neutralisation.
fn user_row(user: &UserView) -> [String; COLUMNS.len()] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // Read through JSON so this works whether assignments and deactivation are JSON
    // values or typed views: only the field names matter.
    let [campaign, boundaries, from, till] =
        assignment_cells(&serde_json::to_value(&user.assignments).unwrap_or(Value::Null));
    let [reason, remarks] =
        deactivation_cells(&serde_json::to_value(&user.deactivation).unwrap_or(Value::Null));
    [
        user.id.clone(),
        user.status.clone(),
        user.profile_complete.to_string(),
        user.username.clone(),
        text(&user.first_name),
        text(&user.last_name),
        text(&user.mobile_number),
        text(&user.father_or_husband_name),
        text(&user.gender),
        text(&user.date_of_birth),
        text(&user.email),
        text(&user.correspondence_address),
        user.roles.join(SEPARATOR),
        text(&user.employment_type),
        text(&user.date_of_employment),
        text(&user.designation),
        text(&user.department),
        user.jurisdictions.join(SEPARATOR),
        campaign,
        boundaries,
        from,
        till,
        reason,
        remarks,
        user.created_at.clone(),
        user.updated_at.clone(),
    ]
}

/// `campaign`, `boundaries`, `assigned_from`, `assigned_till` from the open (not ended)
/// assignments: one value per assignment, joined; boundaries once each.
fn assignment_cells(assignments: &Value) -> [String; 4] {
    let open: Vec<&Value> = assignments
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|a| a.get("status").and_then(Value::as_str) != Some("ended"))
                .collect()
        })
        .unwrap_or_default();
    let per_assignment = |key: &str| {
        open.iter()
            .map(|a| a.get(key).and_then(scalar).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(SEPARATOR)
    };
    let mut boundaries: Vec<String> = Vec::new();
    for a in &open {
        for code in a
            .get("boundaries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(scalar)
        {
            if !boundaries.contains(&code) {
                boundaries.push(code);
            }
        }
    }
    [
        per_assignment("campaign"),
        boundaries.join(SEPARATOR),
        per_assignment("from_date"),
        per_assignment("till_date"),
    ]
}

/// `deactivation_reason` and `remarks` from the deactivation, when there is one.
fn deactivation_cells(deactivation: &Value) -> [String; 2] {
    let field = |key: &str| deactivation.get(key).and_then(scalar).unwrap_or_default();
    [field("reason"), field("remarks")]
}

/// A JSON value as cell text: strings as they are, a `{code}` object by its code.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        Value::Object(map) => map.get("code").and_then(scalar),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(SEPARATOR),
        ),
    }
}

/// Whether a cell is an international phone number (`+` and 6 to 15 digits): a
/// spreadsheet reads it as a number at worst, never as a formula, so it stays intact.
fn is_phone_number(cell: &str) -> bool {
    cell.strip_prefix('+').is_some_and(|digits| {
        (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Neutralises spreadsheet formula injection: a cell that a spreadsheet would read as a
/// formula (leading `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`, which
/// makes it text. Phone numbers are left as they are.
pub fn neutralise(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_phone_number(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Writes rows one at a time into a CSV or XLSX file held in memory.
enum SheetWriter {
    // Both boxed: the two writers differ a lot in size, and there is only one.
    Csv(Box<csv::Writer<Vec<u8>>>),
    Xlsx {
        workbook: Box<Workbook>,
        next_row: u32,
    },
}

/// The byte order mark: with it, Excel reads the UTF-8 (accents) correctly.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl SheetWriter {
    fn new(format: ExportFormat) -> Result<Self> {
        let mut writer = match format {
            ExportFormat::Csv => SheetWriter::Csv(Box::new(
                csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(BOM.to_vec()),
            )),
            ExportFormat::Xlsx => {
                let mut workbook = Workbook::new();
                // Constant memory: each row goes to a temporary file as it is written,
                // instead of every cell staying in memory until the end (about 8 KB
                // per row otherwise, gigabytes for a large export).
                let sheet = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx_error)?;
                sheet.set_name("users").map_err(xlsx_error)?;
                // Keep the header in view while scrolling.
                sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
                let bold = Format::new().set_bold();
                for (col, name) in (0u16..).zip(COLUMNS) {
                    sheet
                        .write_string_with_format(0, col, name, &bold)
                        .map_err(xlsx_error)?;
                }
                SheetWriter::Xlsx {
                    workbook: Box::new(workbook),
                    next_row: 1,
                }
            }
        };
        if let SheetWriter::Csv(csv) = &mut writer {
            csv.write_record(COLUMNS).map_err(csv_error)?;
        }
        Ok(writer)
    }

    fn write_row(&mut self, cells: &[String]) -> Result<()> {
        match self {
            SheetWriter::Csv(csv) => csv
                .write_record(cells.iter().map(|c| neutralise(c)))
                .map_err(csv_error),
            SheetWriter::Xlsx { workbook, next_row } => {
                let sheet = workbook.worksheet_from_index(0).map_err(xlsx_error)?;
                for (col, cell) in (0u16..).zip(cells) {
                    // Empty cells stay blank; every other cell is text, so that nothing
                    // (a phone number, a date) is reinterpreted as a number.
                    if !cell.is_empty() {
                        sheet
                            .write_string(*next_row, col, neutralise(cell))
                            .map_err(xlsx_error)?;
                    }
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    async fn finish(self) -> Result<Vec<u8>> {
        match self {
            SheetWriter::Csv(csv) => csv
                .into_inner()
                .map_err(|e| ServiceError::Internal(format!("writing the CSV export: {e}"))),
            SheetWriter::Xlsx { mut workbook, .. } => {
                // Compressing a large workbook takes a while: keep it off the async
                // workers.
                tokio::task::spawn_blocking(move || workbook.save_to_buffer())
                    .await
                    .map_err(|e| ServiceError::Internal(format!("writing the XLSX export: {e}")))?
                    .map_err(xlsx_error)
            }
        }
    }
}

fn csv_error(e: csv::Error) -> ServiceError {
    ServiceError::Internal(format!("writing the CSV export: {e}"))
}

fn xlsx_error(e: XlsxError) -> ServiceError {
    ServiceError::Internal(format!("writing the XLSX export: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_phone_numbers_kept() {
        assert_eq!(neutralise("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralise("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralise("-2+3"), "'-2+3");
        assert_eq!(neutralise("+1+1"), "'+1+1");
        assert_eq!(neutralise("\tx"), "'\tx");
        assert_eq!(neutralise("\rx"), "'\rx");
        assert_eq!(neutralise("+258841234567"), "+258841234567");
        assert_eq!(neutralise("+12345"), "'+12345");
        assert_eq!(neutralise("+1234567890123456"), "'+1234567890123456");
        assert_eq!(neutralise("Maria"), "Maria");
        assert_eq!(neutralise("1990-04-01"), "1990-04-01");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn formats_parse_by_name_and_extension() {
        assert_eq!(ExportFormat::parse("CSV").ok(), Some(ExportFormat::Csv));
        assert_eq!(ExportFormat::parse("xlsx").ok(), Some(ExportFormat::Xlsx));
        assert!(matches!(
            ExportFormat::parse("pdf"),
            Err(ServiceError::Validation(_))
        ));
        assert_eq!(
            ExportFormat::from_path(Path::new("out/users.XLSX")),
            Some(ExportFormat::Xlsx)
        );
        assert_eq!(
            ExportFormat::from_path(Path::new("users.csv")),
            Some(ExportFormat::Csv)
        );
        assert_eq!(ExportFormat::from_path(Path::new("users.txt")), None);
        assert_eq!(ExportFormat::from_path(Path::new("users")), None);
    }

    #[test]
    fn open_assignments_and_the_deactivation_fill_their_columns() {
        // JSON today; a typed view serialises to the same field names.
        let assignments = json!([
            {"campaign": "ITN-2024", "boundaries": ["ULONGUE", "ZOBUE"],
             "from_date": "2024-03-01", "till_date": "2024-03-31", "status": "active"},
            {"campaign": "OLD", "boundaries": ["CHIUAULA"],
             "from_date": "2023-01-01", "till_date": "2023-02-01", "status": "ended"},
            {"campaign": "SMC-2024", "boundaries": ["ZOBUE"],
             "from_date": "2024-06-01", "till_date": null, "status": "upcoming"}
        ]);
        assert_eq!(
            assignment_cells(&assignments),
            [
                "ITN-2024;SMC-2024",
                "ULONGUE;ZOBUE",
                "2024-03-01;2024-06-01",
                "2024-03-31;"
            ]
        );
        assert_eq!(assignment_cells(&json!([])), ["", "", "", ""]);
        assert_eq!(assignment_cells(&Value::Null), ["", "", "", ""]);
        let deactivation =
            json!({"reason": "CONTRACT_ENDED", "remarks": "=cmd", "effective_date": "2024-05-01"});
        assert_eq!(
            deactivation_cells(&deactivation),
            ["CONTRACT_ENDED", "=cmd"]
        );
        assert_eq!(deactivation_cells(&Value::Null), ["", ""]);
    }

    fn sample_row() -> Vec<String> {
        COLUMNS
            .iter()
            .map(|c| match *c {
                "id" => "u1".to_owned(),
                "first_name" => "=1+1".to_owned(),
                "mobile_number" => "+258841234567".to_owned(),
                "gender" => String::new(),
                other => format!("{other} value"),
            })
            .collect()
    }

    #[tokio::test]
    async fn csv_has_a_bom_crlf_and_the_header() {
        let mut writer = SheetWriter::new(ExportFormat::Csv).unwrap_or_else(|e| panic!("{e}"));
        writer
            .write_row(&sample_row())
            .unwrap_or_else(|e| panic!("{e}"));
        let bytes = writer.finish().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(BOM));
        let text = String::from_utf8(bytes[BOM.len()..].to_vec()).unwrap_or_default();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next(), Some(COLUMNS.join(",").as_str()));
        let row = lines.next().unwrap_or_default();
        assert!(
            row.starts_with("u1,status value,profile_complete value,username value,'=1+1,"),
            "{row}"
        );
        assert!(
            row.contains(",+258841234567,father_or_husband_name value,,"),
            "{row}"
        );
        assert_eq!(lines.next(), Some(""));
    }

    #[tokio::test]
    async fn xlsx_is_a_zip() {
        let mut writer = SheetWriter::new(ExportFormat::Xlsx).unwrap_or_else(|e| panic!("{e}"));
        writer
            .write_row(&sample_row())
            .unwrap_or_else(|e| panic!("{e}"));
        let bytes = writer.finish().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(b"PK\x03\x04"));
    }
}
