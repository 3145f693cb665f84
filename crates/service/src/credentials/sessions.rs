//! Session lifetimes per client kind, and one's own list of sessions.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use cadre_store::sessions::{self, SessionRow};
use cadre_store::Conn;

use cadre_domain::Action;

use crate::audit::Event;
use crate::password::{new_token, token_hash};
use crate::users::Target;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// Browsers hold the token in a cookie; API and mobile clients send it as a bearer
/// token. Each kind has its own idle and absolute lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Web,
    Api,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

/// One of the caller's sessions, as `GET /api/v1/me/sessions` lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    /// `web` (browser) or `api` (API or mobile client).
    pub kind: String,
    pub created_at: String,
    pub last_used_at: String,
    /// When the session ends at the latest, however active it is.
    pub expires_at: String,
    /// When it ends if no request comes before.
    pub idle_expires_at: String,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    /// The session this request is made with.
    pub current: bool,
}

impl Cadre {
    fn idle_limit(&self, kind: &str) -> Duration {
        let minutes = if kind == SessionKind::Web.as_str() {
            self.settings.sessions.web_idle_minutes
        } else {
            self.settings.sessions.api_idle_minutes
        };
        Duration::minutes(minutes)
    }

    fn absolute_limit(&self, kind: SessionKind) -> Duration {
        Duration::hours(match kind {
            SessionKind::Web => self.settings.sessions.web_absolute_hours,
            SessionKind::Api => self.settings.sessions.api_absolute_hours,
        })
    }

    /// Whether a live session has been unused for longer than its kind allows.
    pub(crate) fn is_idle(&self, session: &SessionRow, now: DateTime<Utc>) -> Result<bool> {
        let last = cadre_store::parse_timestamp(&session.last_used_at)?;
        Ok(now - last > self.idle_limit(&session.kind))
    }

    /// Opens a session for a user on `tx`; returns the token (shown once) and the row.
    pub(crate) async fn open_session(
        &self,
        tx: &mut Conn,
        user_id: &str,
        kind: SessionKind,
        meta: &RequestMeta,
    ) -> Result<(String, SessionRow)> {
        let now = self.clock.now();
        let now_s = cadre_store::timestamp(now);
        let token = new_token();
        let session = SessionRow {
            id: uuid::Uuid::now_v7().to_string(),
            token_hash: token_hash(&token),
            user_id: user_id.to_owned(),
            kind: kind.as_str().into(),
            created_at: now_s.clone(),
            last_used_at: now_s,
            expires_at: cadre_store::timestamp(now + self.absolute_limit(kind)),
            revoked_at: None,
            client_addr: meta.client_addr.clone(),
            user_agent: meta
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(300).collect()),
        };
        sessions::insert(tx, &session).await?;
        Ok((token, session))
    }

    /// The caller's live sessions, newest first.
    pub async fn my_sessions(&self, actor: &Actor) -> Result<Vec<SessionView>> {
        let mut conn = self.db.reader().await?;
        self.live_sessions(&mut conn, &actor.user_id, &actor.session_id)
            .await
    }

    /// Another user's live sessions, for the helpdesk or a supervisor deciding whether
    /// to end them: the same rules as seeing the user.
    pub async fn user_sessions(&self, actor: &Actor, user_id: &str) -> Result<Vec<SessionView>> {
        actor.require(Action::UserSessions)?;
        let mut conn = self.db.reader().await?;
        let target = self
            .load_target(&mut conn, actor, user_id, Target::View)
            .await?;
        self.live_sessions(&mut conn, &target.row.id, &actor.session_id)
            .await
    }

    /// A user's sessions that still work (neither revoked, expired nor idle too long).
    async fn live_sessions(
        &self,
        conn: &mut Conn,
        user_id: &str,
        current_session: &str,
    ) -> Result<Vec<SessionView>> {
        let now = self.clock.now();
        let rows =
            sessions::list_live_for_user(conn, user_id, &cadre_store::timestamp(now)).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            if self.is_idle(&row, now)? {
                continue;
            }
            let last = cadre_store::parse_timestamp(&row.last_used_at)?;
            let absolute = cadre_store::parse_timestamp(&row.expires_at)?;
            let idle_end = (last + self.idle_limit(&row.kind)).min(absolute);
            views.push(SessionView {
                current: row.id == current_session,
                id: row.id,
                kind: row.kind,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
                expires_at: row.expires_at,
                idle_expires_at: cadre_store::timestamp(idle_end),
                client_addr: row.client_addr,
                user_agent: row.user_agent,
            });
        }
        Ok(views)
    }

    /// Ends one of the caller's own sessions (a lost phone, a shared computer); 404 for
    /// a session that is not theirs.
    pub async fn revoke_my_session(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        session_id: &str,
    ) -> Result<()> {
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        let mine = sessions::list_live_for_user(&mut tx, &actor.user_id, &now)
            .await?
            .into_iter()
            .any(|s| s.id == session_id);
        if !mine {
            return Err(ServiceError::NotFound);
        }
        sessions::revoke(&mut tx, session_id, "revoked_by_user", &now).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("auth.session_revoke")
                .target("session", session_id, &actor.username)
                .after(serde_json::json!({ "current": session_id == actor.session_id })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
