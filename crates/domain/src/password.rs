//! The password policy a new password must meet.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// Length bounds and the checks every policy applies. Composition rules are deliberately
/// absent (NIST SP 800-63B): length and a deny-list protect better and burden less.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
        }
    }
}

/// A handful of the passwords attackers try first; a fuller estimator arrives with the
/// configurable per-role policy.
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
    "motdepasse",
    "changeme",
    "default1",
];

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
                format!("use at least {} characters", self.min_length),
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
        if username.is_some_and(|u| lower.contains(&u.to_lowercase())) {
            return Err(FieldError::new(
                field,
                "password_contains_username",
                "the password must not contain the username",
            ));
        }
        if COMMON.contains(&lower.as_str()) {
            return Err(FieldError::new(
                field,
                "password_too_common",
                "this password is among the most common ones; choose another",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_length_username_and_common_passwords() {
        let policy = PasswordPolicy::default();
        assert!(policy.check("password", "short", None).is_err());
        assert!(policy.check("password", "Password123", None).is_err());
        assert!(policy
            .check("password", "xmaria.lopesx", Some("maria.lopes"))
            .is_err());
        assert!(policy.check("password", &"a".repeat(129), None).is_err());
        assert!(policy
            .check("password", "mango tree river", Some("maria.lopes"))
            .is_ok());
    }
}
