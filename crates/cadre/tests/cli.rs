#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `cadre` command line, run as a separate process against a fresh database per test
//! (SQLite by default, PostgreSQL when `CADRE_TEST_DATABASE_URL` names a server).
//!
//! Child processes start with an empty environment (plus `PATH` and `HOME`), so that a
//! developer's `CADRE_*` variables cannot change what the tests see; a test that wants
//! one sets it explicitly.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use cadre_store::test_support::{fresh_database, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_cadre");
/// Upper bounds only: every wait below polls and returns as soon as it can.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a refused start may take before the test calls it a hang.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(30);
/// "Promptly" for a graceful shutdown of an idle server.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const LISTENING: &str = "cadre is listening on http://";

const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "mango tree river";

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// A `cadre` command with a clean environment, run inside `dir`.
fn cadre_in(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    for keep in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(keep) {
            cmd.env(keep, value);
        }
    }
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// One test's fresh database and scratch directory; both live as long as the test.
struct Ctx {
    db: TestDatabase,
    dir: tempfile::TempDir,
}

impl Ctx {
    async fn new() -> Self {
        let db = fresh_database()
            .await
            .expect("a fresh test database (check CADRE_TEST_DATABASE_URL)");
        let dir = tempfile::tempdir().expect("a temporary directory");
        Self { db, dir }
    }

    /// `cadre --database URL ARGS…`
    fn cadre(&self, args: &[&str]) -> Command {
        let mut all = vec!["--database", self.db.url.as_str()];
        all.extend_from_slice(args);
        cadre_in(self.dir.path(), &all)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("writing a test file");
        path.to_str().expect("a UTF-8 temporary path").to_owned()
    }

    async fn create_admin(&self, username: &str, password: &str) -> Outcome {
        run(
            self.cadre(&[
                "admin",
                "create",
                "--username",
                username,
                "--password-stdin",
            ]),
            Some(&format!("{password}\n")),
        )
        .await
    }

    /// Creates the standard administrator and fails the test if that does not work.
    async fn create_root(&self) {
        self.create_admin(ADMIN, ADMIN_PASSWORD)
            .await
            .assert_success("cadre admin create");
    }

    async fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Server::start(self.cadre(&args)).await
    }
}

/// What a finished command did.
struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn describe(&self) -> String {
        format!(
            "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status.code(),
            self.stdout,
            self.stderr
        )
    }

    fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} should succeed; {}",
            self.describe()
        );
        self
    }

    /// The command failed with exactly one line on standard error; that line.
    fn reason(&self, what: &str) -> String {
        assert!(
            !self.status.success(),
            "{what} should fail; {}",
            self.describe()
        );
        assert_ne!(
            self.status.code(),
            None,
            "{what} should exit, not die of a signal; {}",
            self.describe()
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "{what} should give a one-line reason on standard error; {}",
            self.describe()
        );
        assert!(
            lines[0].starts_with("cadre: ") && lines[0].len() > "cadre: ".len(),
            "{what}: the reason should read 'cadre: …'; {}",
            self.describe()
        );
        lines[0].to_owned()
    }

    /// Like [`Outcome::reason`] for `serve`, whose log lines (migrations applied…) may
    /// precede the reason on standard error: the reason is the one `cadre: ` line, last.
    fn reason_after_logs(&self, what: &str) -> String {
        assert!(
            !self.status.success(),
            "{what} should fail; {}",
            self.describe()
        );
        let reasons: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("cadre: "))
            .collect();
        assert_eq!(
            reasons.len(),
            1,
            "{what} should give one reason line on standard error; {}",
            self.describe()
        );
        assert_eq!(
            self.stderr.lines().rfind(|l| !l.trim().is_empty()),
            Some(reasons[0]),
            "{what}: the reason should be the last line; {}",
            self.describe()
        );
        reasons[0].to_owned()
    }
}

async fn run(cmd: Command, stdin: Option<&str>) -> Outcome {
    run_within(cmd, stdin, COMMAND_TIMEOUT).await
}

/// Runs a command to completion; a command still running after `limit` is killed and
/// the test fails.
async fn run_within(mut cmd: Command, stdin: Option<&str>, limit: Duration) -> Outcome {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("starting cadre");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("a stdin pipe");
        pipe.write_all(input.as_bytes())
            .await
            .expect("writing to cadre's standard input");
        drop(pipe);
    }
    // The child is killed when the timed-out future drops it (kill_on_drop).
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("cadre did not finish within {limit:?}"))
        .expect("waiting for cadre");
    Outcome {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running `cadre serve`; killed when dropped, whatever the test's outcome.
struct Server {
    child: Child,
    /// `http://ADDR` as printed by the server.
    base: String,
    address: std::net::SocketAddr,
    lines: mpsc::UnboundedReceiver<String>,
    /// Standard output lines read so far.
    stdout: Vec<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.start_kill();
            // Reap it here, so that no zombie outlives a failed test.
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

impl Server {
    async fn start(mut cmd: Command) -> Self {
        let mut child = cmd.spawn().expect("starting cadre serve");
        let stdout = child.stdout.take().expect("a stdout pipe");
        let stderr_pipe = child.stderr.take().expect("a stderr pipe");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_reader = tokio::spawn(async move {
            let mut reader = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut server = Self {
            child,
            base: String::new(),
            address: "0.0.0.0:0".parse().unwrap(),
            lines,
            stdout: Vec::new(),
            stderr,
            stderr_reader: Some(stderr_reader),
        };
        let line = server
            .wait_for_line("the listening line", |l| l.starts_with(LISTENING))
            .await;
        let address = line[LISTENING.len()..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        server.address = address
            .parse()
            .unwrap_or_else(|e| panic!("'{address}' in '{line}' is not an address: {e}"));
        server.base = format!("http://{address}");
        server
    }

    fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id().expect("the server is running"))
            .expect("a pid that fits pid_t")
    }

    /// Everything the server wrote to standard error so far, once the reader caught up
    /// (when the process has exited).
    async fn stderr(&mut self) -> String {
        if let Some(reader) = self.stderr_reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        self.stderr.lock().unwrap().clone()
    }

    /// Reads standard output until a line matches; fails the test if the server exits or
    /// takes longer than the start timeout.
    async fn wait_for_line(&mut self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.stdout.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Ok(None) => {
                    let status =
                        tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
                    panic!(
                        "cadre serve closed its output before printing {what} (status {status:?})\n--- stdout\n{}\n--- stderr\n{}",
                        self.stdout.join("\n"),
                        self.stderr().await
                    );
                }
                Err(_) => {
                    panic!(
                        "cadre serve did not print {what} within {START_TIMEOUT:?}\n--- stdout\n{}\n--- stderr\n{}",
                        self.stdout.join("\n"),
                        self.stderr.lock().unwrap()
                    );
                }
            }
        }
    }

    /// Sends SIGTERM and waits (briefly) for the process to exit.
    async fn terminate(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let sent = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(sent, 0, "kill(SIGTERM) failed");
        match tokio::time::timeout(SHUTDOWN_TIMEOUT, self.child.wait()).await {
            Ok(status) => (status.expect("waiting for cadre serve"), started.elapsed()),
            Err(_) => panic!(
                "cadre serve did not exit within {SHUTDOWN_TIMEOUT:?} of SIGTERM\n--- stderr\n{}",
                self.stderr.lock().unwrap()
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("a response body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

async fn try_login(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> (u16, Value) {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("POST /api/v1/auth/login");
    body(response).await
}

/// Signs in and answers the bearer token; fails the test otherwise.
async fn login(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let (status, value) = try_login(client, base, user, password).await;
    assert_eq!(status, 200, "sign-in as {user} should succeed: {value}");
    value["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {value}"))
        .to_owned()
}

async fn get(client: &reqwest::Client, base: &str, token: &str, path: &str) -> (u16, Value) {
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    body(response).await
}

async fn get_ok(client: &reqwest::Client, base: &str, token: &str, path: &str) -> Value {
    let (status, value) = get(client, base, token, path).await;
    assert_eq!(status, 200, "GET {path}: {value}");
    value
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("{list} is not a list"))
        .iter()
        .map(|b| b["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn migrate_succeeds_and_can_run_again() {
    let ctx = Ctx::new().await;
    let first = run(ctx.cadre(&["migrate"]), None).await;
    first.assert_success("the first cadre migrate");
    assert!(
        first.stdout.contains("schema version"),
        "migrate should report the schema version; {}",
        first.describe()
    );
    let second = run(ctx.cadre(&["migrate"]), None).await;
    second.assert_success("a second cadre migrate on the same database");
    assert_eq!(
        first.stdout.trim(),
        second.stdout.trim(),
        "both runs should report the same schema version"
    );
    // The migrated database is usable by the other commands.
    ctx.create_root().await;
}

#[tokio::test]
async fn admin_create_makes_a_global_system_admin_who_can_sign_in() {
    let ctx = Ctx::new().await;
    let created = ctx.create_admin(ADMIN, ADMIN_PASSWORD).await;
    created.assert_success("cadre admin create");
    assert!(
        created
            .stdout
            .contains(&format!("created system administrator '{ADMIN}'")),
        "admin create should say whom it created; {}",
        created.describe()
    );

    let server = ctx.serve(&[]).await;
    let client = http();
    // The password is the first line of standard input, without its line ending.
    let (status, value) = try_login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "{value}");
    assert_eq!(value["user"]["username"], ADMIN, "{value}");
    let token = value["token"].as_str().expect("a token").to_owned();
    let (status, _) = try_login(&client, &server.base, ADMIN, "mango tree river2").await;
    assert_eq!(status, 401, "a wrong password must be refused");

    let me = get_ok(&client, &server.base, &token, "/api/v1/me").await;
    assert_eq!(me["username"], ADMIN, "{me}");
    let roles = me["roles"].as_array().expect("roles");
    assert!(
        roles.iter().any(|r| r == "SYSTEM_ADMIN"),
        "roles should contain SYSTEM_ADMIN: {me}"
    );
    assert_eq!(me["scope"]["global"], json!(true), "{me}");
    assert_eq!(me["status"], "active", "{me}");
}

#[tokio::test]
async fn admin_create_refuses_a_missing_or_weak_password() {
    let ctx = Ctx::new().await;
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("no standard input at all", None, &["password"]),
        ("an empty standard input", Some(""), &["password"]),
        (
            "an empty first line",
            Some("\nmango tree river\n"),
            &["password"],
        ),
        (
            "a too-short password",
            Some("short\n"),
            &["password", "at least 12"],
        ),
        (
            "a common password",
            Some("administrator\n"),
            &["password", "common"],
        ),
        (
            "a password containing the username",
            Some("myrootpassword1\n"),
            &["password", "username"],
        ),
    ];
    for (what, stdin, words) in cases {
        let outcome = run(
            ctx.cadre(&["admin", "create", "--username", ADMIN, "--password-stdin"]),
            *stdin,
        )
        .await;
        let reason = outcome.reason(&format!("admin create with {what}"));
        for word in *words {
            assert!(
                reason.to_lowercase().contains(word),
                "admin create with {what}: the reason should mention '{word}': {reason}"
            );
        }
    }
    // None of the refused attempts created the account: the name is still free.
    ctx.create_root().await;
}

#[tokio::test]
async fn admin_create_refuses_a_taken_username() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let again = ctx.create_admin(ADMIN, "another good passphrase").await;
    let reason = again.reason("a second admin create with the same username");
    assert!(
        reason.contains("taken") && reason.contains(ADMIN),
        "the reason should say the username is taken: {reason}"
    );

    // The first account is untouched and is the only one.
    let server = ctx.serve(&[]).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let (status, _) = try_login(&client, &server.base, ADMIN, "another good passphrase").await;
    assert_eq!(
        status, 401,
        "the refused attempt must not change the password"
    );
    let users = get_ok(&client, &server.base, &token, "/api/v1/users?status=all").await;
    assert_eq!(users["total"], json!(1), "{users}");
}

#[tokio::test]
async fn boundaries_import_prints_a_summary_and_the_hierarchy_is_served() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let file = ctx.write(
        "kenya.csv",
        "code,name,level,parent_code\n\
         KE,Kenya,COUNTRY,\n\
         KE-NBO,Nairobi,PROVINCE,KE\n\
         KE-NBO-W,Westlands,DISTRICT,KE-NBO\n\
         KE-NBO-W-1,Parklands,VILLAGE,KE-NBO-W\n",
    );
    let imported = run(ctx.cadre(&["boundaries", "import", &file]), None).await;
    imported.assert_success("cadre boundaries import");
    assert!(
        imported.stdout.contains("4 rows")
            && imported.stdout.contains("4 created")
            && imported.stdout.contains("0 failed"),
        "the summary should count 4 rows, 4 created, 0 failed; {}",
        imported.describe()
    );

    let server = ctx.serve(&[]).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let village = get_ok(
        &client,
        &server.base,
        &token,
        "/api/v1/boundaries/KE-NBO-W-1",
    )
    .await;
    assert_eq!(village["name"], "Parklands", "{village}");
    assert_eq!(village["level"], "VILLAGE", "{village}");
    assert_eq!(village["parent_code"], "KE-NBO-W", "{village}");
    assert_eq!(
        codes(&village["ancestors"]),
        ["KE", "KE-NBO", "KE-NBO-W"],
        "ancestors from the root down: {village}"
    );
    let root = get_ok(&client, &server.base, &token, "/api/v1/boundaries/KE").await;
    assert_eq!(root["level"], "COUNTRY", "{root}");
    assert_eq!(codes(&root["ancestors"]), Vec::<String>::new(), "{root}");
    let all = get_ok(
        &client,
        &server.base,
        &token,
        "/api/v1/boundaries?limit=500",
    )
    .await;
    assert_eq!(all["total"], json!(4), "{all}");
}

#[tokio::test]
async fn boundaries_import_is_repeatable() {
    let ctx = Ctx::new().await;
    let file = ctx.write(
        "uganda.csv",
        "code,name,level,parent_code\nUG,Uganda,COUNTRY,\nUG-K,Kampala,PROVINCE,UG\n",
    );
    run(ctx.cadre(&["boundaries", "import", &file]), None)
        .await
        .assert_success("the first import");
    let again = run(ctx.cadre(&["boundaries", "import", &file]), None).await;
    again.assert_success("importing the same file again");
    assert!(
        again.stdout.contains("0 created") && again.stdout.contains("0 failed"),
        "a second import of the same rows creates nothing; {}",
        again.describe()
    );
}

#[tokio::test]
async fn boundaries_import_with_bad_rows_fails_but_keeps_the_good_rows() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let file = ctx.write(
        "tanzania.csv",
        "code,name,level,parent_code\n\
         TZ,Tanzania,COUNTRY,\n\
         TZ-A,Arusha,PLANET,TZ\n\
         TZ-B,Orphan,PROVINCE,NOWHERE\n\
         TZ-C,Dodoma,PROVINCE,TZ\n\
         TZ-C-V,Chamwino,VILLAGE,TZ-C\n\
         TZ-C-V-X,Upside down,COUNTRY,TZ-C-V\n",
    );
    let imported = run(ctx.cadre(&["boundaries", "import", &file]), None).await;
    let reason = imported.reason("an import with bad rows");
    assert!(
        reason.contains("3 of 6"),
        "the reason should count the failed rows: {reason}"
    );
    assert!(
        imported.stdout.contains("3 created") && imported.stdout.contains("3 failed"),
        "the summary should count 3 created and 3 failed; {}",
        imported.describe()
    );
    for row in ["row 3 level", "row 4 parent_code", "row 7 level"] {
        assert!(
            imported.stdout.contains(row),
            "the summary should name '{row}'; {}",
            imported.describe()
        );
    }

    let server = ctx.serve(&[]).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    for good in ["TZ", "TZ-C", "TZ-C-V"] {
        let (status, value) = get(
            &client,
            &server.base,
            &token,
            &format!("/api/v1/boundaries/{good}"),
        )
        .await;
        assert_eq!(status, 200, "{good} was a good row: {value}");
    }
    for bad in ["TZ-A", "TZ-B", "TZ-C-V-X"] {
        let (status, value) = get(
            &client,
            &server.base,
            &token,
            &format!("/api/v1/boundaries/{bad}"),
        )
        .await;
        assert_eq!(status, 404, "{bad} was a bad row: {value}");
    }
}

/// Three `serve --demo` started together on one empty database: each serves, and the
/// demo data is there once.
#[tokio::test]
async fn three_demo_servers_started_together_seed_once() {
    let ctx = Ctx::new().await;
    let (a, b, c) = tokio::join!(
        ctx.serve(&["--demo"]),
        ctx.serve(&["--demo"]),
        ctx.serve(&["--demo"])
    );
    let servers = [a, b, c];
    let client = http();
    // The demo's documented staff password.
    let token = login(&client, &servers[0].base, "admin", "demo-cadre-2026").await;
    for server in &servers {
        let (status, _) = get(&client, &server.base, &token, "/readyz").await;
        assert_eq!(status, 200);
    }
    let users = get_ok(
        &client,
        &servers[1].base,
        &token,
        "/api/v1/users?status=all&q=sup.tete",
    )
    .await;
    assert_eq!(users["total"], 1, "one demo supervisor of Tete: {users}");
    let campaigns = get_ok(&client, &servers[2].base, &token, "/api/v1/campaigns").await;
    assert_eq!(
        campaigns["total"], 2,
        "the demo's two campaigns once: {campaigns}"
    );
}

#[tokio::test]
async fn serve_demo_prints_working_credentials_and_seeds_only_once() {
    let ctx = Ctx::new().await;
    let client = http();

    let mut first = ctx.serve(&["--demo"]).await;
    let line = first
        .wait_for_line("the demo administrator's credentials", |l| {
            l.contains("SYSTEM_ADMIN")
        })
        .await;
    // "  admin      / PASSWORD  (SYSTEM_ADMIN, whole country)"
    let (user, rest) = line
        .split_once('/')
        .unwrap_or_else(|| panic!("no 'user / password' in '{line}'"));
    let user = user.trim().to_owned();
    let password = rest
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no password in '{line}'"))
        .to_owned();
    assert!(!user.is_empty(), "no user name in '{line}'");
    assert!(
        first
            .stdout
            .iter()
            .any(|l| l.contains("/api/v1/auth/login")),
        "the demo should say where to sign in: {:?}",
        first.stdout
    );

    let token = login(&client, &first.base, &user, &password).await;
    let me = get_ok(&client, &first.base, &token, "/api/v1/me").await;
    assert!(
        me["roles"]
            .as_array()
            .expect("roles")
            .iter()
            .any(|r| r == "SYSTEM_ADMIN"),
        "the demo administrator should be a SYSTEM_ADMIN: {me}"
    );
    let users = get_ok(
        &client,
        &first.base,
        &token,
        "/api/v1/users?status=all&limit=500",
    )
    .await;
    let boundaries = get_ok(&client, &first.base, &token, "/api/v1/boundaries?limit=500").await;
    let user_count = users["total"].as_i64().expect("a user total");
    let boundary_count = boundaries["total"].as_i64().expect("a boundary total");
    assert!(user_count > 1, "the demo should create some users: {users}");
    assert!(
        boundary_count > 1,
        "the demo should create boundaries: {boundaries}"
    );
    let (status, _) = first.terminate().await;
    assert!(
        status.success(),
        "the first demo server should stop cleanly"
    );
    drop(first);

    let mut second = ctx.serve(&["--demo"]).await;
    // Whatever the second start prints, it must not claim to have created data again.
    let token = login(&client, &second.base, &user, &password).await;
    let users_again = get_ok(
        &client,
        &second.base,
        &token,
        "/api/v1/users?status=all&limit=500",
    )
    .await;
    let boundaries_again = get_ok(
        &client,
        &second.base,
        &token,
        "/api/v1/boundaries?limit=500",
    )
    .await;
    assert_eq!(
        users_again["total"].as_i64(),
        Some(user_count),
        "a second demo start must not add users: {users_again}"
    );
    assert_eq!(
        boundaries_again["total"].as_i64(),
        Some(boundary_count),
        "a second demo start must not add boundaries: {boundaries_again}"
    );
    let (status, _) = second.terminate().await;
    assert!(
        status.success(),
        "the second demo server should stop cleanly"
    );
    assert!(
        !second
            .stdout
            .iter()
            .any(|l| l.contains("Demo data created")),
        "the second start should not announce new demo data: {:?}",
        second.stdout
    );
}

#[tokio::test]
async fn sigterm_stops_serve_promptly_with_status_zero() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let mut server = ctx.serve(&[]).await;
    // A signed-in client with a kept-alive idle connection must not hold the shutdown up.
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    get_ok(&client, &server.base, &token, "/api/v1/me").await;
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status().as_u16(), 200);

    let (status, took) = server.terminate().await;
    assert_eq!(
        status.code(),
        Some(0),
        "cadre serve should exit with status 0 after SIGTERM ({status:?})\n--- stderr\n{}",
        server.stderr().await
    );
    assert!(took < SHUTDOWN_TIMEOUT, "took {took:?}");
}

#[tokio::test]
async fn listen_address_comes_from_cadre_listen() {
    let ctx = Ctx::new().await;
    let mut cmd = ctx.cadre(&["serve"]);
    cmd.env("CADRE_LISTEN", "127.0.0.1:0");
    let server = Server::start(cmd).await;
    assert!(server.address.ip().is_loopback(), "{}", server.base);
    assert_ne!(
        server.address.port(),
        8080,
        "CADRE_LISTEN=127.0.0.1:0 asks for an ephemeral port, not the default 8080"
    );
    let health = http()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("GET /healthz on the address from CADRE_LISTEN");
    assert_eq!(health.status().as_u16(), 200);
    drop(server);

    // The flag beats the variable.
    let mut cmd = ctx.cadre(&["serve", "--listen", "127.0.0.1:0"]);
    cmd.env("CADRE_LISTEN", "not an address");
    let server = Server::start(cmd).await;
    assert!(server.address.ip().is_loopback(), "{}", server.base);

    // And an unusable address from the variable is refused with a reason.
    let mut cmd = ctx.cadre(&["serve"]);
    cmd.env("CADRE_LISTEN", "not an address");
    let refused = run_within(cmd, None, REFUSAL_TIMEOUT).await;
    let reason = refused.reason_after_logs("serve with CADRE_LISTEN='not an address'");
    assert!(
        reason.contains("not an address"),
        "the reason should name the address: {reason}"
    );
}

#[tokio::test]
async fn config_file_with_an_unknown_key_is_refused() {
    let ctx = Ctx::new().await;
    let top = ctx.write("top.toml", "lisen = \"127.0.0.1:0\"\n");
    let nested = ctx.write("nested.toml", "[users]\ndefualt_country = \"KE\"\n");

    let outcome = run(ctx.cadre(&["--config", &top, "migrate"]), None).await;
    let reason = outcome.reason("migrate with an unknown top-level key");
    assert!(
        reason.contains("lisen"),
        "the reason should name the key: {reason}"
    );

    let outcome = run(ctx.cadre(&["--config", &nested, "migrate"]), None).await;
    let reason = outcome.reason("migrate with an unknown key in [users]");
    assert!(
        reason.contains("defualt_country"),
        "the reason should name the key: {reason}"
    );

    let outcome = run_within(
        ctx.cadre(&["--config", &top, "serve", "--listen", "127.0.0.1:0"]),
        None,
        REFUSAL_TIMEOUT,
    )
    .await;
    let reason = outcome.reason("serve with an unknown key");
    assert!(
        reason.contains("lisen"),
        "the reason should name the key: {reason}"
    );

    // The same file named by CADRE_CONFIG.
    let mut cmd = ctx.cadre(&["migrate"]);
    cmd.env("CADRE_CONFIG", &nested);
    let reason = run(cmd, None)
        .await
        .reason("migrate with CADRE_CONFIG naming a file with an unknown key");
    assert!(
        reason.contains("defualt_country"),
        "the reason should name the key: {reason}"
    );

    // A missing file is an error too, not an empty configuration.
    let missing = ctx.dir.path().join("absent.toml");
    let outcome = run(
        ctx.cadre(&["--config", missing.to_str().unwrap(), "migrate"]),
        None,
    )
    .await;
    let reason = outcome.reason("migrate with a missing config file");
    assert!(reason.contains("absent.toml"), "{reason}");
}

#[tokio::test]
async fn config_file_sets_the_default_country() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let config = ctx.write("cadre.toml", "[users]\ndefault_country = \"KE\"\n");
    let server = ctx.serve(&["--config", &config]).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let master = get_ok(&client, &server.base, &token, "/api/v1/master-data").await;
    assert_eq!(master["default_country"], "KE", "{master}");
}

#[tokio::test]
async fn environment_overrides_the_config_file() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    let config = ctx.write("cadre.toml", "[users]\ndefault_country = \"KE\"\n");
    let mut cmd = ctx.cadre(&["--config", &config, "serve", "--listen", "127.0.0.1:0"]);
    cmd.env("CADRE_USERS__DEFAULT_COUNTRY", "TZ");
    let server = Server::start(cmd).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;
    let master = get_ok(&client, &server.base, &token, "/api/v1/master-data").await;
    assert_eq!(master["default_country"], "TZ", "{master}");
}

#[tokio::test]
async fn an_unsupported_database_url_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = "mysql://cadre:s3cret-pw@localhost/cadre";

    let outcome = run(cadre_in(dir.path(), &["--database", url, "migrate"]), None).await;
    let reason = outcome.reason("migrate on a mysql:// URL");
    assert!(
        reason.contains("unsupported") || reason.contains("mysql"),
        "the reason should say the URL is not supported: {reason}"
    );
    assert!(
        !outcome.stderr.contains("s3cret-pw"),
        "the reason must not reveal the database password: {reason}"
    );

    let outcome = run_within(
        cadre_in(
            dir.path(),
            &["--database", url, "serve", "--listen", "127.0.0.1:0"],
        ),
        None,
        REFUSAL_TIMEOUT,
    )
    .await;
    let reason = outcome.reason("serve on a mysql:// URL");
    assert!(
        reason.contains("unsupported") || reason.contains("mysql"),
        "{reason}"
    );
    assert!(
        !outcome.stdout.contains(LISTENING),
        "serve must not start listening; {}",
        outcome.describe()
    );

    let mut cmd = cadre_in(dir.path(), &["--database", "mysql://x", "admin", "create"]);
    cmd.args(["--username", ADMIN, "--password-stdin"]);
    let outcome = run(cmd, Some(&format!("{ADMIN_PASSWORD}\n"))).await;
    let reason = outcome.reason("admin create on a mysql:// URL");
    assert!(reason.contains("mysql://x"), "{reason}");

    // Nothing was created in the working directory (no fallback to the default database).
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listing the working directory")
        .collect();
    assert!(leftovers.is_empty(), "unexpected files: {leftovers:?}");
}

#[tokio::test]
async fn users_export_writes_every_user_to_a_file_named_by_its_format() {
    let ctx = Ctx::new().await;
    ctx.create_root().await;
    ctx.create_admin("deputy", "another good passphrase")
        .await
        .assert_success("a second cadre admin create");

    // A relative name is written in the working directory.
    let exported = run(ctx.cadre(&["users", "export", "out.csv"]), None).await;
    exported.assert_success("cadre users export out.csv");
    assert!(
        exported.stdout.contains("2 users"),
        "the export should say how many users it wrote; {}",
        exported.describe()
    );
    let bytes = std::fs::read(ctx.dir.path().join("out.csv")).expect("the exported file");
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("a CSV export starts with a BOM: {text}"));
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines.len(),
        4,
        "header, two users, nothing after the last CRLF: {text}"
    );
    assert!(
        lines[0].starts_with("id,status,profile_complete,username,first_name,last_name,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with(",created_at,updated_at"), "{}", lines[0]);
    for user in [ADMIN, "deputy"] {
        assert!(
            lines[1..3]
                .iter()
                .any(|l| l.split(',').nth(3) == Some(user) && l.contains("SYSTEM_ADMIN")),
            "{user} should be exported: {text}"
        );
    }
    assert_eq!(lines[3], "");

    let path = ctx.dir.path().join("all users.xlsx");
    let exported = run(
        ctx.cadre(&["users", "export", path.to_str().expect("a UTF-8 path")]),
        None,
    )
    .await;
    exported.assert_success("cadre users export 'all users.xlsx'");
    let bytes = std::fs::read(&path).expect("the exported workbook");
    assert!(
        bytes.starts_with(b"PK\x03\x04"),
        "an XLSX file is a zip archive"
    );

    let refused = run(ctx.cadre(&["users", "export", "out.txt"]), None).await;
    let reason = refused.reason("cadre users export out.txt");
    assert!(
        reason.contains(".csv") && reason.contains(".xlsx"),
        "the reason should name the formats: {reason}"
    );
    assert!(
        !ctx.dir.path().join("out.txt").exists(),
        "nothing is written for an unknown format"
    );

    // On the demo data set: every user, with their open assignments and deactivation,
    // as the API shows them.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut field, mut quoted) =
            (Vec::new(), Vec::new(), String::new(), false);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (_, other) => field.push(other),
            }
        }
        rows
    }
    let demo = Ctx::new().await;
    let mut server = demo.serve(&["--demo"]).await;
    let line = server
        .wait_for_line("the demo administrator's credentials", |l| {
            l.contains("SYSTEM_ADMIN")
        })
        .await;
    let (user, rest) = line.split_once('/').expect("'user / password'");
    let password = rest.split_whitespace().next().expect("a password");
    let client = http();
    let token = login(&client, &server.base, user.trim(), password).await;
    let users = get_ok(
        &client,
        &server.base,
        &token,
        "/api/v1/users?status=all&limit=500",
    )
    .await;
    let exported = run(demo.cadre(&["users", "export", "demo.csv"]), None).await;
    exported.assert_success("cadre users export on the demo data");
    let bytes = std::fs::read(demo.dir.path().join("demo.csv")).expect("the exported file");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8 after the BOM");
    let rows = parse_csv(text);
    let items = users["items"].as_array().expect("users");
    assert_eq!(rows.len() - 1, items.len(), "{text}");
    assert!(
        exported.stdout.contains(&format!("{} users", items.len())),
        "{}",
        exported.describe()
    );
    let at = |name: &str| rows[0].iter().position(|c| c == name).expect(name);
    let cell = |id: &str, name: &str| -> String {
        let row = rows[1..]
            .iter()
            .find(|r| r[0] == id)
            .unwrap_or_else(|| panic!("{id} is not in the export: {text}"));
        row[at(name)].clone()
    };
    let mut assigned = 0;
    for u in items {
        let id = u["id"].as_str().expect("an id");
        assert_eq!(cell(id, "username"), u["username"].as_str().unwrap());
        assert_eq!(cell(id, "status"), u["status"].as_str().unwrap());
        let open: Vec<&str> = u["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .filter(|a| a["status"] != "ended")
            .map(|a| a["campaign"].as_str().unwrap())
            .collect();
        assigned += usize::from(!open.is_empty());
        assert_eq!(cell(id, "campaign"), open.join(";"), "{u}");
        let reason = u["deactivation"]["reason"].as_str().unwrap_or("");
        assert_eq!(cell(id, "deactivation_reason"), reason, "{u}");
    }
    assert!(assigned > 0, "the demo assigns some users: {users}");
}

// ---------------------------------------------------------------------------------------
// users import (bulk jobs)
// ---------------------------------------------------------------------------------------

const BULK_BOUNDARIES: &str =
    "code,name,level,parent_code\nMZ,Moçambique,COUNTRY,\nTETE,Tete,PROVINCE,MZ\n";

fn bulk_users_csv(rows: usize) -> String {
    let mut csv = String::from("first_name,last_name,mobile_number,gender,roles,jurisdictions\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Name{i},Surname{i},{},female,REGISTRAR,TETE\n",
            841_000_000 + i
        ));
    }
    csv
}

async fn scalar(db: &cadre_store::Db, text: &str) -> i64 {
    let mut conn = db.reader().await.unwrap();
    let row = cadre_store::sql::Sql::new(text)
        .fetch_optional(&mut conn)
        .await
        .unwrap()
        .unwrap();
    cadre_store::sql::int(&row, "n").unwrap()
}

async fn open_db(url: &str) -> cadre_store::Db {
    cadre_store::Db::connect(url, &cadre_store::db::DbOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn users_import_prints_plain_progress_and_writes_the_result_beside_the_file() {
    let ctx = Ctx::new().await;
    let boundaries = ctx.write("b.csv", BULK_BOUNDARIES);
    run(ctx.cadre(&["boundaries", "import", &boundaries]), None)
        .await
        .assert_success("boundaries import");
    let file = ctx.write(
        "staff.csv",
        &format!("{}Bad,Mobile,12,female,REGISTRAR,TETE\n", bulk_users_csv(3)),
    );
    let dry = run(ctx.cadre(&["users", "import", &file, "--dry-run"]), None).await;
    assert!(
        !dry.status.success(),
        "a failed row fails the command; {}",
        dry.describe()
    );
    assert!(
        dry.stdout.contains("progress: 4/4 rows, 1 failed"),
        "{}",
        dry.describe()
    );
    assert!(
        dry.stdout.contains("row 5 mobile_number"),
        "{}",
        dry.describe()
    );
    assert!(
        !dry.stdout.contains('\r'),
        "no progress bar when not a terminal"
    );

    let good = ctx.write("good.csv", &bulk_users_csv(3));
    let done = run(
        ctx.cadre(&["users", "import", &good, "--credential", "none"]),
        None,
    )
    .await;
    done.assert_success("users import");
    assert!(
        done.stdout
            .contains("completed: 3 rows, 3 succeeded, 0 failed"),
        "{}",
        done.describe()
    );
    let result = std::fs::read_to_string(ctx.dir.path().join("good.result.csv")).unwrap();
    assert_eq!(result.matches(",created,").count(), 3, "{result}");
    let db = open_db(&ctx.db.url).await;
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM users").await, 3);
    db.close().await;
}

#[tokio::test]
async fn users_import_with_generated_passwords_writes_a_private_slip_sheet() {
    let ctx = Ctx::new().await;
    let boundaries = ctx.write("b.csv", BULK_BOUNDARIES);
    run(ctx.cadre(&["boundaries", "import", &boundaries]), None)
        .await
        .assert_success("boundaries import");
    let file = ctx.write("crew.csv", &bulk_users_csv(3));
    let done = run(
        ctx.cadre(&["users", "import", &file, "--credential", "generate"]),
        None,
    )
    .await;
    done.assert_success("users import --credential generate");
    assert!(
        done.stdout.contains("3 slips written to"),
        "{}",
        done.describe()
    );
    let sheet = ctx.dir.path().join("crew.slips.pdf");
    let pdf = std::fs::read(&sheet).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let images = pdf
        .windows(b"/Subtype /Image".len())
        .filter(|w| *w == b"/Subtype /Image")
        .count();
    assert_eq!(images, 3, "a QR code a slip");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sheet).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
    }
    let result = std::fs::read_to_string(ctx.dir.path().join("crew.result.csv")).unwrap();
    assert_eq!(result.matches(",slip,").count(), 3, "{result}");
    let db = open_db(&ctx.db.url).await;
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) AS n FROM bulk_slips").await,
        0,
        "the sheet was taken, so the slips are gone"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM users WHERE must_change_password = TRUE"
        )
        .await,
        3
    );
    db.close().await;
}

/// How many rows the crash test imports; the brief's figure is 100,000.
const CRASH_ROWS: usize = 100_000;

#[tokio::test]
async fn a_bulk_job_killed_mid_commit_resumes_with_every_row_exactly_once() {
    let ctx = Ctx::new().await;
    let boundaries = ctx.write("b.csv", BULK_BOUNDARIES);
    run(ctx.cadre(&["boundaries", "import", &boundaries]), None)
        .await
        .assert_success("boundaries import");
    let file = ctx.write("big.csv", &bulk_users_csv(CRASH_ROWS));
    let mut import = ctx.cadre(&["users", "import", &file, "--credential", "none"]);
    import.env("CADRE_BULK_LEASE_SECONDS", "2");
    let mut child = import.spawn().unwrap();
    let db = open_db(&ctx.db.url).await;
    // Kill it once some batches are committed, and well before the end.
    let started = Instant::now();
    loop {
        let processed = scalar(
            &db,
            "SELECT COALESCE(MAX(processed_rows), 0) AS n FROM bulk_jobs",
        )
        .await;
        if processed >= 2_000 {
            break;
        }
        assert!(
            started.elapsed() < COMMAND_TIMEOUT,
            "the import made no progress"
        );
        assert!(
            matches!(child.try_wait(), Ok(None)),
            "the import ended early"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let at_kill = scalar(&db, "SELECT MAX(processed_rows) AS n FROM bulk_jobs").await;
    assert!(
        at_kill < CRASH_ROWS as i64,
        "killed too late to test a resume"
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) AS n FROM users").await,
        scalar(&db, "SELECT COUNT(*) AS n FROM bulk_job_rows").await,
        "users and row outcomes commit together"
    );

    // A server resumes the job once the dead process's lease has expired.
    let mut serve = ctx.cadre(&["serve", "--listen", "127.0.0.1:0"]);
    serve.env("CADRE_BULK_LEASE_SECONDS", "2");
    let _server = Server::start(serve).await;
    let started = Instant::now();
    loop {
        let completed = scalar(
            &db,
            "SELECT COUNT(*) AS n FROM bulk_jobs WHERE status = 'completed'",
        )
        .await;
        if completed == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the job was not resumed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let n = CRASH_ROWS as i64;
    assert_eq!(scalar(&db, "SELECT COUNT(*) AS n FROM users").await, n);
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT mobile_number) AS n FROM users").await,
        n
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) AS n FROM bulk_job_rows WHERE status = 'created'"
        )
        .await,
        n
    );
    assert_eq!(
        scalar(&db, "SELECT MAX(processed_rows) AS n FROM bulk_jobs").await,
        n
    );
    assert_eq!(
        scalar(&db, "SELECT MAX(succeeded) AS n FROM bulk_jobs").await,
        n
    );
    db.close().await;
}

// Backups, faults and load against real child processes: crates/cadre/tests/ops/.
#[path = "ops/mod.rs"]
mod ops;
