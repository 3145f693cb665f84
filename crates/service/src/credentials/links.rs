//! Activation and sign-in links: a 256-bit token sent by SMS or email, stored only as
//! its hash, used once, expiring after `credentials.link_hours`. Opening the link only
//! shows a page; the page's form (a POST) consumes it, so a messaging app that fetches
//! links to draw a preview cannot use it up.

use serde::Deserialize;
use utoipa::ToSchema;

use cadre_domain::FieldError;
use cadre_store::credential_links::{self, LinkRow};
use cadre_store::users::{self as user_store, UserRow};
use cadre_store::writer::Writer;

use crate::audit::Event;
use crate::auth::LoginResponse;
use crate::credentials::sessions::SessionKind;
use crate::notify::{self, Channel, Outbound, Template};
use crate::password::{new_token, token_hash};
use crate::{Cadre, RequestMeta, Result, ServiceError};

/// Body of `POST /api/v1/auth/link`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSignIn {
    pub token: String,
}

/// Why a link cannot be sent to this user by this channel, if it cannot.
pub fn channel_problem(user: &UserRow, channel: &str) -> Option<FieldError> {
    match channel {
        "sms" if user.mobile_number.is_none() => Some(FieldError::new(
            "credential.channel",
            "no_mobile_number",
            "the user has no mobile number; add one or send the link by email",
        )),
        "email" if user.email.is_none() => Some(FieldError::new(
            "credential.channel",
            "no_email",
            "the user has no email address; add one or send the link by SMS",
        )),
        "sms" | "email" => None,
        _ => Some(FieldError::new(
            "credential.channel",
            "invalid_channel",
            "choose sms or email",
        )),
    }
}

/// Whom a link is issued to. A user created in the same transaction has no earlier
/// links to revoke and no chosen language to look up: two statements saved per user in
/// a bulk job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    New,
    Existing,
}

fn channel_of(name: &str) -> Result<Channel> {
    match name {
        "sms" => Ok(Channel::Sms),
        "email" => Ok(Channel::Email),
        _ => Err(ServiceError::invalid(
            "credential.channel",
            "invalid_channel",
            "choose sms or email",
        )),
    }
}

impl Cadre {
    /// Issues a new link for `user` (revoking any earlier unused one) and queues the
    /// message, both in the caller's transaction.
    pub(crate) async fn issue_link(
        &self,
        writer: &mut Writer<'_>,
        user: &UserRow,
        channel: &str,
        holder: Holder,
    ) -> Result<()> {
        if let Some(problem) = channel_problem(user, channel) {
            return Err(problem.into());
        }
        let channel_kind = channel_of(channel)?;
        let recipient = match channel_kind {
            Channel::Sms => user.mobile_number.clone(),
            Channel::Email => user.email.clone(),
        }
        .unwrap_or_default();
        let (link, url) = self
            .store_new_link(writer, &user.id, channel, holder)
            .await?;
        let language = match holder {
            // Nobody has chosen a language for a user who did not exist a moment ago.
            Holder::New => self.settings.notifications.default_language.clone(),
            Holder::Existing => self.message_language(writer.conn(), &user.id).await?,
        };
        notify::enqueue_into(
            writer,
            self.clock.now(),
            &Outbound {
                user_id: Some(user.id.clone()),
                channel: channel_kind,
                recipient,
                template: Template::ActivationLink,
                language,
                params: serde_json::json!({
                    "link": url,
                    "expires_at": link.expires_at,
                    "username": user.username,
                }),
                idempotency_key: format!("credential-link:{}", link.id),
            },
        )
        .await
    }

    /// A link to be printed on a slip sheet rather than sent: its address and expiry.
    pub(crate) async fn issue_printed_link(
        &self,
        writer: &mut Writer<'_>,
        user_id: &str,
        holder: Holder,
    ) -> Result<(String, String)> {
        let (link, url) = self
            .store_new_link(writer, user_id, "print", holder)
            .await?;
        Ok((url, link.expires_at))
    }

    /// Stores a new link for `user_id` (revoking any earlier unused one); returns it
    /// with the address that carries its token, which exists nowhere else.
    async fn store_new_link(
        &self,
        writer: &mut Writer<'_>,
        user_id: &str,
        channel: &str,
        holder: Holder,
    ) -> Result<(LinkRow, String)> {
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);
        if holder == Holder::Existing {
            credential_links::revoke_open_for_user(writer.conn(), user_id, &now_s).await?;
        }
        let token = new_token();
        let expires = now + chrono::Duration::hours(self.settings.credentials.link_hours);
        let link = LinkRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            token_hash: token_hash(&token),
            channel: channel.to_owned(),
            created_at: now_s,
            expires_at: cadre_store::timestamp(expires),
            used_at: None,
            revoked_at: None,
        };
        writer.insert(credential_links::insertion(&link)).await?;
        let url = format!(
            "{}/login/link/{token}",
            self.settings.credentials.public_url.trim_end_matches('/')
        );
        Ok((link, url))
    }

    /// Whether a link can still be used, without using it (for the page it opens).
    pub async fn link_is_live(&self, token: &str) -> Result<bool> {
        if token.is_empty() || token.len() > 200 {
            return Ok(false);
        }
        let now = cadre_store::timestamp(self.clock.now());
        let mut conn = self.db.reader().await?;
        Ok(
            credential_links::find_live(&mut conn, &token_hash(token), &now)
                .await?
                .is_some(),
        )
    }

    /// Signs in with a link (API or mobile client).
    pub async fn sign_in_with_link(
        &self,
        meta: &RequestMeta,
        request: LinkSignIn,
    ) -> Result<LoginResponse> {
        self.use_link(meta, &request.token, SessionKind::Api).await
    }

    /// Signs in a browser with a link.
    pub async fn sign_in_with_link_web(
        &self,
        meta: &RequestMeta,
        token: &str,
    ) -> Result<LoginResponse> {
        self.use_link(meta, token, SessionKind::Web).await
    }

    /// Consumes a link and opens a session; the user must then choose a password. An
    /// unknown, used, revoked or expired link is one answer: 422 `invalid_link`.
    async fn use_link(
        &self,
        meta: &RequestMeta,
        token: &str,
        kind: SessionKind,
    ) -> Result<LoginResponse> {
        let client = meta.client_addr.clone().unwrap_or_else(|| "unknown".into());
        if let Err(wait) = self.limiter.hit(&client) {
            return Err(ServiceError::TooManyRequests {
                code: "rate_limited",
                message: "too many attempts from this address; wait and try again".into(),
                retry_after_secs: wait,
            });
        }
        let invalid = || {
            ServiceError::invalid(
                "token",
                "invalid_link",
                "this link is not valid any more; ask for a new one",
            )
        };
        if token.is_empty() || token.len() > 200 {
            return Err(invalid());
        }
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);
        let mut tx = self.db.begin().await?;
        let Some(link) = credential_links::find_live(&mut tx, &token_hash(token), &now_s).await?
        else {
            self.record(
                &mut tx,
                None,
                meta,
                Event::new("auth.link").outcome("invalid_link"),
            )
            .await?;
            tx.commit().await?;
            return Err(invalid());
        };
        if !credential_links::consume(&mut tx, &link.id, &now_s).await? {
            return Err(invalid());
        }
        let user = user_store::get_by_id(&mut tx, &link.user_id)
            .await?
            .ok_or_else(invalid)?;
        if user.status != "active" {
            self.record(
                &mut tx,
                Some((&user.id, &user.username)),
                meta,
                Event::new("auth.link")
                    .outcome("denied_deactivated")
                    .target("user", &user.id, &user.username),
            )
            .await?;
            tx.commit().await?;
            return Err(ServiceError::forbidden(
                "account_deactivated",
                "this account is deactivated",
            ));
        }
        // The link proved the person; they choose their own password next.
        user_store::set_password(&mut tx, &user.id, None, true, &now_s).await?;
        cadre_store::throttle::clear(&mut tx, &user.username).await?;
        let (token, session) = self.open_session(&mut tx, &user.id, kind, meta).await?;
        self.record(
            &mut tx,
            Some((&user.id, &user.username)),
            meta,
            Event::new("auth.link")
                .target("user", &user.id, &user.username)
                .after(
                    serde_json::json!({ "channel": link.channel, "session_kind": kind.as_str() }),
                ),
        )
        .await?;
        let user = user_store::get_by_id(&mut tx, &user.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let view = self.user_view(&mut tx, user).await?;
        tx.commit().await?;
        Ok(LoginResponse {
            token,
            expires_at: session.expires_at,
            user: view,
        })
    }
}
