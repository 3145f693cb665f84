//! Past service is never changed as a side effect: editing a campaign's window and
//! recording a deactivation dated in the past leave "who served village X on day D"
//! as it was, and any assignment a window edit does change is changed in the open,
//! audited as itself.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{day, Response, World};

async fn with_campaign() -> World {
    let w = World::new().await;
    let r = w.app.post("/api/v1/campaigns", &w.admin, json!({
        "code": "HIST-2026", "name": "History", "type": "LLIN",
        "start_date": day(&w.app, -10), "end_date": day(&w.app, 50), "boundaries": ["TETE", "NIASSA"]
    })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    w
}

fn staff(r: &Response) -> Vec<String> {
    r.body["staff"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|s| s["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn served(w: &World, offset: i64) -> Vec<String> {
    let r = w
        .app
        .get(
            &format!(
                "/api/v1/boundaries/ULONGUE/staff?date={}",
                day(&w.app, offset)
            ),
            &w.admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    staff(&r)
}

async fn assign(w: &World, from: i64, till: i64) -> Value {
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.sup_tete,
            json!({"campaign": "HIST-2026", "boundaries": ["ULONGUE"], "roles": ["FIELD_SUPERVISOR"],
                   "from_date": day(&w.app, from), "till_date": day(&w.app, till)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

#[tokio::test]
async fn a_campaign_window_edit_never_rewrites_days_already_served() {
    let w = with_campaign().await;
    let begun = assign(&w, -5, 40).await;
    assert_eq!(served(&w, -3).await, vec!["joao.lopes"]);

    for (field, offset) in [("start_date", -2), ("end_date", -1)] {
        let r = w
            .app
            .patch(
                "/api/v1/campaigns/HIST-2026",
                &w.admin,
                json!({ field: day(&w.app, offset) }),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert_eq!(
            r.error_code_of(field).as_deref(),
            Some("assignments_already_served"),
            "{}",
            r.body
        );
    }
    assert_eq!(
        served(&w, -3).await,
        vec!["joao.lopes"],
        "the past is as it was"
    );
    let unchanged = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.admin,
        )
        .await;
    assert_eq!(unchanged.body[0]["from_date"], begun["from_date"]);
    assert_eq!(unchanged.body[0]["status"], "active");

    // Shortening the window to a day still ahead ends the assignment there, audited.
    let r = w
        .app
        .patch(
            "/api/v1/campaigns/HIST-2026",
            &w.admin,
            json!({"end_date": day(&w.app, 20)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let now = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.admin,
        )
        .await;
    assert_eq!(now.body[0]["till_date"], day(&w.app, 20));
    assert_eq!(now.body[0]["from_date"], begun["from_date"]);
    let audit = w
        .app
        .get(
            &format!(
                "/api/v1/audit?action=assignment.update&target={}",
                w.tete_worker
            ),
            &w.admin,
        )
        .await;
    assert_eq!(audit.body["total"], 1, "{}", audit.body);
    assert_eq!(served(&w, -3).await, vec!["joao.lopes"]);
}

#[tokio::test]
async fn a_later_start_moves_only_assignments_yet_to_begin_and_audits_each() {
    let w = with_campaign().await;
    let upcoming = assign(&w, 10, 40).await;
    let r = w
        .app
        .patch(
            "/api/v1/campaigns/HIST-2026",
            &w.admin,
            json!({"start_date": day(&w.app, 12)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let now = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.admin,
        )
        .await;
    assert_eq!(now.body[0]["id"], upcoming["id"]);
    assert_eq!(now.body[0]["from_date"], day(&w.app, 12));
    let audit = w
        .app
        .get(
            &format!(
                "/api/v1/audit?action=assignment.update&target={}",
                w.tete_worker
            ),
            &w.admin,
        )
        .await;
    assert_eq!(audit.body["total"], 1, "{}", audit.body);
}

#[tokio::test]
async fn a_backdated_deactivation_cannot_erase_recorded_service() {
    let w = with_campaign().await;
    assign(&w, -5, 40).await;
    let path = format!("/api/v1/users/{}/deactivate", w.tete_worker);
    let r = w
        .app
        .post(
            &path,
            &w.sup_tete,
            json!({"reason": "RESIGNED", "effective_date": day(&w.app, -3)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.error_code_of("effective_date").as_deref(),
        Some("service_recorded"),
        "{}",
        r.body
    );
    assert_eq!(served(&w, -3).await, vec!["joao.lopes"]);
    let r = w
        .app
        .post(&path, &w.sup_tete, json!({"reason": "RESIGNED"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        served(&w, -3).await,
        vec!["joao.lopes"],
        "yesterday's service stays"
    );
    assert_eq!(served(&w, -1).await, vec!["joao.lopes"]);

    // Someone with no assignment can be deactivated as of any past day.
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/deactivate", w.niassa_worker),
            &w.admin,
            json!({"reason": "RESIGNED", "effective_date": day(&w.app, -30)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
