//! 100 concurrent clients for a bounded time doing sign-ins, searches, edits and
//! assignment changes against real `cadre serve` processes (two sharing the database on
//! PostgreSQL): no 5xx, no lost update, one audit event per change made.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Barrier;

use super::*;

const CLIENTS: usize = 100;
const WORKERS: usize = 20;
/// Long enough for every kind of request to meet every other; short enough for CI.
const LOAD_TIME: Duration = Duration::from_secs(12);
const RACES: usize = 3;

const BOUNDARIES: &str = "code,name,level,parent_code
MZ,Moçambique,COUNTRY,
TETE,Tete,PROVINCE,MZ
ANGONIA,Angónia,DISTRICT,TETE
ULONGUE,Ulónguè,VILLAGE,ANGONIA
DOMUE,Domué,VILLAGE,ANGONIA
";

/// What the clients saw, by kind of request and status.
#[derive(Default)]
struct Tally {
    statuses: Mutex<BTreeMap<(String, u16), u64>>,
    /// Successful changes, each of which must have left exactly one audit event.
    changes: AtomicU64,
    sign_ins: AtomicU64,
}

impl Tally {
    fn saw(&self, kind: &str, status: u16) {
        *self
            .statuses
            .lock()
            .unwrap()
            .entry((kind.to_owned(), status))
            .or_default() += 1;
    }

    fn summary(&self) -> String {
        format!("{:?}", self.statuses.lock().unwrap())
    }
}

async fn status_of(
    response: Result<reqwest::Response, reqwest::Error>,
    kind: &str,
) -> (u16, Value) {
    match response {
        Ok(response) => body(response).await,
        Err(e) => panic!("{kind}: the request failed outright: {e}"),
    }
}

fn server_command(ctx: &Ctx) -> Command {
    let mut cmd = ctx.cadre(&["serve", "--listen", "127.0.0.1:0"]);
    // Every client comes from 127.0.0.1; the per-address limit is tested elsewhere.
    cmd.env("CADRE_LOGIN__PER_CLIENT_PER_MINUTE", "1000000");
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_clients_mixed_load_without_5xx_lost_updates_or_missing_audit() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let csv = ctx.write("boundaries.csv", BOUNDARIES);
    run(ctx.cadre(&["boundaries", "import", &csv]), None)
        .await
        .assert_success("cadre boundaries import");
    let postgres = ctx.db.url.starts_with("postgres");
    let mut servers = vec![Server::start(server_command(&ctx)).await];
    if postgres {
        servers.push(Server::start(server_command(&ctx)).await);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let token = login(&client, &bases[0], ADMIN, ADMIN_PASSWORD).await;

    let today = chrono::Utc::now().date_naive();
    let created = client
        .post(format!("{}/api/v1/campaigns", bases[0]))
        .bearer_auth(&token)
        .json(&json!({
            "code": "LOAD-2026", "name": "Load", "type": "LLIN",
            "start_date": (today - chrono::Days::new(30)).to_string(),
            "end_date": (today + chrono::Days::new(90)).to_string(),
            "boundaries": ["TETE"],
        }))
        .send()
        .await;
    let (status, campaign) = status_of(created, "campaign").await;
    assert_eq!(status, 201, "{campaign}");
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let created = client
            .post(format!("{}/api/v1/users", bases[n % bases.len()]))
            .bearer_auth(&token)
            .json(&new_user(&format!("load.worker{n:02}")))
            .send()
            .await;
        let (status, user) = status_of(created, "create").await;
        assert_eq!(status, 201, "{user}");
        workers.push(user["id"].as_str().unwrap().to_owned());
    }

    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + LOAD_TIME;
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, tally) = (client.clone(), tally.clone());
        let base = bases[c % bases.len()].clone();
        let worker = workers[c % WORKERS].clone();
        clients.push(tokio::spawn(async move {
            let mut token = String::new();
            let mut open_assignment: Option<String> = None;
            let mut i = 0usize;
            while Instant::now() < deadline {
                if i.is_multiple_of(25) {
                    let (status, value) = try_login(&client, &base, ADMIN, ADMIN_PASSWORD).await;
                    tally.saw("sign-in", status);
                    if status == 200 {
                        tally.sign_ins.fetch_add(1, Ordering::SeqCst);
                        token = value["token"].as_str().unwrap().to_owned();
                    }
                }
                match i % 4 {
                    0 => {
                        let path = if c % 2 == 0 {
                            "/api/v1/users?q=load"
                        } else {
                            "/api/v1/users?username=load.worker1&boundary=TETE&status=all"
                        };
                        let (status, _) = get(&client, &base, &token, path).await;
                        tally.saw("search", status);
                    }
                    1 => {
                        let read = client
                            .get(format!("{base}/api/v1/users/{worker}"))
                            .bearer_auth(&token)
                            .send()
                            .await
                            .unwrap();
                        let etag = read
                            .headers()
                            .get("etag")
                            .map(|v| v.to_str().unwrap().to_owned());
                        let (status, _) = body(read).await;
                        tally.saw("read", status);
                        if let Some(etag) = etag {
                            let sent = client
                                .patch(format!("{base}/api/v1/users/{worker}"))
                                .bearer_auth(&token)
                                .header("If-Match", etag)
                                .json(&json!({ "correspondence_address": format!("Rua {c}, {i}") }))
                                .send()
                                .await;
                            let (status, _) = status_of(sent, "edit").await;
                            tally.saw("edit", status);
                            if status == 200 {
                                tally.changes.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    _ => match open_assignment.take() {
                        None => {
                            let village = if c % 2 == 0 { "ULONGUE" } else { "DOMUE" };
                            let sent = client
                                .post(format!("{base}/api/v1/users/{worker}/assignments"))
                                .bearer_auth(&token)
                                .json(&json!({ "campaign": "LOAD-2026", "boundaries": [village] }))
                                .send()
                                .await;
                            let (status, value) = status_of(sent, "assign").await;
                            tally.saw("assign", status);
                            if status == 201 {
                                tally.changes.fetch_add(1, Ordering::SeqCst);
                                open_assignment = value["id"].as_str().map(str::to_owned);
                            }
                        }
                        Some(id) => {
                            let sent = client
                                .post(format!("{base}/api/v1/assignments/{id}/end"))
                                .bearer_auth(&token)
                                .json(&json!({}))
                                .send()
                                .await;
                            let (status, _) = status_of(sent, "end").await;
                            tally.saw("end", status);
                            if status == 200 {
                                tally.changes.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    },
                }
                i += 1;
            }
        }));
    }
    for task in clients {
        task.await.expect("a client task");
    }

    // Lost updates: every client reads the same version, then all edit at once.
    let target = workers[0].clone();
    for race in 0..RACES {
        let barrier = Arc::new(Barrier::new(CLIENTS));
        let mut racers = Vec::new();
        for c in 0..CLIENTS {
            let (client, barrier, token) = (client.clone(), barrier.clone(), token.clone());
            let base = bases[c % bases.len()].clone();
            let target = target.clone();
            racers.push(tokio::spawn(async move {
                let read = client
                    .get(format!("{base}/api/v1/users/{target}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                let etag = read.headers()["etag"].to_str().unwrap().to_owned();
                barrier.wait().await;
                let sent = client
                    .patch(format!("{base}/api/v1/users/{target}"))
                    .bearer_auth(&token)
                    .header("If-Match", etag)
                    .json(&json!({ "designation": format!("race {race} client {c}") }))
                    .send()
                    .await;
                status_of(sent, "racing edit").await.0
            }));
        }
        let mut outcome = BTreeMap::new();
        for racer in racers {
            *outcome.entry(racer.await.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(
            outcome,
            BTreeMap::from([(200, 1), (412, CLIENTS - 1)]),
            "race {race}: exactly one edit wins, the others are told it is stale"
        );
        tally.changes.fetch_add(1, Ordering::SeqCst);
    }

    let statuses = tally.statuses.lock().unwrap().clone();
    eprintln!("load over {} process(es): {}", bases.len(), tally.summary());
    let server_errors: Vec<_> = statuses.iter().filter(|((_, s), _)| *s >= 500).collect();
    assert!(
        server_errors.is_empty(),
        "no 5xx under load: {server_errors:?}"
    );
    let allowed: &[(&str, &[u16])] = &[
        ("sign-in", &[200]),
        ("search", &[200]),
        ("read", &[200]),
        ("edit", &[200, 412]),
        ("assign", &[201, 409, 422]),
        ("end", &[200]),
    ];
    for ((kind, status), count) in &statuses {
        let expected = allowed
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, s)| *s)
            .unwrap_or(&[]);
        assert!(
            expected.contains(status),
            "{count} × {kind} answered {status}: {}",
            tally.summary()
        );
    }
    for kind in ["sign-in", "search", "read", "edit", "assign", "end"] {
        assert!(
            statuses.keys().any(|(k, s)| k == kind && *s < 300),
            "some {kind} succeeded under load: {}",
            tally.summary()
        );
    }

    let db = inspect(&ctx.db.url).await;
    let audited = column(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS v FROM audit_events WHERE action IN ('user.update', 'assignment.create', 'assignment.end')",
    )
    .await;
    assert_eq!(
        audited,
        vec![tally.changes.load(Ordering::SeqCst).to_string()],
        "one audit event per change made"
    );
    let sign_ins = column(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) AS v FROM audit_events WHERE action = 'auth.login' AND outcome = 'success'",
    )
    .await;
    let expected_sign_ins = tally.sign_ins.load(Ordering::SeqCst) + 1; // + the set-up sign-in
    assert_eq!(
        sign_ins,
        vec![expected_sign_ins.to_string()],
        "one audit event per sign-in"
    );
    db.close().await;
}
