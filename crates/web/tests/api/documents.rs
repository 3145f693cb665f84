//! Documents attached to users: type by content, safe names, size limits, scope.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Response, TestApp, World};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n\
2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n\
trailer <</Root 1 0 R>>\n%%EOF\n";

/// A 1×1 greyscale PNG.
const PNG_HEX: &str = "89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55\
0000000a49444154789c636000000002000148afa4710000000049454e44ae426082";

/// A 64×64 black progressive JPEG.
const JPEG_HEX: &str = "ffd8ffe000104a46494600010101006000600000ffdb004300030202030202030303\
0304030304050805050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f\
171816141812141514ffdb00430103040405040509050509140d0b0d141414141414141414141414141414141414\
1414141414141414141414141414141414141414141414141414141414141414ffc2001108004000400301110002\
1101031101ffc4001500010100000000000000000000000000000008ffc400140101000000000000000000000000\
00000000ffda000c03010002100310000001950000000000000000000000000000000000000000000000007fffc4\
0014100100000000000000000000000000000060ffda000801010001050201ffc400141101000000000000000000\
00000000000060ffda0008010301013f0101ffc40014110100000000000000000000000000000060ffda00080102\
01013f0101ffc40014100100000000000000000000000000000060ffda0008010100063f0201ffc4001410010000\
0000000000000000000000000060ffda0008010100013f2101ffda000c0301000200030000001092492492492492\
4924924924924924924924924924924924ffc40014110100000000000000000000000000000060ffda0008010301\
013f1001ffc40014110100000000000000000000000000000060ffda0008010201013f1001ffc400141001000000\
00000000000000000000000060ffda0008010100013f1001ffd9";

const ZERO: &str = "00000000-0000-0000-0000-000000000000";

const MAX: usize = cadre_service::documents::MAX_DOCUMENT_BYTES;

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn png() -> Vec<u8> {
    unhex(PNG_HEX)
}

fn jpeg() -> Vec<u8> {
    unhex(JPEG_HEX)
}

/// Posts `content` as the `file` part, with the given client filename and MIME type.
async fn upload_as(
    app: &TestApp,
    token: &str,
    user: &str,
    filename: &str,
    mime: &str,
    content: Vec<u8>,
) -> Response {
    let part = reqwest::multipart::Part::bytes(content)
        .file_name(filename.to_owned())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    TestApp::read(
        app.client
            .post(format!("{}/api/v1/users/{user}/documents", app.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn upload(
    app: &TestApp,
    token: &str,
    user: &str,
    filename: &str,
    content: &[u8],
) -> Response {
    upload_as(
        app,
        token,
        user,
        filename,
        "application/octet-stream",
        content.to_vec(),
    )
    .await
}

/// A download, with the body kept as bytes.
async fn download(app: &TestApp, token: &str, id: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}/api/v1/documents/{id}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn is_sha256_hex(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 64
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

#[tokio::test]
async fn pdf_png_and_jpeg_are_recognised_by_content_and_come_back_intact() {
    let w = World::new().await;
    let user = &w.tete_worker;
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("ordem.pdf", PDF.to_vec(), "application/pdf"),
        ("scan.png", png(), "image/png"),
        ("foto.jpg", jpeg(), "image/jpeg"),
    ];
    let mut digests = Vec::new();
    for (name, content, content_type) in &cases {
        let r = upload(&w.app, &w.admin, user, name, content).await;
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {}", r.body);
        assert_eq!(r.body["filename"], *name);
        assert_eq!(r.body["content_type"], *content_type);
        assert_eq!(r.body["size"], content.len());
        assert!(is_sha256_hex(&r.body["sha256"]), "{}", r.body);
        assert!(r.body["created_at"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(r.body["status_change_id"], Value::Null);
        let id = r.body["id"].as_str().unwrap();
        let (status, headers, bytes) = download(&w.app, &w.admin, id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&bytes, content, "{name} comes back byte for byte");
        assert_eq!(headers["content-type"], *content_type);
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"{name}\"").as_str()
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        digests.push(r.body["sha256"].as_str().unwrap().to_owned());
    }
    assert_ne!(digests[0], digests[1]);
    assert_ne!(digests[1], digests[2]);
    assert_ne!(digests[0], digests[2]);

    // The same content, under another name and claimed type, has the same digest and is
    // typed by what it is.
    let again = upload_as(&w.app, &w.admin, user, "copy.pdf", "application/pdf", png()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body["sha256"], digests[1].as_str());
    assert_eq!(again.body["content_type"], "image/png");

    let list = w
        .app
        .get(&format!("/api/v1/users/{user}/documents"), &w.sup_tete)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ordem.pdf", "scan.png", "foto.jpg", "copy.pdf"]);
    assert_eq!(list.body["total"], 4);
    let empty = w
        .app
        .get(
            &format!("/api/v1/users/{}/documents", w.niassa_worker),
            &w.admin,
        )
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn content_that_is_not_a_document_is_refused_whatever_its_name() {
    let w = World::new().await;
    let user = &w.tete_worker;
    let text = upload_as(
        &w.app,
        &w.admin,
        user,
        "ordem.pdf",
        "application/pdf",
        b"this is plain text, not a PDF".to_vec(),
    )
    .await;
    assert_eq!(
        text.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        text.body
    );
    assert_eq!(text.headers["content-type"], "application/problem+json");
    assert_eq!(
        text.error_code_of("file").as_deref(),
        Some("unsupported_file_type")
    );
    let message = text.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("PDF") && message.contains("PNG") && message.contains("JPEG"),
        "{message}"
    );
    let html = upload(
        &w.app,
        &w.admin,
        user,
        "x.png",
        b"<html><script>alert(1)</script>",
    )
    .await;
    assert_eq!(
        html.error_code_of("file").as_deref(),
        Some("unsupported_file_type")
    );

    let empty = upload(&w.app, &w.admin, user, "empty.pdf", b"").await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert_eq!(empty.error_code_of("file").as_deref(), Some("empty_file"));

    let list = w
        .app
        .get(&format!("/api/v1/users/{user}/documents"), &w.admin)
        .await;
    assert_eq!(list.body["total"], 0, "nothing refused was stored");
}

#[tokio::test]
async fn files_over_the_limit_are_413_and_the_limit_itself_is_accepted() {
    let w = World::new().await;
    let user = &w.tete_worker;
    let mut big = PDF.to_vec();
    big.resize(MAX + 1, b' ');
    let r = upload(&w.app, &w.admin, user, "big.pdf", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["code"], "payload_too_large");

    big.truncate(MAX);
    let r = upload(&w.app, &w.admin, user, "just-fits.pdf", &big).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["size"], MAX);
}

#[tokio::test]
async fn the_global_body_limit_also_answers_413_problem_json() {
    let app = TestApp::with(
        cadre_service::settings::SettingsConfig::default(),
        cadre_web::WebConfig {
            max_body_bytes: 2048,
        },
    )
    .await;
    let id = app
        .seed_user("admin", &["SYSTEM_ADMIN"], &[], "A", "B")
        .await;
    let token = app.token("admin").await;
    let mut content = PDF.to_vec();
    content.resize(8192, b' ');
    let r = upload(&app, &token, &id, "big.pdf", &content).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["code"], "payload_too_large");
}

#[tokio::test]
async fn malformed_forms_are_400_naming_the_file() {
    let w = World::new().await;
    let url = format!("{}/api/v1/users/{}/documents", w.app.base, w.tete_worker);
    let form = reqwest::multipart::Form::new().text("note", "no file here");
    let r = TestApp::read(
        w.app
            .client
            .post(&url)
            .bearer_auth(&w.admin)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error_fields(), vec!["file"]);
    assert_eq!(r.error_code_of("file").as_deref(), Some("missing_field"));

    let r = TestApp::read(
        w.app
            .client
            .post(&url)
            .bearer_auth(&w.admin)
            .header("content-type", "application/pdf")
            .body(PDF.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error_fields(), vec!["file"]);
}

#[tokio::test]
async fn filenames_are_reduced_to_a_safe_last_component() {
    let w = World::new().await;
    let user = &w.tete_worker;
    let r = upload(&w.app, &w.admin, user, "../../etc/passwd", PDF).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["filename"], "passwd");
    let (_, headers, _) = download(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"passwd\""
    );

    let r = upload(&w.app, &w.admin, user, "C:\\Ordens\\ordem 7.pdf", PDF).await;
    assert_eq!(r.body["filename"], "ordem 7.pdf");

    let r = upload(&w.app, &w.admin, user, "a/..", &png()).await;
    assert_eq!(r.body["filename"], "document.png");

    // Quotes and non-ASCII cannot break out of the header's quoted string.
    let r = upload(&w.app, &w.admin, user, "Ordem nº \"3\".pdf", PDF).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["filename"], "Ordem nº \"3\".pdf");
    let (status, headers, _) = download(&w.app, &w.admin, r.body["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Ordem n_ _3_.pdf\"; filename*=UTF-8''Ordem%20n%C2%BA%20%223%22.pdf"
    );
}

#[tokio::test]
async fn scope_rules_hold_for_upload_list_and_download() {
    let w = World::new().await;
    let hidden = &w.niassa_worker;
    let r = upload(&w.app, &w.sup_tete, hidden, "o.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = w
        .app
        .get(&format!("/api/v1/users/{hidden}/documents"), &w.sup_tete)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let theirs = upload(&w.app, &w.admin, hidden, "o.pdf", PDF).await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    let theirs = theirs.body["id"].as_str().unwrap();
    let (status, _, _) = download(&w.app, &w.sup_tete, theirs).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "out-of-scope documents do not exist"
    );
    let (status, _, _) = download(&w.app, &w.helpdesk, theirs).await;
    assert_eq!(status, StatusCode::OK, "a national helpdesk sees them");

    // Visible but not wholly inside: may look, may not change.
    let r = upload(&w.app, &w.sup_tete, &w.straddler, "o.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["code"], "outside_scope");
    let r = w
        .app
        .get(
            &format!("/api/v1/users/{}/documents", w.straddler),
            &w.sup_tete,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = upload(&w.app, &w.sup_tete, &w.tete_worker, "o.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // A field worker has neither user.update nor user.deactivate.
    let worker = w.app.token("joao.lopes").await;
    let r = upload(&w.app, &worker, &w.tete_worker, "o.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["code"], "action_not_allowed");
    let (status, _, _) = download(&w.app, &worker, theirs).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _, _) = download(&w.app, &w.admin, ZERO).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let r = w
        .app
        .get(&format!("/api/v1/users/{}/documents", ZERO), &w.admin)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let anonymous = w
        .app
        .client
        .get(format!("{}/api/v1/documents/{theirs}", w.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn uploads_are_in_the_users_history() {
    let w = World::new().await;
    let user = &w.tete_worker;
    let r = upload(&w.app, &w.sup_tete, user, "ordem.pdf", PDF).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let history = w
        .app
        .get(&format!("/api/v1/users/{user}/history"), &w.sup_tete)
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    let event = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "document.upload")
        .cloned()
        .unwrap_or_else(|| panic!("no document.upload in {}", history.body));
    assert_eq!(event["actor_username"], "sup.tete");
    assert_eq!(event["target_type"], "user");
    assert_eq!(event["target_id"], user.as_str());
    assert_eq!(event["target_label"], "joao.lopes");
    assert_eq!(event["after"]["id"], r.body["id"]);
    assert_eq!(event["after"]["sha256"], r.body["sha256"]);
    assert_eq!(event["after"]["filename"], "ordem.pdf");
    assert!(
        !history.body.to_string().contains("%PDF"),
        "the content stays out of the audit log"
    );
}

#[tokio::test]
async fn the_document_routes_are_in_the_openapi_document() {
    let app = TestApp::new().await;
    let doc = app
        .call(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    let paths = &doc.body["paths"];
    let upload = &paths["/api/v1/users/{id}/documents"]["post"];
    assert!(upload["requestBody"]["content"]["multipart/form-data"].is_object());
    assert!(upload["responses"]["413"].is_object());
    assert_eq!(upload["operationId"], "upload_document");
    assert!(paths["/api/v1/users/{id}/documents"]["get"].is_object());
    assert!(paths["/api/v1/documents/{id}"]["get"].is_object());
    assert!(doc.body["components"]["schemas"]["DocumentView"].is_object());
}
