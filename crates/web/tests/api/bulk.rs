//! Bulk jobs over HTTP: upload, dry run, commit, progress, errors, results, templates,
//! limits and scope.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Response, TestApp, World};

async fn upload(
    app: &TestApp,
    token: &str,
    filename: &str,
    content: Vec<u8>,
    fields: &[(&str, &str)],
) -> Response {
    let part = reqwest::multipart::Part::bytes(content).file_name(filename.to_owned());
    let mut form = reqwest::multipart::Form::new().part("file", part);
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    TestApp::read(
        app.client
            .post(format!("{}/api/v1/bulk/jobs", app.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Polls a job until it is completed or failed.
async fn finished(app: &TestApp, token: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let r = app.get(&format!("/api/v1/bulk/jobs/{id}"), token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let status = r.body["status"].as_str().unwrap_or("").to_owned();
        if status == "completed" || status == "failed" {
            return r.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "job still {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn download(app: &TestApp, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn user_count(app: &TestApp, token: &str) -> i64 {
    let r = app.get("/api/v1/users?status=all&limit=1", token).await;
    r.body["total"].as_i64().unwrap()
}

fn preview_codes(job: &Value) -> Vec<(i64, String, String)> {
    job["errors_preview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

const GOOD_ROWS: &str = "username,first_name,last_name,mobile_number,gender,roles,jurisdictions\n\
    bulk.one,Ana,Um,841110001,female,REGISTRAR,ULONGUE\n\
    bulk.two,Beto,Dois,841110002,male,REGISTRAR;DISTRIBUTOR,ZOBUE\n";

#[tokio::test]
async fn bulk_dry_run_reports_each_row_and_column_and_creates_nothing() {
    let w = World::new().await;
    let before = user_count(&w.app, &w.admin).await;
    let csv = "username,first_name,last_name,mobile_number,gender,roles,jurisdictions\n\
        ok.user,Ana,Um,841110001,female,REGISTRAR,ULONGUE\n\
        bad.mobile,Beto,Dois,12,male,REGISTRAR,ULONGUE\n\
        twin,Carla,Tres,841110003,female,NO_SUCH_ROLE,ATLANTIS\n\
        twin,Dina,Quatro,841110004,female,REGISTRAR,ULONGUE\n";
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        csv.into(),
        &[("dry_run", "true")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["total_rows"], 4);
    assert_eq!(r.body["dry_run"], true);
    let job = finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["processed_rows"], 4);
    assert_eq!(job["succeeded"], 1);
    assert_eq!(job["failed"], 3);
    let codes = preview_codes(&job);
    assert!(
        codes.contains(&(3, "mobile_number".into(), "invalid_mobile".into()))
            || codes
                .iter()
                .any(|(row, col, _)| *row == 3 && col == "mobile_number"),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(4, "username".into(), "duplicate_in_file".into())),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(5, "username".into(), "duplicate_in_file".into())),
        "{codes:?}"
    );
    assert_eq!(
        user_count(&w.app, &w.admin).await,
        before,
        "a dry run creates nothing"
    );
}

#[tokio::test]
async fn bulk_create_commits_then_an_upsert_of_the_same_file_changes_nothing() {
    let w = World::new().await;
    let before = user_count(&w.app, &w.admin).await;
    // BOM, semicolons and CRLF, as Excel writes CSV in many locales.
    let csv = format!(
        "\u{feff}{}",
        GOOD_ROWS
            .replace(',', ";")
            .replace("REGISTRAR;DISTRIBUTOR", "REGISTRAR,DISTRIBUTOR")
            .replace('\n', "\r\n")
    );
    let csv = csv.replace("REGISTRAR,DISTRIBUTOR", "\"REGISTRAR,DISTRIBUTOR\"");
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        csv.clone().into(),
        &[("credential", "none")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64()),
        (Some(2), Some(0)),
        "{job}"
    );
    assert_eq!(user_count(&w.app, &w.admin).await, before + 2);
    let found = w.app.get("/api/v1/users?username=bulk.two", &w.admin).await;
    let user = &found.body["items"][0];
    let mut roles: Vec<String> = serde_json::from_value(user["roles"].clone()).unwrap();
    roles.sort();
    assert_eq!(roles, ["DISTRIBUTOR", "REGISTRAR"], "{user}");
    assert_eq!(user["jurisdictions"], json!(["ZOBUE"]));
    assert_eq!(user["mobile_number"], "+258841110002");

    let (status, result) = download(
        &w.app,
        &w.admin,
        &format!(
            "/api/v1/bulk/jobs/{}/result.csv",
            job["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(result).unwrap();
    assert!(text.contains("2,created,bulk.one,none"), "{text}");
    assert!(text.contains("3,created,bulk.two,none"), "{text}");
    let (status, xlsx) = download(
        &w.app,
        &w.admin,
        &format!(
            "/api/v1/bulk/jobs/{}/result.xlsx",
            job["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(xlsx.starts_with(b"PK"));

    let again = upload(
        &w.app,
        &w.admin,
        "users.csv",
        csv.into(),
        &[("operation", "upsert")],
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    let job = finished(&w.app, &w.admin, again.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["failed"], 0, "{job}");
    let (_, result) = download(
        &w.app,
        &w.admin,
        &format!(
            "/api/v1/bulk/jobs/{}/result.csv",
            job["id"].as_str().unwrap()
        ),
    )
    .await;
    let text = String::from_utf8(result).unwrap();
    assert_eq!(text.matches(",unchanged,").count(), 2, "{text}");
    assert_eq!(
        user_count(&w.app, &w.admin).await,
        before + 2,
        "re-uploading creates nothing"
    );
}

#[tokio::test]
async fn bulk_generated_usernames_step_past_existing_users_and_earlier_rows() {
    let w = World::new().await;
    // joao.lopes exists already (the World's Tete worker); the batch looks the taken
    // usernames up before its rows run, and its own rows are not written yet.
    let csv = "first_name,last_name,mobile_number,gender,roles,jurisdictions\n\
        João,Lopes,841110011,male,REGISTRAR,ULONGUE\n\
        Joao, Lopes ,841110012,male,REGISTRAR,ULONGUE\n\
        Ana,Nova,841110013,female,REGISTRAR,ULONGUE\n";
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        csv.into(),
        &[("credential", "none")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let job = finished(&w.app, &w.admin, &id).await;
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64()),
        (Some(3), Some(0)),
        "{job}"
    );
    let (_, result) = download(
        &w.app,
        &w.admin,
        &format!("/api/v1/bulk/jobs/{id}/result.csv"),
    )
    .await;
    let text = String::from_utf8(result).unwrap();
    for expected in [
        "2,created,joao.lopes2,",
        "3,created,joao.lopes3,",
        "4,created,ana.nova,",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}

#[tokio::test]
async fn bulk_upsert_updates_by_username_and_by_mobile_and_creates_the_rest() {
    let w = World::new().await;
    let r = upload(&w.app, &w.admin, "users.csv", GOOD_ROWS.into(), &[]).await;
    let job = finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["succeeded"], 2, "{job}");
    let csv = "username,mobile_number,designation,first_name,last_name,roles,jurisdictions\n\
        bulk.one,,Nurse,,,,\n\
        ,841110002,Driver,,,,\n\
        bulk.three,841110009,,Eva,Cinco,REGISTRAR,ULONGUE\n";
    let r = upload(
        &w.app,
        &w.admin,
        "upsert.csv",
        csv.into(),
        &[("operation", "upsert")],
    )
    .await;
    let job = finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["failed"], 0, "{job}");
    let (_, result) = download(
        &w.app,
        &w.admin,
        &format!(
            "/api/v1/bulk/jobs/{}/result.csv",
            job["id"].as_str().unwrap()
        ),
    )
    .await;
    let text = String::from_utf8(result).unwrap();
    assert!(text.contains("2,updated,bulk.one"), "{text}");
    assert!(text.contains("3,updated,bulk.two"), "{text}");
    assert!(text.contains("4,created,bulk.three"), "{text}");
    let two = w.app.get("/api/v1/users?username=bulk.two", &w.admin).await;
    assert_eq!(two.body["items"][0]["designation"], "Driver");
}

#[tokio::test]
async fn bulk_rows_follow_the_uploaders_scope() {
    let w = World::new().await;
    let csv = "username,first_name,last_name,mobile_number,gender,roles,jurisdictions\n\
        in.tete,Ana,Um,841110001,female,REGISTRAR,ULONGUE\n\
        in.niassa,Beto,Dois,841110002,male,REGISTRAR,CHIUAULA\n";
    let r = upload(&w.app, &w.sup_tete, "users.csv", csv.into(), &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = finished(&w.app, &w.sup_tete, r.body["id"].as_str().unwrap()).await;
    // A scoped manager's new users need every required field (the single-user rule).
    assert_eq!(job["succeeded"], 0, "{job}");
    assert!(
        preview_codes(&job).contains(&(3, "jurisdictions".into(), "boundary_outside_scope".into())),
        "{job}"
    );
    assert!(
        preview_codes(&job).contains(&(2, "email".into(), "required".into())),
        "{job}"
    );
    // Only the uploader (or a system administrator) sees the job.
    let other = w
        .app
        .get(
            &format!("/api/v1/bulk/jobs/{}", job["id"].as_str().unwrap()),
            &w.helpdesk,
        )
        .await;
    assert!(
        matches!(other.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{}",
        other.status
    );
}

#[tokio::test]
async fn bulk_deactivate_takes_usernames_with_a_reason() {
    let w = World::new().await;
    let csv =
        "username,deactivation_reason,remarks\njoao.lopes,RESIGNED,left\nnobody.here,RESIGNED,\n";
    let r = upload(
        &w.app,
        &w.admin,
        "off.csv",
        csv.into(),
        &[("operation", "deactivate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64()),
        (Some(1), Some(1)),
        "{job}"
    );
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(user.body["status"], "deactivated");
    assert_eq!(
        preview_codes(&job),
        vec![(3, "username".into(), "unknown_user".into())]
    );
}

#[tokio::test]
async fn bulk_files_that_are_not_plain_data_are_refused_and_create_nothing() {
    let w = World::new().await;
    let before = user_count(&w.app, &w.admin).await;
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("bin.csv", vec![0, 1, 2, 3, 0, 9], "unsupported_format"),
        (
            "f.csv",
            b"username,first_name\nx,=HYPERLINK(\"http://evil\")\n".to_vec(),
            "formula_not_allowed",
        ),
        (
            "u.csv",
            b"username,shoe_size\nx,42\n".to_vec(),
            "unknown_column",
        ),
        ("e.csv", b"username,first_name\n".to_vec(), "empty_file"),
        (
            "z.xlsx",
            b"PK\x03\x04not really a zip".to_vec(),
            "malformed_xlsx",
        ),
    ];
    for (name, content, code) in cases {
        let r = upload(&w.app, &w.admin, name, content, &[]).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
        assert_eq!(
            r.error_code_of("file").as_deref(),
            Some(code),
            "{name}: {}",
            r.body
        );
    }
    let bad_option = upload(
        &w.app,
        &w.admin,
        "ok.csv",
        GOOD_ROWS.into(),
        &[("operation", "explode")],
    )
    .await;
    assert_eq!(bad_option.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad_option.error_code_of("operation").as_deref(),
        Some("invalid_operation")
    );
    // Past the size limit: 413 before anything is parsed.
    let huge = vec![b'a'; 11 * 1024 * 1024];
    let r = upload(&w.app, &w.admin, "huge.csv", huge, &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(user_count(&w.app, &w.admin).await, before);
}

#[tokio::test]
async fn bulk_templates_list_the_columns_and_round_trip() {
    let w = World::new().await;
    let (status, csv) = download(&w.app, &w.admin, "/api/v1/bulk/templates/users.csv").await;
    assert_eq!(status, StatusCode::OK);
    let header = String::from_utf8(csv).unwrap();
    assert!(
        header.starts_with("\u{feff}username,first_name,last_name,mobile_number"),
        "{header}"
    );
    // The template, filled in, uploads without edits.
    let filled = format!(
        "{}ok.user,Ana,Um,841110001,,female,,,,REGISTRAR,,,,,ULONGUE\r\n",
        header
    );
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        filled.into(),
        &[("dry_run", "true")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["succeeded"], 1, "{job}");
    let (status, xlsx) = download(
        &w.app,
        &w.admin,
        "/api/v1/bulk/templates/users.xlsx?lang=fr",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(xlsx.starts_with(b"PK"));
    // The template itself is a valid upload: its header (French labels) is recognised,
    // and with no rows it is refused only for being empty.
    let r = upload(&w.app, &w.admin, "users.xlsx", xlsx, &[("dry_run", "true")]).await;
    assert_eq!(
        r.error_code_of("file").as_deref(),
        Some("empty_file"),
        "{}",
        r.body
    );
}

/// A campaign over both provinces from `start` to `end` days from today.
async fn campaign(w: &World, code: &str, start: i64, end: i64) {
    use cadre_service::Clock;
    let day =
        |offset: i64| (w.app.clock.now().date_naive() + chrono::Duration::days(offset)).to_string();
    let r = w
        .app
        .post(
            "/api/v1/campaigns",
            &w.admin,
            json!({
                "code": code, "name": code, "type": "LLIN",
                "start_date": day(start), "end_date": day(end), "boundaries": ["TETE", "NIASSA"]
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn assign(w: &World, user: &str, campaign: &str, boundary: &str) {
    let a = w
        .app
        .post(
            &format!("/api/v1/users/{user}/assignments"),
            &w.admin,
            json!({"campaign": campaign, "boundaries": [boundary]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
}

#[tokio::test]
async fn bulk_replace_hands_each_old_workers_place_to_the_new_one() {
    let w = World::new().await;
    campaign(&w, "LLIN-R", -5, 30).await;
    assign(&w, &w.tete_worker, "LLIN-R", "ULONGUE").await;
    // A supervisor's new workers need a complete profile.
    let csv = "replaces,first_name,last_name,mobile_number,email,correspondence_address,employment_type,department\n\
               joao.lopes,Pedro,Novo,841234599,p@example.org,Rua 9,CONTRACTUAL,NMCP\n\
               nobody.here,Ana,Nada,841234598,a@example.org,Rua 9,CONTRACTUAL,NMCP\n\
               ,Sem,Antigo,841234597,s@example.org,Rua 9,CONTRACTUAL,NMCP\n";
    let dry = upload(
        &w.app,
        &w.sup_tete,
        "replace.csv",
        csv.into(),
        &[
            ("operation", "replace"),
            ("dry_run", "true"),
            ("credential", "none"),
        ],
    )
    .await;
    assert_eq!(dry.status, StatusCode::ACCEPTED, "{}", dry.body);
    let job = finished(&w.app, &w.sup_tete, dry.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64()),
        (Some(1), Some(2)),
        "{job}"
    );
    let old = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(old.body["status"], "active", "a dry run changes nothing");

    let r = upload(
        &w.app,
        &w.sup_tete,
        "replace.csv",
        csv.into(),
        &[("operation", "replace"), ("credential", "none")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = finished(&w.app, &w.sup_tete, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64()),
        (Some(1), Some(2)),
        "{job}"
    );
    assert_eq!(
        preview_codes(&job),
        vec![
            (3, "replaces".into(), "unknown_user".into()),
            (4, "replaces".into(), "required".into()),
        ]
    );
    let old = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(old.body["status"], "deactivated", "{}", old.body);
    assert_eq!(old.body["deactivation"]["reason"], "REPLACED");
    let new_id = old.body["replaced_by"]
        .as_str()
        .expect("linked to the new worker")
        .to_owned();
    let new = w
        .app
        .get(&format!("/api/v1/users/{new_id}"), &w.admin)
        .await;
    assert_eq!(new.body["username"], "pedro.novo");
    assert_eq!(new.body["replaces"], w.tete_worker.as_str());
    assert_eq!(
        new.body["jurisdictions"],
        json!(["ULONGUE"]),
        "takes the old place"
    );
    assert_eq!(new.body["roles"], json!(["REGISTRAR"]));
    assert_eq!(
        new.body["assignments"][0]["campaign"], "LLIN-R",
        "{}",
        new.body
    );
    let (_, result) = download(
        &w.app,
        &w.sup_tete,
        &format!(
            "/api/v1/bulk/jobs/{}/result.csv",
            job["id"].as_str().unwrap()
        ),
    )
    .await;
    let text = String::from_utf8(result).unwrap();
    assert!(text.contains("2,replaced,pedro.novo"), "{text}");
}

#[tokio::test]
async fn closing_a_campaign_deactivates_those_in_scope_who_worked_only_there() {
    let w = World::new().await;
    campaign(&w, "LLIN-OLD", -20, -2).await;
    campaign(&w, "LLIN-NOW", -1, 30).await;
    // Only in the closed campaign, in Tete: deactivated.
    assign(&w, &w.tete_worker, "LLIN-OLD", "ULONGUE").await;
    // Also working in a campaign that goes on: stays.
    assign(&w, &w.nobody, "LLIN-OLD", "ULONGUE").await;
    assign(&w, &w.nobody, "LLIN-NOW", "ULONGUE").await;
    // Only in the closed campaign but in Niassa, outside the supervisor's scope: stays.
    assign(&w, &w.niassa_worker, "LLIN-OLD", "CHIUAULA").await;

    let post = |token: &str, form: reqwest::multipart::Form| {
        w.app
            .client
            .post(format!("{}/api/v1/bulk/jobs", w.app.base))
            .bearer_auth(token.to_owned())
            .multipart(form)
            .send()
    };
    let close = |campaign: &str, operation: &str| {
        reqwest::multipart::Form::new()
            .text("operation", operation.to_owned())
            .text("campaign", campaign.to_owned())
    };
    let both = close("LLIN-OLD", "deactivate").part(
        "file",
        reqwest::multipart::Part::bytes(b"username\nx\n".to_vec()).file_name("x.csv"),
    );
    let refused = TestApp::read(post(&w.sup_tete, both).await.unwrap()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(
        refused.error_code_of("campaign").as_deref(),
        Some("file_and_campaign")
    );
    let wrong = TestApp::read(
        post(&w.sup_tete, close("LLIN-OLD", "create"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        wrong.error_code_of("campaign").as_deref(),
        Some("campaign_needs_deactivate"),
        "{}",
        wrong.body
    );
    let unknown = TestApp::read(
        post(&w.sup_tete, close("NOPE", "deactivate"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        unknown.error_code_of("campaign").as_deref(),
        Some("unknown_campaign"),
        "{}",
        unknown.body
    );
    let bad_reason = TestApp::read(
        post(
            &w.sup_tete,
            close("LLIN-OLD", "deactivate").text("deactivation_reason", "BORED"),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        bad_reason.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_reason.body
    );
    assert!(
        bad_reason.error_code_of("deactivation_reason").is_some(),
        "{}",
        bad_reason.body
    );

    let r = TestApp::read(
        post(&w.sup_tete, close("LLIN-OLD", "deactivate"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["file_name"], "LLIN-OLD-close.csv");
    let job = finished(&w.app, &w.sup_tete, r.body["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        (job["succeeded"].as_i64(), job["failed"].as_i64()),
        (Some(1), Some(0)),
        "{job}"
    );
    let status = |body: &Value| body["status"].as_str().unwrap_or("").to_owned();
    let worker = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(status(&worker.body), "deactivated", "{}", worker.body);
    assert_eq!(worker.body["deactivation"]["reason"], "END_OF_CAMPAIGN");
    for (id, why) in [
        (&w.nobody, "still working in LLIN-NOW"),
        (&w.niassa_worker, "outside the uploader's scope"),
        (&w.straddler, "never in the campaign"),
    ] {
        let user = w.app.get(&format!("/api/v1/users/{id}"), &w.admin).await;
        assert_eq!(status(&user.body), "active", "{why}");
    }
    let again = TestApp::read(
        post(&w.sup_tete, close("LLIN-OLD", "deactivate"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        again.error_code_of("campaign").as_deref(),
        Some("nobody_to_deactivate"),
        "{}",
        again.body
    );
}

async fn take_slips(
    app: &TestApp,
    token: &str,
    id: &str,
    format: &str,
    key: &str,
) -> (StatusCode, String, Vec<u8>) {
    let response = app
        .client
        .post(format!("{}/api/v1/bulk/jobs/{id}/slips.{format}", app.base))
        .bearer_auth(token)
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, response.bytes().await.unwrap().to_vec())
}

/// The text between `start` and the next `<` after it.
fn between<'a>(page: &'a str, start: &str) -> Vec<&'a str> {
    page.split(start)
        .skip(1)
        .map(|rest| rest.split(['<', '"']).next().unwrap())
        .collect()
}

fn problem_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["code"].as_str().unwrap_or("").to_owned()
}

#[tokio::test]
async fn bulk_generated_passwords_exist_only_on_a_slip_sheet_taken_once_by_the_uploader() {
    let w = World::new().await;
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        GOOD_ROWS.into(),
        &[("credential", "generate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let key = r.body["slip_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 43, "a 256-bit key, base64url");
    assert_eq!(r.body["slip_sheet"]["status"], "waiting");
    assert!(
        r.body["slip_sheet"]["expires_at"].as_str().unwrap()
            > r.body["created_at"].as_str().unwrap(),
        "{}",
        r.body
    );
    let job = finished(&w.app, &w.admin, &id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["succeeded"], 2, "{job}");
    assert!(
        job.get("slip_key").is_none(),
        "the key is shown only once: {job}"
    );

    // The server holds only sealed slips.
    let sealed = {
        let mut conn = w.app.db.reader().await.unwrap();
        cadre_store::bulk_slips::sealed(&mut conn, &id)
            .await
            .unwrap()
    };
    assert_eq!(
        sealed.iter().map(|(row, _)| *row).collect::<Vec<_>>(),
        [2, 3]
    );

    // Nobody else, no wrong key, and no other helper can take them.
    let (status, _, _) = take_slips(&w.app, &w.helpdesk, &id, "pdf", &key).await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    let dry = upload(
        &w.app,
        &w.admin,
        "users.csv",
        "username,first_name,last_name,roles,jurisdictions\nx.other,X,Y,REGISTRAR,ULONGUE\n".into(),
        &[("credential", "generate"), ("dry_run", "true")],
    )
    .await;
    assert_eq!(dry.status, StatusCode::ACCEPTED, "{}", dry.body);
    assert!(
        dry.body.get("slip_key").is_none(),
        "a dry run creates nobody, so no sheet"
    );
    let other_key = "A".repeat(43);
    for wrong in [other_key.as_str(), "not-a-key", ""] {
        let (status, _, body) = take_slips(&w.app, &w.admin, &id, "pdf", wrong).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["errors"][0]["field"], "key");
        assert_eq!(v["errors"][0]["code"], "wrong_key");
    }

    let (status, cache, page) = take_slips(&w.app, &w.admin, &id, "html", &key).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&page));
    assert_eq!(cache, "no-store");
    let page = String::from_utf8(page).unwrap();
    assert_eq!(
        between(&page, "class=\"username\">"),
        ["bulk.one", "bulk.two"]
    );
    assert!(page.contains("Ana Um") && page.contains("Beto Dois"));
    let passwords = between(&page, "class=\"password\">");
    assert_eq!(passwords.len(), 2);
    assert_ne!(passwords[0], passwords[1]);
    let links = between(&page, "data-link=\"");
    assert_eq!(links.len(), 2);

    // Once only: the slips are gone, in either form.
    let (status, _, body) = take_slips(&w.app, &w.admin, &id, "pdf", &key).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(problem_code(&body), "slips_taken");
    {
        let mut conn = w.app.db.reader().await.unwrap();
        assert!(cadre_store::bulk_slips::sealed(&mut conn, &id)
            .await
            .unwrap()
            .is_empty());
    }
    let job = w
        .app
        .get(&format!("/api/v1/bulk/jobs/{id}"), &w.admin)
        .await;
    assert_eq!(job.body["slip_sheet"]["status"], "taken");

    // The password signs in, and must be changed; it is nowhere in the database, the
    // sealed slips, the result file or the audit trail.
    let login = w.app.login("bulk.one", passwords[0]).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(login.body["user"]["must_change_password"], true);
    for (_, s) in &sealed {
        assert!(!s.contains(passwords[0]) && !s.contains(passwords[1]));
    }
    {
        let mut conn = w.app.db.reader().await.unwrap();
        let user = cadre_store::users::get_by_username(&mut conn, "bulk.two")
            .await
            .unwrap()
            .unwrap();
        let hash = user.password_hash.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(passwords[1]));
        assert!(user.must_change_password);
    }
    let (status, result) = download(
        &w.app,
        &w.admin,
        &format!("/api/v1/bulk/jobs/{id}/result.csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let result = String::from_utf8(result).unwrap();
    assert!(result.contains("slip"), "{result}");
    let audit = w.app.get("/api/v1/audit?limit=500", &w.admin).await;
    let audit = audit.body.to_string();
    assert!(audit.contains("bulk.slips_taken"), "{audit}");
    for p in &passwords {
        assert!(!result.contains(p) && !audit.contains(p));
    }

    // The printed link opens the set-a-password page (the GET does not use it up).
    let link = links[1].replace("&amp;", "&");
    let path = &link[link.find("/login/link/").unwrap()..];
    let (status, opened) = download(&w.app, &w.admin, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&opened)
    );
}

#[tokio::test]
async fn bulk_slip_sheets_expire_unopened_and_are_purged() {
    let w = World::new().await;
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        GOOD_ROWS.into(),
        &[("credential", "generate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let key = r.body["slip_key"].as_str().unwrap().to_owned();
    finished(&w.app, &w.admin, &id).await;

    w.app.clock.advance(23 * 3600);
    assert_eq!(w.app.cadre.purge_expired_slips().await.unwrap(), 0);
    w.app.clock.advance(3600);
    assert_eq!(w.app.cadre.purge_expired_slips().await.unwrap(), 2);
    let (status, _, body) = take_slips(&w.app, &w.admin, &id, "pdf", &key).await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(problem_code(&body), "slips_expired");
    let job = w
        .app
        .get(&format!("/api/v1/bulk/jobs/{id}"), &w.admin)
        .await;
    assert_eq!(job.body["slip_sheet"]["status"], "expired");
}

#[tokio::test]
async fn bulk_slip_sheet_pdf_holds_a_page_of_slips() {
    let w = World::new().await;
    let r = upload(
        &w.app,
        &w.admin,
        "users.csv",
        GOOD_ROWS.into(),
        &[("credential", "generate")],
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let key = r.body["slip_key"].as_str().unwrap().to_owned();
    finished(&w.app, &w.admin, &id).await;
    // A job with link credentials has no sheet to take.
    let linked = upload(
        &w.app,
        &w.admin,
        "users.csv",
        "username,first_name,last_name,roles,jurisdictions\nlink.user,L,U,REGISTRAR,ULONGUE\n"
            .into(),
        &[],
    )
    .await;
    let linked_id = linked.body["id"].as_str().unwrap().to_owned();
    finished(&w.app, &w.admin, &linked_id).await;
    let (status, _, body) = take_slips(&w.app, &w.admin, &linked_id, "pdf", &key).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem_code(&body), "no_slip_sheet");

    let (status, _, pdf) = take_slips(&w.app, &w.admin, &id, "pdf", &key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("(bulk.one) Tj") && text.contains("(bulk.two) Tj"));
    assert_eq!(
        text.matches("/Subtype /Image").count(),
        2,
        "one QR code a slip"
    );
}

/// A dozen large dry runs at once from one user: a few are taken, the rest answered 429
/// with Retry-After, and once those finish the user may upload again.
#[tokio::test]
async fn one_user_has_at_most_a_few_bulk_jobs_open() {
    let w = World::new().await;
    let mut csv = String::from("username,first_name,last_name,roles,jurisdictions\n");
    for i in 0..20_000 {
        csv.push_str(&format!("many.{i},Ana,Muitos,REGISTRAR,ULONGUE\n"));
    }
    let answers = futures::future::join_all((0..12).map(|_| {
        upload(
            &w.app,
            &w.admin,
            "users.csv",
            csv.clone().into_bytes(),
            &[("dry_run", "true")],
        )
    }))
    .await;
    let taken: Vec<&Response> = answers
        .iter()
        .filter(|r| r.status == StatusCode::ACCEPTED)
        .collect();
    assert!(
        (1..=cadre_service::bulk::OPEN_JOBS_PER_USER as usize).contains(&taken.len()),
        "{} uploads taken",
        taken.len()
    );
    for r in answers.iter().filter(|r| r.status != StatusCode::ACCEPTED) {
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
        assert_eq!(r.body["code"], "too_many_jobs", "{}", r.body);
        assert!(r.headers.contains_key("retry-after"));
    }
    for r in &taken {
        finished(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    }
    let again = upload(
        &w.app,
        &w.admin,
        "users.csv",
        csv.into_bytes(),
        &[("dry_run", "true")],
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    // Another user is not held back by the first one's jobs.
    let other = upload(
        &w.app,
        &w.sup_tete,
        "users.csv",
        "username,first_name,last_name,roles,jurisdictions\nx.y,A,B,REGISTRAR,ULONGUE\n".into(),
        &[("dry_run", "true")],
    )
    .await;
    assert_eq!(other.status, StatusCode::ACCEPTED, "{}", other.body);
}
