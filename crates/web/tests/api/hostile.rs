//! Hostile input over HTTP: session cookies planted before sign-in, bodies past the
//! size limits, upload names that look like paths, and SQL or markup in every text
//! field, on whichever backend the environment selects.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use cadre_service::settings::SettingsConfig;
use cadre_web::ui::session::{csrf_for, urlencode};
use cadre_web::WebConfig;

use crate::support::{day, text_of, Browser, Page, Response, TestApp, World, PASSWORD};

/// The attacks every text field gets: SQL that closes a string, SQL that makes a
/// condition true, a script element, and markup that breaks out of an attribute.
const PAYLOADS: [&str; 4] = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
];

/// The same attacks as valid email addresses: a local part may not hold spaces.
const EMAILS: [&str; 4] = [
    "';DROP/**/TABLE/**/users;--@example.org",
    "'OR'1'='1@example.org",
    "<script>alert(1)</script>@example.org",
    "\"><img/src=x/onerror=alert(1)>@example.org",
];

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";

/// `text` as the page templates write it.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Asserts that `payload` is on the page as text only: shown escaped, never as markup,
/// and no script or image came in with it.
fn assert_inert(html: &str, payload: &str, what: &str) {
    assert!(
        html.contains(&escaped(payload)),
        "{what}: {payload:?} is not shown:\n{html}"
    );
    if payload.chars().any(|c| matches!(c, '<' | '>' | '"')) {
        assert!(
            !html.contains(payload),
            "{what}: {payload:?} is in the page unescaped:\n{html}"
        );
    }
    assert_eq!(
        html.matches("<script").count(),
        1,
        "{what}: a script element besides app.js:\n{html}"
    );
    assert!(!html.contains("<img"), "{what}: an image element:\n{html}");
}

/// Asserts the answer is the contract's problem document with this status and code.
fn assert_problem(r: &Response, status: StatusCode, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "{what}"
    );
    assert_eq!(
        r.body["type"],
        format!("urn:cadre:problem:{code}"),
        "{what}"
    );
    assert_eq!(r.body["status"], status.as_u16(), "{what}");
    assert_eq!(r.body["code"], code, "{what}");
    assert!(
        r.body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}"
    );
    assert!(
        r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}"
    );
    assert!(r.body["errors"].is_array(), "{what}");
}

async fn me_by_cookie(app: &TestApp, session: &str) -> Response {
    TestApp::read(
        app.client
            .get(format!("{}/api/v1/me", app.base))
            .header("cookie", format!("cadre_session={session}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Signs in through the web form as a browser that also sends `cookie` (may be empty):
/// the sign-in page for its form token, then the form. Returns the form's answer and
/// the form token.
async fn web_sign_in(
    app: &TestApp,
    cookie: &str,
    username: &str,
    password: &str,
) -> (Page, String) {
    let page = Browser::with_cookie(app, String::new(), String::new())
        .get("/login")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let form_token = page.cookie("cadre_csrf").unwrap();
    let cookies = if cookie.is_empty() {
        format!("cadre_csrf={form_token}")
    } else {
        format!("{cookie}; cadre_csrf={form_token}")
    };
    let answer = Browser::with_cookie(app, cookies, form_token.clone())
        .post(
            "/login",
            &[
                ("username", username),
                ("password", password),
                ("next", "/"),
            ],
            true,
        )
        .await;
    (answer, form_token)
}

async fn user_total(w: &World) -> i64 {
    let r = w
        .app
        .get("/api/v1/users?status=all&limit=1", &w.admin)
        .await;
    r.body["total"].as_i64().unwrap()
}

async fn audit_total(w: &World, filter: &str) -> i64 {
    let r = w
        .app
        .get(&format!("/api/v1/audit?limit=1{filter}"), &w.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["total"].as_i64().unwrap()
}

// ---------------------------------------------------------------- session fixation

#[tokio::test]
async fn a_session_cookie_planted_before_sign_in_never_becomes_the_session() {
    let w = World::new().await;
    // A made-up value, and one shaped exactly like a real session token.
    for planted in [
        "attacker-chosen".to_owned(),
        cadre_service::password::new_token(),
    ] {
        let cookie = format!("cadre_session={planted}");
        let before = Browser::with_cookie(&w.app, cookie.clone(), String::new())
            .get("/login")
            .await;
        assert_eq!(
            before.status,
            StatusCode::OK,
            "a planted cookie signs nobody in"
        );
        let (answer, form_token) = web_sign_in(&w.app, &cookie, "sup.tete", PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.html);
        let issued = answer.cookie("cadre_session").unwrap();
        assert_ne!(
            issued, planted,
            "the server chose the session, not the client"
        );
        assert_ne!(
            issued, form_token,
            "the pre-sign-in form token is not promoted"
        );
        assert!(issued.len() >= 40, "{issued}");
        assert_eq!(
            answer.cookie("cadre_csrf").as_deref(),
            Some(""),
            "the pre-sign-in form token is cleared"
        );
        assert!(answer
            .set_cookies
            .iter()
            .any(|c| c.starts_with("cadre_session=") && c.contains("HttpOnly")));

        assert_eq!(
            me_by_cookie(&w.app, &planted).await.status,
            StatusCode::UNAUTHORIZED,
            "the planted value is still nobody's session"
        );
        let page = Browser::with_cookie(&w.app, cookie.clone(), csrf_for(&planted))
            .get("/users")
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(page.location.starts_with("/login"), "{}", page.location);
        let me = me_by_cookie(&w.app, &issued).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.body["username"], "sup.tete");
    }
}

/// Signs in through the web form from a browser that carries `carried` as its session
/// cookie; returns the session cookie issued, which must be a new one.
async fn sign_in_carrying(app: &TestApp, carried: &str, username: &str) -> String {
    let (page, _) = web_sign_in(app, &format!("cadre_session={carried}"), username, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
    let issued = page.cookie("cadre_session").unwrap();
    assert_ne!(issued, carried, "signing in must issue a new session");
    issued
}

#[tokio::test]
async fn signing_in_again_never_adopts_the_cookie_the_browser_already_had() {
    let w = World::new().await;
    // An earlier session of this browser, ended by signing out.
    let (first, _) = web_sign_in(&w.app, "", "joao.lopes", PASSWORD).await;
    let old = first.cookie("cadre_session").unwrap();
    let out = Browser::new(&w.app, &old, None)
        .post("/logout", &[], true)
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.html);
    let new = sign_in_carrying(&w.app, &old, "sup.tete").await;
    assert_eq!(
        me_by_cookie(&w.app, &old).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_by_cookie(&w.app, &new).await.body["username"],
        "sup.tete"
    );

    // Someone else's live session planted in the browser: signing in as the
    // administrator issues a new session and leaves the planted one what it was.
    let (theirs, _) = web_sign_in(&w.app, "", "ana.sitoe", PASSWORD).await;
    let planted = theirs.cookie("cadre_session").unwrap();
    let issued = sign_in_carrying(&w.app, &planted, "admin").await;
    assert_eq!(
        me_by_cookie(&w.app, &planted).await.body["username"],
        "ana.sitoe",
        "the planted cookie never gains the administrator's rights"
    );
    assert_eq!(
        me_by_cookie(&w.app, &issued).await.body["username"],
        "admin"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_not_only_in_the_browser() {
    let w = World::new().await;
    let (signed_in, _) = web_sign_in(&w.app, "", "sup.tete", PASSWORD).await;
    let token = signed_in.cookie("cadre_session").unwrap();
    let b = Browser::new(&w.app, &token, Some("en"));
    assert_eq!(b.get("/users").await.status, StatusCode::OK);

    let out = b.post("/logout", &[], true).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.html);
    assert_eq!(out.location, "/login");
    assert_eq!(out.cookie("cadre_session").as_deref(), Some(""));
    assert!(
        out.set_cookies
            .iter()
            .any(|c| c.starts_with("cadre_session=;") && c.contains("Max-Age=0")),
        "{:?}",
        out.set_cookies
    );

    // A copy of the cookie kept from before signing out opens nothing.
    let replay = b.get("/users").await;
    assert_eq!(replay.status, StatusCode::SEE_OTHER);
    assert!(replay.location.starts_with("/login"), "{}", replay.location);
    let login = b.get("/login").await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "the sign-in form, not a signed-in redirect"
    );
    assert!(login.html.contains("id=\"login\""));
    let me = me_by_cookie(&w.app, &token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.body["code"], "unauthenticated");
    let write = TestApp::read(
        w.app
            .client
            .patch(format!("{}/api/v1/users/{}", w.app.base, w.tete_worker))
            .header("cookie", format!("cadre_session={token}"))
            .header("x-csrf-token", csrf_for(&token))
            .json(&json!({"designation": "after sign-out"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{}", write.body);
    let again = b.post("/logout", &[], true).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(again.location.starts_with("/login"), "{}", again.location);
    let worker = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(worker.body["designation"], Value::Null);
}

// ---------------------------------------------------------------- oversized bodies

/// Posts `body` with chunked transfer encoding and no Content-Length, so that the
/// server learns the size only while reading. Returns the status and the body.
async fn post_chunked(app: &TestApp, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(1024) {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
        // The server may answer and close before the last chunk; that is the point.
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::String(text.clone()));
    (status, body)
}

/// The usual world, with a server that takes bodies of at most `limit` bytes.
async fn world_taking_bodies_up_to(limit: usize) -> World {
    World::with(
        SettingsConfig::default(),
        WebConfig {
            max_body_bytes: limit,
        },
    )
    .await
}

#[tokio::test]
async fn json_bodies_over_the_configured_limit_are_413_problem_json_and_change_nothing() {
    const LIMIT: usize = 4096;
    let w = world_taking_bodies_up_to(LIMIT).await;
    let users = user_total(&w).await;
    let audited = audit_total(&w, "").await;
    let worker = format!("/api/v1/users/{}", w.tete_worker);
    let version = w.app.get(&worker, &w.admin).await.body["version"].clone();
    let big = "x".repeat(2 * LIMIT);
    let admin = Some(w.admin.as_str());
    let cases: Vec<(Method, String, Option<&str>, Value)> = vec![
        (
            Method::POST,
            "/api/v1/users".into(),
            admin,
            json!({"username": "too.big", "first_name": big,
                   "credential": {"method": "set", "password": PASSWORD}}),
        ),
        (
            Method::PATCH,
            worker.clone(),
            admin,
            json!({"designation": big}),
        ),
        (
            Method::POST,
            "/api/v1/boundaries".into(),
            admin,
            json!({"code": "BIG", "name": big, "level": "VILLAGE", "parent_code": "ANGONIA"}),
        ),
        (
            Method::POST,
            "/api/v1/campaigns".into(),
            admin,
            json!({"code": "BIG", "name": big, "type": "LLIN", "start_date": day(&w.app, 1),
                   "end_date": day(&w.app, 9), "boundaries": ["TETE"]}),
        ),
        (
            Method::PUT,
            "/api/v1/master-data/departments".into(),
            admin,
            json!([{"code": "BIG", "label": big}]),
        ),
        // Before anyone is signed in: refused before the password is even looked at.
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            None,
            json!({"username": "admin", "password": big}),
        ),
    ];
    for (method, path, token, body) in cases {
        let what = format!("{method} {path}");
        let r = w.app.call(method, &path, token, Some(body)).await;
        assert_problem(
            &r,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &what,
        );
    }
    // No Content-Length to refuse up front: the limit holds while reading.
    let mut body = b"{\"username\": \"streamed\", \"first_name\": \"".to_vec();
    body.extend_from_slice(big.as_bytes());
    body.extend_from_slice(b"\"}");
    let (status, problem) = post_chunked(&w.app, "/api/v1/users", &w.admin, &body).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["code"], "payload_too_large", "{problem}");

    assert_eq!(user_total(&w).await, users);
    let after = w.app.get(&worker, &w.admin).await;
    assert_eq!(after.body["version"], version);
    assert_eq!(after.body["designation"], Value::Null);
    assert_eq!(
        w.app.get("/api/v1/boundaries/BIG", &w.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app.get("/api/v1/campaigns/BIG", &w.admin).await.status,
        StatusCode::NOT_FOUND
    );
    let departments = w.app.get("/api/v1/master-data", &w.admin).await;
    assert!(
        !departments.body["lists"]["departments"]
            .to_string()
            .contains("BIG"),
        "{}",
        departments.body
    );
    assert_eq!(
        audit_total(&w, "").await,
        audited,
        "not even a failed sign-in is recorded"
    );
    // A request of the same kind under the limit goes through: only the size was refused.
    let small = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({"username": "small.enough", "first_name": "x".repeat(100),
                   "credential": {"method": "set", "password": PASSWORD}}),
        )
        .await;
    assert_eq!(small.status, StatusCode::CREATED, "{}", small.body);
}

/// A multipart body written byte by byte, so that a file name reaches the server
/// exactly as given: clients escape or drop some of the characters tried here.
fn multipart_body(
    boundary: &str,
    file_name: &[u8],
    content: &[u8],
    fields: &[(&str, &str)],
) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            .as_bytes(),
    );
    body.extend_from_slice(file_name);
    body.extend_from_slice(b"\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

async fn upload_raw(
    app: &TestApp,
    token: &str,
    path: &str,
    file_name: &[u8],
    content: &[u8],
    fields: &[(&str, &str)],
) -> Response {
    let boundary = "cadre-hostile-boundary";
    TestApp::read(
        app.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(multipart_body(boundary, file_name, content, fields))
            .send()
            .await
            .unwrap(),
    )
    .await
}

const BULK_ROWS: &str = "username,first_name,last_name\nhostile.file,Ana,Sitoe\n";

#[tokio::test]
async fn bulk_uploads_over_the_configured_limit_are_413_and_queue_nothing() {
    const LIMIT: usize = 64 * 1024;
    let w = world_taking_bodies_up_to(LIMIT).await;
    let users = user_total(&w).await;
    let mut big = String::from("username,first_name,last_name\n");
    let mut n = 0;
    while big.len() <= 2 * LIMIT {
        big.push_str(&format!("bulk.user{n},Ana,Sitoe\n"));
        n += 1;
    }
    // Far below the jobs' own limit, past the server's: the stricter one holds.
    assert!(big.len() < cadre_service::bulk::MAX_FILE_BYTES);
    let r = upload_raw(
        &w.app,
        &w.admin,
        "/api/v1/bulk/jobs",
        b"users.csv",
        big.as_bytes(),
        &[("operation", "create")],
    )
    .await;
    assert_problem(
        &r,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "API upload",
    );

    // The upload page says so next to the file field.
    let b = Browser::new(&w.app, &w.admin, Some("en"));
    let part = reqwest::multipart::Part::bytes(big.into_bytes()).file_name("users.csv");
    let form = reqwest::multipart::Form::new()
        .text("_csrf", b.csrf.clone())
        .text("operation", "create")
        .text("credential", "none")
        .part("file", part);
    let page = b.post_multipart("/bulk", form).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.html);
    assert!(page.html.contains("id=\"file-error\""), "{}", page.html);

    assert_eq!(audit_total(&w, "&action=bulk.job_create").await, 0);
    assert_eq!(user_total(&w).await, users);
    // A small file on the same server is taken: only the size was refused.
    let ok = upload_raw(
        &w.app,
        &w.admin,
        "/api/v1/bulk/jobs",
        b"users.csv",
        BULK_ROWS.as_bytes(),
        &[("dry_run", "true")],
    )
    .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.body);
    assert_eq!(audit_total(&w, "&action=bulk.job_create").await, 1);
}

// ---------------------------------------------------------------- upload names

/// A SQLite test database's directory; none on PostgreSQL.
fn data_dir(app: &TestApp) -> Option<PathBuf> {
    let url = app.database_url();
    let file = url.strip_prefix("sqlite://")?.split('?').next()?.to_owned();
    Path::new(&file).parent().map(Path::to_path_buf)
}

/// Asserts that nothing was written where a server using an upload's name as a path
/// would have put it: no file named with `marker` in the working, temporary or data
/// directory or up to two levels above them, nothing at the absolute name tried, and
/// nothing but the database in the data directory.
fn assert_no_file_was_written(app: &TestApp, marker: &str, extension: &str) {
    let mut dirs = Vec::new();
    for start in [
        std::env::current_dir().ok(),
        Some(std::env::temp_dir()),
        data_dir(app),
    ]
    .into_iter()
    .flatten()
    {
        dirs.extend(start.ancestors().take(3).map(Path::to_path_buf));
    }
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            assert!(
                !entry.file_name().to_string_lossy().contains(marker),
                "{} was written",
                entry.path().display()
            );
        }
    }
    assert!(!Path::new(&format!("/abs/path.{extension}")).exists());
    if let Some(dir) = data_dir(app) {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                name.starts_with("cadre.db"),
                "{name} appeared in the data directory"
            );
        }
    }
}

/// Names that point elsewhere, carry characters no name should, or go on and on; with
/// `marker` in each that could become a file.
fn hostile_names(marker: &str, extension: &str) -> Vec<Vec<u8>> {
    let absolute = std::env::temp_dir().join(format!("cadre-{marker}.{extension}"));
    vec![
        b"../../etc/passwd".to_vec(),
        format!("../../cadre-{marker}.{extension}").into_bytes(),
        format!("..\\..\\cadre-{marker}.{extension}").into_bytes(),
        format!("/abs/path.{extension}").into_bytes(),
        absolute.display().to_string().into_bytes(),
        format!("C:\\Windows\\cadre-{marker}.{extension}").into_bytes(),
        format!("tab\tcadre-{marker}.{extension}").into_bytes(),
        format!("cadre-{marker}\u{85}\u{9b}31m.{extension}").into_bytes(),
        format!("cadre-{marker}\u{202E}vsc.exe").into_bytes(),
        format!("nul\0cadre-{marker}.{extension}").into_bytes(),
        format!("cr\rcadre-{marker}.{extension}").into_bytes(),
        format!("{}{marker}.{extension}", "a".repeat(10_000)).into_bytes(),
        format!("\\\"><img src=x onerror=alert(1)>{marker}.{extension}").into_bytes(),
    ]
}

/// Whether a stored name is mere metadata: short, and nothing in it can hide or
/// rearrange what is shown.
fn assert_harmless_name(stored: &str, sent: &[u8]) {
    assert!(
        stored.chars().count() <= 200,
        "{} characters kept",
        stored.chars().count()
    );
    assert!(
        !stored.chars().any(|c| c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
        "{stored:?} kept a control character of {:?}",
        String::from_utf8_lossy(sent)
    );
}

/// Length and modification time of the system's account file, which `../../etc/passwd`
/// would reach from a data directory two levels down.
fn passwd_stamp() -> Option<(u64, Option<std::time::SystemTime>)> {
    std::fs::metadata("/etc/passwd")
        .ok()
        .map(|m| (m.len(), m.modified().ok()))
}

#[tokio::test]
async fn bulk_upload_names_are_only_metadata_and_are_escaped_on_the_pages() {
    let w = World::new().await;
    let marker = format!("hostile-{}", uuid::Uuid::new_v4().simple());
    let passwd = passwd_stamp();
    let b = Browser::new(&w.app, &w.admin, Some("en"));
    let mut kept = Vec::new();
    for name in hostile_names(&marker, "csv") {
        let shown = String::from_utf8_lossy(&name).into_owned();
        let r = upload_raw(
            &w.app,
            &w.admin,
            "/api/v1/bulk/jobs",
            &name,
            BULK_ROWS.as_bytes(),
            &[("dry_run", "true")],
        )
        .await;
        match r.status {
            StatusCode::ACCEPTED => {
                let stored = r.body["file_name"].as_str().unwrap().to_owned();
                assert_harmless_name(&stored, &name);
                let job = b
                    .get(&format!("/bulk/jobs/{}", r.body["id"].as_str().unwrap()))
                    .await;
                assert_eq!(job.status, StatusCode::OK, "{shown:?}: {}", job.html);
                assert_eq!(
                    text_of(&job.html, "job-file").as_deref(),
                    Some(escaped(&stored).as_str()),
                    "{shown:?}"
                );
                assert_eq!(job.html.matches("<script").count(), 1, "{shown:?}");
                assert!(!job.html.contains("<img"), "{shown:?}");
                kept.push((shown, stored));
            }
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(r.error_fields(), vec!["file"], "{shown:?}: {}", r.body);
            }
            other => panic!("{shown:?}: {other} {}", r.body),
        }
    }
    // A name is a label: kept as sent, less what could hide or reorder it.
    let kept_as = |sent: &str| {
        kept.iter()
            .find(|(shown, _)| shown == sent)
            .map(|(_, stored)| stored.clone())
    };
    for (sent, stored) in [
        ("../../etc/passwd".to_owned(), "../../etc/passwd".to_owned()),
        ("/abs/path.csv".to_owned(), "/abs/path.csv".to_owned()),
        (
            format!("..\\..\\cadre-{marker}.csv"),
            format!("..\\..\\cadre-{marker}.csv"),
        ),
        (
            format!("tab\tcadre-{marker}.csv"),
            format!("tabcadre-{marker}.csv"),
        ),
        (
            format!("cadre-{marker}\u{202E}vsc.exe"),
            format!("cadre-{marker}vsc.exe"),
        ),
        (
            format!("cadre-{marker}\u{85}\u{9b}31m.csv"),
            format!("cadre-{marker}31m.csv"),
        ),
    ] {
        assert_eq!(kept_as(&sent), Some(stored), "{sent:?}");
    }

    // The upload page takes such names too and shows them as text.
    let markup = format!("\"><img src=x onerror=alert(1)>{marker}.csv");
    let part =
        reqwest::multipart::Part::bytes(BULK_ROWS.as_bytes().to_vec()).file_name(markup.clone());
    let form = reqwest::multipart::Form::new()
        .text("_csrf", b.csrf.clone())
        .text("operation", "create")
        .text("credential", "none")
        .text("dry_run", "on")
        .part("file", part);
    let sent = b.post_multipart("/bulk", form).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.html);
    let job = b.get(&sent.location).await;
    assert_eq!(
        text_of(&job.html, "job-file").as_deref(),
        Some(escaped(&markup).as_str())
    );
    assert_inert(&job.html, &markup, "bulk job page");
    let audit = b.get("/audit?action=bulk.job_create").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.html);
    assert_inert(&audit.html, &markup, "audit page");

    assert_no_file_was_written(&w.app, &marker, "csv");
    assert_eq!(passwd_stamp(), passwd);
    assert_eq!(user_total(&w).await, 7, "dry runs create nobody");
}

#[tokio::test]
async fn document_names_are_reduced_to_their_last_part_and_escaped_where_shown() {
    let w = World::new().await;
    let marker = format!("hostile-{}", uuid::Uuid::new_v4().simple());
    let passwd = passwd_stamp();
    let path = format!("/api/v1/users/{}/documents", w.tete_worker);
    let mut stored = Vec::new();
    for name in hostile_names(&marker, "pdf") {
        let shown = String::from_utf8_lossy(&name).into_owned();
        let r = upload_raw(&w.app, &w.admin, &path, &name, PDF, &[]).await;
        match r.status {
            StatusCode::CREATED => {
                let kept = r.body["filename"].as_str().unwrap().to_owned();
                assert_harmless_name(&kept, &name);
                assert!(
                    !kept.contains(['/', '\\']),
                    "{shown:?} kept a path: {kept:?}"
                );
                stored.push(kept);
            }
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(r.error_fields(), vec!["file"], "{shown:?}: {}", r.body);
            }
            other => panic!("{shown:?}: {other} {}", r.body),
        }
    }
    for expected in [
        format!("cadre-{marker}.pdf"),
        "path.pdf".to_owned(),
        "passwd".to_owned(),
        format!("\"><img src=x onerror=alert(1)>{marker}.pdf"),
    ] {
        assert!(stored.contains(&expected), "{expected:?} not in {stored:?}");
    }
    let b = Browser::new(&w.app, &w.admin, Some("en"));
    let page = b.get(&format!("/users/{}", w.tete_worker)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let markup = format!("\"><img src=x onerror=alert(1)>{marker}.pdf");
    assert_inert(&page.html, &markup, "user page");
    assert!(
        page.html
            .contains(&format!("download=\"{}\"", escaped(&markup))),
        "the download attribute stays one attribute"
    );
    // The deactivation form names a refused file in its error, as text.
    let refused =
        reqwest::multipart::Part::bytes(b"not a document".to_vec()).file_name(markup.clone());
    let form = reqwest::multipart::Form::new()
        .text("_csrf", b.csrf.clone())
        .text("reason", "RESIGNED")
        .text("effective_date", day(&w.app, 0))
        .part("documents", refused);
    let page = b
        .post_multipart(&format!("/users/{}/deactivate", w.tete_worker), form)
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.html
    );
    assert_inert(&page.html, &markup, "deactivation form");
    assert_no_file_was_written(&w.app, &marker, "pdf");
    assert_eq!(passwd_stamp(), passwd);
}

// ---------------------------------------------------------------- SQL and markup in text

/// One user per payload, with the payload in every free-text field and in the email;
/// their ids in payload order.
async fn hostile_users(w: &World) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, (payload, email)) in PAYLOADS.iter().zip(EMAILS).enumerate() {
        let body = json!({
            "username": format!("hostile.{i}"),
            "credential": {"method": "set", "password": PASSWORD},
            "first_name": payload, "last_name": payload, "father_or_husband_name": payload,
            "designation": payload, "correspondence_address": payload, "email": email,
            "gender": "female", "roles": ["REGISTRAR"], "employment_type": "CONTRACTUAL",
            "department": "NMCP", "jurisdictions": ["ULONGUE"],
        });
        let r = w.app.post("/api/v1/users", &w.admin, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{payload}: {}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn ids_of(list: &Response) -> Vec<String> {
    let mut ids: Vec<String> = list.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", list.body))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

const FREE_TEXT: [&str; 5] = [
    "first_name",
    "last_name",
    "father_or_husband_name",
    "designation",
    "correspondence_address",
];

#[tokio::test]
async fn sql_and_markup_in_every_text_field_round_trip_verbatim_and_find_only_their_user() {
    let w = World::new().await;
    let ids = hostile_users(&w).await;
    for (i, id) in ids.iter().enumerate() {
        let user = w.app.get(&format!("/api/v1/users/{id}"), &w.admin).await;
        assert_eq!(user.status, StatusCode::OK, "{}", user.body);
        for field in FREE_TEXT {
            assert_eq!(user.body[field], PAYLOADS[i], "{field}");
        }
        assert_eq!(user.body["email"], EMAILS[i]);
        let q = urlencode(PAYLOADS[i]);
        for query in [
            format!("q={q}"),
            format!("name={q}"),
            format!("email={}", urlencode(EMAILS[i])),
            format!("q={}", urlencode(EMAILS[i])),
        ] {
            let found = w.app.get(&format!("/api/v1/users?{query}"), &w.admin).await;
            assert_eq!(found.status, StatusCode::OK, "{query}: {}", found.body);
            assert_eq!(ids_of(&found), vec![id.clone()], "{query}");
        }
    }
    // The filters that take codes find nothing, or refuse the value by name.
    for payload in PAYLOADS.iter().chain(EMAILS.iter()) {
        for param in [
            "boundary",
            "campaign",
            "role",
            "department",
            "employment_type",
            "status",
            "sort",
            "cursor",
            "limit",
            "profile_complete",
            "username",
            "mobile_number",
        ] {
            let query = format!("{param}={}", urlencode(payload));
            let r = w.app.get(&format!("/api/v1/users?{query}"), &w.admin).await;
            match r.status {
                StatusCode::OK => assert_eq!(r.body["total"], 0, "{query}: {}", r.body),
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                    assert_eq!(r.error_fields(), vec![param], "{query}: {}", r.body)
                }
                other => panic!("{query}: {other} {}", r.body),
            }
        }
    }
    // Fields bound to lists or formats refuse the payloads, each by name.
    let r = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({
                "username": PAYLOADS[0], "first_name": "Ana",
                "credential": {"method": "set", "password": PASSWORD},
                "mobile_number": PAYLOADS[1], "gender": PAYLOADS[2],
                "department": PAYLOADS[3], "employment_type": PAYLOADS[0],
                "date_of_birth": PAYLOADS[1], "date_of_employment": PAYLOADS[2],
                "email": PAYLOADS[0], "roles": [PAYLOADS[1]], "jurisdictions": [PAYLOADS[2]],
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let fields = r.error_fields();
    for field in [
        "username",
        "mobile_number",
        "gender",
        "department",
        "employment_type",
        "date_of_birth",
        "date_of_employment",
        "email",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} not named: {}",
            r.body
        );
    }
    // Changing a field to a payload stores it as sent too.
    let patched = w
        .app
        .patch(
            &format!("/api/v1/users/{}", w.tete_worker),
            &w.admin,
            json!({"designation": PAYLOADS[1], "father_or_husband_name": PAYLOADS[3]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["designation"], PAYLOADS[1]);
    assert_eq!(patched.body["father_or_husband_name"], PAYLOADS[3]);
    assert_eq!(user_total(&w).await, 7 + 4, "the users table is intact");
}

#[tokio::test]
async fn sql_and_markup_from_data_and_from_the_query_are_escaped_on_the_pages() {
    let w = World::new().await;
    let ids = hostile_users(&w).await;
    let b = Browser::new(&w.app, &w.admin, Some("en"));
    for (i, id) in ids.iter().enumerate() {
        let payload = PAYLOADS[i];
        for path in [format!("/users/{id}"), format!("/users/{id}/edit")] {
            let page = b.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
            assert_inert(&page.html, payload, &path);
            assert_inert(&page.html, EMAILS[i], &path);
        }
        // The search page shows the typed query back and the user it found.
        let path = format!("/users?q={}", urlencode(payload));
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert_inert(&page.html, payload, &path);
        assert!(
            page.html.contains(&format!("href=\"/users/{id}\"")),
            "{path}: the user is listed"
        );
        assert_eq!(page.html.matches("data-username=").count(), 1, "{path}");
        for path in [
            format!("/users?boundary={}", urlencode(payload)),
            format!("/audit?actor={}", urlencode(payload)),
            format!("/boundaries?q={}", urlencode(payload)),
        ] {
            let page = b.get(&path).await;
            assert!(
                page.status.is_success() || page.status.is_client_error(),
                "{path}: {}",
                page.status
            );
            assert_inert(&page.html, payload, &path);
        }
    }
    // Pages shown before sign-in reflect the query and the typed username.
    let next = "/\"><script>alert(1)</script>";
    let login = Browser::with_cookie(&w.app, String::new(), String::new())
        .get(&format!("/login?next={}", urlencode(next)))
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert_inert(&login.html, next, "sign-in page next");
    for payload in PAYLOADS {
        let (refused, _) = web_sign_in(&w.app, "", payload, "wrong password").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.html);
        assert_inert(&refused.html, payload, "refused sign-in");
    }
}

#[tokio::test]
async fn boundary_and_campaign_names_are_stored_verbatim_and_escaped_on_the_pages() {
    let w = World::new().await;
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let code = format!("HOSTILE-{i}");
        let r = w
            .app
            .post(
                "/api/v1/boundaries",
                &w.admin,
                json!({"code": code, "name": payload, "level": "PROVINCE", "parent_code": "MZ"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{payload}: {}", r.body);
        let read = w
            .app
            .get(&format!("/api/v1/boundaries/{code}"), &w.admin)
            .await;
        assert_eq!(read.body["name"], *payload);
        let found = w
            .app
            .get(
                &format!("/api/v1/boundaries?q={}", urlencode(payload)),
                &w.admin,
            )
            .await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.body);
        let codes: Vec<&str> = found.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec![code.as_str()], "{payload}");

        let r = w
            .app
            .post(
                "/api/v1/campaigns",
                &w.admin,
                json!({"code": code, "name": payload, "type": "LLIN",
                       "start_date": day(&w.app, -1), "end_date": day(&w.app, 30),
                       "boundaries": [code]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{payload}: {}", r.body);
        let read = w
            .app
            .get(&format!("/api/v1/campaigns/{code}"), &w.admin)
            .await;
        assert_eq!(read.body["name"], *payload);
    }
    // Codes are identifiers: the payloads are refused, by field.
    for payload in PAYLOADS {
        let r = w
            .app
            .post(
                "/api/v1/boundaries",
                &w.admin,
                json!({"code": payload, "name": "X", "level": "PROVINCE", "parent_code": "MZ"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_fields(), vec!["code"], "{}", r.body);
        let r = w
            .app
            .post(
                "/api/v1/campaigns",
                &w.admin,
                json!({"code": payload, "name": "X", "type": "LLIN",
                       "start_date": day(&w.app, -1), "end_date": day(&w.app, 30),
                       "boundaries": ["TETE"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.error_fields().contains(&"code".to_owned()), "{}", r.body);
    }
    let b = Browser::new(&w.app, &w.admin, Some("en"));
    let mut pages = vec![
        "/dashboard".to_owned(),
        "/boundaries?parent=MZ".to_owned(),
        "/campaigns".to_owned(),
    ];
    pages.extend((0..PAYLOADS.len()).map(|i| format!("/campaigns/HOSTILE-{i}")));
    for path in pages {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        if path == "/dashboard" {
            // The charts are drawn as SVG and inserted into the page as markup, past the
            // templates' escaping: their labels must arrive escaped already.
            for payload in PAYLOADS {
                let label = format!(">{}</text>", cadre_web::ui::charts::escape(payload));
                assert!(page.html.contains(&label), "{label} not in a chart");
            }
        }
        for (i, payload) in PAYLOADS.iter().enumerate() {
            if path.starts_with("/campaigns/") && !path.ends_with(&format!("-{i}")) {
                continue;
            }
            assert_inert(&page.html, payload, &path);
        }
    }
}
