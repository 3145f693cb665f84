//! Which password policy applies to whom.

use cadre_domain::password::{PasswordPolicy, RoleClass};
use cadre_store::Conn;

use crate::{Cadre, Result};

impl Cadre {
    /// Administrative when any of the roles is not a field role; a user without roles
    /// can do nothing, so the field policy is enough for them.
    pub(crate) async fn role_class(&self, conn: &mut Conn, roles: &[String]) -> Result<RoleClass> {
        if roles.is_empty() {
            return Ok(RoleClass::Field);
        }
        let known = cadre_store::roles::list(conn).await?;
        let administrative = roles.iter().any(|code| {
            known
                .iter()
                .find(|r| &r.code == code)
                .is_none_or(|r| !r.field_role)
        });
        Ok(if administrative {
            RoleClass::Administrative
        } else {
            RoleClass::Field
        })
    }

    /// The policy for a user holding `roles`.
    pub(crate) async fn password_policy_for(
        &self,
        conn: &mut Conn,
        roles: &[String],
    ) -> Result<&PasswordPolicy> {
        let class = self.role_class(conn, roles).await?;
        Ok(self.settings.passwords.for_class(class))
    }
}

impl Cadre {
    /// Whether the user's password is older than their policy's `max_age_days` (never,
    /// unless rotation is configured).
    pub(crate) async fn password_expired(
        &self,
        conn: &mut Conn,
        user: &cadre_store::users::UserRow,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let passwords = &self.settings.passwords;
        if passwords.field.max_age_days == 0 && passwords.admin.max_age_days == 0 {
            return Ok(false);
        }
        let Some(changed) = user.password_changed_at.as_deref() else {
            return Ok(false);
        };
        let roles = cadre_store::users::roles_of(conn, std::slice::from_ref(&user.id))
            .await?
            .remove(&user.id)
            .unwrap_or_default();
        let max_age = self.password_policy_for(conn, &roles).await?.max_age_days;
        if max_age == 0 {
            return Ok(false);
        }
        let changed = cadre_store::parse_timestamp(changed)?;
        Ok(now - changed > chrono::Duration::days(i64::from(max_age)))
    }
}
