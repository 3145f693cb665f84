//! Credentials: the password policy per role class, activation links, recovery with a
//! one-time code, session lifetimes, one's own sessions and API tokens.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cadre_service::auth::LoginRequest;
use cadre_service::settings::SettingsConfig;
use cadre_service::RequestMeta;
use cadre_store::sql::{int, opt_text, text, Sql};
use cadre_web::WebConfig;

use crate::support::{TestApp, World, COUNTRY, PASSWORD};

/// A queued message as the outbox holds it.
struct Message {
    channel: String,
    recipient: String,
    template: String,
    params: Value,
}

async fn outbox(app: &TestApp) -> Vec<Message> {
    let mut conn = app.db.reader().await.unwrap();
    Sql::new("SELECT channel, recipient, template, params FROM outbox ORDER BY created_at, id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| Message {
            channel: text(row, "channel").unwrap(),
            recipient: text(row, "recipient").unwrap(),
            template: text(row, "template").unwrap(),
            params: serde_json::from_str(&text(row, "params").unwrap()).unwrap(),
        })
        .collect()
}

async fn single_text(app: &TestApp, query: &str) -> Vec<String> {
    let mut conn = app.db.reader().await.unwrap();
    Sql::new(query)
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|row| opt_text(row, "v").unwrap().unwrap_or_default())
        .collect()
}

fn link_token(message: &Message) -> String {
    let link = message.params["link"].as_str().unwrap();
    link.rsplit('/').next().unwrap().to_owned()
}

fn worker(username: &str, roles: &[&str], credential: Value) -> Value {
    json!({
        "username": username,
        "credential": credential,
        "first_name": "Maria", "last_name": "Lopes",
        "mobile_number": "84 123 4567",
        "gender": "female", "date_of_birth": "1990-04-01",
        "email": format!("{username}@example.org"), "correspondence_address": "Rua 2",
        "roles": roles, "employment_type": "CONTRACTUAL", "department": "NMCP",
        "jurisdictions": ["ULONGUE"]
    })
}

async fn delete(app: &TestApp, path: &str, token: &str) -> crate::support::Response {
    app.call(Method::DELETE, path, Some(token), None).await
}

// ---------------------------------------------------------------- password policy

#[tokio::test]
async fn password_policy_depends_on_the_role_class() {
    let w = World::new().await;
    let set = |password: &str| json!({"method": "set", "password": password});
    // Eleven characters are enough for a field worker, not for a supervisor.
    let field = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            worker("field.one", &["REGISTRAR"], set("kasuku 2019")),
        )
        .await;
    assert_eq!(field.status, StatusCode::CREATED, "{}", field.body);
    let admin = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            worker("sup.one", &["SUPERVISOR"], set("kasuku 2019")),
        )
        .await;
    assert_eq!(
        admin.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        admin.body
    );
    assert_eq!(
        admin.error_code_of("credential.password").as_deref(),
        Some("password_too_short")
    );
    let message = admin.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("at least 12"), "{message}");
    // Long but guessable.
    let weak = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            worker("sup.two", &["SUPERVISOR"], set("Password12345678")),
        )
        .await;
    assert_eq!(
        weak.error_code_of("credential.password").as_deref(),
        Some("password_too_weak")
    );
    let common = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            worker("field.two", &["REGISTRAR"], set("senha123")),
        )
        .await;
    assert_eq!(
        common.error_code_of("credential.password").as_deref(),
        Some("password_too_common")
    );
    let username = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            worker("field.three", &["REGISTRAR"], set("my field.three pass")),
        )
        .await;
    assert_eq!(
        username.error_code_of("credential.password").as_deref(),
        Some("password_contains_username")
    );
    // Long passphrases are welcome: the maximum is at least 64.
    let long = "the quiet river runs under seven old bridges near the market of tete".to_owned();
    assert!(long.chars().count() > 64);
    let long_ok = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            worker("sup.three", &["SUPERVISOR"], set(&long)),
        )
        .await;
    assert_eq!(long_ok.status, StatusCode::CREATED, "{}", long_ok.body);
    // A field worker changing their own password meets the field policy; a reset by
    // the helpdesk to a supervisor meets the administrative one.
    let id = field.body["id"].as_str().unwrap();
    let token = w.app.token_with("field.one", "kasuku 2019").await;
    let change = w
        .app
        .post(
            "/api/v1/me/password",
            &token,
            json!({"current_password": "kasuku 2019", "new_password": "simba 2020x"}),
        )
        .await;
    assert_eq!(change.status, StatusCode::NO_CONTENT, "{}", change.body);
    let sup_id = long_ok.body["id"].as_str().unwrap();
    let reset = w
        .app
        .post(
            &format!("/api/v1/users/{sup_id}/credentials"),
            &w.admin,
            set("simba 2020x"),
        )
        .await;
    assert_eq!(
        reset.error_code_of("credential.password").as_deref(),
        Some("password_too_short")
    );
    let reset = w
        .app
        .post(
            &format!("/api/v1/users/{id}/credentials"),
            &w.admin,
            set("simba 2021y"),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
}

#[tokio::test]
async fn composition_rules_apply_only_when_configured() {
    let mut settings = SettingsConfig::default();
    settings.password.field.min_character_classes = 3;
    let app = TestApp::with(settings, WebConfig::default()).await;
    app.import_boundaries(COUNTRY).await;
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "Amélia", "Nhantumbo")
        .await;
    let admin = app.token("admin").await;
    let plain = app
        .post(
            "/api/v1/users",
            &admin,
            worker(
                "field.one",
                &["REGISTRAR"],
                json!({"method": "set", "password": "mango tree river"}),
            ),
        )
        .await;
    assert_eq!(
        plain.error_code_of("credential.password").as_deref(),
        Some("password_needs_variety")
    );
    let mixed = app
        .post(
            "/api/v1/users",
            &admin,
            worker(
                "field.one",
                &["REGISTRAR"],
                json!({"method": "set", "password": "Mango tree river 7"}),
            ),
        )
        .await;
    assert_eq!(mixed.status, StatusCode::CREATED, "{}", mixed.body);
    // Without the setting the plain passphrase passes (see the default policy test).
    let bad = SettingsConfig {
        password: cadre_domain::password::PasswordPolicies {
            admin: cadre_domain::password::PasswordPolicy {
                max_length: 32,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let refused = cadre_service::Settings::from_config(bad).unwrap_err();
    assert!(refused.contains("password.admin"), "{refused}");
}

// ---------------------------------------------------------------- links

#[tokio::test]
async fn activation_link_is_hashed_single_use_and_previews_do_not_burn_it() {
    let w = World::new().await;
    let created = w
        .app
        .post(
            "/api/v1/users",
            &w.sup_tete,
            worker(
                "link.user",
                &["REGISTRAR"],
                json!({"method": "link", "channel": "sms"}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["has_password"], false);
    assert!(created.body.get("generated_password").is_none());
    let messages = outbox(&w.app).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (m.channel.as_str(), m.template.as_str()),
        ("sms", "activation_link")
    );
    assert_eq!(m.recipient, "+258841234567");
    assert_eq!(m.params["username"], "link.user");
    let token = link_token(m);
    assert!(token.len() >= 43, "{token}");
    // Only the hash is stored.
    let stored = single_text(&w.app, "SELECT token_hash AS v FROM credential_links").await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert!(!stored[0].contains(&token));
    // Opening the link (twice, as a preview would) only shows a page.
    for _ in 0..2 {
        let page = w
            .app
            .client
            .get(format!("{}/login/link/{token}", w.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-store");
        let html = page.text().await.unwrap();
        assert!(html.contains("action=\"/login/link\""), "{html}");
    }
    let used = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/link",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(used.status, StatusCode::OK, "{}", used.body);
    assert_eq!(used.body["user"]["must_change_password"], true);
    let session = used.body["token"].as_str().unwrap().to_owned();
    // Single use.
    let again = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/link",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        again.error_code_of("token").as_deref(),
        Some("invalid_link")
    );
    let page = w
        .app
        .client
        .get(format!("{}/login/link/{token}", w.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    // The user sets a password without a current one, then signs in with it.
    let set = w
        .app
        .post(
            "/api/v1/me/password",
            &session,
            json!({"current_password": "", "new_password": "simba river 9"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    let login = w.app.login("link.user", "simba river 9").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["user"]["must_change_password"], false);
    // Audited, both uses. The test clock stands still, so both events share one
    // timestamp and their order in the table is not theirs to keep.
    let mut outcomes = single_text(
        &w.app,
        "SELECT outcome AS v FROM audit_events WHERE action = 'auth.link'",
    )
    .await;
    outcomes.sort();
    assert_eq!(outcomes, vec!["invalid_link", "success"]);
}

#[tokio::test]
async fn a_new_link_revokes_the_old_and_links_expire() {
    let w = World::new().await;
    let path = format!("/api/v1/users/{}/credentials", w.tete_worker);
    let old_session = w.app.token("joao.lopes").await;
    let first = w
        .app
        .post(
            &path,
            &w.helpdesk,
            json!({"method": "link", "channel": "email"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        first.body.get("generated_password").is_none()
            || first.body["generated_password"].is_null()
    );
    // The reset ends the old password and sessions.
    assert_eq!(
        w.app.get("/api/v1/me", &old_session).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let second = w
        .app
        .post(
            &path,
            &w.helpdesk,
            json!({"method": "link", "channel": "email"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::OK);
    let messages = outbox(&w.app).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].recipient, "joao.lopes@example.org");
    let (old, new) = (link_token(&messages[0]), link_token(&messages[1]));
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/link",
            None,
            Some(json!({"token": old})),
        )
        .await;
    assert_eq!(r.error_code_of("token").as_deref(), Some("invalid_link"));
    // The default expiry is 24 hours.
    w.app.clock.advance(24 * 3600 + 1);
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/link",
            None,
            Some(json!({"token": new})),
        )
        .await;
    assert_eq!(r.error_code_of("token").as_deref(), Some("invalid_link"));
    // Audited with the method, never the token.
    let after = single_text(
        &w.app,
        "SELECT after_json AS v FROM audit_events WHERE action = 'user.credentials'",
    )
    .await;
    assert_eq!(after.len(), 2);
    assert!(after[0].contains("\"method\":\"link\""), "{}", after[0]);
    assert!(!after.iter().any(|a| a.contains(&new) || a.contains(&old)));
}

#[tokio::test]
async fn links_need_a_reachable_channel() {
    let w = World::new().await;
    let mut body = worker(
        "no.mail",
        &["REGISTRAR"],
        json!({"method": "link", "channel": "email"}),
    );
    body.as_object_mut().unwrap().remove("email");
    let r = w.app.post("/api/v1/users", &w.sup_tete, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.error_code_of("credential.channel").as_deref(),
        Some("no_email")
    );
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.sup_tete,
            worker(
                "pigeon",
                &["REGISTRAR"],
                json!({"method": "link", "channel": "pigeon"}),
            ),
        )
        .await;
    assert_eq!(
        r.error_code_of("credential.channel").as_deref(),
        Some("invalid_channel")
    );
    assert!(outbox(&w.app).await.is_empty());
}

// ---------------------------------------------------------------- recovery

#[tokio::test]
async fn recovery_always_answers_202_and_sends_the_code_where_the_rules_say() {
    let mut settings = SettingsConfig::default();
    settings.credentials.recovery_email = Some("recovery@programme.example".into());
    let app = TestApp::with(settings, WebConfig::default()).await;
    app.import_boundaries(COUNTRY).await;
    app.seed_user("has.mail", &["REGISTRAR"], &["ULONGUE"], "Has", "Mail")
        .await;
    let no_mail = app
        .seed_user("no.mail", &["REGISTRAR"], &["ULONGUE"], "No", "Mail")
        .await;
    app.sql(&format!(
        "UPDATE users SET email = NULL WHERE id = '{no_mail}'"
    ))
    .await
    .unwrap();
    for username in ["nobody.here", "has.mail", "no.mail"] {
        let r = app
            .call(
                Method::POST,
                "/api/v1/auth/recovery",
                None,
                Some(json!({"username": username})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{username}: {}", r.body);
    }
    let messages = outbox(&app).await;
    assert_eq!(messages.len(), 2, "nothing for an unknown username");
    assert_eq!(messages[0].recipient, "has.mail@example.org");
    assert_eq!(messages[0].template, "recovery_otp");
    // The PRD's rule: no email of one's own, the common recovery address.
    assert_eq!(messages[1].recipient, "recovery@programme.example");
    assert_eq!(messages[1].params["username"], "no.mail");
    let otp = messages[0].params["otp"].as_str().unwrap();
    assert_eq!(otp.len(), 6);
    assert!(otp.bytes().all(|b| b.is_ascii_digit()));
    let hashes = single_text(&app, "SELECT code_hash AS v FROM recovery_codes").await;
    assert!(hashes
        .iter()
        .all(|h| h.starts_with("$argon2id$") && !h.contains(otp)));
    // Asking again at once sends nothing new (no flooding).
    app.call(
        Method::POST,
        "/api/v1/auth/recovery",
        None,
        Some(json!({"username": "has.mail"})),
    )
    .await;
    assert_eq!(outbox(&app).await.len(), 2);
}

#[tokio::test]
async fn recovery_by_sms_when_configured() {
    let mut settings = SettingsConfig::default();
    settings.credentials.recovery_by_sms = true;
    let app = TestApp::with(settings, WebConfig::default()).await;
    app.import_boundaries(COUNTRY).await;
    let id = app
        .seed_user("texted", &["REGISTRAR"], &["ULONGUE"], "Tex", "Ted")
        .await;
    app.sql(&format!(
        "UPDATE users SET mobile_number = '+258841234567' WHERE id = '{id}'"
    ))
    .await
    .unwrap();
    let r = app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            None,
            Some(json!({"username": "texted"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let messages = outbox(&app).await;
    assert_eq!(
        (messages[0].channel.as_str(), messages[0].recipient.as_str()),
        ("sms", "+258841234567")
    );
}

#[tokio::test]
async fn recovery_confirm_sets_the_password_and_ends_every_session() {
    let w = World::new().await;
    let before = w.app.token("joao.lopes").await;
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            None,
            Some(json!({"username": "joao.lopes"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let otp = outbox(&w.app).await[0].params["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let confirm = |otp: &str, password: &str| json!({"username": "joao.lopes", "otp": otp, "new_password": password});
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(confirm(wrong, "simba river 9")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_code_of("otp").as_deref(), Some("invalid_otp"));
    // The policy applies; the code survives a refused password.
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(confirm(&otp, "short")),
        )
        .await;
    assert_eq!(
        r.error_code_of("new_password").as_deref(),
        Some("password_too_short")
    );
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(confirm(&otp, "simba river 9")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        w.app.get("/api/v1/me", &before).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.login("joao.lopes", "simba river 9").await.status,
        StatusCode::OK
    );
    // Used once.
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(confirm(&otp, "another river 10")),
        )
        .await;
    assert_eq!(r.error_code_of("otp").as_deref(), Some("invalid_otp"));
    // An unknown user hears the same.
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(json!({"username": "ghost", "otp": otp, "new_password": "simba river 9"})),
        )
        .await;
    assert_eq!(r.error_code_of("otp").as_deref(), Some("invalid_otp"));
    // Equal timestamps under the fixed test clock: compare as a set.
    let mut outcomes = single_text(
        &w.app,
        "SELECT outcome AS v FROM audit_events WHERE action = 'auth.recovery_confirm'",
    )
    .await;
    outcomes.sort();
    assert_eq!(outcomes, vec!["invalid_otp", "success"]);
}

#[tokio::test]
async fn recovery_codes_allow_few_guesses_and_expire() {
    let w = World::new().await;
    w.app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            None,
            Some(json!({"username": "joao.lopes"})),
        )
        .await;
    let otp = outbox(&w.app).await[0].params["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = w
            .app
            .call(Method::POST, "/api/v1/auth/recovery/confirm", None, Some(json!({"username": "joao.lopes", "otp": wrong, "new_password": "simba river 9"})))
            .await;
        assert_eq!(r.error_code_of("otp").as_deref(), Some("invalid_otp"));
    }
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(json!({"username": "joao.lopes", "otp": otp, "new_password": "simba river 9"})),
        )
        .await;
    assert_eq!(
        r.error_code_of("otp").as_deref(),
        Some("invalid_otp"),
        "the right code after five wrong ones"
    );
    let mut conn = w.app.db.reader().await.unwrap();
    let attempts = Sql::new("SELECT attempts FROM recovery_codes")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(int(&attempts[0], "attempts").unwrap(), 5);
    drop(conn);
    // A fresh code, left unused for longer than 15 minutes, expires.
    w.app.clock.advance(120);
    w.app
        .call(
            Method::POST,
            "/api/v1/auth/recovery",
            None,
            Some(json!({"username": "joao.lopes"})),
        )
        .await;
    let otp = outbox(&w.app).await[1].params["otp"]
        .as_str()
        .unwrap()
        .to_owned();
    w.app.clock.advance(15 * 60 + 1);
    let r = w
        .app
        .call(
            Method::POST,
            "/api/v1/auth/recovery/confirm",
            None,
            Some(json!({"username": "joao.lopes", "otp": otp, "new_password": "simba river 9"})),
        )
        .await;
    assert_eq!(r.error_code_of("otp").as_deref(), Some("invalid_otp"));
}

#[tokio::test]
async fn helpdesk_unlocks_and_ends_sessions_and_tokens() {
    let w = World::new().await;
    for _ in 0..8 {
        w.app.login("sup.tete", "wrong password").await;
    }
    assert_eq!(
        w.app.login("sup.tete", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let sup_id = w.app.get("/api/v1/me", &w.sup_tete).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let api_token = w
        .app
        .post(
            "/api/v1/api-tokens",
            &w.sup_tete,
            json!({"name": "sync", "actions": ["user.read"]}),
        )
        .await;
    assert_eq!(api_token.status, StatusCode::CREATED, "{}", api_token.body);
    let api_token = api_token.body["token"].as_str().unwrap().to_owned();
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{sup_id}/unlock"),
            &w.helpdesk,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        w.app.login("sup.tete", PASSWORD).await.status,
        StatusCode::OK
    );
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{sup_id}/sessions/revoke"),
            &w.helpdesk,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.app.get("/api/v1/me", &w.sup_tete).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.get("/api/v1/users", &api_token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn web_and_api_sessions_have_their_own_idle_and_absolute_lifetimes() {
    let mut settings = SettingsConfig::default();
    settings.sessions.web_idle_minutes = 30;
    settings.sessions.web_absolute_hours = 8;
    settings.sessions.api_idle_minutes = 120;
    settings.sessions.api_absolute_hours = 3;
    let app = TestApp::with(settings, WebConfig::default()).await;
    app.import_boundaries(COUNTRY).await;
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "Amélia", "Nhantumbo")
        .await;
    let api = app.token("admin").await;
    let web = app
        .cadre
        .login_web(
            &RequestMeta::default(),
            LoginRequest {
                username: "admin".into(),
                password: PASSWORD.into(),
            },
        )
        .await
        .unwrap()
        .token;
    // 31 idle minutes end the browser session, not the API one.
    app.clock.advance(31 * 60);
    assert_eq!(
        app.get("/api/v1/me", &web).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/v1/me", &api).await.status, StatusCode::OK);
    // Kept busy, the API session still ends at its absolute limit.
    app.clock.advance(100 * 60);
    assert_eq!(app.get("/api/v1/me", &api).await.status, StatusCode::OK);
    app.clock.advance(50 * 60);
    assert_eq!(
        app.get("/api/v1/me", &api).await.status,
        StatusCode::UNAUTHORIZED
    );
    // An idle API session ends after its own idle limit.
    let api = app.token("admin").await;
    app.clock.advance(121 * 60);
    assert_eq!(
        app.get("/api/v1/me", &api).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reasons = single_text(
        &app,
        "SELECT revoke_reason AS v FROM sessions WHERE revoke_reason IS NOT NULL",
    )
    .await;
    assert_eq!(reasons, vec!["idle", "idle"]);
}

#[tokio::test]
async fn me_sessions_lists_and_revokes_only_my_own() {
    let w = World::new().await;
    let second = w.app.token("sup.tete").await;
    let list = w.app.get("/api/v1/me/sessions", &w.sup_tete).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(items
        .iter()
        .all(|s| s["kind"] == "api" && s.get("token_hash").is_none()));
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Somebody else's session is not found.
    let r = delete(&w.app, &format!("/api/v1/me/sessions/{other}"), &w.helpdesk).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = delete(&w.app, &format!("/api/v1/me/sessions/{other}"), &w.sup_tete).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.app.get("/api/v1/me", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.get("/api/v1/me", &w.sup_tete).await.status,
        StatusCode::OK
    );
    let list = w.app.get("/api/v1/me/sessions", &w.sup_tete).await;
    assert_eq!(list.body["total"], 1);
}

#[tokio::test]
async fn deactivation_and_password_change_end_sessions() {
    let w = World::new().await;
    let first = w.app.token("joao.lopes").await;
    let second = w.app.token("joao.lopes").await;
    let r = w
        .app
        .post(
            "/api/v1/me/password",
            &first,
            json!({"current_password": PASSWORD, "new_password": "simba river 9"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.app.get("/api/v1/me", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.app.get("/api/v1/me", &first).await.status, StatusCode::OK);
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "RESIGNED"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        w.app.get("/api/v1/me", &first).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---------------------------------------------------------------- API tokens

#[tokio::test]
async fn api_tokens_carry_a_subset_of_actions_are_shown_once_and_stored_hashed() {
    let w = World::new().await;
    let created = w
        .app
        .post(
            "/api/v1/api-tokens",
            &w.sup_tete,
            json!({"name": "DHIS2 sync", "actions": ["user.read"], "expires_in_days": 30}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let token = created.body["token"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cadre_"));
    assert_eq!(created.body["actions"], json!(["user.read"]));
    // It reads users in the owner's scope, and does nothing else.
    let read = w.app.get("/api/v1/users", &token).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let names: Vec<&str> = read.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"joao.lopes") && !names.contains(&"ana.sitoe"),
        "{names:?}"
    );
    let write = w
        .app
        .post(
            "/api/v1/users",
            &token,
            worker("x.y", &["REGISTRAR"], json!({"method": "none"})),
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    // A token cannot mint tokens.
    let minted = w
        .app
        .post(
            "/api/v1/api-tokens",
            &token,
            json!({"name": "more", "actions": ["user.read"]}),
        )
        .await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN);
    assert_eq!(minted.body["code"], "session_required");
    // Only actions the owner holds.
    let r = w
        .app
        .post(
            "/api/v1/api-tokens",
            &w.sup_tete,
            json!({"name": "roles", "actions": ["user.read", "role.manage"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.error_code_of("actions[1]").as_deref(),
        Some("action_not_held")
    );
    let r = w
        .app
        .post(
            "/api/v1/api-tokens",
            &w.sup_tete,
            json!({"name": "", "actions": [], "expires_in_days": 9999}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["name", "expires_in_days", "actions"]);
    // Listed without the token; stored only as a hash.
    let list = w.app.get("/api/v1/api-tokens", &w.sup_tete).await;
    assert_eq!(list.body["total"], 1);
    assert!(list.body["items"][0].get("token").is_none());
    assert!(!list.body.to_string().contains(&token));
    let stored = single_text(&w.app, "SELECT token_hash AS v FROM api_tokens").await;
    assert!(stored.len() == 1 && !stored[0].contains(&token[6..]));
    // Someone else cannot revoke it; the owner can.
    assert_eq!(
        delete(&w.app, &format!("/api/v1/api-tokens/{id}"), &w.helpdesk)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&w.app, &format!("/api/v1/api-tokens/{id}"), &w.sup_tete)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.app.get("/api/v1/users", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Equal timestamps under the fixed test clock: compare as a set.
    let mut audit = single_text(
        &w.app,
        "SELECT action AS v FROM audit_events WHERE action LIKE 'api_token.%'",
    )
    .await;
    audit.sort();
    assert_eq!(audit, vec!["api_token.create", "api_token.revoke"]);
}

#[tokio::test]
async fn an_administrator_issues_a_token_for_a_service_account_and_it_expires() {
    let w = World::new().await;
    let account = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({"username": "svc.dhis2", "credential": {"method": "none"}, "roles": ["HELPDESK"], "jurisdictions": ["MZ"]}),
        )
        .await;
    assert_eq!(account.status, StatusCode::CREATED, "{}", account.body);
    let account_id = account.body["id"].as_str().unwrap();
    let r = w
        .app
        .post(
            "/api/v1/api-tokens",
            &w.admin,
            json!({"name": "export", "actions": ["role.manage"], "user_id": account_id}),
        )
        .await;
    assert_eq!(
        r.error_code_of("actions[0]").as_deref(),
        Some("action_not_held"),
        "the account does not hold it"
    );
    let r = w
        .app
        .post("/api/v1/api-tokens", &w.admin, json!({"name": "export", "actions": ["user.read"], "user_id": account_id, "expires_in_days": 1}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["user_id"], account_id);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let me = w.app.get("/api/v1/me", &token).await;
    assert_eq!(me.body["username"], "svc.dhis2");
    assert_eq!(me.body["actions"], json!(["user.read"]));
    // A supervisor cannot issue one for an account outside their reach.
    let r = w
        .app
        .post(
            "/api/v1/api-tokens",
            &w.sup_tete,
            json!({"name": "x", "actions": ["user.read"], "user_id": account_id}),
        )
        .await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.status
    );
    w.app.clock.advance(86_400 + 1);
    assert_eq!(
        w.app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn credential_routes_are_documented() {
    let app = TestApp::new().await;
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let paths = doc.body["paths"].as_object().unwrap();
    for (method, path) in [
        ("post", "/api/v1/auth/recovery"),
        ("post", "/api/v1/auth/recovery/confirm"),
        ("post", "/api/v1/auth/link"),
        ("get", "/api/v1/me/sessions"),
        ("delete", "/api/v1/me/sessions/{id}"),
        ("post", "/api/v1/api-tokens"),
        ("get", "/api/v1/api-tokens"),
        ("delete", "/api/v1/api-tokens/{id}"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
}
