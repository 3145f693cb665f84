//! Faults: a process killed mid-write, an unreachable database, a read-only database.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};

use super::*;

/// SIGKILL (no chance to clean up) while several clients create users: every change is
/// either wholly there (the user, its roles and its audit event) or wholly absent, and
/// the database opens and serves again.
#[tokio::test]
async fn kill_9_during_writes_leaves_no_half_applied_change() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let mut server = ctx.serve(&[]).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let writers: Vec<Writer> = (0..4)
        .map(|w| Writer::start(&server.base, &token, &format!("kill{w}.")))
        .collect();
    for writer in &writers {
        writer.wait_for(10).await;
    }
    // SAFETY: kill(2) on our own child's pid; no memory is involved.
    let sent = unsafe { libc::kill(server.pid(), libc::SIGKILL) };
    assert_eq!(sent, 0, "kill(SIGKILL) failed");
    let status = tokio::time::timeout(SHUTDOWN_TIMEOUT, server.child.wait())
        .await
        .expect("the killed server exits")
        .expect("waiting for cadre serve");
    assert_eq!(status.code(), None, "cadre died of the signal");
    let acknowledged: Vec<String> = writers.iter().flat_map(Writer::ids).collect();
    drop(writers);

    let db = inspect(&ctx.db.url).await;
    if db.backend() == cadre_store::Backend::Sqlite {
        let verdict = column(
            &db,
            "SELECT integrity_check AS v FROM pragma_integrity_check",
        )
        .await;
        assert_eq!(verdict, vec!["ok".to_owned()], "the SQLite file is sound");
    }
    let users = assert_every_user_created_is_audited(&db).await;
    let orphans = column(
        &db,
        "SELECT r.user_id AS v FROM user_roles r LEFT JOIN users u ON u.id = r.user_id WHERE u.id IS NULL",
    )
    .await;
    assert!(
        orphans.is_empty(),
        "no role row without its user: {orphans:?}"
    );
    let roleless = column(
        &db,
        "SELECT u.id AS v FROM users u WHERE NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id)",
    )
    .await;
    assert!(
        roleless.is_empty(),
        "every user kept its roles: {roleless:?}"
    );
    for id in &acknowledged {
        assert!(
            users.contains(id),
            "acknowledged user {id} survived the kill"
        );
    }
    db.close().await;

    // The same database serves again, and takes writes.
    let server = ctx.serve(&[]).await;
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let (status, ready) = get(&client, &server.base, &token, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let created = client
        .post(format!("{}/api/v1/users", server.base))
        .bearer_auth(&token)
        .json(&new_user("after.the.kill"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
}

/// A TCP proxy to PostgreSQL that the test can cut and restore, standing for a network
/// or database outage without touching the real server.
struct Outage {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Outage {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (open, live) = (up.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    drop(inbound); // refused while down
                    continue;
                }
                let target = target.clone();
                live.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Self {
            port,
            up,
            links,
            _accept: accept,
        }
    }

    /// Cuts every open connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db?x` → (`host:port`, the URL with the proxy's port).
fn through_proxy(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((user, hostport)) => (format!("{user}@"), hostport),
        None => (String::new(), authority),
    };
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    (
        hostport,
        format!("{scheme}://{user}127.0.0.1:{port}/{path}"),
    )
}

/// PostgreSQL goes away and comes back: /readyz and requests answer 503 with a clear
/// problem body meanwhile, and the same process serves again without a restart.
#[tokio::test]
async fn database_outage_answers_503_and_service_resumes_by_itself() {
    let ctx = Ctx::new().await;
    if !ctx.db.url.starts_with("postgres") {
        return; // an embedded SQLite file cannot become unreachable over the network
    }
    ctx.create_root().await;
    let (target, _) = through_proxy(&ctx.db.url, 0);
    let outage = Outage::start(target).await;
    let (_, proxied) = through_proxy(&ctx.db.url, outage.port);
    let server = Server::start(cadre_in(
        ctx.dir.path(),
        &["--database", &proxied, "serve", "--listen", "127.0.0.1:0"],
    ))
    .await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let me = get_ok(&client, &server.base, &token, "/api/v1/me").await;
    let me_path = format!("/api/v1/users/{}", me["id"].as_str().unwrap());
    get_ok(&client, &server.base, &token, &me_path).await;

    outage.cut();
    let response = client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let (_, ready) = body(response).await;
    assert_eq!(ready["code"], "database_unavailable", "{ready}");

    for path in [me_path.as_str(), "/api/v1/users?q=root"] {
        let response = client
            .get(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let (_, problem) = body(response).await;
        assert_eq!(
            status, 503,
            "GET {path} while the database is away: {problem}"
        );
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(problem["code"], "unavailable", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("database"),
            "the body says what is wrong: {problem}"
        );
    }
    let (status, refused) = try_login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(status, 503, "sign-in while the database is away: {refused}");

    outage.restore();
    wait_until_ready(&client, &server.base).await;
    get_ok(&client, &server.base, &token, &me_path).await;
    login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;

    // Cut again while users are being created, so connections die inside their
    // transactions: none of them serves again, and every 201 is in the database.
    let mut writer = Writer::start(&server.base, &token, "cut.");
    writer.wait_for(5).await;
    outage.cut();
    tokio::time::sleep(Duration::from_millis(500)).await;
    outage.restore();
    let before = writer.count();
    writer.wait_for(before + 20).await;
    writer.stop().await;
    let acknowledged = writer.ids();
    let db = inspect(&ctx.db.url).await;
    let users = column(&db, "SELECT id AS v FROM users").await;
    for id in &acknowledged {
        assert!(
            users.contains(id),
            "acknowledged user {id} is in the database"
        );
    }
    assert_every_user_created_is_audited(&db).await;
    db.close().await;
}

/// A database file opened read-only (a full or write-protected disk looks the same to
/// cadre): reads work, writes get a clear 503, and the file is unchanged.
#[tokio::test]
async fn read_only_database_refuses_writes_clearly_and_keeps_reads() {
    let ctx = Ctx::new().await;
    if !ctx.db.url.starts_with("sqlite:") {
        return; // read-only access to PostgreSQL is a role's grant, not a file
    }
    ctx.create_root().await;
    let file = ctx.db.url.trim_start_matches("sqlite://").to_owned();
    // Fold the WAL into the file so its bytes are the whole database.
    let db = inspect(&ctx.db.url).await;
    let mut conn = db.reader().await.unwrap();
    cadre_store::sql::Sql::new("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    drop(conn);
    db.close().await;
    let before = std::fs::read(&file).unwrap();

    let read_only = format!("{}?mode=ro", ctx.db.url);
    let server = Server::start(cadre_in(
        ctx.dir.path(),
        &["--database", &read_only, "serve", "--listen", "127.0.0.1:0"],
    ))
    .await;
    let client = http();
    // Signing in writes a session: refused clearly.
    let (status, problem) = try_login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["code"], "unavailable", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("read-only"),
        "the body names the cause: {problem}"
    );
    let (status, ready) = get(&client, &server.base, "none", "/readyz").await;
    assert_eq!(
        status, 503,
        "readiness proves a write, not only a read: {ready}"
    );
    assert_eq!(ready["code"], "database_read_only", "{ready}");
    let (status, health) = get(&client, &server.base, "none", "/healthz").await;
    assert_eq!(status, 200, "the process is alive: {health}");
    drop(server);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is unchanged"
    );
}

/// Polls `/readyz` until it answers 200, for at most 30 s.
async fn wait_until_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = get(client, base, "none", "/readyz").await;
        if status == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not recover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A tmpfs of a few megabytes, mounted for one test and unmounted after it.
struct SmallVolume {
    path: std::path::PathBuf,
}

impl SmallVolume {
    fn mount(path: std::path::PathBuf, size: &str) -> Self {
        std::fs::create_dir_all(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("running mount");
        assert!(
            mounted.success(),
            "running as root, yet a tmpfs could not be mounted at {}",
            path.display()
        );
        Self { path }
    }

    /// Fills what is left of the volume with one file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallVolume {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// The disk under the SQLite file fills up for real (a tmpfs of 8 MB): no write is
/// acknowledged unless it is on disk, every refusal is a 503 problem with Retry-After,
/// readiness says so, the same process takes writes again once space is freed, and
/// after SIGTERM and a restart every acknowledged user is there. Needs root to mount;
/// CI runs as root, so there it always runs.
#[tokio::test]
async fn a_full_disk_acknowledges_only_what_is_on_it_and_recovers_without_a_restart() {
    // SAFETY: geteuid(2) has no preconditions and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "not root: no tmpfs to fill; the page-cap test in the web crate covers a full file"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let volume = SmallVolume::mount(dir.path().join("volume"), "8m");
    let url = format!("sqlite://{}/cadre.db", volume.path.display());
    run(
        cadre_in(
            dir.path(),
            &[
                "--database",
                &url,
                "admin",
                "create",
                "--username",
                ADMIN,
                "--password-stdin",
            ],
        ),
        Some(&format!("{ADMIN_PASSWORD}\n")),
    )
    .await
    .assert_success("cadre admin create on the small volume");
    let serve = |dir: &std::path::Path| {
        cadre_in(
            dir,
            &["--database", &url, "serve", "--listen", "127.0.0.1:0"],
        )
    };
    let mut server = Server::start(serve(dir.path())).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let create = |n: usize| {
        client
            .post(format!("{}/api/v1/users", server.base))
            .bearer_auth(&token)
            .json(&new_user(&format!("disk.{n:05}")))
            .send()
    };
    let mut acknowledged = Vec::new();
    for n in 0..10 {
        let (status, user) = body(create(n).await.unwrap()).await;
        assert_eq!(status, 201, "{user}");
        acknowledged.push(user["id"].as_str().unwrap().to_owned());
    }

    let filler = volume.fill();
    // Writes may still fit in pages the files already hold; once they do not, every
    // refusal is the contract's 503.
    let mut refused_in_a_row = 0;
    let mut n = 10;
    while refused_in_a_row < 10 {
        assert!(n < 2_000, "the full disk never refused a write");
        let response = create(n).await.unwrap();
        n += 1;
        let retry_after = response.headers().get("retry-after").cloned();
        let content_type = response.headers().get("content-type").cloned();
        let (status, value) = body(response).await;
        if status == 201 {
            acknowledged.push(value["id"].as_str().unwrap().to_owned());
            refused_in_a_row = 0;
            continue;
        }
        assert_eq!(status, 503, "a create on a full disk: {value}");
        assert!(retry_after.is_some(), "Retry-After on {value}");
        assert_eq!(content_type.unwrap(), "application/problem+json");
        refused_in_a_row += 1;
    }
    let (status, ready) = get(&client, &server.base, "none", "/readyz").await;
    assert_eq!(status, 503, "readiness on a full disk: {ready}");
    let (status, me) = get(&client, &server.base, &token, "/api/v1/me").await;
    assert_eq!(status, 200, "reads go on: {me}");
    let (status, signed_in) = try_login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    if status == 200 {
        let fresh = signed_in["token"].as_str().unwrap();
        let (status, me) = get(&client, &server.base, fresh, "/api/v1/me").await;
        assert_eq!(status, 200, "a token handed out on a full disk works: {me}");
    } else {
        assert_eq!(status, 503, "sign-in on a full disk: {signed_in}");
    }

    // Space comes back; the same process recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    wait_until_ready(&client, &server.base).await;
    let (status, user) = body(create(n).await.unwrap()).await;
    assert_eq!(status, 201, "a create once space is back: {user}");
    acknowledged.push(user["id"].as_str().unwrap().to_owned());

    let (exit, _) = server.terminate().await;
    assert!(
        exit.success(),
        "cadre serve exits cleanly on SIGTERM: {exit:?}"
    );
    let db = inspect(&url).await;
    let users = column(&db, "SELECT id AS v FROM users").await;
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !users.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged users are missing after the restart: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    db.close().await;
}
