//! Threat: learning who is registered (or who applied to join) by asking. Anonymous and
//! unverified registration requests get one answer whatever the address's state, and the truth
//! goes only to the address; a duplicate organisation name names no hidden applicant; a
//! registration names only an active member organisation.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures::{
    count, organization, person, published_event_with_session, registration, token_of,
    unique_email, wait_for_mail, SessionSpec,
};
use crate::support::{expect_json, expect_problem, TestApp};

async fn register(app: &TestApp, session_id: Uuid, token: Option<&str>, body: Value) -> Value {
    let res = app
        .post(
            &format!("/sessions/{session_id}/registrations"),
            token,
            body,
        )
        .await;
    let status = res.status();
    let body = expect_json(res, status).await;
    json!({"status": status.as_u16(), "body": body})
}

fn anonymous(email: &str) -> Value {
    json!({"email": email, "name": "Curious Stranger"})
}

async fn registrations_of(app: &TestApp, email: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM registrations r JOIN people p ON p.id = r.person_id \
             WHERE p.email = '{email}'"
        ),
    )
    .await
}

#[tokio::test]
async fn an_anonymous_request_cannot_tell_who_is_registered() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::without_waitlist(5)).await;
    let seated = unique_email("seated");
    let seated_id = person(&app, &seated, "Prof. Aiko Tanaka").await;
    registration(&app, f.session_id, seated_id, "confirmed").await;
    let stranger = unique_email("stranger");

    let for_seated = register(&app, f.session_id, None, anonymous(&seated)).await;
    let for_stranger = register(&app, f.session_id, None, anonymous(&stranger)).await;
    let expected = json!({"status": 202, "body": {"status": "pending_confirmation"}});
    assert_eq!(for_seated, expected);
    assert_eq!(for_stranger, expected);

    // The truth goes to the address: the registrant is told they already hold a seat, with no
    // link that would act; the stranger gets a confirmation link.
    let told = wait_for_mail(&app, &seated, "You are already registered").await;
    assert!(
        told.text_body().contains("your seat is confirmed"),
        "{}",
        told.text_body()
    );
    assert!(told
        .first_link("http://127.0.0.1:8080/registrations/")
        .is_none());
    assert_eq!(registrations_of(&app, &seated).await, 1);
    wait_for_mail(&app, &stranger, "Confirm your registration").await;
}

#[tokio::test]
async fn the_waitlisted_are_told_their_place_by_email_only() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let waiting = unique_email("waiting");
    let first = person(&app, &unique_email("first"), "First Waiting").await;
    registration(&app, f.session_id, first, "waitlisted").await;
    let waiting_id = person(&app, &waiting, "Second Waiting").await;
    registration(&app, f.session_id, waiting_id, "waitlisted").await;

    let answer = register(&app, f.session_id, None, anonymous(&waiting)).await;
    assert_eq!(
        answer,
        json!({"status": 202, "body": {"status": "pending_confirmation"}})
    );
    let told = wait_for_mail(&app, &waiting, "You are already registered").await;
    assert!(
        told.text_body().contains("at place 2"),
        "{}",
        told.text_body()
    );
}

#[tokio::test]
async fn an_unverified_account_is_answered_like_anyone_and_a_verified_one_sees_its_own() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;

    // Unverified, registering "itself": 202 and a confirmation link, like anyone.
    let email = unique_email("unverified");
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email, "password": "a long enough passphrase", "name": "Ken Ito"}),
        )
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let token = app.login(&email, "a long enough passphrase").await;
    let answer = register(&app, f.session_id, Some(&token), json!({})).await;
    assert_eq!(
        answer,
        json!({"status": 202, "body": {"status": "pending_confirmation"}})
    );
    let mail = wait_for_mail(&app, &email, "Confirm your registration").await;
    let link = mail
        .first_link("http://127.0.0.1:8080/registrations/confirm?token=")
        .expect("confirmation link");
    let confirmed = expect_json(
        app.post(
            "/registrations/confirm",
            None,
            json!({"token": token_of(&link)}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(confirmed["status"], "confirmed");

    // Verified, registering itself: 201 with its registration, then 200 with the same one.
    let verified = app.user("member").await;
    let first = register(&app, f.session_id, verified.token(), json!({})).await;
    assert_eq!(first["status"], 201);
    assert_eq!(first["body"]["status"], "confirmed");
    let again = register(&app, f.session_id, verified.token(), json!({})).await;
    assert_eq!(again["status"], 200);
    assert_eq!(again["body"]["id"], first["body"]["id"]);

    // Verified, registering someone else's address: answered like anyone.
    let other = register(
        &app,
        f.session_id,
        verified.token(),
        anonymous(&unique_email("colleague")),
    )
    .await;
    assert_eq!(
        other,
        json!({"status": 202, "body": {"status": "pending_confirmation"}})
    );
}

#[tokio::test]
async fn the_event_pages_form_says_the_same_neutral_thing() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let seated = unique_email("seated");
    let seated_id = person(&app, &seated, "Prof. Aiko Tanaka").await;
    registration(&app, f.session_id, seated_id, "confirmed").await;
    let stranger = unique_email("stranger");
    let form_path = format!("/events/{}/sessions/{}/register", f.slug, f.session_id);

    let mut pages = Vec::new();
    for email in [&seated, &stranger] {
        let res = app
            .client
            .post(app.url(&form_path))
            .form(&[("email", email.as_str()), ("name", "Curious Stranger")])
            .send()
            .await
            .unwrap();
        let status = res.status();
        let html = res.text().await.unwrap();
        assert!(html.contains("Check your email"), "{html}");
        assert!(!html.contains("registered for this session"), "{html}");
        pages.push((status, html.replace(email.as_str(), "ADDRESS")));
    }
    assert_eq!(pages[0], pages[1]);
}

#[tokio::test]
async fn a_duplicate_application_name_hides_the_applicant() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let hidden = organization(
        &app,
        "Quiet Hopeful Institute",
        "think_tank",
        Some("JP"),
        "applicant",
    )
    .await;
    let body = json!({"name": "quiet hopeful institute", "kind": "think_tank", "country": "JP",
                      "contact_email": "nosy@example.org"});

    let dup = expect_problem(
        app.post("/organizations/applications", None, body.clone())
            .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    let detail = dup["detail"].as_str().unwrap();
    assert!(!detail.contains(&hidden.to_string()), "{detail}");
    assert!(!detail.contains("applicant"), "{detail}");

    // Admins are told which organisation holds the name.
    let dup = expect_problem(
        app.post("/organizations/applications", admin.token(), body)
            .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    assert!(dup["detail"]
        .as_str()
        .unwrap()
        .contains(&hidden.to_string()));
}

#[tokio::test]
async fn a_registration_names_only_an_active_member() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let active = organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    for status in ["applicant", "suspended", "withdrawn"] {
        let org = organization(
            &app,
            &format!("{status} org"),
            "academia",
            Some("JP"),
            status,
        )
        .await;
        let email = unique_email(status);
        let res = app
            .post(
                &format!("/sessions/{}/registrations", f.session_id),
                None,
                json!({"email": email, "name": "Aiko Tanaka", "organization_id": org}),
            )
            .await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(registrations_of(&app, &email).await, 0);
    }
    let email = unique_email("member");
    let answer = register(
        &app,
        f.session_id,
        None,
        json!({"email": email, "name": "Aiko Tanaka", "organization_id": active}),
    )
    .await;
    assert_eq!(answer["status"], 202);
    assert_eq!(registrations_of(&app, &email).await, 1);
}
