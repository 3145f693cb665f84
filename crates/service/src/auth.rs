//! Signing in and out, sessions, and resolving a token to an [`Actor`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Duration as ChronoDuration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::action::SYSTEM_ADMIN;
use cadre_domain::{Action, Scope};
use cadre_store::sessions;
use cadre_store::throttle::{self, Throttle};
use cadre_store::user_links::{self, Grants};
use cadre_store::users::{self as user_store, UserRow};
use cadre_store::Conn;

use crate::audit::Event;
use crate::credentials::api_tokens::API_TOKEN_PREFIX;
use crate::credentials::sessions::SessionKind;
use crate::password::{new_token, token_hash};
use crate::users::{Target, UserView};
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// Sign-in attempts per client address in fixed one-minute windows, in memory: a
/// second line of defence beside the per-account slowdown, which is in the database.
pub struct ClientLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    /// Refusals per key (a client, an account) in the same one-minute windows, so that
    /// the audit log records a flood as a few rows, not one per request.
    refusals: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Counts one more `key` in its one-minute window; answers the count so far.
fn count_in_window(windows: &Mutex<HashMap<String, (Instant, u32)>>, key: &str) -> u32 {
    let now = Instant::now();
    let Ok(mut windows) = windows.lock() else {
        return 1;
    };
    if windows.len() > 100_000 {
        windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
    }
    let entry = windows.entry(key.to_owned()).or_insert((now, 0));
    if now.duration_since(entry.0) >= Duration::from_secs(60) {
        *entry = (now, 0);
    }
    entry.1 = entry.1.saturating_add(1);
    entry.1
}

/// Whether the `n`th refusal of a window is written to the audit log: the first, the
/// tenth, the hundredth… so that 8,000 refused requests leave four rows, each saying
/// how many there were so far.
fn worth_recording(n: u32) -> bool {
    let mut n = n;
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

impl ClientLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
            refusals: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a refusal of `key`; answers how many there have been in its window.
    pub fn refused(&self, key: &str) -> u32 {
        count_in_window(&self.refusals, key)
    }

    /// Counts one attempt; `Err(seconds)` when the client must wait.
    pub fn hit(&self, client: &str) -> Result<(), u64> {
        let attempts = count_in_window(&self.windows, client);
        if attempts > self.per_minute {
            let started = self
                .windows
                .lock()
                .ok()
                .and_then(|w| w.get(client).map(|(start, _)| *start))
                .unwrap_or_else(Instant::now);
            let wait = 60u64.saturating_sub(Instant::now().duration_since(started).as_secs());
            Err(wait.max(1))
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: String,
    pub user: UserView,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// The caller's scope as `GET /api/v1/me` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeView {
    /// True when the caller administers everything.
    pub global: bool,
    /// The boundaries whose subtrees make up the scope (empty when global).
    pub boundaries: Vec<String>,
}

/// What the caller may do within one campaign: their global actions plus those of the
/// roles their assignment carries there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignPermissions {
    pub campaign: String,
    pub assignment_id: String,
    pub boundaries: Vec<String>,
    pub roles: Vec<String>,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    /// Effective permissions from global roles.
    pub actions: Vec<String>,
    pub scope: ScopeView,
    /// Effective permissions in each campaign the caller is assigned to.
    pub campaigns: Vec<CampaignPermissions>,
}

impl Cadre {
    /// Signs in an API or mobile client (bearer token).
    pub async fn login(&self, meta: &RequestMeta, request: LoginRequest) -> Result<LoginResponse> {
        self.login_as(meta, request, SessionKind::Api).await
    }

    /// Signs in a browser (the token goes into the session cookie).
    pub async fn login_web(
        &self,
        meta: &RequestMeta,
        request: LoginRequest,
    ) -> Result<LoginResponse> {
        self.login_as(meta, request, SessionKind::Web).await
    }

    async fn login_as(
        &self,
        meta: &RequestMeta,
        request: LoginRequest,
        kind: SessionKind,
    ) -> Result<LoginResponse> {
        let client = meta.client_addr.clone().unwrap_or_else(|| "unknown".into());
        let username = request.username.trim().to_lowercase();
        // Bounded so that a megabyte-long "username" cannot fill the throttle table.
        let username: String = username.chars().take(128).collect();
        if let Err(wait) = self.limiter.hit(&client) {
            let refusals = self.limiter.refused(&format!("client {client}"));
            self.record_refused_login(meta, &username, "rate_limited", refusals)
                .await?;
            return Err(ServiceError::TooManyRequests {
                code: "rate_limited",
                message: "too many sign-in attempts from this address; wait and try again".into(),
                retry_after_secs: wait,
            });
        }
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);

        let (user, throttle_state) = {
            let mut conn = self.db.reader().await?;
            let user = user_store::get_by_username(&mut conn, &username).await?;
            let state = throttle::get(&mut conn, &username).await?;
            (user, state)
        };
        if let Some(until) = throttle_state.locked_until.as_deref() {
            let until = cadre_store::parse_timestamp(until)?;
            if until > now {
                let wait = (until - now).num_seconds().max(1) as u64;
                let refusals = self.limiter.refused(&format!("account {username}"));
                self.record_refused_login(meta, &username, "locked", refusals)
                    .await?;
                return Err(ServiceError::TooManyRequests {
                    code: "account_locked",
                    message: "too many failed sign-ins for this account; wait and try again".into(),
                    retry_after_secs: wait,
                });
            }
        }

        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let verified = match &hash {
            Some(hash) => self.hasher.verify(&request.password, hash).await?,
            None => {
                // Spend the same time for unknown users so timing reveals nothing.
                let _ = self
                    .hasher
                    .verify(&request.password, &self.dummy_hash().await?)
                    .await?;
                false
            }
        };

        let mut tx = self.db.begin().await?;
        let Some(user) = user.filter(|_| verified) else {
            let failures = throttle_state.failures + 1;
            let locked_until = self
                .lock_after(failures)
                .map(|d| cadre_store::timestamp(now + d));
            throttle::set(
                &mut tx,
                &username,
                &Throttle {
                    failures,
                    locked_until,
                },
                &now_s,
            )
            .await?;
            self.record(
                &mut tx,
                None,
                meta,
                Event::new("auth.login")
                    .outcome("failure")
                    .target("user", &username, &username),
            )
            .await?;
            tx.commit().await?;
            return Err(ServiceError::InvalidCredentials);
        };
        if user.status != "active" {
            self.record(
                &mut tx,
                Some((&user.id, &user.username)),
                meta,
                Event::new("auth.login")
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
        if throttle_state != Throttle::default() {
            throttle::clear(&mut tx, &username).await?;
        }
        let mut user = user;
        if !user.must_change_password && self.password_expired(&mut tx, &user, now).await? {
            // Rotation is off by default; when configured, an old password still signs
            // in, but only to choose a new one.
            user_store::set_password(
                &mut tx,
                &user.id,
                user.password_hash.as_deref(),
                true,
                &now_s,
            )
            .await?;
            user.must_change_password = true;
        }
        let (token, session) = self.open_session(&mut tx, &user.id, kind, meta).await?;
        self.record(
            &mut tx,
            Some((&user.id, &user.username)),
            meta,
            Event::new("auth.login")
                .target("user", &user.id, &user.username)
                .after(serde_json::json!({ "session_kind": kind.as_str() })),
        )
        .await?;
        let view = self.user_view(&mut tx, user).await?;
        tx.commit().await?;
        Ok(LoginResponse {
            token,
            expires_at: session.expires_at,
            user: view,
        })
    }

    /// Every sign-in attempt is audited, including those refused before the password
    /// is looked at.
    async fn record_refused_login(
        &self,
        meta: &RequestMeta,
        username: &str,
        outcome: &str,
        refusals_in_window: u32,
    ) -> Result<()> {
        if !worth_recording(refusals_in_window) {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        self.record(
            &mut tx,
            None,
            meta,
            Event::new("auth.login")
                .outcome(outcome)
                .target("user", username, username)
                .after(serde_json::json!({ "refusals_this_minute": refusals_in_window })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Exponential hold-back after the free failures: 1 s, 2 s, 4 s… up to the
    /// configured maximum. Short enough that an attacker cannot keep a worker out for
    /// long, long enough that guessing is hopeless.
    fn lock_after(&self, failures: i64) -> Option<ChronoDuration> {
        let over = failures - self.settings.login.free_failures;
        if over < 0 {
            return None;
        }
        let secs = 1i64.checked_shl(over.min(30) as u32).unwrap_or(i64::MAX);
        Some(ChronoDuration::seconds(
            secs.min(self.settings.login.max_lock_seconds),
        ))
    }

    async fn dummy_hash(&self) -> Result<String> {
        static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
        let hasher = self.hasher.clone();
        DUMMY
            .get_or_try_init(|| async move { hasher.hash(&new_token()).await })
            .await
            .cloned()
    }

    /// Resolves a bearer token or session cookie value to the actor it belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<Actor> {
        if token.is_empty() || token.len() > 200 {
            return Err(ServiceError::Unauthenticated);
        }
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);
        if token.starts_with(API_TOKEN_PREFIX) {
            return self.authenticate_api_token(token, now).await;
        }
        let mut conn = self.db.reader().await?;
        let found = sessions::find_live_with_user(&mut conn, &token_hash(token), &now_s).await?;
        drop(conn);
        let (session, user, grants) = found.ok_or(ServiceError::Unauthenticated)?;
        if self.is_idle(&session, now)? {
            let mut tx = self.db.begin().await?;
            sessions::revoke(&mut tx, &session.id, "idle", &now_s).await?;
            tx.commit().await?;
            return Err(ServiceError::Unauthenticated);
        }
        if user.status != "active" {
            return Err(ServiceError::Unauthenticated);
        }
        let actor = self.actor_from(user, grants, session.id.clone());
        // Record use at most once a minute, to keep reads free of writes.
        let last = cadre_store::parse_timestamp(&session.last_used_at)?;
        if now - last > ChronoDuration::seconds(60) {
            let mut tx = self.db.begin().await?;
            sessions::touch(&mut tx, &session.id, &now_s).await?;
            tx.commit().await?;
        }
        Ok(actor)
    }

    pub(crate) async fn actor_for(
        &self,
        conn: &mut Conn,
        user: UserRow,
        session_id: String,
    ) -> Result<Actor> {
        let grants = user_links::grants_of(conn, &user.id).await?;
        Ok(self.actor_from(user, grants, session_id))
    }

    pub(crate) fn actor_from(&self, user: UserRow, grants: Grants, session_id: String) -> Actor {
        let Grants {
            roles,
            actions,
            jurisdictions,
        } = grants;
        let actions: BTreeSet<Action> = actions
            .iter()
            .filter_map(|code| code.parse().ok())
            .collect();
        let global = roles.iter().any(|r| r == SYSTEM_ADMIN)
            || jurisdictions.iter().any(|(_, p)| p.depth() == 1);
        let scope = if global {
            Scope::Global
        } else {
            Scope::Within(jurisdictions.iter().map(|(_, p)| p.clone()).collect())
        };
        Actor {
            user_id: user.id,
            username: user.username,
            session_id,
            roles,
            actions,
            scope,
            jurisdictions,
            must_change_password: user.must_change_password,
        }
    }

    pub async fn logout(&self, actor: &Actor, meta: &RequestMeta) -> Result<()> {
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        sessions::revoke(&mut tx, &actor.session_id, "logout", &now).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("auth.logout").target("user", &actor.user_id, &actor.username),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn me(&self, actor: &Actor) -> Result<MeView> {
        let mut conn = self.db.reader().await?;
        let user = user_store::get_by_id(&mut conn, &actor.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let user = self.user_view(&mut conn, user).await?;
        let mut campaigns = Vec::new();
        for a in user.assignments.iter().filter(|a| a.status != "ended") {
            let mut actions: BTreeSet<String> =
                actor.actions.iter().map(|a| a.code().to_owned()).collect();
            for list in cadre_store::roles::actions_of(&mut conn, &a.roles)
                .await?
                .into_values()
            {
                actions.extend(list);
            }
            campaigns.push(CampaignPermissions {
                campaign: a.campaign.clone(),
                assignment_id: a.id.clone(),
                boundaries: a.boundaries.clone(),
                roles: a.roles.clone(),
                actions: actions.into_iter().collect(),
            });
        }
        Ok(MeView {
            user,
            campaigns,
            actions: actor.actions.iter().map(|a| a.code().to_owned()).collect(),
            scope: ScopeView {
                global: actor.scope.is_global(),
                boundaries: if actor.scope.is_global() {
                    Vec::new()
                } else {
                    actor
                        .jurisdictions
                        .iter()
                        .map(|(code, _)| code.clone())
                        .collect()
                },
            },
        })
    }

    /// Changes one's own password; every other session of the user ends.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        change: PasswordChange,
    ) -> Result<()> {
        let mut conn = self.db.reader().await?;
        let user = user_store::get_by_id(&mut conn, &actor.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        drop(conn);
        // A user who signed in through an activation link has no password yet: the
        // link proved who they are, so there is no current password to give.
        let ok = match &user.password_hash {
            Some(hash) => self.hasher.verify(&change.current_password, hash).await?,
            None => true,
        };
        if !ok {
            return Err(ServiceError::invalid(
                "current_password",
                "incorrect_password",
                "the current password is not correct",
            ));
        }
        {
            let mut conn = self.db.reader().await?;
            self.password_policy_for(&mut conn, &actor.roles)
                .await?
                .check("new_password", &change.new_password, Some(&user.username))?;
        }
        if change.new_password == change.current_password {
            return Err(ServiceError::invalid(
                "new_password",
                "password_unchanged",
                "choose a password different from the current one",
            ));
        }
        let hash = self.hasher.hash(&change.new_password).await?;
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        user_store::set_password(&mut tx, &user.id, Some(&hash), false, &now).await?;
        let ended = sessions::revoke_all_for_user(
            &mut tx,
            &user.id,
            Some(&actor.session_id),
            "password_changed",
            &now,
        )
        .await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.password_change")
                .target("user", &user.id, &user.username)
                .after(serde_json::json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of a user (helpdesk, supervisor).
    pub async fn revoke_sessions(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        user_id: &str,
    ) -> Result<()> {
        actor.require(Action::UserSessions)?;
        let mut tx = self.db.begin().await?;
        let target = self
            .load_target(&mut tx, actor, user_id, Target::Modify)
            .await?;
        let now = cadre_store::timestamp(self.clock.now());
        let ended = sessions::revoke_all_for_user(
            &mut tx,
            &target.row.id,
            None,
            "revoked_by_administrator",
            &now,
        )
        .await?;
        // An administrator ending a compromised account's access ends its tokens too.
        let tokens_ended =
            cadre_store::api_tokens::revoke_all_for_user(&mut tx, &target.row.id, &now).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.sessions_revoke")
                .target("user", &target.row.id, &target.row.username)
                .after(serde_json::json!({ "sessions_ended": ended, "api_tokens_ended": tokens_ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts the sign-in slowdown of a user.
    pub async fn unlock(&self, actor: &Actor, meta: &RequestMeta, user_id: &str) -> Result<()> {
        actor.require(Action::UserSessions)?;
        let mut tx = self.db.begin().await?;
        let target = self
            .load_target(&mut tx, actor, user_id, Target::Modify)
            .await?;
        throttle::clear(&mut tx, &target.row.username).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.unlock").target("user", &target.row.id, &target.row.username),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_recorded_at_one_ten_a_hundred_and_so_on() {
        let recorded: Vec<u32> = (1..=12_000).filter(|n| worth_recording(*n)).collect();
        assert_eq!(recorded, [1, 10, 100, 1_000, 10_000]);
        let limiter = ClientLimiter::new(1);
        assert_eq!(limiter.refused("client a"), 1);
        assert_eq!(limiter.refused("client a"), 2);
        assert_eq!(limiter.refused("client b"), 1);
    }

    #[test]
    fn limiter_allows_the_budget_then_refuses() {
        let limiter = ClientLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.hit("1.2.3.4").is_ok());
        }
        assert!(limiter.hit("1.2.3.4").is_err());
        assert!(limiter.hit("5.6.7.8").is_ok());
    }
}
