//! What every bulk parser must answer for any input: rows the job can work through, or
//! one error on the `file` field that says what is wrong. Anything else (a panic, an
//! internal error, a row past the limit) is a finding.

use cadre_domain::bulk::BulkRow;
use cadre_service::ServiceError;

pub fn check(result: Result<Vec<BulkRow>, ServiceError>, max_rows: usize) {
    match result {
        Ok(rows) => {
            assert!(rows.len() <= max_rows, "more rows than the limit");
            let mut last = 1;
            for row in &rows {
                assert!(!row.is_empty(), "an empty row was kept");
                assert!(
                    row.row_no > last,
                    "row numbers not increasing after the header"
                );
                last = row.row_no;
            }
        }
        Err(ServiceError::Validation(errors)) => {
            let [error] = errors.errors() else {
                panic!("expected one file error, got {errors:?}");
            };
            assert_eq!(error.field, "file");
            assert!(!error.code.is_empty() && !error.message.is_empty());
        }
        Err(other) => panic!("not a file error: {other:?}"),
    }
}
