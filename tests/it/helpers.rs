//! Test harness: the real app on port 0, a fresh database per test (SQLite file in a
//! temp dir, or a new PostgreSQL database when MINIHOST_TEST_DATABASE_URL is set), and
//! cookie-keeping HTTP clients that fill in the CSRF token as a browser form would.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use minihost::config::Settings;
use minihost::startup::Application;
use regex::Regex;
use reqwest::{Response, StatusCode, multipart};

pub const OPERATOR_EMAIL: &str = "ops@example.com";
pub const OPERATOR_PASSWORD: &str = "operator-password-1";
pub const PASSWORD: &str = "applicant-password-1";

/// A valid 1×1 PNG.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

static CSRF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"name="csrf_token" value="([^"]+)""#).unwrap());

pub struct TestApp {
    pub base: String,
    pub pool: minihost::db::DbPool,
    _dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
    database_url: String,
    extra: Vec<(String, String)>,
    stopper: minihost::startup::Stopper,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The instance's platform service, for tests that call WeChat through it directly.
    pub platform: std::sync::Arc<minihost::services::platform::Platform>,
    /// The settings it was started with (for a second instance on the same database).
    env: HashMap<String, String>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Starts the app with extra environment-style settings.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, pg) = fresh_database(&dir);
        Self::start(dir, database_url, pg, extra).await
    }

    async fn start(
        dir: tempfile::TempDir,
        database_url: String,
        pg: Option<PgDatabase>,
        extra: &[(&str, &str)],
    ) -> Self {
        let mut env: HashMap<String, String> = HashMap::from([
            ("MINIHOST_BIND".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database_url.clone()),
            ("MINIHOST_DATA_DIR".into(), dir.path().join("data").display().to_string()),
            ("MINIHOST_OPERATOR_EMAIL".into(), OPERATOR_EMAIL.into()),
            ("MINIHOST_OPERATOR_PASSWORD".into(), OPERATOR_PASSWORD.into()),
            // Every test's browsers come from 127.0.0.1: the sign-up limit per address is
            // lifted here, and set by the tests of the limit themselves.
            ("MINIHOST_SIGNUPS_PER_IP_PER_HOUR".into(), "1000".into()),
        ]);
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        let app = Application::build(settings).await.expect("the app starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let pool = app.pool().clone();
        let stopper = app.stopper();
        let platform = app.platform();
        let running = Some(tokio::spawn(app.run_until_stopped()));
        let extra = extra.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        Self { base, pool, _dir: dir, pg, database_url, extra, stopper, running, platform, env }
    }

    /// Stops the server and its job worker as SIGTERM would, and waits until both have ended.
    pub async fn stop(&mut self) {
        self.stopper.stop().await;
        if let Some(running) = self.running.take() {
            running.await.expect("the server task ends").expect("the server stops cleanly");
        }
    }

    /// Stops the job worker alone; the server goes on answering (`/readyz` says 503).
    pub fn stop_worker(&self) {
        self.stopper.stop_worker();
    }

    /// Stops this app and starts a new process on the same database and data directory
    /// (a new port), as a restart would.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        let pg = self.pg.take();
        let mut extra: Vec<(String, String)> = std::mem::take(&mut self.extra);
        // The same address, so links handed out before the restart (redirect_uri) still work.
        extra.push(("MINIHOST_BIND".into(), self.base.trim_start_matches("http://").to_string()));
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let url = self.database_url.clone();
        drop(self);
        Self::start(dir, url, pg, &extra).await
    }

    /// Another console process on the same database and secret key (its own port and
    /// its own mounted sandbox, which shares the sandbox's tables).
    pub async fn second_instance(&self) -> TestApp {
        self.second_instance_with(&[]).await
    }

    /// A second instance with some settings changed.
    pub async fn second_instance_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut env = self.env.clone();
        env.insert("MINIHOST_BIND".into(), "127.0.0.1:0".into());
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        let app = Application::build(settings).await.expect("the second instance starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let (pool, stopper, platform) = (app.pool().clone(), app.stopper(), app.platform());
        let running = Some(tokio::spawn(app.run_until_stopped()));
        TestApp {
            base,
            pool,
            _dir: tempfile::tempdir().unwrap(),
            pg: None,
            database_url: self.database_url.clone(),
            extra: Vec::new(),
            stopper,
            running,
            platform,
            env,
        }
    }

    /// The settings this instance was started with, for another process on the same
    /// database and secret key (`minihost serve` started by a test).
    pub fn process_env(&self) -> HashMap<String, String> {
        let mut env = self.env.clone();
        env.insert("MINIHOST_BIND".into(), "127.0.0.1:0".into());
        env
    }

    /// A new browser: its own cookies and CSRF token.
    pub fn browser(&self) -> Browser {
        self.browser_with_language("en")
    }

    pub fn browser_with_language(&self, lang: &str) -> Browser {
        self.browser_with(lang, None)
    }

    /// A browser that sends this User-Agent.
    pub fn browser_with_agent(&self, user_agent: &str) -> Browser {
        self.browser_with("en", Some(user_agent))
    }

    fn browser_with(&self, lang: &str, user_agent: Option<&str>) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT_LANGUAGE, lang.parse().unwrap());
        if let Some(ua) = user_agent {
            headers.insert(reqwest::header::USER_AGENT, ua.parse().unwrap());
        }
        let client = reqwest::Client::builder().cookie_provider(jar.clone()).default_headers(headers).build().unwrap();
        Browser { base: self.base.clone(), client, jar, csrf: Mutex::new(None) }
    }

    /// Runs a query against the app's database.
    pub fn db<T>(&self, f: impl FnOnce(&mut minihost::db::DbConn) -> T) -> T {
        let mut conn = self.pool.get().unwrap();
        f(&mut conn)
    }

    /// Signs up a new applicant and takes the application through submission.
    pub async fn submitted_applicant(&self, email: &str, company: &str) -> Browser {
        let b = self.browser();
        b.sign_up(email, "Applicant").await;
        b.post("/apply/role", &[("role", "technical_merchant")]).await;
        let page = b.post_details(&[("company_name", company)], None).await;
        assert!(page.url().path().ends_with("/apply/review"), "details saved: {}", page.url());
        let status = b.post("/apply/submit", &[]).await;
        assert!(status.url().path().ends_with("/apply/status"));
        b
    }

    /// An applicant whose workspace has been approved; returns the browser and tenant id.
    pub async fn approved_tenant(&self, email: &str, company: &str) -> (Browser, String) {
        let applicant = self.submitted_applicant(email, company).await;
        let app_id = self.application_id_of(email);
        let op = self.operator().await;
        let page = op.post(&format!("/operator/applications/{app_id}/approve"), &[]).await;
        assert_eq!(page.status(), StatusCode::OK);
        let home = applicant.get("/").await;
        let tenant_id = home.url().path().trim_start_matches("/w/").to_string();
        assert!(home.url().path().starts_with("/w/"), "approved applicant lands in the workspace: {}", home.url());
        (applicant, tenant_id)
    }

    pub async fn operator(&self) -> Browser {
        let op = self.browser();
        let page = op.log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
        assert!(page.url().path().starts_with("/operator"), "operator lands on the queue");
        op
    }

    /// The e-mails queued to `to`, newest first.
    pub fn emails_to(&self, to: &str) -> Vec<minihost::db::models::OutboxEmail> {
        self.db(|c| minihost::db::outbox::list_recent(c, 500).unwrap())
            .into_iter()
            .filter(|m| m.to_address == to)
            .collect()
    }

    /// The path of the console link (`{public_url}{prefix}…`) in the newest e-mail to `to`
    /// that has one.
    pub fn link_in_email(&self, to: &str, prefix: &str) -> String {
        let pattern =
            Regex::new(&format!(r"{}({}[A-Za-z0-9_\-]+)", regex::escape(&self.base), regex::escape(prefix))).unwrap();
        self.emails_to(to)
            .iter()
            .find_map(|m| pattern.captures(&m.body_text).map(|c| c[1].to_string()))
            .unwrap_or_else(|| panic!("no e-mail to {to} with a link {prefix}…"))
    }

    pub fn application_id_of(&self, email: &str) -> String {
        self.db(|c| {
            let user = minihost::db::users::find_by_email(c, email).unwrap().unwrap();
            minihost::db::applications::find_for_user(c, &user.id).unwrap().unwrap().id
        })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(pg) = self.pg.take() {
            pg.drop_database();
        }
    }
}

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    csrf: Mutex<Option<String>>,
}

/// A response with its body read.
pub struct Page {
    status: StatusCode,
    url: reqwest::Url,
    pub body: String,
}

impl Page {
    pub fn status(&self) -> StatusCode {
        self.status
    }
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "expected {text:?} on {} ({}), got:\n{}", self.url, self.status, self.body);
    }
    #[track_caller]
    pub fn assert_lacks(&self, text: &str) {
        assert!(!self.body.contains(text), "did not expect {text:?} on {}", self.url);
    }
}

impl Browser {
    /// The same browser (cookies) pointed at another address, e.g. after a restart.
    pub fn moved_to(&self, base: &str) -> Browser {
        Browser { base: base.to_string(), client: self.client.clone(), jar: self.jar.clone(), csrf: Mutex::new(None) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Reads a response sent with this browser's client (keeping the page's CSRF token).
    pub async fn read_response(&self, resp: Response) -> Page {
        self.read(resp).await
    }

    async fn read(&self, resp: Response) -> Page {
        let status = resp.status();
        let url = resp.url().clone();
        let body = resp.text().await.unwrap();
        if let Some(c) = CSRF.captures(&body) {
            *self.csrf.lock().unwrap() = Some(c[1].to_string());
        }
        Page { status, url, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let resp = self.client.get(self.url(path)).send().await.unwrap();
        self.read(resp).await
    }

    pub async fn csrf(&self) -> String {
        if let Some(t) = self.csrf.lock().unwrap().clone() {
            return t;
        }
        self.get("/login").await;
        self.csrf.lock().unwrap().clone().expect("a page with a CSRF token")
    }

    /// Posts a form the way the page's own form would (with the CSRF token).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        let resp = self.client.post(self.url(path)).form(&all).send().await.unwrap();
        self.read(resp).await
    }

    /// Posts without any CSRF token, as a forged cross-site form would.
    pub async fn post_without_csrf(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self.client.post(self.url(path)).form(fields).send().await.unwrap();
        self.read(resp).await
    }

    /// Posts the business-details step (multipart, with an optional logo file).
    pub async fn post_details(&self, fields: &[(&str, &str)], logo: Option<(&str, &[u8])>) -> Page {
        let token = self.csrf().await;
        let mut form = multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some((name, bytes)) = logo {
            form = form.part("logo", multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()));
        }
        let resp = self
            .client
            .post(self.url(&format!("/apply/details?csrf_token={token}")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// Posts a multipart form with files (name, file name, bytes), the token in the query
    /// string as the page's own form sends it.
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Page {
        let token = self.csrf().await;
        let mut form = multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (name, file, bytes) in files {
            form = form.part(name.to_string(), multipart::Part::bytes(bytes.to_vec()).file_name(file.to_string()));
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        let resp =
            self.client.post(self.url(&format!("{path}{sep}csrf_token={token}"))).multipart(form).send().await.unwrap();
        self.read(resp).await
    }

    pub async fn sign_up(&self, email: &str, name: &str) -> Page {
        let page = self
            .post("/signup", &[("email", email), ("name", name), ("password", PASSWORD), ("accept_terms", "on")])
            .await;
        assert_eq!(page.status(), StatusCode::OK, "sign-up succeeds: {}", page.body);
        page
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Page {
        self.post("/login", &[("email", email), ("password", password)]).await
    }

    pub async fn log_out(&self) -> Page {
        self.post("/logout", &[]).await
    }

    /// The session cookie as the browser holds it.
    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find(|c| c.starts_with("minihost_session=")).map(str::to_string)
    }
}

// ---- databases ----

pub struct PgDatabase {
    #[allow(dead_code)]
    admin_url: String,
    #[allow(dead_code)]
    name: String,
}

impl PgDatabase {
    #[cfg(feature = "postgres")]
    fn drop_database(self) {
        use diesel::{Connection, RunQueryDsl};
        if let Ok(mut c) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut c);
        }
    }

    #[cfg(not(feature = "postgres"))]
    fn drop_database(self) {}
}

/// A database URL no other test uses.
pub fn fresh_database(dir: &tempfile::TempDir) -> (String, Option<PgDatabase>) {
    match std::env::var("MINIHOST_TEST_DATABASE_URL").ok().filter(|s| !s.is_empty()) {
        Some(admin_url) => {
            let name = format!("minihost_t_{}", uuid::Uuid::new_v4().simple());
            create_pg_database(&admin_url, &name);
            let url = replace_database(&admin_url, &name);
            (url, Some(PgDatabase { admin_url, name }))
        }
        None => (format!("sqlite://{}", dir.path().join("minihost.db").display()), None),
    }
}

#[cfg(feature = "postgres")]
fn create_pg_database(admin_url: &str, name: &str) {
    use diesel::{Connection, RunQueryDsl};
    let mut c = diesel::PgConnection::establish(admin_url).expect("MINIHOST_TEST_DATABASE_URL answers");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c).unwrap();
}

#[cfg(not(feature = "postgres"))]
fn create_pg_database(_: &str, _: &str) {
    panic!("MINIHOST_TEST_DATABASE_URL is set but the tests were built without --features postgres");
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}
