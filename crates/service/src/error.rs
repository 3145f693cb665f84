//! What a use case can answer besides success. Each variant maps to one HTTP status in
//! the web layer; `code` strings are part of the API contract.

use cadre_domain::{FieldError, ValidationErrors};
use cadre_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("authentication required")]
    Unauthenticated,
    /// One answer for an unknown user and a wrong password.
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Existed, and is gone for good (a one-time download taken or expired).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    #[error("the resource changed since it was read")]
    StaleVersion,
    #[error("validation failed")]
    Validation(ValidationErrors),
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Gone {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ServiceError::Validation(FieldError::new(field, code, message).into())
    }
}

impl From<ValidationErrors> for ServiceError {
    fn from(errors: ValidationErrors) -> Self {
        ServiceError::Validation(errors)
    }
}

impl From<FieldError> for ServiceError {
    fn from(error: FieldError) -> Self {
        ServiceError::Validation(error.into())
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(reason) => ServiceError::Unavailable(reason),
            StoreError::Unique(name) => {
                ServiceError::conflict("conflict", format!("already exists ({name})"))
            }
            StoreError::Contention(_) => ServiceError::conflict(
                "concurrent_change",
                "another change to the same records was made at the same moment; try again",
            ),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
