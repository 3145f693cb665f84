//! Any bytes through the XLSX reader of bulk uploads: the zip bomb check, the workbook
//! and sheet selection, the formula refusal and the cells into rows. Seeds in
//! `corpus/bulk_xlsx` are real workbooks so that mutations start past the zip layer.
#![no_main]

use cadre_service::bulk::{parse, MAX_ROWS};
use libfuzzer_sys::fuzz_target;

#[path = "common/bulk.rs"]
mod bulk;

fuzz_target!(|data: &[u8]| {
    bulk::check(parse::read_xlsx(data, MAX_ROWS), MAX_ROWS);
});
