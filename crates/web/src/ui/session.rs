//! The browser session: a cookie holding the session token, a CSRF token derived from
//! it, the language, and what the signed-in person may open.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use cadre_domain::Action;
use cadre_service::Actor;

use super::i18n::Lang;
use super::pages::error_page;
use crate::AppState;

pub const SESSION_COOKIE: &str = "cadre_session";
pub const LANG_COOKIE: &str = "cadre_lang";
/// Double-submit token for forms shown before sign-in (the sign-in form itself).
pub const PRE_SESSION_CSRF_COOKIE: &str = "cadre_csrf";

/// Reads one cookie from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Whether the browser reached us over TLS (directly or through a proxy), so cookies
/// can be marked Secure.
pub fn is_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure over TLS.
pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<i64>, tls: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if tls {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The CSRF token of a session: derived from the session token, which only the
/// browser holding the cookie knows, so nothing extra is stored.
pub fn csrf_for(session_token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("cadre-csrf:{session_token}").as_bytes(),
    ))[..32]
        .to_owned()
}

/// The session's CSRF token as one page carries it: a fresh random pad followed by the
/// token XOR the pad, both in hex. Every response then differs, so a compressed page
/// that also reflects what a visitor typed cannot leak the token byte by byte (BREACH).
pub fn mask_csrf(csrf: &str) -> String {
    let Ok(raw) = hex::decode(csrf) else {
        return csrf.to_owned();
    };
    let pad = Sha256::digest(cadre_service::password::new_token().as_bytes());
    let pad: Vec<u8> = pad.iter().copied().take(raw.len()).collect();
    if pad.len() != raw.len() {
        return csrf.to_owned();
    }
    let masked: Vec<u8> = raw.iter().zip(&pad).map(|(t, p)| t ^ p).collect();
    format!("{}{}", hex::encode(&pad), hex::encode(masked))
}

/// Whether `sent` (masked as [`mask_csrf`] does, or plain) is the CSRF token of the
/// session `session_token`.
pub fn csrf_matches(session_token: &str, sent: &str) -> bool {
    same_token(&csrf_for(session_token), &unmask_csrf(sent))
}

/// The plain token inside a masked one; anything else is returned as it came.
fn unmask_csrf(sent: &str) -> String {
    if sent.len() != 64 {
        return sent.to_owned();
    }
    match hex::decode(sent) {
        Ok(bytes) => {
            let (pad, masked) = bytes.split_at(bytes.len() / 2);
            hex::encode(
                pad.iter()
                    .zip(masked)
                    .map(|(p, m)| p ^ m)
                    .collect::<Vec<u8>>(),
            )
        }
        Err(_) => sent.to_owned(),
    }
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The language: the cookie set by the switcher, else the browser's preference.
pub fn language(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::from_code(&c))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En)
}

/// The interface modules, each shown only to those holding its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Dashboard,
    Users,
    Campaigns,
    Boundaries,
    Roles,
    MasterData,
    Audit,
    Bulk,
}

impl Module {
    pub const ALL: [Module; 8] = [
        Module::Dashboard,
        Module::Users,
        Module::Bulk,
        Module::Campaigns,
        Module::Boundaries,
        Module::Roles,
        Module::MasterData,
        Module::Audit,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Module::Dashboard => "dashboard",
            Module::Users => "users",
            Module::Campaigns => "campaigns",
            Module::Boundaries => "boundaries",
            Module::Roles => "roles",
            Module::MasterData => "master-data",
            Module::Audit => "audit",
            Module::Bulk => "bulk",
        }
    }

    pub fn action(self) -> Action {
        match self {
            Module::Dashboard | Module::Users => Action::UserRead,
            Module::Campaigns => Action::CampaignRead,
            Module::Boundaries => Action::BoundaryRead,
            Module::Roles => Action::RoleRead,
            Module::MasterData => Action::MasterDataManage,
            Module::Audit => Action::AuditRead,
            Module::Bulk => Action::BulkRun,
        }
    }
}

/// A signed-in browser: who, in which language, with which CSRF token.
pub struct UiSession {
    pub actor: Actor,
    pub lang: Lang,
    pub csrf: String,
    pub path: String,
}

impl UiSession {
    pub fn modules(&self) -> Vec<Module> {
        Module::ALL
            .into_iter()
            .filter(|m| self.actor.can(m.action()))
            .collect()
    }

    /// The refusal page when a form's CSRF field does not match, before anything happens.
    pub fn refuse_bad_csrf(&self, submitted: &str) -> Option<Response> {
        if same_token(&self.csrf, &unmask_csrf(submitted)) {
            None
        } else {
            Some(error_page(
                self.lang,
                StatusCode::FORBIDDEN,
                "forbidden-title",
                "forbidden-text",
            ))
        }
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = language(&parts.headers);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let to_login =
            || Redirect::to(&format!("/login?next={}", urlencode(&path))).into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match state.cadre.authenticate(&token).await {
            Ok(actor) => Ok(UiSession {
                actor,
                lang,
                csrf: csrf_for(&token),
                path,
            }),
            Err(cadre_service::ServiceError::Unauthenticated) => Err(to_login()),
            Err(other) => Err(super::pages::service_error_page(lang, other)),
        }
    }
}

/// The language of a page shown before sign-in.
pub struct UiLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for UiLang {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        Ok(UiLang(language(&parts.headers)))
    }
}

/// Percent-encodes a path for use in a query string.
pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Only same-site paths may be redirect targets. Browsers drop tabs and newlines from
/// URLs and read `\` as `/`, so `/\t/evil` would become `//evil`: any control character,
/// whitespace or backslash disqualifies a path (and keeps `Location` a valid header).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
                && !n.contains("://") =>
        {
            n.to_owned()
        }
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_never_leave_the_site() {
        assert_eq!(safe_next(Some("/users?q=a")), "/users?q=a");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "users",
            "/\t/evil.example",
            "/\n/evil",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_depend_on_the_session_and_compare_exactly() {
        let a = csrf_for("token-a");
        assert_eq!(a.len(), 32);
        assert_ne!(a, csrf_for("token-b"));
        assert!(same_token(&a, &csrf_for("token-a")));
        assert!(!same_token(&a, &a[..31]));
    }

    #[test]
    fn masked_csrf_tokens_differ_every_time_and_still_match() {
        let plain = csrf_for("token-a");
        let (one, two) = (mask_csrf(&plain), mask_csrf(&plain));
        assert_eq!(one.len(), 64);
        assert_ne!(one, two, "each page carries a differently masked token");
        assert!(!one.contains(&plain));
        for sent in [&one, &two, &plain] {
            assert!(csrf_matches("token-a", sent), "{sent}");
            assert!(!csrf_matches("token-b", sent), "{sent}");
        }
        let mut forged = one.clone().into_bytes();
        forged[63] = if forged[63] == b'0' { b'1' } else { b'0' };
        assert!(!csrf_matches(
            "token-a",
            &String::from_utf8(forged).unwrap()
        ));
    }
}
