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
        // A busy machine applies a resize late, and some window decoration may take
        // room: retry, growing the window by what the viewport still lacks. The width
        // must come out exact (the sideways-scroll check depends on it); a window
        // manager may refuse a very tall window, which only shortens a screenshot.
        let (mut ask_w, mut ask_h) = (want_w, want_h);
        let mut got = (0, 0);
        for _ in 0..6 {
            resize(ask_w, ask_h).await;
            got = self.inner_size().await;
            if got == (want_w, want_h) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            got = self.inner_size().await;
            if got == (want_w, want_h) {
                return;
            }
            ask_w = (ask_w + want_w - got.0).max(want_w);
            ask_h = (ask_h + want_h - got.1).max(want_h);
        }
        assert_eq!(
            got.0, want_w,
            "[{}] could not make the viewport {width}×{height} (got {got:?})",
            self.test
        );
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

// ---------------------------------------------------------------------------------------
// The PRD's flows, on a phone, in English and in Portuguese
// ---------------------------------------------------------------------------------------

/// A simple message (`key = text`, no placeables) of the interface's catalogue, read
/// from `crates/web/locales/<lang>/*.ftl`, so a test can assert the page speaks `lang`.
fn catalogue(lang: &str, key: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../web/locales")
        .join(lang);
    let prefix = format!("{key} = ");
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        if let Some(line) = text.lines().find(|l| l.starts_with(&prefix)) {
            return line[prefix.len()..].trim().to_owned();
        }
    }
    panic!("no message {key} in the {lang} catalogue")
}

impl Browser {
    /// Whether the phone menu (`details.menu`) is what shows the navigation now.
    async fn menu_shown(&self) -> bool {
        for menu in self.all("details.menu").await {
            if menu.is_displayed().await.unwrap_or(false) {
                return true;
            }
        }
        false
    }

    /// Clicks a link of the header, opening the phone menu first when there is one.
    async fn click_in_header(&self, css: &str) {
        if self.menu_shown().await {
            let open = self
                .js("const d = document.querySelector('details.menu'); return !!(d && d.open);")
                .await;
            if open != json!(true) {
                self.click("details.menu > summary").await;
            }
            self.click(&format!("details.menu {css}")).await;
        } else {
            self.click(css).await;
        }
    }

    /// Switches the interface to `lang` with the switcher and waits for it.
    async fn switch_language(&self, lang: &str) {
        let before = self.path().await;
        self.click_in_header(&format!("a[hreflang={lang}]")).await;
        self.expect(&format!("html[lang={lang}]")).await;
        self.wait_for_path(before.split('?').next().unwrap_or("/"))
            .await;
    }

    /// The text of the first element matching `css`.
    async fn text(&self, css: &str) -> String {
        let element = self.expect(css).await;
        self.text_of(&element).await
    }

    /// Fails unless the text of `css` is the catalogue's `key` in `lang`.
    async fn assert_text(&self, css: &str, lang: &str, key: &str) {
        let want = catalogue(lang, key);
        let got = self.text(css).await;
        if got != want {
            fail!(
                self,
                "`{css}` should read '{want}' ({lang}: {key}), not '{got}'"
            );
        }
    }

    async fn select(&self, css: &str, value: &str) {
        let element = self.visible(css).await;
        if let Err(e) = element.select_by_value(value).await {
            fail!(self, "choosing '{value}' in `{css}`: {e}");
        }
    }

    /// Searches users from the search page and opens `username`'s page.
    async fn open_user(&self, query: &str, username: &str) -> String {
        self.go(&format!("/users?q={query}")).await;
        self.click(&format!("table#results tr[data-username='{username}'] a"))
            .await;
        self.expect("#user-username").await;
        let path = self.path().await;
        if !path.starts_with("/users/") {
            fail!(
                self,
                "opening {username} should lead to /users/<id>, not {path}"
            );
        }
        path
    }

    /// The page's `scrollWidth` at the current viewport must not exceed its width.
    async fn assert_no_sideways_scroll(&self) {
        let widths = self
            .js("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await;
        if widths[0].as_i64() > widths[1].as_i64() {
            fail!(self, "the page scrolls sideways: {widths}");
        }
    }

    /// Every visible link, button, summary and form control is at least 44 px tall (and
    /// check boxes and radio buttons, whose label is the target, sit in a 44 px row).
    async fn assert_tap_targets(&self, screen: &str) {
        let small = self
            .js(r#"
                const small = [];
                for (const el of document.querySelectorAll('a[href], button, summary, input:not([type=hidden]), select, textarea')) {
                  const r = el.getBoundingClientRect();
                  if (r.width === 0 || r.height === 0) continue;
                  if (el.closest('.skip-link')) continue;
                  let h = r.height;
                  if (el.type === 'checkbox' || el.type === 'radio') h = el.parentElement.getBoundingClientRect().height;
                  // Links inside running text are exempt (WCAG 2.5.8's inline exception).
                  if (el.tagName === 'A' && getComputedStyle(el).display === 'inline' && el.closest('p, li, dd, td') && el.closest('p, li, dd, td').textContent.trim() !== el.textContent.trim()) continue;
                  if (h < 43.5) small.push((el.id || el.name || el.textContent.trim().slice(0, 30) || el.tagName) + ' ' + Math.round(h) + 'px');
                }
                return small;
            "#)
            .await;
        if small.as_array().is_some_and(|a| !a.is_empty()) {
            fail!(self, "tap targets under 44 px on '{screen}': {small}");
        }
    }
}

/// A supervisor of Tete on a phone, in `lang`: finds a worker by part of the name,
/// creates a worker with a campaign assignment, deactivates one with a reason and
/// replaces one; screenshots of every screen on the way.
async fn supervisor_flows(test: &'static str, lang: &str) {
    let b = Browser::start(test, PHONE).await;
    b.sign_in("sup.tete").await;
    if lang != "en" {
        b.switch_language(lang).await;
    }
    b.assert_frame().await;
    assert_eq!(b.lang().await, lang);
    b.assert_text("form#logout button", lang, "sign-out").await;
    b.assert_text("h1", lang, "home-title").await;
    // The header stays short on a phone: the navigation is folded into a menu.
    let header = b
        .js("return document.querySelector('header.top').getBoundingClientRect().height;")
        .await
        .as_f64()
        .unwrap_or(f64::MAX);
    if header > 120.0 {
        fail!(
            b,
            "the header is {header} px tall at 360 px (the menu should fold)"
        );
    }
    b.assert_tap_targets("home").await;
    b.capture("home").await;
    b.click("details.menu > summary").await;
    b.visible("details.menu a[data-module=users]").await;
    b.assert_no_sideways_scroll().await;
    b.capture("menu-open").await;

    // Find a worker by part of the name.
    b.click_in_header("a[data-module=users]").await;
    b.wait_for_path("/users").await;
    b.assert_text("h1", lang, "search-users").await;
    b.type_into("form#search input[name=q]", "lop\u{e007}")
        .await;
    b.expect("table#results tr[data-username='joao.lopes']")
        .await;
    b.expect("table#results tr[data-username='maria.lopes']")
        .await;
    b.assert_absent(
        "table#results tr[data-username='maria.lopes2']",
        "maria.lopes2 works in Niassa, outside sup.tete's area",
    )
    .await;
    b.assert_tap_targets("search").await;
    b.capture("search").await;

    // Create a worker with a campaign assignment; a first try without names is refused
    // field by field and keeps what was typed.
    b.click("#new-user").await;
    b.wait_for_path("/users/new").await;
    b.capture("new-user").await;

    // Inline checks when a field is left: messages of the page's language, next to the
    // field and in the live region; a corrected field loses its message.
    b.type_into("#email", "not-an-email").await;
    b.click("#first_name").await;
    b.assert_text("#email-error", lang, "check-email").await;
    b.expect("#email[aria-invalid=true]").await;
    let live = b.text("#live-status").await;
    if !live.ends_with(&catalogue(lang, "check-email")) {
        fail!(
            b,
            "the live region should announce the email message: '{live}'"
        );
    }
    b.click("#last_name").await;
    b.assert_text("#first_name-error", lang, "check-required")
        .await;
    b.capture("new-user-inline-checks").await;
    b.type_into("#email", "lucia.fumo@example.org").await;
    b.click("#first_name").await;
    b.assert_absent("#email-error", "the email was corrected")
        .await;
    b.type_into("#mobile_number", "+258 84 300 0042").await;
    b.click("#user-form button[type=submit]").await;
    b.expect("#error-summary").await;
    b.assert_text("#error-summary-title", lang, "user-errors-title")
        .await;
    let kept = b.value_of(&b.expect("#mobile_number").await).await;
    assert_eq!(
        kept, "+258 84 300 0042",
        "a refused form keeps what was typed"
    );
    b.expect("#first_name[aria-invalid=true]").await;
    b.capture("new-user-errors").await;

    b.type_into("#first_name", "Lúcia").await;
    b.type_into("#last_name", "Fumo").await;
    b.select("#gender", "FEMALE").await;
    b.type_into("#correspondence_address", "Sede distrital, Zóbuè")
        .await;
    b.click("input[name=roles][value=DISTRIBUTOR]").await;
    let checked = b
        .js("return document.querySelector('input[name=roles][value=DISTRIBUTOR]').checked;")
        .await;
    if checked != json!(true) {
        fail!(b, "clicking the DISTRIBUTOR box should tick it");
    }
    b.select("#employment_type", "CONTRACTUAL").await;
    b.select("#department", "NMCP").await;
    b.type_into("#jurisdictions", "MZ-TETE-MOATIZE-ZOBUE").await;
    b.select("#assignments-0-campaign", "LLIN-2026-TETE").await;
    b.type_into("#assignments-0-boundaries", "MZ-TETE-MOATIZE-ZOBUE")
        .await;
    b.click("#credential-method").await;
    b.click("#user-form button[type=submit]").await;
    let password = b.text("#generated-password").await;
    if password.len() < 8 {
        fail!(
            b,
            "the generated password should be shown, got '{password}'"
        );
    }
    let created = b.text("#created-username").await;
    assert!(
        created.starts_with("lucia"),
        "a generated username: {created}"
    );
    b.capture("user-created").await;
    b.click("main a.button").await;
    b.expect("#user-username").await;
    b.assert_text("#notice", lang, "user-notice-created").await;
    let assignments = b.text("#section-assignments").await;
    if !assignments.contains("LLIN-2026-TETE") {
        fail!(
            b,
            "the new worker should be assigned to LLIN-2026-TETE: {assignments}"
        );
    }
    let page = b.js("return document.body.innerText;").await;
    if page.as_str().unwrap_or_default().contains(&password) {
        fail!(
            b,
            "the generated password is shown once, not again on the user's page"
        );
    }
    b.assert_tap_targets("user").await;
    b.capture("user").await;

    // Deactivate a worker with a reason.
    b.open_user("mussa", "fatima.mussa").await;
    b.click("#action-deactivate").await;
    b.expect("form#deactivate").await;
    b.capture("deactivate").await;
    let first_reason = b
        .js("const o = document.querySelector('#reason option:not([value=\"\"])'); return o ? o.value : '';")
        .await;
    b.select("#reason", first_reason.as_str().unwrap_or_default())
        .await;
    b.type_into("#remarks", "Left the campaign").await;
    b.click("form#deactivate button[type=submit]").await;
    b.expect("#user-status").await;
    b.assert_text("#user-status", lang, "status-deactivated")
        .await;
    b.capture("deactivated").await;

    // Replace a worker by a new one, who gets a generated password.
    b.open_user("chissano", "ines.chissano").await;
    b.click("#action-replace").await;
    b.expect("form#replace").await;
    b.capture("replace").await;
    b.type_into("#first_name", "Lurdes").await;
    b.type_into("#last_name", "Tembe").await;
    b.type_into("#mobile_number", "+258 84 300 0043").await;
    b.type_into("#email", "lurdes.tembe@example.org").await;
    b.select("#employment_type", "CONTRACTUAL").await;
    b.select("#department", "NMCP").await;
    b.type_into("#correspondence_address", "Sede distrital, Moatize")
        .await;
    b.click("form#replace button[type=submit]").await;
    let password = b.text("#generated-password").await;
    if password.len() < 8 {
        fail!(
            b,
            "the replacement's generated password should be shown: '{password}'"
        );
    }
    b.capture("replaced").await;
    b.click("main a.button").await;
    let new_user = b.text("#user-username").await;
    assert!(
        new_user.starts_with("lurdes"),
        "the replacement: {new_user}"
    );
    b.capture("replacement").await;
    b.finish().await;
}

#[tokio::test]
async fn supervisor_flows_on_a_phone_in_english() {
    supervisor_flows("flows_en", "en").await;
}

#[tokio::test]
async fn supervisor_flows_on_a_phone_in_portuguese() {
    supervisor_flows("flows_pt", "pt").await;
}

/// The help desk resets a worker's password: the generated password is shown once.
async fn helpdesk_resets_a_password(test: &'static str, lang: &str) {
    let b = Browser::start(test, PHONE).await;
    b.sign_in("helpdesk").await;
    if lang != "en" {
        b.switch_language(lang).await;
    }
    let user = b.open_user("lopes", "joao.lopes").await;
    b.click("#action-credentials").await;
    b.expect("form#credentials-form").await;
    b.assert_text("h1", lang, "user-credentials-title").await;
    b.capture("credentials").await;
    b.click("#credential-method").await;
    b.click("form#credentials-form button[type=submit]").await;
    let password = b.text("#generated-password").await;
    if password.len() < 8 {
        fail!(b, "a generated password should be shown: '{password}'");
    }
    b.capture("password-shown").await;
    b.go(&user).await;
    let page = b.js("return document.body.innerText;").await;
    if page.as_str().unwrap_or_default().contains(&password) {
        fail!(b, "the password must not be shown again");
    }
    // The new password works: the worker signs in with it.
    b.click("form#logout button[type=submit]").await;
    b.wait_for_path("/login").await;
    b.submit_login("joao.lopes", &password).await;
    b.wait_for_path("/").await;
    b.expect("form#logout").await;
    b.finish().await;
}

#[tokio::test]
async fn helpdesk_resets_a_password_in_english() {
    helpdesk_resets_a_password("reset_en", "en").await;
}

#[tokio::test]
async fn helpdesk_resets_a_password_in_portuguese() {
    helpdesk_resets_a_password("reset_pt", "pt").await;
}

/// For each demo account: a module missing from the landing page and the navigation,
/// and a user action missing from a user's page, answers 403 or 404 at its address;
/// whatever is shown opens.
#[tokio::test]
async fn what_a_user_cannot_do_is_neither_shown_nor_reachable() {
    let b = Browser::start("permissions", DESKTOP).await;
    let modules = [
        "dashboard",
        "users",
        "campaigns",
        "boundaries",
        "roles",
        "master-data",
        "audit",
        "bulk",
    ];
    let mut hidden_somewhere = 0;
    for account in ["helpdesk", "sup.tete"] {
        b.sign_in(account).await;
        let session = b.session_cookie().await;
        let mut shown = Vec::new();
        for link in b.all("main a[data-module]").await {
            shown.push(link.attr("data-module").await.unwrap().unwrap_or_default());
        }
        let mut in_nav = Vec::new();
        for link in b.all("nav.modules.wide a[data-module]").await {
            in_nav.push(link.attr("data-module").await.unwrap().unwrap_or_default());
        }
        assert_eq!(
            sorted(shown.clone()),
            sorted(in_nav),
            "{account}: the landing page and the navigation offer the same modules"
        );
        for module in modules {
            let status = b.status_with(&session, &format!("/{module}")).await;
            if shown.iter().any(|s| s == module) {
                assert_eq!(
                    status, 200,
                    "{account} is offered /{module}, which must open"
                );
            } else {
                hidden_somewhere += 1;
                assert!(
                    status == 403 || status == 404,
                    "{account} is not offered /{module}, which answered {status}"
                );
            }
        }
        // A user's page offers only the actions the account holds.
        let user = b.open_user("lopes", "joao.lopes").await;
        let mut offered = 0;
        for (id, path) in [
            ("action-edit", "/edit"),
            ("action-credentials", "/credentials"),
            ("action-assign", "/assignments/new"),
            ("action-deactivate", "/deactivate"),
            ("action-replace", "/replace"),
        ] {
            let status = b.status_with(&session, &format!("{user}{path}")).await;
            if b.all(&format!("#{id}")).await.is_empty() {
                hidden_somewhere += 1;
                assert!(
                    status == 403 || status == 404,
                    "{account} is not offered {id}, whose page {user}{path} answered {status}"
                );
            } else {
                offered += 1;
                assert_eq!(status, 200, "{account} is offered {id}: {user}{path}");
            }
        }
        assert!(offered > 0, "{account} may act on joao.lopes");
        b.capture(&format!("user-{account}")).await;
        b.go("/").await;
        b.click("form#logout button[type=submit]").await;
        b.wait_for_path("/login").await;
    }
    assert!(
        hidden_somewhere > 0,
        "the demo accounts should lack some module or action"
    );
    b.finish().await;
}

/// The administrator's screens, each photographed at both widths.
#[tokio::test]
async fn every_administration_screen_at_both_widths() {
    let b = Browser::start("admin", DESKTOP).await;
    b.sign_in("admin").await;
    b.capture("home").await;
    for (path, screen) in [
        ("/dashboard", "dashboard"),
        ("/campaigns", "campaigns"),
        ("/campaigns/LLIN-2026", "campaign"),
        ("/campaigns/new", "campaign-new"),
        ("/boundaries", "boundaries"),
        ("/roles", "roles"),
        ("/roles/new", "role-new"),
        ("/roles/SUPERVISOR/edit", "role-edit"),
        ("/master-data", "master-data"),
        ("/audit", "audit"),
        ("/bulk", "bulk"),
        ("/users?status=all", "users-all"),
        ("/users/no-such-user", "not-found"),
    ] {
        b.go(path).await;
        b.expect("main#main").await;
        if screen != "not-found" {
            b.assert_frame().await;
        }
        b.capture(screen).await;
    }
    // A campaign's name, dates and boundaries can be changed; its code cannot.
    b.go("/campaigns/LLIN-2026-TETE").await;
    b.click("#edit-campaign").await;
    b.wait_for_path("/campaigns/LLIN-2026-TETE/edit").await;
    b.assert_absent(
        "#campaign-form input[name=code]",
        "a campaign's code is fixed",
    )
    .await;
    b.capture("campaign-edit").await;
    b.type_into("#name", "LLIN distribution, Tete wave 1").await;
    b.click("#campaign-form button[type=submit]").await;
    b.wait_for_path("/campaigns/LLIN-2026-TETE").await;
    let title = b.text("h1").await;
    if !title.contains("Tete wave 1") {
        fail!(b, "the campaign's new name should show: '{title}'");
    }
    b.go("/campaigns/LLIN-2026-TETE/edit").await;
    b.type_into("#boundaries", "MZ-NOWHERE").await;
    b.click("#campaign-form button[type=submit]").await;
    b.expect("#boundaries[aria-invalid=true]").await;
    b.capture("campaign-edit-errors").await;

    let user = b.open_user("assane", "momade.assane").await;
    b.capture("user-scheduled").await;
    for (path, screen) in [
        ("/edit", "user-edit"),
        ("/assignments/new", "assign"),
        ("/reactivate", "reactivate"),
        ("/credentials", "credentials"),
    ] {
        b.go(&format!("{user}{path}")).await;
        b.expect("main#main form").await;
        b.capture(screen).await;
    }
    b.finish().await;
}

/// What each page costs on the wire: the compressed HTML, plus the stylesheet and the
/// script a first visit also fetches. The figures go to `artifacts/page-weights.txt`;
/// every page must stay under a budget a 2G connection (about 5 KB/s) loads in a few
/// seconds, and the server must actually compress.
#[tokio::test]
async fn pages_travel_compressed_and_stay_light() {
    const BUDGET: u64 = 24 * 1024;
    let b = Browser::start("weights", PHONE).await;
    b.sign_in("admin").await;
    let mut assets: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut lines = vec![format!(
        "{:<28} {:>10} {:>10}",
        "page", "html (B)", "unpacked"
    )];
    let mut heaviest = 0;
    for path in [
        "/",
        "/users",
        "/users?q=lopes&status=all",
        "/users/new",
        "/dashboard",
        "/campaigns",
        "/campaigns/LLIN-2026",
        "/boundaries",
        "/roles",
        "/master-data",
        "/audit",
        "/bulk",
    ] {
        b.go(path).await;
        b.expect("main#main").await;
        let sizes = b
            .js("const n = performance.getEntriesByType('navigation')[0];
                 return [n.encodedBodySize, n.decodedBodySize,
                   performance.getEntriesByType('resource').map(r => [new URL(r.name).pathname, r.encodedBodySize, r.decodedBodySize])];")
            .await;
        let (html, unpacked) = (
            sizes[0].as_u64().unwrap_or_default(),
            sizes[1].as_u64().unwrap_or_default(),
        );
        assert!(
            html > 0 && html < unpacked,
            "{path} should arrive compressed: {html} B on the wire for {unpacked} B"
        );
        for entry in sizes[2].as_array().cloned().unwrap_or_default() {
            let name = entry[0].as_str().unwrap_or_default().to_owned();
            let (wire, full) = (
                entry[1].as_u64().unwrap_or_default(),
                entry[2].as_u64().unwrap_or_default(),
            );
            if name.starts_with("/static/") && wire > 0 {
                assets.insert(name, (wire, full));
            }
        }
        heaviest = heaviest.max(html);
        lines.push(format!("{path:<28} {html:>10} {unpacked:>10}"));
    }
    let mut fixed = 0;
    for asset in ["/static/app.css", "/static/app.js"] {
        let Some((wire, full)) = assets.get(asset) else {
            panic!("{asset} was never fetched: {assets:?}")
        };
        assert!(wire < full, "{asset} should arrive compressed");
        fixed += wire;
        lines.push(format!("{asset:<28} {wire:>10} {full:>10}"));
    }
    lines.push(format!(
        "heaviest first visit: {} B (html {heaviest} + css and js {fixed})",
        heaviest + fixed
    ));
    let report = lines.join("\n");
    let dir = screenshot_dir();
    let out = dir.parent().unwrap().join("page-weights.txt");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, format!("{report}\n")).unwrap();
    println!("{report}");
    assert!(
        heaviest + fixed < BUDGET,
        "the heaviest first visit is over {BUDGET} B:\n{report}"
    );
    b.finish().await;
}

/// A supervisor on a phone uploads a spreadsheet: the job page's progress bar follows
/// the job to its end, then lists the rows that failed and offers the result file.
#[tokio::test]
async fn supervisor_uploads_a_spreadsheet_on_a_phone() {
    let b = Browser::start("bulk", PHONE).await;
    b.sign_in("sup.tete").await;
    b.click("main a[data-module=bulk]").await;
    b.wait_for_path("/bulk").await;
    b.assert_no_sideways_scroll().await;
    b.assert_tap_targets("bulk").await;
    b.capture("bulk").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("workers.csv");
    let mut csv = String::from(
        "first_name,last_name,mobile_number,email,correspondence_address,employment_type,department,roles,jurisdictions\n",
    );
    for i in 0..300 {
        csv.push_str(&format!(
            "Nome{i},Apelido{i},84700{i:04},n{i}@example.org,Rua {i},CONTRACTUAL,NMCP,REGISTRAR,MZ-TETE-MOATIZE-ZOBUE\n"
        ));
    }
    // One row outside the supervisor's area: it fails alone.
    csv.push_str("Fora,Da,847999999,f@example.org,Rua,CONTRACTUAL,NMCP,REGISTRAR,MZ-NIASSA\n");
    std::fs::write(&file, csv).expect("writing the spreadsheet");
    let input = b.visible("#file").await;
    if let Err(e) = input.send_keys(&file.to_string_lossy()).await {
        fail!(b, "choosing the file: {e}");
    }
    b.select("#credential", "none").await;
    b.click("#bulk-form button[type=submit]").await;
    b.expect("#job-progress").await;
    if !b.path().await.starts_with("/bulk/jobs/") {
        fail!(b, "the upload should open its job's page");
    }
    b.capture("bulk-job").await;
    b.expect("#job-status[data-status=completed]").await;
    let value = b
        .js("const p = document.getElementById('job-progress'); return [p.value, p.max];")
        .await;
    if value != json!([301, 301]) {
        fail!(b, "the bar should be full at the end: {value}");
    }
    let errors = b.text("#job-errors").await;
    if !errors.contains("302") {
        fail!(
            b,
            "the Niassa row (302 in the spreadsheet) should be listed: {errors}"
        );
    }
    b.expect("#result-xlsx").await;
    b.assert_no_sideways_scroll().await;
    b.capture("bulk-job-done").await;
    b.finish().await;
}
