//! Threat: login throttling used against the owner (a lockout from anywhere), as an oracle of
//! which addresses have accounts, or dodged with a forged `X-Forwarded-For`.

use reqwest::StatusCode;
use serde_json::json;

use super::{is_throttled, post_from};
use crate::support::fixtures::unique_email;
use crate::support::{expect_json, expect_problem, TestApp};

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
