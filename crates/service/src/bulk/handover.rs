//! The rows of an upload, parsed once in the process that took it. The upload check
//! parses the file to refuse a bad one before anything is stored; a worker of the same
//! process then takes those rows instead of parsing the stored copy again (reading an
//! XLSX of 100,000 rows takes over a second). A worker of another process, or one that
//! resumes after a restart, parses the stored copy: the file kept with the job stays
//! the one source of its rows, and both readings come from the same bytes and parser.

use std::collections::VecDeque;
use std::sync::Mutex;

use cadre_domain::bulk::BulkRow;

/// Parsed uploads kept for a worker. A job that another process runs never takes its
/// rows, so only the newest are kept, to bound the memory they hold.
const KEPT: usize = 2;

#[derive(Debug, Default)]
pub(crate) struct ParsedUploads {
    waiting: Mutex<VecDeque<(String, Vec<BulkRow>)>>,
}

impl ParsedUploads {
    fn waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, Vec<BulkRow>)>> {
        // A panic while holding the lock leaves a plain list behind; it is still valid.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the rows of the job just stored, dropping the oldest beyond [`KEPT`].
    pub(crate) fn keep(&self, job_id: &str, rows: Vec<BulkRow>) {
        let mut waiting = self.waiting();
        waiting.push_back((job_id.to_owned(), rows));
        while waiting.len() > KEPT {
            waiting.pop_front();
        }
    }

    /// The rows of `job_id` if this process parsed them; they are handed over once.
    pub(crate) fn take(&self, job_id: &str) -> Option<Vec<BulkRow>> {
        let mut waiting = self.waiting();
        let at = waiting.iter().position(|(id, _)| id == job_id)?;
        waiting.remove(at).map(|(_, rows)| rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: i64) -> Vec<BulkRow> {
        (0..n).map(BulkRow::new).collect()
    }

    #[test]
    fn rows_are_handed_over_once_and_only_the_newest_are_kept() {
        let parsed = ParsedUploads::default();
        parsed.keep("a", rows(1));
        parsed.keep("b", rows(2));
        parsed.keep("c", rows(3));
        assert!(parsed.take("a").is_none(), "the oldest was dropped");
        assert_eq!(parsed.take("c").map(|r| r.len()), Some(3));
        assert!(parsed.take("c").is_none(), "handed over once");
        assert_eq!(parsed.take("b").map(|r| r.len()), Some(2));
    }
}
