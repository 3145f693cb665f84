//! Campaigns, assignments, deactivation, replacement and staffing history.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{day, found, TestApp, World, PASSWORD};

/// The world plus a campaign over both provinces running from 10 days ago to 50 days ahead.
async fn with_campaign() -> World {
    let w = World::new().await;
    let r = w.app.post("/api/v1/campaigns", &w.admin, json!({
        "code": "LLIN-2026", "name": "LLIN 2026", "type": "LLIN",
        "start_date": day(&w.app, -10), "end_date": day(&w.app, 50), "boundaries": ["TETE", "NIASSA"]
    })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    w
}

async fn assign(w: &World, token: &str, user: &str, body: Value) -> crate::support::Response {
    w.app
        .post(&format!("/api/v1/users/{user}/assignments"), token, body)
        .await
}

#[tokio::test]
async fn campaigns_are_created_read_listed_and_updated() {
    let w = with_campaign().await;
    let one = w.app.get("/api/v1/campaigns/LLIN-2026", &w.sup_tete).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["type"], "LLIN");
    assert_eq!(one.body["boundaries"], json!(["NIASSA", "TETE"]));
    assert_eq!(one.headers["etag"], "\"1\"");
    let list = w.app.get("/api/v1/campaigns?type=LLIN", &w.sup_tete).await;
    assert_eq!(list.body["total"], 1);
    let dup = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "LLIN-2026", "name": "x", "type": "LLIN", "start_date": "2026-01-01", "end_date": "2026-02-01", "boundaries": ["TETE"]})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "bad code", "name": "", "type": "BANANAS", "start_date": "2026-02-30", "end_date": "2026-01-01", "boundaries": ["ATLANTIS"]})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for (field, code) in [
        ("code", "invalid_code"),
        ("name", "invalid_length"),
        ("type", "unknown_value"),
        ("start_date", "invalid_date"),
        ("boundaries[0]", "unknown_boundary"),
    ] {
        assert_eq!(
            bad.error_code_of(field).as_deref(),
            Some(code),
            "{field}: {}",
            bad.body
        );
    }
    let order = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "X", "name": "x", "type": "IRS", "start_date": "2026-03-01", "end_date": "2026-01-01", "boundaries": ["TETE"]})).await;
    assert_eq!(
        order.error_code_of("end_date").as_deref(),
        Some("date_order")
    );
    let patch = w
        .app
        .patch(
            "/api/v1/campaigns/LLIN-2026",
            &w.admin,
            json!({"name": "LLIN distribution 2026"}),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.body);
    assert_eq!(patch.body["version"], 2);
    let stale = TestApp::read(
        w.app
            .client
            .patch(format!("{}/api/v1/campaigns/LLIN-2026", w.app.base))
            .bearer_auth(&w.admin)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "y"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let immutable = w
        .app
        .patch(
            "/api/v1/campaigns/LLIN-2026",
            &w.admin,
            json!({"code": "OTHER"}),
        )
        .await;
    assert_eq!(
        immutable.error_code_of("code").as_deref(),
        Some("code_immutable")
    );
    let forbidden = w.app.post("/api/v1/campaigns", &w.sup_tete, json!({"code": "S", "name": "s", "type": "IRS", "start_date": "2026-01-01", "end_date": "2026-02-01", "boundaries": ["TETE"]})).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn child_campaigns_lie_within_parent_window_and_boundaries() {
    let w = with_campaign().await;
    let ok = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "LLIN-TETE", "name": "Tete wave", "type": "LLIN", "parent": "LLIN-2026", "start_date": day(&w.app, -5), "end_date": day(&w.app, 20), "boundaries": ["ANGONIA"]})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let outside = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "LLIN-BAD", "name": "Bad", "type": "LLIN", "parent": "LLIN-2026", "start_date": day(&w.app, -20), "end_date": day(&w.app, 80), "boundaries": ["ANGONIA"]})).await;
    assert_eq!(outside.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        outside.error_code_of("start_date").as_deref(),
        Some("outside_parent_window")
    );
    assert_eq!(
        outside.error_code_of("end_date").as_deref(),
        Some("outside_parent_window")
    );
    w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "IRS-TETE", "name": "IRS Tete", "type": "IRS", "start_date": day(&w.app, -5), "end_date": day(&w.app, 5), "boundaries": ["TETE"]})).await;
    let wrong_place = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "IRS-CHILD", "name": "c", "type": "IRS", "parent": "IRS-TETE", "start_date": day(&w.app, -1), "end_date": day(&w.app, 1), "boundaries": ["LICHINGA"]})).await;
    assert_eq!(
        wrong_place.error_code_of("boundaries[0]").as_deref(),
        Some("boundary_outside_parent")
    );
    let unknown_parent = w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "ORPHAN", "name": "o", "type": "IRS", "parent": "NOPE", "start_date": day(&w.app, -1), "end_date": day(&w.app, 1), "boundaries": ["TETE"]})).await;
    assert_eq!(
        unknown_parent.error_code_of("parent").as_deref(),
        Some("unknown_campaign")
    );
    // The parent cannot shrink away from its child.
    let shrink = w
        .app
        .patch(
            "/api/v1/campaigns/LLIN-2026",
            &w.admin,
            json!({"end_date": day(&w.app, 10)}),
        )
        .await;
    assert_eq!(
        shrink.error_code_of("start_date").as_deref(),
        Some("children_outside_window"),
        "{}",
        shrink.body
    );
    let cycle = w
        .app
        .patch(
            "/api/v1/campaigns/LLIN-2026",
            &w.admin,
            json!({"parent": "LLIN-TETE"}),
        )
        .await;
    assert_eq!(cycle.error_code_of("parent").as_deref(), Some("cycle"));
}

#[tokio::test]
async fn assignments_are_checked_clamped_and_carry_campaign_roles() {
    let w = with_campaign().await;
    let r = assign(&w, &w.sup_tete, &w.tete_worker, json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"], "from_date": "2000-01-01", "till_date": "2999-12-31", "roles": ["FIELD_SUPERVISOR"]})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["from_date"],
        day(&w.app, -10),
        "clamped to the campaign's start"
    );
    assert_eq!(
        r.body["till_date"],
        day(&w.app, 50),
        "clamped to the campaign's end"
    );
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["roles"], json!(["FIELD_SUPERVISOR"]));
    let again = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["ZOBUE"]}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "already_assigned");
    // Campaign roles show up as permissions in that campaign only.
    let token = w.app.token("joao.lopes").await;
    let me = w.app.get("/api/v1/me", &token).await;
    assert_eq!(me.body["actions"], json!(["field.registration"]));
    let in_campaign = &me.body["campaigns"][0];
    assert_eq!(in_campaign["campaign"], "LLIN-2026");
    let actions: Vec<&str> = in_campaign["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "field.distribution",
            "field.registration",
            "field.supervision"
        ]
    );
    // Boundary rules.
    w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "IRS-TETE", "name": "IRS", "type": "IRS", "start_date": day(&w.app, 5), "end_date": day(&w.app, 30), "boundaries": ["MOATIZE"]})).await;
    let outside_campaign = assign(
        &w,
        &w.admin,
        &w.tete_worker,
        json!({"campaign": "IRS-TETE", "boundaries": ["ULONGUE", "ZOBUE"]}),
    )
    .await;
    assert_eq!(outside_campaign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        outside_campaign.error_code_of("boundaries[0]").as_deref(),
        Some("boundary_outside_campaign")
    );
    assert_eq!(outside_campaign.error_code_of("boundaries[1]"), None);
    let outside_scope = assign(&w, &w.sup_tete, &w.tete_worker, json!({"campaign": "IRS-TETE", "boundaries": ["ZOBUE"], "from_date": day(&w.app, -3), "till_date": day(&w.app, 1)})).await;
    assert_eq!(
        outside_scope.error_code_of("from_date").as_deref(),
        Some("dates_outside_campaign"),
        "{}",
        outside_scope.body
    );
    let niassa = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["CHIUAULA"]}),
    )
    .await;
    assert!(
        niassa.status == StatusCode::UNPROCESSABLE_ENTITY || niassa.status == StatusCode::CONFLICT
    );
    // Several campaigns per user; an upcoming one.
    let second = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "IRS-TETE", "boundaries": ["ZOBUE"]}),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    assert_eq!(second.body["status"], "upcoming");
    let list = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.sup_tete,
        )
        .await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.sup_tete)
        .await;
    assert_eq!(user.body["assignments"].as_array().unwrap().len(), 2);
    // Status follows the clock.
    // Days pass (and sessions expire with them).
    w.app.clock.advance(6 * 86_400);
    let sup = w.app.token("sup.tete").await;
    let list = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &sup,
        )
        .await;
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "active"),
        "{}",
        list.body
    );
    w.app.clock.advance(60 * 86_400);
    let sup = w.app.token("sup.tete").await;
    let list = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &sup,
        )
        .await;
    assert!(
        list.body
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "ended"),
        "{}",
        list.body
    );
}

#[tokio::test]
async fn supervisors_cannot_assign_out_of_scope_workers_or_boundaries() {
    let w = with_campaign().await;
    let hidden = assign(
        &w,
        &w.sup_tete,
        &w.niassa_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["CHIUAULA"]}),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let straddler = assign(
        &w,
        &w.sup_tete,
        &w.straddler,
        json!({"campaign": "LLIN-2026", "boundaries": ["ZOBUE"]}),
    )
    .await;
    assert_eq!(straddler.status, StatusCode::FORBIDDEN);
    let boundary = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["CHIUAULA"]}),
    )
    .await;
    assert_eq!(boundary.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        boundary.error_code_of("boundaries[0]").as_deref(),
        Some("boundary_outside_scope")
    );
    let escalate = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"], "roles": ["SYSTEM_ADMIN"]}),
    )
    .await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_assignment_alone_puts_a_worker_in_a_supervisors_scope() {
    let w = with_campaign().await;
    let r = w.app.post("/api/v1/users", &w.sup_tete, json!({
        "username": "only.assigned", "first_name": "Only", "last_name": "Assigned", "email": "o@example.org",
        "correspondence_address": "Rua", "roles": ["REGISTRAR"], "employment_type": "CONTRACTUAL", "department": "NMCP",
        "assignments": [{"campaign": "LLIN-2026", "boundaries": ["ZOBUE"]}]
    })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["assignments"][0]["boundaries"], json!(["ZOBUE"]));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(
        w.app
            .get(&format!("/api/v1/users/{id}"), &w.sup_tete)
            .await
            .status,
        StatusCode::OK
    );
    // Found by place from the moment it is created: the search reads the assignment's
    // path from the user's row, written with the user.
    for (token, query) in [
        (&w.sup_tete, "name=assigned"),
        (&w.sup_tete, "username=only"),
        (&w.admin, "boundary=ZOBUE&name=assigned"),
        (&w.admin, "boundary=MOATIZE&q=only.a"),
    ] {
        assert_eq!(
            found(&w, token, query).await,
            vec!["only.assigned"],
            "{query}"
        );
    }
    assert!(found(&w, &w.admin, "boundary=NIASSA&name=assigned")
        .await
        .is_empty());
    let bad = w.app.post("/api/v1/users", &w.sup_tete, json!({
        "username": "bad.assigned", "first_name": "B", "last_name": "A", "email": "b@example.org",
        "correspondence_address": "Rua", "roles": ["REGISTRAR"], "employment_type": "CONTRACTUAL", "department": "NMCP",
        "assignments": [{"campaign": "NOPE", "boundaries": ["ZOBUE"]}, {"campaign": "LLIN-2026", "boundaries": ["CHIUAULA"]}]
    })).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.error_code_of("assignments[0].campaign").as_deref(),
        Some("unknown_campaign")
    );
    assert_eq!(
        bad.error_code_of("assignments[1].boundaries[0]").as_deref(),
        Some("boundary_outside_scope")
    );
}

#[tokio::test]
async fn ending_keeps_history_and_moving_is_one_call() {
    let w = with_campaign().await;
    w.app.post("/api/v1/campaigns", &w.admin, json!({"code": "SMC-TETE", "name": "SMC", "type": "SMC", "start_date": day(&w.app, -2), "end_date": day(&w.app, 30), "boundaries": ["TETE"]})).await;
    let a = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"]}),
    )
    .await;
    let id = a.body["id"].as_str().unwrap().to_owned();
    let moved = w
        .app
        .post(
            &format!("/api/v1/assignments/{id}/move"),
            &w.sup_tete,
            json!({"campaign": "SMC-TETE", "boundaries": ["ZOBUE"]}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["ended"]["till_date"], day(&w.app, -1));
    assert_eq!(moved.body["ended"]["status"], "ended");
    assert_eq!(moved.body["created"]["from_date"], day(&w.app, 0));
    assert_eq!(moved.body["created"]["campaign"], "SMC-TETE");
    let all = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.sup_tete,
        )
        .await;
    assert_eq!(
        all.body.as_array().unwrap().len(),
        2,
        "the ended assignment stays as history"
    );
    let new_id = moved.body["created"]["id"].as_str().unwrap().to_owned();
    let ended = w
        .app
        .post(
            &format!("/api/v1/assignments/{new_id}/end"),
            &w.sup_tete,
            json!({"reason": "left the team"}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body["ended_on"], day(&w.app, 0));
    assert_eq!(ended.body["end_reason"], "left the team");
    let twice = w
        .app
        .post(
            &format!("/api/v1/assignments/{new_id}/end"),
            &w.sup_tete,
            json!({}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let history = w
        .app
        .get(
            &format!("/api/v1/users/{}/history", w.tete_worker),
            &w.admin,
        )
        .await;
    let actions: Vec<&str> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"assignment.move") && actions.contains(&"assignment.end"),
        "{actions:?}"
    );
    let patched = w
        .app
        .patch(
            &format!("/api/v1/assignments/{new_id}"),
            &w.sup_tete,
            json!({"boundaries": ["MOATIZE"]}),
        )
        .await;
    assert_eq!(
        patched.status,
        StatusCode::CONFLICT,
        "ended assignments are history"
    );
}

#[tokio::test]
async fn deactivation_ends_sessions_blocks_login_and_reactivation_restores_it() {
    let w = with_campaign().await;
    let token = w.app.token("joao.lopes").await;
    let bad = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "BORED", "effective_date": "2026-13-01"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error_fields(), vec!["reason", "effective_date"]);
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "RESIGNED", "order_number": "ORD-7", "remarks": "left"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "deactivated");
    assert_eq!(r.body["deactivation"]["reason"], "RESIGNED");
    assert_eq!(r.body["deactivation"]["effective_date"], day(&w.app, 0));
    assert_eq!(r.body["deactivation"]["order_number"], "ORD-7");
    assert_eq!(
        w.app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED,
        "sessions end at once"
    );
    let login = w.app.login("joao.lopes", PASSWORD).await;
    assert_eq!(
        (login.status, login.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_deactivated"))
    );
    let again = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "RESIGNED"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // Still visible to the supervisor, so they can bring the worker back.
    let found = w
        .app
        .get("/api/v1/users?status=deactivated", &w.sup_tete)
        .await;
    assert_eq!(found.body["total"], 1);
    let no_reason = w
        .app
        .post(
            &format!("/api/v1/users/{}/reactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": ""}),
        )
        .await;
    assert_eq!(
        no_reason.error_code_of("reason").as_deref(),
        Some("unknown_value")
    );
    let back = w
        .app
        .post(
            &format!("/api/v1/users/{}/reactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "REHIRED"}),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    assert_eq!(back.body["status"], "active");
    assert_eq!(back.body["deactivation"], Value::Null);
    let kinds: Vec<&str> = back.body["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["deactivation", "reactivation"]);
    assert_eq!(
        w.app.login("joao.lopes", PASSWORD).await.status,
        StatusCode::OK
    );
    let twice = w
        .app
        .post(
            &format!("/api/v1/users/{}/reactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "REHIRED"}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let own = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.admin_id),
            &w.admin,
            json!({"reason": "OTHER"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn future_deactivation_is_scheduled_and_applied_on_the_day() {
    let w = with_campaign().await;
    let token = w.app.token("joao.lopes").await;
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "END_OF_CAMPAIGN", "effective_date": day(&w.app, 3)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["deactivation"]["state"], "scheduled");
    assert_eq!(
        w.app.cadre.apply_due_status_changes().await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(w.app.get("/api/v1/me", &token).await.status, StatusCode::OK);
    // The service was down on the day: the change applies when it is back.
    w.app.clock.advance(5 * 86_400);
    assert_eq!(w.app.cadre.apply_due_status_changes().await.unwrap(), 1);
    assert_eq!(
        w.app.cadre.apply_due_status_changes().await.unwrap(),
        0,
        "exactly once"
    );
    // Five days on, the administrator's session has expired too.
    let admin = w.app.token("admin").await;
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &admin)
        .await;
    assert_eq!(user.body["status"], "deactivated");
    assert_eq!(user.body["deactivation"]["state"], "applied");
    assert_eq!(
        user.body["deactivation"]["effective_date"],
        day(&w.app, -2),
        "the original date is kept"
    );
    assert_eq!(
        w.app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let audit = w
        .app
        .get(
            &format!(
                "/api/v1/audit?target={}&action=user.deactivate",
                w.tete_worker
            ),
            &admin,
        )
        .await;
    assert_eq!(audit.body["items"][0]["actor_username"], "cadre-scheduler");
}

#[tokio::test]
async fn reactivating_cancels_a_scheduled_deactivation() {
    let w = with_campaign().await;
    w.app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "END_OF_CAMPAIGN", "effective_date": day(&w.app, 3)}),
        )
        .await;
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/reactivate", w.tete_worker),
            &w.sup_tete,
            json!({"reason": "NEW_CAMPAIGN"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    w.app.clock.advance(4 * 86_400);
    assert_eq!(w.app.cadre.apply_due_status_changes().await.unwrap(), 0);
    let admin = w.app.token("admin").await;
    let history = w
        .app
        .get(
            &format!("/api/v1/users/{}/status-history", w.tete_worker),
            &admin,
        )
        .await;
    let states: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["cancelled", "applied"]);
}

fn new_worker(first: &str) -> Value {
    json!({"first_name": first, "last_name": "Novo", "email": "n@example.org", "correspondence_address": "Rua 9",
           "employment_type": "CONTRACTUAL", "department": "NMCP", "credential": {"method": "generate"}})
}

#[tokio::test]
async fn replacement_hands_over_assignments_and_links_both_workers() {
    let w = with_campaign().await;
    let old_token = w.app.token("joao.lopes").await;
    let a = assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"], "roles": ["FIELD_SUPERVISOR"]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED);
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.tete_worker),
            &w.sup_tete,
            json!({"replacement": new_worker("Pedro"), "effective_date": day(&w.app, 0)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let old = &r.body["old_user"];
    let new = &r.body["new_user"];
    assert!(r.body["generated_password"].is_string());
    assert_eq!(new["username"], "pedro.novo");
    assert_eq!(old["status"], "deactivated");
    assert_eq!(old["deactivation"]["reason"], "REPLACED");
    assert_eq!(old["replaced_by"], new["id"]);
    assert_eq!(new["replaces"], old["id"]);
    assert_eq!(
        new["jurisdictions"],
        json!(["ULONGUE"]),
        "takes the old worker's place"
    );
    assert_eq!(new["roles"], json!(["REGISTRAR"]));
    let old_a = &old["assignments"][0];
    assert_eq!(old_a["till_date"], day(&w.app, -1));
    assert_eq!(old_a["end_reason"], "replaced");
    let new_a = &new["assignments"][0];
    assert_eq!(new_a["from_date"], day(&w.app, 0));
    assert_eq!(new_a["till_date"], day(&w.app, 50));
    assert_eq!(new_a["boundaries"], json!(["ULONGUE"]));
    assert_eq!(new_a["roles"], json!(["FIELD_SUPERVISOR"]));
    assert_eq!(new_a["takes_over"], old_a["id"]);
    assert_eq!(
        w.app.get("/api/v1/me", &old_token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let twice = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.tete_worker),
            &w.sup_tete,
            json!({"replacement": new_worker("Ana")}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.body["code"], "already_replaced");
    // Who served Ulónguè: the old worker yesterday, the new one today.
    let yesterday = w
        .app
        .get(
            &format!("/api/v1/boundaries/ULONGUE/staff?date={}", day(&w.app, -1)),
            &w.sup_tete,
        )
        .await;
    assert_eq!(yesterday.status, StatusCode::OK, "{}", yesterday.body);
    let names = |r: &crate::support::Response| -> Vec<String> {
        r.body["staff"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&yesterday), vec!["joao.lopes"]);
    let today = w
        .app
        .get(
            "/api/v1/boundaries/ULONGUE/staff?campaign=LLIN-2026",
            &w.sup_tete,
        )
        .await;
    assert_eq!(names(&today), vec!["pedro.novo"]);
    let district = w
        .app
        .get("/api/v1/boundaries/ANGONIA/staff", &w.sup_tete)
        .await;
    assert_eq!(names(&district), vec!["pedro.novo"], "staff of a subtree");
    // Timelines tell the story.
    let timeline = w
        .app
        .get(
            &format!("/api/v1/users/{}/timeline", w.tete_worker),
            &w.admin,
        )
        .await;
    let kinds: Vec<&str> = timeline
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"assignment_started")
            && kinds.contains(&"assignment_ended")
            && kinds.contains(&"deactivated")
            && kinds.contains(&"replaced_by"),
        "{kinds:?}"
    );
    let new_id = new["id"].as_str().unwrap();
    let timeline = w
        .app
        .get(&format!("/api/v1/users/{new_id}/timeline"), &w.admin)
        .await;
    let kinds: Vec<&str> = timeline
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["replaces", "assignment_started"]);
}

#[tokio::test]
async fn future_replacement_schedules_the_old_workers_deactivation() {
    let w = with_campaign().await;
    assign(
        &w,
        &w.sup_tete,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"]}),
    )
    .await;
    let existing = w
        .app
        .seed_user("maria.nova", &["REGISTRAR"], &["ZOBUE"], "Maria", "Nova")
        .await;
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.tete_worker),
            &w.sup_tete,
            json!({"replacement": existing, "effective_date": day(&w.app, 7)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["old_user"]["status"], "active");
    assert_eq!(r.body["old_user"]["deactivation"]["state"], "scheduled");
    assert_eq!(
        r.body["old_user"]["assignments"][0]["till_date"],
        day(&w.app, 6)
    );
    assert_eq!(
        r.body["new_user"]["assignments"][0]["from_date"],
        day(&w.app, 7)
    );
    let in_a_week = w
        .app
        .get(
            &format!("/api/v1/boundaries/ULONGUE/staff?date={}", day(&w.app, 7)),
            &w.admin,
        )
        .await;
    assert_eq!(in_a_week.body["staff"][0]["username"], "maria.nova");
    w.app.clock.advance(7 * 86_400);
    assert_eq!(w.app.cadre.apply_due_status_changes().await.unwrap(), 1);
    let admin = w.app.token("admin").await;
    let old = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &admin)
        .await;
    assert_eq!(old.body["status"], "deactivated");
}

#[tokio::test]
async fn replacement_respects_scope_and_state() {
    let w = with_campaign().await;
    let hidden = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.niassa_worker),
            &w.sup_tete,
            json!({"replacement": new_worker("X")}),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let partly = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.straddler),
            &w.sup_tete,
            json!({"replacement": new_worker("Y")}),
        )
        .await;
    assert_eq!(partly.status, StatusCode::FORBIDDEN);
    let out_of_scope_replacement = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.tete_worker),
            &w.sup_tete,
            json!({"replacement": w.niassa_worker}),
        )
        .await;
    assert_eq!(
        out_of_scope_replacement.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        out_of_scope_replacement
            .error_code_of("replacement")
            .as_deref(),
        Some("unknown_user")
    );
    let mut bad = new_worker("Z");
    bad["mobile_number"] = json!("nope");
    let invalid = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.tete_worker),
            &w.sup_tete,
            json!({"replacement": bad}),
        )
        .await;
    assert_eq!(
        invalid
            .error_code_of("replacement.mobile_number")
            .as_deref(),
        Some("invalid_mobile_number")
    );
    w.app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.admin,
            json!({"reason": "RESIGNED"}),
        )
        .await;
    let deactivated = w
        .app
        .post(
            &format!("/api/v1/users/{}/replace", w.tete_worker),
            &w.sup_tete,
            json!({"replacement": new_worker("Q")}),
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::CONFLICT);
    assert_eq!(deactivated.body["code"], "user_deactivated");
    // Nothing half-done: no user was created by the failed attempts.
    let created = w
        .app
        .get("/api/v1/users?username=q.novo&status=all", &w.admin)
        .await;
    assert_eq!(created.body["total"], 0);
}

#[tokio::test]
async fn coverage_lists_service_delivery_boundaries_with_nobody_assigned() {
    let w = with_campaign().await;
    let names = |r: &crate::support::Response| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = w
        .app
        .get("/api/v1/campaigns/LLIN-2026/coverage", &w.admin)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(names(&all), vec!["CHIUAULA", "ULONGUE", "ZOBUE"]);
    assign(
        &w,
        &w.admin,
        &w.tete_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"]}),
    )
    .await;
    assign(
        &w,
        &w.admin,
        &w.niassa_worker,
        json!({"campaign": "LLIN-2026", "boundaries": ["LICHINGA"]}),
    )
    .await;
    let now = w
        .app
        .get("/api/v1/campaigns/LLIN-2026/coverage", &w.admin)
        .await;
    assert_eq!(
        names(&now),
        vec!["ZOBUE"],
        "a district assignment covers its villages"
    );
    let tete = w
        .app
        .get("/api/v1/campaigns/LLIN-2026/coverage", &w.sup_tete)
        .await;
    assert_eq!(names(&tete), vec!["ZOBUE"]);
    w.app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.tete_worker),
            &w.admin,
            json!({"reason": "RESIGNED"}),
        )
        .await;
    let after = w
        .app
        .get("/api/v1/campaigns/LLIN-2026/coverage", &w.admin)
        .await;
    assert_eq!(
        names(&after),
        vec!["ULONGUE", "ZOBUE"],
        "a deactivated worker covers nothing"
    );
}

#[tokio::test]
async fn search_filters_by_campaign_assignment_role_and_assignment_boundary() {
    let w = with_campaign().await;
    assign(
        &w,
        &w.admin,
        &w.nobody,
        json!({"campaign": "LLIN-2026", "boundaries": ["CHIUAULA"], "roles": ["DISTRIBUTOR"]}),
    )
    .await;
    let by_campaign = w
        .app
        .get("/api/v1/users?campaign=LLIN-2026", &w.admin)
        .await;
    assert_eq!(by_campaign.body["items"][0]["username"], "floating");
    assert_eq!(by_campaign.body["total"], 1);
    assert_eq!(
        found(&w, &w.admin, "role=DISTRIBUTOR&sort=-username").await,
        vec!["tomas.bila", "floating"]
    );
    let by_place = w.app.get("/api/v1/users?boundary=LICHINGA", &w.admin).await;
    assert_eq!(
        by_place.body["total"], 3,
        "ana.sitoe, tomas.bila, and floating through its assignment"
    );
}

#[tokio::test]
async fn search_within_a_boundary_follows_moved_jurisdictions_and_ended_assignments() {
    let w = with_campaign().await;
    let made = assign(
        &w,
        &w.admin,
        &w.nobody,
        json!({"campaign": "LLIN-2026", "boundaries": ["CHIUAULA"], "roles": ["DISTRIBUTOR"]}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert!(found(&w, &w.admin, "boundary=NIASSA")
        .await
        .contains(&"floating".to_owned()));
    assert!(!found(&w, &w.admin, "boundary=TETE")
        .await
        .contains(&"floating".to_owned()));

    let id = made.body["id"].as_str().unwrap();
    let ended = w
        .app
        .post(
            &format!("/api/v1/assignments/{id}/end"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert!(
        found(&w, &w.admin, "boundary=LICHINGA")
            .await
            .contains(&"floating".to_owned()),
        "an assignment ended today still covers today"
    );
    w.app.clock.advance(86_400);
    assert!(
        !found(&w, &w.admin, "boundary=NIASSA")
            .await
            .contains(&"floating".to_owned()),
        "the day after, the ended assignment no longer places the user"
    );

    assert_eq!(
        found(&w, &w.admin, "name=lopes&boundary=ANGONIA").await,
        vec!["joao.lopes"]
    );
    assert_eq!(
        found(&w, &w.sup_tete, "name=lopes").await,
        vec!["joao.lopes"]
    );
    let moved = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"jurisdictions": ["CHIUAULA"]}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert!(found(&w, &w.admin, "name=lopes&boundary=TETE")
        .await
        .is_empty());
    assert_eq!(
        found(&w, &w.admin, "name=lopes&boundary=CHIUAULA").await,
        vec!["joao.lopes"]
    );
    assert!(
        found(&w, &w.sup_tete, "name=lopes").await.is_empty(),
        "a Tete supervisor no longer sees a worker moved to Niassa"
    );
}

#[tokio::test]
async fn a_name_fragment_within_a_place_finds_every_word_holding_it() {
    let w = with_campaign().await;
    for (username, place, first, last) in [
        ("mariana.c", "ULONGUE", "Mariana", "Cossa"),
        ("juliana.t", "ZOBUE", "Juliana", "Tembe"),
        ("ana.z", "ULONGUE", "Ana", "Zimba"),
        ("ana.c", "CHIUAULA", "Ana", "Cossa"),
        ("santana.b", "CHIUAULA", "Santana", "Bila"),
        ("zukzz.t", "ULONGUE", "Zukzz", "Tembe"),
    ] {
        w.app
            .seed_user(username, &["REGISTRAR"], &[place], first, last)
            .await;
    }
    // Placed in Tete by an assignment alone.
    let diana = w
        .app
        .seed_user("diana.m", &["REGISTRAR"], &[], "Diana", "Mabunda")
        .await;
    let made = assign(
        &w,
        &w.admin,
        &diana,
        json!({"campaign": "LLIN-2026", "boundaries": ["ZOBUE"]}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    // 70 words holding "zuk", more than a search looks up, written straight in.
    w.app
        .sql(
            "INSERT INTO users (id, username, status, profile_complete, version, first_name,
                last_name, name_folded, must_change_password, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 69)
             SELECT 'zuk-' || i, 'zuk.' || (100 + i), 'active', TRUE, 1, 'Zuk', 'Lopes',
                'zuk' || substr('abcdefghijklmnopqrstuvwxyz', (i % 26) + 1, 1)
                    || substr('abcdefghijklmnopqrstuvwxyz', (i / 26) + 1, 1) || ' lopes',
                FALSE, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'
             FROM n",
        )
        .await
        .unwrap();

    let tete = ["ana.z", "diana.m", "juliana.t", "mariana.c"];
    let niassa = ["ana.c", "ana.sitoe", "santana.b"];
    assert_eq!(found(&w, &w.admin, "name=ana&boundary=TETE").await, tete);
    assert_eq!(
        found(&w, &w.admin, "name=ANA&boundary=NIASSA").await,
        niassa
    );
    assert_eq!(found(&w, &w.sup_tete, "name=ana").await, tete);
    assert_eq!(
        found(&w, &w.admin, "name=ana&boundary=TETE&sort=-name").await,
        ["mariana.c", "juliana.t", "diana.m", "ana.z"],
        "by name, descending"
    );
    let mut everywhere: Vec<&str> = tete.iter().chain(&niassa).copied().collect();
    everywhere.sort();
    assert_eq!(
        crate::every_page(&w, "name=ana&limit=3", everywhere.len() as i64).await,
        everywhere
    );
    assert_eq!(
        found(&w, &w.admin, "name=ana cossa&boundary=MZ").await,
        ["ana.c", "mariana.c"]
    );
    assert_eq!(
        found(&w, &w.admin, "name=ana cossa&boundary=NIASSA").await,
        ["ana.c"]
    );
    assert_eq!(
        found(&w, &w.admin, "q=ana&boundary=TETE").await,
        tete,
        "the one-box search, its username prefix among them"
    );
    assert!(found(&w, &w.admin, "name=anaq&boundary=TETE")
        .await
        .is_empty());
    assert!(found(&w, &w.admin, "name=qqq").await.is_empty());

    let zuks: Vec<String> = (100..170).map(|i| format!("zuk.{i}")).collect();
    let mut all_zuks = zuks.clone();
    all_zuks.push("zukzz.t".into());
    assert_eq!(
        crate::every_page(&w, "name=zuk&limit=30", all_zuks.len() as i64).await,
        all_zuks
    );
    assert_eq!(
        found(&w, &w.admin, "name=zuk&boundary=ANGONIA").await,
        ["zukzz.t"]
    );
    assert_eq!(
        found(&w, &w.admin, "name=zuka&boundary=MZ").await,
        Vec::<String>::new()
    );
    assert_eq!(
        crate::every_page(&w, "name=zukb lopes&limit=2", 3).await,
        ["zuk.101", "zuk.127", "zuk.153"]
    );

    // A new name and an ended assignment move the users at once.
    let r = w
        .app
        .patch(
            &format!("/api/v1/users/{diana}"),
            &w.admin,
            json!({"first_name": "Dina"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        found(&w, &w.admin, "name=ana&boundary=TETE").await,
        ["ana.z", "juliana.t", "mariana.c"]
    );
    assert_eq!(
        found(&w, &w.admin, "name=dina&boundary=TETE").await,
        ["diana.m"]
    );
    let ended = w
        .app
        .post(
            &format!(
                "/api/v1/assignments/{}/end",
                made.body["id"].as_str().unwrap()
            ),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    w.app.clock.advance(86_400);
    assert!(found(&w, &w.admin, "name=dina&boundary=TETE")
        .await
        .is_empty());
}

#[tokio::test]
async fn every_new_route_is_in_the_openapi_document() {
    let app = TestApp::new().await;
    let doc = app.call(Method::GET, "/api/openapi.json", None, None).await;
    for (method, path) in [
        ("get", "/api/v1/campaigns"),
        ("post", "/api/v1/campaigns"),
        ("get", "/api/v1/campaigns/{code}"),
        ("patch", "/api/v1/campaigns/{code}"),
        ("get", "/api/v1/campaigns/{code}/coverage"),
        ("get", "/api/v1/users/{id}/assignments"),
        ("post", "/api/v1/users/{id}/assignments"),
        ("patch", "/api/v1/assignments/{id}"),
        ("post", "/api/v1/assignments/{id}/end"),
        ("post", "/api/v1/users/{id}/deactivate"),
        ("post", "/api/v1/users/{id}/reactivate"),
        ("post", "/api/v1/users/{id}/replace"),
        ("get", "/api/v1/boundaries/{code}/staff"),
    ] {
        assert!(
            doc.body["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }
    let _ = Utc::now();
}
