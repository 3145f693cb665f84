//! Writes the seed files of the bulk targets into `corpus/<target>/seed-*`: small users
//! files in the shapes the service meets (the CSV template's header after a BOM; French
//! labels with `;`, quotes and a blank line; workbooks with shared or inline strings,
//! date cells, phone numbers stored as numbers, a formula). Seeds are committed; rerun
//! this after changing it:
//!   cargo run --manifest-path fuzz/seeds/Cargo.toml

use std::fs;
use std::path::Path;

use cadre_domain::bulk::Column;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, XlsxError};

type Error = Box<dyn std::error::Error>;

const ROWS: [[&str; 5]; 2] = [
    ["ana.m", "Ana", "Machel", "841234567", "1990-05-01"],
    ["", "Bento", "Cossa", "+258 84 765 4321", ""],
];
const COLUMNS: [Column; 5] = [
    Column::Username,
    Column::FirstName,
    Column::LastName,
    Column::MobileNumber,
    Column::DateOfBirth,
];

fn csv_template() -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.key()).collect();
    out.extend_from_slice(header.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    for row in ROWS {
        out.extend_from_slice(row.join(",").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn csv_semicolons() -> Vec<u8> {
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.label("fr")).collect();
    let mut out = header.join(";");
    out.push_str("\r\n\"ana.m\";\"Ana; \"\"Nita\"\"\";Machel;841234567;01/05/1990\r\n\r\n");
    out.push_str(";Bento;Cossa;;\n");
    out.into_bytes()
}

/// A fixed creation time keeps the seeds byte-identical between runs.
fn workbook() -> Result<Workbook, XlsxError> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2024, 1, 1)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    Ok(workbook)
}

fn xlsx_shared_strings() -> Result<Vec<u8>, Error> {
    let mut workbook = workbook()?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    workbook
        .add_worksheet()
        .set_name("instructions")?
        .write_string(0, 0, "Fill in the 'users' sheet, one person per row.")?;
    let sheet = workbook.add_worksheet().set_name("users")?;
    for (col, column) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, column.label("en"), &bold)?;
    }
    sheet.write_string(1, 0, ROWS[0][0])?;
    sheet.write_string(1, 1, ROWS[0][1])?;
    sheet.write_string(1, 2, ROWS[0][2])?;
    sheet.write_number(1, 3, 258_841_234_567.0)?;
    sheet.write_datetime_with_format(1, 4, ExcelDateTime::from_ymd(1990, 5, 1)?, &date)?;
    sheet.write_string(3, 1, ROWS[1][1])?;
    sheet.write_boolean(3, 2, true)?;
    sheet.write_number(3, 4, 45292.0)?;
    Ok(workbook.save_to_buffer()?)
}

fn xlsx_inline_strings() -> Result<Vec<u8>, Error> {
    let mut workbook = workbook()?;
    let sheet = workbook
        .add_worksheet_with_constant_memory()?
        .set_name("Folha1")?;
    for (col, column) in (0u16..).zip(COLUMNS) {
        sheet.write_string(0, col, column.label("pt"))?;
    }
    for (r, row) in (1u32..).zip(ROWS) {
        for (col, cell) in (0u16..).zip(row) {
            if !cell.is_empty() {
                sheet.write_string(r, col, cell)?;
            }
        }
    }
    sheet.write_formula(3, 1, Formula::new("=B2&\"x\""))?;
    Ok(workbook.save_to_buffer()?)
}

/// The users sheet alone, for the target that packs it into a workbook: shared strings
/// 0-4 are the headers it declares, 5-7 values; style 1 is a date. Row 3 is blank and
/// E1 an inline string, as spreadsheets write them.
const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:E4"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="inlineStr"><is><t>Funções</t></is></c></row><row r="2"><c r="A2" t="s"><v>5</v></c><c r="B2" t="s"><v>7</v></c><c r="C2"><v>258841234567</v></c><c r="D2" s="1"><v>32994</v></c><c r="E2" t="str"><v>SUPERVISOR;ENUMERATOR</v></c></row><row r="4"><c r="B4" t="b"><v>1</v></c><c r="C4" t="e"><v>#N/A</v></c><c r="D4"><v>45292.5</v></c></row><row r="5"><c r="C5" t="s"><v>6</v></c></row></sheetData></worksheet>"#;

/// A formula cell, refused before any row is read.
const SHEET_FORMULA: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="str"><f>A1&amp;"x"</f><v>usernamex</v></c></row></sheetData></worksheet>"#;

fn write(target: &str, name: &str, content: &[u8]) -> Result<(), Error> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    fs::create_dir_all(&dir)?;
    fs::write(dir.join(name), content)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let csv = [
        ("seed-template.csv", csv_template()),
        ("seed-semicolons.csv", csv_semicolons()),
    ];
    let xlsx = [
        ("seed-shared-strings.xlsx", xlsx_shared_strings()?),
        ("seed-inline-strings.xlsx", xlsx_inline_strings()?),
    ];
    for (name, content) in &csv {
        write("bulk_csv", name, content)?;
        write("bulk_file", name, content)?;
    }
    for (name, content) in &xlsx {
        write("bulk_xlsx", name, content)?;
        write("bulk_file", name, content)?;
    }
    write("bulk_xlsx_sheet", "seed-sheet.xml", SHEET.as_bytes())?;
    write(
        "bulk_xlsx_sheet",
        "seed-formula.xml",
        SHEET_FORMULA.as_bytes(),
    )?;
    Ok(())
}
