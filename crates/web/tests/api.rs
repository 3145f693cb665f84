//! The JSON API, end to end over HTTP, on whichever backend the environment selects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/bulk.rs"]
mod bulk;
#[path = "api/campaigns.rs"]
mod campaigns;
#[path = "api/credentials.rs"]
mod credentials;
#[path = "api/documents.rs"]
mod documents;
#[path = "api/export.rs"]
mod export;
#[path = "api/history.rs"]
mod history;
#[path = "api/hostile.rs"]
mod hostile;
#[path = "api/limits.rs"]
mod limits;
#[path = "api/notifications.rs"]
mod notifications;
#[path = "api/races.rs"]
mod races;
#[path = "api/storage.rs"]
mod storage;
mod support;
#[path = "api/ui_admin.rs"]
mod ui_admin;
#[path = "api/ui_lifecycle.rs"]
mod ui_lifecycle;
#[path = "api/ui_users.rs"]
mod ui_users;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use support::{found, TestApp, World, COUNTRY, PASSWORD};

fn full_user(username: &str, jurisdiction: &str) -> Value {
    json!({
        "username": username,
        "credential": {"method": "set", "password": PASSWORD},
        "first_name": "Maria", "last_name": "Lopes",
        "mobile_number": "84 123 4567",
        "gender": "female", "date_of_birth": "1990-04-01",
        "email": "maria@example.org", "correspondence_address": "Rua 2",
        "roles": ["REGISTRAR"], "employment_type": "CONTRACTUAL", "department": "NMCP",
        "jurisdictions": [jurisdiction]
    })
}

// ---------------------------------------------------------------- operations

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let app = TestApp::new().await;
    let health = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    assert_eq!(ready.body["status"], "ready");
    assert!(ready.headers.get("x-request-id").is_some());
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "cadre_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("cadre_database_up 1"));
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::new().await;
    app.db.close().await;
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.body["code"], "database_unavailable");
    assert!(ready.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn openapi_document_lists_every_route_of_the_contract() {
    let app = TestApp::new().await;
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().unwrap();
    let expected = [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/me/password"),
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/users/{id}"),
        ("patch", "/api/v1/users/{id}"),
        ("post", "/api/v1/users/{id}/credentials"),
        ("post", "/api/v1/users/{id}/sessions/revoke"),
        ("post", "/api/v1/users/{id}/unlock"),
        ("get", "/api/v1/users/{id}/history"),
        ("get", "/api/v1/usernames/suggest"),
        ("get", "/api/v1/boundaries"),
        ("post", "/api/v1/boundaries"),
        ("get", "/api/v1/boundaries/{code}"),
        ("post", "/api/v1/boundaries/import"),
        ("get", "/api/v1/actions"),
        ("get", "/api/v1/roles"),
        ("post", "/api/v1/roles"),
        ("get", "/api/v1/roles/{code}"),
        ("put", "/api/v1/roles/{code}"),
        ("get", "/api/v1/master-data"),
        ("put", "/api/v1/master-data/{list}"),
        ("get", "/api/v1/audit"),
    ];
    for (method, path) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    // Every documented operation is really routed (no 404 from the fallback).
    let admin_less = app.call(Method::GET, "/api/v1/users", None, None).await;
    assert_eq!(admin_less.status, StatusCode::UNAUTHORIZED);
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "00000000-0000-0000-0000-000000000000")
                .replace("{code}", "X")
                .replace("{list}", "genders");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .client
                .request(m, format!("{}{concrete}", app.base))
                .send()
                .await
                .unwrap();
            assert_ne!(
                r.status(),
                StatusCode::NOT_FOUND,
                "{method} {path} is documented but not routed"
            );
            assert_ne!(
                r.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_answer_problem_json() {
    let app = TestApp::new().await;
    let r = app.call(Method::GET, "/api/v1/nothing", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["code"], "not_found");
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn one_answer_for_unknown_user_and_wrong_password() {
    let w = World::new().await;
    let wrong = w.app.login("admin", "not the password").await;
    let unknown = w.app.login("nobody.here", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    assert_eq!(wrong.body["code"], "invalid_credentials");
    assert_eq!(unknown.body["code"], "invalid_credentials");
}

#[tokio::test]
async fn login_returns_token_expiry_and_user_and_me_shows_actions_and_scope() {
    let w = World::new().await;
    let login = w.app.login("sup.tete", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body["token"].as_str().unwrap().len() >= 40);
    assert!(login.body["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(login.body["user"]["username"], "sup.tete");
    assert!(login.body["user"].get("password_hash").is_none());
    let me = w.app.get("/api/v1/me", &w.sup_tete).await;
    assert_eq!(me.status, StatusCode::OK);
    let actions: Vec<&str> = me.body["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user.create") && !actions.contains(&"role.manage"),
        "{actions:?}"
    );
    assert_eq!(
        me.body["scope"],
        json!({"global": false, "boundaries": ["TETE"]})
    );
    let me = w.app.get("/api/v1/me", &w.helpdesk).await;
    assert_eq!(me.body["scope"]["global"], true);
}

#[tokio::test]
async fn session_tokens_are_stored_only_as_hashes() {
    let w = World::new().await;
    let mut conn = w.app.db.reader().await.unwrap();
    let rows = cadre_store::sql::Sql::new("SELECT token_hash FROM sessions")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let stored = cadre_store::sql::text(&row, "token_hash").unwrap();
        assert_ne!(stored, w.admin);
        assert_eq!(stored.len(), 64);
    }
    let hashes =
        cadre_store::sql::Sql::new("SELECT password_hash FROM users WHERE username = 'admin'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let hash = cadre_store::sql::text(&hashes[0], "password_hash").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[tokio::test]
async fn deactivated_account_is_refused_only_after_a_correct_password() {
    let w = World::new().await;
    w.app
        .sql("UPDATE users SET status = 'deactivated' WHERE username = 'joao.lopes'")
        .await
        .unwrap();
    let wrong = w.app.login("joao.lopes", "wrong password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = w.app.login("joao.lopes", PASSWORD).await;
    assert_eq!(right.status, StatusCode::FORBIDDEN);
    assert_eq!(right.body["code"], "account_deactivated");
}

#[tokio::test]
async fn repeated_failures_slow_the_account_down_then_release_it() {
    let w = World::new().await;
    for _ in 0..5 {
        assert_eq!(
            w.app.login("joao.lopes", "bad guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Five failures are free; then a hold starts, and while it lasts even the right
    // password waits (and is not even checked).
    let held = w.app.login("joao.lopes", PASSWORD).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(held.body["code"], "account_locked");
    let retry: u64 = held.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry));
    // Unknown names are held back the same way, revealing nothing.
    for _ in 0..5 {
        assert_eq!(
            w.app.login("ghost", "x").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        w.app.login("ghost", "x").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let refused = w
        .app
        .get(
            "/api/v1/audit?action=auth.login&target=joao.lopes",
            &w.admin,
        )
        .await;
    assert!(
        refused.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "locked"),
        "held attempts are audited too"
    );
    w.app.clock.advance(301);
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::OK
    );
    // Success resets the count: one failure does not hold again.
    assert_eq!(
        w.app.login("joao.lopes", "bad").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn helpdesk_unlocks_a_held_account() {
    let w = World::new().await;
    for _ in 0..7 {
        w.app.login("joao.lopes", "bad guess").await;
    }
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/unlock", w.tete_worker),
            &w.helpdesk,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn per_client_rate_limit_answers_429_with_retry_after() {
    let mut settings = cadre_service::settings::SettingsConfig::default();
    settings.login.per_client_per_minute = 3;
    let app = TestApp::with(settings, cadre_web::WebConfig::default()).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("someone", "x").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login("someone-else", "x").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.body["code"], "rate_limited");
    assert!(limited.headers.get("retry-after").is_some());

    // A flood of refused sign-ins, many at once, leaves a few audit rows, not one each.
    let flood = futures::future::join_all((0..499).map(|_| app.login("someone-else", "x"))).await;
    assert!(flood
        .iter()
        .all(|r| r.status == StatusCode::TOO_MANY_REQUESTS));
    let mut conn = app.db.reader().await.unwrap();
    let rows = cadre_store::sql::Sql::new(
        "SELECT after_json AS v FROM audit_events WHERE action = 'auth.login' AND outcome = 'rate_limited' ORDER BY occurred_at",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let counts: Vec<String> = rows
        .iter()
        .map(|row| cadre_store::sql::text(row, "v").unwrap())
        .collect();
    assert_eq!(
        counts.len(),
        3,
        "the 1st, 10th and 100th of 500 refusals: {counts:?}"
    );
    assert!(counts[2].contains("100"), "{counts:?}");
}

#[tokio::test]
async fn password_change_ends_other_sessions_and_logout_ends_this_one() {
    let w = World::new().await;
    let first = w.app.token("joao.lopes").await;
    let second = w.app.token("joao.lopes").await;
    let wrong = w
        .app
        .post(
            "/api/v1/me/password",
            &first,
            json!({"current_password": "nope", "new_password": "a brand new secret"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.error_code_of("current_password").as_deref(),
        Some("incorrect_password")
    );
    let weak = w
        .app
        .post(
            "/api/v1/me/password",
            &first,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        weak.error_code_of("new_password").as_deref(),
        Some("password_too_short")
    );
    let ok = w
        .app
        .post(
            "/api/v1/me/password",
            &first,
            json!({"current_password": PASSWORD, "new_password": "a brand new secret"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    assert_eq!(
        w.app.get("/api/v1/me", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.app.get("/api/v1/me", &first).await.status, StatusCode::OK);
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.app.login("joao.lopes", "a brand new secret").await.status,
        StatusCode::OK
    );
    assert_eq!(
        w.app
            .post("/api/v1/auth/logout", &first, json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.app.get("/api/v1/me", &first).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn administrator_ends_a_users_sessions() {
    let w = World::new().await;
    let worker = w.app.token("joao.lopes").await;
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/sessions/revoke", w.tete_worker),
            &w.sup_tete,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.app.get("/api/v1/me", &worker).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn missing_or_garbage_tokens_are_401_with_www_authenticate() {
    let app = TestApp::new().await;
    let none = app.call(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    let garbage = app.get("/api/v1/me", "definitely-not-a-token").await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.body["code"], "unauthenticated");
}

// ---------------------------------------------------------------- users

#[tokio::test]
async fn create_full_user_returns_201_etag_location_and_e164() {
    let w = World::new().await;
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.sup_tete,
            full_user("maria.lopes", "ULONGUE"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.headers["etag"], "\"1\"");
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        r.headers["location"],
        format!("/api/v1/users/{id}").as_str()
    );
    assert_eq!(r.body["mobile_number"], "+258841234567");
    assert_eq!(r.body["gender"], "FEMALE");
    assert_eq!(r.body["profile_complete"], true);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["version"], 1);
    for field in [
        "id",
        "username",
        "status",
        "profile_complete",
        "version",
        "first_name",
        "last_name",
        "mobile_number",
        "father_or_husband_name",
        "gender",
        "date_of_birth",
        "email",
        "correspondence_address",
        "roles",
        "employment_type",
        "date_of_employment",
        "designation",
        "department",
        "jurisdictions",
        "assignments",
        "must_change_password",
        "deactivation",
        "replaced_by",
        "replaces",
        "created_at",
        "updated_at",
    ] {
        assert!(r.body.get(field).is_some(), "user object lacks {field}");
    }
    assert_eq!(
        w.app.login("maria.lopes", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn global_admin_may_create_with_username_and_password_only() {
    let w = World::new().await;
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({"username": "bare", "credential": {"method": "set", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["profile_complete"], false);
    let incomplete = w
        .app
        .get("/api/v1/users?profile_complete=false", &w.admin)
        .await;
    assert_eq!(
        incomplete.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["username"] == "bare")
            .count(),
        1
    );
    // Completing the required fields flips the flag.
    let id = r.body["id"].as_str().unwrap();
    let done = w.app.patch(&format!("/api/v1/users/{id}"), &w.admin, json!({
        "first_name": "Bá", "last_name": "Re", "email": "bare@example.org", "correspondence_address": "Rua 3",
        "roles": ["REGISTRAR"], "employment_type": "PERMANENT", "department": "NMCP"})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["profile_complete"], true);
}

#[tokio::test]
async fn scoped_manager_must_give_required_fields_and_a_boundary() {
    let w = World::new().await;
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.sup_tete,
            json!({"username": "bare", "credential": {"method": "set", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = r.error_fields();
    for f in [
        "first_name",
        "last_name",
        "email",
        "correspondence_address",
        "roles",
        "employment_type",
        "department",
        "jurisdictions",
    ] {
        assert!(
            fields.contains(&f.to_owned()),
            "{f} not reported: {fields:?}"
        );
    }
}

#[tokio::test]
async fn every_invalid_value_is_reported_at_once_by_field() {
    let w = World::new().await;
    let r = w.app.post("/api/v1/users", &w.admin, json!({
        "username": "Bad Name!", "first_name": "Ok", "last_name": "Ok",
        "mobile_number": "12", "gender": "robot", "date_of_birth": "2999-01-01",
        "date_of_employment": "2024-02-30", "email": "not-an-email", "roles": ["REGISTRAR", "WIZARD"],
        "employment_type": "forever", "department": "NOPE", "jurisdictions": ["ATLANTIS"],
        "credential": {"method": "set", "password": "short"}
    })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let expected = [
        ("username", "invalid_username"),
        ("mobile_number", "invalid_mobile_number"),
        ("gender", "unknown_value"),
        ("date_of_birth", "date_not_in_past"),
        ("date_of_employment", "invalid_date"),
        ("email", "invalid_email"),
        ("roles[1]", "unknown_role"),
        ("employment_type", "unknown_value"),
        ("department", "unknown_value"),
        ("jurisdictions[0]", "unknown_boundary"),
        ("credential.password", "password_too_short"),
    ];
    for (field, code) in expected {
        assert_eq!(
            r.error_code_of(field).as_deref(),
            Some(code),
            "{field}: {}",
            r.body
        );
    }
    assert_eq!(r.body["status"], 422);
    assert_eq!(r.body["code"], "validation_failed");
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively_and_never_editable() {
    let w = World::new().await;
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            full_user("Joao.Lopes", "ULONGUE"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "username_taken");
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"username": "someone.else"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.error_code_of("username").as_deref(),
        Some("username_immutable")
    );
    let stored = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(stored.body["username"], "joao.lopes");
}

#[tokio::test]
async fn usernames_are_generated_transliterated_and_numbered() {
    let w = World::new().await;
    let suggest = w
        .app
        .get(
            "/api/v1/usernames/suggest?first_name=Jo%C3%A3o&last_name=Lopes",
            &w.sup_tete,
        )
        .await;
    assert_eq!(suggest.status, StatusCode::OK);
    assert_eq!(suggest.body["username"], "joao.lopes2");
    let mut body = full_user("", "ULONGUE");
    body.as_object_mut().unwrap().remove("username");
    body["first_name"] = json!("João");
    body["last_name"] = json!("Lopes");
    let first = w.app.post("/api/v1/users", &w.sup_tete, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["username"], "joao.lopes2");
    body["mobile_number"] = json!("84 765 4321");
    let second = w.app.post("/api/v1/users", &w.sup_tete, body.clone()).await;
    assert_eq!(second.body["username"], "joao.lopes3");
    body["first_name"] = json!("Françoise Élodie");
    body["last_name"] = json!("N'Guessan");
    let third = w.app.post("/api/v1/users", &w.sup_tete, body).await;
    assert_eq!(third.body["username"], "francoise.elodie.nguessan");
}

#[tokio::test]
async fn generated_password_is_shown_once_and_must_be_changed() {
    let w = World::new().await;
    let mut body = full_user("gen.user", "ULONGUE");
    body["credential"] = json!({"method": "generate"});
    let r = w.app.post("/api/v1/users", &w.sup_tete, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let password = r.body["generated_password"].as_str().unwrap().to_owned();
    assert_eq!(r.body["must_change_password"], true);
    let id = r.body["id"].as_str().unwrap();
    let read = w.app.get(&format!("/api/v1/users/{id}"), &w.sup_tete).await;
    assert!(read.body.get("generated_password").is_none());
    let login = w.app.login("gen.user", &password).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["user"]["must_change_password"], true);
    // A reset by the helpdesk gives a new one and ends the user's sessions.
    let token = login.body["token"].as_str().unwrap().to_owned();
    let reset = w
        .app
        .post(
            &format!("/api/v1/users/{id}/credentials"),
            &w.helpdesk,
            json!({"method": "generate"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let again = reset.body["generated_password"].as_str().unwrap();
    assert_ne!(again, password);
    assert_eq!(
        w.app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(w.app.login("gen.user", again).await.status, StatusCode::OK);
}

#[tokio::test]
async fn stale_if_match_gets_412_and_etag_follows_the_version() {
    let w = World::new().await;
    let path = format!("/api/v1/users/{}", w.tete_worker);
    let read = w.app.get(&path, &w.sup_tete).await;
    assert_eq!(read.headers["etag"], "\"1\"");
    let patch = |version: &'static str, name: &'static str| {
        let request = w
            .app
            .client
            .patch(format!("{}{path}", w.app.base))
            .bearer_auth(&w.sup_tete)
            .header("if-match", version)
            .json(&json!({"designation": name}));
        async move { TestApp::read(request.send().await.unwrap()).await }
    };
    let first = patch("\"1\"", "Lead").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.headers["etag"], "\"2\"");
    assert_eq!(first.body["version"], 2);
    let stale = patch("\"1\"", "Overwrite").await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.body["code"], "stale_version");
    let now = w.app.get(&path, &w.sup_tete).await;
    assert_eq!(now.body["designation"], "Lead");
}

#[tokio::test]
async fn concurrent_edits_with_if_match_have_exactly_one_winner() {
    let w = World::new().await;
    let path = format!("{}/api/v1/users/{}", w.app.base, w.tete_worker);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let request = w
            .app
            .client
            .patch(&path)
            .bearer_auth(&w.sup_tete)
            .header("if-match", "\"1\"")
            .json(&json!({"designation": format!("writer {i}")}));
        tasks.push(tokio::spawn(async move {
            request.send().await.unwrap().status()
        }));
    }
    let mut ok = 0;
    let mut stale = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::PRECONDITION_FAILED => stale += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, stale), (1, 7));
}

#[tokio::test]
async fn patch_null_clears_and_required_fields_stay() {
    let w = World::new().await;
    let path = format!("/api/v1/users/{}", w.tete_worker);
    let r = w
        .app
        .patch(
            &path,
            &w.sup_tete,
            json!({"designation": "X", "father_or_husband_name": "Pedro"}),
        )
        .await;
    assert_eq!(r.body["father_or_husband_name"], "Pedro");
    let r = w
        .app
        .patch(&path, &w.sup_tete, json!({"father_or_husband_name": null}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["father_or_husband_name"], Value::Null);
    assert_eq!(r.body["designation"], "X");
    let r = w
        .app
        .patch(&path, &w.sup_tete, json!({"email": null}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_code_of("email").as_deref(), Some("required"));
    let r = w
        .app
        .patch(&path, &w.sup_tete, json!({"status": "deactivated"}))
        .await;
    assert_eq!(r.error_code_of("status").as_deref(), Some("read_only"));
}

// ---------------------------------------------------------------- search

#[tokio::test]
async fn search_by_name_username_mobile_and_email() {
    let w = World::new().await;
    w.app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"mobile_number": "+258 84 123 4567"}),
        )
        .await;
    for query in [
        "name=joao",
        "name=JO%C3%83O",
        "name=lop",
        "name=Jo%C3%A3o%20Lopes",
        "q=jo%C3%A3o",
        "username=joao.",
        "q=joao.l",
        "mobile_number=841234567",
        "mobile_number=%2B258%2084%20123%204567",
        "mobile_number=00258841234567",
        "mobile_number=84-123",
        "q=84%20123%204567",
        "email=JOAO.LOPES%40example",
        "q=joao.lopes%40example.org",
    ] {
        let r = w.app.get(&format!("/api/v1/users?{query}"), &w.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(r.usernames(), vec!["joao.lopes"], "{query}");
        assert_eq!(r.body["total"], 1, "{query}");
    }
    // Each name here holds the first and the last trigram of the fragment, which is
    // all the trigram table is asked for, but not the fragment itself.
    for query in ["name=loppes", "name=joalopes", "name=ao%20loppes"] {
        let r = w.app.get(&format!("/api/v1/users?{query}"), &w.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(r.body["total"], 0, "{query}: {}", r.body);
    }
}

#[tokio::test]
async fn search_by_place_finds_each_subtree_whatever_its_code_looks_like() {
    let w = World::new().await;
    // Codes too short for the trigram index, one holding another whole, and the
    // punctuation codes may have.
    w.app
        .import_boundaries(
            "code,name,level,parent_code
AB,Distrito AB,DISTRICT,TETE
AB1,Aldeia AB1,VILLAGE,AB
D03,Distrito D03,DISTRICT,NIASSA
V_1.x-2,Aldeia V,VILLAGE,D03
D0301,Aldeia D0301,VILLAGE,ANGONIA
",
        )
        .await;
    for (username, roles, place, first, last) in [
        ("lopes.d0301", "REGISTRAR", "D0301", "Ana", "Lopes"),
        ("lopes.v", "REGISTRAR", "V_1.x-2", "Rui", "Lopes"),
        ("lopes.ab1", "REGISTRAR", "AB1", "Zé", "Lopes"),
        ("bila.ab", "REGISTRAR", "AB", "Inês", "Bila"),
        ("sup.d03", "SUPERVISOR", "D03", "Rosa", "Cumbe"),
        ("sup.ab", "SUPERVISOR", "AB", "Tomás", "Langa"),
    ] {
        w.app
            .seed_user(username, &[roles], &[place], first, last)
            .await;
    }
    for (query, expected) in [
        ("boundary=D03", vec!["lopes.v", "sup.d03"]),
        ("boundary=D0301", vec!["lopes.d0301"]),
        ("boundary=V_1.x-2", vec!["lopes.v"]),
        ("boundary=AB", vec!["bila.ab", "lopes.ab1", "sup.ab"]),
        ("name=lopes&boundary=D03", vec!["lopes.v"]),
        ("name=lopes&boundary=AB", vec!["lopes.ab1"]),
        ("q=lopes&boundary=D0301", vec!["lopes.d0301"]),
        ("boundary=D03&sort=-username", vec!["sup.d03", "lopes.v"]),
    ] {
        assert_eq!(found(&w, &w.admin, query).await, expected, "{query}");
    }
    let sup_d03 = w.app.token("sup.d03").await;
    assert_eq!(found(&w, &sup_d03, "").await, vec!["lopes.v", "sup.d03"]);
    assert_eq!(found(&w, &sup_d03, "name=lopes").await, vec!["lopes.v"]);
    assert_eq!(found(&w, &sup_d03, "q=lop").await, vec!["lopes.v"]);
    let sup_ab = w.app.token("sup.ab").await;
    assert_eq!(
        found(&w, &sup_ab, "").await,
        vec!["bila.ab", "lopes.ab1", "sup.ab"]
    );
    assert_eq!(found(&w, &sup_ab, "name=lopes").await, vec!["lopes.ab1"]);
}

#[tokio::test]
async fn a_few_users_among_thousands_are_found_page_by_page_in_every_order() {
    let w = World::new().await;
    w.app
        .import_boundaries(
            "code,name,level,parent_code
RARE,Rara,VILLAGE,MOATIZE
CROWD,Multidão,DISTRICT,NIASSA
CROWDV,Aldeia cheia,VILLAGE,CROWD
",
        )
        .await;
    // More users than a page walks in sort order before it turns to the places' index,
    // all in one village; one of them also in a village with only two others.
    w.app
        .sql(
            "INSERT INTO users (id, username, status, profile_complete, version, first_name,
                last_name, name_folded, must_change_password, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
             SELECT 'crowd-' || i, 'crowd.' || (100000 + i), 'active', TRUE, 1, 'Crowd',
                'Member', 'crowd member', FALSE, '2026-01-01T00:00:00.000000Z',
                '2026-01-01T00:00:00.000000Z'
             FROM n",
        )
        .await
        .unwrap();
    w.app
        .sql(
            "INSERT INTO user_jurisdictions (user_id, boundary_code)
             SELECT id, 'CROWDV' FROM users WHERE id LIKE 'crowd-%'",
        )
        .await
        .unwrap();
    w.app
        .sql(
            "INSERT INTO user_jurisdictions (user_id, boundary_code) VALUES ('crowd-6000', 'RARE')",
        )
        .await
        .unwrap();
    w.app
        .seed_user("aaa.rare", &["REGISTRAR"], &["RARE"], "Aida", "Rare")
        .await;
    w.app
        .seed_user("zzz.rare", &["REGISTRAR"], &["RARE"], "Zeca", "Rare")
        .await;
    let rare = vec!["aaa.rare", "crowd.106000", "zzz.rare"];
    for sort in ["username", "name"] {
        assert_eq!(
            every_page(&w, &format!("boundary=RARE&limit=2&sort={sort}"), 3).await,
            rare,
            "{sort}"
        );
        let mut backwards = rare.clone();
        backwards.reverse();
        assert_eq!(
            every_page(&w, &format!("boundary=RARE&limit=1&sort=-{sort}"), 3).await,
            backwards,
            "-{sort}"
        );
    }
    for sort in ["created_at", "-updated_at"] {
        let mut seen = every_page(&w, &format!("boundary=RARE&limit=2&sort={sort}"), 3).await;
        seen.sort();
        assert_eq!(seen, rare, "{sort}");
    }
    let crowd = w
        .app
        .get("/api/v1/users?boundary=CROWD&limit=3", &w.admin)
        .await;
    assert_eq!(crowd.status, StatusCode::OK, "{}", crowd.body);
    assert_eq!(crowd.body["total"], 12000);
    assert_eq!(
        crowd.usernames(),
        vec!["crowd.100001", "crowd.100002", "crowd.100003"]
    );
    let last = w
        .app
        .get(
            "/api/v1/users?boundary=CROWD&limit=2&sort=-username",
            &w.admin,
        )
        .await;
    assert_eq!(last.usernames(), vec!["crowd.112000", "crowd.111999"]);

    w.app
        .seed_user("sup.rare", &["SUPERVISOR"], &["RARE"], "Sara", "Tembe")
        .await;
    let supervisor = w.app.token("sup.rare").await;
    assert_eq!(
        found(&w, &supervisor, "").await,
        vec!["aaa.rare", "crowd.106000", "sup.rare", "zzz.rare"]
    );
    assert_eq!(
        found(&w, &supervisor, "sort=-name").await,
        vec!["zzz.rare", "sup.rare", "crowd.106000", "aaa.rare"]
    );
}

/// The usernames on every page of the admin's search `query`, following the cursor to
/// the end; each page must hold at most `limit` users and give the same `total`.
async fn every_page(w: &World, query: &str, total: i64) -> Vec<String> {
    let limit: usize = query
        .split('&')
        .find_map(|p| p.strip_prefix("limit="))
        .and_then(|l| l.parse().ok())
        .unwrap_or(50);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/users?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = w.app.get(&path, &w.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
        assert_eq!(r.body["total"], total, "{query}: {}", r.body);
        let page = r.usernames();
        assert!(page.len() <= limit, "{query}: {}", r.body);
        seen.extend(page);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    seen
}

#[tokio::test]
async fn a_name_thousands_share_is_counted_and_paged_exactly_through_every_change() {
    let w = World::new().await;
    // 150 namesakes written straight into the table (as a migration or a restore
    // would), every tenth deactivated, and two created through the service.
    w.app
        .sql(
            "INSERT INTO users (id, username, status, profile_complete, version, first_name,
                last_name, name_folded, must_change_password, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
             SELECT 'namesake-' || i, 'mac.' || (1000 + i),
                CASE WHEN i % 10 = 0 THEN 'deactivated' ELSE 'active' END, TRUE, 1, 'Ana',
                'Macuácua', 'ana macuacua', FALSE, '2026-01-01T00:00:00.000000Z',
                '2026-01-01T00:00:00.000000Z'
             FROM n",
        )
        .await
        .unwrap();
    let rui = w
        .app
        .seed_user("aaa.rui", &["REGISTRAR"], &["ULONGUE"], "Rui", "Macuácua")
        .await;
    let zeca = w
        .app
        .seed_user("zzz.zeca", &["REGISTRAR"], &["ULONGUE"], "Zeca", "Macuacua")
        .await;
    let namesakes = |status: &str| -> Vec<String> {
        let mut names: Vec<String> = (1..=150)
            .filter(|i| match status {
                "active" => i % 10 != 0,
                "deactivated" => i % 10 == 0,
                _ => true,
            })
            .map(|i| format!("mac.{}", 1000 + i))
            .collect();
        if status != "deactivated" {
            names.insert(0, "aaa.rui".into());
            names.push("zzz.zeca".into());
        }
        names
    };
    // The world's Tete supervisor, Rosa Macuácua, is one more.
    let mut active = namesakes("active");
    active.insert(active.len() - 1, "sup.tete".into());
    let mut everyone = namesakes("all");
    everyone.insert(everyone.len() - 1, "sup.tete".into());
    let total = |v: &[String]| v.len() as i64;

    for fragment in ["MACUÁCUA", "macuac", "cuacu", "acua"] {
        let query = format!("name={fragment}&limit=50");
        assert_eq!(
            every_page(&w, &query, total(&active)).await,
            active,
            "{query}"
        );
        let mut backwards = active.clone();
        backwards.reverse();
        let query = format!("name={fragment}&limit=40&sort=-username");
        assert_eq!(
            every_page(&w, &query, total(&active)).await,
            backwards,
            "{query}"
        );
    }
    // The one-box search finds them too, with a user whose username starts so.
    w.app
        .seed_user("macuac.t", &["REGISTRAR"], &["ULONGUE"], "Lina", "Tembe")
        .await;
    let mut by_q = active.clone();
    by_q.push("macuac.t".into());
    by_q.sort();
    assert_eq!(
        every_page(&w, "q=Macuac&limit=30", total(&by_q)).await,
        by_q
    );
    by_q.reverse();
    assert_eq!(
        every_page(&w, "q=macuac&limit=50&sort=-username", total(&by_q)).await,
        by_q
    );

    let gone = namesakes("deactivated");
    assert_eq!(
        every_page(&w, "name=macuacua&status=deactivated&limit=7", total(&gone)).await,
        gone
    );
    assert_eq!(
        every_page(&w, "name=macuacua&status=all&limit=64", total(&everyone)).await,
        everyone
    );
    // Other sort orders and filters find the same users.
    let mut by_name = every_page(&w, "name=macuacua&sort=name&limit=60", total(&active)).await;
    by_name.sort();
    assert_eq!(by_name, active);
    assert_eq!(
        every_page(&w, "name=macuacua&role=REGISTRAR", 2).await,
        ["aaa.rui", "zzz.zeca"]
    );

    // A new name, a deactivation and a reactivation move the users at once.
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{zeca}"),
            &w.admin,
            json!({"last_name": "Tembe"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    active.retain(|u| u != "zzz.zeca");
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{rui}/deactivate"),
            &w.admin,
            json!({"reason": "RESIGNED"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    active.retain(|u| u != "aaa.rui");
    assert_eq!(
        every_page(&w, "name=macuac&limit=100", total(&active)).await,
        active
    );
    let tembe = found(&w, &w.admin, "name=tembe").await;
    assert!(tembe.contains(&"zzz.zeca".to_owned()), "{tembe:?}");
    let deactivated = found(&w, &w.admin, "name=macuacua&status=deactivated").await;
    assert!(
        deactivated.contains(&"aaa.rui".to_owned()),
        "{deactivated:?}"
    );
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{rui}/reactivate"),
            &w.admin,
            json!({"reason": "REHIRED"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    active.insert(0, "aaa.rui".into());
    assert_eq!(
        every_page(&w, "name=macuac&limit=100", total(&active)).await,
        active
    );

    // A second word holding the fragment: both words' users, each once.
    w.app
        .seed_user(
            "mac.zz",
            &["REGISTRAR"],
            &["ULONGUE"],
            "Macuacuane",
            "Macuácua",
        )
        .await;
    w.app
        .seed_user(
            "bbb.lina",
            &["REGISTRAR"],
            &["ULONGUE"],
            "Lina",
            "Macuacuane",
        )
        .await;
    let mut both = active.clone();
    both.push("mac.zz".into());
    both.push("bbb.lina".into());
    both.sort();
    assert_eq!(
        every_page(&w, "name=macuac&limit=50", total(&both)).await,
        both
    );
    assert_eq!(
        every_page(&w, "name=macuacuane", 2).await,
        ["bbb.lina", "mac.zz"]
    );
}

#[tokio::test]
async fn writers_bringing_the_same_new_words_in_opposite_orders_both_commit() {
    let w = World::new().await;
    // Each writer holds its transaction open across two new users, as a bulk batch
    // does. On PostgreSQL the two interleave, and a word new to both must make neither
    // wait for the other: with a unique vocabulary each would wait for the word the
    // other wrote first, a deadlock. On SQLite the second waits for the first to commit.
    let writer = |id: &'static str, words: [&'static str; 2]| {
        let db = w.app.db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await?;
            for (i, word) in words.into_iter().enumerate() {
                let mut insert = cadre_store::sql::Sql::new(
                    "INSERT INTO users (id, username, status, profile_complete, version, \
                     first_name, last_name, name_folded, must_change_password, created_at, \
                     updated_at) VALUES (",
                );
                insert
                    .bind(format!("{id}-{i}"))
                    .push(", ")
                    .bind(format!("{id}.{i}"))
                    .push(", 'active', TRUE, 1, ")
                    .bind(word)
                    .push(", 'Tembe', ")
                    .bind(format!("{word} tembe"))
                    .push(", FALSE, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')");
                insert.execute(&mut tx).await?;
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            tx.commit().await
        })
    };
    let first = writer("wa", ["novaum", "novadois"]);
    let second = writer("wb", ["novadois", "novaum"]);
    first.await.unwrap().expect("the first writer commits");
    second.await.unwrap().expect("the second writer commits");

    assert_eq!(found(&w, &w.admin, "name=novaum").await, ["wa.0", "wb.1"]);
    assert_eq!(found(&w, &w.admin, "q=NOVADOIS").await, ["wa.1", "wb.0"]);
    assert_eq!(
        found(&w, &w.admin, "name=nova tembe").await,
        ["wa.0", "wa.1", "wb.0", "wb.1"]
    );
}

#[tokio::test]
async fn one_box_search_finds_each_user_once_whichever_fields_match() {
    let w = World::new().await;
    let mut expected = Vec::new();
    for (username, first, last, boundary, email) in [
        ("lina.m", "Lina", "Mabunda", "ULONGUE", None),
        ("mabunda.rui", "Rui", "Tembe", "CHIUAULA", None),
        (
            "ze.cossa",
            "Zé",
            "Cossa",
            "CHIUAULA",
            Some("mabunda@example.org"),
        ),
        (
            "mabunda.d",
            "Dina",
            "Mabunda",
            "CHIUAULA",
            Some("mabunda.d@example.org"),
        ),
    ] {
        let id = w
            .app
            .seed_user(username, &["REGISTRAR"], &[boundary], first, last)
            .await;
        if let Some(email) = email {
            let r = w
                .app
                .patch(
                    &format!("/api/v1/users/{id}"),
                    &w.admin,
                    json!({"email": email}),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        expected.push(username.to_owned());
    }
    // Matched by its mobile only, with no email to compare.
    let rita = w
        .app
        .seed_user("rita.langa", &["REGISTRAR"], &["ULONGUE"], "Rita", "Langa")
        .await;
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{rita}"),
            &w.admin,
            json!({"mobile_number": "+258 84 777 1234"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    expected.sort();
    for sort in ["username", "-username", "name", "-created_at"] {
        let mut seen = every_page(&w, &format!("q=MABUNDA&limit=1&sort={sort}"), 4).await;
        if sort == "username" {
            assert_eq!(seen, expected);
        }
        seen.sort();
        assert_eq!(seen, expected, "{sort}");
    }
    // Too short for the trigram table: the name is matched by scanning, and still no
    // user twice (names "Tomás Bila", "Rosa Macuácua" and the four above).
    let mut short = every_page(&w, "q=MA&limit=2", 6).await;
    short.sort();
    assert_eq!(
        short,
        [
            "lina.m",
            "mabunda.d",
            "mabunda.rui",
            "sup.tete",
            "tomas.bila",
            "ze.cossa"
        ]
    );
    let mobile = w.app.get("/api/v1/users?q=84%20777%201", &w.admin).await;
    assert_eq!(mobile.status, StatusCode::OK, "{}", mobile.body);
    assert_eq!(mobile.body["total"], 1, "{}", mobile.body);
    assert_eq!(mobile.body["items"][0]["username"], "rita.langa");
    // The Tete supervisor finds only the match in Tete.
    let scoped = w.app.get("/api/v1/users?q=mabunda", &w.sup_tete).await;
    assert_eq!(scoped.status, StatusCode::OK, "{}", scoped.body);
    assert_eq!(scoped.body["total"], 1, "{}", scoped.body);
    assert_eq!(scoped.body["items"][0]["username"], "lina.m");
}

#[tokio::test]
async fn search_filters_role_boundary_status_department() {
    let w = World::new().await;
    let count = |r: &support::Response| r.body["total"].as_i64().unwrap();
    assert_eq!(
        count(&w.app.get("/api/v1/users?role=DISTRIBUTOR", &w.admin).await),
        1
    );
    assert_eq!(
        count(&w.app.get("/api/v1/users?boundary=TETE", &w.admin).await),
        3,
        "sup.tete, joao.lopes, tomas.bila"
    );
    assert_eq!(
        count(&w.app.get("/api/v1/users?boundary=ANGONIA", &w.admin).await),
        1
    );
    assert_eq!(
        count(
            &w.app
                .get(
                    "/api/v1/users?department=NMCP&employment_type=CONTRACTUAL",
                    &w.admin
                )
                .await
        ),
        7
    );
    w.app
        .sql("UPDATE users SET status = 'deactivated' WHERE username = 'ana.sitoe'")
        .await
        .unwrap();
    assert_eq!(count(&w.app.get("/api/v1/users", &w.admin).await), 6);
    assert_eq!(
        count(
            &w.app
                .get("/api/v1/users?status=deactivated", &w.admin)
                .await
        ),
        1
    );
    assert_eq!(
        count(&w.app.get("/api/v1/users?status=all", &w.admin).await),
        7
    );
    let bad = w
        .app
        .get(
            "/api/v1/users?status=sleeping&sort=shoe_size&boundary=NOWHERE",
            &w.admin,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["status", "sort", "boundary"]);
    let bad = w.app.get("/api/v1/users?limit=ten", &w.admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_fields(), vec!["limit"]);
}

#[tokio::test]
async fn pagination_is_stable_with_totals_and_sorting() {
    let w = World::new().await;
    for i in 0..9 {
        w.app
            .seed_user(
                &format!("page.user{i}"),
                &["REGISTRAR"],
                &["ULONGUE"],
                "Page",
                &format!("User {i}"),
            )
            .await;
    }
    for sort in ["username", "-username", "name", "-created_at"] {
        let seen = every_page(&w, &format!("limit=4&sort={sort}"), 16).await;
        assert_eq!(seen.len(), 16, "{sort}: {seen:?}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 16, "{sort}: duplicates in {seen:?}");
        if sort == "username" {
            assert_eq!(seen, unique);
        }
        if sort == "-username" {
            unique.reverse();
            assert_eq!(seen, unique);
        }
    }
    let capped = w.app.get("/api/v1/users?limit=100000", &w.admin).await;
    assert_eq!(capped.status, StatusCode::OK);
    let garbage = w.app.get("/api/v1/users?cursor=%%%", &w.admin).await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn sql_and_like_metacharacters_are_plain_text() {
    let w = World::new().await;
    for hostile in [
        "%27%20OR%201%3D1%20--",
        "%25",
        "_",
        "%5C",
        "joao%25",
        "%22%3B%20DROP%20TABLE%20users%3B%20--",
        "%00",
    ] {
        for field in [
            "q",
            "name",
            "username",
            "email",
            "mobile_number",
            "role",
            "department",
        ] {
            let r = w
                .app
                .get(&format!("/api/v1/users?{field}={hostile}"), &w.admin)
                .await;
            assert!(
                r.status == StatusCode::OK || r.status == StatusCode::UNPROCESSABLE_ENTITY,
                "{field}={hostile}: {}",
                r.status
            );
            if r.status == StatusCode::OK {
                assert_eq!(
                    r.body["total"], 0,
                    "{field}={hostile} matched something: {}",
                    r.body
                );
            }
        }
    }
    assert_eq!(
        w.app.get("/api/v1/users?status=all", &w.admin).await.body["total"],
        7,
        "the users table is intact"
    );
    let b = w.app.get("/api/v1/boundaries?q=%25", &w.admin).await;
    assert_eq!(b.body["total"], 0);
}

// ---------------------------------------------------------------- scope

#[tokio::test]
async fn supervisor_sees_touching_users_and_changes_only_those_wholly_inside() {
    let w = World::new().await;
    let app = &w.app;
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", w.tete_worker), &w.sup_tete)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/v1/users/{}", w.straddler), &w.sup_tete)
            .await
            .status,
        StatusCode::OK
    );
    for hidden in [&w.niassa_worker, &w.nobody, &w.admin_id] {
        let r = app
            .get(&format!("/api/v1/users/{hidden}"), &w.sup_tete)
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "must not exist for the supervisor"
        );
        let r = app
            .patch(
                &format!("/api/v1/users/{hidden}"),
                &w.sup_tete,
                json!({"designation": "x"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            app.get(&format!("/api/v1/users/{hidden}/history"), &w.sup_tete)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
    }
    let listed = app.get("/api/v1/users?status=all", &w.sup_tete).await;
    let mut names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["joao.lopes", "sup.tete", "tomas.bila"]);
    assert_eq!(listed.body["total"], 3);
    let r = app
        .patch(
            &format!("/api/v1/users/{}", w.straddler),
            &w.sup_tete,
            json!({"designation": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "outside_scope");
    let r = app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.sup_tete,
            json!({"designation": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn supervisor_cannot_assign_boundaries_outside_scope() {
    let w = World::new().await;
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.sup_tete,
            full_user("new.one", "CHIUAULA"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.error_code_of("jurisdictions[0]").as_deref(),
        Some("boundary_outside_scope")
    );
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.sup_tete,
            json!({"jurisdictions": ["ULONGUE", "LICHINGA"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.error_code_of("jurisdictions[1]").as_deref(),
        Some("boundary_outside_scope")
    );
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.sup_tete,
            json!({"jurisdictions": []}),
        )
        .await;
    assert_eq!(
        r.error_code_of("jurisdictions").as_deref(),
        Some("required")
    );
}

#[tokio::test]
async fn no_escalation_and_only_system_admin_touches_system_admins() {
    let w = World::new().await;
    let mut body = full_user("wannabe", "ULONGUE");
    body["roles"] = json!(["SYSTEM_ADMIN"]);
    let r = w.app.post("/api/v1/users", &w.sup_tete, body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A role carrying an action the supervisor lacks cannot be handed out by them.
    let role = w
        .app
        .post(
            "/api/v1/roles",
            &w.admin,
            json!({"code": "ROLE_EDITOR", "name": "Role editor", "actions": ["role.manage"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.sup_tete,
            json!({"roles": ["REGISTRAR", "ROLE_EDITOR"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "privilege_escalation");
    // Global helpdesk sees the administrator but may not change them.
    assert_eq!(
        w.app
            .get(&format!("/api/v1/users/{}", w.admin_id), &w.helpdesk)
            .await
            .status,
        StatusCode::OK
    );
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.admin_id),
            &w.helpdesk,
            json!({"designation": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "system_admin_only");
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/credentials", w.admin_id),
            &w.helpdesk,
            json!({"method": "generate"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A system administrator may.
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.admin_id),
            &w.admin,
            json!({"designation": "Chief"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn actions_are_enforced_in_the_service_for_every_endpoint() {
    let w = World::new().await;
    let worker = w.app.token("joao.lopes").await;
    let denied = [
        (Method::GET, "/api/v1/users".to_owned()),
        (Method::GET, format!("/api/v1/users/{}", w.tete_worker)),
        (Method::GET, "/api/v1/roles".to_owned()),
        (Method::GET, "/api/v1/audit".to_owned()),
        (Method::GET, "/api/v1/boundaries".to_owned()),
    ];
    for (method, path) in denied {
        let r = w.app.call(method.clone(), &path, Some(&worker), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(r.body["code"], "action_not_allowed");
    }
    let r = w
        .app
        .post("/api/v1/users", &worker, full_user("x.y", "ULONGUE"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .app
        .post(
            "/api/v1/roles",
            &w.sup_tete,
            json!({"code": "X_ROLE", "name": "x", "actions": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .app
        .call(
            Method::PUT,
            "/api/v1/master-data/genders",
            Some(&w.sup_tete),
            Some(json!([{"code": "X", "label": "X"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .app
        .post(
            "/api/v1/boundaries",
            &w.sup_tete,
            json!({"code": "NEW", "name": "New", "level": "VILLAGE", "parent_code": "ANGONIA"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// ---------------------------------------------------------------- roles, master data

#[tokio::test]
async fn roles_can_be_created_listed_and_edited() {
    let w = World::new().await;
    let actions = w.app.get("/api/v1/actions", &w.admin).await;
    assert!(actions
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["code"] == "user.create"));
    let roles = w.app.get("/api/v1/roles", &w.admin).await;
    let codes: Vec<&str> = roles
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    for builtin in [
        "SYSTEM_ADMIN",
        "SUPERVISOR",
        "HELPDESK",
        "REGISTRAR",
        "DISTRIBUTOR",
        "FIELD_SUPERVISOR",
    ] {
        assert!(codes.contains(&builtin), "{builtin}");
    }
    let created = w.app.post("/api/v1/roles", &w.admin, json!({"code": "DISTRICT_MANAGER", "name": "District manager", "description": "Manages a district", "actions": ["user.read", "user.update"]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let dup = w
        .app
        .post(
            "/api/v1/roles",
            &w.admin,
            json!({"code": "DISTRICT_MANAGER", "name": "Again", "actions": []}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.body["code"], "duplicate_code");
    let bad = w
        .app
        .post(
            "/api/v1/roles",
            &w.admin,
            json!({"code": "lower case", "name": "", "actions": ["user.fly"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["code", "name", "actions[0]"]);
    let put = w
        .app
        .call(
            Method::PUT,
            "/api/v1/roles/DISTRICT_MANAGER",
            Some(&w.admin),
            Some(json!({"name": "District manager", "actions": ["user.read"]})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.body["actions"], json!(["user.read"]));
    let locked = w
        .app
        .call(
            Method::PUT,
            "/api/v1/roles/SYSTEM_ADMIN",
            Some(&w.admin),
            Some(json!({"name": "x", "actions": []})),
        )
        .await;
    assert_eq!(locked.status, StatusCode::FORBIDDEN);
    // A user with the new role gets its actions.
    w.app
        .seed_user(
            "d.manager",
            &["DISTRICT_MANAGER"],
            &["ANGONIA"],
            "Dee",
            "Em",
        )
        .await;
    let token = w.app.token("d.manager").await;
    assert_eq!(
        w.app.get("/api/v1/me", &token).await.body["actions"],
        json!(["user.read"])
    );
    assert_eq!(
        w.app
            .get(&format!("/api/v1/users/{}", w.tete_worker), &token)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn master_data_has_prd_defaults_and_can_be_replaced() {
    let w = World::new().await;
    let md = w.app.get("/api/v1/master-data", &w.sup_tete).await;
    assert_eq!(md.status, StatusCode::OK);
    for list in [
        "genders",
        "employment_types",
        "departments",
        "deactivation_reasons",
        "reactivation_reasons",
        "campaign_types",
        "boundary_levels",
    ] {
        assert!(
            !md.body["lists"][list].as_array().unwrap().is_empty(),
            "{list}"
        );
    }
    assert_eq!(md.body["username_format"], "{first}.{last}");
    assert_eq!(md.body["default_country"], "MZ");
    assert!(md.body["required_fields"]
        .as_array()
        .unwrap()
        .contains(&json!("department")));
    let put = w
        .app
        .call(
            Method::PUT,
            "/api/v1/master-data/departments",
            Some(&w.admin),
            Some(json!([{"code": "MALARIA", "label": "Malaria"}])),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let md = w.app.get("/api/v1/master-data", &w.admin).await;
    assert_eq!(
        md.body["lists"]["departments"],
        json!([{"code": "MALARIA", "label": "Malaria"}])
    );
    let r = w
        .app
        .post("/api/v1/users", &w.admin, full_user("dept.user", "ULONGUE"))
        .await;
    assert_eq!(
        r.error_code_of("department").as_deref(),
        Some("unknown_value")
    );
    let bad = w
        .app
        .call(
            Method::PUT,
            "/api/v1/master-data/departments",
            Some(&w.admin),
            Some(json!([{"code": "A", "label": "A"}, {"code": "a", "label": ""}])),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["[1].code", "[1].label"]);
    let unknown = w
        .app
        .call(
            Method::PUT,
            "/api/v1/master-data/shoe_sizes",
            Some(&w.admin),
            Some(json!([{"code": "A", "label": "A"}])),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn config_overrides_master_data_country_and_username_format() {
    let mut settings = cadre_service::settings::SettingsConfig::default();
    settings.master_data.insert(
        "departments".into(),
        vec![
            cadre_domain::master_data::ListItem {
                code: "EPI".into(),
                label: "Immunisation".into(),
            },
            cadre_domain::master_data::ListItem {
                code: "NMCP".into(),
                label: "Malaria".into(),
            },
        ],
    );
    settings.users.default_country = "KE".into();
    settings.users.username_format = "{mobile}".into();
    let app = TestApp::with(settings, cadre_web::WebConfig::default()).await;
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "A", "B")
        .await;
    let token = app.token("admin").await;
    let md = app.get("/api/v1/master-data", &token).await;
    assert_eq!(md.body["lists"]["departments"][0]["code"], "EPI");
    assert_eq!(md.body["default_country"], "KE");
    let r = app.post("/api/v1/users", &token, json!({"first_name": "Wanjiru", "mobile_number": "0712 345678", "credential": {"method": "none"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["mobile_number"], "+254712345678");
    assert_eq!(r.body["username"], "712345678");
}

// ---------------------------------------------------------------- boundaries

#[tokio::test]
async fn boundaries_children_ancestors_and_name_search() {
    let w = World::new().await;
    let children = w
        .app
        .get("/api/v1/boundaries?parent=TETE", &w.sup_tete)
        .await;
    let codes: Vec<&str> = children.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["ANGONIA", "MOATIZE"]);
    let one = w.app.get("/api/v1/boundaries/ULONGUE", &w.sup_tete).await;
    let ancestors: Vec<&str> = one.body["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(ancestors, vec!["MZ", "TETE", "ANGONIA"]);
    assert_eq!(one.body["level"], "VILLAGE");
    let found = w.app.get("/api/v1/boundaries?q=ULONGUE", &w.sup_tete).await;
    assert_eq!(found.body["total"], 1, "accent-insensitive name search");
    let roots = w
        .app
        .get("/api/v1/boundaries?roots=true", &w.sup_tete)
        .await;
    assert_eq!(roots.body["items"][0]["code"], "MZ");
    let villages = w
        .app
        .get("/api/v1/boundaries?level=VILLAGE&limit=2", &w.sup_tete)
        .await;
    assert_eq!(villages.body["total"], 3);
    assert!(villages.body["next_cursor"].is_string());
    assert_eq!(
        w.app
            .get("/api/v1/boundaries/NOPE", &w.sup_tete)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn boundary_create_and_import_report_rows_and_keep_the_good_ones() {
    let w = World::new().await;
    let one = w
        .app
        .post(
            "/api/v1/boundaries",
            &w.admin,
            json!({"code": "DOMUE", "name": "Domué", "level": "VILLAGE", "parent_code": "ANGONIA"}),
        )
        .await;
    assert_eq!(one.status, StatusCode::CREATED, "{}", one.body);
    let dup = w
        .app
        .post(
            "/api/v1/boundaries",
            &w.admin,
            json!({"code": "DOMUE", "name": "Domué", "level": "VILLAGE", "parent_code": "ANGONIA"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = w
        .app
        .post(
            "/api/v1/boundaries",
            &w.admin,
            json!({"code": "a/b", "name": "", "level": "PLANET", "parent_code": "NOPE"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["code", "name", "level"]);
    let upside_down = w
        .app
        .post(
            "/api/v1/boundaries",
            &w.admin,
            json!({"code": "PROV2", "name": "P", "level": "PROVINCE", "parent_code": "ULONGUE"}),
        )
        .await;
    assert_eq!(
        upside_down.error_code_of("level").as_deref(),
        Some("level_order")
    );

    let csv = "\u{feff}Code;Name;Level;Parent_Code\r\nV1;Vila Um;VILLAGE;MOATIZE\r\nV2;Vila Dois;VILLAGE;NOWHERE\r\nV3;;VILLAGE;MOATIZE\r\nD9;Distrito;DISTRICT;NIASSA\r\nV9;Vila Nove;VILLAGE;D9\r\nV1;Again;VILLAGE;MOATIZE\r\nV4;Vila Quatro;VILLAGE;MOATIZE\r\n";
    let response = w
        .app
        .client
        .post(format!("{}/api/v1/boundaries/import", w.app.base))
        .bearer_auth(&w.admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let r = TestApp::read(response).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["total_rows"], 7);
    assert_eq!(r.body["created"], 3, "D9, V9, V4: {}", r.body);
    let errors: Vec<(i64, &str)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert!(
        errors.contains(&(2, "duplicate_code")) && errors.contains(&(7, "duplicate_code")),
        "{errors:?}"
    );
    assert!(errors.contains(&(3, "unknown_boundary")), "{errors:?}");
    assert!(errors.contains(&(4, "invalid_length")), "{errors:?}");
    assert_eq!(
        w.app.get("/api/v1/boundaries/V9", &w.admin).await.body["ancestors"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(
            b"code,name,level,parent_code\nV5,Vila Cinco,VILLAGE,MOATIZE\n".to_vec(),
        )
        .file_name("b.csv"),
    );
    let r = TestApp::read(
        w.app
            .client
            .post(format!("{}/api/v1/boundaries/import", w.app.base))
            .bearer_auth(&w.admin)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["created"], 1);
    // Re-importing renames without duplicating.
    let r = TestApp::read(
        w.app
            .client
            .post(format!("{}/api/v1/boundaries/import", w.app.base))
            .bearer_auth(&w.admin)
            .header("content-type", "text/csv")
            .body("code,name,level,parent_code\nV5,Vila 5,VILLAGE,MOATIZE\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.body["created"].as_i64(), r.body["updated"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(
        w.app.get("/api/v1/boundaries/V5", &w.admin).await.body["name"],
        "Vila 5"
    );
    let again = TestApp::read(
        w.app
            .client
            .post(format!("{}/api/v1/boundaries/import", w.app.base))
            .bearer_auth(&w.admin)
            .header("content-type", "text/csv")
            .body("code,name,level,parent_code\nV5,Vila 5,VILLAGE,MOATIZE\n")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            again.body["updated"].as_i64(),
            again.body["unchanged"].as_i64()
        ),
        (Some(0), Some(1))
    );
}

#[tokio::test]
async fn subtree_queries_stay_correct_on_100k_boundaries() {
    let app = TestApp::new().await;
    // 1 country, 10 provinces, 100 districts, 1,000 posts, 98,889 villages = 100,000.
    let mut csv = String::from("code,name,level,parent_code\nC,Country,COUNTRY,\n");
    let mut n = 1;
    for p in 0..10 {
        csv.push_str(&format!("P{p},Province {p},PROVINCE,C\n"));
        n += 1;
        for d in 0..10 {
            csv.push_str(&format!("P{p}D{d},District {p}.{d},DISTRICT,P{p}\n"));
            n += 1;
            for s in 0..10 {
                csv.push_str(&format!("P{p}D{d}S{s},Post {p}.{d}.{s},POST,P{p}D{d}\n"));
                n += 1;
            }
        }
    }
    let mut v = 0;
    while n < 100_000 {
        let post = v % 1000;
        csv.push_str(&format!(
            "V{v},Village {v},VILLAGE,P{}D{}S{}\n",
            post / 100,
            (post / 10) % 10,
            post % 10
        ));
        v += 1;
        n += 1;
    }
    let started = std::time::Instant::now();
    let summary = app
        .cadre
        .import_boundaries(
            &cadre_service::Actor::local_operator(),
            &cadre_service::RequestMeta::default(),
            csv.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!((summary.created, summary.failed), (100_000, 0));
    let import = started.elapsed();
    let operator = cadre_service::Actor::local_operator();
    let started = std::time::Instant::now();
    let district = app
        .cadre
        .boundary_subtree_size(&operator, "P3D7")
        .await
        .unwrap();
    let province = app
        .cadre
        .boundary_subtree_size(&operator, "P9")
        .await
        .unwrap();
    let whole = app
        .cadre
        .boundary_subtree_size(&operator, "C")
        .await
        .unwrap();
    let query = started.elapsed();
    // Each post got 98 or 99 villages (98,889 over 1,000 posts).
    let villages_of = |posts: std::ops::Range<usize>| {
        posts
            .map(|p| 98_889 / 1000 + usize::from(p < 98_889 % 1000))
            .sum::<usize>() as i64
    };
    assert_eq!(district, 1 + 10 + villages_of(370..380));
    assert_eq!(province, 1 + 10 + 100 + villages_of(900..1000));
    assert_eq!(whole, 100_000);
    println!("100,000 boundaries: import {import:?}, three subtree counts {query:?}");
}

// ---------------------------------------------------------------- audit

#[tokio::test]
async fn every_change_and_sign_in_is_audited_with_before_and_after() {
    let w = World::new().await;
    w.app.login("admin", "wrong").await;
    let created = w
        .app
        .post(
            "/api/v1/users",
            &w.sup_tete,
            full_user("audited", "ULONGUE"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    w.app
        .patch(
            &format!("/api/v1/users/{id}"),
            &w.sup_tete,
            json!({"designation": "Lead"}),
        )
        .await;
    let history = w
        .app
        .get(&format!("/api/v1/users/{id}/history"), &w.sup_tete)
        .await;
    assert_eq!(history.status, StatusCode::OK);
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["user.update", "user.create"]);
    let update = &history.body["items"][0];
    assert_eq!(update["before"]["designation"], Value::Null);
    assert_eq!(update["after"]["designation"], "Lead");
    assert_eq!(update["actor_username"], "sup.tete");
    assert_eq!(update["client_addr"], "127.0.0.1");
    assert!(update["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let text = history.body.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "no secret in the audit log"
    );
    let failures = w
        .app
        .get("/api/v1/audit?action=auth.login&target=admin", &w.admin)
        .await;
    assert!(failures.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["outcome"] == "failure"));
    let by_actor = w
        .app
        .get("/api/v1/audit?actor=sup.tete&action=user.*", &w.admin)
        .await;
    assert_eq!(by_actor.body["total"], 2);
    let window = w
        .app
        .get("/api/v1/audit?from=2000-01-01&to=2000-01-02", &w.admin)
        .await;
    assert_eq!(window.body["total"], 0);
    let bad = w.app.get("/api/v1/audit?from=yesterday", &w.admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_fields(), vec!["from"]);
}

#[tokio::test]
async fn scoped_audit_readers_see_only_their_users() {
    let w = World::new().await;
    w.app
        .patch(
            &format!("/api/v1/users/{}", w.niassa_worker),
            &w.admin,
            json!({"designation": "secret"}),
        )
        .await;
    w.app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"designation": "visible"}),
        )
        .await;
    let r = w
        .app
        .get("/api/v1/audit?action=user.update", &w.sup_tete)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let targets: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target_label"].as_str().unwrap())
        .collect();
    assert_eq!(targets, vec!["joao.lopes"]);
}

#[tokio::test]
async fn audit_rows_cannot_be_updated_or_deleted() {
    let w = World::new().await;
    assert!(w
        .app
        .sql("UPDATE audit_events SET action = 'forged'")
        .await
        .is_err());
    assert!(w.app.sql("DELETE FROM audit_events").await.is_err());
    let mut conn = w.app.db.reader().await.unwrap();
    assert!(cadre_store::audit::count_all(&mut conn).await.unwrap() > 0);
}

#[tokio::test]
async fn audit_pages_follow_the_cursor() {
    let w = World::new().await;
    for i in 0..5 {
        w.app
            .patch(
                &format!("/api/v1/users/{}", w.tete_worker),
                &w.admin,
                json!({"designation": format!("v{i}")}),
            )
            .await;
    }
    let first = w
        .app
        .get("/api/v1/audit?action=user.update&limit=3", &w.admin)
        .await;
    assert_eq!(first.body["total"], 5);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = w
        .app
        .get(
            &format!("/api/v1/audit?action=user.update&limit=3&cursor={cursor}"),
            &w.admin,
        )
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 2);
    assert!(second.body["next_cursor"].is_null());
    assert_eq!(second.body["items"][1]["after"]["designation"], "v0");
}

// ---------------------------------------------------------------- bad input

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_types_are_400_naming_the_field() {
    let w = World::new().await;
    let raw = |body: &'static str| {
        let request = w
            .app
            .client
            .post(format!("{}/api/v1/users", w.app.base))
            .bearer_auth(&w.admin)
            .header("content-type", "application/json")
            .body(body);
        async move { TestApp::read(request.send().await.unwrap()).await }
    };
    let r = raw("{\"first_name\": ").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json"))
    );
    let r = raw("{\"first_name\": \"A\", \"shoe_size\": 42}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_fields(), vec!["shoe_size"]);
    assert_eq!(
        r.error_code_of("shoe_size").as_deref(),
        Some("unknown_field")
    );
    let r = raw("{\"first_name\": 42}").await;
    assert_eq!(r.error_fields(), vec!["first_name"]);
    assert_eq!(
        r.error_code_of("first_name").as_deref(),
        Some("invalid_type")
    );
    let r = raw("{\"roles\": [\"A\", 7]}").await;
    assert_eq!(r.error_fields(), vec!["roles[1]"]);
    let r = raw("{\"credential\": {\"method\": \"set\"}}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error_fields()[0].starts_with("credential"), "{}", r.body);
    let r = raw("[1, 2]").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = raw("{} trailing").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = TestApp::read(
        w.app
            .client
            .post(format!("{}/api/v1/users", w.app.base))
            .bearer_auth(&w.admin)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = TestApp::read(
        w.app
            .client
            .patch(format!("{}/api/v1/users/{}", w.app.base, w.tete_worker))
            .bearer_auth(&w.admin)
            .header("if-match", "yesterday")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_fields(), vec!["If-Match"]);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_problem_json() {
    let app = TestApp::with(
        cadre_service::settings::SettingsConfig::default(),
        cadre_web::WebConfig {
            max_body_bytes: 2048,
        },
    )
    .await;
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "A", "B")
        .await;
    let token = app.token("admin").await;
    let big = json!({"first_name": "x".repeat(5000)});
    let r = app.post("/api/v1/users", &token, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let csv = "code,name,level,parent_code\n".to_owned() + &"A,B,COUNTRY,\n".repeat(500);
    let r = TestApp::read(
        app.client
            .post(format!("{}/api/v1/boundaries/import", app.base))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn hostile_text_is_stored_verbatim_and_returned_as_json() {
    let w = World::new().await;
    let mut body = full_user("hostile", "ULONGUE");
    body["first_name"] = json!("<script>alert(1)</script>");
    body["last_name"] = json!("'; DROP TABLE users; --");
    body["correspondence_address"] = json!("Rua \"A\" \\ 100%_");
    let r = w.app.post("/api/v1/users", &w.admin, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let read = w
        .app
        .get(
            &format!("/api/v1/users/{}", r.body["id"].as_str().unwrap()),
            &w.admin,
        )
        .await;
    assert_eq!(read.body["first_name"], "<script>alert(1)</script>");
    assert_eq!(read.body["last_name"], "'; DROP TABLE users; --");
    assert_eq!(read.body["correspondence_address"], "Rua \"A\" \\ 100%_");
    assert_eq!(read.headers["content-type"], "application/json");
    assert_eq!(read.headers["x-content-type-options"], "nosniff");
    let control = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"first_name": "bad\u{0007}bell"}),
        )
        .await;
    assert_eq!(
        control.error_code_of("first_name").as_deref(),
        Some("invalid_characters")
    );
}

#[tokio::test]
async fn invalid_ids_are_plain_404() {
    let w = World::new().await;
    for id in [
        "nope",
        "..%2F..%2Fetc%2Fpasswd",
        "00000000-0000-0000-0000-000000000000",
        "%27%20OR%201%3D1",
    ] {
        assert_eq!(
            w.app
                .get(&format!("/api/v1/users/{id}"), &w.admin)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{id}"
        );
    }
}

#[tokio::test]
async fn the_country_fixture_imports() {
    let app = TestApp::new().await;
    app.import_boundaries(COUNTRY).await;
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "A", "B")
        .await;
    let token = app.token("admin").await;
    assert_eq!(app.get("/api/v1/boundaries", &token).await.body["total"], 9);
}

#[tokio::test]
async fn the_session_cookie_authenticates_api_reads_and_csrf_guards_its_writes() {
    let w = World::new().await;
    let cookie = format!("cadre_session={}", w.sup_tete);
    let read = TestApp::read(
        w.app
            .client
            .get(format!("{}/api/v1/me", w.app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    let path = format!("{}/api/v1/users/{}", w.app.base, w.tete_worker);
    let forged = TestApp::read(
        w.app
            .client
            .patch(&path)
            .header("cookie", &cookie)
            .json(&json!({"designation": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.body["code"], "csrf_failed");
    let csrf = cadre_web::ui::session::csrf_for(&w.sup_tete);
    let ok = TestApp::read(
        w.app
            .client
            .patch(&path)
            .header("cookie", &cookie)
            .header("x-csrf-token", csrf)
            .json(&json!({"designation": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}
