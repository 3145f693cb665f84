//! Reading a users file (CSV or XLSX) into rows, refusing what is not plain data:
//! unknown formats, zip bombs, formulas, files without a known column.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use cadre_domain::bulk::{
    excel_serial_date, is_date_column, is_formula_text, number_text, BulkRow, Column,
};

use crate::{Result, ServiceError};

/// At most this many uncompressed bytes in an XLSX file, and at most this ratio of
/// uncompressed to compressed size: real sheets compress ~10:1, bombs by thousands.
const MAX_UNZIPPED_BYTES: u64 = 512 * 1024 * 1024;
const MAX_ZIP_RATIO: u64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }

    /// Recognised from the content, not the name: XLSX is a ZIP archive; CSV is text.
    pub fn detect(content: &[u8]) -> Result<Self> {
        if content.starts_with(b"PK\x03\x04") {
            return Ok(FileFormat::Xlsx);
        }
        let text = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
        let sample = &text[..text.len().min(64 * 1024)];
        let is_text = match std::str::from_utf8(sample) {
            Ok(s) => !s.contains('\0'),
            // A multibyte character cut at the sample's end is still text.
            Err(e) => e.error_len().is_none() && !sample.contains(&0),
        };
        if is_text && !text.is_empty() {
            Ok(FileFormat::Csv)
        } else {
            Err(file_error(
                "unsupported_format",
                "the file is neither CSV (UTF-8 text) nor XLSX",
            ))
        }
    }
}

pub(crate) fn file_error(code: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("file", code, message)
}

/// Reads every data row; `max_rows` stops early with 422 `too_many_rows`.
pub fn read_rows(content: &[u8], max_rows: usize) -> Result<(FileFormat, Vec<BulkRow>)> {
    let format = FileFormat::detect(content)?;
    let rows = match format {
        FileFormat::Csv => read_csv(content, max_rows)?,
        FileFormat::Xlsx => read_xlsx(content, max_rows)?,
    };
    Ok((format, rows))
}

fn too_many_rows(max_rows: usize) -> ServiceError {
    file_error(
        "too_many_rows",
        format!("a file may hold at most {max_rows} rows"),
    )
}

/// Maps header cells to columns; unknown headers are refused so a typo cannot drop a
/// column silently.
fn header_columns(headers: &[String]) -> Result<Vec<Option<Column>>> {
    let mut columns = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for header in headers {
        let column = Column::from_header(header);
        if column.is_none() && !header.trim().is_empty() {
            unknown.push(header.trim().to_owned());
        }
        if let Some(c) = column {
            if columns.contains(&Some(c)) {
                return Err(file_error(
                    "duplicate_column",
                    format!("the column '{}' appears twice", c.key()),
                ));
            }
        }
        columns.push(column);
    }
    if !unknown.is_empty() {
        return Err(file_error(
            "unknown_column",
            format!("unknown columns: {}", unknown.join(", ")),
        ));
    }
    if columns.iter().all(Option::is_none) {
        return Err(file_error(
            "missing_header",
            "the first row must name the columns (username, first_name, …)",
        ));
    }
    Ok(columns)
}

fn read_csv(content: &[u8], max_rows: usize) -> Result<Vec<BulkRow>> {
    let text = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    let first_line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|b| **b == b';').count()
        > first_line.iter().filter(|b| **b == b',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text);
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(r) => r.map_err(csv_error)?,
        None => return Err(file_error("empty_file", "the file is empty")),
    };
    let headers: Vec<String> = header
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let columns = header_columns(&headers)?;
    let mut rows = Vec::new();
    let mut lines = PhysicalLines::new(text);
    for record in records {
        let record = record.map_err(csv_error)?;
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        let row_no = lines.row_at(start);
        let mut row = BulkRow::new(row_no);
        for (cell, column) in record.iter().zip(&columns) {
            let Some(column) = column else { continue };
            let cell = std::str::from_utf8(cell).map_err(|_| {
                file_error(
                    "invalid_encoding",
                    format!("row {row_no}: the file must be UTF-8"),
                )
            })?;
            if is_formula_text(cell) {
                return Err(formula_error(row_no, *column));
            }
            row.set(*column, cell);
        }
        if row.is_empty() {
            continue;
        }
        if rows.len() >= max_rows {
            return Err(too_many_rows(max_rows));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Row numbers as a spreadsheet shows them: blank lines count, as they do when the file
/// is opened in a spreadsheet. (The CSV reader's own line count skips blank lines and
/// counts CRLF oddly.) Records arrive in order, so counting is incremental.
struct PhysicalLines<'a> {
    text: &'a [u8],
    counted_to: usize,
    newlines: i64,
}

impl<'a> PhysicalLines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            counted_to: 0,
            newlines: 0,
        }
    }

    /// The row of the record the reader resumed at `byte` for: the reader's position
    /// can sit on the terminator of the line before, so skip line ends first.
    fn row_at(&mut self, byte: usize) -> i64 {
        let mut start = byte.min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start > self.counted_to {
            let seen = self.text[self.counted_to..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.newlines += i64::try_from(seen).unwrap_or(i64::MAX);
            self.counted_to = start;
        }
        self.newlines + 1
    }
}

fn csv_error(e: csv::Error) -> ServiceError {
    file_error("malformed_csv", format!("the CSV cannot be read: {e}"))
}

fn formula_error(row_no: i64, column: Column) -> ServiceError {
    file_error(
        "formula_not_allowed",
        format!(
            "row {row_no}, column {}: formulas are not accepted; paste values only",
            column.key()
        ),
    )
}

/// Refuses archives whose declared uncompressed size is huge or implausibly compressed.
fn check_zip(content: &[u8]) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(content))
        .map_err(|e| file_error("malformed_xlsx", format!("the XLSX cannot be read: {e}")))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| file_error("malformed_xlsx", format!("the XLSX cannot be read: {e}")))?;
        total = total.saturating_add(entry.size());
    }
    let compressed = u64::try_from(content.len()).unwrap_or(u64::MAX).max(1);
    if total > MAX_UNZIPPED_BYTES || total / compressed > MAX_ZIP_RATIO {
        return Err(file_error(
            "zip_bomb",
            "the XLSX expands to far more data than a spreadsheet holds",
        ));
    }
    Ok(())
}

fn read_xlsx(content: &[u8], max_rows: usize) -> Result<Vec<BulkRow>> {
    check_zip(content)?;
    let malformed = |e: calamine::XlsxError| {
        file_error("malformed_xlsx", format!("the XLSX cannot be read: {e}"))
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(content)).map_err(malformed)?;
    // The users sheet is the one called "users", else the first one that is not the
    // template's instructions.
    let names = workbook.sheet_names().to_vec();
    let sheet = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("users"))
        .or_else(|| {
            names
                .iter()
                .find(|n| !n.eq_ignore_ascii_case("instructions") && !n.starts_with('_'))
        })
        .cloned()
        .ok_or_else(|| file_error("empty_file", "the workbook has no sheet"))?;
    let formulas = workbook.worksheet_formula(&sheet).map_err(malformed)?;
    if let Some((r, c)) = formulas
        .used_cells()
        .find(|(_, _, f)| !f.trim().is_empty())
        .map(|(r, c, _)| (r, c))
    {
        return Err(file_error(
            "formula_not_allowed",
            format!(
                "cell at row {}, column {}: formulas are not accepted; paste values only",
                r + 1,
                c + 1
            ),
        ));
    }
    let range = workbook.worksheet_range(&sheet).map_err(malformed)?;
    let mut sheet_rows = range.rows();
    let headers: Vec<String> = match sheet_rows.next() {
        Some(cells) => cells.iter().map(cell_text).collect(),
        None => return Err(file_error("empty_file", "the sheet is empty")),
    };
    let columns = header_columns(&headers)?;
    let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
    let mut rows = Vec::new();
    for (i, cells) in sheet_rows.enumerate() {
        // The number the spreadsheet shows: the header is on `first_row + 1`.
        let row_no = i64::from(first_row) + i64::try_from(i).unwrap_or(i64::MAX) + 2;
        let mut row = BulkRow::new(row_no);
        for (cell, column) in cells.iter().zip(&columns) {
            let Some(column) = column else { continue };
            let text = if is_date_column(*column) {
                date_cell_text(cell)
            } else {
                cell_text(cell)
            };
            if is_formula_text(&text) && matches!(cell, Data::String(_)) {
                return Err(formula_error(row_no, *column));
            }
            row.set(*column, &text);
        }
        if row.is_empty() {
            continue;
        }
        if rows.len() >= max_rows {
            return Err(too_many_rows(max_rows));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => number_text(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_serial_date(d.as_f64())
            .map(|d| d.to_string())
            .unwrap_or_default(),
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// A date column's cell: real dates and bare serial numbers both become `YYYY-MM-DD`.
fn date_cell_text(cell: &Data) -> String {
    match cell {
        Data::Float(f) => excel_serial_date(*f)
            .map(|d| d.to_string())
            .unwrap_or_else(|| number_text(*f)),
        Data::Int(i) => excel_serial_date(*i as f64)
            .map(|d| d.to_string())
            .unwrap_or_else(|| i.to_string()),
        other => cell_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_bom_semicolons_and_crlf() {
        let file =
            "\u{feff}Username;First name;mobile_number\r\nana;Ana;841234567\r\n\r\nbob;Bob;\r\n";
        let (format, rows) = read_rows(file.as_bytes(), 10).unwrap();
        assert_eq!(format, FileFormat::Csv);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get(Column::FirstName), Some("Ana"));
        assert_eq!(rows[0].get(Column::MobileNumber), Some("841234567"));
        assert_eq!(rows[1].get(Column::MobileNumber), None);
        assert_eq!(rows[0].row_no, 2);
        assert_eq!(rows[1].row_no, 4);
    }

    #[test]
    fn unknown_columns_formulas_and_binaries_are_refused() {
        let err = read_rows(b"username,shoe\nana,42\n", 10).unwrap_err();
        assert!(format!("{err:?}").contains("unknown_column"));
        let err = read_rows(b"username,first_name\nana,=1+1\n", 10).unwrap_err();
        assert!(format!("{err:?}").contains("formula_not_allowed"));
        let err = read_rows(b"\x00\x01\x02binary", 10).unwrap_err();
        assert!(format!("{err:?}").contains("unsupported_format"));
        let err = read_rows(b"username\na\nb\nc\n", 2).unwrap_err();
        assert!(format!("{err:?}").contains("too_many_rows"));
    }
}
