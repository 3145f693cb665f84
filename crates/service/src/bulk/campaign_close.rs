//! "Deactivate everyone of campaign X" at a campaign's close: the job's file is built
//! from the users whose open work is all in the campaign (or its sub-campaigns), within
//! the uploader's scope, and then runs like any uploaded deactivation list, so it has
//! the same progress, results and crash safety.

use chrono::Duration;

use cadre_domain::ValidationErrors;
use cadre_store::bulk_jobs as store;

use super::NewBulkJob;
use crate::status::DeactivateRequest;
use crate::{Actor, Cadre, Result, ServiceError};

/// The reason recorded when the upload names none.
const DEFAULT_REASON: &str = "END_OF_CAMPAIGN";

/// Names a deactivation error after the upload form's field.
fn as_form_field(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Validation(errors) => {
            let mut out = ValidationErrors::new();
            for mut e in errors.into_errors() {
                if e.field == "reason" {
                    e.field = "deactivation_reason".into();
                }
                out.push(e);
            }
            ServiceError::Validation(out)
        }
        other => other,
    }
}

impl Cadre {
    /// Fills `upload` with the deactivation list of a closing campaign: one row per
    /// user, effective the day after the campaign ends (or today, once it has ended).
    pub(super) async fn campaign_close_file(
        &self,
        actor: &Actor,
        campaign: &str,
        mut upload: NewBulkJob,
    ) -> Result<NewBulkJob> {
        if !upload.content.is_empty() {
            return Err(ServiceError::invalid(
                "campaign",
                "file_and_campaign",
                "give either a file or a campaign to close, not both",
            ));
        }
        let found = self
            .get_campaign(actor, campaign)
            .await
            .map_err(|e| match e {
                ServiceError::NotFound => ServiceError::invalid(
                    "campaign",
                    "unknown_campaign",
                    format!("there is no campaign '{campaign}'"),
                ),
                other => other,
            })?;
        let today = self.clock.today();
        let after_end = chrono::NaiveDate::parse_from_str(&found.end_date, "%Y-%m-%d")
            .map(|d| d + Duration::days(1))
            .unwrap_or(today);
        let effective = after_end.max(today).to_string();
        let reason = upload
            .reason
            .clone()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| DEFAULT_REASON.into());
        // The list names the reason as the master data spells it.
        let reason = self
            .check_deactivation(&DeactivateRequest {
                reason,
                effective_date: Some(effective.clone()),
                ..DeactivateRequest::default()
            })
            .await
            .map_err(as_form_field)?
            .reason;

        let mut conn = self.db.reader().await?;
        let candidates =
            store::users_only_in_campaign(&mut conn, &found.code, &today.to_string()).await?;
        let ids: Vec<String> = candidates.iter().map(|(id, _)| id.clone()).collect();
        let footprints =
            cadre_store::users::footprints_of(&mut conn, &ids, &today.to_string()).await?;
        drop(conn);
        let mut out = csv::Writer::from_writer(Vec::new());
        let remarks = format!("campaign {} closed", found.code);
        let write = |e: csv::Error| ServiceError::Internal(format!("writing the list: {e}"));
        out.write_record([
            "username",
            "deactivation_reason",
            "effective_date",
            "remarks",
        ])
        .map_err(write)?;
        let mut rows = 0;
        for (id, username) in &candidates {
            let footprint = footprints.get(id).map(Vec::as_slice).unwrap_or_default();
            if id == &actor.user_id || !actor.scope.governs(footprint) {
                continue;
            }
            out.write_record([username.as_str(), &reason, &effective, &remarks])
                .map_err(write)?;
            rows += 1;
        }
        if rows == 0 {
            return Err(ServiceError::invalid(
                "campaign",
                "nobody_to_deactivate",
                format!(
                    "no active user in your scope works only in campaign '{}'",
                    found.code
                ),
            ));
        }
        upload.content = out
            .into_inner()
            .map_err(|e| ServiceError::Internal(format!("writing the list: {e}")))?;
        upload.file_name = format!("{}-close.csv", found.code);
        Ok(upload)
    }
}
