//! Threat: login throttling used against the owner (a lockout from anywhere), as an oracle of
//! which addresses have accounts, or dodged with a forged `X-Forwarded-For`.

use reqwest::StatusCode;
use serde_json::json;

use super::{is_throttled, post_from};
use crate::support::fixtures::unique_email;
use crate::support::{expect_json, expect_problem, TestApp, TestDb};

const RIGHT: &str = "correct horse battery staple";

/// The test server's peer is 127.0.0.1: trusting it lets a test speak as any client address.
async fn behind_a_proxy() -> TestApp {
    TestApp::spawn_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".to_owned()].try_into().expect("valid");
    })
    .await
}

async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> reqwest::Response {
    post_from(
        app,
        client,
        "/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

#[tokio::test]
async fn an_attacker_from_one_address_cannot_lock_out_the_owner_from_another() {
    let app = behind_a_proxy().await;
    let admin = app.user("admin").await;
    let attacker = "198.51.100.66";
    let per_pair = app.settings.auth.max_failed_logins_per_account_and_client;
    for i in 0..per_pair * 4 {
        let res = login_from(&app, attacker, &admin.email, "guess").await;
        if i < per_pair {
            expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        } else {
            assert!(is_throttled(&res), "attempt {i}: {}", res.status());
        }
    }
    // The attacker, even with the password, stays throttled...
    assert!(is_throttled(
        &login_from(&app, attacker, &admin.email, RIGHT).await
    ));
    // ...while the owner, from their own address, logs in.
    let res = login_from(&app, "203.0.113.10", &admin.email, RIGHT).await;
    let body = expect_json(res, StatusCode::OK).await;
    assert_eq!(body["user"]["role"], "admin");
}

#[tokio::test]
async fn known_and_unknown_addresses_are_throttled_alike() {
    let app = behind_a_proxy().await;
    let known = app.user("member").await.email;
    let unknown = unique_email("nobody");
    let per_pair = app.settings.auth.max_failed_logins_per_account_and_client;
    let mut answers = Vec::new();
    for (client, email) in [("192.0.2.1", &known), ("192.0.2.2", &unknown)] {
        let mut seen = Vec::new();
        for _ in 0..=per_pair {
            let res = login_from(&app, client, email, "guess").await;
            let status = res.status();
            let throttled = is_throttled(&res);
            let body: serde_json::Value = res.json().await.expect("problem");
            seen.push((status, throttled, body["code"].clone()));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    let last = answers[0].last().expect("answers");
    assert_eq!(last.0, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.1, "429 with Retry-After");
}

#[tokio::test]
async fn a_forged_forwarded_for_is_ignored_from_an_untrusted_peer() {
    // No trusted proxies (the default): the TCP peer is the client, whatever the header says.
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let per_pair = app.settings.auth.max_failed_logins_per_account_and_client;
    for i in 0..per_pair {
        let forged = format!("203.0.113.{i}");
        let res = login_from(&app, &forged, &user.email, "guess").await;
        expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let res = login_from(&app, "203.0.113.200", &user.email, "guess").await;
    assert!(is_throttled(&res), "{}", res.status());
}

#[tokio::test]
async fn a_trusted_proxy_is_believed_for_the_right_most_untrusted_address_only() {
    let app = behind_a_proxy().await;
    let user = app.user("member").await;
    let per_pair = app.settings.auth.max_failed_logins_per_account_and_client;
    // The client forges the left of the header; the proxy appended the real address.
    for i in 0..per_pair {
        let header = format!("10.0.0.{i}, 198.51.100.7");
        let res = login_from(&app, &header, &user.email, "guess").await;
        expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let res = login_from(&app, "10.9.9.9, 198.51.100.7", &user.email, "guess").await;
    assert!(is_throttled(&res), "{}", res.status());
    // Another client behind the same proxy has a throttle of its own, and logs in.
    let res = login_from(&app, "198.51.100.8", &user.email, RIGHT).await;
    expect_json(res, StatusCode::OK).await;
}

#[tokio::test]
async fn one_client_spraying_many_addresses_is_throttled_and_others_are_not() {
    let app = TestApp::spawn_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".to_owned()].try_into().expect("valid");
        s.auth.max_failed_logins_per_client = 6;
    })
    .await;
    let user = app.user("member").await;
    for _ in 0..6 {
        let res = login_from(&app, "198.51.100.1", &unique_email("spray"), "guess").await;
        expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let res = login_from(&app, "198.51.100.1", &unique_email("spray"), "guess").await;
    assert!(is_throttled(&res));
    // The legitimate user elsewhere is untouched.
    let res = login_from(&app, "198.51.100.2", &user.email, RIGHT).await;
    expect_json(res, StatusCode::OK).await;
}

/// Starts `convene serve` with its log in a file; answers the base URL, the process and the log.
async fn serve_with_log(
    db: &TestDb,
    env: &[(&str, &str)],
) -> (String, tokio::process::Child, std::path::PathBuf) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let log_path =
        std::env::temp_dir().join(format!("convene-log-{}.txt", uuid::Uuid::now_v7().simple()));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_convene"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CONVENE") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    command
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info")
        .env("CONVENE__APP__ENVIRONMENT", "test")
        .env("CONVENE__DATABASE__URL", &db.url)
        .env("CONVENE__SERVER__PORT", port.to_string())
        .env("CONVENE__EMAIL__TRANSPORT", "log")
        .env("CONVENE__WORKER__ENABLED", "false")
        .envs(env.iter().copied())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .kill_on_drop(true);
    let server = command.spawn().expect("start convene serve");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while reqwest::get(format!("{base}/health/ready"))
        .await
        .map_or(true, |r| r.status() != StatusCode::OK)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "convene serve did not become ready:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (base, server, log_path)
}

/// A failed login, said to be forwarded for `forwarded_for`; answers the log afterwards.
async fn failed_login_logged(
    base: &str,
    log_path: &std::path::Path,
    forwarded_for: &str,
) -> String {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": unique_email("logged"), "password": "guess"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    let _ = std::fs::remove_file(log_path);
    log
}

#[tokio::test]
async fn the_log_names_the_client_the_throttles_see() {
    let db = TestDb::create().await;
    // Untrusted peer: a forged header does not reach the log.
    let (base, mut server, log_path) = serve_with_log(&db, &[]).await;
    let log = failed_login_logged(&base, &log_path, "203.0.113.98").await;
    server.kill().await.expect("stop");
    assert!(log.contains("client_ip"), "{log}");
    assert!(!log.contains("203.0.113.98"), "{log}");
    // Behind a trusted proxy: the forwarded client does.
    let (base, mut server, log_path) =
        serve_with_log(&db, &[("CONVENE__SERVER__TRUSTED_PROXIES", "127.0.0.1")]).await;
    let log = failed_login_logged(&base, &log_path, "198.51.100.1, 203.0.113.99").await;
    server.kill().await.expect("stop");
    assert!(log.contains("203.0.113.99"), "{log}");
    assert!(!log.contains("198.51.100.1"), "{log}");
}
