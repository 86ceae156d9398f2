//! Threat: anonymous requests turning Convene into a mail cannon (many emails to one inbox,
//! many requests from one client, a flood of admin notices) or a phishing relay (an
//! attacker-chosen "name" greeting a stranger with a link).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::{is_throttled, post_from};
use crate::support::fixtures::{
    count, published_event_with_session, text, token_of, unique_email, wait_for_mail,
    wait_for_mails, SessionSpec,
};
use crate::support::{expect_json, TestApp};

const PHISH: &str = "Visit http://phish.example/login now";

/// Lets the mail worker deliver whatever it was going to.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}

fn limits(per_recipient: i64, per_client: i64) -> impl FnOnce(&mut convene::config::Settings) {
    move |s| {
        s.limits.emails_per_recipient_per_hour = per_recipient;
        s.limits.anonymous_emails_per_client_per_hour = per_client;
        s.server.trusted_proxies = vec!["127.0.0.1".to_owned()].try_into().expect("valid");
    }
}

async fn register(
    app: &TestApp,
    client: &str,
    session_id: Uuid,
    email: &str,
    name: &str,
) -> reqwest::Response {
    post_from(
        app,
        client,
        &format!("/sessions/{session_id}/registrations"),
        None,
        json!({"email": email, "name": name}),
    )
    .await
}

#[tokio::test]
async fn thirty_resubmissions_send_at_most_the_recipients_share_and_the_link_keeps_working() {
    let app = TestApp::spawn_with(limits(3, 0)).await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let victim = unique_email("victim");
    let mut ids = Vec::new();
    for i in 0..30 {
        let res = register(
            &app,
            &format!("198.51.100.{i}"),
            f.session_id,
            &victim,
            PHISH,
        )
        .await;
        assert!(
            res.status().is_success(),
            "answered as usual: {}",
            res.status()
        );
        let body: serde_json::Value = res.json().await.expect("json");
        ids.push(body["id"].clone());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "one registration");
    let mails = wait_for_mails(&app, &victim, "Confirm your registration", 3).await;
    settle().await;
    assert_eq!(app.smtp.messages_to(&victim).len(), 3, "{mails:?}");
    // Withheld re-submissions did not replace the link the person holds: the newest works.
    let newest = wait_for_mail(&app, &victim, "Confirm your registration").await;
    let link = newest
        .first_link(&format!(
            "{}/registrations/confirm?token=",
            app.settings.public_url()
        ))
        .expect("link");
    let res = app
        .post(
            "/registrations/confirm",
            None,
            json!({"token": token_of(&link)}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap_or_default()
    );

    // Legitimate: someone else's first registration still gets its email.
    let other = unique_email("legit");
    let res = register(&app, "198.51.100.1", f.session_id, &other, "Aiko Tanaka").await;
    assert!(res.status().is_success());
    wait_for_mail(&app, &other, "Confirm your registration").await;
}

#[tokio::test]
async fn an_attacker_chosen_name_neither_greets_a_stranger_nor_becomes_a_link() {
    let app = TestApp::spawn_with(limits(3, 60)).await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let victim = unique_email("stranger");
    let res = register(&app, "198.51.100.1", f.session_id, &victim, PHISH).await;
    assert!(res.status().is_success());
    let mail = wait_for_mail(&app, &victim, "Confirm your registration").await;
    for part in [mail.text_body(), mail.html_body()] {
        assert!(!part.contains("phish"), "{part}");
        assert!(!part.contains("Visit"), "{part}");
    }
    assert!(mail.text_body().trim_start().starts_with("Hello,"));
    let to = mail.header("To").unwrap_or_default();
    assert!(!to.contains("phish"), "{to}");

    // Signing up with such a name: the verification email greets neutrally too.
    let email = unique_email("signup");
    let res = post_from(
        &app,
        "198.51.100.2",
        "/auth/signup",
        None,
        json!({"email": email, "password": "a long enough passphrase", "name": PHISH}),
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    let mail = wait_for_mail(&app, &email, "Confirm your email").await;
    assert!(!mail.text_body().contains("phish") && !mail.html_body().contains("phish"));
}

#[tokio::test]
async fn one_client_cannot_make_more_mail_requests_than_its_share_and_others_still_can() {
    let app = TestApp::spawn_with(limits(0, 4)).await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let member = app.user("member").await;
    let attacker = "203.0.113.50";
    // Requests of every kind count together; a reset for an address with an account and one
    // without count alike, so the 429 tells nothing about them.
    let res = post_from(
        &app,
        attacker,
        "/auth/password-reset",
        None,
        json!({"email": member.email}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = post_from(
        &app,
        attacker,
        "/auth/password-reset",
        None,
        json!({"email": unique_email("none")}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    for _ in 0..2 {
        let res = register(
            &app,
            attacker,
            f.session_id,
            &unique_email("spray"),
            "Aiko Tanaka",
        )
        .await;
        assert!(res.status().is_success());
    }
    let before = count(&app, "SELECT count(*) AS n FROM emails").await;
    let sprayed = unique_email("spray");
    let res = register(&app, attacker, f.session_id, &sprayed, "Aiko Tanaka").await;
    assert!(is_throttled(&res), "{}", res.status());
    let res = post_from(
        &app,
        attacker,
        "/auth/password-reset",
        None,
        json!({"email": member.email}),
    )
    .await;
    assert!(is_throttled(&res), "{}", res.status());
    let res = post_from(
        &app,
        attacker,
        "/organizations/applications",
        None,
        json!({"name": "Spam Institute", "kind": "think_tank", "country": "JP",
               "contact_email": unique_email("spam")}),
    )
    .await;
    assert!(is_throttled(&res), "{}", res.status());
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM emails").await,
        before
    );
    let registered = count(
        &app,
        &format!("SELECT count(*) AS n FROM registrations r JOIN people p ON p.id = r.person_id WHERE p.email = '{sprayed}'"),
    )
    .await;
    assert_eq!(registered, 0, "a refused request changes nothing");

    // Legitimate: another client registers and is emailed.
    let other = unique_email("legit");
    let res = register(&app, "203.0.113.51", f.session_id, &other, "Aiko Tanaka").await;
    assert!(res.status().is_success());
    wait_for_mail(&app, &other, "Confirm your registration").await;
}

#[tokio::test]
async fn ten_applications_send_each_admin_one_digest_an_hour() {
    let app = TestApp::spawn_with(limits(3, 0)).await;
    let admins = [app.user("admin").await, app.user("admin").await];
    for i in 0..10 {
        let res = post_from(
            &app,
            "198.51.100.9",
            "/organizations/applications",
            None,
            json!({"name": format!("Applicant {i} see http://phish{i}.example"),
                   "kind": "think_tank", "country": "JP",
                   "website": format!("https://phish{i}.example/login"),
                   "note": format!("Visit www.phish{i}.example"),
                   "contact_name": PHISH,
                   "contact_email": unique_email("applicant")}),
        )
        .await;
        expect_json(res, StatusCode::CREATED).await;
    }
    for admin in &admins {
        wait_for_mails(&app, &admin.email, "", 1).await;
    }
    settle().await;
    for admin in &admins {
        assert_eq!(
            app.smtp.messages_to(&admin.email).len(),
            1,
            "one digest now"
        );
        let rows = count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM emails WHERE to_address = '{}'",
                admin.email
            ),
        )
        .await;
        assert!(rows <= 2, "at most the one sent and one waiting: {rows}");
    }
    // The next digest is due an hour after the first, and lists every application waiting.
    let gap = text(
        &app,
        "SELECT (max(next_attempt_at) - min(next_attempt_at) >= interval '59 minutes')::text AS v \
         FROM emails WHERE kind = 'organization_applications' GROUP BY to_address LIMIT 1",
    )
    .await;
    let queued = count(
        &app,
        "SELECT count(*) AS n FROM emails WHERE status = 'queued'",
    )
    .await;
    if queued > 0 {
        assert_eq!(gap.as_deref(), Some("true"));
    }
    app.sql("UPDATE emails SET next_attempt_at = now() WHERE status = 'queued'")
        .await;
    for admin in &admins {
        let last = if queued > 0 {
            wait_for_mails(&app, &admin.email, "", 2).await.pop()
        } else {
            app.smtp.messages_to(&admin.email).pop()
        }
        .expect("a digest");
        let text = last.text_body();
        for i in 0..10 {
            assert!(text.contains(&format!("Applicant {i}")), "{text}");
        }
        for part in [text, last.html_body()] {
            assert!(!part.contains("http://phish"), "{part}");
            assert!(!part.contains("https://phish"), "{part}");
            assert!(!part.contains("phish1.example"), "{part}");
            assert!(!part.contains("www.phish"), "{part}");
            assert!(part.contains("phish1[.]example"), "shown, inert: {part}");
        }
    }
    settle().await;
    for admin in &admins {
        assert!(app.smtp.messages_to(&admin.email).len() <= 2);
    }
}

#[tokio::test]
async fn verification_resends_are_bounded_per_address() {
    let app = TestApp::spawn_with(limits(3, 0)).await;
    let email = unique_email("resend");
    let password = "a long enough passphrase";
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email, "password": password, "name": "Aiko Tanaka"}),
        )
        .await;
    assert!(res.status().is_success());
    let session = app.login(&email, password).await;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        // Past the once-a-minute pause each time: only the hourly share holds it back.
        app.sql("UPDATE account_tokens SET created_at = now() - interval '2 minutes'")
            .await;
        let res = app
            .post("/auth/verify-email/resend", Some(&session), json!({}))
            .await;
        statuses.push((res.status(), is_throttled(&res)));
    }
    let accepted = statuses
        .iter()
        .filter(|(s, _)| *s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 2, "the signup's email and two more: {statuses:?}");
    assert!(
        statuses[2..].iter().all(|(_, throttled)| *throttled),
        "{statuses:?}"
    );
    wait_for_mails(&app, &email, "Confirm your email", 3).await;
    settle().await;
    assert_eq!(app.smtp.messages_to(&email).len(), 3);
}

#[tokio::test]
async fn a_first_registration_under_the_default_limits_gets_its_email() {
    let app = TestApp::spawn_with(|s| {
        s.limits.emails_per_recipient_per_hour = 3;
        s.limits.anonymous_emails_per_client_per_hour = 60;
    })
    .await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let email = unique_email("first");
    let res = app
        .post(
            &format!("/sessions/{}/registrations", f.session_id),
            None,
            json!({"email": email, "name": "Prof. Aiko Tanaka"}),
        )
        .await;
    assert!(res.status().is_success());
    let mail = wait_for_mail(&app, &email, "Confirm your registration").await;
    assert!(mail.text_body().trim_start().starts_with("Hello,"));
}
