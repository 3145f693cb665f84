//! Files a bulk job hands out: the result of a job and the users template.

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Formula, Workbook, Worksheet, XlsxError,
};

use cadre_domain::bulk::{BulkRow, Column};
use cadre_store::bulk_jobs::RowOutcome;

use super::RowError;
use crate::export::neutralise;
use crate::{Result, ServiceError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    Csv,
    Xlsx,
}

impl ResultFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ResultFormat::Csv => "text/csv; charset=utf-8",
            ResultFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// The file name extension: `csv` or `xlsx`.
    pub fn extension(self) -> &'static str {
        match self {
            ResultFormat::Csv => "csv",
            ResultFormat::Xlsx => "xlsx",
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The outcome columns that precede the input's own columns in a result file.
const RESULT_COLUMNS: [&str; 5] = ["row", "status", "username", "credential", "errors"];

fn xlsx_error(e: XlsxError) -> ServiceError {
    ServiceError::Internal(format!("writing a workbook: {e}"))
}

fn csv_error(e: csv::Error) -> ServiceError {
    ServiceError::Internal(format!("writing a CSV file: {e}"))
}

fn errors_text(json: &str) -> String {
    let errors: Vec<RowError> = serde_json::from_str(json).unwrap_or_default();
    errors
        .iter()
        .map(|e| {
            if e.column.is_empty() {
                format!("{}: {}", e.code, e.message)
            } else {
                format!("{} {}: {}", e.column, e.code, e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every input row with its status (`pending` while not yet processed), the username,
/// how its credential is delivered, and its errors as `column code: message`.
pub(crate) fn result_file(
    rows: &[BulkRow],
    outcomes: &[RowOutcome],
    format: ResultFormat,
) -> Result<Vec<u8>> {
    let by_row: std::collections::HashMap<i64, &RowOutcome> =
        outcomes.iter().map(|o| (o.row_no, o)).collect();
    let header: Vec<&str> = RESULT_COLUMNS
        .iter()
        .copied()
        .chain(Column::ALL.iter().map(|c| c.key()))
        .collect();
    let lines = rows.iter().map(|row| {
        let outcome = by_row.get(&row.row_no);
        let mut cells = vec![
            row.row_no.to_string(),
            outcome.map_or("pending".to_owned(), |o| o.status.clone()),
            outcome
                .and_then(|o| o.username.clone())
                .or_else(|| row.owned(Column::Username))
                .unwrap_or_default(),
            outcome
                .and_then(|o| o.credential.clone())
                .unwrap_or_default(),
            outcome.map(|o| errors_text(&o.errors)).unwrap_or_default(),
        ];
        cells.extend(
            Column::ALL
                .iter()
                .map(|c| row.owned(*c).unwrap_or_default()),
        );
        cells
    });
    match format {
        ResultFormat::Csv => {
            let mut csv = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(BOM.to_vec());
            csv.write_record(&header).map_err(csv_error)?;
            for cells in lines {
                csv.write_record(cells.iter().map(|c| neutralise(c)))
                    .map_err(csv_error)?;
            }
            csv.into_inner()
                .map_err(|e| ServiceError::Internal(format!("writing a CSV file: {e}")))
        }
        ResultFormat::Xlsx => {
            let mut workbook = Workbook::new();
            let sheet = workbook
                .add_worksheet_with_constant_memory()
                .map_err(xlsx_error)?;
            sheet.set_name("result").map_err(xlsx_error)?;
            let bold = Format::new().set_bold();
            for (col, name) in (0u16..).zip(&header) {
                sheet
                    .write_string_with_format(0, col, *name, &bold)
                    .map_err(xlsx_error)?;
            }
            for (r, cells) in (1u32..).zip(lines) {
                for (col, cell) in (0u16..).zip(&cells) {
                    if !cell.is_empty() {
                        sheet
                            .write_string(r, col, neutralise(cell))
                            .map_err(xlsx_error)?;
                    }
                }
            }
            workbook.save_to_buffer().map_err(xlsx_error)
        }
    }
}

/// The codes (with their names) a template offers in its dropdowns.
#[derive(Debug, Clone, Default)]
pub(crate) struct TemplateLists {
    pub genders: Vec<(String, String)>,
    pub employment_types: Vec<(String, String)>,
    pub departments: Vec<(String, String)>,
    pub deactivation_reasons: Vec<(String, String)>,
    pub roles: Vec<(String, String)>,
    pub campaigns: Vec<(String, String)>,
    pub boundaries: Vec<(String, String)>,
}

/// A dropdown's list: its name on the lists sheet, its (code, name) items, its column.
type NamedList<'a> = (&'a str, &'a [(String, String)], Column);

/// Rows of the users sheet that carry dropdowns.
const TEMPLATE_ROWS: u32 = 100_000;

const INSTRUCTIONS: [&str; 9] = [
    "Fill in the 'users' sheet, one person per row; keep the header row.",
    "The header may use these labels or the machine keys (first_name, mobile_number, …).",
    "Dates: a date cell or YYYY-MM-DD. Mobile numbers: national or +country format.",
    "Roles, jurisdictions and boundaries: codes from the 'lists' sheet, several separated by ';'.",
    "Gender, employment type, department, campaign: pick from the dropdown.",
    "A username is generated from the name when the username cell is empty.",
    "campaign, boundaries, assigned_from and assigned_till add a campaign assignment.",
    "Formulas are refused: paste values only.",
    "Upload with a dry run first: it reports every problem by row and column and changes nothing.",
];

/// The users template: CSV (header of machine keys) or XLSX (instructions, users sheet
/// with translated labels and dropdowns, and the lists with names beside the codes).
pub(crate) fn template(
    lists: &TemplateLists,
    language: &str,
    format: ResultFormat,
) -> Result<Vec<u8>> {
    let columns: Vec<Column> = Column::ALL
        .into_iter()
        .filter(|c| *c != Column::Replaces)
        .collect();
    if format == ResultFormat::Csv {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(BOM.to_vec());
        csv.write_record(columns.iter().map(|c| c.key()))
            .map_err(csv_error)?;
        return csv
            .into_inner()
            .map_err(|e| ServiceError::Internal(format!("writing a CSV file: {e}")));
    }
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("instructions").map_err(xlsx_error)?;
        sheet.set_column_width(0, 100).map_err(xlsx_error)?;
        sheet
            .write_string_with_format(0, 0, "How to fill in this template", &bold)
            .map_err(xlsx_error)?;
        for (r, line) in (2u32..).zip(INSTRUCTIONS) {
            sheet.write_string(r, 0, line).map_err(xlsx_error)?;
        }
    }
    let named_lists: [NamedList; 7] = [
        ("gender", &lists.genders, Column::Gender),
        (
            "employment_type",
            &lists.employment_types,
            Column::EmploymentType,
        ),
        ("department", &lists.departments, Column::Department),
        (
            "deactivation_reason",
            &lists.deactivation_reasons,
            Column::DeactivationReason,
        ),
        ("roles", &lists.roles, Column::Roles),
        ("campaign", &lists.campaigns, Column::Campaign),
        ("boundaries", &lists.boundaries, Column::Boundaries),
    ];
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("users").map_err(xlsx_error)?;
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        let text = Format::new().set_num_format("@");
        for (col, column) in (0u16..).zip(&columns) {
            sheet
                .write_string_with_format(0, col, column.label(language), &bold)
                .map_err(xlsx_error)?;
            sheet.set_column_width(col, 18).map_err(xlsx_error)?;
            // Text columns keep leading zeros and long phone numbers as typed.
            if matches!(column, Column::MobileNumber | Column::Username) {
                sheet.set_column_format(col, &text).map_err(xlsx_error)?;
            }
        }
        for (i, (_, items, column)) in (0u16..).zip(named_lists.iter()) {
            let Some(col) = columns.iter().position(|c| c == column) else {
                continue;
            };
            if items.is_empty() {
                continue;
            }
            let col = u16::try_from(col).unwrap_or(0);
            let last = items.len() + 1;
            let letter = column_letter(i * 2);
            let formula = format!("=lists!${letter}$2:${letter}${last}");
            // Multi-valued cells (A;B) cannot match a list exactly: warn, not refuse.
            let multi = matches!(column, Column::Roles | Column::Boundaries);
            let style = if multi {
                DataValidationErrorStyle::Information
            } else {
                DataValidationErrorStyle::Stop
            };
            let validation = DataValidation::new()
                .allow_list_formula(Formula::new(formula))
                .set_error_style(style);
            sheet
                .add_data_validation(1, col, TEMPLATE_ROWS, col, &validation)
                .map_err(xlsx_error)?;
        }
    }
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("lists").map_err(xlsx_error)?;
        for (i, (name, items, _)) in (0u16..).zip(named_lists.iter()) {
            write_list(sheet, i * 2, name, items, &bold)?;
        }
    }
    workbook.save_to_buffer().map_err(xlsx_error)
}

fn write_list(
    sheet: &mut Worksheet,
    col: u16,
    name: &str,
    items: &[(String, String)],
    bold: &Format,
) -> Result<()> {
    sheet
        .write_string_with_format(0, col, name, bold)
        .map_err(xlsx_error)?;
    sheet
        .write_string_with_format(0, col + 1, "name", bold)
        .map_err(xlsx_error)?;
    for (r, (code, label)) in (1u32..).zip(items) {
        sheet.write_string(r, col, code).map_err(xlsx_error)?;
        sheet.write_string(r, col + 1, label).map_err(xlsx_error)?;
    }
    Ok(())
}

/// `A`, `B`, … `Z`, `AA`, … for a 0-based column index.
fn column_letter(mut index: u16) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + u8::try_from(index % 26).unwrap_or(0)));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(13), "N");
        assert_eq!(column_letter(26), "AA");
    }
}
