//! `spawn_app`: a real server on port 0 with its own database, on either backend.

use std::sync::OnceLock;

use diesel::prelude::*;
use livecredit::app::Application;
use livecredit::config::{DatabaseUrl, Secret, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@livecredit.test";
pub const PASSWORD: &str = "correct horse battery staple";

/// The longest an instance's screening index and token-holder cache may lag
/// behind a change committed elsewhere — by another instance, or through
/// another pool such as a test's own `db()` (`index::MAX_STALENESS`), with a
/// margin for the clock.
pub const STALENESS: std::time::Duration = std::time::Duration::from_millis(1100);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub database_url: DatabaseUrl,
    pub admin_token: String,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

/// The PostgreSQL server to test against, if one answers.
pub fn postgres_admin_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let url = std::env::var("LIVECREDIT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        match PgConnection::establish(&url) {
            Ok(_) => Some(url),
            Err(e) => {
                if std::env::var("LIVECREDIT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("LIVECREDIT_REQUIRE_POSTGRES=1 but PostgreSQL at {url} does not answer: {e}");
                }
                eprintln!("PostgreSQL at {url} does not answer ({e}); skipping the PostgreSQL half of the tests");
                None
            }
        }
    })
    .clone()
}

/// A database of its own for one test, dropped afterwards.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create(admin_url: &str) -> Self {
        let name = format!("lc_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
            .execute(&mut conn)
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(admin_url);
        Self {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// Drops the database now, cutting off every connection to it.
    pub fn drop_now(&self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        self.drop_now();
    }
}

pub fn settings_for(database_url: DatabaseUrl, dir: &std::path::Path) -> Settings {
    Settings {
        database_url,
        database_read_urls: Vec::new(),
        read_max_lag: std::time::Duration::from_secs(2),
        upkeep_every: std::time::Duration::from_secs(60),
        bind: "127.0.0.1:0".into(),
        data_dir: dir.join("data"),
        evidence_dir: dir.join("data").join("evidence"),
        admin_email: Some(ADMIN_EMAIL.into()),
        admin_password: Some(PASSWORD.into()),
        jwt_secret: Secret::new(b"test-jwt-secret-of-at-least-32-bytes!".to_vec()),
        id_pepper: Secret::new(b"test-id-pepper-of-at-least-32-bytes!!".to_vec()),
        calendar_path: None,
        rate_limit_per_org: 0,
        // Limits off, as in the benchmarks: tests that need one turn it on.
        public_rate_limit: 0,
        public_id_queries_per_hour: 0,
        screening_retention_days: 1095,
        webhook_allow_private: true,
        // The tests speak plain HTTP.
        cookie_secure: false,
        db_pool_size: 8,
        signing_key: None,
        cors_origins: Vec::new(),
        trusted_proxies: Vec::new(),
    }
}

/// Starts a server on `backend`, or returns None when PostgreSQL is not
/// available (and not required).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with settings adjusted by `configure`.
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, pg) = match backend {
        Backend::Sqlite => (DatabaseUrl::Sqlite(dir.path().join("test.db")), None),
        Backend::Postgres => {
            let pg = PgDatabase::create(&postgres_admin_url()?);
            (DatabaseUrl::Postgres(pg.url.clone()), Some(pg))
        }
    };
    let mut settings = settings_for(database_url.clone(), dir.path());
    configure(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://{}", app.address());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut app = TestApp {
        address,
        client,
        backend,
        database_url,
        admin_token: String::new(),
        _dir: dir,
        _pg: pg,
    };
    app.admin_token = app.login(ADMIN_EMAIL, PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Some(app)
}

impl TestApp {
    /// A second instance of the service on the same database (its own data
    /// folder and memory), as when several run behind a load balancer.
    pub async fn second_instance(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = settings_for(self.database_url.clone(), dir.path());
        let app = Application::build(settings).await.expect("build app");
        let address = format!("http://{}", app.address());
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: self.client.clone(),
            backend: self.backend,
            database_url: self.database_url.clone(),
            admin_token: self.admin_token.clone(),
            _dir: dir,
            _pg: None,
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn pg(&self) -> Option<&PgDatabase> {
        self._pg.as_ref()
    }

    /// Sends a request with an optional token and JSON body; parses any JSON reply.
    pub async fn call(
        &self,
        method: Method,
        path: impl AsRef<str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path.as_ref()));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: impl AsRef<str>, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: impl AsRef<str>, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: impl AsRef<str>, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Value {
        let reply = self.try_login(email, password).await;
        assert_eq!(reply.status, 200, "login {email}: {:?}", reply.body);
        reply.body
    }

    pub async fn create_org(&self, name: &str, kind: &str) -> String {
        let r = self
            .post(
                "/v1/organizations",
                &self.admin_token,
                json!({"name": name, "kind": kind}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a user in a new organization of the fitting kind; returns (user id, access token).
    pub async fn user_with_role(&self, role: &str) -> (String, String) {
        let kind = match role {
            "platform" => "platform",
            "auditor" => "consumer_association",
            _ => "regulator",
        };
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let org = self.create_org(&format!("{role} org {suffix}"), kind).await;
        self.user_in(&org, role).await
    }

    /// Two regulators of one bureau: (id, token) each. The procedure needs
    /// two officials of the authority (one proposes, the other decides).
    pub async fn two_officials(&self) -> ((String, String), (String, String)) {
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let org = self
            .create_org(&format!("bureau {suffix}"), "regulator")
            .await;
        (
            self.user_in(&org, "regulator").await,
            self.user_in(&org, "regulator").await,
        )
    }

    /// The head of the official's bureau (`can_approve`): (id, token).
    pub async fn head_of(&self, official: &str) -> (String, String) {
        let org = self.get("/v1/me", official).await.body["organization_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let email = format!("head-{suffix}@livecredit.test");
        let r = self
            .post(
                "/v1/users",
                &self.admin_token,
                json!({"email": email, "password": PASSWORD, "role": "regulator",
                    "organization_id": org, "can_approve": true}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let token = self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (r.body["id"].as_str().unwrap().to_owned(), token)
    }

    /// Takes a listing whose first anniversary has passed through an
    /// in-person repair application recorded by `official`, its acceptance and
    /// its approval by the head of the bureau; answers the application.
    pub async fn approved_repair(&self, official: &str, listing: &str) -> Value {
        let (_, head) = self.head_of(official).await;
        let applied = self
            .post(
                format!("/v1/listings/{listing}/repairs"),
                official,
                json!({"statement": "已缴纳罚款并完成整改",
                    "commitment": {"text": "本人承诺诚信经营", "signed_on": "2026-01-05"},
                    "penalty_fulfilled": true, "harm_removed": true}),
            )
            .await;
        assert_eq!(applied.status, 201, "{:?}", applied.body);
        let id = applied.body["id"].as_str().unwrap().to_owned();
        let accepted = self
            .post(
                format!("/v1/repairs/{id}/acceptance"),
                official,
                json!({"outcome": "accept"}),
            )
            .await;
        assert_eq!(accepted.status, 200, "{:?}", accepted.body);
        let decided = self
            .post(
                format!("/v1/repairs/{id}/decision"),
                &head,
                json!({"outcome": "approve", "reason": "整改到位"}),
            )
            .await;
        assert_eq!(decided.status, 200, "{:?}", decided.body);
        decided.body
    }

    /// A user with `role` in the organization `org`: (id, token).
    pub async fn user_in(&self, org: &str, role: &str) -> (String, String) {
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let email = format!("{role}-{suffix}@livecredit.test");
        let r = self
            .post(
                "/v1/users",
                &self.admin_token,
                json!({"email": email, "password": PASSWORD, "role": role, "organization_id": org}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let token = self.login(&email, PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        (r.body["id"].as_str().unwrap().to_owned(), token)
    }
}

/// Asserts a problem+json answer with the given status.
pub fn assert_problem(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "body: {:?}", reply.body);
    let content_type = reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(content_type, "application/problem+json", "status {status}");
    assert_eq!(reply.body["status"], status);
    assert!(
        reply.body["type"].is_string()
            && reply.body["title"].is_string()
            && reply.body["detail"].is_string()
    );
}

/// Asserts a 422 whose `errors` name `field`.
pub fn assert_invalid_field(reply: &Reply, field: &str) {
    assert_problem(reply, 422);
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert!(fields.contains(&field), "expected {field} among {fields:?}");
}

/// Runs one async test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                $body(app).await;
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) =
                    $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await
                {
                    $body(app).await;
                }
            }
        }
    };
}

/// A valid 18-character resident ID built from its first 17 characters.
pub fn resident_id(first17: &str) -> String {
    let c = livecredit::domain::identifiers::ResidentId::check_char(first17).expect("17 digits");
    format!("{first17}{c}")
}

/// A valid USCC built from its first 17 characters.
pub fn uscc(first17: &str) -> String {
    let c = livecredit::domain::identifiers::Uscc::check_char(first17).expect("17 USCC characters");
    format!("{first17}{c}")
}

impl TestApp {
    /// Registers a subject as `token`'s regulator; returns its id.
    pub async fn create_subject(&self, token: &str, body: Value) -> String {
        let r = self.post("/v1/subjects", token, body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Records a violation; returns its id.
    pub async fn record_violation(&self, token: &str, subject_id: &str, body: Value) -> String {
        let r = self
            .post(
                &format!("/v1/subjects/{subject_id}/violations"),
                token,
                body,
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Runs SQL directly against the test's database (for tamper tests).
    pub fn execute_sql(&self, sql: &str) -> usize {
        use diesel::RunQueryDsl;
        match &self.database_url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
                // The server may be writing (background upkeep): wait for it as it waits for us.
                diesel::sql_query("PRAGMA busy_timeout = 10000")
                    .execute(&mut conn)
                    .unwrap();
                diesel::sql_query(sql).execute(&mut conn).unwrap()
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url).unwrap();
                diesel::sql_query(sql).execute(&mut conn).unwrap()
            }
        }
    }
}

impl TestApp {
    /// A handle on the test's database, for calling library functions directly.
    /// Records in the change stream that these subjects changed, as the
    /// services do with every write, after a test changed their rows with
    /// SQL; then waits until every instance's screening index has followed.
    pub async fn touch_subjects(&self, subject_ids: &[&str]) {
        let db = self.db();
        let mut conn = db.conn().unwrap();
        livecredit::db::changes::touch(&mut conn, livecredit::db::changes::SUBJECT, subject_ids)
            .unwrap();
        drop(conn);
        tokio::time::sleep(STALENESS).await;
    }

    pub fn db(&self) -> livecredit::db::Db {
        livecredit::db::Db::open(&self.database_url, 2).expect("open the test database")
    }
}

impl TestApp {
    /// Registers `subject` and takes it through the procedure to an active
    /// listing (an aggravated fine for false advertising, Order 44 art. 9
    /// item 5, decided 2026-06-01; notice the same day; decided 2026-06-09
    /// by `b`, a second official of `a`'s bureau); returns (subject, listing).
    pub async fn publish_listing(&self, a: &str, b: &str, subject: Value) -> (String, String) {
        let subject_id = self.create_subject(a, subject).await;
        let listing = self.list_subject(a, b, &subject_id).await;
        (subject_id, listing)
    }

    /// Takes a registered subject through the procedure as [`Self::publish_listing`]
    /// does; returns the listing's id.
    pub async fn list_subject(&self, a: &str, b: &str, subject_id: &str) -> String {
        let subject_id = subject_id.to_owned();
        let violation = self
            .record_violation(
                a,
                &subject_id,
                json!({"category": "false_advertising", "severity": "serious",
                    "decided_on": "2026-06-01", "description": "夸大宣传",
                    "penalty_kinds": ["fine_aggravated"], "listing_ground": "art9.5"}),
            )
            .await;
        let r = self
            .post(
                "/v1/listings",
                a,
                json!({"subject_id": subject_id, "violation_ids": [violation],
                    "reason": "直播间虚假宣传", "legal_basis": "《反不正当竞争法》第八条"}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let listing = r.body["id"].as_str().unwrap().to_owned();
        self.post(
            format!("/v1/listings/{listing}/notice"),
            a,
            json!({"served_on": "2026-06-01"}),
        )
        .await;
        let decided = self
            .post(
                format!("/v1/listings/{listing}/decision"),
                b,
                json!({"outcome": "list", "reason": "r", "decided_on": "2026-06-09"}),
            )
            .await;
        assert_eq!(decided.body["status"], "listed", "{:?}", decided.body);
        listing
    }
}

/// A browser as the portal and the console see it: its cookies, kept by hand.
#[derive(Default)]
pub struct Browser {
    pub cookies: std::collections::BTreeMap<String, String>,
}

/// One answer of the portal: status, headers, HTML.
pub struct PageReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> PageReply {
        let res = req
            .header("cookie", self.header())
            .send()
            .await
            .expect("request");
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        PageReply {
            status,
            headers,
            html: res.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&mut self, app: &TestApp, path: &str) -> PageReply {
        self.send(app.client.get(app.url(path))).await
    }

    pub async fn post(&mut self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> PageReply {
        self.send(app.client.post(app.url(path)).form(form)).await
    }

    /// The CSRF token of the last form served.
    pub fn csrf(page: &PageReply) -> String {
        let at = page
            .html
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &page.html[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Browser {
    /// A `multipart/form-data` form, as a browser sends one with files:
    /// `files` are (field, file name, content type, bytes).
    pub async fn post_multipart(
        &mut self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> PageReply {
        let boundary = format!("----livecredit{}", uuid::Uuid::now_v7().simple());
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, filename, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = app
            .client
            .post(app.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }
}
