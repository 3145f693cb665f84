//! Pages for credentials: following an activation link, choosing a password after
//! it, recovering a forgotten password with a code, and one's own sessions.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use cadre_service::auth::PasswordChange;
use cadre_service::credentials::recovery::{RecoveryConfirm, RecoveryRequest};
use cadre_service::credentials::sessions::SessionView;
use cadre_service::ServiceError;

use super::i18n::Lang;
use super::pages::{render, service_error_page, Frame};
use super::session::{
    cookie, is_tls, same_token, set_cookie, UiLang, UiSession, PRE_SESSION_CSRF_COOKIE,
    SESSION_COOKIE,
};
use crate::extract::Meta;
use crate::AppState;

/// Error codes of the credential flows that have a text in `credentials.ftl`.
const TRANSLATED: &[&str] = &[
    "password_too_short",
    "password_too_long",
    "password_contains_username",
    "password_too_common",
    "password_too_weak",
    "password_needs_variety",
    "password_unchanged",
    "incorrect_password",
    "invalid_otp",
    "invalid_link",
    "passwords_differ",
];

/// What to tell the person about a refusal, in their language.
fn explain(lang: Lang, error: &ServiceError) -> Option<String> {
    match error {
        ServiceError::Validation(errors) => errors.errors().first().map(|e| {
            if TRANSLATED.contains(&e.code.as_str()) {
                lang.t(&format!("cred-error-{}", e.code.replace('_', "-")))
            } else {
                e.message.clone()
            }
        }),
        ServiceError::TooManyRequests {
            retry_after_secs, ..
        } => Some(lang.t_with(
            "rate-limited",
            &[("seconds", (*retry_after_secs as i64).into())],
        )),
        ServiceError::Forbidden {
            code: "account_deactivated",
            ..
        } => Some(lang.t("account-deactivated")),
        _ => None,
    }
}

fn anonymous(lang: Lang, csrf: String, path: &str) -> Frame {
    Frame {
        lang,
        csrf,
        username: None,
        modules: Vec::new(),
        path: path.to_owned(),
    }
}

fn with_cookie(mut response: Response, value: String) -> Response {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A page shown before sign-in, with a fresh double-submit token for its form; never
/// cached, since it may carry a link's token.
fn pre_session(
    page: &impl Template,
    status: StatusCode,
    csrf: &str,
    headers: &HeaderMap,
) -> Response {
    let mut response = with_cookie(
        render(page, status),
        set_cookie(PRE_SESSION_CSRF_COOKIE, csrf, None, is_tls(headers)),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn pre_session_csrf_ok(headers: &HeaderMap, submitted: &str) -> bool {
    let expected = cookie(headers, PRE_SESSION_CSRF_COOKIE).unwrap_or_default();
    !expected.is_empty() && same_token(&expected, submitted)
}

// ------------------------------------------------------------------ activation link

#[derive(Template)]
#[template(path = "cred_link.html")]
struct LinkPage {
    f: Frame,
    token: String,
    live: bool,
    error: Option<String>,
}

/// Opening a link only shows this page: a preview fetched by a messaging app cannot
/// use the link up. The button's POST does.
pub async fn link_page(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let live = match state.cadre.link_is_live(&token).await {
        Ok(live) => live,
        Err(e) => return service_error_page(lang, e),
    };
    let csrf = cadre_service::password::new_token();
    let page = LinkPage {
        f: anonymous(lang, csrf.clone(), "/login"),
        token,
        live,
        error: None,
    };
    let status = if live {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    pre_session(&page, status, &csrf, &headers)
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    token: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn link_submit(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    Meta(meta): Meta,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Response {
    let csrf = cadre_service::password::new_token();
    let again = |live: bool, message: String, status: StatusCode| {
        let page = LinkPage {
            f: anonymous(lang, csrf.clone(), "/login"),
            token: form.token.clone(),
            live,
            error: Some(message),
        };
        pre_session(&page, status, &csrf, &headers)
    };
    if !pre_session_csrf_ok(&headers, &form.csrf) {
        return again(true, lang.t("session-expired"), StatusCode::FORBIDDEN);
    }
    match state.cadre.sign_in_with_link_web(&meta, &form.token).await {
        Ok(login) => {
            let ttl = state.cadre.settings().session_ttl.as_secs() as i64;
            with_cookie(
                Redirect::to("/me/password").into_response(),
                set_cookie(SESSION_COOKIE, &login.token, Some(ttl), is_tls(&headers)),
            )
        }
        Err(e) => match explain(lang, &e) {
            Some(message) => again(false, message, StatusCode::UNPROCESSABLE_ENTITY),
            None => service_error_page(lang, e),
        },
    }
}

// ------------------------------------------------------------------ own password

#[derive(Template)]
#[template(path = "cred_password.html")]
struct PasswordPage {
    f: Frame,
    needs_current: bool,
    must_change: bool,
    error: Option<String>,
}

async fn password_page_for(
    state: &AppState,
    session: &UiSession,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match state.cadre.me(&session.actor).await {
        Ok(me) => render(
            &PasswordPage {
                f: Frame::of(session),
                needs_current: me.user.has_password,
                must_change: me.user.must_change_password,
                error,
            },
            status,
        ),
        Err(e) => service_error_page(session.lang, e),
    }
}

/// Choose or change one's password (after an activation link, the current one is not
/// asked for: there is none).
pub async fn password_page(State(state): State<AppState>, session: UiSession) -> Response {
    password_page_for(&state, &session, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    if form.new_password != form.repeat_password {
        let message = session.lang.t("cred-error-passwords-differ");
        return password_page_for(
            &state,
            &session,
            Some(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let change = PasswordChange {
        current_password: form.current_password,
        new_password: form.new_password,
    };
    match state
        .cadre
        .change_own_password(&session.actor, &meta, change)
        .await
    {
        Ok(()) => Redirect::to("/me/sessions").into_response(),
        Err(e) => match explain(session.lang, &e) {
            Some(message) => {
                password_page_for(
                    &state,
                    &session,
                    Some(message),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            None => service_error_page(session.lang, e),
        },
    }
}

// ------------------------------------------------------------------ forgotten password

#[derive(Template)]
#[template(path = "cred_forgot.html")]
struct ForgotPage {
    f: Frame,
    /// Second step: the code was asked for.
    confirm: bool,
    done: bool,
    username: String,
    error: Option<String>,
}

fn forgot(
    lang: Lang,
    headers: &HeaderMap,
    confirm: bool,
    done: bool,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = cadre_service::password::new_token();
    let page = ForgotPage {
        f: anonymous(lang, csrf.clone(), "/forgot-password"),
        confirm,
        done,
        username,
        error,
    };
    pre_session(&page, status, &csrf, headers)
}

pub async fn forgot_page(UiLang(lang): UiLang, headers: HeaderMap) -> Response {
    forgot(
        lang,
        &headers,
        false,
        false,
        String::new(),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    username: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Asks for a code; the next step is shown whatever the username, as the API answers
/// 202 whatever it is.
pub async fn forgot_submit(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    Meta(meta): Meta,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    let username = form.username.trim().to_owned();
    if !pre_session_csrf_ok(&headers, &form.csrf) {
        let message = Some(lang.t("session-expired"));
        return forgot(
            lang,
            &headers,
            false,
            false,
            username,
            message,
            StatusCode::FORBIDDEN,
        );
    }
    let request = RecoveryRequest {
        username: username.clone(),
    };
    match state.cadre.request_recovery(&meta, request).await {
        Ok(()) => forgot(lang, &headers, true, false, username, None, StatusCode::OK),
        Err(e) => match explain(lang, &e) {
            Some(message) => forgot(
                lang,
                &headers,
                false,
                false,
                username,
                Some(message),
                StatusCode::TOO_MANY_REQUESTS,
            ),
            None => service_error_page(lang, e),
        },
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    otp: String,
    #[serde(default)]
    new_password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn forgot_confirm(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    Meta(meta): Meta,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let username = form.username.trim().to_owned();
    if !pre_session_csrf_ok(&headers, &form.csrf) {
        let message = Some(lang.t("session-expired"));
        return forgot(
            lang,
            &headers,
            true,
            false,
            username,
            message,
            StatusCode::FORBIDDEN,
        );
    }
    let request = RecoveryConfirm {
        username: username.clone(),
        otp: form.otp,
        new_password: form.new_password,
    };
    match state.cadre.confirm_recovery(&meta, request).await {
        Ok(()) => forgot(lang, &headers, false, true, username, None, StatusCode::OK),
        Err(e) => match explain(lang, &e) {
            Some(message) => forgot(
                lang,
                &headers,
                true,
                false,
                username,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            None => service_error_page(lang, e),
        },
    }
}

// ------------------------------------------------------------------ own sessions

/// A session as the pages list it: kind and times in the reader's language.
pub struct SessionLine {
    pub id: String,
    pub kind: String,
    pub started: String,
    pub last_used: String,
    pub device: String,
    pub current: bool,
}

pub fn session_lines(lang: Lang, sessions: Vec<SessionView>) -> Vec<SessionLine> {
    sessions
        .into_iter()
        .map(|s| SessionLine {
            kind: lang.t(&format!("cred-session-kind-{}", s.kind)),
            started: lang.date_time(&s.created_at),
            last_used: lang.date_time(&s.last_used_at),
            device: [s.user_agent, s.client_addr]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · "),
            current: s.current,
            id: s.id,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cred_sessions.html")]
struct SessionsPage {
    f: Frame,
    sessions: Vec<SessionLine>,
}

pub async fn sessions_page(State(state): State<AppState>, session: UiSession) -> Response {
    match state.cadre.my_sessions(&session.actor).await {
        Ok(sessions) => render(
            &SessionsPage {
                f: Frame::of(&session),
                sessions: session_lines(session.lang, sessions),
            },
            StatusCode::OK,
        ),
        Err(e) => service_error_page(session.lang, e),
    }
}

pub async fn session_revoke(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Form(form): Form<super::pages::CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    match state
        .cadre
        .revoke_my_session(&session.actor, &meta, &id)
        .await
    {
        Ok(()) if id == session.actor.session_id => Redirect::to("/login").into_response(),
        Ok(()) => Redirect::to("/me/sessions").into_response(),
        Err(e) => service_error_page(session.lang, e),
    }
}
