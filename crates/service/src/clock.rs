//! Time as the service sees it, injectable so that tests control "today".

use chrono::{DateTime, NaiveDate, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// "Today" is the UTC date: one calendar for every process of a deployment.
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl crate::Cadre {
    /// A date the client may leave out: absent or blank means today.
    pub(crate) fn date_or_today(
        &self,
        field: &str,
        value: Option<&str>,
    ) -> crate::Result<chrono::NaiveDate> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Ok(cadre_domain::dates::parse_date(field, v)?),
            None => Ok(self.clock.today()),
        }
    }
}
