//! Any bytes through the CSV reader of bulk uploads (BOM, `,` or `;`, CRLF, quoting,
//! invalid UTF-8), even bytes format detection would have refused first.
#![no_main]

use cadre_service::bulk::{parse, MAX_ROWS};
use libfuzzer_sys::fuzz_target;

#[path = "common/bulk.rs"]
mod bulk;

fuzz_target!(|data: &[u8]| {
    bulk::check(parse::read_csv(data, MAX_ROWS), MAX_ROWS);
});
