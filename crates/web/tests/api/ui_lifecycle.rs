//! The lifecycle pages over HTTP: deactivate, reactivate, replace and assign through
//! plain forms, as a browser without JavaScript sends them.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{day, Browser, World};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";

async fn with_campaign() -> World {
    let w = World::new().await;
    let r = w.app.post("/api/v1/campaigns", &w.admin, json!({
        "code": "LLIN-2026", "name": "LLIN 2026", "type": "LLIN",
        "start_date": day(&w.app, -10), "end_date": day(&w.app, 50), "boundaries": ["TETE", "NIASSA"]
    })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    w
}

#[tokio::test]
async fn a_supervisor_deactivates_a_worker_with_a_document_through_the_form() {
    let w = World::new().await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let path = format!("/users/{}/deactivate", w.tete_worker);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for needed in [
        "enctype=\"multipart/form-data\"",
        "name=\"_csrf\"",
        "<select id=\"reason\"",
        "value=\"RESIGNED\"",
        &format!("type=\"date\" required value=\"{}\"", day(&w.app, 0)),
        "accept=\"application/pdf,image/jpeg,image/png\"",
        "id=\"effective_date-hint\"",
        "<label for=\"remarks\">",
    ] {
        assert!(page.html.contains(needed), "{needed} missing");
    }
    let form = Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "RESIGNED")
        .text("effective_date", day(&w.app, 0))
        .text("order_number", "ORD-7/2026")
        .part(
            "documents",
            Part::bytes(PDF.to_vec())
                .file_name("ordem.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
        .text("remarks", "Left for studies");
    let done = b.post_multipart(&path, form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location, format!("/users/{}", w.tete_worker));
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(user.body["status"], "deactivated");
    assert_eq!(user.body["deactivation"]["reason"], "RESIGNED");
    assert_eq!(user.body["deactivation"]["order_number"], "ORD-7/2026");
    assert_eq!(user.body["deactivation"]["remarks"], "Left for studies");
    let docs = w
        .app
        .get(
            &format!("/api/v1/users/{}/documents", w.tete_worker),
            &w.admin,
        )
        .await;
    assert_eq!(docs.body["total"], 1, "{}", docs.body);
    assert_eq!(docs.body["items"][0]["filename"], "ordem.pdf");
    assert_eq!(
        docs.body["items"][0]["status_change_id"],
        user.body["deactivation"]["id"]
    );
    // The page now says so instead of offering the form again.
    let again = b.get(&path).await;
    assert!(again.html.contains("id=\"state-note\""));
    assert!(!again.html.contains("id=\"deactivate\""));
}

#[tokio::test]
async fn a_bad_reason_is_shown_next_to_its_field_and_keeps_what_was_typed() {
    let w = World::new().await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let path = format!("/users/{}/deactivate", w.tete_worker);
    let form = Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "BORED")
        .text("effective_date", day(&w.app, 0))
        .text("order_number", "ORD-<9>")
        .part(
            "documents",
            Part::bytes(PDF.to_vec()).file_name("carta.pdf"),
        )
        .text("remarks", "Typed with care & kept");
    let page = b.post_multipart(&path, form).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.html
    );
    let html = &page.html;
    assert!(html.contains("role=\"alert\""), "summary");
    assert!(
        html.contains("href=\"#reason\""),
        "summary links to the field"
    );
    assert!(html
        .contains("<p class=\"error-text\" id=\"reason-error\">Choose a value from the list.</p>"));
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"reason-error\""));
    assert!(html.contains("Typed with care &amp; kept"), "remarks kept");
    assert!(
        html.contains("value=\"ORD-&lt;9&gt;\""),
        "order number kept, escaped"
    );
    // The uploaded document is kept on the form, not uploaded twice.
    assert!(html.contains("id=\"kept-documents\""));
    assert!(html.contains("carta.pdf"));
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(user.body["status"], "active");
    // Fixing the reason attaches the kept document.
    let doc_id = w
        .app
        .get(
            &format!("/api/v1/users/{}/documents", w.tete_worker),
            &w.admin,
        )
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "ABSENT")
        .text("effective_date", day(&w.app, 0))
        .text("document_ids", doc_id)
        .part("documents", Part::bytes(Vec::new()).file_name(""));
    let done = b.post_multipart(&path, form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let docs = w
        .app
        .get(
            &format!("/api/v1/users/{}/documents", w.tete_worker),
            &w.admin,
        )
        .await;
    assert_eq!(docs.body["total"], 1);
    assert!(docs.body["items"][0]["status_change_id"].is_string());
}

#[tokio::test]
async fn a_future_date_schedules_and_reactivation_works_through_the_form() {
    let w = World::new().await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let form = Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "END_OF_CAMPAIGN")
        .text("effective_date", day(&w.app, 5));
    let done = b
        .post_multipart(&format!("/users/{}/deactivate", w.tete_worker), form)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(user.body["status"], "active", "scheduled, not yet applied");

    // Reactivating cancels the scheduled deactivation.
    let path = format!("/users/{}/reactivate", w.tete_worker);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("value=\"REHIRED\""));
    let bad = b
        .post(&path, &[("reason", ""), ("remarks", "kept")], true)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("id=\"reason-error\""));
    assert!(bad.html.contains(">kept</textarea>"));
    let ok = b
        .post(
            &path,
            &[("reason", "DEACTIVATED_IN_ERROR"), ("remarks", "")],
            true,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.html);
    assert_eq!(ok.location, format!("/users/{}", w.tete_worker));

    // And a deactivated user comes back.
    let form = Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "RESIGNED");
    let done = b
        .post_multipart(&format!("/users/{}/deactivate", w.tete_worker), form)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let ok = b.post(&path, &[("reason", "REHIRED")], true).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.html);
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(user.body["status"], "active");
    // A second reactivation is refused on the form, not with an error page.
    let again = b.post(&path, &[("reason", "REHIRED")], true).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.html.contains("role=\"alert\""));
}

#[tokio::test]
async fn replacing_through_the_form_hands_the_assignment_to_a_new_worker() {
    let w = with_campaign().await;
    let r = w
        .app
        .post(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.sup_tete,
            json!({"campaign": "LLIN-2026", "boundaries": ["ULONGUE"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let path = format!("/users/{}/replace", w.tete_worker);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("id=\"handed-over\""));
    assert!(page.html.contains("LLIN-2026: ULONGUE"));
    assert!(page.html.contains("<option value=\"REPLACED\" selected>"));
    assert!(page.html.contains("<legend>"));

    // A missing first name is reported on the field.
    let effective = day(&w.app, 0);
    let mut fields = vec![
        ("mode", "new"),
        ("first_name", ""),
        ("last_name", "Chissano"),
        ("mobile_number", "84 765 4321"),
        ("gender", "FEMALE"),
        ("email", "ines@example.org"),
        ("employment_type", "CONTRACTUAL"),
        ("department", "NMCP"),
        ("correspondence_address", "Bairro 3, Ulónguè"),
        ("effective_date", &effective),
        ("reason", "REPLACED"),
        ("remarks", "hand-over"),
    ];
    let bad = b.post(&path, &fields, true).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    assert!(bad.html.contains("id=\"first_name-error\""));
    assert!(bad.html.contains("value=\"Chissano\""));
    assert!(bad.html.contains(">hand-over</textarea>"));
    fields[1] = ("first_name", "Inês");
    let done = b.post(&path, &fields, true).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("id=\"generated-password\""));
    let old = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(old.body["status"], "deactivated");
    let new_id = old.body["replaced_by"].as_str().unwrap().to_owned();
    assert!(done.html.contains(&format!("href=\"/users/{new_id}\"")));
    let new = w
        .app
        .get(&format!("/api/v1/users/{new_id}"), &w.admin)
        .await;
    assert_eq!(new.body["first_name"], "Inês");
    assert_eq!(new.body["jurisdictions"], json!(["ULONGUE"]));
    let open: Vec<_> = new.body["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ended_on"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "{}", new.body);
    assert_eq!(open[0]["campaign"], "LLIN-2026");
    assert_eq!(open[0]["from_date"], effective.as_str());
    assert!(open[0]["takes_over"].is_string());
}

#[tokio::test]
async fn replacing_by_an_existing_user_redirects_to_them() {
    let w = World::new().await;
    let other = w
        .app
        .seed_user("rui.tete", &["REGISTRAR"], &["ZOBUE"], "Rui", "Tete")
        .await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let path = format!("/users/{}/replace", w.tete_worker);
    let unknown = b
        .post(
            &path,
            &[("mode", "existing"), ("existing_username", "ana.sitoe")],
            true,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.html.contains("id=\"existing_username-error\""));
    assert!(unknown.html.contains("value=\"ana.sitoe\""));
    let done = b
        .post(
            &path,
            &[("mode", "existing"), ("existing_username", "rui.tete")],
            true,
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location, format!("/users/{other}"));
}

#[tokio::test]
async fn assigning_in_two_steps_offers_only_tete_boundaries_of_the_campaign() {
    let w = with_campaign().await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let path = format!("/users/{}/assignments/new", w.tete_worker);
    let first = b.get(&path).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    assert!(first.html.contains("value=\"LLIN-2026\""));
    assert!(first.html.contains("name=\"step\" value=\"boundaries\""));
    assert!(!first.html.contains("id=\"boundary-list\""));

    let second = b
        .post(
            &path,
            &[("campaign", "LLIN-2026"), ("step", "boundaries")],
            true,
        )
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.html);
    for code in ["TETE", "ANGONIA", "MOATIZE", "ULONGUE", "ZOBUE"] {
        assert!(
            second
                .html
                .contains(&format!("name=\"boundaries\" value=\"{code}\"")),
            "{code} missing"
        );
    }
    for code in ["CHIUAULA", "NIASSA", "LICHINGA", "\"MZ\""] {
        assert!(!second.html.contains(code), "{code} offered");
    }
    assert!(second.html.contains("value=\"REGISTRAR\""), "field roles");

    // Saving without a boundary is refused on the field, with the campaign kept.
    let none = b
        .post(&path, &[("campaign", "LLIN-2026"), ("step", "save")], true)
        .await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        none.html
    );
    assert!(none.html.contains("id=\"boundaries-error\""));
    assert!(none.html.contains("<option value=\"LLIN-2026\" selected>"));

    let done = b
        .post(
            &path,
            &[
                ("campaign", "LLIN-2026"),
                ("boundaries", "ULONGUE"),
                ("boundaries", "ZOBUE"),
                ("roles", "DISTRIBUTOR"),
                ("from_date", ""),
                ("till_date", ""),
                ("step", "save"),
            ],
            true,
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    assert_eq!(done.location, format!("/users/{}", w.tete_worker));
    let list = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.admin,
        )
        .await;
    let a = &list.body[0];
    assert_eq!(a["campaign"], "LLIN-2026", "{}", list.body);
    assert_eq!(a["boundaries"], json!(["ULONGUE", "ZOBUE"]));
    assert_eq!(a["roles"], json!(["DISTRIBUTOR"]));
    let id = a["id"].as_str().unwrap().to_owned();

    // The page lists it with an End form and a Move link.
    let page = b.get(&path).await;
    assert!(page.html.contains(&format!("id=\"assignment-{id}\"")));
    assert!(page.html.contains(&format!("?move_from={id}")));
    let moving = b.get(&format!("{path}?move_from={id}")).await;
    assert_eq!(moving.status, StatusCode::OK);
    assert!(moving.html.contains("id=\"move-note\""));
    assert!(moving
        .html
        .contains(&format!("name=\"move_from\" value=\"{id}\"")));

    // A boundary outside the actor's scope typed as a code is refused.
    let outside = b
        .post(
            &format!("/users/{}/assignments/new", w.straddler),
            &[
                ("campaign", "LLIN-2026"),
                ("boundary_codes", "CHIUAULA"),
                ("step", "save"),
            ],
            true,
        )
        .await;
    assert_ne!(outside.status, StatusCode::SEE_OTHER);

    // Ending it through its form.
    let end = b
        .post(
            &format!("/users/{}/assignments/{id}/end", w.tete_worker),
            &[("date", &day(&w.app, 1)), ("reason", "season over")],
            true,
        )
        .await;
    assert_eq!(end.status, StatusCode::SEE_OTHER, "{}", end.html);
    let list = w
        .app
        .get(
            &format!("/api/v1/users/{}/assignments", w.tete_worker),
            &w.admin,
        )
        .await;
    assert_eq!(list.body[0]["ended_on"], day(&w.app, 1).as_str());
    assert_eq!(list.body[0]["end_reason"], "season over");
}

#[tokio::test]
async fn a_niassa_worker_does_not_exist_for_the_tete_supervisor() {
    let w = with_campaign().await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let id = &w.niassa_worker;
    for path in [
        format!("/users/{id}/deactivate"),
        format!("/users/{id}/reactivate"),
        format!("/users/{id}/replace"),
        format!("/users/{id}/assignments/new"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = b
        .post(
            &format!("/users/{id}/reactivate"),
            &[("reason", "REHIRED")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = b
        .post(
            &format!("/users/{id}/replace"),
            &[("mode", "existing"), ("existing_username", "joao.lopes")],
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let form = Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "RESIGNED");
    let r = b
        .post_multipart(&format!("/users/{id}/deactivate"), form)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let user = w.app.get(&format!("/api/v1/users/{id}"), &w.admin).await;
    assert_eq!(user.body["status"], "active");
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let w = with_campaign().await;
    let b = Browser::new(&w.app, &w.sup_tete, None);
    let id = &w.tete_worker;
    let form = Form::new()
        .text("reason", "RESIGNED")
        .part("documents", Part::bytes(PDF.to_vec()).file_name("x.pdf"));
    let r = b
        .post_multipart(&format!("/users/{id}/deactivate"), form)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let form = Form::new()
        .text("_csrf", "0".repeat(32))
        .text("reason", "RESIGNED");
    let r = b
        .post_multipart(&format!("/users/{id}/deactivate"), form)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b
        .post(
            &format!("/users/{id}/replace"),
            &[("mode", "existing"), ("existing_username", "floating")],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b
        .post(
            &format!("/users/{id}/assignments/new"),
            &[
                ("campaign", "LLIN-2026"),
                ("boundaries", "ULONGUE"),
                ("step", "save"),
            ],
            false,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let user = w.app.get(&format!("/api/v1/users/{id}"), &w.admin).await;
    assert_eq!(user.body["status"], "active");
    assert_eq!(user.body["assignments"], json!([]));
    let docs = w
        .app
        .get(&format!("/api/v1/users/{id}/documents"), &w.admin)
        .await;
    assert_eq!(docs.body["total"], 0);
}

#[tokio::test]
async fn the_pages_speak_portuguese() {
    let w = with_campaign().await;
    let b = Browser::new(&w.app, &w.sup_tete, Some("pt"));
    let id = &w.tete_worker;
    let page = b.get(&format!("/users/{id}/deactivate")).await;
    assert!(page.html.contains("<html lang=\"pt\">"));
    assert!(page.html.contains("Data de desativação"));
    assert!(page.html.contains("Observações"));
    assert!(page.html.contains("Desativar João Lopes"));
    let page = b.get(&format!("/users/{id}/replace")).await;
    assert!(page.html.contains("Um novo trabalhador"));
    assert!(page.html.contains("O que vai acontecer"));
    let page = b.get(&format!("/users/{id}/assignments/new")).await;
    assert!(page.html.contains("Mostrar os locais"));
    let bad = b
        .post(&format!("/users/{id}/reactivate"), &[("reason", "")], true)
        .await;
    assert!(bad.html.contains("Há um problema"));
}
