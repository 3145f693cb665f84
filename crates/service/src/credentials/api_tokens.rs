//! API tokens for integrations (service accounts): long-lived bearer tokens limited to
//! a subset of their owner's actions, shown once and stored as a SHA-256 hash. A token
//! never holds more than its owner holds at the time of use, so taking a role away
//! from the owner takes it from their tokens too.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::{Action, ValidationErrors};
use cadre_store::api_tokens::{self, ApiTokenRow};

use crate::audit::Event;
use crate::password::{new_token, token_hash};
use crate::users::Target;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// API tokens start with this, so they are told apart from session tokens (and are
/// easy to find by secret scanners).
pub const API_TOKEN_PREFIX: &str = "cadre_";

/// Actors authenticated by an API token carry this before the token's id in
/// `session_id`.
const TOKEN_SESSION_MARK: &str = "api-token:";

/// Whether the caller came in with an API token rather than a sign-in session.
pub fn is_api_token(actor: &Actor) -> bool {
    actor.session_id.starts_with(TOKEN_SESSION_MARK)
}

/// Body of `POST /api/v1/api-tokens`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    /// What the token is for, such as "DHIS2 sync".
    pub name: String,
    /// Action codes the token may use; each must be held by the owner.
    pub actions: Vec<String>,
    /// Days until the token stops working (default and maximum:
    /// `credentials.api_token_max_days`).
    pub expires_in_days: Option<i64>,
    /// The service account that owns the token; the caller by default. Giving another
    /// user needs `user.credentials` over them.
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: String,
    pub name: String,
    pub user_id: String,
    pub actions: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// The answer to creating a token: the only time the token itself is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub api_token: ApiTokenView,
    pub token: String,
}

fn view(row: ApiTokenRow) -> ApiTokenView {
    ApiTokenView {
        actions: row.actions.split_whitespace().map(str::to_owned).collect(),
        id: row.id,
        name: row.name,
        user_id: row.user_id,
        created_by: row.created_by,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

impl Cadre {
    fn refuse_token_management_by_token(actor: &Actor) -> Result<()> {
        if is_api_token(actor) {
            return Err(ServiceError::forbidden(
                "session_required",
                "API tokens are managed from a signed-in session, not with another token",
            ));
        }
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        request: NewApiToken,
    ) -> Result<CreatedApiToken> {
        Self::refuse_token_management_by_token(actor)?;
        let mut errors = ValidationErrors::new();
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.add("name", "invalid_name", "give a name of 1 to 100 characters");
        }
        let max_days = self.settings.credentials.api_token_max_days;
        let days = request.expires_in_days.unwrap_or(max_days);
        if !(1..=max_days).contains(&days) {
            errors.add(
                "expires_in_days",
                "out_of_range",
                format!("give 1 to {max_days} days"),
            );
        }
        let mut conn = self.db.reader().await?;
        let owner = match request.user_id.as_deref().filter(|id| *id != actor.user_id) {
            None => actor.clone(),
            Some(id) => {
                actor.require(Action::UserCredentials)?;
                let target = self
                    .load_target(&mut conn, actor, id, Target::Modify)
                    .await?;
                self.actor_for(&mut conn, target.row, String::new()).await?
            }
        };
        drop(conn);
        if request.actions.is_empty() {
            errors.add("actions", "required", "give at least one action");
        }
        let mut actions = BTreeSet::new();
        for (i, code) in request.actions.iter().enumerate() {
            let field = format!("actions[{i}]");
            match code.parse::<Action>() {
                Err(_) => errors.add(field, "unknown_action", format!("'{code}' is not an action")),
                Ok(a) if !actor.can(a) || !owner.can(a) => errors.add(
                    field,
                    "action_not_held",
                    format!("a token can only carry actions its owner and its creator hold; '{code}' is not one"),
                ),
                Ok(a) => {
                    actions.insert(a.code());
                }
            }
        }
        errors.into_result()?;
        let now = self.clock.now();
        let token = format!("{API_TOKEN_PREFIX}{}", new_token());
        let row = ApiTokenRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: owner.user_id.clone(),
            name,
            token_hash: token_hash(&token),
            actions: actions.into_iter().collect::<Vec<_>>().join(" "),
            created_by: actor.user_id.clone(),
            created_at: cadre_store::timestamp(now),
            expires_at: Some(cadre_store::timestamp(now + chrono::Duration::days(days))),
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db.begin().await?;
        api_tokens::insert(&mut tx, &row).await?;
        let shown = view(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("api_token.create")
                .target("api_token", &shown.id, &shown.name)
                .after(&shown),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiToken {
            api_token: shown,
            token,
        })
    }

    /// Tokens the caller owns or created.
    pub async fn list_api_tokens(&self, actor: &Actor) -> Result<Vec<ApiTokenView>> {
        let mut conn = self.db.reader().await?;
        Ok(api_tokens::list_for_user(&mut conn, &actor.user_id)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Revokes a token the caller owns or created; 404 for any other.
    pub async fn revoke_api_token(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        id: &str,
    ) -> Result<()> {
        Self::refuse_token_management_by_token(actor)?;
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        let row = api_tokens::get(&mut tx, id)
            .await?
            .filter(|t| t.user_id == actor.user_id || t.created_by == actor.user_id)
            .ok_or(ServiceError::NotFound)?;
        api_tokens::revoke(&mut tx, &row.id, &now).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("api_token.revoke").target("api_token", &row.id, &row.name),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor behind an API token: its owner, holding only the token's actions that
    /// the owner still holds.
    pub(crate) async fn authenticate_api_token(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Actor> {
        let now_s = cadre_store::timestamp(now);
        let mut conn = self.db.reader().await?;
        let found = api_tokens::find_live_with_user(&mut conn, &token_hash(token), &now_s).await?;
        drop(conn);
        let (row, user, grants) = found.ok_or(ServiceError::Unauthenticated)?;
        if user.status != "active" {
            return Err(ServiceError::Unauthenticated);
        }
        let mut actor = self.actor_from(user, grants, format!("{TOKEN_SESSION_MARK}{}", row.id));
        let allowed: BTreeSet<&str> = row.actions.split_whitespace().collect();
        actor.actions.retain(|a| allowed.contains(a.code()));
        // A token cannot be used to change a password, so the flag would only block it.
        actor.must_change_password = false;
        let stale = match row.last_used_at.as_deref() {
            None => true,
            Some(last) => now - cadre_store::parse_timestamp(last)? > chrono::Duration::seconds(60),
        };
        if stale {
            let mut tx = self.db.begin().await?;
            api_tokens::touch(&mut tx, &row.id, &now_s).await?;
            tx.commit().await?;
        }
        Ok(actor)
    }
}
