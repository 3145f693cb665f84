//! cadre's use cases. Every public operation takes the [`Actor`] who asks and decides,
//! here and only here, whether they may: the web pages, the JSON API, the command line
//! and bulk jobs all go through these functions, so a rule holds everywhere at once.

pub mod actor;
pub mod assignments;
pub mod audit;
pub mod auth;
pub mod boundaries;
pub mod bulk;
pub mod campaigns;
pub mod clock;
pub mod credentials;
pub mod documents;
pub mod error;
pub mod export;
pub mod master_data;
pub mod notify;
pub mod password;
pub mod preferences;
mod reference;
pub mod replacement;
pub mod roles;
pub mod settings;
pub mod staffing;
pub mod status;
pub mod users;

use std::sync::Arc;

use cadre_store::Db;

pub use actor::{Actor, RequestMeta};
pub use clock::{Clock, SystemClock};
pub use error::ServiceError;
pub use settings::Settings;

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Everything a use case needs, cheap to clone.
#[derive(Clone)]
pub struct Cadre {
    pub(crate) db: Db,
    pub(crate) settings: Arc<Settings>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hasher: password::Hasher,
    pub(crate) limiter: Arc<auth::ClientLimiter>,
    pub(crate) parsed_uploads: Arc<bulk::ParsedUploads>,
    pub(crate) uploads: Arc<bulk::UploadGate>,
    /// The lease of a job started by an upload, as long as the workers' own.
    pub(crate) bulk_lease: std::time::Duration,
}

impl Cadre {
    pub fn new(db: Db, settings: Settings, clock: Arc<dyn Clock>) -> Self {
        let limiter = Arc::new(auth::ClientLimiter::new(
            settings.login.per_client_per_minute,
        ));
        Self {
            db,
            hasher: password::Hasher::new(settings.password_hashing_threads),
            settings: Arc::new(settings),
            clock,
            limiter,
            parsed_uploads: Arc::default(),
            uploads: Arc::default(),
            bulk_lease: std::time::Duration::from_secs(30),
        }
    }

    /// Sets the lease of bulk jobs this process starts when a file is uploaded (the
    /// workers take theirs from the same setting).
    pub fn with_bulk_lease(mut self, lease: std::time::Duration) -> Self {
        self.bulk_lease = lease.max(std::time::Duration::from_secs(1));
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Creates the built-in roles that are missing and keeps SYSTEM_ADMIN's actions
    /// equal to the whole catalogue; run at every start.
    pub async fn bootstrap(&self) -> Result<()> {
        roles::ensure_builtin(self).await
    }
}
