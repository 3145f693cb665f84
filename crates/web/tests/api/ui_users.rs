//! The user pages over HTTP: view, edit, create and reset credentials, signed in with a
//! session cookie, posting plain forms as a browser without JavaScript would.

use reqwest::StatusCode;
use serde_json::{json, Value};

use cadre_web::ui::session::csrf_for;

use crate::support::{text_of, World};

struct Page {
    status: StatusCode,
    location: String,
    cache_control: String,
    body: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn read(response: reqwest::Response) -> Page {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    Page {
        status: response.status(),
        location: header("location"),
        cache_control: header("cache-control"),
        body: response.text().await.unwrap(),
    }
}

async fn get_in(w: &World, token: &str, lang: &str, path: &str) -> Page {
    let response = client()
        .get(format!("{}{path}", w.app.base))
        .header(
            "cookie",
            format!("cadre_session={token}; cadre_lang={lang}"),
        )
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn get(w: &World, token: &str, path: &str) -> Page {
    get_in(w, token, "en", path).await
}

/// Posts form pairs (names may repeat); `csrf`: the token to send, if any.
async fn post_with(
    w: &World,
    token: &str,
    path: &str,
    pairs: &[(String, String)],
    csrf: Option<String>,
) -> Page {
    let mut body = form_urlencoded::Serializer::new(String::new());
    if let Some(csrf) = csrf {
        body.append_pair("_csrf", &csrf);
    }
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    let response = client()
        .post(format!("{}{path}", w.app.base))
        .header("cookie", format!("cadre_session={token}; cadre_lang=en"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.finish())
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn post(w: &World, token: &str, path: &str, pairs: &[(String, String)]) -> Page {
    post_with(w, token, path, pairs, Some(csrf_for(token))).await
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The edit form's fields filled with the user's current data, as the page sends them.
async fn current_form(w: &World, id: &str) -> (Value, Vec<(String, String)>) {
    let user = w
        .app
        .get(&format!("/api/v1/users/{id}"), &w.admin)
        .await
        .body;
    let mut form = Vec::new();
    for name in [
        "first_name",
        "last_name",
        "mobile_number",
        "father_or_husband_name",
        "gender",
        "date_of_birth",
        "email",
        "correspondence_address",
        "employment_type",
        "date_of_employment",
        "designation",
        "department",
    ] {
        form.push((
            name.to_owned(),
            user[name].as_str().unwrap_or("").to_owned(),
        ));
    }
    for role in user["roles"].as_array().unwrap() {
        form.push(("roles".into(), role.as_str().unwrap().to_owned()));
    }
    let places: Vec<&str> = user["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j.as_str().unwrap())
        .collect();
    form.push(("jurisdictions".into(), places.join(", ")));
    form.push(("version".into(), user["version"].to_string()));
    (user, form)
}

fn set(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    form.retain(|(k, _)| k != name);
    form.push((name.to_owned(), value.to_owned()));
}

fn new_user_form(username: &str, method: &str) -> Vec<(String, String)> {
    pairs(&[
        ("username", username),
        ("credential.method", method),
        ("first_name", "Maria"),
        ("last_name", "Lopes"),
        ("mobile_number", "84 123 4567"),
        ("gender", "FEMALE"),
        ("email", "maria@example.org"),
        ("correspondence_address", "Rua 2, Tete"),
        ("roles", "REGISTRAR"),
        ("employment_type", "CONTRACTUAL"),
        ("department", "NMCP"),
        ("jurisdictions", "ANGONIA"),
        ("assignments[0].campaign", ""),
        ("assignments[0].boundaries", ""),
    ])
}

#[tokio::test]
async fn the_user_page_shows_the_groups_and_only_the_allowed_actions() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let page = get(&w, &w.sup_tete, &format!("/users/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for text in [
        "João Lopes",
        "joao.lopes",
        "Demographic information",
        "Administrative information",
        "Assignments",
        "Documents",
        "Recent changes",
        "ULONGUE",
        "Contractual",
        "Created",
    ] {
        assert!(page.body.contains(text), "{text} missing:\n{}", page.body);
    }
    assert!(page.body.contains(&format!("href=\"/users/{id}/edit\"")));
    assert!(page
        .body
        .contains(&format!("href=\"/users/{id}/credentials\"")));
    assert!(page
        .body
        .contains(&format!("href=\"/users/{id}/deactivate\"")));
    assert!(!page.body.contains(&format!("/users/{id}/reactivate")));

    // The helpdesk may not replace workers: no such link.
    let helpdesk = get(&w, &w.helpdesk, &format!("/users/{id}")).await;
    assert_eq!(helpdesk.status, StatusCode::OK);
    assert!(helpdesk.body.contains("id=\"action-edit\""));
    assert!(!helpdesk.body.contains("id=\"action-replace\""));
    assert!(page.body.contains("id=\"action-replace\""));

    // A field worker has no business here; another province's worker does not exist.
    let worker = w.app.token("joao.lopes").await;
    let refused = get(&w, &worker, &format!("/users/{id}")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let hidden = get(&w, &w.sup_tete, &format!("/users/{}", w.niassa_worker)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let hidden_edit = get(&w, &w.sup_tete, &format!("/users/{}/edit", w.niassa_worker)).await;
    assert_eq!(hidden_edit.status, StatusCode::NOT_FOUND);
    let hidden_reset = get(
        &w,
        &w.sup_tete,
        &format!("/users/{}/credentials", w.niassa_worker),
    )
    .await;
    assert_eq!(hidden_reset.status, StatusCode::NOT_FOUND);

    // Signed out: to the sign-in page, coming back here afterwards.
    let anonymous = client()
        .get(format!("{}/users/{id}", w.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn editing_keeps_what_was_typed_and_shows_each_error_at_its_field() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let form_page = get(&w, &w.sup_tete, &format!("/users/{id}/edit")).await;
    assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.body);
    assert!(form_page.body.contains("value=\"João\""));
    assert!(form_page
        .body
        .contains("<legend>Demographic information</legend>"));
    assert!(form_page.body.contains("name=\"_csrf\""));
    // The username is shown, never editable.
    assert!(!form_page.body.contains("name=\"username\""));

    let (before, mut form) = current_form(&w, id).await;
    set(&mut form, "first_name", "Joãozinho");
    set(&mut form, "mobile_number", "12");
    set(&mut form, "designation", "Chefe <de> equipa");
    let page = post(&w, &w.sup_tete, &format!("/users/{id}/edit"), &form).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let body = &page.body;
    assert!(body.contains("value=\"Joãozinho\""), "{body}");
    assert!(body.contains("value=\"Chefe &lt;de&gt; equipa\""), "{body}");
    assert!(body.contains("value=\"12\""));
    assert!(body.contains("id=\"mobile_number-error\""));
    let input = body
        .split("<input id=\"mobile_number\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap();
    assert!(input.contains("aria-invalid=\"true\""), "{input}");
    assert!(input.contains("mobile_number-error"), "{input}");
    assert!(body.contains("role=\"alert\""));
    assert!(body.contains("href=\"#mobile_number\""));
    // Only the bad field is marked.
    let first = body
        .split("<input id=\"first_name\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap();
    assert!(!first.contains("aria-invalid"), "{first}");
    let after = w
        .app
        .get(&format!("/api/v1/users/{id}"), &w.admin)
        .await
        .body;
    assert_eq!(after, before, "a refused edit changes nothing");

    // Fixed, it saves and returns to the user.
    set(&mut form, "mobile_number", "84 765 4321");
    let saved = post(&w, &w.sup_tete, &format!("/users/{id}/edit"), &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location, format!("/users/{id}?notice=saved"));
    let after = w
        .app
        .get(&format!("/api/v1/users/{id}"), &w.admin)
        .await
        .body;
    assert_eq!(after["first_name"], "Joãozinho");
    assert_eq!(after["mobile_number"], "+258847654321");
    assert_eq!(after["designation"], "Chefe <de> equipa");
    assert_eq!(after["roles"], json!(["REGISTRAR"]));
    assert_eq!(after["jurisdictions"], json!(["ULONGUE"]));
    let shown = get(&w, &w.sup_tete, &saved.location).await;
    assert!(shown.body.contains("The changes are saved."));
    assert!(shown.body.contains("Details changed"));
}

#[tokio::test]
async fn a_stale_edit_shows_the_conflict_and_keeps_the_typed_values() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let (_, mut form) = current_form(&w, id).await;
    // Someone else saves first.
    let other = w
        .app
        .patch(
            &format!("/api/v1/users/{id}"),
            &w.admin,
            json!({"designation": "Other"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    set(&mut form, "first_name", "Mine");
    let page = post(&w, &w.sup_tete, &format!("/users/{id}/edit"), &form).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("Someone else changed this user"));
    assert!(page.body.contains("value=\"Mine\""));
    let user = w
        .app
        .get(&format!("/api/v1/users/{id}"), &w.admin)
        .await
        .body;
    assert_eq!(user["first_name"], "João");
    // Saving again, knowingly, goes through with the fresh version.
    assert!(page
        .body
        .contains(&format!("name=\"version\" value=\"{}\"", user["version"])));
}

#[tokio::test]
async fn creating_with_a_generated_password_shows_it_once() {
    let w = World::new().await;
    let form_page = get(&w, &w.sup_tete, "/users/new").await;
    assert_eq!(form_page.status, StatusCode::OK, "{}", form_page.body);
    for legend in [
        "<legend>Login credentials</legend>",
        "<legend>Demographic information</legend>",
        "<legend>Administrative information</legend>",
    ] {
        assert!(form_page.body.contains(legend), "{legend}");
    }
    assert!(form_page.body.contains("id=\"username-preview\""));
    assert!(form_page.body.contains("aria-live=\"polite\""));
    // A supervisor cannot hand out SYSTEM_ADMIN: not offered.
    assert!(!form_page.body.contains("value=\"SYSTEM_ADMIN\""));
    assert!(form_page.body.contains("value=\"REGISTRAR\""));

    let page = post(
        &w,
        &w.sup_tete,
        "/users/new",
        &new_user_form("", "generate"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.cache_control, "no-store");
    assert!(page.body.contains("It will not be shown again"));
    let username = text_of(&page.body, "created-username").unwrap();
    let password = text_of(&page.body, "generated-password").unwrap();
    assert!(username.starts_with("maria.lopes"), "{username}");
    assert!(password.len() >= 8, "{password}");
    let login = w.app.login(&username, &password).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let found = w
        .app
        .get(&format!("/api/v1/users?username={username}"), &w.admin)
        .await;
    assert_eq!(found.body["total"], 1, "{}", found.body);
    assert_eq!(found.body["items"][0]["jurisdictions"], json!(["ANGONIA"]));

    // Without a generated password: straight to the new user.
    let mut form = new_user_form("rui.matsinhe", "none");
    set(&mut form, "first_name", "Rui");
    let page = post(&w, &w.sup_tete, "/users/new", &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(page.location.starts_with("/users/"));
    assert!(page.location.ends_with("?notice=created"));
    let shown = get(&w, &w.sup_tete, &page.location).await;
    assert!(shown.body.contains("rui.matsinhe"));
}

#[tokio::test]
async fn a_refused_new_user_keeps_the_input_and_marks_each_field() {
    let w = World::new().await;
    let mut form = new_user_form("", "set");
    set(&mut form, "last_name", "");
    set(&mut form, "email", "not-an-email");
    set(&mut form, "credential.password", "ab");
    set(&mut form, "credential.password_confirmation", "ab");
    set(&mut form, "assignments[0].campaign", "NOPE-2026");
    set(&mut form, "assignments[0].boundaries", "TETE, ATLANTIS");
    let page = post(&w, &w.sup_tete, "/users/new", &form).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let body = &page.body;
    assert!(body.contains("value=\"Maria\""));
    assert!(body.contains("value=\"not-an-email\""));
    assert!(body.contains("value=\"84 123 4567\""));
    assert!(body.contains("value=\"TETE, ATLANTIS\""));
    assert!(
        body.contains("<option value=\"FEMALE\" selected>"),
        "{body}"
    );
    assert!(body.contains("value=\"set\" checked"));
    for field in [
        "last_name",
        "email",
        "credential-password",
        "assignments-0-campaign",
    ] {
        assert!(
            body.contains(&format!("id=\"{field}-error\"")),
            "{field}:\n{body}"
        );
        assert!(body.contains(&format!("href=\"#{field}\"")), "{field}");
    }
    assert!(body.contains("role=\"alert\""));
    let none = w
        .app
        .get("/api/v1/users?q=Maria&status=all", &w.admin)
        .await;
    assert_eq!(none.body["total"], 0, "{}", none.body);

    // A mistyped confirmation is caught before anything is saved.
    let mut form = new_user_form("", "set");
    set(&mut form, "credential.password", "green mango 42");
    set(
        &mut form,
        "credential.password_confirmation",
        "green mango 24",
    );
    let page = post(&w, &w.sup_tete, "/users/new", &form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page
        .body
        .contains("id=\"credential-password_confirmation-error\""));
    assert!(page.body.contains("The two passwords are different."));

    // A boundary outside the supervisor's province, named in the message.
    let mut form = new_user_form("", "generate");
    set(&mut form, "jurisdictions", "LICHINGA");
    let page = post(&w, &w.sup_tete, "/users/new", &form).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"jurisdictions-error\""));
    assert!(
        page.body.contains("LICHINGA is outside your area"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let (before, mut form) = current_form(&w, id).await;
    set(&mut form, "first_name", "Forged");
    for csrf in [None, Some("0".repeat(32)), Some(csrf_for(&w.helpdesk))] {
        let page = post_with(
            &w,
            &w.sup_tete,
            &format!("/users/{id}/edit"),
            &form,
            csrf.clone(),
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{csrf:?}");
        let created = post_with(
            &w,
            &w.sup_tete,
            "/users/new",
            &new_user_form("forged.user", "none"),
            csrf.clone(),
        )
        .await;
        assert_eq!(created.status, StatusCode::FORBIDDEN);
        let reset = post_with(
            &w,
            &w.sup_tete,
            &format!("/users/{id}/credentials"),
            &pairs(&[("credential.method", "none")]),
            csrf,
        )
        .await;
        assert_eq!(reset.status, StatusCode::FORBIDDEN);
    }
    let after = w
        .app
        .get(&format!("/api/v1/users/{id}"), &w.admin)
        .await
        .body;
    assert_eq!(after, before);
    let none = w
        .app
        .get("/api/v1/users?username=forged&status=all", &w.admin)
        .await;
    assert_eq!(none.body["total"], 0);
    // The worker can still sign in: the password was not removed.
    assert_eq!(
        w.app
            .login("joao.lopes", crate::support::PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn credentials_are_reset_with_the_new_password_shown_once() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let page = get(&w, &w.sup_tete, &format!("/users/{id}/credentials")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("value=\"generate\" checked"));

    let mismatch = post(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/credentials"),
        &pairs(&[
            ("credential.method", "set"),
            ("credential.password", "a long new secret"),
            ("credential.password_confirmation", "another secret"),
        ]),
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch
        .body
        .contains("id=\"credential-password_confirmation-error\""));

    let done = post(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/credentials"),
        &pairs(&[("credential.method", "generate")]),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.cache_control, "no-store");
    let password = text_of(&done.body, "generated-password").unwrap();
    assert_eq!(
        w.app.login("joao.lopes", &password).await.status,
        StatusCode::OK
    );
    assert_eq!(
        w.app
            .login("joao.lopes", crate::support::PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let set = post(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/credentials"),
        &pairs(&[
            ("credential.method", "set"),
            ("credential.password", "a long new secret"),
            ("credential.password_confirmation", "a long new secret"),
        ]),
    )
    .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert_eq!(set.location, format!("/users/{id}?notice=credentials"));

    // The system administrator is protected from the national helpdesk.
    let admin = post(
        &w,
        &w.helpdesk,
        &format!("/users/{}/credentials", w.admin_id),
        &pairs(&[("credential.method", "generate")]),
    )
    .await;
    assert!(
        matches!(admin.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        admin.status
    );
    assert!(!admin.body.contains("generated-password"));
}

#[tokio::test]
async fn the_pages_speak_portuguese() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let view = get_in(&w, &w.sup_tete, "pt", &format!("/users/{id}")).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.body.contains("<html lang=\"pt\">"));
    for text in [
        "Informação demográfica",
        "Informação administrativa",
        "Nome próprio",
        "Redefinir credenciais",
    ] {
        assert!(view.body.contains(text), "{text}");
    }
    let new = get_in(&w, &w.sup_tete, "pt", "/users/new").await;
    for text in [
        "Credenciais de acesso",
        "Gerar uma palavra-passe",
        "Criar utilizador",
    ] {
        assert!(new.body.contains(text), "{text}");
    }
    let french = get_in(&w, &w.sup_tete, "fr", &format!("/users/{id}/edit")).await;
    assert!(french.body.contains("Informations démographiques"));
    assert!(french.body.contains("Enregistrer les modifications"));
}

#[tokio::test]
async fn the_user_page_lists_sessions_and_ends_them_all() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let phone = w.app.token("joao.lopes").await;
    let tablet = w.app.token("joao.lopes").await;
    let page = get(&w, &w.sup_tete, &format!("/users/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("id=\"section-sessions\""),
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches("<li data-session=").count(),
        2,
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(&format!("action=\"/users/{id}/sessions/revoke\"")));
    let listed = w
        .app
        .get(&format!("/api/v1/users/{id}/sessions"), &w.sup_tete)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["total"], 2);
    let own = w
        .app
        .get(&format!("/api/v1/users/{id}/sessions"), &phone)
        .await;
    assert_eq!(
        own.status,
        StatusCode::FORBIDDEN,
        "a field worker may not manage sessions"
    );
    let hidden = w
        .app
        .get(
            &format!("/api/v1/users/{}/sessions", w.niassa_worker),
            &w.sup_tete,
        )
        .await;
    assert_eq!(
        hidden.status,
        StatusCode::NOT_FOUND,
        "outside the supervisor's area"
    );

    let forged = post_with(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/sessions/revoke"),
        &[],
        None,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(w.app.get("/api/v1/me", &phone).await.status, StatusCode::OK);

    let ended = post(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/sessions/revoke"),
        &[],
    )
    .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER, "{}", ended.body);
    assert_eq!(
        ended.location,
        format!("/users/{id}?notice=sessions#section-sessions")
    );
    for token in [&phone, &tablet] {
        assert_eq!(
            w.app.get("/api/v1/me", token).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let after = get(&w, &w.sup_tete, &format!("/users/{id}?notice=sessions")).await;
    assert!(
        after.body.contains("Every session of this user has ended"),
        "{}",
        after.body
    );
    assert_eq!(after.body.matches("<li data-session=").count(), 0);
    // The helpdesk manages sessions too.
    let helpdesk = get(&w, &w.helpdesk, &format!("/users/{id}")).await;
    assert!(helpdesk.body.contains("id=\"section-sessions\""));
}

#[tokio::test]
async fn credentials_can_be_reset_with_an_activation_link() {
    let w = World::new().await;
    let id = &w.tete_worker;
    let page = get(&w, &w.sup_tete, &format!("/users/{id}/credentials")).await;
    assert!(page.body.contains("value=\"link-email\""), "{}", page.body);
    assert!(page.body.contains("value=\"link-sms\""));
    // joao.lopes has an email address but no mobile number.
    let no_mobile = post(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/credentials"),
        &pairs(&[("credential.method", "link-sms")]),
    )
    .await;
    assert_eq!(
        no_mobile.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_mobile.body
    );
    assert!(
        no_mobile.body.contains("value=\"link-sms\" checked"),
        "the choice is kept"
    );
    let sent = post(
        &w,
        &w.sup_tete,
        &format!("/users/{id}/credentials"),
        &pairs(&[("credential.method", "link-email")]),
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(sent.location, format!("/users/{id}?notice=link"));
    let messages = w
        .app
        .get(&format!("/api/v1/users/{id}/messages"), &w.admin)
        .await;
    assert_eq!(messages.status, StatusCode::OK, "{}", messages.body);
    assert!(
        messages.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["channel"] == "email"),
        "an email with the link is queued: {}",
        messages.body
    );
    assert_eq!(
        w.app
            .login("joao.lopes", crate::support::PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
}
