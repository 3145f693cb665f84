//! The password policy a new password must meet, one per role class.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// Which policy applies: field workers need passwords they can type on a basic phone;
/// anyone holding an administrative role can do far more harm with a guessed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleClass {
    /// Only roles flagged `field_role` (or none at all).
    Field,
    /// At least one role that is not a field role.
    Administrative,
}

impl RoleClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleClass::Field => "field",
            RoleClass::Administrative => "admin",
        }
    }
}

/// The `[password.field]` and `[password.admin]` sections of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicies {
    pub field: PasswordPolicy,
    pub admin: PasswordPolicy,
}

impl Default for PasswordPolicies {
    fn default() -> Self {
        Self {
            field: PasswordPolicy::default(),
            admin: PasswordPolicy {
                min_length: 12,
                min_score: 3,
                ..PasswordPolicy::default()
            },
        }
    }
}

impl PasswordPolicies {
    pub fn for_class(&self, class: RoleClass) -> &PasswordPolicy {
        match class {
            RoleClass::Field => &self.field,
            RoleClass::Administrative => &self.admin,
        }
    }

    /// Why the configured policies cannot be used, if they cannot.
    pub fn problem(&self) -> Option<String> {
        for (name, p) in [("field", &self.field), ("admin", &self.admin)] {
            if p.min_length < 1 || p.max_length < 64 || p.min_length > p.max_length {
                return Some(format!(
                    "password.{name}: min_length must be at least 1, max_length at least 64 and not below min_length"
                ));
            }
            if p.min_score > 4 {
                return Some(format!("password.{name}: min_score is 0 to 4"));
            }
            if p.min_character_classes > 4 {
                return Some(format!("password.{name}: min_character_classes is 0 to 4"));
            }
        }
        None
    }
}

/// Length bounds, a strength estimate (zxcvbn) and a deny-list. Composition rules and
/// rotation are off unless configured (NIST SP 800-63B §3.1.1.2): length and a
/// deny-list protect better and burden less.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// The lowest zxcvbn score accepted, 0 (anything) to 4 (very strong).
    pub min_score: u8,
    /// Character classes (lower case, upper case, digits, others) a password must mix;
    /// 0 turns the rule off.
    pub min_character_classes: usize,
    /// Days after which a password must be changed at sign-in; 0 turns rotation off.
    pub max_age_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            min_score: 1,
            min_character_classes: 0,
            max_age_days: 0,
        }
    }
}

/// Passwords attackers try first, in the languages of cadre's deployments; zxcvbn's
/// own dictionaries catch the English ones and their variants.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "11111111",
    "00000000",
    "abc12345",
    "iloveyou",
    "admin123",
    "administrator",
    "welcome1",
    "letmein1",
    "passw0rd",
    "senha123",
    "senha1234",
    "motdepasse",
    "bonjour1",
    "soleil123",
    "changeme",
    "default1",
];

fn character_classes(password: &str) -> usize {
    let checks: [fn(char) -> bool; 4] = [
        |c| c.is_lowercase(),
        |c| c.is_uppercase(),
        |c| c.is_numeric(),
        |c| !c.is_alphanumeric(),
    ];
    checks
        .iter()
        .filter(|check| password.chars().any(check))
        .count()
}

impl PasswordPolicy {
    pub fn check(
        &self,
        field: &str,
        password: &str,
        username: Option<&str>,
    ) -> Result<(), FieldError> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(FieldError::new(
                field,
                "password_too_short",
                format!(
                    "use at least {} characters; a few unrelated words are easy to remember",
                    self.min_length
                ),
            ));
        }
        if length > self.max_length {
            return Err(FieldError::new(
                field,
                "password_too_long",
                format!("use at most {} characters", self.max_length),
            ));
        }
        let lower = password.to_lowercase();
        if let Some(username) = username.filter(|u| !u.is_empty()) {
            if lower.contains(&username.to_lowercase()) {
                return Err(FieldError::new(
                    field,
                    "password_contains_username",
                    "leave the username out of the password",
                ));
            }
        }
        if COMMON.contains(&lower.as_str()) {
            return Err(FieldError::new(
                field,
                "password_too_common",
                "this password is among the most common ones; choose another",
            ));
        }
        if self.min_character_classes > 0
            && character_classes(password) < self.min_character_classes
        {
            return Err(FieldError::new(
                field,
                "password_needs_variety",
                format!(
                    "mix at least {} of: lower case, upper case, digits, other characters",
                    self.min_character_classes
                ),
            ));
        }
        if self.min_score > 0 {
            let inputs: Vec<&str> = username.into_iter().collect();
            let score = u8::from(zxcvbn::zxcvbn(password, &inputs).score());
            if score < self.min_score {
                return Err(FieldError::new(
                    field,
                    "password_too_weak",
                    "this password is easy to guess; make it longer, for example with another uncommon word",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(policy: &PasswordPolicy, password: &str, username: Option<&str>) -> String {
        match policy.check("password", password, username) {
            Ok(()) => "ok".into(),
            Err(e) => e.code,
        }
    }

    #[test]
    fn field_policy_checks_length_username_and_common_passwords() {
        let policy = PasswordPolicy::default();
        assert_eq!(code(&policy, "short", None), "password_too_short");
        assert_eq!(code(&policy, "Password123", None), "password_too_common");
        assert_eq!(
            code(&policy, "xmaria.lopesx", Some("maria.lopes")),
            "password_contains_username"
        );
        assert_eq!(code(&policy, &"a".repeat(129), None), "password_too_long");
        assert_eq!(code(&policy, "aaaaaaaaaa", None), "password_too_weak");
        assert_eq!(code(&policy, "mango tree river", Some("maria.lopes")), "ok");
    }

    #[test]
    fn admin_policy_is_stricter_and_accepts_passphrases() {
        let policies = PasswordPolicies::default();
        let admin = policies.for_class(RoleClass::Administrative);
        assert_eq!(code(admin, "mango tree", None), "password_too_short");
        assert_eq!(code(admin, "Password12345678", None), "password_too_weak");
        assert_eq!(code(admin, "green mango 42", None), "ok");
        assert_eq!(code(admin, "correct horse battery staple", None), "ok");
        assert!(policies.problem().is_none());
    }

    #[test]
    fn composition_is_off_unless_configured() {
        let mut policy = PasswordPolicy::default();
        assert_eq!(code(&policy, "mango tree river", None), "ok");
        policy.min_character_classes = 3;
        assert_eq!(
            code(&policy, "mango tree river", None),
            "password_needs_variety"
        );
        assert_eq!(code(&policy, "Mango tree river 7", None), "ok");
    }

    #[test]
    fn bad_configurations_are_named() {
        let mut policies = PasswordPolicies::default();
        policies.admin.max_length = 32;
        assert!(policies.problem().unwrap().contains("password.admin"));
    }
}
