//! The ground giving way under a write: a SQLite file that cannot grow. A 2xx must
//! mean the change is on disk; while writes fail every write answers 503 with
//! `Retry-After` and readiness says so; when space comes back the same process serves
//! again; and every acknowledged change is still there when the file is opened anew.
//! (The real full disk, a read-only file and PostgreSQL cut mid-transaction are in the
//! cadre crate's operations tests, against the binary.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;

use cadre_service::settings::SettingsConfig;
use cadre_store::db::DbOptions;
use cadre_store::sql::Sql;
use cadre_store::Db;
use cadre_web::WebConfig;

use crate::support::{Response, TestApp, PASSWORD};

fn person(n: usize) -> serde_json::Value {
    json!({"username": format!("full.{n:04}"), "first_name": "Cheio", "last_name": format!("Disco {n}"),
           "email": "f@example.org", "correspondence_address": "Rua 1", "employment_type": "CONTRACTUAL",
           "department": "NMCP", "roles": ["REGISTRAR"], "credential": {"method": "none"}})
}

fn assert_unavailable(r: &Response, what: &str) {
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        r.body
    );
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "{what}"
    );
    assert!(r.headers.contains_key("retry-after"), "{what}: Retry-After");
}

async fn page_count(app: &TestApp) -> u64 {
    let mut conn = app.db.reader().await.unwrap();
    Sql::new("SELECT page_count AS n FROM pragma_page_count()")
        .fetch_count(&mut conn)
        .await
        .unwrap() as u64
}

#[tokio::test]
async fn a_database_that_cannot_grow_refuses_writes_until_it_can_and_loses_nothing_acknowledged() {
    let cap = Arc::new(AtomicU64::new(u64::from(u32::MAX)));
    let options = DbOptions {
        sqlite_page_cap: Some(cap.clone()),
        ..DbOptions::default()
    };
    let app = TestApp::with_db(SettingsConfig::default(), WebConfig::default(), options).await;
    if !app.database_url().starts_with("sqlite:") {
        // PostgreSQL's own refusals (a cut connection, a read-only server) are tested
        // against the binary; a page cap is SQLite's.
        return;
    }
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "Ana", "Admin")
        .await;
    let token = app.token("admin").await;
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        let r = app.post("/api/v1/users", &token, person(n)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        acknowledged.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);

    // A few pages of room, then none.
    cap.store(page_count(&app).await + 3, Ordering::Release);
    let mut refused = 0;
    let mut n = 5;
    while refused < 20 {
        assert!(n < 500, "the capped database never filled");
        let r = app.post("/api/v1/users", &token, person(n)).await;
        n += 1;
        if r.status == StatusCode::CREATED {
            assert_eq!(refused, 0, "201 after the database was full: {}", r.body);
            acknowledged.push(r.body["id"].as_str().unwrap().to_owned());
        } else {
            assert_unavailable(&r, "a create while full");
            assert!(
                r.body["detail"].as_str().unwrap().contains("full"),
                "the problem names the cause: {}",
                r.body
            );
            refused += 1;
        }
    }
    // Other writes too, and sign-in, which writes a session.
    let patch = app
        .patch(
            &format!("/api/v1/users/{}", acknowledged[0]),
            &token,
            json!({"designation": "x"}),
        )
        .await;
    // An edit that fits in the pages the user already has needs no new one, and is
    // as durable as any: then it must be in the file at the end.
    let edited = patch.status == StatusCode::OK;
    if !edited {
        assert_unavailable(&patch, "an edit while full");
    }
    let login = app.login("admin", PASSWORD).await;
    if login.status == StatusCode::OK {
        let fresh = login.body["token"].as_str().unwrap();
        let me = app.get("/api/v1/me", fresh).await;
        assert_eq!(
            me.status,
            StatusCode::OK,
            "a token given out works: {}",
            me.body
        );
    } else {
        assert_unavailable(&login, "sign-in while full");
    }
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_unavailable(&ready, "readiness while full");
    // Reads go on.
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);

    // Space comes back: the same process takes writes again, without a restart.
    cap.store(u64::from(u32::MAX), Ordering::Release);
    let r = app.post("/api/v1/users", &token, person(n)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    acknowledged.push(r.body["id"].as_str().unwrap().to_owned());
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
    let fresh = app.token("admin").await;
    let me = app.get("/api/v1/me", &fresh).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);

    // Every acknowledged user is in the file, read by a new connection.
    app.db.close().await;
    let reopened = Db::connect(&app.database_url(), &DbOptions::default())
        .await
        .unwrap();
    let mut conn = reopened.reader().await.unwrap();
    for id in &acknowledged {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM users WHERE id = ");
        sql.bind(id.as_str());
        assert_eq!(
            sql.fetch_count(&mut conn).await.unwrap(),
            1,
            "acknowledged user {id}"
        );
    }
    if edited {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM users WHERE designation = 'x' AND id = ");
        sql.bind(acknowledged[0].as_str());
        assert_eq!(
            sql.fetch_count(&mut conn).await.unwrap(),
            1,
            "the acknowledged edit"
        );
    }
}
