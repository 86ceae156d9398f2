//! Signup, email verification, login (bearer and cookie), throttling, logout, password reset,
//! and that no password or token ever reaches the log.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures::{token_of, unique_email};
use crate::support::smtp::{ReceivedMail, SmtpServer};
use crate::support::{expect_json, expect_problem, TestApp, TestDb};

const PASSWORD: &str = "a long enough passphrase";
const MAIL_WAIT: Duration = Duration::from_secs(20);

/// Waits until `addr` has received `n` messages and returns them in arrival order.
async fn mail_to(smtp: &SmtpServer, addr: &str, n: usize) -> Vec<ReceivedMail> {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        let got = smtp.messages_to(addr);
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} messages to {addr}, got {}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn link_in(mail: &ReceivedMail, prefix: &str) -> String {
    mail.first_link(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in: {}", mail.text_body()))
}

async fn signup(app: &TestApp, email: &str) -> Value {
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Ms. Aiko Tanaka"}),
        )
        .await;
    expect_json(res, StatusCode::ACCEPTED).await
}

async fn verification_token(app: &TestApp, email: &str, nth: usize) -> String {
    let mails = mail_to(&app.smtp, email, nth).await;
    let prefix = format!("{}/verify-email?token=", app.settings.public_url());
    token_of(&link_in(&mails[nth - 1], &prefix))
}

async fn reset_token(app: &TestApp, email: &str) -> String {
    let prefix = format!("{}/password-reset?token=", app.settings.public_url());
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        if let Some(link) = app
            .smtp
            .messages_to(email)
            .iter()
            .rev()
            .find_map(|m| m.first_link(&prefix))
        {
            return token_of(&link);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no password reset email reached {email}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn signup_emails_a_verification_link_that_works_once() {
    let app = TestApp::spawn().await;
    let email = unique_email("Signup");
    let accepted = signup(&app, &email).await;
    assert!(accepted["message"].is_string(), "{accepted}");
    assert!(accepted.get("id").is_none() && accepted.get("email").is_none());

    let email = email.to_lowercase();
    let mails = mail_to(&app.smtp, &email, 1).await;
    assert!(mails[0].subject().contains("Confirm your email"));
    let token = verification_token(&app, &email, 1).await;
    assert_eq!(token.len(), 43);

    // An unverified account can log in.
    let session = app.login(&email, PASSWORD).await;
    let account = expect_json(app.get("/me", Some(&session)).await, StatusCode::OK).await;
    assert_eq!(account["email"], email);
    assert_eq!(account["name"], "Ms. Aiko Tanaka");
    assert_eq!(account["role"], "member");
    assert_eq!(account["email_verified"], false);
    assert!(account["person_id"].is_null());
    assert!(account.get("password").is_none() && account.get("password_hash").is_none());

    let res = app
        .post("/auth/verify-email", None, json!({"token": token}))
        .await;
    let verified = expect_json(res, StatusCode::OK).await;
    assert_eq!(verified["email_verified"], true);
    assert_eq!(verified["id"], account["id"]);
    assert!(verified["person_id"].is_string(), "{verified}");
    let me = expect_json(app.get("/me", Some(&session)).await, StatusCode::OK).await;
    assert_eq!(me["email_verified"], true);

    let again = app
        .post("/auth/verify-email", None, json!({"token": token}))
        .await;
    expect_problem(again, StatusCode::GONE, "token_used").await;

    for bogus in ["nonsense", &"A".repeat(43), ""] {
        let res = app
            .post("/auth/verify-email", None, json!({"token": bogus}))
            .await;
        expect_problem(res, StatusCode::BAD_REQUEST, "invalid_token").await;
    }
    let res = app.post("/auth/verify-email", None, json!({})).await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn an_expired_verification_link_is_gone() {
    let app = TestApp::spawn().await;
    let email = unique_email("expired");
    signup(&app, &email).await;
    let token = verification_token(&app, &email, 1).await;
    app.sql("UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'email_verification'")
        .await;
    let res = app
        .post("/auth/verify-email", None, json!({"token": token}))
        .await;
    expect_problem(res, StatusCode::GONE, "token_expired").await;
}

#[tokio::test]
async fn a_verification_token_acts_once_under_concurrency() {
    let app = TestApp::spawn().await;
    let email = unique_email("rush");
    signup(&app, &email).await;
    let token = verification_token(&app, &email, 1).await;
    let attempts = (0..50).map(|_| app.post("/auth/verify-email", None, json!({"token": token})));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::GONE));
}

#[tokio::test]
async fn verification_can_be_resent_to_a_logged_in_unverified_account() {
    let app = TestApp::spawn().await;
    let email = unique_email("resend");
    signup(&app, &email).await;
    let first = verification_token(&app, &email, 1).await;
    let session = app.login(&email, PASSWORD).await;

    let res = app.post("/auth/verify-email/resend", None, json!({})).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    // The signup email went out moments ago.
    let res = app
        .post("/auth/verify-email/resend", Some(&session), json!({}))
        .await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;

    app.sql("UPDATE account_tokens SET created_at = now() - interval '2 minutes'")
        .await;
    let res = app
        .post("/auth/verify-email/resend", Some(&session), json!({}))
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let second = verification_token(&app, &email, 2).await;
    assert_ne!(first, second);

    let res = app
        .post("/auth/verify-email", None, json!({"token": second}))
        .await;
    expect_json(res, StatusCode::OK).await;
    // The older link is retired once the address is verified.
    let res = app
        .post("/auth/verify-email", None, json!({"token": first}))
        .await;
    expect_problem(res, StatusCode::GONE, "token_used").await;

    let res = app
        .post("/auth/verify-email/resend", Some(&session), json!({}))
        .await;
    expect_problem(res, StatusCode::CONFLICT, "already_verified").await;
}

#[tokio::test]
async fn signing_up_twice_with_one_address_changes_nothing_and_says_so_by_email() {
    let app = TestApp::spawn().await;
    let email = unique_email("twice");
    let first = signup(&app, &email).await;
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email.to_uppercase(), "password": "another passphrase", "name": "Someone Else"}),
        )
        .await;
    assert_eq!(expect_json(res, StatusCode::ACCEPTED).await, first);
    let mails = mail_to(&app.smtp, &email, 2).await;
    assert!(mails[1]
        .subject()
        .contains("You already have a Convene account"));
    // The first password still logs in; the second does not.
    app.login(&email, PASSWORD).await;
    let res = app
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "another passphrase"}),
        )
        .await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn signup_names_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "not-an-email", "password": "short", "name": "   "}),
        )
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"]);
    for error in body["errors"].as_array().unwrap() {
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": unique_email("long"), "password": "x".repeat(129), "name": "A"}),
        )
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");
}

#[tokio::test]
async fn login_answers_a_token_and_logout_revokes_it() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let res = app
        .post(
            "/auth/login",
            None,
            json!({"email": user.email, "password": "correct horse battery staple"}),
        )
        .await;
    let body = expect_json(res, StatusCode::OK).await;
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    assert_eq!(body["user"]["email"], user.email);
    assert_eq!(body["user"]["role"], "member");
    assert_eq!(body["user"]["id"], user.account_id);
    assert!(body["expires_at"].as_str().is_some());

    expect_json(app.get("/me", Some(&token)).await, StatusCode::OK).await;
    let res = app.post("/auth/logout", Some(&token), json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get("/me", Some(&token)).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = app.post("/auth/logout", Some(&token), json!({})).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Other sessions of the same account live on.
    expect_json(app.get("/me", user.token()).await, StatusCode::OK).await;
    expect_problem(
        app.get("/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn the_login_cookie_alone_authenticates() {
    let app = TestApp::spawn().await;
    let user = app.user("organizer").await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = browser
        .post(app.api("/auth/login"))
        .json(&json!({"email": user.email, "password": "correct horse battery staple"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("convene_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    // Secure only in production: the tests speak plain HTTP.
    assert!(!cookie.contains("Secure"), "{cookie}");

    let me = browser.get(app.api("/me")).send().await.unwrap();
    let me = expect_json(me, StatusCode::OK).await;
    assert_eq!(me["email"], user.email);
    assert_eq!(me["role"], "organizer");

    // A change authenticated by the cookie must come from Convene's own origin.
    let res = browser
        .post(app.api("/auth/logout"))
        .header("origin", app.settings.public_url())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me = browser.get(app.api("/me")).send().await.unwrap();
    expect_problem(me, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

async fn try_login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post(
        "/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let wrong = try_login(&app, &user.email, "not the password").await;
    let wrong = expect_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = try_login(&app, &unique_email("nobody"), "not the password").await;
    let unknown = expect_problem(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong, unknown);
    let malformed = try_login(&app, "not an email", "not the password").await;
    let malformed =
        expect_problem(malformed, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong, malformed);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_client() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let max = app.settings.auth.max_failed_logins_per_account_and_client;
    for _ in 0..max {
        let res = try_login(&app, &user.email, "guess").await;
        expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // From this client, even the right password is refused until the window passes (from
    // elsewhere it works: tests/api/security/login_throttling.rs).
    let res = try_login(&app, &user.email, "correct horse battery staple").await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let window = app.settings.auth.failed_login_window_secs as u64;
    assert!((1..=window).contains(&retry_after), "{retry_after}");
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    // Other accounts are not locked out by it.
    let other = app.user("member").await;
    expect_json(app.get("/me", other.token()).await, StatusCode::OK).await;

    // When the failures age out of the window, the right password works again.
    app.sql("UPDATE login_failures SET failed_at = now() - interval '1 day'")
        .await;
    let res = try_login(&app, &user.email, "correct horse battery staple").await;
    expect_json(res, StatusCode::OK).await;

    // Aged out, they count for nothing: the background upkeep deletes them.
    let mut conn = app.pool.get().await.expect("connection");
    let before =
        chrono::Utc::now() - chrono::Duration::seconds(app.settings.auth.failed_login_window_secs);
    let pruned = convene::auth::login::prune_login_failures(&mut conn, before)
        .await
        .expect("prune");
    assert_eq!(pruned as u64, max as u64);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_address_across_accounts() {
    let app = TestApp::spawn_with(|s| s.auth.max_failed_logins_per_client = 4).await;
    let victim = app.user("admin").await;
    for i in 0..4 {
        let email = if i % 2 == 0 {
            unique_email("spray")
        } else {
            app.user("member").await.email
        };
        let res = try_login(&app, &email, "guess").await;
        expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let res = try_login(&app, &victim.email, "correct horse battery staple").await;
    assert!(res.headers().contains_key("retry-after"));
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    let res = try_login(&app, &unique_email("another"), "guess").await;
    expect_problem(res, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn password_reset_answers_alike_and_mails_only_real_accounts() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let known = app
        .post("/auth/password-reset", None, json!({"email": user.email}))
        .await;
    let known = expect_json(known, StatusCode::ACCEPTED).await;
    let nobody = unique_email("nobody");
    let unknown = app
        .post("/auth/password-reset", None, json!({"email": nobody}))
        .await;
    let unknown = expect_json(unknown, StatusCode::ACCEPTED).await;
    assert_eq!(known, unknown);

    let token = reset_token(&app, &user.email).await;
    assert_eq!(token.len(), 43);
    let mails = app.smtp.messages_to(&user.email);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject().contains("new password"));
    assert!(app.smtp.messages_to(&nobody).is_empty());

    let res = app
        .post("/auth/password-reset", None, json!({"email": "nope"}))
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "email");
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_logs_out_everywhere() {
    let app = TestApp::spawn().await;
    let user = app.user("organizer").await;
    let old_password = "correct horse battery staple";
    let new_password = "a brand new passphrase";
    let res = app
        .post("/auth/password-reset", None, json!({"email": user.email}))
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let token = reset_token(&app, &user.email).await;

    // A bad password is refused without using up the link.
    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "short"}),
        )
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");

    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    expect_problem(
        app.get("/me", user.token()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let res = try_login(&app, &user.email, old_password).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let session = app.login(&user.email, new_password).await;
    expect_json(app.get("/me", Some(&session)).await, StatusCode::OK).await;

    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "yet another passphrase"}),
        )
        .await;
    expect_problem(res, StatusCode::GONE, "token_used").await;

    let mails = mail_to(&app.smtp, &user.email, 2).await;
    assert!(mails
        .iter()
        .any(|m| m.subject().contains("password was changed")));

    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": "A".repeat(43), "password": new_password}),
        )
        .await;
    expect_problem(res, StatusCode::BAD_REQUEST, "invalid_token").await;
    // A verification token is not a reset token.
    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": session, "password": new_password}),
        )
        .await;
    expect_problem(res, StatusCode::BAD_REQUEST, "invalid_token").await;
}

#[tokio::test]
async fn an_expired_reset_link_is_gone_and_resets_are_capped() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let res = app
        .post("/auth/password-reset", None, json!({"email": user.email}))
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let token = reset_token(&app, &user.email).await;
    app.sql("UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'password_reset'")
        .await;
    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": token, "password": "a brand new passphrase"}),
        )
        .await;
    expect_problem(res, StatusCode::GONE, "token_expired").await;

    // Three reset emails per 15 minutes at most; the asker sees no difference.
    for _ in 0..4 {
        let res = app
            .post("/auth/password-reset", None, json!({"email": user.email}))
            .await;
        expect_json(res, StatusCode::ACCEPTED).await;
    }
    let mut conn = app.pool.get().await.unwrap();
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let queued: i64 = convene::db::schema::emails::table
        .filter(convene::db::schema::emails::kind.eq("password_reset"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(queued, 3);
}

#[tokio::test]
async fn a_disabled_account_gets_no_reset_email() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let user = app.user("member").await;
    let res = app
        .patch(
            &format!("/accounts/{}", user.account_id),
            admin.token(),
            json!({"disabled": true}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    let res = app
        .post("/auth/password-reset", None, json!({"email": user.email}))
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    // A later reset for another account is delivered, so the worker has had its chance.
    let res = app
        .post("/auth/password-reset", None, json!({"email": admin.email}))
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    reset_token(&app, &admin.email).await;
    assert!(app.smtp.messages_to(&user.email).is_empty());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The secret as `{:?}` of its bytes would print it inside a byte list (how a driver logs
/// bind parameters), e.g. `104, 116, 116`.
fn as_byte_list(secret: &str) -> String {
    secret
        .bytes()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the real binary at the most verbose level through signup, verification, login, a
/// failed login, a password reset and logout, then searches everything it printed.
#[tokio::test]
async fn no_password_or_token_reaches_the_log() {
    let db = TestDb::create().await;
    let smtp = SmtpServer::start().await;
    let port = free_port();
    let log_path =
        std::env::temp_dir().join(format!("convene-log-{}.txt", uuid::Uuid::now_v7().simple()));
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_convene"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CONVENE") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let mut server = command
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "debug")
        .env("CONVENE__APP__ENVIRONMENT", "test")
        .env("CONVENE__APP__PUBLIC_URL", "http://convene.test")
        .env("CONVENE__DATABASE__URL", &db.url)
        .env("CONVENE__SERVER__PORT", port.to_string())
        .env("CONVENE__EMAIL__TRANSPORT", "smtp")
        .env("CONVENE__EMAIL__SMTP_URL", smtp.url())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start convene serve");

    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = client.get(format!("{base}/health/ready")).send().await {
            if res.status() == StatusCode::OK {
                break;
            }
        }
        if let Ok(Some(status)) = server.try_wait() {
            panic!(
                "convene serve exited with {status}:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "convene serve did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let api = |path: &str| format!("{base}/api/v1{path}");
    let email = unique_email("quiet");
    let first_password = "first secret passphrase 1";
    let wrong_password = "wrong secret passphrase 2";
    let new_password = "second secret passphrase 3";
    let mut secrets = vec![
        first_password.to_owned(),
        wrong_password.to_owned(),
        new_password.to_owned(),
    ];

    let res = client
        .post(api("/auth/signup"))
        .json(&json!({"email": email, "password": first_password, "name": "Quiet Person"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mails = mail_to(&smtp, &email, 1).await;
    let verify = token_of(&link_in(
        &mails[0],
        "http://convene.test/verify-email?token=",
    ));
    let res = client
        .post(api("/auth/verify-email"))
        .json(&json!({"token": verify}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A token in the URL (as the pages' links carry them) is redacted from the request span,
    // which a failed request prints.
    let res = client
        .post(format!("{base}/api/v1/auth/verify-email?token={verify}"))
        .json(&json!({"token": "not-a-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    secrets.push(verify);

    let res = client
        .post(api("/auth/login"))
        .json(&json!({"email": email, "password": wrong_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client
        .post(api("/auth/login"))
        .json(&json!({"email": email, "password": first_password}))
        .send()
        .await
        .unwrap();
    let body: Value = expect_json(res, StatusCode::OK).await;
    let session = body["token"].as_str().unwrap().to_owned();
    let res = client
        .get(api("/me"))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    secrets.push(session);

    let res = client
        .post(api("/auth/password-reset"))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let mails = mail_to(&smtp, &email, 2).await;
    let reset = token_of(&link_in(
        &mails[1],
        "http://convene.test/password-reset?token=",
    ));
    let res = client
        .post(api("/auth/password-reset/confirm"))
        .json(&json!({"token": reset, "password": new_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    secrets.push(reset);

    let res = client
        .post(api("/auth/login"))
        .json(&json!({"email": email, "password": new_password}))
        .send()
        .await
        .unwrap();
    let body: Value = expect_json(res, StatusCode::OK).await;
    let second_session = body["token"].as_str().unwrap().to_owned();
    let res = client
        .post(api("/auth/logout"))
        .bearer_auth(&second_session)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    secrets.push(second_session);
    // The "password changed" notice: the worker has logged its deliveries by now.
    mail_to(&smtp, &email, 3).await;

    server.kill().await.expect("stop convene serve");
    let output = std::fs::read_to_string(&log_path).expect("read log");
    let _ = std::fs::remove_file(&log_path);
    assert!(
        output.contains("Convene is serving") && output.contains("request authenticated"),
        "the log was not captured at debug level:\n{output}"
    );
    assert!(
        output.contains("token=[redacted]"),
        "the failed request's span should show its redacted target:\n{output}"
    );
    assert!(
        output.contains("email sent"),
        "the worker's deliveries should be in the log"
    );
    for secret in &secrets {
        assert!(
            !output.contains(secret.as_str()),
            "a secret reached the log: {secret}"
        );
        assert!(
            !output.contains(&as_byte_list(secret)),
            "a secret reached the log as bytes: {secret}"
        );
    }
}
