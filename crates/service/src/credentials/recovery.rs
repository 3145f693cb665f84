//! Password recovery with a one-time code: six digits, short-lived, a few guesses,
//! stored as an Argon2id hash. The request always answers the same way and costs the
//! same work, whether the username exists or not, so it reveals nothing.

use rand::rngs::OsRng;
use rand::Rng;
use serde::Deserialize;
use utoipa::ToSchema;

use cadre_store::recovery_codes::{self, RecoveryCodeRow};
use cadre_store::users::{self as user_store, UserRow};

use crate::audit::Event;
use crate::notify::{self, Channel, Outbound, Template};
use crate::{Cadre, RequestMeta, Result, ServiceError};

/// Body of `POST /api/v1/auth/recovery`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    pub username: String,
}

/// Body of `POST /api/v1/auth/recovery/confirm`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfirm {
    pub username: String,
    pub otp: String,
    pub new_password: String,
}

/// A new code is not sent sooner than this after the previous one, so that the
/// endpoint cannot be used to flood someone's phone or mailbox.
const RESEND_AFTER_SECONDS: i64 = 60;

fn new_otp() -> String {
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

fn normalise(username: &str) -> String {
    username.trim().to_lowercase().chars().take(128).collect()
}

fn invalid_otp() -> ServiceError {
    ServiceError::invalid(
        "otp",
        "invalid_otp",
        "the code is wrong or has expired; ask for a new one",
    )
}

impl Cadre {
    fn rate_limit(&self, meta: &RequestMeta) -> Result<()> {
        let client = meta.client_addr.clone().unwrap_or_else(|| "unknown".into());
        self.limiter
            .hit(&client)
            .map_err(|wait| ServiceError::TooManyRequests {
                code: "rate_limited",
                message: "too many attempts from this address; wait and try again".into(),
                retry_after_secs: wait,
            })
    }

    /// Where a user's code goes: SMS when configured and they have a mobile number,
    /// else their own email, else the deployment's common recovery address.
    fn recovery_destination(&self, user: &UserRow) -> Option<(Channel, String)> {
        let config = &self.settings.credentials;
        if config.recovery_by_sms {
            if let Some(mobile) = &user.mobile_number {
                return Some((Channel::Sms, mobile.clone()));
            }
        }
        if let Some(email) = &user.email {
            return Some((Channel::Email, email.clone()));
        }
        config
            .recovery_email
            .clone()
            .map(|address| (Channel::Email, address))
    }

    /// Sends a recovery code if the user exists, is active and can be reached; the
    /// caller always hears the same (202).
    pub async fn request_recovery(
        &self,
        meta: &RequestMeta,
        request: RecoveryRequest,
    ) -> Result<()> {
        self.rate_limit(meta)?;
        let username = normalise(&request.username);
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);
        let otp = new_otp();
        // Hashed before knowing whether it is needed, so the answer takes as long for
        // an unknown username as for a known one.
        let code_hash = self.hasher.hash(&otp).await?;
        let mut tx = self.db.begin().await?;
        let user = user_store::get_by_username(&mut tx, &username)
            .await?
            .filter(|u| u.status == "active");
        let Some(user) = user else {
            self.record(
                &mut tx,
                None,
                meta,
                Event::new("auth.recovery")
                    .outcome("unknown_user")
                    .target("user", &username, &username),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        };
        let max_attempts = self.settings.credentials.recovery_attempts;
        if let Some(open) =
            recovery_codes::find_open(&mut tx, &user.id, &now_s, max_attempts).await?
        {
            let created = cadre_store::parse_timestamp(&open.created_at)?;
            if (now - created).num_seconds() < RESEND_AFTER_SECONDS {
                self.record(
                    &mut tx,
                    None,
                    meta,
                    Event::new("auth.recovery").outcome("too_soon").target(
                        "user",
                        &user.id,
                        &user.username,
                    ),
                )
                .await?;
                tx.commit().await?;
                return Ok(());
            }
        }
        let Some((channel, recipient)) = self.recovery_destination(&user) else {
            self.record(
                &mut tx,
                None,
                meta,
                Event::new("auth.recovery").outcome("no_channel").target(
                    "user",
                    &user.id,
                    &user.username,
                ),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        };
        recovery_codes::revoke_open_for_user(&mut tx, &user.id, &now_s).await?;
        let expires = now + chrono::Duration::minutes(self.settings.credentials.recovery_minutes);
        let code = RecoveryCodeRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.id.clone(),
            code_hash,
            channel: channel.as_str().into(),
            attempts: 0,
            created_at: now_s,
            expires_at: cadre_store::timestamp(expires),
            used_at: None,
            revoked_at: None,
        };
        recovery_codes::insert(&mut tx, &code).await?;
        let to_common_address = channel == Channel::Email && user.email.is_none();
        let language = self.message_language(&mut tx, &user.id).await?;
        notify::enqueue(
            &mut tx,
            now,
            &Outbound {
                user_id: Some(user.id.clone()),
                channel,
                recipient,
                template: Template::RecoveryOtp,
                language,
                params: serde_json::json!({
                    "otp": otp,
                    "expires_at": code.expires_at,
                    "username": user.username,
                }),
                idempotency_key: format!("recovery-code:{}", code.id),
            },
        )
        .await?;
        self.record(
            &mut tx,
            None,
            meta,
            Event::new("auth.recovery")
                .outcome("sent")
                .target("user", &user.id, &user.username)
                .after(serde_json::json!({
                    "channel": channel.as_str(),
                    "common_recovery_address": to_common_address,
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password with a recovery code; every session of the user ends and
    /// the sign-in slowdown is lifted.
    pub async fn confirm_recovery(
        &self,
        meta: &RequestMeta,
        request: RecoveryConfirm,
    ) -> Result<()> {
        self.rate_limit(meta)?;
        let username = normalise(&request.username);
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);
        let max_attempts = self.settings.credentials.recovery_attempts;
        let otp = request.otp.trim();
        let found = {
            let mut conn = self.db.reader().await?;
            match user_store::get_by_username(&mut conn, &username)
                .await?
                .filter(|u| u.status == "active")
            {
                Some(user) => recovery_codes::find_open(&mut conn, &user.id, &now_s, max_attempts)
                    .await?
                    .map(|code| (user, code)),
                None => None,
            }
        };
        let well_formed = otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit());
        let Some((user, code)) = found.filter(|_| well_formed) else {
            // The same work as checking a real code.
            let _ = self
                .hasher
                .verify(otp, &self.hasher.hash(otp).await?)
                .await?;
            return Err(invalid_otp());
        };
        // The guess is counted (and committed) before it is checked, so parallel
        // guesses cannot get around the limit.
        {
            let mut tx = self.db.begin().await?;
            let counted = recovery_codes::count_attempt(&mut tx, &code.id, max_attempts).await?;
            tx.commit().await?;
            if !counted {
                return Err(invalid_otp());
            }
        }
        if !self.hasher.verify(otp, &code.code_hash).await? {
            let mut tx = self.db.begin().await?;
            self.record(
                &mut tx,
                None,
                meta,
                Event::new("auth.recovery_confirm")
                    .outcome("invalid_otp")
                    .target("user", &user.id, &user.username),
            )
            .await?;
            tx.commit().await?;
            return Err(invalid_otp());
        }
        {
            let mut conn = self.db.reader().await?;
            let roles = user_store::roles_of(&mut conn, std::slice::from_ref(&user.id))
                .await?
                .remove(&user.id)
                .unwrap_or_default();
            self.password_policy_for(&mut conn, &roles).await?.check(
                "new_password",
                &request.new_password,
                Some(&user.username),
            )?;
        }
        let hash = self.hasher.hash(&request.new_password).await?;
        let mut tx = self.db.begin().await?;
        if !recovery_codes::consume(&mut tx, &code.id, &now_s).await? {
            return Err(invalid_otp());
        }
        user_store::set_password(&mut tx, &user.id, Some(&hash), false, &now_s).await?;
        cadre_store::throttle::clear(&mut tx, &user.username).await?;
        let ended = cadre_store::sessions::revoke_all_for_user(
            &mut tx,
            &user.id,
            None,
            "password_recovered",
            &now_s,
        )
        .await?;
        self.record(
            &mut tx,
            Some((&user.id, &user.username)),
            meta,
            Event::new("auth.recovery_confirm")
                .target("user", &user.id, &user.username)
                .after(serde_json::json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
