//! Errors as `application/problem+json` (RFC 9457), with the API's stable codes.

use std::any::Any;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use cadre_domain::FieldError;
use cadre_service::ServiceError;

/// One failing field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    /// At most [`MAX_LISTED_ERRORS`] of the failing fields.
    pub errors: Vec<ProblemField>,
    /// How many failing fields were left out of `errors`, when any were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_omitted: Option<usize>,
}

/// A problem lists at most this many `errors`: a body with a hundred thousand bad
/// values must not be answered with a hundred thousand messages.
pub const MAX_LISTED_ERRORS: usize = 100;

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub errors: Vec<ProblemField>,
    pub retry_after: Option<u64>,
    pub www_authenticate: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            www_authenticate: false,
        }
    }

    /// 400 naming the offending field.
    pub fn bad_request(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = Self::new(StatusCode::BAD_REQUEST, code, message.clone());
        error.errors.push(ProblemField {
            field: field.to_owned(),
            code: code.to_owned(),
            message,
        });
        error
    }
}

fn fields(errors: &[FieldError]) -> Vec<ProblemField> {
    errors
        .iter()
        .map(|e| ProblemField {
            field: e.field.clone(),
            code: e.code.clone(),
            message: e.message.clone(),
        })
        .collect()
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Unauthenticated => {
                let mut e = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "sign in first: send Authorization: Bearer TOKEN",
                );
                e.www_authenticate = true;
                e
            }
            ServiceError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the username or password is incorrect",
            ),
            ServiceError::Forbidden { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            ServiceError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
            }
            ServiceError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::Gone { code, message } => ApiError::new(StatusCode::GONE, code, message),
            ServiceError::StaleVersion => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                "the resource changed since you read it; read it again and retry",
            ),
            ServiceError::Validation(errors) => {
                let list = fields(errors.errors());
                let detail = list
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut e = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    detail,
                );
                e.errors = list;
                e
            }
            ServiceError::TooManyRequests {
                code,
                message,
                retry_after_secs,
            } => {
                let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message);
                e.retry_after = Some(retry_after_secs);
                e
            }
            ServiceError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable");
                // The cause is named when it is one an operator must act on; the
                // driver's own words stay in the log.
                let detail = if reason.contains("the database is read-only") {
                    "the database is read-only: changes cannot be saved until an operator makes it writable"
                } else if reason.contains("the database disk is full") {
                    "the database disk is full: changes cannot be saved until space is freed"
                } else {
                    "the database is unavailable; try again shortly"
                };
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
                e.retry_after = Some(5);
                e
            }
            ServiceError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an internal error occurred; it has been logged",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let mut errors = self.errors;
        let omitted = errors.len().saturating_sub(MAX_LISTED_ERRORS);
        errors.truncate(MAX_LISTED_ERRORS);
        let body = Problem {
            type_: format!("urn:cadre:problem:{}", self.code),
            title,
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
            errors,
            errors_omitted: (omitted > 0).then_some(omitted),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                headers.insert(header::RETRY_AFTER, v);
            }
        }
        if self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}

/// A handler that panicked answers 500 like any internal error, and the process lives on.
pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "an internal error occurred; it has been logged",
    )
    .into_response()
}
