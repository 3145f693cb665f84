//! Generated passwords from a bulk job, handed out only as a printable slip sheet.
//!
//! At upload the server makes a key pair, keeps the public half and gives the secret
//! half to the uploader once (`slip_key`). Each slip (name, username, password and a
//! sign-in link) is sealed to the public key in the transaction that creates its user,
//! so the database holds only ciphertext the server cannot open. The uploader presents
//! the key to take the sheet: that opens the slips, deletes them and marks the sheet
//! taken, all at once; unopened sheets are purged when they expire.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};

use cadre_domain::Action;
use cadre_store::bulk_jobs as job_store;
use cadre_store::bulk_slips::{self as store, SheetRow};
use cadre_store::Conn;

use crate::password::{generate_password, hash_with, HashMemory};
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// How long a sheet can be taken after its upload.
pub const SHEET_HOURS: i64 = 24;

/// What one slip tells its worker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Slip {
    /// The input row it was made for.
    pub row: i64,
    pub name: String,
    pub username: String,
    pub password: String,
    /// A sign-in link, drawn as a QR code.
    pub link: String,
    pub link_expires_at: String,
}

/// A password made for one row, with its Argon2id hash.
pub(crate) struct Generated {
    pub password: String,
    pub hash: String,
}

impl Generated {
    /// A new password and its hash, computed in `memory`.
    fn new(memory: &mut HashMemory) -> Result<Self> {
        let password = generate_password();
        let hash = hash_with(memory, &password)?;
        Ok(Self { password, hash })
    }
}

/// The passwords of one batch, by input row.
#[derive(Default)]
pub(crate) struct BatchPasswords(HashMap<i64, Generated>);

impl BatchPasswords {
    /// Makes and hashes a password for each row, on `threads` blocking threads at once:
    /// hashing is what a job that generates passwords spends its time on.
    pub(crate) async fn for_rows(rows: Vec<i64>, threads: usize) -> Result<Self> {
        let per_thread = rows.len().div_ceil(threads.max(1)).max(1);
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in rows.chunks(per_thread) {
            let chunk = chunk.to_vec();
            tasks.spawn_blocking(move || -> Result<Vec<(i64, Generated)>> {
                let mut memory = HashMemory::new();
                chunk
                    .into_iter()
                    .map(|row| Ok((row, Generated::new(&mut memory)?)))
                    .collect()
            });
        }
        let mut out = HashMap::with_capacity(rows.len());
        while let Some(done) = tasks.join_next().await {
            let done = done.map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))?;
            out.extend(done?);
        }
        Ok(Self(out))
    }

    /// The password for `row`: made earlier with the batch, or now (for a row that
    /// turned out to create a user, as an upsert can).
    pub(crate) async fn take(&mut self, row: i64) -> Result<Generated> {
        if let Some(generated) = self.0.remove(&row) {
            return Ok(generated);
        }
        tokio::task::spawn_blocking(|| Generated::new(&mut HashMemory::new()))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))?
    }
}

/// A fresh key pair: (secret for the uploader, public for the server), base64url.
pub(crate) fn new_key_pair() -> (String, String) {
    let secret = SecretKey::generate(&mut OsRng);
    let public = secret.public_key();
    (
        URL_SAFE_NO_PAD.encode(secret.to_bytes()),
        URL_SAFE_NO_PAD.encode(public.as_bytes()),
    )
}

fn public_key(encoded: &str) -> Result<PublicKey> {
    URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| PublicKey::from_slice(&bytes).ok())
        .ok_or_else(|| ServiceError::Internal("a slip sheet's public key is malformed".into()))
}

fn wrong_key() -> ServiceError {
    ServiceError::invalid(
        "key",
        "wrong_key",
        "this is not the key given when the job was uploaded",
    )
}

/// The uploader's secret key, if `key` is one and matches the sheet's public key.
fn secret_key(key: &str, sheet: &SheetRow) -> Result<SecretKey> {
    let secret = URL_SAFE_NO_PAD
        .decode(key.trim())
        .ok()
        .and_then(|bytes| SecretKey::from_slice(&bytes).ok())
        .ok_or_else(wrong_key)?;
    if secret.public_key() != public_key(&sheet.public_key)? {
        return Err(wrong_key());
    }
    Ok(secret)
}

/// Seals a slip to a sheet's public key; only the uploader's secret key opens it.
pub(crate) fn seal(public: &str, slip: &Slip) -> Result<String> {
    let plain = serde_json::to_vec(slip)
        .map_err(|e| ServiceError::Internal(format!("encoding a slip: {e}")))?;
    let sealed = public_key(public)?
        .seal(&mut OsRng, &plain)
        .map_err(|_| ServiceError::Internal("sealing a slip failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

fn open(secret: &SecretKey, sealed: &str) -> Result<Slip> {
    let damaged = || ServiceError::Internal("a sealed slip cannot be opened".into());
    let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| damaged())?;
    let plain = secret.unseal(&bytes).map_err(|_| damaged())?;
    serde_json::from_slice(&plain).map_err(|_| damaged())
}

/// The sheet's state as a job shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct SlipSheetView {
    /// When the sheet can no longer be taken.
    pub expires_at: String,
    /// `waiting` (being filled or ready), `taken` or `expired`.
    pub status: String,
}

pub(crate) fn sheet_view(sheet: &SheetRow, now: &str) -> SlipSheetView {
    let status = if sheet.taken_at.is_some() {
        "taken"
    } else if sheet.expires_at.as_str() <= now {
        "expired"
    } else {
        "waiting"
    };
    SlipSheetView {
        expires_at: sheet.expires_at.clone(),
        status: status.into(),
    }
}

impl Cadre {
    /// Opens the sheet of a job that generates passwords, in the job's transaction;
    /// returns the secret key to give the uploader once, and the sheet as it now is.
    pub(crate) async fn open_slip_sheet(
        &self,
        tx: &mut Conn,
        job_id: &str,
    ) -> Result<(String, SlipSheetView)> {
        let (secret, public) = new_key_pair();
        let now = self.clock.now();
        let sheet = SheetRow {
            job_id: job_id.to_owned(),
            public_key: public,
            expires_at: cadre_store::timestamp(now + chrono::Duration::hours(SHEET_HOURS)),
            taken_at: None,
        };
        store::open(tx, &sheet).await?;
        Ok((secret, sheet_view(&sheet, &cadre_store::timestamp(now))))
    }

    /// Takes a job's slip sheet: only its uploader, with the key given at upload, once
    /// the job has finished, once, within [`SHEET_HOURS`]. The slips are deleted as
    /// they are handed over.
    pub async fn take_bulk_slips(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        job_id: &str,
        key: &str,
    ) -> Result<Vec<Slip>> {
        actor.require(Action::BulkRun)?;
        let mut conn = self.db.reader().await?;
        let job = job_store::get(&mut conn, job_id)
            .await?
            .filter(|job| job.created_by == actor.user_id)
            .ok_or(ServiceError::NotFound)?;
        let sheet = store::sheet(&mut conn, job_id).await?.ok_or_else(|| {
            ServiceError::conflict(
                "no_slip_sheet",
                "this job does not generate passwords, so it has no slip sheet",
            )
        })?;
        let now = cadre_store::timestamp(self.clock.now());
        let taken = || {
            ServiceError::gone(
                "slips_taken",
                "the slip sheet was downloaded already and no longer exists",
            )
        };
        match sheet_view(&sheet, &now).status.as_str() {
            "taken" => return Err(taken()),
            "expired" => {
                return Err(ServiceError::gone(
                    "slips_expired",
                    format!("the slip sheet could be downloaded for {SHEET_HOURS} hours only"),
                ))
            }
            _ => {}
        }
        if job.status != job_store::COMPLETED && job.status != job_store::FAILED {
            return Err(ServiceError::conflict(
                "job_not_finished",
                "the job is still running; download the slips when it has finished",
            ));
        }
        let secret = secret_key(key, &sheet)?;
        let sealed = store::sealed(&mut conn, job_id).await?;
        drop(conn);
        // Opened before anything is deleted: a damaged slip fails the download rather
        // than losing the rest.
        let slips = tokio::task::spawn_blocking(move || {
            sealed
                .iter()
                .map(|(_, sealed)| open(&secret, sealed))
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("opening slips: {e}")))??;
        let mut tx = self.db.begin().await?;
        if !store::take(&mut tx, job_id, &now).await? {
            return Err(taken());
        }
        self.record_by(
            &mut tx,
            actor,
            meta,
            crate::audit::Event::new("bulk.slips_taken")
                .target("bulk_job", &job.id, &job.file_name)
                .after(serde_json::json!({ "slips": slips.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(slips)
    }

    /// Deletes the slips of sheets nobody took in time; returns how many went.
    pub async fn purge_expired_slips(&self) -> Result<u64> {
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        let purged = store::purge_expired(&mut tx, &now).await?;
        tx.commit().await?;
        if purged > 0 {
            tracing::info!(slips = purged, "expired slip sheets purged");
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip() -> Slip {
        Slip {
            row: 3,
            name: "Maria Lopes".into(),
            username: "maria.lopes".into(),
            password: "pavo-kemi-tura-47".into(),
            link: "https://cadre.example/login/link/abc".into(),
            link_expires_at: "2026-11-22T10:00:00Z".into(),
        }
    }

    fn sheet(public: String) -> SheetRow {
        SheetRow {
            job_id: "j".into(),
            public_key: public,
            expires_at: "2026-11-22T10:00:00Z".into(),
            taken_at: None,
        }
    }

    #[test]
    fn only_the_uploaders_key_opens_a_sealed_slip() {
        let (secret, public) = new_key_pair();
        let sealed = seal(&public, &slip()).unwrap();
        assert!(!sealed.contains("pavo"), "sealed text shows the password");
        let key = secret_key(&secret, &sheet(public.clone())).unwrap();
        assert_eq!(open(&key, &sealed).unwrap(), slip());

        let (other_secret, _) = new_key_pair();
        assert!(secret_key(&other_secret, &sheet(public.clone())).is_err());
        assert!(secret_key("not a key", &sheet(public)).is_err());
        let other = SecretKey::generate(&mut OsRng);
        assert!(open(&other, &sealed).is_err());
    }

    #[test]
    fn a_sheet_is_waiting_until_taken_or_expired() {
        let mut s = sheet(String::new());
        assert_eq!(sheet_view(&s, "2026-11-21T10:00:00Z").status, "waiting");
        assert_eq!(sheet_view(&s, "2026-11-22T10:00:00Z").status, "expired");
        s.taken_at = Some("2026-11-21T11:00:00Z".into());
        assert_eq!(sheet_view(&s, "2026-11-21T12:00:00Z").status, "taken");
    }

    #[tokio::test]
    async fn batch_passwords_are_distinct_and_verify_against_their_hashes() {
        let mut batch = BatchPasswords::for_rows(vec![1, 2, 3], 2).await.unwrap();
        let one = batch.take(1).await.unwrap();
        let two = batch.take(2).await.unwrap();
        let late = batch.take(9).await.unwrap();
        assert_ne!(one.password, two.password);
        for g in [&one, &two, &late] {
            assert!(crate::password::verify_now(&g.password, &g.hash));
            assert!(!g.hash.contains(&g.password));
        }
    }
}
