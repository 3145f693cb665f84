//! What an XLSX archive may hold before calamine reads it. calamine trusts the archive:
//! it inflates an entry past the size the archive declares for it, and it expands each
//! shared formula's range into a map (and sizes a table by the formula's index) before
//! the formula can be refused. Both are bounded here, reading every entry once.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use super::file_error;
use crate::{Result, ServiceError};

/// At most this many uncompressed bytes, and at most this ratio of uncompressed to
/// compressed size: real sheets compress ~10:1, bombs by thousands.
const MAX_UNZIPPED_BYTES: u64 = 512 * 1024 * 1024;
const MAX_ZIP_RATIO: u64 = 200;
/// Cells all the shared formulas of a workbook may span together, and the highest
/// shared formula index: far more than filled-down columns need, far less than what
/// exhausts memory or time.
const MAX_SHARED_CELLS: u64 = 1 << 20;
const MAX_SHARED_INDEX: u64 = 1 << 16;
/// The last row and column a sheet has.
pub(super) const SHEET_ROWS: u32 = 1_048_576;
pub(super) const SHEET_COLUMNS: u32 = 16_384;

pub(super) fn malformed(e: impl std::fmt::Display) -> ServiceError {
    file_error("malformed_xlsx", format!("the XLSX cannot be read: {e}"))
}

fn zip_bomb() -> ServiceError {
    file_error(
        "zip_bomb",
        "the XLSX expands to far more data than a spreadsheet holds",
    )
}

/// Refuses archives that expand to far more than a spreadsheet holds, and shared
/// formulas calamine cannot expand within bounds. The sizes an archive declares refuse
/// an honest bomb at once; they are not enforced when an entry is read, so every entry
/// is also inflated and counted, stopping as soon as the limit is passed.
pub(super) fn check(content: &[u8]) -> Result<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(content)).map_err(malformed)?;
    let compressed = u64::try_from(content.len()).unwrap_or(u64::MAX);
    let limit = MAX_UNZIPPED_BYTES.min(compressed.saturating_mul(MAX_ZIP_RATIO));
    let mut declared: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(malformed)?;
        declared = declared.saturating_add(entry.size());
    }
    if declared > limit {
        return Err(zip_bomb());
    }
    let mut inflated: u64 = 0;
    let mut shared = SharedFormulas::default();
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(malformed)?;
        let sheet = is_sheet(entry.name());
        let allowance = limit.saturating_sub(inflated).saturating_add(1);
        let mut part = BufReader::new(entry.take(allowance));
        if sheet {
            shared.scan(&mut part)?;
        }
        io::copy(&mut part, &mut io::sink()).map_err(malformed)?;
        let read = allowance.saturating_sub(part.get_ref().limit());
        inflated = inflated.saturating_add(read);
        if inflated > limit {
            return Err(zip_bomb());
        }
    }
    Ok(())
}

/// Whether calamine could read an entry as a sheet: it opens `xl/worksheets/…`,
/// `xl/chartsheets/…` or `xl/dialogsheets/…`, matching entry names without regard to
/// case and reading `\` as `/`. Shared strings and styles, often the bulk of a file,
/// need no scan.
fn is_sheet(name: &str) -> bool {
    let name = name.replace('\\', "/").to_ascii_lowercase();
    ["xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/"]
        .iter()
        .any(|kind| name.starts_with(kind))
}

#[derive(Default)]
struct SharedFormulas {
    cells: u64,
}

impl SharedFormulas {
    /// Reads a part with calamine's tokenizer and settings, so that every element
    /// calamine would take for a shared formula is seen here first. A part that is not
    /// XML stops at its first error, as calamine would.
    fn scan(&mut self, part: &mut impl BufRead) -> Result<()> {
        let mut xml = quick_xml::Reader::from_reader(part);
        let config = xml.config_mut();
        config.check_end_names = false;
        config.check_comments = false;
        config.expand_empty_elements = true;
        config.trim_text(false);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match xml.read_event_into(&mut buf) {
                // calamine expands `t="shared"` on any element inside a cell, not only
                // on `<f>`.
                Ok(Event::Start(e)) => self.element(&e)?,
                Ok(Event::Eof) => return Ok(()),
                Err(quick_xml::Error::Io(e)) => return Err(malformed(e)),
                Err(_) => return Ok(()),
                Ok(_) => {}
            }
        }
    }

    fn element(&mut self, e: &BytesStart) -> Result<()> {
        let attribute = |name: &[u8]| {
            e.attributes()
                .flatten()
                .find(|a| a.key.as_ref() == name)
                .map(|a| a.value)
        };
        if attribute(b"t").as_deref() != Some(b"shared") {
            return Ok(());
        }
        let Some(range) = attribute(b"ref") else {
            return Ok(());
        };
        let index =
            attribute(b"si").and_then(|si| std::str::from_utf8(&si).ok()?.parse::<u64>().ok());
        if index.is_none_or(|i| i > MAX_SHARED_INDEX) {
            return Err(malformed(format!(
                "a shared formula's index is not a number up to {MAX_SHARED_INDEX}"
            )));
        }
        let cells = range_cells(&range).ok_or_else(|| {
            malformed(format!(
                "the shared formula range '{}' is not a range of a sheet",
                String::from_utf8_lossy(&range)
            ))
        })?;
        self.cells = self.cells.saturating_add(cells);
        if self.cells > MAX_SHARED_CELLS {
            return Err(malformed(format!(
                "its shared formulas span more than {MAX_SHARED_CELLS} cells"
            )));
        }
        Ok(())
    }
}

/// How many cells `A1` or `A1:C3` spans (none when its ends are swapped, as calamine
/// reads it); `None` unless every reference lies inside a sheet, where calamine's own
/// reading can overflow.
fn range_cells(range: &[u8]) -> Option<u64> {
    let mut ends = range.split(|b| *b == b':');
    let start = ends.next().and_then(cell_position)?;
    let end = match ends.next() {
        Some(end) => cell_position(end)?,
        None => start,
    };
    if ends.next().is_some() {
        return None;
    }
    let rows = (end.0 + 1).saturating_sub(start.0);
    let columns = (end.1 + 1).saturating_sub(start.1);
    Some(rows * columns)
}

/// The 0-based (row, column) of a reference such as `B12`.
fn cell_position(reference: &[u8]) -> Option<(u64, u64)> {
    let letters = reference
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let (column, row) = reference.split_at(letters);
    if column.is_empty() || column.len() > 3 || row.is_empty() || row.len() > 10 {
        return None;
    }
    if !row.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let column = column.iter().try_fold(0u64, |n, b| {
        let digit = u64::from(b.to_ascii_uppercase().checked_sub(b'A')?) + 1;
        Some(n * 26 + digit)
    })?;
    let row: u64 = std::str::from_utf8(row).ok()?.parse().ok()?;
    if row == 0 || row > u64::from(SHEET_ROWS) || column > u64::from(SHEET_COLUMNS) {
        return None;
    }
    Some((row - 1, column - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheets_are_found_as_calamine_finds_them() {
        assert!(is_sheet("xl/worksheets/sheet1.xml"));
        assert!(is_sheet("XL\\Worksheets\\Sheet1.xml"));
        assert!(is_sheet("xl/chartsheets/sheet1.xml"));
        assert!(!is_sheet("xl/sharedStrings.xml"));
        assert!(!is_sheet("/xl/worksheets/sheet1.xml"));
    }

    #[test]
    fn shared_formula_ranges() {
        assert_eq!(range_cells(b"B2"), Some(1));
        assert_eq!(range_cells(b"B2:C11"), Some(20));
        assert_eq!(range_cells(b"c11:b2"), Some(0));
        assert_eq!(range_cells(b"A1:XFD1048576"), Some(1 << 34));
        assert_eq!(range_cells(b"A1:XFE1"), None);
        assert_eq!(range_cells(b"A0"), None);
        assert_eq!(range_cells(b"A99999999999"), None);
        assert_eq!(range_cells(b"A1:B2:C3"), None);
        assert_eq!(range_cells(b"$A$1"), None);
        assert_eq!(range_cells(b"1A"), None);
    }
}
