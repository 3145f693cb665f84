//! Reading a users file (CSV or XLSX) into rows, refusing what is not plain data:
//! unknown formats, zip bombs, formulas, files without a known column.

mod archive;

use std::io::{Cursor, Read, Seek};

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError};

use cadre_domain::bulk::{
    excel_serial_date, is_date_column, is_formula_text, number_text, BulkRow, Column,
};

use crate::{Result, ServiceError};

/// Filled cells a sheet may hold for each row a file may have: every column of the
/// users file twice over leaves room for notes in unlabelled columns.
const CELLS_PER_ROW: usize = 2 * Column::ALL.len();

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

/// The CSV half of [`read_rows`], public as a parsing entry point for the fuzz targets.
pub fn read_csv(content: &[u8], max_rows: usize) -> Result<Vec<BulkRow>> {
    let text = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    // The header line alone decides: data cells may hold either character. A lone
    // `\r` ends it too, or a file saved with old Mac line ends is one long first line.
    let first_line = text
        .split(|b| matches!(b, b'\r' | b'\n'))
        .next()
        .unwrap_or_default();
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
    let mut sheet_rows = SheetRows::new(text);
    sheet_rows.next_row(record_start(&header));
    let headers: Vec<String> = header
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let columns = header_columns(&headers)?;
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(csv_error)?;
        let row_no = sheet_rows.next_row(record_start(&record));
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

/// Row numbers as a spreadsheet shows them: each line end between two records is a
/// row, so blank lines count, and a record is one row even when a quoted cell spans
/// lines. A line ends at `\r\n`, `\n` or a lone `\r` (old Mac exports), wherever the
/// CSV reader ends a record: row numbers key a job's outcomes, so no two records may
/// share one.
struct SheetRows<'a> {
    text: &'a [u8],
    /// The row of the last record, 0 before the header.
    row: i64,
}

impl<'a> SheetRows<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self { text, row: 0 }
    }

    /// The row of the next record, which the reader read from `byte` on. A record
    /// starts and ends with a byte that is not a line end, so the line ends around
    /// `byte` are exactly those since the previous record.
    fn next_row(&mut self, byte: usize) -> i64 {
        let mut start = byte.min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let mut gap = start;
        while gap > 0 && matches!(self.text.get(gap - 1), Some(b'\r' | b'\n')) {
            gap -= 1;
        }
        let ends = line_ends(self.text.get(gap..start).unwrap_or_default());
        self.row = if self.row == 0 {
            ends.saturating_add(1)
        } else {
            self.row.saturating_add(ends.max(1))
        };
        self.row
    }
}

/// Line ends in a run of `\r` and `\n`, a `\r\n` pair counting once.
fn line_ends(run: &[u8]) -> i64 {
    let pairs = run.windows(2).filter(|w| w == b"\r\n").count();
    let ends = run.len().saturating_sub(pairs);
    i64::try_from(ends).unwrap_or(i64::MAX)
}

fn record_start(record: &csv::ByteRecord) -> usize {
    record
        .position()
        .and_then(|p| usize::try_from(p.byte()).ok())
        .unwrap_or(0)
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

/// The XLSX half of [`read_rows`], public as a parsing entry point for the fuzz targets.
pub fn read_xlsx(content: &[u8], max_rows: usize) -> Result<Vec<BulkRow>> {
    archive::check(content)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(content)).map_err(archive::malformed)?;
    let sheet = users_sheet(&workbook.sheet_names())?;
    refuse_formulas(&mut workbook, &sheet)?;
    let cells = sheet_cells(&mut workbook, &sheet, max_rows)?;
    xlsx_rows(&cells, max_rows)
}

/// The users sheet is the one called "users", else the first one that is not the
/// template's instructions.
fn users_sheet(names: &[String]) -> Result<String> {
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("users"))
        .or_else(|| {
            names
                .iter()
                .find(|n| !n.eq_ignore_ascii_case("instructions") && !n.starts_with('_'))
        })
        .cloned()
        .ok_or_else(|| file_error("empty_file", "the workbook has no sheet"))
}

fn refuse_formulas<RS: Read + Seek>(workbook: &mut Xlsx<RS>, sheet: &str) -> Result<()> {
    let mut reader = match workbook.worksheet_cells_reader(sheet) {
        Ok(reader) => reader,
        // A chart sheet has no cells.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(()),
        Err(e) => return Err(archive::malformed(e)),
    };
    while let Some(cell) = reader.next_formula().map_err(archive::malformed)? {
        if !cell.get_value().trim().is_empty() {
            let (row, column) = cell.get_position();
            return Err(file_error(
                "formula_not_allowed",
                format!(
                    "cell at row {}, column {}: formulas are not accepted; paste values only",
                    u64::from(row) + 1,
                    u64::from(column) + 1
                ),
            ));
        }
    }
    Ok(())
}

/// A filled cell: its 0-based (row, column) and its value.
type SheetCell = ((u32, u32), Data);

/// The sheet's filled cells by row, then column. Cells are kept as they come rather than
/// in a grid: calamine's grid spans from the first to the last cell, so two far-apart
/// cells of a tiny file would ask for billions. At most `CELLS_PER_ROW` cells per row
/// the file may have are read, so memory follows the row limit too.
fn sheet_cells<RS: Read + Seek>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
    max_rows: usize,
) -> Result<Vec<SheetCell>> {
    let mut reader = match workbook.worksheet_cells_reader(sheet) {
        Ok(reader) => reader,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
        Err(e) => return Err(archive::malformed(e)),
    };
    let most = max_rows.saturating_add(1).saturating_mul(CELLS_PER_ROW);
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(archive::malformed)? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        // calamine reads any reference, even one past a sheet's end or wrapped around
        // by overflow.
        let (row, column) = cell.get_position();
        if row >= archive::SHEET_ROWS || column >= archive::SHEET_COLUMNS {
            return Err(archive::malformed(format!(
                "a cell lies past the last row ({}) or column ({}) of a sheet",
                archive::SHEET_ROWS,
                archive::SHEET_COLUMNS
            )));
        }
        if cells.len() >= most {
            return Err(file_error(
                "too_many_cells",
                format!(
                    "the sheet holds more than {most} filled cells; a file may hold at most \
                     {max_rows} rows"
                ),
            ));
        }
        cells.push(((row, column), Data::from(cell.get_value().clone())));
    }
    // A later cell at the same place wins, as in calamine's grid: the sort is stable,
    // and the kept (earlier) cell takes the value of each later one dropped.
    cells.sort_by_key(|(position, _)| *position);
    cells.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(&mut later.1, &mut kept.1);
        }
        same
    });
    Ok(cells)
}

/// Rows from sorted cells: the first filled row is the header, its leftmost filled
/// column the sheet's first, as when calamine reads the sheet as a grid.
fn xlsx_rows(cells: &[SheetCell], max_rows: usize) -> Result<Vec<BulkRow>> {
    let first_column = cells.iter().map(|((_, c), _)| *c).min().unwrap_or(0);
    let mut sheet_rows = cells.chunk_by(|a, b| a.0 .0 == b.0 .0);
    let Some(header) = sheet_rows.next() else {
        return Err(file_error("empty_file", "the sheet is empty"));
    };
    let width = header
        .last()
        .map_or(0, |((_, c), _)| c.saturating_sub(first_column) + 1);
    let mut headers = vec![String::new(); usize::try_from(width).unwrap_or(0)];
    for ((_, column), cell) in header {
        if let Some(text) = offset(*column, first_column).and_then(|i| headers.get_mut(i)) {
            *text = cell_text(cell);
        }
    }
    let columns = header_columns(&headers)?;
    let mut rows = Vec::new();
    for cells in sheet_rows {
        let Some(((sheet_row, _), _)) = cells.first() else {
            continue;
        };
        // The number the spreadsheet shows.
        let row_no = i64::from(*sheet_row) + 1;
        let mut row = BulkRow::new(row_no);
        for ((_, column), cell) in cells {
            let Some(Some(column)) = offset(*column, first_column).and_then(|i| columns.get(i))
            else {
                continue;
            };
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

fn offset(column: u32, first_column: u32) -> Option<usize> {
    usize::try_from(column.checked_sub(first_column)?).ok()
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

    fn row_numbers(file: &[u8]) -> Vec<i64> {
        read_csv(file, 10)
            .unwrap()
            .iter()
            .map(|r| r.row_no)
            .collect()
    }

    fn code(err: &ServiceError) -> String {
        match err {
            ServiceError::Validation(errors) => errors.errors()[0].code.clone(),
            other => panic!("not a file error: {other:?}"),
        }
    }

    #[test]
    fn csv_rows_are_numbered_as_a_spreadsheet_shows_them() {
        // Old Mac line ends: each `\r` ends a record and a row.
        assert_eq!(
            row_numbers(b"username;first_name\rana;Ana\r\rbob;Bob\r"),
            [2, 4]
        );
        // The header line alone picks the delimiter, though cells hold more commas.
        assert_eq!(
            row_numbers(b"username;first_name\rana;A,n,a\rbob;B,o,b"),
            [2, 3]
        );
        // A quoted cell spanning lines is still one row.
        assert_eq!(row_numbers(b"username\r\n\"a\nna\"\r\nbob\r\n"), [2, 3]);
        assert_eq!(row_numbers(b"\n\nusername\n\rana\n\r\nbob"), [5, 7]);
    }

    /// A CSV whose records are split by lone `\r`s gave two records the same row
    /// number, and row numbers key a job's outcomes.
    #[test]
    fn csv_row_numbers_never_repeat() {
        let file =
            b"Nom d'utilisateur;Pr\xc3\xa9nom;Nom;Num\xc3\xa9ro de mobile;Date de naissance\r\n\
            \"ana.m\";\"Ana; I\"Nita\"\"\"ae/05+1990\r\r\0\0\0\0\0\0\0\0\0\0\0\0\090\r\n\r\n\
            ;;Bento;Cossa;;\n";
        assert_eq!(row_numbers(file), [2, 4, 6]);
    }

    const WORKBOOK: &str = r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="users" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const RELS: &str = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

    /// A workbook whose one sheet holds `cells` (`<c>` elements, in `<row>`s or not).
    fn workbook(cells: &str, method: zip::CompressionMethod) -> Vec<u8> {
        use std::io::Write;
        let sheet = format!(
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>"#
        );
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, content) in [
            ("xl/workbook.xml", WORKBOOK),
            ("xl/_rels/workbook.xml.rels", RELS),
            ("xl/worksheets/sheet1.xml", &sheet),
        ] {
            zip.start_file(name, options).unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn xlsx(cells: &str) -> Result<Vec<BulkRow>> {
        read_xlsx(&workbook(cells, zip::CompressionMethod::Stored), 10)
    }

    fn text(r: &str, value: &str) -> String {
        format!(r#"<c r="{r}" t="inlineStr"><is><t>{value}</t></is></c>"#)
    }

    #[test]
    fn xlsx_cells_become_rows_in_sheet_order() {
        // Rows out of order, a cell given twice (the later wins), a gap row, a first
        // column that is not A, a number standing for a phone and a date serial.
        let cells = [
            text("C3", "bob"),
            text("B1", "Username"),
            text("C1", "first_name"),
            text("D1", "date_of_birth"),
            text("B2", "ana"),
            text("B2", "ana.m"),
            r#"<c r="C2"><v>258841234567</v></c><c r="D2"><v>32994</v></c>"#.to_owned(),
            text("B5", "eva"),
        ]
        .concat();
        let rows = xlsx(&cells).unwrap();
        let numbers: Vec<i64> = rows.iter().map(|r| r.row_no).collect();
        assert_eq!(numbers, [2, 3, 5]);
        assert_eq!(rows[0].get(Column::Username), Some("ana.m"));
        assert_eq!(rows[0].get(Column::FirstName), Some("258841234567"));
        assert_eq!(rows[0].get(Column::DateOfBirth), Some("1990-05-01"));
        assert_eq!(rows[1].get(Column::Username), None);
        assert_eq!(rows[1].get(Column::FirstName), Some("bob"));
    }

    /// Two far-apart cells made calamine build a grid of 2^34 cells from a file of a
    /// few hundred bytes.
    #[test]
    fn xlsx_far_apart_cells_do_not_size_the_sheet() {
        let cells = [
            text("A1", "username"),
            text("A2", "ana"),
            text("XFD1048576", "x"),
        ]
        .concat();
        let rows = xlsx(&cells).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get(Column::Username), Some("ana"));
    }

    /// calamine's grid for a header in row 1 and a cell in row 12958465 took 25 s and
    /// 2 GB for a file of 500 bytes.
    #[test]
    fn xlsx_cells_past_a_sheet_are_refused() {
        for far in ["C12958465", "A2000000", "XFE2"] {
            let cells = [text("A1", "username"), text(far, "x")].concat();
            assert_eq!(code(&xlsx(&cells).unwrap_err()), "malformed_xlsx", "{far}");
        }
    }

    #[test]
    fn xlsx_too_many_cells_are_refused() {
        let cells: String = (1..=100).map(|r| text(&format!("A{r}"), "x")).collect();
        let file = workbook(&cells, zip::CompressionMethod::Stored);
        assert_eq!(code(&read_xlsx(&file, 1).unwrap_err()), "too_many_cells");
    }

    /// calamine expands a shared formula's range into a map, and sizes a table by its
    /// index, before the formula can be refused: a range of the whole sheet or a huge
    /// index exhausted memory.
    #[test]
    fn xlsx_shared_formulas_past_bounds_are_refused() {
        for formula in [
            r#"<f t="shared" ref="B2:XFD1048576" si="0"></f>"#,
            r#"<f t="shared" ref="B2" si="4294967295"></f>"#,
            r#"<f t="shared" ref="B2:B99999999999" si="0"></f>"#,
            r#"<v t="shared" ref="B2:XFD1048576" si="0">1</v>"#,
        ] {
            let cells = format!(r#"{}<c r="B2">{formula}</c>"#, text("A1", "username"));
            assert_eq!(
                code(&xlsx(&cells).unwrap_err()),
                "malformed_xlsx",
                "{formula}"
            );
        }
        let filled_down = format!(
            r#"{}<c r="B2"><f t="shared" ref="B2:B100" si="0">A2</f><v>1</v></c>"#,
            text("A1", "username")
        );
        assert_eq!(
            code(&xlsx(&filled_down).unwrap_err()),
            "formula_not_allowed"
        );
    }

    /// The sizes an archive declares are not enforced when an entry is inflated: a
    /// sheet declaring 100 bytes passed the zip bomb check however much it held.
    #[test]
    fn xlsx_entries_inflating_past_their_declared_size_are_a_zip_bomb() {
        let padding = " ".repeat(8 * 1024 * 1024);
        let cells = format!("{}{padding}", text("A1", "username"));
        let mut file = workbook(&cells, zip::CompressionMethod::Deflated);
        let (local, central) = {
            let mut archive = zip::ZipArchive::new(Cursor::new(&file)).unwrap();
            let sheet = archive.by_name("xl/worksheets/sheet1.xml").unwrap();
            (sheet.header_start(), sheet.central_header_start())
        };
        for at in [local + 22, central + 24] {
            let at = usize::try_from(at).unwrap();
            file[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
        }
        assert_eq!(code(&read_xlsx(&file, 10).unwrap_err()), "zip_bomb");
    }
}
