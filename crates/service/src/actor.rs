//! Who is asking, what they may do, and where; and where the request came from.

use std::collections::BTreeSet;

use cadre_domain::{action::SYSTEM_ADMIN, Action, BoundaryPath, Scope};

use crate::error::ServiceError;

/// An authenticated caller: resolved once per request from their session.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: String,
    pub username: String,
    pub session_id: String,
    pub roles: Vec<String>,
    pub actions: BTreeSet<Action>,
    pub scope: Scope,
    /// Jurisdiction codes with their paths, as stored.
    pub jurisdictions: Vec<(String, BoundaryPath)>,
    pub must_change_password: bool,
}

impl Actor {
    pub fn can(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// Fails with 403 unless the actor holds `action`.
    pub fn require(&self, action: Action) -> Result<(), ServiceError> {
        if self.can(action) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(
                "action_not_allowed",
                format!("this needs the '{}' action", action.code()),
            ))
        }
    }

    pub fn is_system_admin(&self) -> bool {
        self.roles.iter().any(|r| r == SYSTEM_ADMIN)
    }
}

/// Where a request came from, recorded with every audit event.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// The person at the server's console (the `cadre` command line). Whoever can run
    /// it can read the database file anyway, so it holds every action; its changes are
    /// audited under the name `cadre-cli`.
    pub fn local_operator() -> Self {
        Self {
            user_id: "cadre-cli".into(),
            username: "cadre-cli".into(),
            session_id: String::new(),
            roles: vec![SYSTEM_ADMIN.into()],
            actions: Action::ALL.iter().copied().collect(),
            scope: Scope::Global,
            jurisdictions: Vec::new(),
            must_change_password: false,
        }
    }
}
