//! Roles and the action catalogue.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::action::SYSTEM_ADMIN;
use cadre_domain::limits;
use cadre_domain::{Action, BuiltinRole, ValidationErrors};
use cadre_store::roles::{self as store, RoleRow};

use crate::audit::Event;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionView {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RoleView {
    pub code: String,
    pub name: String,
    pub description: String,
    /// Shipped with cadre (SYSTEM_ADMIN cannot be changed).
    pub builtin: bool,
    /// Field workers' roles get the simpler password policy.
    pub field_role: bool,
    pub actions: Vec<String>,
}

impl From<RoleRow> for RoleView {
    fn from(r: RoleRow) -> Self {
        Self {
            code: r.code,
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            field_role: r.field_role,
            actions: r.actions,
        }
    }
}

/// Body of `POST /api/v1/roles` and `PUT /api/v1/roles/{code}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// Upper case letters, digits and `_`; ignored on PUT (the path names the role).
    #[serde(default)]
    pub code: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub field_role: bool,
    pub actions: Vec<String>,
}

pub fn action_catalogue() -> Vec<ActionView> {
    Action::ALL
        .iter()
        .map(|a| ActionView {
            code: a.code().into(),
            description: a.description().into(),
        })
        .collect()
}

fn valid_role_code(code: &str) -> bool {
    (2..=64).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

pub(crate) async fn ensure_builtin(cadre: &Cadre) -> Result<()> {
    let now = cadre_store::timestamp(cadre.clock.now());
    let mut tx = cadre.db.begin().await?;
    // Processes started together each run this; one at a time, the later ones find
    // the roles the first created.
    cadre_store::locks::lock_name(&mut tx, "bootstrap", "built-in roles").await?;
    let existing = store::list(&mut tx).await?;
    for builtin in BuiltinRole::ALL {
        let actions: Vec<String> = builtin
            .actions()
            .iter()
            .map(|a| a.code().to_owned())
            .collect();
        match existing.iter().find(|r| r.code == builtin.code()) {
            None => {
                let row = RoleRow {
                    code: builtin.code().into(),
                    name: builtin.name().into(),
                    description: builtin.description().into(),
                    builtin: true,
                    field_role: builtin.is_field(),
                    actions,
                };
                store::insert(&mut tx, &row, &now).await?;
            }
            Some(role)
                if builtin == BuiltinRole::SystemAdmin && role.actions != sorted(&actions) =>
            {
                let row = RoleRow {
                    actions,
                    ..role.clone()
                };
                store::update(&mut tx, &row, &now).await?;
            }
            Some(_) => {}
        }
    }
    tx.commit().await?;
    Ok(())
}

fn sorted(actions: &[String]) -> Vec<String> {
    let mut out = actions.to_vec();
    out.sort();
    out
}

impl Cadre {
    pub async fn list_actions(&self, actor: &Actor) -> Result<Vec<ActionView>> {
        actor.require(Action::RoleRead)?;
        Ok(action_catalogue())
    }

    pub async fn list_roles(&self, actor: &Actor) -> Result<Vec<RoleView>> {
        actor.require(Action::RoleRead)?;
        let mut conn = self.db.reader().await?;
        Ok(store::list(&mut conn)
            .await?
            .into_iter()
            .map(RoleView::from)
            .collect())
    }

    pub async fn get_role(&self, actor: &Actor, code: &str) -> Result<RoleView> {
        actor.require(Action::RoleRead)?;
        let mut conn = self.db.reader().await?;
        store::get(&mut conn, code)
            .await?
            .map(RoleView::from)
            .ok_or(ServiceError::NotFound)
    }

    pub async fn create_role(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        input: RoleInput,
    ) -> Result<RoleView> {
        actor.require(Action::RoleManage)?;
        let code = input.code.clone().unwrap_or_default();
        let mut errors = ValidationErrors::new();
        if !valid_role_code(&code) {
            errors.add(
                "code",
                "invalid_code",
                "use 2 to 64 upper-case letters, digits and '_', starting with a letter",
            );
        }
        let row = self.validated_role(actor, code, &input, errors)?;
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        store::insert(&mut tx, &row, &now).await.map_err(|e| {
            if matches!(e, cadre_store::StoreError::Unique(_)) {
                ServiceError::conflict(
                    "duplicate_code",
                    format!("a role with code '{}' exists", row.code),
                )
            } else {
                e.into()
            }
        })?;
        let view = RoleView::from(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("role.create")
                .target("role", &view.code, &view.code)
                .after(&view),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn update_role(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        code: &str,
        input: RoleInput,
    ) -> Result<RoleView> {
        actor.require(Action::RoleManage)?;
        let mut tx = self.db.begin().await?;
        cadre_store::locks::lock(&mut tx, cadre_store::locks::Lockable::Role, code).await?;
        let before = store::get(&mut tx, code)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if before.code == SYSTEM_ADMIN {
            return Err(ServiceError::forbidden(
                "role_locked",
                "SYSTEM_ADMIN always has every action and cannot be changed",
            ));
        }
        // Editing a role that carries actions one lacks would let one strip or grant
        // powers over people one could not otherwise manage.
        self.ensure_no_escalation(actor, &before.actions)?;
        let mut row =
            self.validated_role(actor, before.code.clone(), &input, ValidationErrors::new())?;
        row.builtin = before.builtin;
        let now = cadre_store::timestamp(self.clock.now());
        store::update(&mut tx, &row, &now).await?;
        let before = RoleView::from(before);
        let after = RoleView::from(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("role.update")
                .target("role", &after.code, &after.code)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    fn validated_role(
        &self,
        actor: &Actor,
        code: String,
        input: &RoleInput,
        mut errors: ValidationErrors,
    ) -> Result<RoleRow> {
        if errors.too_many("actions", input.actions.len(), limits::ROLE_ACTIONS) {
            return Err(errors.into());
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.add(
                "name",
                "invalid_length",
                "a name of 1 to 100 characters is required",
            );
        }
        if input.description.chars().count() > 500 {
            errors.add("description", "invalid_length", "at most 500 characters");
        }
        let mut actions = BTreeSet::new();
        for (i, raw) in input.actions.iter().enumerate() {
            match raw.parse::<Action>() {
                Ok(action) => {
                    actions.insert(action);
                }
                Err(()) => errors.add(
                    format!("actions[{i}]"),
                    "unknown_action",
                    format!("'{raw}' is not an action"),
                ),
            }
        }
        errors.into_result()?;
        let codes: Vec<String> = actions.iter().map(|a| a.code().to_owned()).collect();
        self.ensure_no_escalation(actor, &codes)?;
        Ok(RoleRow {
            code,
            name: name.to_owned(),
            description: input.description.trim().to_owned(),
            builtin: false,
            field_role: input.field_role,
            actions: codes,
        })
    }

    /// Nobody hands out an administrative action they do not hold themselves.
    pub(crate) fn ensure_no_escalation(&self, actor: &Actor, actions: &[String]) -> Result<()> {
        let lacking: Vec<&str> = actions
            .iter()
            .filter(|code| {
                code.parse::<Action>()
                    .map_or(true, |a| a.is_administrative() && !actor.can(a))
            })
            .map(String::as_str)
            .collect();
        if lacking.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::forbidden(
                "privilege_escalation",
                format!(
                    "you cannot grant actions you do not hold: {}",
                    lacking.join(", ")
                ),
            ))
        }
    }
}
