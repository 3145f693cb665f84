//! Who may start another bulk job, and how many uploads are parsed at once.
//!
//! A job holds its file and, while it is checked, every parsed row: a dozen parallel
//! dry runs of 200,000 rows took the process to 2.2 GB. Each user may have a few jobs
//! queued or running (counting uploads still being checked), and the process parses at
//! most a couple of uploads at a time; the others wait their turn rather than all
//! holding their rows at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Actor, Cadre, Result, ServiceError};

/// Jobs one user may have queued or running, uploads being checked included.
pub const OPEN_JOBS_PER_USER: i64 = 3;
/// Uploads parsed at the same time in one process.
const PARSED_AT_ONCE: usize = 2;

#[derive(Debug)]
pub(crate) struct UploadGate {
    checking: Arc<Mutex<HashMap<String, i64>>>,
    parsing: Arc<Semaphore>,
}

impl Default for UploadGate {
    fn default() -> Self {
        Self {
            checking: Arc::default(),
            parsing: Arc::new(Semaphore::new(PARSED_AT_ONCE)),
        }
    }
}

/// An upload let in: it counts against its user until dropped, and holds one of the
/// parsing permits.
pub(crate) struct Admitted {
    _checking: Checking,
    _parsing: OwnedSemaphorePermit,
}

/// One upload of `user` being checked; counted from creation to drop, whatever the
/// outcome, so every early return releases it.
struct Checking {
    checking: Arc<Mutex<HashMap<String, i64>>>,
    user: String,
}

impl Checking {
    /// Counts one more upload of `user`; answers the guard and the count.
    fn start(checking: &Arc<Mutex<HashMap<String, i64>>>, user: &str) -> (Self, i64) {
        let mut map = checking.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(user.to_owned()).or_insert(0);
        *n += 1;
        let count = *n;
        drop(map);
        let guard = Self {
            checking: Arc::clone(checking),
            user: user.to_owned(),
        };
        (guard, count)
    }
}

impl Drop for Checking {
    fn drop(&mut self) {
        let mut checking = self.checking.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = checking.get_mut(&self.user) {
            *n -= 1;
            if *n <= 0 {
                checking.remove(&self.user);
            }
        }
    }
}

impl Cadre {
    /// Lets an upload of `actor`'s in, or answers 429 when they already have
    /// [`OPEN_JOBS_PER_USER`] jobs queued, running or being checked.
    pub(crate) async fn admit_upload(&self, actor: &Actor) -> Result<Admitted> {
        let gate = &self.uploads;
        let (checking, being_checked) = Checking::start(&gate.checking, &actor.user_id);
        let open = {
            let mut conn = self.db.reader().await?;
            cadre_store::bulk_jobs::open_jobs_of(&mut conn, &actor.user_id).await?
        };
        if open + being_checked > OPEN_JOBS_PER_USER {
            return Err(ServiceError::TooManyRequests {
                code: "too_many_jobs",
                message: format!(
                    "you have {OPEN_JOBS_PER_USER} bulk jobs queued or running; wait for one to finish"
                ),
                retry_after_secs: 30,
            });
        }
        let parsing = Arc::clone(&gate.parsing)
            .acquire_owned()
            .await
            .map_err(|_| ServiceError::Unavailable("the service is stopping".into()))?;
        Ok(Admitted {
            _checking: checking,
            _parsing: parsing,
        })
    }
}
