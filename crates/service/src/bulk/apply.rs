//! One row of a bulk job, applied through the same checks and writes as the
//! single-user API (`prepare_user`/`insert_prepared`, `update_user_in`,
//! `deactivate_in`, `create_assignment_in`, `replace_in`), inside the batch's transaction.

use cadre_domain::bulk::{BulkRow, Column};
use std::collections::HashSet;

use cadre_domain::username::UsernameParts;
use cadre_domain::MobileNumber;
use cadre_store::bulk_jobs::{self as store, RowOutcome};
use cadre_store::users as user_store;
use cadre_store::users::UserRow;
use cadre_store::writer::{InsertQueue, Writer};
use cadre_store::Conn;

use super::slips::{seal, BatchPasswords, Slip};
use super::{failed_outcome, CredentialMode, JobRun, Operation, RowError};
use crate::assignments::AssignmentInput;
use crate::credentials::links::Holder;
use crate::reference::Reference;
use crate::replacement::{check_replaceable, in_place_of, Successor};
use crate::status::DeactivateRequest;
use crate::users::{Credential, NewUser, PreparedUser, Target, UserPatch};
use crate::{Cadre, RequestMeta, Result, ServiceError};

/// The column an API field name (`roles[1]`, `assignments[0].from_date`) came from.
fn column_of(field: &str) -> &str {
    let field = field.rsplit('.').next().unwrap_or(field);
    let field = field.split('[').next().unwrap_or(field);
    match field {
        "campaign" => "campaign",
        "boundaries" => "boundaries",
        "from_date" => "assigned_from",
        "till_date" => "assigned_till",
        "reason" => "deactivation_reason",
        "password" | "credential" | "channel" => "credential",
        other => other,
    }
}

/// The row errors a use case's refusal stands for.
pub(crate) fn errors_of(row: i64, error: &ServiceError) -> Vec<RowError> {
    let one = |column: &str, code: &str, message: String| {
        vec![RowError {
            row,
            column: column.to_owned(),
            code: code.to_owned(),
            message,
        }]
    };
    match error {
        ServiceError::Validation(errors) => errors
            .errors()
            .iter()
            .map(|e| RowError {
                row,
                column: column_of(&e.field).to_owned(),
                code: e.code.clone(),
                message: e.message.clone(),
            })
            .collect(),
        ServiceError::Forbidden { code, message } => one("", code, message.clone()),
        ServiceError::Conflict { code, message } => one("", code, message.clone()),
        ServiceError::NotFound => one(
            "username",
            "unknown_user",
            "no such user in your scope".into(),
        ),
        ServiceError::StaleVersion => one("", "stale_version", error.to_string()),
        other => one("", "internal_error", other.to_string()),
    }
}

/// A refusal that concerns the row only; anything else (the database) stops the batch.
fn is_row_refusal(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::Validation(_)
            | ServiceError::Forbidden { .. }
            | ServiceError::Conflict { .. }
            | ServiceError::NotFound
            | ServiceError::StaleVersion
    )
}

fn list(row: &BulkRow, column: Column) -> Option<Vec<String>> {
    let values = row.list(column);
    (!values.is_empty()).then_some(values)
}

fn assignment(row: &BulkRow) -> Option<AssignmentInput> {
    Some(AssignmentInput {
        campaign: row.owned(Column::Campaign)?,
        boundaries: row.list(Column::Boundaries),
        from_date: row.owned(Column::AssignedFrom),
        till_date: row.owned(Column::AssignedTill),
        roles: Vec::new(),
    })
}

fn new_user(row: &BulkRow) -> NewUser {
    NewUser {
        username: row.owned(Column::Username),
        credential: Some(Credential::None),
        first_name: row.owned(Column::FirstName),
        last_name: row.owned(Column::LastName),
        mobile_number: row.owned(Column::MobileNumber),
        father_or_husband_name: row.owned(Column::FatherOrHusbandName),
        gender: row.owned(Column::Gender),
        date_of_birth: row.owned(Column::DateOfBirth),
        email: row.owned(Column::Email),
        correspondence_address: row.owned(Column::CorrespondenceAddress),
        roles: list(row, Column::Roles),
        employment_type: row.owned(Column::EmploymentType),
        date_of_employment: row.owned(Column::DateOfEmployment),
        designation: row.owned(Column::Designation),
        department: row.owned(Column::Department),
        jurisdictions: list(row, Column::Jurisdictions),
        assignments: assignment(row).map(|a| vec![a]),
        ..NewUser::default()
    }
}

/// An edit that sets the row's non-empty cells and leaves the others alone: an upload
/// never clears a field it does not mention.
fn patch(row: &BulkRow) -> UserPatch {
    let set = |c: Column| row.owned(c).map(Some);
    UserPatch {
        first_name: set(Column::FirstName),
        last_name: set(Column::LastName),
        mobile_number: set(Column::MobileNumber),
        father_or_husband_name: set(Column::FatherOrHusbandName),
        gender: set(Column::Gender),
        date_of_birth: set(Column::DateOfBirth),
        email: set(Column::Email),
        correspondence_address: set(Column::CorrespondenceAddress),
        employment_type: set(Column::EmploymentType),
        date_of_employment: set(Column::DateOfEmployment),
        designation: set(Column::Designation),
        department: set(Column::Department),
        roles: list(row, Column::Roles),
        jurisdictions: list(row, Column::Jurisdictions),
        ..UserPatch::default()
    }
}

/// What the rows of one batch share: the passwords hashed before its transaction
/// opened, the reference data its rows have read, and the inserts of the users they
/// created, written together before the batch commits.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) passwords: BatchPasswords,
    pub(crate) reference: Reference,
    pub(crate) inserts: InsertQueue,
}

fn outcome(row: &BulkRow, status: &str, username: &str, user_id: &str) -> RowOutcome {
    RowOutcome {
        row_no: row.row_no,
        status: status.into(),
        username: Some(username.to_owned()),
        user_id: Some(user_id.to_owned()),
        credential: None,
        errors: "[]".into(),
    }
}

/// A dry run's outcome for a user that would be created: no id yet, and a username only
/// when the row gives one.
fn valid_new_user(row: &BulkRow, username: Option<String>) -> RowOutcome {
    RowOutcome {
        user_id: None,
        username,
        ..outcome(row, "valid", "", "")
    }
}

impl Cadre {
    /// The stems of the usernames the batch's rows without one would be given, from
    /// their cells as they stand. A row whose checked values give another stem only
    /// costs a lookup of its own.
    pub(crate) fn username_stems(&self, rows: &[BulkRow]) -> HashSet<String> {
        let format = &self.settings.username_format;
        let country = self.settings.default_country;
        rows.iter()
            .filter(|row| row.get(Column::Username).is_none())
            .filter_map(|row| {
                let mobile = row
                    .get(Column::MobileNumber)
                    .and_then(|m| MobileNumber::parse(m, country).ok());
                let boundary = row
                    .list(Column::Jurisdictions)
                    .into_iter()
                    .chain(row.list(Column::Boundaries))
                    .next();
                let parts = UsernameParts {
                    first_name: row.get(Column::FirstName).map(str::trim),
                    last_name: row.get(Column::LastName).map(str::trim),
                    mobile_national: mobile.as_ref().map(MobileNumber::national),
                    boundary: boundary.as_deref(),
                };
                format.stem(&parts).ok()
            })
            .collect()
    }

    /// Applies (or, in a dry run, only checks) one row on `tx`. Refusals become a
    /// failed outcome; database errors are returned, and roll the batch back.
    pub(crate) async fn apply_row(
        &self,
        tx: &mut Conn,
        run: &JobRun<'_>,
        row: &BulkRow,
        batch: &mut Batch,
    ) -> Result<RowOutcome> {
        if let Some(errors) = run.file_errors.get(&row.row_no) {
            return Ok(failed_outcome(row, errors.clone()));
        }
        let meta = RequestMeta {
            request_id: Some(format!("bulk:{}", run.job_id)),
            ..RequestMeta::default()
        };
        let applied = match run.operation {
            Operation::Create => self.create_row(tx, run, &meta, row, batch).await,
            Operation::Upsert => self.upsert_row(tx, run, &meta, row, batch).await,
            Operation::Deactivate => self.deactivate_row(tx, run, &meta, row).await,
            Operation::Assign => self.assign_row(tx, run, &meta, row, batch).await,
            Operation::Replace => self.replace_row(tx, run, &meta, row, batch).await,
        };
        match applied {
            Ok(outcome) => Ok(outcome),
            Err(e) if is_row_refusal(&e) => Ok(failed_outcome(row, errors_of(row.row_no, &e))),
            Err(e) => Err(e),
        }
    }

    async fn create_row(
        &self,
        tx: &mut Conn,
        run: &JobRun<'_>,
        meta: &RequestMeta,
        row: &BulkRow,
        batch: &mut Batch,
    ) -> Result<RowOutcome> {
        // Checked here rather than left to the unique index: on PostgreSQL a failed
        // statement would abort the whole batch's transaction.
        if let Some(username) = row.get(Column::Username) {
            if user_store::get_by_username(tx, username).await?.is_some() {
                return Err(ServiceError::invalid(
                    "username",
                    "username_taken",
                    format!("the username '{username}' is taken"),
                ));
            }
        }
        let mut prepared = self
            .prepare_user(tx, &batch.reference, run.actor, new_user(row))
            .await?;
        if run.dry_run {
            return Ok(valid_new_user(row, prepared.explicit_username.clone()));
        }
        let password = self
            .give_password(run, row, &mut prepared, &mut batch.passwords)
            .await?;
        // In-file duplicates are refused before any row runs, so no later row of the
        // batch needs to read what this one writes (usernames aside, which the writer
        // lends to the username check).
        let mut writer = Writer::Queued(tx, &mut batch.inserts);
        let view = self
            .insert_prepared(&mut writer, run.actor, meta, &mut prepared, 0)
            .await?;
        let mut o = outcome(row, "created", &view.username, &view.id);
        o.credential = Some(
            self.hand_off_credential(&mut writer, run, row, &prepared.row, password)
                .await?
                .into(),
        );
        Ok(o)
    }

    /// With `credential=generate`, gives the user about to be created the row's
    /// generated password (hashed; to be changed at first sign-in); returns it for the
    /// slip.
    async fn give_password(
        &self,
        run: &JobRun<'_>,
        row: &BulkRow,
        prepared: &mut PreparedUser,
        passwords: &mut BatchPasswords,
    ) -> Result<Option<String>> {
        if run.credential != CredentialMode::Generate || run.slip_key.is_none() {
            return Ok(None);
        }
        let generated = passwords.take(row.row_no).await?;
        prepared.row.password_hash = Some(generated.hash);
        prepared.row.must_change_password = true;
        prepared.row.password_changed_at = Some(cadre_store::timestamp(self.clock.now()));
        prepared.credential = Credential::Generate;
        Ok(Some(generated.password))
    }

    /// Issues the activation link of a created user, by SMS, in the batch's
    /// transaction: the link and its message commit with the user or not at all.
    async fn hand_off_activation_link(
        &self,
        writer: &mut Writer<'_>,
        user: &UserRow,
    ) -> Result<&'static str> {
        if user.mobile_number.is_none() {
            return Ok("none");
        }
        self.issue_link(writer, user, "sms", Holder::New).await?;
        Ok("link_queued")
    }

    async fn hand_off_credential(
        &self,
        writer: &mut Writer<'_>,
        run: &JobRun<'_>,
        row: &BulkRow,
        user: &UserRow,
        password: Option<String>,
    ) -> Result<&'static str> {
        match (run.credential, run.slip_key, password) {
            (CredentialMode::Link, _, _) => self.hand_off_activation_link(writer, user).await,
            (CredentialMode::Generate, Some(key), Some(password)) => {
                let (link, link_expires_at) = self
                    .issue_printed_link(writer, &user.id, Holder::New)
                    .await?;
                let name = [user.first_name.as_deref(), user.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let slip = Slip {
                    row: row.row_no,
                    name,
                    username: user.username.clone(),
                    password,
                    link,
                    link_expires_at,
                };
                cadre_store::bulk_slips::insert(
                    writer.conn(),
                    run.job_id,
                    row.row_no,
                    &seal(key, &slip)?,
                )
                .await?;
                Ok("slip")
            }
            _ => Ok("none"),
        }
    }

    /// The existing user a row means: by username, else by mobile number.
    async fn match_existing(&self, tx: &mut Conn, row: &BulkRow) -> Result<Option<String>> {
        if let Some(username) = row.get(Column::Username) {
            return Ok(user_store::get_by_username(tx, username)
                .await?
                .map(|u| u.id));
        }
        let Some(mobile) = row.get(Column::MobileNumber) else {
            return Ok(None);
        };
        let number = MobileNumber::parse(mobile, self.settings.default_country)?;
        let ids = store::users_with_mobile(tx, number.national(), number.e164()).await?;
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            _ => Err(ServiceError::invalid(
                "mobile_number",
                "ambiguous_mobile",
                format!(
                    "several users have the mobile number {}; give the username",
                    number.e164()
                ),
            )),
        }
    }

    async fn upsert_row(
        &self,
        tx: &mut Conn,
        run: &JobRun<'_>,
        meta: &RequestMeta,
        row: &BulkRow,
        batch: &mut Batch,
    ) -> Result<RowOutcome> {
        let Some(id) = self.match_existing(tx, row).await? else {
            return self.create_row(tx, run, meta, row, batch).await;
        };
        if run.dry_run {
            let target = self.load_target(tx, run.actor, &id, Target::Modify).await?;
            return Ok(outcome(row, "valid", &target.row.username, &target.row.id));
        }
        let (view, changed) = self
            .update_user_in(
                tx,
                &batch.reference,
                run.actor,
                meta,
                &id,
                None,
                patch(row),
                cadre_domain::ValidationErrors::new(),
            )
            .await?;
        let mut status = if changed { "updated" } else { "unchanged" };
        if let Some(input) = assignment(row) {
            let assigned = view
                .assignments
                .iter()
                .any(|a| a.campaign == input.campaign && a.status != "ended");
            if !assigned {
                self.create_assignment_in(tx, &batch.reference, run.actor, meta, &view.id, input)
                    .await?;
                status = "updated";
            }
        }
        Ok(outcome(row, status, &view.username, &view.id))
    }

    async fn deactivate_row(
        &self,
        tx: &mut Conn,
        run: &JobRun<'_>,
        meta: &RequestMeta,
        row: &BulkRow,
    ) -> Result<RowOutcome> {
        let username = row.get(Column::Username).ok_or_else(|| {
            ServiceError::invalid("username", "required", "give the username to deactivate")
        })?;
        let user = user_store::get_by_username(tx, username)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let target = self
            .load_target(tx, run.actor, &user.id, Target::Modify)
            .await?;
        if target.row.id == run.actor.user_id {
            return Err(ServiceError::forbidden(
                "cannot_deactivate_self",
                "you cannot deactivate your own account",
            ));
        }
        let d = self
            .check_deactivation(&DeactivateRequest {
                reason: row.owned(Column::DeactivationReason).unwrap_or_default(),
                effective_date: row.owned(Column::EffectiveDate),
                remarks: row.owned(Column::Remarks),
                ..DeactivateRequest::default()
            })
            .await?;
        if run.dry_run {
            if target.row.status != "active" {
                return Err(ServiceError::conflict(
                    "already_deactivated",
                    "this user is already deactivated",
                ));
            }
            return Ok(outcome(row, "valid", &target.row.username, &target.row.id));
        }
        self.deactivate_in(tx, run.actor, meta, &target.row, d)
            .await?;
        Ok(outcome(
            row,
            "deactivated",
            &target.row.username,
            &target.row.id,
        ))
    }

    async fn assign_row(
        &self,
        tx: &mut Conn,
        run: &JobRun<'_>,
        meta: &RequestMeta,
        row: &BulkRow,
        batch: &Batch,
    ) -> Result<RowOutcome> {
        let user = match row.get(Column::Username) {
            Some(username) => user_store::get_by_username(tx, username)
                .await?
                .ok_or(ServiceError::NotFound)?,
            None => {
                return Err(ServiceError::invalid(
                    "username",
                    "required",
                    "give the username to assign",
                ))
            }
        };
        let input = assignment(row).ok_or_else(|| {
            ServiceError::invalid("campaign", "required", "give the campaign to assign to")
        })?;
        if run.dry_run {
            let target = self
                .load_target(tx, run.actor, &user.id, Target::Modify)
                .await?;
            let mut errors = cadre_domain::ValidationErrors::new();
            self.check_assignment(
                tx,
                &batch.reference,
                run.actor,
                "",
                &input.campaign,
                &input.boundaries,
                input.from_date.as_deref(),
                input.till_date.as_deref(),
                &input.roles,
                &mut errors,
            )
            .await?;
            errors.into_result()?;
            return Ok(outcome(row, "valid", &target.row.username, &target.row.id));
        }
        self.create_assignment_in(tx, &batch.reference, run.actor, meta, &user.id, input)
            .await?;
        Ok(outcome(row, "assigned", &user.username, &user.id))
    }

    /// `replace`: the row names the worker leaving (`replaces`) and describes the one
    /// taking over, who inherits the old worker's roles and jurisdictions unless the row
    /// gives them, and every assignment open on `effective_date` (today when empty).
    async fn replace_row(
        &self,
        tx: &mut Conn,
        run: &JobRun<'_>,
        meta: &RequestMeta,
        row: &BulkRow,
        batch: &mut Batch,
    ) -> Result<RowOutcome> {
        let old_username = row.get(Column::Replaces).ok_or_else(|| {
            ServiceError::invalid(
                "replaces",
                "required",
                "give the username of the worker being replaced",
            )
        })?;
        let unknown = || {
            ServiceError::invalid(
                "replaces",
                "unknown_user",
                format!("no user '{old_username}' in your scope"),
            )
        };
        let old = user_store::get_by_username(tx, old_username)
            .await?
            .ok_or_else(unknown)?;
        let old = self
            .load_target(tx, run.actor, &old.id, Target::Modify)
            .await
            .map_err(|e| match e {
                ServiceError::NotFound => unknown(),
                other => other,
            })?;
        check_replaceable(&old.row)?;
        let effective = self.date_or_today("effective_date", row.get(Column::EffectiveDate))?;
        let deactivation = self
            .check_deactivation(&DeactivateRequest {
                reason: row
                    .owned(Column::DeactivationReason)
                    .unwrap_or_else(|| "REPLACED".into()),
                effective_date: Some(effective.to_string()),
                remarks: row.owned(Column::Remarks),
                ..DeactivateRequest::default()
            })
            .await?;
        let input = in_place_of(new_user(row), &old.roles, &old.jurisdictions);
        let mut prepared = self
            .prepare_user(tx, &batch.reference, run.actor, input)
            .await?;
        if run.dry_run {
            return Ok(valid_new_user(row, prepared.explicit_username.clone()));
        }
        let password = self
            .give_password(run, row, &mut prepared, &mut batch.passwords)
            .await?;
        let (_, new_row) = self
            .replace_in(
                tx,
                run.actor,
                meta,
                &old.row.id,
                Successor::New(&mut prepared),
                effective,
                deactivation,
            )
            .await?;
        let mut o = outcome(row, "replaced", &new_row.username, &new_row.id);
        o.credential = Some(
            self.hand_off_credential(&mut Writer::Now(tx), run, row, &new_row, password)
                .await?
                .into(),
        );
        Ok(o)
    }
}
