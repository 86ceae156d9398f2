//! PostgreSQL restarted under a running server: readiness fails, requests get a prompt 503
//! problem (none hang), and everything recovers by itself with nothing lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;

use crate::support::pg_cluster::PgCluster;
use crate::support::smtp::SmtpServer;
use crate::support::{expect_json, expect_problem};

#[tokio::test]
async fn server_survives_a_postgresql_restart() {
    let cluster = PgCluster::start_new();
    let smtp = SmtpServer::start().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = convene::config::Settings::load_environment(&dir, "test").expect("settings");
    settings.server.port = 0;
    settings.database.url = SecretString::from(cluster.url("convene"));
    settings.database.acquire_timeout_secs = 2;
    settings.email.smtp_url = SecretString::from(smtp.url());
    let settings = Arc::new(settings);
    let pool = convene::runtime::prepare_database(&settings)
        .await
        .expect("database");
    let (stop_worker, _) = convene::runtime::spawn_worker(pool.clone(), &settings).expect("worker");
    let app = convene::app::Application::build(settings.clone(), pool).expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");

    let signup = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": "hoshino@example.org", "password": "a long enough password", "name": "Hoshino"}))
        .send()
        .await
        .expect("signup");
    expect_json(signup, StatusCode::ACCEPTED).await;

    cluster.stop();
    let started = Instant::now();
    let ready = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .expect("answers, no hang");
    expect_problem(
        ready,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "hoshino@example.org", "password": "a long enough password"}))
        .send()
        .await
        .expect("answers, no hang");
    let problem = expect_problem(
        login,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap_or("")
        .contains("try again"));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "requests during the outage must not hang"
    );

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .expect("ready");
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readiness did not recover after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "hoshino@example.org", "password": "a long enough password"}))
        .send()
        .await
        .expect("login");
    let body = expect_json(login, StatusCode::OK).await;
    assert_eq!(
        body["user"]["email"], "hoshino@example.org",
        "the account made before the restart is still there"
    );

    let _ = stop_worker.send(true);
    handle.stop(false).await;
}
