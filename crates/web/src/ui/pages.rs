//! The pages: sign-in, the start page, user search, errors.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use cadre_service::auth::LoginRequest;
use cadre_service::ServiceError;

use super::i18n::Lang;
use super::session::{
    cookie, csrf_for, csrf_matches, is_tls, mask_csrf, safe_next, same_token, set_cookie,
    urlencode, Module, UiLang, UiSession, LANG_COOKIE, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::extract::Meta;
use crate::AppState;

/// What every page's frame needs: language, who is signed in, their modules, the CSRF
/// token for its forms, and where we are.
pub struct Frame {
    pub lang: Lang,
    pub csrf: String,
    pub username: Option<String>,
    pub modules: Vec<Module>,
    pub path: String,
}

impl Frame {
    pub fn of(session: &UiSession) -> Self {
        Self {
            lang: session.lang,
            csrf: mask_csrf(&session.csrf),
            username: Some(session.actor.username.clone()),
            modules: session.modules(),
            path: session.path.clone(),
        }
    }

    fn anonymous(lang: Lang, csrf: String, path: &str) -> Self {
        Self {
            lang,
            csrf,
            username: None,
            modules: Vec::new(),
            path: path.to_owned(),
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn langs(&self) -> [Lang; 3] {
        Lang::ALL
    }

    /// The switcher's link. Signed in, it carries the form token, so that only the
    /// person's own click (not a link on another site) saves the choice for them.
    pub fn lang_link(&self, lang: &Lang) -> String {
        let mut link = format!("/lang/{}?next={}", lang.code(), urlencode(&self.path));
        if self.username.is_some() {
            link.push_str("&_csrf=");
            link.push_str(&self.csrf);
        }
        link
    }

    pub fn is_lang(&self, lang: &Lang) -> bool {
        *lang == self.lang
    }

    pub fn in_module(&self, m: &Module) -> bool {
        self.path.starts_with(&self.module_path(m))
    }

    pub fn module_path(&self, m: &Module) -> String {
        format!("/{}", m.slug())
    }

    pub fn module_key(&self, m: &Module) -> String {
        format!("module-{}", m.slug())
    }

    pub fn module_text_key(&self, m: &Module) -> String {
        format!("module-{}-text", m.slug())
    }
}

pub(crate) fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    f: Frame,
    title: String,
    text: String,
}

/// A page for an error, in the visitor's language.
pub fn error_page(lang: Lang, status: StatusCode, title_key: &str, text_key: &str) -> Response {
    let page = ErrorPage {
        f: Frame::anonymous(lang, String::new(), "/"),
        title: lang.t(title_key),
        text: lang.t(text_key),
    };
    render(&page, status)
}

/// The page for a use case's refusal, the same decision the API would return.
pub fn service_error_page(lang: Lang, error: ServiceError) -> Response {
    match error {
        ServiceError::Unauthenticated => Redirect::to("/login").into_response(),
        ServiceError::Forbidden { .. } => error_page(
            lang,
            StatusCode::FORBIDDEN,
            "forbidden-title",
            "forbidden-text",
        ),
        ServiceError::NotFound => error_page(
            lang,
            StatusCode::NOT_FOUND,
            "not-found-title",
            "not-found-text",
        ),
        other => {
            tracing::error!(error = %other, "page failed");
            error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-title",
                "error-text",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    f: Frame,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn with_cookie(mut response: Response, value: String) -> Response {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// A fresh random token for the double-submitted sign-in form.
fn pre_session_token() -> String {
    cadre_service::password::new_token()
}

pub async fn login_page(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if state.cadre.authenticate(&token).await.is_ok() {
            return Redirect::to(&safe_next(q.next.as_deref())).into_response();
        }
    }
    let csrf = pre_session_token();
    let page = LoginPage {
        f: Frame::anonymous(lang, csrf.clone(), "/login"),
        username: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
    };
    with_cookie(
        render(&page, StatusCode::OK),
        set_cookie(PRE_SESSION_CSRF_COOKIE, &csrf, None, is_tls(&headers)),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    UiLang(lang): UiLang,
    Meta(meta): Meta,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, PRE_SESSION_CSRF_COOKIE).unwrap_or_default();
    let fresh = pre_session_token();
    let again = |status: StatusCode, message: String| {
        let page = LoginPage {
            f: Frame::anonymous(lang, fresh.clone(), "/login"),
            username: form.username.clone(),
            next: next.clone(),
            error: Some(message),
        };
        with_cookie(
            render(&page, status),
            set_cookie(PRE_SESSION_CSRF_COOKIE, &fresh, None, is_tls(&headers)),
        )
    };
    if expected.is_empty() || !same_token(&expected, &form.csrf) {
        return again(StatusCode::FORBIDDEN, lang.t("session-expired"));
    }
    let request = LoginRequest {
        username: form.username.clone(),
        password: form.password.clone(),
    };
    match state.cadre.login_web(&meta, request).await {
        Ok(login) => {
            let ttl = state.cadre.settings().session_ttl.as_secs() as i64;
            let mut response = Redirect::to(&next).into_response();
            // The language the person chose last time, on whatever device, comes back.
            if let Some(saved) = saved_language(&state, &login.token).await {
                response = with_cookie(
                    response,
                    set_cookie(
                        LANG_COOKIE,
                        saved.code(),
                        Some(LANG_COOKIE_AGE),
                        is_tls(&headers),
                    ),
                );
            }
            let response = with_cookie(
                response,
                set_cookie(SESSION_COOKIE, &login.token, Some(ttl), is_tls(&headers)),
            );
            with_cookie(
                response,
                set_cookie(PRE_SESSION_CSRF_COOKIE, "", Some(0), is_tls(&headers)),
            )
        }
        Err(ServiceError::InvalidCredentials) => {
            again(StatusCode::UNAUTHORIZED, lang.t("invalid-credentials"))
        }
        Err(ServiceError::Forbidden {
            code: "account_deactivated",
            ..
        }) => again(StatusCode::FORBIDDEN, lang.t("account-deactivated")),
        Err(ServiceError::TooManyRequests {
            code,
            retry_after_secs,
            ..
        }) => {
            let key = if code == "account_locked" {
                "account-locked"
            } else {
                "rate-limited"
            };
            again(
                StatusCode::TOO_MANY_REQUESTS,
                lang.t_with(key, &[("seconds", (retry_after_secs as i64).into())]),
            )
        }
        Err(other) => service_error_page(lang, other),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    session: UiSession,
    Meta(meta): Meta,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = session.refuse_bad_csrf(&form.csrf) {
        return refused;
    }
    if let Err(e) = state.cadre.logout(&session.actor, &meta).await {
        return service_error_page(session.lang, e);
    }
    with_cookie(
        Redirect::to("/login").into_response(),
        set_cookie(SESSION_COOKIE, "", Some(0), is_tls(&headers)),
    )
}

/// How long the browser remembers the language: a year.
const LANG_COOKIE_AGE: i64 = 365 * 24 * 3600;

/// The language a person saved, read with their fresh session token.
async fn saved_language(state: &AppState, token: &str) -> Option<Lang> {
    let actor = state.cadre.authenticate(token).await.ok()?;
    match state.cadre.own_language(&actor).await {
        Ok(code) => code.as_deref().and_then(Lang::from_code),
        Err(e) => {
            tracing::warn!(error = %e, "reading the saved language failed");
            None
        }
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    next: Option<String>,
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// Switching language works without JavaScript: a link sets the cookie and returns.
/// Signed in, with the page's token, the choice is also saved for the person's next
/// sign-in; a failure to save never stands in the way of the switch itself.
pub async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<SwitchQuery>,
) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::En);
    if let (Some(token), Some(sent)) = (cookie(&headers, SESSION_COOKIE), q.csrf.as_deref()) {
        if csrf_matches(&token, sent) {
            if let Ok(actor) = state.cadre.authenticate(&token).await {
                if let Err(e) = state
                    .cadre
                    .set_own_language(&actor, &meta, lang.code())
                    .await
                {
                    tracing::warn!(error = %e, "saving the language failed");
                }
            }
        }
    }
    let response = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    with_cookie(
        response,
        set_cookie(
            LANG_COOKIE,
            lang.code(),
            Some(LANG_COOKIE_AGE),
            is_tls(&headers),
        ),
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    f: Frame,
}

pub async fn home(session: UiSession) -> Response {
    render(
        &HomePage {
            f: Frame::of(&session),
        },
        StatusCode::OK,
    )
}

/// The session cookie's CSRF token, for API calls made from the pages' scripts.
pub fn csrf_of_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE).map(|t| csrf_for(&t))
}
