//! Any bytes uploaded as a bulk file, through the check the upload endpoint runs before
//! it queues a job (and the worker runs again on the stored file): format detection,
//! then the CSV or XLSX reader with the service's row limit.
#![no_main]

use cadre_service::bulk::{parse, FileFormat, MAX_ROWS};
use libfuzzer_sys::fuzz_target;

#[path = "common/bulk.rs"]
mod bulk;

fuzz_target!(|data: &[u8]| {
    let result = parse::read_rows(data, MAX_ROWS).map(|(format, rows)| {
        let zip = data.starts_with(b"PK\x03\x04");
        assert_eq!(
            format == FileFormat::Xlsx,
            zip,
            "format not taken from the content"
        );
        rows
    });
    bulk::check(result, MAX_ROWS);
});
