#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The web interface in a real browser: headless chromium driven through chromedriver
//! (WebDriver, with fantoccini), against `cadre serve --demo` on a fresh database.
//!
//! Every test starts its own server, its own chromedriver and its own browser session, so
//! tests run in parallel and never share state; all of it is killed when the test ends,
//! whatever its outcome. Every screen a test visits is photographed at a phone width
//! (360 × 740) and a desktop width (1280 × 900) into `artifacts/screenshots/` at the
//! repository root, named `<test>-<screen>-<width>.png`, and at 360 px the page must not
//! scroll sideways.
//!
//! Nothing is skipped: without chromium and chromedriver the tests fail and say how to
//! install them (`apt-get install -y chromium chromium-driver` on Debian).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use cadre_store::test_support::{fresh_database, TestDatabase};

const BIN: &str = env!("CARGO_BIN_EXE_cadre");
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL_HINT: &str =
    "install them with `apt-get update && apt-get install -y chromium chromium-driver` (Debian)";
const LISTENING: &str = "cadre is listening on http://";
const DEMO_PASSWORD: &str = "demo-cadre-2026";

/// Upper bounds only: every wait polls and returns as soon as it can.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const DRIVER_TIMEOUT: Duration = Duration::from_secs(30);
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// Fails the test with a message, the current address and the page's text, after saving
/// a screenshot of the failure: `fail!(browser, "format", args…)`.
macro_rules! fail {
    ($b:expr, $($arg:tt)*) => {
        panic!("{}", $b.failure(&format!($($arg)*)).await)
    };
}

/// Viewports, in CSS pixels. They are set with WebDriver's window size rather than
/// chromedriver's mobile emulation: emulation is fixed for a whole session (so one
/// session could not photograph a screen at both widths), and it lays out a page that
/// lacks `<meta name=viewport>` at 980 px and zooms it out, which would hide exactly the
/// sideways scrolling the phone check looks for. A headless window has no browser chrome,
/// so the window size is the viewport; `Browser::set_viewport` verifies that anyway.
/// The page's own `<meta name=viewport content="width=device-width…">`, which a real
/// phone needs to use this layout, is checked separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Viewport {
    width: u32,
    height: u32,
}

const PHONE: Viewport = Viewport {
    width: 360,
    height: 740,
};
const DESKTOP: Viewport = Viewport {
    width: 1280,
    height: 900,
};

/// Screenshots taller than this are cut (a runaway page should not make a huge PNG).
const MAX_SCREENSHOT_HEIGHT: u32 = 6000;

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// A running `cadre serve --demo`; killed when dropped (kill_on_drop).
struct Server {
    _child: Child,
    base: String,
}

impl Server {
    async fn start(db: &TestDatabase, dir: &Path) -> Self {
        let log = dir.join("cadre-serve.stderr");
        let mut cmd = Command::new(BIN);
        cmd.env_clear();
        for keep in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(keep) {
                cmd.env(keep, value);
            }
        }
        cmd.current_dir(dir)
            .args([
                "--database",
                db.url.as_str(),
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("a log file for cadre serve"))
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("starting cadre serve");
        let stdout = child.stdout.take().expect("a stdout pipe");
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let address = loop {
            match tokio::time::timeout_at(deadline, lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    if let Some(rest) = line.strip_prefix(LISTENING) {
                        break rest.split_whitespace().next().unwrap_or_default().to_owned();
                    }
                    seen.push(line);
                }
                outcome => panic!(
                    "cadre serve did not print its listening line ({outcome:?})\n--- stdout\n{}\n--- stderr\n{}",
                    seen.join("\n"),
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            }
        };
        address
            .parse::<std::net::SocketAddr>()
            .unwrap_or_else(|e| panic!("'{address}' is not an address: {e}"));
        // Keep reading standard output so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            _child: child,
            base: format!("http://{address}"),
        }
    }
}

/// A running chromedriver, started in a process group of its own so that dropping it
/// kills chromedriver and the browser it started (the group's id is chromedriver's pid).
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let group = libc::pid_t::try_from(pid).expect("a pid that fits pid_t");
            // SAFETY: kill(2) on the process group we created for our own child.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Driver {
    async fn start(dir: &Path) -> Self {
        require_browser();
        // A free port: bind port 0, note the port, release it. Another process may take
        // it in between; then chromedriver exits and we try another.
        let mut failures = Vec::new();
        for attempt in 1..=5 {
            let port = {
                let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a probe");
                probe.local_addr().expect("the probe's address").port()
            };
            let log = dir.join(format!("chromedriver-{attempt}.log"));
            let mut cmd = Command::new(CHROMEDRIVER);
            cmd.arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .kill_on_drop(true);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}; {INSTALL_HINT}"));
            let mut driver = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                log,
            };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(why) => failures.push(format!("port {port}: {why}")),
            }
        }
        panic!(
            "chromedriver did not start:\n{}\n({INSTALL_HINT})",
            failures.join("\n")
        );
    }

    /// Polls `GET /status` until chromedriver says it is ready.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + DRIVER_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited ({status}): {}", self.log()));
            }
            if let Ok(response) = http.get(format!("{}/status", self.url)).send().await {
                if let Ok(body) = response.json::<Value>().await {
                    if body["value"]["ready"] == json!(true) {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no ready answer on {}/status within {DRIVER_TIMEOUT:?}: {}",
                    self.url,
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

/// Fails the test, saying how to install them, unless chromium and chromedriver are here.
fn require_browser() {
    for (path, what) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromedriver")] {
        assert!(
            Path::new(path).exists(),
            "the browser tests need {what} at {path}, which is missing: {INSTALL_HINT}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------

/// One test's world: a fresh database, a demo server, chromedriver and one browser
/// session. Fields drop in order: the session handle first, then chromedriver (and the
/// browser), the server, the database and the scratch directory.
struct Browser {
    client: Client,
    test: &'static str,
    viewport: Viewport,
    base: String,
    driver: Driver,
    _server: Server,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

/// `cadre_session=…` for requests made outside the browser.
struct SessionCookie(String);

impl Browser {
    /// Starts everything for the test `test`, with the browser at `viewport`.
    async fn start(test: &'static str, viewport: Viewport) -> Self {
        require_browser();
        // A failure screenshot from an earlier run would mislead once the test passes.
        for width in [PHONE.width, DESKTOP.width] {
            let _ =
                std::fs::remove_file(screenshot_dir().join(format!("{test}-FAILED-{width}.png")));
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = fresh_database()
            .await
            .expect("a fresh test database (check CADRE_TEST_DATABASE_URL)");
        let server = Server::start(&db, dir.path()).await;
        let driver = Driver::start(dir.path()).await;
        let profile = dir.path().join("chromium-profile");
        std::fs::create_dir_all(&profile).expect("a browser profile directory");
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={},{}", viewport.width, viewport.height),
                    "--lang=en-US",
                ],
                // English unless a page says otherwise: the language tests start from it.
                "prefs": { "intl.accept_languages": "en-US,en" },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start {CHROMIUM}: {e}\n--- chromedriver log\n{}\n({INSTALL_HINT})",
                    driver.log()
                )
            });
        let browser = Self {
            client,
            test,
            viewport,
            base: server.base.clone(),
            driver,
            _server: server,
            _db: db,
            _dir: dir,
        };
        browser.set_viewport(viewport).await;
        browser
    }

    /// Ends the browser session cleanly; dropping the harness kills whatever is left.
    async fn finish(self) {
        let Self { client, driver, .. } = self;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        drop(driver);
    }

    // --- navigation ----------------------------------------------------------------------

    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("[{}] opening {path}: {e}", self.test));
    }

    /// The current path, with its query if any (`/users?q=lopes`).
    async fn path(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("[{}] reading the current URL: {e}", self.test));
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// `scheme://host:port` of the current address.
    async fn origin(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("[{}] reading the current URL: {e}", self.test));
        format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        )
    }

    /// Waits until the current path (without its query) is `expected`.
    async fn wait_for_path(&self, expected: &str) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let path = self.path().await;
            if path.split('?').next() == Some(expected) {
                return;
            }
            if Instant::now() > deadline {
                fail!(self, "expected to be at {expected}, still at {path}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // --- finding things ------------------------------------------------------------------

    /// The first element matching `css`, waiting for it to appear.
    async fn expect(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PAGE_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                fail!(self, "no element matches `{css}` ({e})");
            }
        }
    }

    /// Every element matching `css` now (possibly none).
    async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("[{}] looking for `{css}`: {e}", self.test))
    }

    async fn assert_absent(&self, css: &str, why: &str) {
        if !self.all(css).await.is_empty() {
            fail!(self, "`{css}` should not be on the page: {why}");
        }
    }

    /// The first element matching `css` that is displayed; fails if all are hidden.
    async fn visible(&self, css: &str) -> Element {
        self.expect(css).await;
        for element in self.all(css).await {
            if element.is_displayed().await.unwrap_or(false) {
                return element;
            }
        }
        fail!(
            self,
            "`{css}` is on the page but hidden at {} px",
            self.viewport.width
        )
    }

    /// Runs `script` (a function body) and answers its result.
    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("[{}] running `{script}`: {e}", self.test))
    }

    async fn lang(&self) -> String {
        self.js("return document.documentElement.getAttribute('lang') || '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The text of an element as written in the page (also when it is hidden), with
    /// white space collapsed.
    async fn text_of(&self, element: &Element) -> String {
        let text = element
            .prop("textContent")
            .await
            .unwrap_or_else(|e| panic!("[{}] reading text: {e}", self.test))
            .unwrap_or_default();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    async fn value_of(&self, element: &Element) -> String {
        element
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("[{}] reading a value: {e}", self.test))
            .unwrap_or_default()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.visible(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("[{}] clearing `{css}`: {e}", self.test));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("[{}] typing into `{css}`: {e}", self.test));
    }

    async fn click(&self, css: &str) {
        let element = self.visible(css).await;
        if let Err(e) = element.click().await {
            fail!(self, "clicking `{css}`: {e}");
        }
    }

    async fn cookie(&self, name: &str) -> Option<fantoccini::cookies::Cookie<'static>> {
        self.client.get_named_cookie(name).await.ok()
    }

    async fn session_cookie(&self) -> SessionCookie {
        let cookie = self
            .cookie("cadre_session")
            .await
            .unwrap_or_else(|| panic!("[{}] no cadre_session cookie after sign-in", self.test));
        SessionCookie(cookie.value().to_owned())
    }

    /// `GET path` outside the browser with the given session; the status, no redirects
    /// followed.
    async fn status_with(&self, session: &SessionCookie, path: &str) -> u16 {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        http.get(format!("{}{path}", self.base))
            .header("cookie", format!("cadre_session={}", session.0))
            .send()
            .await
            .unwrap_or_else(|e| panic!("[{}] GET {path}: {e}", self.test))
            .status()
            .as_u16()
    }

    // --- what the pages must have ----------------------------------------------------------

    /// `form#login` with its two fields and its button.
    async fn assert_login_form(&self) {
        for css in [
            "form#login",
            "form#login input[name=username]",
            "form#login input[name=password]",
            "form#login button[type=submit]",
        ] {
            self.expect(css).await;
        }
    }

    /// The language switcher, on every page.
    async fn assert_language_switcher(&self) {
        for lang in ["en", "pt", "fr"] {
            self.expect(&format!("a[hreflang={lang}]")).await;
        }
    }

    /// What every signed-in page has: a language, landmarks, a skip link, the switcher.
    async fn assert_frame(&self) {
        let lang = self.lang().await;
        if !["en", "pt", "fr"].contains(&lang.as_str()) {
            fail!(self, "<html lang> is '{lang}', not en, pt or fr");
        }
        for css in [
            "header",
            "nav",
            "main#main",
            "a.skip-link[href='#main']",
            "form#logout button[type=submit]",
        ] {
            self.expect(css).await;
        }
        self.assert_language_switcher().await;
    }

    /// The sign-out button's text.
    async fn sign_out_label(&self) -> String {
        let button = self.expect("form#logout button[type=submit]").await;
        self.text_of(&button).await
    }

    /// Fills in and submits the sign-in form (the current page must be `/login`).
    async fn submit_login(&self, username: &str, password: &str) {
        self.assert_login_form().await;
        self.type_into("form#login input[name=username]", username)
            .await;
        self.type_into("form#login input[name=password]", password)
            .await;
        self.click("form#login button[type=submit]").await;
    }

    /// Signs in from `/login` and waits for the landing page.
    async fn sign_in(&self, username: &str) {
        self.go("/login").await;
        self.submit_login(username, DEMO_PASSWORD).await;
        self.wait_for_path("/").await;
        self.expect("main#main").await;
    }

    // --- viewports and screenshots ------------------------------------------------------

    /// Resizes the window so that the page's viewport is exactly `viewport`.
    async fn set_viewport(&self, viewport: Viewport) {
        self.resize_to_inner(viewport.width, viewport.height).await;
    }

    async fn inner_size(&self) -> (i64, i64) {
        let size = self
            .js("return [window.innerWidth, window.innerHeight];")
            .await;
        (
            size[0].as_i64().unwrap_or_default(),
            size[1].as_i64().unwrap_or_default(),
        )
    }

    async fn resize_to_inner(&self, width: u32, height: u32) {
        let resize = |w: i64, h: i64| async move {
            let w = u32::try_from(w).expect("a window width");
            let h = u32::try_from(h).expect("a window height");
            self.client
                .set_window_size(w, h)
                .await
                .unwrap_or_else(|e| panic!("[{}] resizing the window to {w}×{h}: {e}", self.test));
        };
        let (want_w, want_h) = (i64::from(width), i64::from(height));
        resize(want_w, want_h).await;
        let (inner_w, inner_h) = self.inner_size().await;
        if (inner_w, inner_h) != (want_w, want_h) {
            // Some window decoration after all: grow the window by the difference.
            resize(2 * want_w - inner_w, 2 * want_h - inner_h).await;
            let (inner_w, inner_h) = self.inner_size().await;
            assert_eq!(
                (inner_w, inner_h),
                (want_w, want_h),
                "[{}] could not make the viewport {width}×{height}",
                self.test
            );
        }
    }

    fn screenshot_path(&self, screen: &str, width: u32) -> PathBuf {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        dir.join(format!("{}-{screen}-{width}.png", self.test))
    }

    /// Saves the whole page at the current width: the window grows to the page's height
    /// for the shot, then returns to `height`.
    async fn shoot(&self, screen: &str, width: u32, height: u32) -> PathBuf {
        let page_height = self
            .js("return Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0));")
            .await
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(height);
        let tall = page_height.clamp(height, MAX_SCREENSHOT_HEIGHT);
        if tall != height {
            self.resize_to_inner(width, tall).await;
        }
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("[{}] taking a screenshot: {e}", self.test));
        if tall != height {
            self.resize_to_inner(width, height).await;
        }
        assert!(
            png.starts_with(b"\x89PNG"),
            "[{}] the screenshot is not a PNG",
            self.test
        );
        let path = self.screenshot_path(screen, width);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Photographs the current screen at both widths, checks at 360 px that nothing
    /// scrolls sideways and that the page asks phones for their real width, then returns
    /// to the test's own viewport.
    async fn capture(&self, screen: &str) {
        for viewport in [PHONE, DESKTOP] {
            self.set_viewport(viewport).await;
            if viewport == PHONE {
                let widths = self
                    .js("return [document.documentElement.scrollWidth, window.innerWidth];")
                    .await;
                let (scroll, inner) = (
                    widths[0].as_i64().unwrap_or(i64::MAX),
                    widths[1].as_i64().unwrap_or_default(),
                );
                if scroll > inner {
                    let shot = self.shoot(screen, viewport.width, viewport.height).await;
                    fail!(
                        self,
                        "screen '{screen}' scrolls sideways at {} px: scrollWidth {scroll} > innerWidth {inner} (see {})",
                        viewport.width,
                        shot.display()
                    );
                }
                let meta = self
                    .js("const m = document.querySelector('meta[name=viewport]'); return m ? m.getAttribute('content') : '';")
                    .await;
                let meta = meta.as_str().unwrap_or_default().replace(' ', "");
                if !meta.contains("width=device-width") {
                    fail!(
                        self,
                        "screen '{screen}' has no <meta name=viewport content=\"width=device-width, …\"> (found '{meta}'): a phone would lay it out 980 px wide and zoom out"
                    );
                }
            }
            self.shoot(screen, viewport.width, viewport.height).await;
        }
        self.set_viewport(self.viewport).await;
    }

    /// A failure message: `why`, the current address and the page's text, after saving a
    /// screenshot of the failure. Callers panic with it.
    async fn failure(&self, why: &str) -> String {
        let path = self.path().await;
        // The window may be at the other width (a failed check inside `capture`).
        let width = self
            .client
            .execute("return window.innerWidth;", Vec::new())
            .await
            .ok()
            .and_then(|w| w.as_u64())
            .and_then(|w| u32::try_from(w).ok())
            .unwrap_or(self.viewport.width);
        let shot = self.screenshot_path("FAILED", width);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(&shot, png);
        }
        let text = self
            .client
            .execute(
                "return document.body ? document.body.innerText : document.documentElement.outerHTML;",
                Vec::new(),
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let text: String = text.chars().take(2000).collect();
        format!(
            "[{}] {why}\n  at {path} ({width} px wide; screenshot {})\n--- page text\n{text}",
            self.test,
            shot.display()
        )
    }
}

/// `artifacts/screenshots/` at the repository root.
fn screenshot_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the repository root, two levels above crates/cadre");
    root.join("artifacts").join("screenshots")
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sign_in_page_and_wrong_password() {
    let b = Browser::start("sign_in", DESKTOP).await;
    b.go("/login").await;
    b.assert_login_form().await;
    b.assert_language_switcher().await;
    let lang = b.lang().await;
    assert_eq!(
        lang, "en",
        "the sign-in page should be in English by default"
    );
    b.capture("login").await;

    b.submit_login("sup.tete", "not-the-password").await;
    let alert = b.expect("[role=alert]").await;
    let message = b.text_of(&alert).await;
    if message.is_empty() {
        fail!(b, "the [role=alert] after a failed sign-in is empty");
    }
    b.wait_for_path("/login").await;
    b.assert_login_form().await;
    let kept = b
        .value_of(&b.expect("form#login input[name=username]").await)
        .await;
    assert_eq!(
        kept, "sup.tete",
        "a failed sign-in should keep the username in the form"
    );
    assert!(
        b.cookie("cadre_session").await.is_none(),
        "a failed sign-in must not set a session cookie"
    );
    b.capture("login-failed").await;

    // The right password now: the session cookie is HttpOnly and SameSite=Lax.
    b.submit_login("sup.tete", DEMO_PASSWORD).await;
    b.wait_for_path("/").await;
    let cookie = b
        .cookie("cadre_session")
        .await
        .expect("a cadre_session cookie after signing in");
    assert_eq!(
        cookie.http_only(),
        Some(true),
        "cadre_session should be HttpOnly: {cookie:?}"
    );
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()).as_deref(),
        Some("Lax"),
        "cadre_session should be SameSite=Lax: {cookie:?}"
    );
    b.finish().await;
}

#[tokio::test]
async fn supervisor_searches_users_on_a_phone() {
    let b = Browser::start("supervisor_search", PHONE).await;
    b.go("/login").await;
    b.capture("login").await;
    b.sign_in("sup.tete").await;
    b.assert_frame().await;
    b.visible("a[data-module=users]").await;
    // SUPERVISOR holds audit.read.
    b.expect("a[data-module=audit]").await;
    b.capture("home").await;

    b.click("a[data-module=users]").await;
    b.wait_for_path("/users").await;
    b.assert_frame().await;
    b.expect("form#search input[name=q]").await;
    b.capture("users").await;

    b.type_into("form#search input[name=q]", "lopes\u{e007}")
        .await;
    b.expect("table#results").await;
    let mut rows = Vec::new();
    for row in b.all("table#results tr[data-username]").await {
        rows.push(row.attr("data-username").await.unwrap().unwrap_or_default());
    }
    if sorted(rows.clone()) != ["joao.lopes", "maria.lopes"] {
        fail!(
            b,
            "sup.tete searching 'lopes' should see exactly joao.lopes and maria.lopes (Tete), not maria.lopes2 (Niassa); the rows are {rows:?}"
        );
    }
    let q = b
        .value_of(&b.expect("form#search input[name=q]").await)
        .await;
    assert_eq!(q, "lopes", "the search field should keep the query");
    b.assert_absent("#no-results", "the search found users")
        .await;
    b.capture("search-lopes").await;

    b.type_into("form#search input[name=q]", "zzzzzz\u{e007}")
        .await;
    b.expect("#no-results").await;
    b.assert_absent("table#results tr[data-username]", "nobody is called zzzzzz")
        .await;
    b.capture("search-nothing").await;
    b.finish().await;
}

#[tokio::test]
async fn language_switch_on_the_landing_page() {
    let b = Browser::start("language", DESKTOP).await;
    b.sign_in("sup.tete").await;
    b.assert_frame().await;
    assert_eq!(b.lang().await, "en");
    assert_eq!(b.sign_out_label().await, "Sign out");
    b.capture("home-en").await;

    for (lang, label) in [("pt", "Sair"), ("fr", "Se déconnecter"), ("en", "Sign out")] {
        b.click(&format!("a[hreflang={lang}]")).await;
        b.expect(&format!("html[lang={lang}]")).await;
        b.wait_for_path("/").await;
        b.assert_frame().await;
        let text = b.sign_out_label().await;
        if text != label {
            fail!(
                b,
                "in '{lang}' the sign-out button should read '{label}', not '{text}'"
            );
        }
        let cookie = b.cookie("cadre_lang").await;
        assert_eq!(
            cookie.as_ref().map(|c| c.value().to_owned()).as_deref(),
            Some(lang),
            "the language switch should set cadre_lang={lang}: {cookie:?}"
        );
        // The choice sticks: the next page comes in the same language.
        b.go("/").await;
        b.expect(&format!("html[lang={lang}]")).await;
        if lang != "en" {
            b.capture(&format!("home-{lang}")).await;
        }
    }
    b.finish().await;
}

#[tokio::test]
async fn helpdesk_has_no_master_data() {
    let b = Browser::start("helpdesk", DESKTOP).await;
    b.sign_in("helpdesk").await;
    b.assert_frame().await;
    b.visible("a[data-module=users]").await;
    b.assert_absent(
        "a[data-module=master-data]",
        "HELPDESK lacks master_data.manage",
    )
    .await;
    b.capture("home").await;

    b.go("/master-data").await;
    b.expect("main#main").await;
    b.expect("[role=alert]").await;
    b.capture("master-data-forbidden").await;
    let session = b.session_cookie().await;
    assert_eq!(
        b.status_with(&session, "/master-data").await,
        403,
        "GET /master-data as helpdesk should answer 403"
    );
    b.finish().await;
}

#[tokio::test]
async fn sign_out_returns_to_the_sign_in_page() {
    let b = Browser::start("sign_out", PHONE).await;
    b.sign_in("admin").await;
    b.assert_frame().await;
    b.capture("home").await;
    let session = b.session_cookie().await;

    b.click("form#logout button[type=submit]").await;
    b.wait_for_path("/login").await;
    b.assert_login_form().await;
    b.capture("signed-out").await;

    // The session is over on the server too: the old cookie no longer opens the landing
    // page, and the browser, back at /, is sent to the sign-in form.
    let status = b.status_with(&session, "/").await;
    assert_ne!(
        status, 200,
        "after signing out, the old session cookie should not open /"
    );
    b.go("/").await;
    b.wait_for_path("/login").await;
    b.assert_login_form().await;
    b.finish().await;
}

#[tokio::test]
async fn sign_in_follows_only_a_safe_next_path() {
    let b = Browser::start("next", DESKTOP).await;
    b.go("/login?next=%2Fusers%3Fq%3Dlopes").await;
    b.submit_login("sup.tete", DEMO_PASSWORD).await;
    b.wait_for_path("/users").await;
    assert_eq!(
        b.path().await,
        "/users?q=lopes",
        "sign-in should follow next"
    );
    b.expect("table#results tr[data-username='joao.lopes']")
        .await;
    b.capture("users-after-sign-in").await;

    // Addresses elsewhere, all on the loopback interface where nothing listens on port 1,
    // so that a wrong redirect cannot leave this machine. Wherever `next` is honoured
    // (signing in, or opening /login while signed in), these must land on / here.
    let hostile = [
        ("//localhost:1/", "%2F%2Flocalhost%3A1%2F"),
        ("http://localhost:1/", "http%3A%2F%2Flocalhost%3A1%2F"),
        ("/\\localhost:1/", "%2F%5Clocalhost%3A1%2F"),
        // Browsers drop tabs and line breaks from URLs: "/<TAB>/host" is "//host".
        ("/<TAB>/localhost:1/", "%2F%09%2Flocalhost%3A1%2F"),
    ];
    let mut wrong = Vec::new();
    let home = format!("{}/", b.base);
    for (shown, encoded) in hostile {
        b.go(&format!("/login?next={encoded}")).await;
        let landed = format!("{}{}", b.origin().await, b.path().await);
        if landed != home {
            wrong.push(format!(
                "signed in, GET /login?next={shown} went to {landed}"
            ));
        }
    }
    b.go("/").await;
    b.click("form#logout button[type=submit]").await;
    b.wait_for_path("/login").await;
    for (shown, encoded) in hostile {
        b.go(&format!("/login?next={encoded}")).await;
        b.submit_login("sup.tete", DEMO_PASSWORD).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while b.path().await.starts_with("/login") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let landed = format!("{}{}", b.origin().await, b.path().await);
        if landed != home {
            let note = if b.path().await.starts_with("/login") {
                " (still on the sign-in page: the browser refused where the server sent it)"
            } else {
                ""
            };
            wrong.push(format!(
                "signing in with next={shown} went to {landed}{note}"
            ));
            b.go("/").await;
        }
        if !b.path().await.starts_with("/login") {
            b.click("form#logout button[type=submit]").await;
            b.wait_for_path("/login").await;
        }
    }
    if !wrong.is_empty() {
        fail!(
            b,
            "`next` must only lead to a path on this site ({home}):\n  {}",
            wrong.join("\n  ")
        );
    }
    b.finish().await;
}
