//! Notification delivery end to end: a real SMTP listener and real HTTP receivers on
//! 127.0.0.1 take the messages the worker sends; the test clock drives the backoff.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode as AxumStatus, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use cadre_service::notify::config::{EmailConfig, NotificationsConfig, Secret, SmsConfig};
use cadre_service::notify::worker::{DeliveryWorker, Round};
use cadre_service::notify::{enqueue, Channel, Outbound, Template};
use cadre_service::settings::{Settings, SettingsConfig};
use cadre_service::{Cadre, Clock};
use cadre_store::sql::Sql;
use cadre_web::WebConfig;

use crate::support::{TestApp, World};

// ------------------------------------------------------------------ SMTP listener

#[derive(Debug, Clone, Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    auth: Option<String>,
    data: String,
}

/// Speaks enough SMTP for lettre: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT.
/// Recipients starting with `refuse` get a permanent 550; the first `tempfail` DATA
/// commands get a temporary 451.
struct SmtpServer {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    async fn start(tempfail: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let tempfail = Arc::new(AtomicUsize::new(tempfail));
        let stored = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, stored.clone(), tempfail.clone()));
            }
        });
        Self { port, mails }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
    tempfail: Arc<AtomicUsize>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut mail = Mail::default();
    let mut auth = None;
    let _ = write.write_all(b"220 test.local ESMTP\r\n").await;
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_uppercase();
        let reply: String = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            "250-test.local\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SIZE 1000000".into()
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN ").map(|_| &command[11..]) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(initial.trim())
                .unwrap();
            auth = Some(String::from_utf8(decoded).unwrap().replace('\0', "|"));
            "235 2.7.0 accepted".into()
        } else if upper.starts_with("MAIL FROM:") {
            mail = Mail {
                from: command[10..].to_owned(),
                auth: auth.clone(),
                ..Mail::default()
            };
            "250 ok".into()
        } else if upper.starts_with("RCPT TO:") {
            let to = command[8..].to_owned();
            if to.contains("<refuse") {
                "550 5.1.1 no such mailbox".into()
            } else {
                mail.to.push(to);
                "250 ok".into()
            }
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 end with .\r\n").await;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await.unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            let failing = tempfail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                "451 4.3.0 try again later".into()
            } else {
                mail.data = data;
                mails.lock().unwrap().push(mail.clone());
                "250 2.0.0 queued".into()
            }
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 ok".into()
        } else {
            "502 5.5.2 not implemented".into()
        };
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The body of a mail with quoted-printable soft breaks and escapes undone.
fn unfolded(data: &str) -> String {
    let joined = data.replace("=\r\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ------------------------------------------------------------------ HTTP receivers

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

/// An HTTP server that records every request and answers 500 to the first `fail`.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    fail: Arc<AtomicUsize>,
    reply: &'static str,
}

async fn receive(
    axum::extract::State(state): axum::extract::State<ReceiverState>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let failing = state
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        (AxumStatus::INTERNAL_SERVER_ERROR, "gateway overloaded").into_response()
    } else {
        (AxumStatus::CREATED, state.reply).into_response()
    }
}

impl Receiver {
    async fn start_at(address: &str, fail: usize, reply: &'static str) -> Self {
        let listener = TcpListener::bind(address).await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState {
            received: received.clone(),
            fail: Arc::new(AtomicUsize::new(fail)),
            reply,
        };
        let app = axum::Router::new().fallback(receive).with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{address}"),
            received,
        }
    }

    async fn start(fail: usize, reply: &'static str) -> Self {
        Self::start_at("127.0.0.1:0", fail, reply).await
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn header(r: &Received, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn form_value(body: &str, name: &str) -> String {
    form(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

// ------------------------------------------------------------------ helpers

fn sms_config(gateway: &str, url: &str) -> SmsConfig {
    SmsConfig {
        gateway: gateway.into(),
        url: Some(url.into()),
        headers: Default::default(),
        body_template: None,
        username: None,
        api_key: None,
        from: None,
        account_sid: None,
        auth_token: None,
        token: None,
        timeout_seconds: 5,
    }
}

fn email_config(port: u16) -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: "plain".into(),
        username: Some("cadre".into()),
        password: Some(Secret("s3cret".into())),
        from: "cadre <no-reply@cadre.example>".into(),
        timeout_seconds: 5,
    }
}

async fn app_with(email: Option<EmailConfig>, sms: Option<SmsConfig>) -> TestApp {
    let settings = SettingsConfig {
        notifications: NotificationsConfig {
            email,
            sms,
            ..NotificationsConfig::default()
        },
        ..SettingsConfig::default()
    };
    TestApp::with(settings, WebConfig::default()).await
}

/// Queues a message as a use case would, in a transaction of its own.
async fn queue(
    app: &TestApp,
    user_id: Option<&str>,
    channel: Channel,
    recipient: &str,
    template: Template,
    language: &str,
    key: &str,
) {
    let now = app.clock.now();
    let expires_at = cadre_store::timestamp(now + Duration::hours(24));
    let params = match template {
        Template::ActivationLink => json!({
            "link": format!("https://cadre.example/login/link/tok-{key}"),
            "expires_at": expires_at, "username": "joao.lopes"}),
        Template::RecoveryOtp => json!({
            "otp": "482913", "expires_at": expires_at, "username": "joao.lopes"}),
    };
    let mut tx = app.db.begin().await.unwrap();
    let written = enqueue(
        &mut tx,
        now,
        &Outbound {
            user_id: user_id.map(str::to_owned),
            channel,
            recipient: recipient.into(),
            template,
            language: language.into(),
            params,
            idempotency_key: key.into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(written, "{key} queued");
}

fn worker(app: &TestApp, id: &str) -> DeliveryWorker {
    DeliveryWorker::new(app.cadre.clone(), id).unwrap()
}

async fn stored(app: &TestApp, key: &str) -> Value {
    let mut conn = app.db.reader().await.unwrap();
    let mut sql = Sql::new(
        "SELECT status, attempts, params, last_error, next_attempt_at FROM outbox WHERE idempotency_key = ",
    );
    sql.bind(key);
    let row = sql.fetch_optional(&mut conn).await.unwrap().unwrap();
    use cadre_store::sql::{int, opt_text, text};
    json!({
        "status": text(&row, "status").unwrap(),
        "attempts": int(&row, "attempts").unwrap(),
        "params": text(&row, "params").unwrap(),
        "last_error": opt_text(&row, "last_error").unwrap(),
        "next_attempt_at": text(&row, "next_attempt_at").unwrap(),
    })
}

async fn admin(app: &TestApp) -> (String, String) {
    app.seed_user("admin", &["SYSTEM_ADMIN"], &[], "Amélia", "Nhantumbo")
        .await;
    let worker_id = app
        .seed_user("joao.lopes", &["REGISTRAR"], &[], "João", "Lopes")
        .await;
    (app.token("admin").await, worker_id)
}

/// Stored times keep microseconds, the clock nanoseconds.
fn assert_close(wait: Duration, seconds: i64, what: &str) {
    let off = (wait - Duration::seconds(seconds)).num_milliseconds().abs();
    assert!(off < 5, "{what}: waited {wait:?}, expected {seconds} s");
}

// ------------------------------------------------------------------ email

#[tokio::test]
async fn email_goes_through_smtp_with_auth_in_the_users_language_and_retries_a_451() {
    let smtp = SmtpServer::start(1).await;
    let app = app_with(Some(email_config(smtp.port)), None).await;
    let (token, user) = admin(&app).await;
    queue(
        &app,
        Some(&user),
        Channel::Email,
        "joao@example.org",
        Template::ActivationLink,
        "pt-MZ",
        "act-1",
    )
    .await;
    queue(
        &app,
        Some(&user),
        Channel::Email,
        "refuse@example.org",
        Template::RecoveryOtp,
        "fr",
        "otp-refused",
    )
    .await;
    let w = worker(&app, "w1");

    // First round: the server defers the first mail (451) and refuses the other (550).
    let round = w.run_once().await.unwrap();
    assert_eq!(
        round,
        Round {
            retried: 1,
            failed: 1,
            ..Round::default()
        }
    );
    assert!(smtp.mails().is_empty());
    let deferred = stored(&app, "act-1").await;
    assert_eq!(deferred["status"], "pending");
    assert_eq!(deferred["attempts"], 1);
    assert!(
        deferred["last_error"].as_str().unwrap().contains("451"),
        "{deferred}"
    );
    let due = cadre_store::parse_timestamp(deferred["next_attempt_at"].as_str().unwrap()).unwrap();
    assert_close(due - app.clock.now(), 30, "first backoff");
    let refused = stored(&app, "otp-refused").await;
    assert_eq!(refused["status"], "failed");
    assert_eq!(refused["params"], "{}", "the OTP is erased once given up");
    assert!(refused["last_error"].as_str().unwrap().contains("550"));

    // Not due yet: nothing happens. After the backoff: sent once.
    assert!(w.run_once().await.unwrap().is_empty());
    app.clock.advance(31);
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, vec!["<joao@example.org>".to_owned()]);
    assert!(
        mail.from.contains("no-reply@cadre.example"),
        "{}",
        mail.from
    );
    assert_eq!(mail.auth.as_deref(), Some("|cadre|s3cret"));
    let text = unfolded(&mail.data);
    assert!(text.contains("Subject: A sua conta cadre"), "{text}");
    assert!(text.contains("Message-ID: <act-1@cadre.example>"), "{text}");
    assert!(
        text.contains("https://cadre.example/login/link/tok-act-1"),
        "{text}"
    );
    assert!(text.contains("Olá joao.lopes"), "{text}");
    let sent = stored(&app, "act-1").await;
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["attempts"], 2);
    assert_eq!(sent["params"], "{}", "the link is erased once sent");

    // The user's messages in the API: status and error, never the parameters.
    let list = app
        .get(&format!("/api/v1/users/{user}/messages"), &token)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["total"], 2);
    let body = list.body.to_string();
    assert!(
        !body.contains("482913") && !body.contains("tok-act-1"),
        "{body}"
    );
    assert!(!body.contains("params"), "{body}");
    let by_key = |template: &str| {
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["template"] == template)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_key("activation_link")["status"], "sent");
    assert_eq!(by_key("activation_link")["attempts"], 2);
    assert_eq!(by_key("recovery_otp")["status"], "failed");
    assert!(by_key("recovery_otp")["last_error"]
        .as_str()
        .unwrap()
        .contains("550"));
}

// ------------------------------------------------------------------ SMS formats

#[tokio::test]
async fn webhook_sms_carries_headers_and_body_template_and_retries_after_500() {
    let receiver = Receiver::start(2, "{\"ok\":true}").await;
    let mut sms = sms_config("webhook", &format!("{}/hooks/sms", receiver.url));
    sms.headers
        .insert("Authorization".into(), Secret("Bearer gw-token".into()));
    sms.body_template = Some(
        r#"{"to":"{{recipient}}","message":{"text":"{{text}}"},"ref":"{{idempotency_key}}"}"#
            .into(),
    );
    let app = app_with(None, Some(sms)).await;
    let (token, user) = admin(&app).await;
    queue(
        &app,
        Some(&user),
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "en",
        "otp-1",
    )
    .await;
    let w = worker(&app, "w1");

    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let first = stored(&app, "otp-1").await;
    assert!(
        first["last_error"].as_str().unwrap().contains("500"),
        "{first}"
    );
    // The second failure waits twice as long as the first.
    app.clock.advance(30);
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let second = stored(&app, "otp-1").await;
    let due = cadre_store::parse_timestamp(second["next_attempt_at"].as_str().unwrap()).unwrap();
    assert_close(due - app.clock.now(), 60, "second backoff");
    let pending = app
        .get("/api/v1/notifications?status=pending", &token)
        .await;
    assert_eq!(pending.body["total"], 1, "{}", pending.body);
    assert_eq!(pending.body["items"][0]["attempts"], 2);
    assert!(pending.body["items"][0]["last_error"]
        .as_str()
        .unwrap()
        .contains("gateway overloaded"));
    app.clock.advance(60);
    assert_eq!(w.run_once().await.unwrap().sent, 1);

    let received = receiver.received();
    assert_eq!(received.len(), 3, "two refused attempts and the delivery");
    let last = &received[2];
    assert_eq!(last.path, "/hooks/sms");
    assert_eq!(header(last, "authorization"), "Bearer gw-token");
    assert_eq!(header(last, "idempotency-key"), "otp-1");
    assert_eq!(header(last, "content-type"), "application/json");
    // Every attempt carries the same key, so a gateway can drop a repeat.
    assert!(received
        .iter()
        .all(|r| header(r, "idempotency-key") == "otp-1"));
    let body: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(body["to"], "+258841234567");
    assert_eq!(body["ref"], "otp-1");
    let text = body["message"]["text"].as_str().unwrap();
    assert!(text.starts_with("482913 is the code"), "{text}");
    assert_eq!(stored(&app, "otp-1").await["status"], "sent");
}

#[tokio::test]
async fn africas_talking_twilio_and_rapidpro_get_their_own_request_formats() {
    const AT_REPLY: &str = r#"{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":"+258841234567","status":"Success"}]}}"#;
    // Africa's Talking: form fields, apiKey header.
    let at = Receiver::start(0, AT_REPLY).await;
    let mut config = sms_config("africas_talking", &format!("{}/version1/messaging", at.url));
    config.username = Some("cadre-mz".into());
    config.api_key = Some(Secret("at-key".into()));
    config.from = Some("CADRE".into());
    let app = app_with(None, Some(config)).await;
    queue(
        &app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "fr",
        "at-1",
    )
    .await;
    assert_eq!(worker(&app, "w").run_once().await.unwrap().sent, 1);
    let r = &at.received()[0];
    assert_eq!(r.path, "/version1/messaging");
    assert_eq!(header(r, "apikey"), "at-key");
    assert_eq!(
        header(r, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(header(r, "idempotency-key"), "at-1");
    assert_eq!(form_value(&r.body, "username"), "cadre-mz");
    assert_eq!(form_value(&r.body, "to"), "+258841234567");
    assert_eq!(form_value(&r.body, "from"), "CADRE");
    assert!(form_value(&r.body, "message").starts_with("482913 est le code"));

    // Twilio: the account's Messages resource, basic auth, To/From/Body.
    let twilio = Receiver::start(0, r#"{"sid":"SM1","status":"queued"}"#).await;
    let mut config = sms_config("twilio", &twilio.url);
    config.account_sid = Some("AC123".into());
    config.auth_token = Some(Secret("tw-token".into()));
    config.from = Some("+15005550006".into());
    let app = app_with(None, Some(config)).await;
    queue(
        &app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "pt",
        "tw-1",
    )
    .await;
    assert_eq!(worker(&app, "w").run_once().await.unwrap().sent, 1);
    let r = &twilio.received()[0];
    assert_eq!(r.path, "/2010-04-01/Accounts/AC123/Messages.json");
    let basic = base64::engine::general_purpose::STANDARD.encode("AC123:tw-token");
    assert_eq!(header(r, "authorization"), format!("Basic {basic}"));
    assert_eq!(form_value(&r.body, "To"), "+258841234567");
    assert_eq!(form_value(&r.body, "From"), "+15005550006");
    assert!(form_value(&r.body, "Body").starts_with("482913 é o código"));

    // RapidPro: a broadcast with a tel: URN and a token.
    let rapidpro = Receiver::start(0, r#"{"id":1}"#).await;
    let mut config = sms_config(
        "rapidpro",
        &format!("{}/api/v2/broadcasts.json", rapidpro.url),
    );
    config.token = Some(Secret("rp-token".into()));
    let app = app_with(None, Some(config)).await;
    queue(
        &app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::ActivationLink,
        "en",
        "rp-1",
    )
    .await;
    assert_eq!(worker(&app, "w").run_once().await.unwrap().sent, 1);
    let r = &rapidpro.received()[0];
    assert_eq!(r.path, "/api/v2/broadcasts.json");
    assert_eq!(header(r, "authorization"), "Token rp-token");
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["urns"], json!(["tel:+258841234567"]));
    assert!(body["text"]
        .as_str()
        .unwrap()
        .contains("https://cadre.example/login/link/tok-rp-1"));
}

#[tokio::test]
async fn a_gateway_that_is_down_gets_the_message_when_it_comes_back() {
    // Reserve a port, then close it: the gateway is down.
    let address = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let app = app_with(
        None,
        Some(sms_config("webhook", &format!("http://{address}/sms"))),
    )
    .await;
    queue(
        &app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "en",
        "down-1",
    )
    .await;
    let w = worker(&app, "w1");
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let failed = stored(&app, "down-1").await;
    assert_eq!(failed["status"], "pending");
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("SMS gateway"),
        "{failed}"
    );
    assert!(!failed["last_error"].as_str().unwrap().contains("482913"));

    let receiver = Receiver::start_at(&address.to_string(), 0, "{}").await;
    app.clock.advance(30);
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(stored(&app, "down-1").await["status"], "sent");
}

// ------------------------------------------------------------------ durability

#[tokio::test]
async fn a_restart_does_not_resend_and_a_dead_workers_claim_expires() {
    let receiver = Receiver::start(0, "{}").await;
    let app = app_with(
        None,
        Some(sms_config("webhook", &format!("{}/sms", receiver.url))),
    )
    .await;
    queue(
        &app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "en",
        "r-1",
    )
    .await;
    assert_eq!(
        worker(&app, "before-restart")
            .run_once()
            .await
            .unwrap()
            .sent,
        1
    );
    // A new worker (the process restarted) finds nothing to send.
    let after = worker(&app, "after-restart");
    assert!(after.run_once().await.unwrap().is_empty());
    app.clock.advance(3600);
    assert!(after.run_once().await.unwrap().is_empty());
    assert_eq!(receiver.received().len(), 1);

    // A worker claims a message and dies before sending it: the row stays, the lease
    // keeps others off until it expires, then the message goes out once.
    queue(
        &app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "en",
        "r-2",
    )
    .await;
    let now = app.clock.now();
    let mut tx = app.db.begin().await.unwrap();
    let claimed = cadre_store::outbox::claim_due(
        &mut tx,
        "dead-worker",
        &cadre_store::timestamp(now),
        &cadre_store::timestamp(now + Duration::seconds(300)),
        10,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        after.run_once().await.unwrap().is_empty(),
        "lease still held"
    );
    app.clock.advance(301);
    assert_eq!(after.run_once().await.unwrap().sent, 1);
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(header(&receiver.received()[1], "idempotency-key"), "r-2");
}

#[tokio::test]
async fn two_workers_on_one_database_send_each_message_once() {
    let receiver = Receiver::start(0, "{}").await;
    let app = app_with(
        None,
        Some(sms_config("webhook", &format!("{}/sms", receiver.url))),
    )
    .await;
    for i in 0..30 {
        queue(
            &app,
            None,
            Channel::Sms,
            "+258841234567",
            Template::RecoveryOtp,
            "en",
            &format!("m-{i}"),
        )
        .await;
    }
    // Two services on the same database; on PostgreSQL each has its own connection
    // pool, as two processes would (SQLite serves one process).
    let db = if app.db.backend() == cadre_store::Backend::Postgres {
        cadre_store::Db::connect(&app.database_url(), &Default::default())
            .await
            .unwrap()
    } else {
        app.db.clone()
    };
    let other = Cadre::new(
        db,
        Settings::from_config(SettingsConfig {
            notifications: NotificationsConfig {
                sms: Some(sms_config("webhook", &format!("{}/sms", receiver.url))),
                ..NotificationsConfig::default()
            },
            ..SettingsConfig::default()
        })
        .unwrap(),
        app.clock.clone(),
    );
    let a = worker(&app, "a");
    let b = DeliveryWorker::new(other, "b").unwrap();
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 30, "{ra:?} {rb:?}");
    let mut keys: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| header(r, "idempotency-key"))
        .collect();
    assert_eq!(keys.len(), 30);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 30, "no message was sent twice");
}

// ------------------------------------------------------------------ no gateway, access

#[tokio::test]
async fn without_a_gateway_messages_wait_visibly_and_leave_once_one_is_configured() {
    let w = World::new().await;
    let app = &w.app;
    queue(
        app,
        Some(&w.tete_worker),
        Channel::Sms,
        "+258841234567",
        Template::ActivationLink,
        "pt",
        "wait-1",
    )
    .await;
    queue(
        app,
        Some(&w.niassa_worker),
        Channel::Email,
        "ana@example.org",
        Template::RecoveryOtp,
        "en",
        "wait-2",
    )
    .await;
    // An OTP that expired while it waited is not worth sending.
    queue(
        app,
        None,
        Channel::Sms,
        "+258841234567",
        Template::RecoveryOtp,
        "en",
        "wait-3",
    )
    .await;
    let round = worker(app, "w1").run_once().await.unwrap();
    assert_eq!(round.waiting_for_gateway, 3);
    assert_eq!(stored(app, "wait-1").await["status"], "no_gateway");
    assert_ne!(
        stored(app, "wait-1").await["params"],
        "{}",
        "kept for later"
    );

    // Visible to national administrators, with a filter; not to a district supervisor.
    let waiting = app
        .get("/api/v1/notifications?status=no_gateway", &w.admin)
        .await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    assert_eq!(waiting.body["total"], 3);
    assert!(
        waiting.body["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no sms gateway")
            || waiting.body["items"][0]["last_error"]
                .as_str()
                .unwrap()
                .contains("no email gateway")
    );
    let sms_only = app
        .get(
            "/api/v1/notifications?status=no_gateway&channel=sms&limit=1",
            &w.admin,
        )
        .await;
    assert_eq!(sms_only.body["total"], 2);
    assert_eq!(sms_only.body["items"].as_array().unwrap().len(), 1);
    let next = sms_only.body["next_cursor"].as_str().unwrap();
    let page_two = app
        .get(
            &format!("/api/v1/notifications?status=no_gateway&channel=sms&limit=1&cursor={next}"),
            &w.admin,
        )
        .await;
    assert_eq!(page_two.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(
        page_two.body["items"][0]["id"],
        sms_only.body["items"][0]["id"]
    );
    let bad = app.get("/api/v1/notifications?status=lost", &w.admin).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.error_code_of("status").as_deref(),
        Some("invalid_status")
    );
    let supervisor = app.get("/api/v1/notifications", &w.sup_tete).await;
    assert_eq!(supervisor.status, StatusCode::FORBIDDEN);
    assert_eq!(supervisor.body["code"], "global_scope_required");
    // A supervisor sees the messages of users in their area only.
    let own = app
        .get(
            &format!("/api/v1/users/{}/messages", w.tete_worker),
            &w.sup_tete,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert_eq!(own.body["items"][0]["status"], "no_gateway");
    let elsewhere = app
        .get(
            &format!("/api/v1/users/{}/messages", w.niassa_worker),
            &w.sup_tete,
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);

    // The user's page shows the message and why it waits, in the reader's language.
    let page = reqwest::Client::new()
        .get(format!("{}/users/{}", app.base, w.tete_worker))
        .header(
            "cookie",
            format!("cadre_session={}; cadre_lang=pt", w.sup_tete),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"section-messages\""), "{page}");
    assert!(page.contains("Ligação de ativação"), "{page}");
    assert!(page.contains("Sem gateway configurado"), "{page}");
    assert!(!page.contains("tok-wait-1"), "{page}");

    // The operator configures a gateway and restarts: the waiting SMS go out; the one
    // whose code expired in the meantime is given up and its code erased.
    let receiver = Receiver::start(0, "{}").await;
    let restarted = Cadre::new(
        app.db.clone(),
        Settings::from_config(SettingsConfig {
            notifications: NotificationsConfig {
                sms: Some(sms_config("webhook", &format!("{}/sms", receiver.url))),
                ..NotificationsConfig::default()
            },
            ..SettingsConfig::default()
        })
        .unwrap(),
        app.clock.clone(),
    );
    app.sql(
        "UPDATE outbox SET params = '{\"otp\":\"111111\",\"username\":\"x\",\"expires_at\":\"2020-01-01T00:00:00.000000Z\"}' WHERE idempotency_key = 'wait-3'",
    )
    .await
    .unwrap();
    let round = DeliveryWorker::new(restarted, "w2")
        .unwrap()
        .run_once()
        .await
        .unwrap();
    assert_eq!(round.sent, 1, "{round:?}");
    assert_eq!(round.failed, 1, "{round:?}");
    assert_eq!(round.waiting_for_gateway, 0, "email still waits, untouched");
    assert_eq!(stored(app, "wait-1").await["status"], "sent");
    assert_eq!(stored(app, "wait-2").await["status"], "no_gateway");
    let expired = stored(app, "wait-3").await;
    assert_eq!(expired["status"], "failed");
    assert_eq!(expired["params"], "{}");
    assert_eq!(receiver.received().len(), 1);
}
