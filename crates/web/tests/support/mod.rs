//! The test application: the real router on 127.0.0.1:0 over a fresh database (SQLite
//! by default, PostgreSQL when CADRE_TEST_DATABASE_URL is set), with a clock the test
//! controls.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use cadre_service::settings::{Settings, SettingsConfig};
use cadre_service::users::NewUser;
use cadre_service::{Actor, Cadre, Clock, RequestMeta};
use cadre_store::db::DbOptions;
use cadre_store::sql::Sql;
use cadre_store::test_support::{fresh_database, TestDatabase};
use cadre_store::Db;
use cadre_web::WebConfig;

pub const PASSWORD: &str = "green mango 42";

pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        if let Ok(mut now) = self.0.lock() {
            *now += Duration::seconds(seconds);
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// The field names listed in a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The usernames of a list's `items`, in order.
    pub fn usernames(&self) -> Vec<String> {
        self.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn error_code_of(&self, field: &str) -> Option<String> {
        self.body["errors"]
            .as_array()?
            .iter()
            .find(|e| e["field"] == field)
            .map(|e| e["code"].as_str().unwrap_or("").to_owned())
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub cadre: Cadre,
    pub db: Db,
    pub clock: Arc<TestClock>,
    _database: TestDatabase,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(SettingsConfig::default(), WebConfig::default()).await
    }

    pub async fn with(settings: SettingsConfig, web: WebConfig) -> Self {
        Self::with_db(settings, web, DbOptions::default()).await
    }

    pub async fn with_db(mut settings: SettingsConfig, web: WebConfig, options: DbOptions) -> Self {
        // Tests sign in often from one address; the per-client limit has its own test.
        if settings.login.per_client_per_minute
            == SettingsConfig::default().login.per_client_per_minute
        {
            settings.login.per_client_per_minute = 100_000;
        }
        let database = fresh_database().await.unwrap();
        let db = Db::connect(&database.url, &options).await.unwrap();
        cadre_store::migrate::run(&db).await.unwrap();
        let clock = Arc::new(TestClock(Mutex::new(Utc::now())));
        let cadre = Cadre::new(
            db.clone(),
            Settings::from_config(settings).unwrap(),
            clock.clone(),
        );
        cadre.bootstrap().await.unwrap();
        let app = cadre_web::app(cadre.clone(), web);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Self {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            cadre,
            db,
            clock,
            _database: database,
        }
    }

    /// The URL of this test's database, for a second service on the same data.
    pub fn database_url(&self) -> String {
        self._database.url.clone()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::read(request.send().await.unwrap()).await
    }

    /// A call with extra request headers.
    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::read(request.send().await.unwrap()).await
    }

    pub async fn read(response: reqwest::Response) -> Response {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    pub async fn token(&self, username: &str) -> String {
        self.token_with(username, PASSWORD).await
    }

    pub async fn token_with(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login {username}: {}",
            response.body
        );
        response.body["token"].as_str().unwrap().to_owned()
    }

    /// Creates a user directly through the service as the console operator.
    pub async fn seed_user(
        &self,
        username: &str,
        roles: &[&str],
        jurisdictions: &[&str],
        first: &str,
        last: &str,
    ) -> String {
        let created = self
            .cadre
            .create_user(
                &Actor::local_operator(),
                &RequestMeta::default(),
                NewUser {
                    username: Some(username.into()),
                    password: Some(PASSWORD.into()),
                    first_name: Some(first.into()),
                    last_name: Some(last.into()),
                    email: Some(format!("{username}@example.org")),
                    correspondence_address: Some("Rua 1".into()),
                    employment_type: Some("CONTRACTUAL".into()),
                    department: Some("NMCP".into()),
                    roles: Some(roles.iter().map(|r| r.to_string()).collect()),
                    jurisdictions: Some(jurisdictions.iter().map(|r| r.to_string()).collect()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        created.user.id
    }

    pub async fn import_boundaries(&self, csv: &str) {
        let summary = self
            .cadre
            .import_boundaries(
                &Actor::local_operator(),
                &RequestMeta::default(),
                csv.as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(summary.failed, 0, "{:?}", summary.errors);
    }

    /// Runs SQL directly, for states no endpoint of this release produces.
    pub async fn sql(&self, text: &str) -> Result<u64, cadre_store::StoreError> {
        let mut tx = self.db.begin().await?;
        let n = Sql::new(text).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// The usernames a search answers, with its total checked against them.
pub async fn found(w: &World, token: &str, query: &str) -> Vec<String> {
    let r = w.app.get(&format!("/api/v1/users?{query}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.body);
    let names = r.usernames();
    assert_eq!(r.body["total"], names.len(), "{query}");
    names
}

/// The date `offset` days from the test clock's today, as the API writes dates.
pub fn day(app: &TestApp, offset: i64) -> String {
    (app.clock.now().date_naive() + Duration::days(offset)).to_string()
}

pub const COUNTRY: &str = "code,name,level,parent_code
MZ,Moçambique,COUNTRY,
TETE,Tete,PROVINCE,MZ
NIASSA,Niassa,PROVINCE,MZ
ANGONIA,Angónia,DISTRICT,TETE
MOATIZE,Moatize,DISTRICT,TETE
LICHINGA,Lichinga,DISTRICT,NIASSA
ULONGUE,Ulónguè,VILLAGE,ANGONIA
ZOBUE,Zóbuè,VILLAGE,MOATIZE
CHIUAULA,Chiuaula,VILLAGE,LICHINGA
";

/// A country with two provinces; an administrator, a supervisor of Tete, a national
/// helpdesk, and workers in each province and one straddling both.
pub struct World {
    pub app: TestApp,
    pub admin: String,
    pub sup_tete: String,
    pub helpdesk: String,
    pub admin_id: String,
    pub tete_worker: String,
    pub niassa_worker: String,
    pub straddler: String,
    pub nobody: String,
}

impl World {
    pub async fn new() -> Self {
        Self::with(SettingsConfig::default(), WebConfig::default()).await
    }

    pub async fn with(settings: SettingsConfig, web: WebConfig) -> Self {
        let app = TestApp::with(settings, web).await;
        app.import_boundaries(COUNTRY).await;
        let admin_id = app
            .seed_user("admin", &["SYSTEM_ADMIN"], &[], "Amélia", "Nhantumbo")
            .await;
        app.seed_user("sup.tete", &["SUPERVISOR"], &["TETE"], "Rosa", "Macuácua")
            .await;
        app.seed_user("helpdesk", &["HELPDESK"], &["MZ"], "Carlos", "Mondlane")
            .await;
        let tete_worker = app
            .seed_user("joao.lopes", &["REGISTRAR"], &["ULONGUE"], "João", "Lopes")
            .await;
        let niassa_worker = app
            .seed_user("ana.sitoe", &["REGISTRAR"], &["CHIUAULA"], "Ana", "Sitoe")
            .await;
        let straddler = app
            .seed_user(
                "tomas.bila",
                &["DISTRIBUTOR"],
                &["ZOBUE", "CHIUAULA"],
                "Tomás",
                "Bila",
            )
            .await;
        let nobody = app
            .seed_user("floating", &["REGISTRAR"], &[], "Flo", "Ating")
            .await;
        Self {
            admin: app.token("admin").await,
            sup_tete: app.token("sup.tete").await,
            helpdesk: app.token("helpdesk").await,
            app,
            admin_id,
            tete_worker,
            niassa_worker,
            straddler,
            nobody,
        }
    }
}

/// The text of the element with this id (up to its first tag).
pub fn text_of(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let open = body[start..].find('>')? + start + 1;
    let close = body[open..].find('<')? + open;
    Some(body[open..close].trim().to_owned())
}

/// A page as a browser received it.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub html: String,
    /// Every `Set-Cookie` of the answer, as sent.
    pub set_cookies: Vec<String>,
}

impl Page {
    /// The value this answer set for the cookie `name`, if it set one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies.iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    }
}

/// A browser: the session cookie, no redirects followed, optionally a language.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

impl Browser {
    pub fn new(app: &TestApp, token: &str, lang: Option<&str>) -> Self {
        let mut cookie = format!("cadre_session={token}");
        if let Some(lang) = lang {
            cookie.push_str(&format!("; cadre_lang={lang}"));
        }
        Self::with_cookie(app, cookie, cadre_web::ui::session::csrf_for(token))
    }

    /// A browser sending exactly `cookie` (whatever it holds) and `csrf` in its forms.
    pub fn with_cookie(app: &TestApp, cookie: String, csrf: String) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookie,
            csrf,
        }
    }

    pub async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Page {
            status,
            location,
            html: response.text().await.unwrap(),
            set_cookies,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(
            self.client
                .get(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Posts an urlencoded form; `_csrf` is added unless `with_csrf` is false.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], with_csrf: bool) -> Page {
        let mut all: Vec<(&str, &str)> = Vec::new();
        if with_csrf {
            all.push(("_csrf", &self.csrf));
        }
        all.extend_from_slice(fields);
        Self::read(
            self.client
                .post(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .form(&all)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        Self::read(
            self.client
                .post(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}
