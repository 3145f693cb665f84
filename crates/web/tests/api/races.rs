//! Identical changes fired at once: each use case that reads and then writes lets one
//! request win and answers the others 409 with a clear code (or, for an edit without
//! `If-Match`, applies them one after the other), with no duplicate rows and no
//! duplicate audit events. SQLite's single writer serialises everything anyway; on
//! PostgreSQL (`CADRE_TEST_DATABASE_URL`) these are the tests that bite.

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cadre_store::sql::Sql;

use crate::support::{day, Response, TestApp, World};

/// How many identical requests each test fires at once.
const AT_ONCE: usize = 10;

async fn with_campaign() -> World {
    let w = World::new().await;
    let r = w.app.post("/api/v1/campaigns", &w.admin, json!({
        "code": "RACE-2026", "name": "Race 2026", "type": "LLIN",
        "start_date": day(&w.app, -10), "end_date": day(&w.app, 50), "boundaries": ["TETE", "NIASSA"]
    })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    w
}

/// Fires `AT_ONCE` copies of one request together and returns every answer.
async fn at_once(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> Vec<Response> {
    join_all((0..AT_ONCE).map(|_| app.call(method.clone(), path, Some(token), Some(body.clone()))))
        .await
}

/// Asserts one answer has `winner` and every other is a 409 with `code`.
fn assert_one_winner(answers: &[Response], winner: StatusCode, code: &str, what: &str) {
    let won: Vec<&Response> = answers.iter().filter(|r| r.status == winner).collect();
    assert_eq!(
        won.len(),
        1,
        "{what}: exactly one {winner}; got {:?}",
        answers
            .iter()
            .map(|r| (r.status, r.body["code"].clone()))
            .collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != winner) {
        assert_eq!(r.status, StatusCode::CONFLICT, "{what}: {}", r.body);
        assert_eq!(r.body["code"], code, "{what}: {}", r.body);
    }
}

async fn count(app: &TestApp, sql: Sql) -> i64 {
    let mut conn = app.db.reader().await.unwrap();
    sql.fetch_count(&mut conn).await.unwrap()
}

async fn audit_count(app: &TestApp, action: &str, target: &str) -> i64 {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM audit_events WHERE action = ");
    sql.bind(action).push(" AND target_id = ").bind(target);
    count(app, sql).await
}

async fn assign_body() -> Value {
    json!({"campaign": "RACE-2026", "boundaries": ["ULONGUE"], "roles": ["FIELD_SUPERVISOR"]})
}

#[tokio::test]
async fn identical_replacements_make_one_successor() {
    let w = with_campaign().await;
    let a = w
        .app
        .post(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.sup_tete,
            assign_body().await,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let answers = at_once(
        &w.app,
        Method::POST,
        &format!("/api/v1/users/{}/replace", w.tete_worker),
        &w.sup_tete,
        json!({"replacement": {"first_name": "Pedro", "last_name": "Novo", "email": "n@example.org",
               "correspondence_address": "Rua 9", "employment_type": "CONTRACTUAL", "department": "NMCP",
               "credential": {"method": "generate"}},
               "effective_date": day(&w.app, 0)}),
    )
    .await;
    assert_one_winner(&answers, StatusCode::OK, "already_replaced", "replace");
    let mut successors = Sql::new("SELECT COUNT(*) AS n FROM users WHERE replaces = ");
    successors.bind(w.tete_worker.as_str());
    assert_eq!(count(&w.app, successors).await, 1, "one successor");
    let mut pedros = Sql::new("SELECT COUNT(*) AS n FROM users WHERE first_name = ");
    pedros.bind("Pedro");
    assert_eq!(
        count(&w.app, pedros).await,
        1,
        "no successor left behind by a loser"
    );
    let mut open = Sql::new(
        "SELECT COUNT(*) AS n FROM assignments a JOIN users u ON u.id = a.user_id WHERE a.ended_on IS NULL AND u.replaces = ",
    );
    open.bind(w.tete_worker.as_str());
    assert_eq!(
        count(&w.app, open).await,
        1,
        "one open copy of the assignment"
    );
    let mut replaced = Sql::new(
        "SELECT COUNT(*) AS n FROM status_changes WHERE reason = 'REPLACED' AND user_id = ",
    );
    replaced.bind(w.tete_worker.as_str());
    assert_eq!(count(&w.app, replaced).await, 1, "one REPLACED record");
}

#[tokio::test]
async fn identical_assignments_open_one() {
    let w = with_campaign().await;
    let answers = at_once(
        &w.app,
        Method::POST,
        &format!("/api/v1/users/{}/assignments", w.tete_worker),
        &w.sup_tete,
        assign_body().await,
    )
    .await;
    assert_one_winner(&answers, StatusCode::CREATED, "already_assigned", "assign");
    let mut open = Sql::new("SELECT COUNT(*) AS n FROM assignments WHERE user_id = ");
    open.bind(w.tete_worker.as_str());
    assert_eq!(count(&w.app, open).await, 1);
    assert_eq!(
        audit_count(&w.app, "assignment.create", &w.tete_worker).await,
        1
    );
}

#[tokio::test]
async fn identical_ends_and_moves_of_an_assignment_apply_once() {
    let w = with_campaign().await;
    let a = w
        .app
        .post(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.sup_tete,
            assign_body().await,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_owned();
    let moves = at_once(
        &w.app,
        Method::POST,
        &format!("/api/v1/assignments/{id}/move"),
        &w.sup_tete,
        json!({"campaign": "RACE-2026", "boundaries": ["ZOBUE"], "roles": ["FIELD_SUPERVISOR"], "from_date": day(&w.app, 1)}),
    )
    .await;
    assert_one_winner(&moves, StatusCode::OK, "already_ended", "move");
    let mut rows = Sql::new("SELECT COUNT(*) AS n FROM assignments WHERE user_id = ");
    rows.bind(w.tete_worker.as_str());
    assert_eq!(
        count(&w.app, rows).await,
        2,
        "the old assignment and one new one"
    );
    assert_eq!(
        audit_count(&w.app, "assignment.move", &w.tete_worker).await,
        1
    );

    let moved = moves.iter().find(|r| r.status == StatusCode::OK).unwrap();
    let created = moved.body["created"]["id"].as_str().unwrap().to_owned();
    let ends = at_once(
        &w.app,
        Method::POST,
        &format!("/api/v1/assignments/{created}/end"),
        &w.sup_tete,
        json!({"reason": "done"}),
    )
    .await;
    assert_one_winner(&ends, StatusCode::OK, "already_ended", "end");
    assert_eq!(
        audit_count(&w.app, "assignment.end", &w.tete_worker).await,
        1
    );
}

#[tokio::test]
async fn identical_deactivations_and_reactivations_record_one_change_each() {
    let w = with_campaign().await;
    let path = format!("/api/v1/users/{}/deactivate", w.tete_worker);
    let answers = at_once(
        &w.app,
        Method::POST,
        &path,
        &w.sup_tete,
        json!({"reason": "RESIGNED"}),
    )
    .await;
    assert_one_winner(
        &answers,
        StatusCode::OK,
        "already_deactivated",
        "deactivate",
    );
    assert_eq!(
        audit_count(&w.app, "user.deactivate", &w.tete_worker).await,
        1
    );
    let mut changes = Sql::new("SELECT COUNT(*) AS n FROM status_changes WHERE user_id = ");
    changes.bind(w.tete_worker.as_str());
    assert_eq!(count(&w.app, changes).await, 1);

    let path = format!("/api/v1/users/{}/reactivate", w.tete_worker);
    let answers = at_once(
        &w.app,
        Method::POST,
        &path,
        &w.sup_tete,
        json!({"reason": "REHIRED"}),
    )
    .await;
    assert_one_winner(&answers, StatusCode::OK, "not_deactivated", "reactivate");
    assert_eq!(
        audit_count(&w.app, "user.reactivate", &w.tete_worker).await,
        1
    );
    let mut changes = Sql::new("SELECT COUNT(*) AS n FROM status_changes WHERE user_id = ");
    changes.bind(w.tete_worker.as_str());
    assert_eq!(count(&w.app, changes).await, 2);
}

#[tokio::test]
async fn scheduled_deactivations_racing_reactivations_end_as_each_answer_says() {
    let w = with_campaign().await;
    let mut users = Vec::new();
    for i in 0..AT_ONCE {
        let id = w
            .app
            .seed_user(
                &format!("sched.{i}"),
                &["REGISTRAR"],
                &["ULONGUE"],
                "Sched",
                "Uled",
            )
            .await;
        let r = w
            .app
            .post(
                &format!("/api/v1/users/{id}/deactivate"),
                &w.sup_tete,
                json!({"reason": "RESIGNED", "effective_date": day(&w.app, 1)}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        users.push(id);
    }
    w.app.clock.advance(2 * 86_400);
    let reactivations = join_all(users.iter().map(|id| {
        let path = format!("/api/v1/users/{id}/reactivate");
        let app = &w.app;
        let token = &w.sup_tete;
        async move { app.post(&path, token, json!({"reason": "REHIRED"})).await }
    }));
    let (answers, applied) = tokio::join!(reactivations, w.app.cadre.apply_due_status_changes());
    applied.unwrap();
    for (id, answer) in users.iter().zip(answers) {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let now = w.app.get(&format!("/api/v1/users/{id}"), &w.sup_tete).await;
        assert_eq!(
            now.body["status"], "active",
            "the reactivation answered 200, so {id} is active"
        );
    }
    // Whatever the scheduler found later has nothing left to do.
    assert_eq!(w.app.cadre.apply_due_status_changes().await.unwrap(), 0);
}

#[tokio::test]
async fn edits_without_if_match_apply_in_turn_and_a_foreign_entity_tag_is_412() {
    let w = World::new().await;
    let path = format!("/api/v1/users/{}", w.tete_worker);
    let answers = join_all((0..2 * AT_ONCE).map(|i| {
        w.app.patch(
            &path,
            &w.sup_tete,
            json!({"designation": format!("Designation {i}")}),
        )
    }))
    .await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let after = w.app.get(&path, &w.sup_tete).await;
    assert_eq!(
        after.body["version"],
        1 + 2 * AT_ONCE as i64,
        "every edit applied once"
    );
    assert_eq!(
        audit_count(&w.app, "user.update", &w.tete_worker).await,
        2 * AT_ONCE as i64
    );

    for tag in ["\"stale-0\"", "W/\"x\"", "\"999\"", "\"a\", \"b\""] {
        let r = w
            .app
            .call_with_headers(
                Method::PATCH,
                &path,
                &w.sup_tete,
                json!({"designation": "x"}),
                &[("if-match", tag)],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::PRECONDITION_FAILED,
            "If-Match {tag}: {}",
            r.body
        );
    }
    let r = w
        .app
        .call_with_headers(
            Method::PATCH,
            &path,
            &w.sup_tete,
            json!({"designation": "x"}),
            &[("if-match", "not a tag")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let version = format!("\"{}\"", after.body["version"]);
    let r = w
        .app
        .call_with_headers(
            Method::PATCH,
            &path,
            &w.sup_tete,
            json!({"designation": "y"}),
            &[("if-match", &version)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let campaign = w
        .app
        .post(
            "/api/v1/campaigns",
            &w.admin,
            json!({
                "code": "EDIT-2026", "name": "Edit", "type": "LLIN",
                "start_date": day(&w.app, -1), "end_date": day(&w.app, 50), "boundaries": ["TETE"]
            }),
        )
        .await;
    assert_eq!(campaign.status, StatusCode::CREATED, "{}", campaign.body);
    let answers = at_once(
        &w.app,
        Method::PATCH,
        "/api/v1/campaigns/EDIT-2026",
        &w.admin,
        json!({"name": "Edited"}),
    )
    .await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let after = w.app.get("/api/v1/campaigns/EDIT-2026", &w.admin).await;
    assert_eq!(after.body["version"], 1 + AT_ONCE as i64);
}

#[tokio::test]
async fn users_created_at_once_with_one_name_all_get_their_own_username() {
    let w = World::new().await;
    let answers = join_all((0..2 * AT_ONCE).map(|_| {
        w.app.post(
            "/api/v1/users",
            &w.sup_tete,
            json!({"first_name": "Ana", "last_name": "Machava", "email": "a@example.org",
                   "correspondence_address": "Rua 1", "employment_type": "CONTRACTUAL", "department": "NMCP",
                   "roles": ["REGISTRAR"], "jurisdictions": ["ULONGUE"], "credential": {"method": "none"}}),
        )
    }))
    .await;
    let mut names: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            r.body["username"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 2 * AT_ONCE, "{names:?}");
}

#[tokio::test]
async fn role_and_master_data_edits_at_once_each_apply_and_are_audited_once() {
    let w = World::new().await;
    let role = w
        .app
        .post(
            "/api/v1/roles",
            &w.admin,
            json!({"code": "RACER", "name": "Racer", "description": "d", "actions": ["user.read"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.body);
    let answers = at_once(
        &w.app,
        Method::PUT,
        "/api/v1/roles/RACER",
        &w.admin,
        json!({"code": "RACER", "name": "Racer 2", "description": "d", "actions": ["user.read"]}),
    )
    .await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(
        audit_count(&w.app, "role.update", "RACER").await,
        AT_ONCE as i64
    );
    let answers = at_once(
        &w.app,
        Method::PUT,
        "/api/v1/master-data/departments",
        &w.admin,
        json!([{"code": "NMCP", "label": "Malaria"}, {"code": "EPI", "label": "Immunisation"}]),
    )
    .await;
    for r in &answers {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(
        audit_count(&w.app, "master_data.update", "departments").await,
        AT_ONCE as i64
    );
}
