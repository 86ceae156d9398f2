//! The test harness: a real server on a random port, a fresh database per test cloned from a
//! migrated template, and a real SMTP server whose messages the test reads.
#![allow(dead_code)]

pub mod browser;
pub mod fixtures;
pub mod pg_cluster;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use convene::app::Application;
use convene::config::Settings;
use convene::db::DbPool;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use smtp::SmtpServer;

pub fn server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@localhost:5432".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The template's name carries a hash of the migrations, so a changed migration makes a new one.
fn template_name() -> String {
    use sha2::{Digest, Sha256};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    let mut hasher = Sha256::new();
    for path in entries {
        // Relative to the migrations folder: every checkout of the same migrations shares one.
        let relative = path.strip_prefix(&dir).unwrap_or(&path);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&path).expect("read migration"));
    }
    let digest = hasher.finalize();
    format!("convene_template_{}", hex(&digest[..6]))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("read migrations dir")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn admin_connection() -> AsyncPgConnection {
    AsyncPgConnection::establish(&database_url("postgres"))
        .await
        .expect("PostgreSQL must run on localhost (or set DATABASE_URL)")
}

/// Migrates the template once per set of migrations; test processes take turns under a lock.
async fn ensure_template() -> String {
    let name = template_name();
    let mut conn = admin_connection().await;
    conn.batch_execute("SELECT pg_advisory_lock(424242)")
        .await
        .expect("lock");
    let exists = exists(&mut conn, &name).await;
    if !exists {
        let building = format!("{name}_build");
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop stale build");
        conn.batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .expect("create template");
        convene::db::run_migrations(&database_url(&building))
            .await
            .expect("migrate template");
        conn.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .await
            .expect("rename template");
    }
    conn.batch_execute("SELECT pg_advisory_unlock(424242)")
        .await
        .expect("unlock");
    name
}

async fn exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<N>(conn)
        .await
        .expect("query pg_database")
        .n
        > 0
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let template = ensure_template().await;
        let name = format!("convene_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = admin_connection().await;
        conn.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create test database");
        TestDb {
            url: database_url(&name),
            name,
        }
    }

    /// An empty database (no migrations), for tests of migrating itself.
    pub async fn create_empty() -> TestDb {
        let name = format!("convene_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = admin_connection().await;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        TestDb {
            url: database_url(&name),
            name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async: use a small runtime of our own on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut conn = admin_connection().await;
                let _ = conn
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join();
    }
}

pub fn test_settings(db: &TestDb, smtp: &SmtpServer) -> Settings {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::load_environment(&dir, "test").expect("test settings");
    settings.server.port = 0;
    settings.database.url = SecretString::from(db.url.clone());
    settings.database.max_connections = 8;
    settings.email.smtp_url = SecretString::from(smtp.url());
    settings
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub smtp: SmtpServer,
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    server: actix_web::dev::ServerHandle,
    worker: Option<tokio::sync::watch::Sender<bool>>,
    // Last: dropped after the server stops using it.
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with adjusted settings (e.g. `worker.enabled = false`).
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDb::create().await;
        let smtp = SmtpServer::start().await;
        let mut settings = test_settings(&db, &smtp);
        adjust(&mut settings);
        let settings = Arc::new(settings);
        let pool = convene::db::build_pool(&settings.database).expect("pool");
        let worker = if settings.worker.enabled {
            let (stop, _handle) =
                convene::runtime::spawn_worker(pool.clone(), &settings).expect("worker");
            Some(stop)
        } else {
            None
        };
        let app = Application::build(settings.clone(), pool.clone()).expect("build app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let server = app.handle();
        tokio::spawn(app.run_until_stopped());
        // The server closes a keep-alive connection idle for 5 s; a client that reuses one just
        // as it is closed gets `IncompleteMessage` (seen once in CI, in the 500-confirmation
        // test). Idle connections are given up well before that.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        TestApp {
            address,
            client,
            smtp,
            pool,
            settings,
            server,
            worker,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// `path` is under /api/v1 unless it starts with `/api`, `/health` or is a page.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.address, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.api(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Creates an account with `role` straight through the service (verified email, joined to
    /// its person) and logs it in over HTTP.
    pub async fn user(&self, role: &str) -> TestUser {
        let email = format!("{role}-{}@example.org", uuid::Uuid::now_v7().simple());
        self.user_with_email(role, &email, "Test User").await
    }

    pub async fn user_with_email(&self, role: &str, email: &str, name: &str) -> TestUser {
        let state = convene::context::Context::new(self.pool.clone(), self.settings.clone());
        let password = "correct horse battery staple";
        let role: convene::auth::model::Role = role.parse().expect("role");
        let (account, person) = convene::auth::signup::create_account(
            &state,
            convene::auth::signup::NewAccountInput {
                email: convene::people::EmailAddress::parse(email).expect("email"),
                name: name.to_owned(),
                password: convene::auth::password::Password::parse(SecretString::from(
                    password.to_owned(),
                ))
                .expect("password"),
                role,
            },
        )
        .await
        .expect("create account");
        let token = self.login(email, password).await;
        TestUser {
            account_id: account.id.to_string(),
            person_id: person.id.to_string(),
            email: person.email,
            token,
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self
            .post(
                "/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        let body: Value = res.json().await.expect("login json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Runs SQL against this test's database (for setting up clocks, inspecting rows).
    pub async fn sql(&self, statement: &str) {
        let mut conn = AsyncPgConnection::establish(&self.db.url)
            .await
            .expect("connect");
        conn.batch_execute(statement).await.expect("sql");
    }

    pub fn database_url(&self) -> SecretString {
        SecretString::from(self.settings.database.url.expose_secret().to_owned())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = &self.worker {
            let _ = stop.send(true);
        }
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}

pub struct TestUser {
    pub account_id: String,
    pub person_id: String,
    pub email: String,
    pub token: String,
}

impl TestUser {
    pub fn token(&self) -> Option<&str> {
        Some(&self.token)
    }
}

/// Reads a response as JSON, asserting its status first (with the body in the message).
pub async fn expect_json(res: Response, status: StatusCode) -> Value {
    let actual = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = res.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if actual.is_client_error() || actual.is_server_error() {
        assert!(
            content_type.starts_with("application/problem+json"),
            "errors are problem+json, got {content_type}: {text}"
        );
    }
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

/// Asserts a problem+json with this status and code; returns the body.
pub async fn expect_problem(res: Response, status: StatusCode, code: &str) -> Value {
    let body = expect_json(res, status).await;
    assert_eq!(body["code"], code, "problem code; body: {body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}
