//! Extractors that turn request parts into use-case inputs, and every rejection into a
//! problem response that names the field at fault.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use serde::de::DeserializeOwned;

use cadre_service::{Actor, RequestMeta};

use crate::problem::ApiError;
use crate::AppState;

/// A JSON body, deserialised strictly: malformed JSON, unknown fields and wrong types
/// answer 400 with the path of the field (`roles[2]`, `credential.password`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let ct = ct.to_ascii_lowercase();
                ct.starts_with("application/json")
                    || (ct.starts_with("application/") && ct.contains("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(
                "body",
                "malformed_json",
                format!("the body is not valid JSON: {message}"),
            );
        }
        if let Some(unknown) = unknown_field(&message) {
            // A nested path already ends with the unknown field's name.
            let field = if path == "." || path.is_empty() {
                unknown
            } else {
                path
            };
            return ApiError::bad_request(
                &field,
                "unknown_field",
                format!("'{field}' is not a field of this request"),
            );
        }
        let field = if path == "." || path.is_empty() {
            missing_field(&message).unwrap_or_else(|| "body".into())
        } else {
            path
        };
        let code = if message.starts_with("missing field") {
            "missing_field"
        } else {
            "invalid_type"
        };
        ApiError::bad_request(&field, code, format!("{field}: {message}"))
    })?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request(
            "body",
            "malformed_json",
            format!("trailing characters after the JSON value: {e}"),
        )
    })?;
    Ok(value)
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let start = rest.find('`')? + 1;
    let end = rest[start..].find('`')? + start;
    Some(rest[start..end].to_owned())
}

fn unknown_field(message: &str) -> Option<String> {
    backticked(message, "unknown field ")
        .or_else(|| backticked(message, "unknown variant "))
        .filter(|_| message.starts_with("unknown field"))
}

fn missing_field(message: &str) -> Option<String> {
    backticked(message, "missing field ")
}

pub fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this server accepts",
        )
    } else {
        ApiError::bad_request("body", "unreadable_body", rejection.body_text())
    }
}

/// Query parameters, with type errors naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.into_inner().to_string();
                ApiError::bad_request(&field, "invalid_parameter", format!("{field}: {message}"))
            })
    }
}

/// The authenticated caller, from `Authorization: Bearer TOKEN` or, for the pages'
/// scripts, the session cookie; a cookie-authenticated write must also carry the
/// session's CSRF token in `X-CSRF-Token`, which another site cannot know.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            });
        let token = match bearer {
            Some(token) => token,
            None => {
                let token =
                    crate::ui::session::cookie(&parts.headers, crate::ui::session::SESSION_COOKIE)
                        .ok_or(cadre_service::ServiceError::Unauthenticated)?;
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                let sent = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !safe && !crate::ui::session::csrf_matches(&token, sent) {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "csrf_failed",
                        "send the page's CSRF token in X-CSRF-Token",
                    ));
                }
                token
            }
        };
        Ok(Auth(state.cadre.authenticate(&token).await?))
    }
}

/// Where the request came from, for the audit log.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let header_text = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(300).collect::<String>())
        };
        Ok(Meta(RequestMeta {
            client_addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
            request_id: header_text("x-request-id"),
            user_agent: header_text("user-agent"),
        }))
    }
}

/// The version in `If-Match` (`"7"`, `W/"7"` or `7`); absent or `*` means no check.
/// A well-formed entity-tag that is not one of our versions (`"stale-0"`) can match
/// nothing, so the precondition fails: 412, as RFC 9110 §13.1.1 says. Only text that is
/// not an entity-tag at all is a bad request.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let malformed = || {
            ApiError::bad_request(
                "If-Match",
                "invalid_header",
                "If-Match must carry the ETag of the resource, such as \"3\"",
            )
        };
        let text = value.to_str().map_err(|_| malformed())?.trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let mut versions = Vec::new();
        for tag in text.split(',').map(str::trim) {
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            let bare = match opaque.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(quoted) if !quoted.contains('"') => quoted,
                // An unquoted version number, as older clients send it.
                _ if !opaque.is_empty() && opaque.bytes().all(|b| b.is_ascii_digit()) => opaque,
                _ => return Err(malformed()),
            };
            if let Ok(version) = bare.parse::<i64>() {
                versions.push(version);
            }
        }
        match versions.as_slice() {
            [] => Err(ApiError::from(cadre_service::ServiceError::StaleVersion)),
            [version] => Ok(IfMatch(Some(*version))),
            _ => Err(ApiError::bad_request(
                "If-Match",
                "invalid_header",
                "If-Match must carry one version of the resource",
            )),
        }
    }
}
