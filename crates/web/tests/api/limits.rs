//! One signed-in user feeding the service too much: every list in a body has a
//! maximum, refused with 422 `too_many` naming the list before its items are looked
//! at, and a problem lists at most 100 errors with the count of the rest.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Response, World};

fn assert_too_many(r: &Response, field: &str, started: Instant) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.error_code_of(field).as_deref(),
        Some("too_many"),
        "{}",
        r.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{field}: refused in {:?}, before any lookup",
        started.elapsed()
    );
    assert!(
        r.body.to_string().len() < 10_000,
        "{field}: a short problem"
    );
}

#[tokio::test]
async fn oversized_lists_are_refused_by_name_before_any_work() {
    let w = World::new().await;
    let many: Vec<String> = (0..100_000).map(|i| format!("B{i:06}")).collect();
    let started = Instant::now();
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({"first_name": "Ana", "last_name": "Muitos", "roles": ["REGISTRAR"],
                   "jurisdictions": many, "credential": {"method": "none"}}),
        )
        .await;
    assert_too_many(&r, "jurisdictions", started);

    let started = Instant::now();
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"roles": many[..51]}),
        )
        .await;
    assert_too_many(&r, "roles", started);

    let started = Instant::now();
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.admin,
            json!({"campaign": "X", "boundaries": many[..1_001], "roles": []}),
        )
        .await;
    assert_too_many(&r, "boundaries", started);

    let started = Instant::now();
    let r = w
        .app
        .post(
            "/api/v1/campaigns",
            &w.admin,
            json!({"code": "BIG", "name": "Big", "type": "LLIN", "start_date": "2026-01-01",
                   "end_date": "2026-02-01", "boundaries": many[..5_001]}),
        )
        .await;
    assert_too_many(&r, "boundaries", started);

    let started = Instant::now();
    let r = w
        .app
        .post(
            "/api/v1/roles",
            &w.admin,
            json!({"code": "GREEDY", "name": "Greedy", "actions": many[..201]}),
        )
        .await;
    assert_too_many(&r, "actions", started);

    let started = Instant::now();
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.admin,
            json!({"reason": "RESIGNED", "document_ids": many[..21]}),
        )
        .await;
    assert_too_many(&r, "document_ids", started);
    let still = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(still.body["status"], "active", "nothing was changed");
}

#[tokio::test]
async fn a_problem_lists_at_most_a_hundred_errors_and_counts_the_rest() {
    let w = World::new().await;
    let items: Vec<_> = (0..400)
        .map(|i| json!({"code": format!("D{i}"), "label": ""}))
        .collect();
    let r = w
        .app
        .put("/api/v1/master-data/departments", &w.admin, json!(items))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["errors"].as_array().unwrap().len(),
        100,
        "{}",
        r.body
    );
    assert_eq!(r.body["errors_omitted"], 300, "{}", r.body);
    let items: Vec<_> = (0..1_001)
        .map(|i| json!({"code": format!("D{i}"), "label": "x"}))
        .collect();
    let r = w
        .app
        .put("/api/v1/master-data/departments", &w.admin, json!(items))
        .await;
    assert_eq!(
        r.error_code_of("items").as_deref(),
        Some("too_many"),
        "{}",
        r.body
    );
    // A problem with few errors says nothing of omissions.
    let r = w
        .app
        .put(
            "/api/v1/master-data/departments",
            &w.admin,
            json!([{"code": "X", "label": ""}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.get("errors_omitted").is_none(), "{}", r.body);
}

/// A chain of fifty boundaries with 64-character codes: the same limit on both
/// databases (PostgreSQL's index entries cannot hold such a path), refused by row.
#[tokio::test]
async fn boundaries_deeper_than_the_limit_are_refused_the_same_on_both_databases() {
    let w = World::new().await;
    let levels: Vec<_> = (1..=50)
        .map(|d| json!({"code": format!("L{d:02}"), "label": format!("Level {d}")}))
        .collect();
    let r = w
        .app
        .put(
            "/api/v1/master-data/boundary_levels",
            &w.admin,
            json!(levels),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = |depth: usize| format!("{depth:02}{}", "Z".repeat(62));
    let mut csv = String::from("code,name,level,parent_code\n");
    for depth in 1..=50 {
        let parent = if depth == 1 {
            String::new()
        } else {
            code(depth - 1)
        };
        csv.push_str(&format!(
            "{},Level {depth},L{depth:02},{parent}\n",
            code(depth)
        ));
    }
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
    let r = crate::support::TestApp::read(response).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["created"],
        cadre_domain::boundary::MAX_DEPTH,
        "{}",
        r.body
    );
    let too_deep = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "too_deep")
        .count();
    assert!(too_deep >= 1, "{}", r.body);
    let deepest = w
        .app
        .get(&format!("/api/v1/boundaries/{}", code(20)), &w.admin)
        .await;
    assert_eq!(deepest.status, StatusCode::OK, "{}", deepest.body);
    let beyond = w
        .app
        .get(&format!("/api/v1/boundaries/{}", code(21)), &w.admin)
        .await;
    assert_eq!(beyond.status, StatusCode::NOT_FOUND);
    let one = w
        .app
        .post(
            "/api/v1/boundaries",
            &w.admin,
            json!({"code": "DEEPER", "name": "Deeper", "level": "L21", "parent_code": code(20)}),
        )
        .await;
    assert_eq!(
        one.error_code_of("parent_code").as_deref(),
        Some("too_deep"),
        "{}",
        one.body
    );
}
