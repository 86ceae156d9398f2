//! Threat: taking over someone's identity by signing up with their address. An account is its
//! person only once its address is verified: until then it is a stranger with nothing (no
//! registrations, invitations, seats, online links, focal-point powers, name), and signup
//! answers alike whether or not the address is known. Each attack sits beside the legitimate
//! use that must keep working.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures::{
    affiliate, count, dialogue, organization, person, published_event_with_session, registration,
    registration_status, text, token_of, unique_email, wait_for_mail, wait_for_mails, SessionSpec,
};
use crate::support::{expect_json, expect_problem, TestApp};

const PASSWORD: &str = "a long enough passphrase";
const ONLINE: &str = "meet.example.org";

async fn signup(app: &TestApp, email: &str, name: &str) -> Value {
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email, "password": PASSWORD, "name": name}),
        )
        .await;
    expect_json(res, StatusCode::ACCEPTED).await
}

/// Signs up with someone else's address (as typed, any case) and logs in without ever opening
/// the verification email; answers the session token.
async fn squat(app: &TestApp, email: &str) -> String {
    signup(app, email, "Mallory").await;
    app.login(email, PASSWORD).await
}

/// Signs up with one's own address, verifies it through the emailed link, and logs in.
async fn sign_up_and_verify(app: &TestApp, email: &str, name: &str) -> String {
    signup(app, email, name).await;
    let mail = wait_for_mail(app, &email.to_lowercase(), "Confirm your email").await;
    let link = mail
        .first_link(&format!(
            "{}/verify-email?token=",
            app.settings.public_url()
        ))
        .expect("verification link");
    let res = app
        .post(
            "/auth/verify-email",
            None,
            json!({"token": token_of(&link)}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    app.login(email, PASSWORD).await
}

/// A published event with one public session (with an online link) where `email`'s person
/// holds a confirmed seat.
async fn seat_holder(app: &TestApp, email: &str) -> (Uuid, Uuid, Uuid) {
    let f = published_event_with_session(app, SessionSpec::default()).await;
    let person_id = person(app, email, "Prof. Aiko Tanaka").await;
    let registration_id = registration(app, f.session_id, person_id, "confirmed").await;
    (f.event_id, person_id, registration_id)
}

#[tokio::test]
async fn an_unverified_account_reads_nothing_of_the_persons_registrations() {
    let app = TestApp::spawn().await;
    let email = unique_email("registrant");
    seat_holder(&app, &email).await;

    let mallory = squat(&app, &email.to_uppercase()).await;
    let me = expect_json(app.get("/me", Some(&mallory)).await, StatusCode::OK).await;
    assert_eq!(me["email_verified"], false);
    assert!(me["person_id"].is_null(), "{me}");
    let res = app.get("/me/registrations", Some(&mallory)).await;
    let body = expect_problem(res, StatusCode::FORBIDDEN, "email_unverified").await;
    assert!(!body.to_string().contains(ONLINE));
}

#[tokio::test]
async fn an_unverified_account_reads_nothing_of_the_persons_invitations() {
    let app = TestApp::spawn().await;
    let d = dialogue(&app).await;
    let email = unique_email("invitee");
    let invite = |email: String| {
        let (app, d) = (&app, &d);
        async move {
            let res = app
                .post(
                    &format!("/events/{}/invitations", d.event_id),
                    d.staff.token(),
                    json!({"session_ids": [d.closed[0]],
                           "invitees": [{"email": email, "name": "Dr Kenji Mori"}],
                           "message": "Our private agenda is attached."}),
                )
                .await;
            expect_json(res, StatusCode::CREATED).await
        }
    };
    invite(email.clone()).await;

    let mallory = squat(&app, &email).await;
    let res = app.get("/me/invitations", Some(&mallory)).await;
    let body = expect_problem(res, StatusCode::FORBIDDEN, "email_unverified").await;
    assert!(!body.to_string().contains("private agenda"));

    // Signing up first and being invited later does not hand the invitation over either.
    let later = unique_email("later");
    let early = squat(&app, &later).await;
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM people WHERE email = '{later}'")
        )
        .await,
        0,
        "signup creates no person before verification"
    );
    invite(later.clone()).await;
    let res = app.get("/me/invitations", Some(&early)).await;
    expect_problem(res, StatusCode::FORBIDDEN, "email_unverified").await;
    let linked = text(
        &app,
        &format!("SELECT person_id::text AS v FROM accounts WHERE email = '{later}'"),
    )
    .await;
    assert_eq!(linked, None, "the account is nobody's person");
}

#[tokio::test]
async fn an_unverified_account_cannot_cancel_the_persons_seat() {
    let app = TestApp::spawn().await;
    let email = unique_email("seat");
    let (_, _, registration_id) = seat_holder(&app, &email).await;

    let mallory = squat(&app, &email).await;
    let res = app
        .delete(&format!("/registrations/{registration_id}"), Some(&mallory))
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        registration_status(&app, registration_id).await,
        "confirmed"
    );
}

#[tokio::test]
async fn an_unverified_account_sees_no_online_link_of_the_persons_seat() {
    let app = TestApp::spawn().await;
    let email = unique_email("online");
    let (event_id, _, _) = seat_holder(&app, &email).await;

    let mallory = squat(&app, &email).await;
    let res = app
        .get(&format!("/events/{event_id}"), Some(&mallory))
        .await;
    let event = expect_json(res, StatusCode::OK).await;
    assert!(
        !event.to_string().contains(ONLINE),
        "no online link for an unverified account: {event}"
    );
}

#[tokio::test]
async fn an_unverified_account_has_no_focal_point_powers() {
    let app = TestApp::spawn().await;
    let email = unique_email("focal");
    let org = organization(
        &app,
        "Ministry of Foreign Affairs",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let focal = person(&app, &email, "Ms. Yuko Sato").await;
    affiliate(&app, focal, org, true).await;
    let people = format!("/organizations/{org}/people");

    let mallory = squat(&app, &email).await;
    let res = app.get(&people, Some(&mallory)).await;
    expect_problem(res, StatusCode::FORBIDDEN, "not_focal_point").await;
    let res = app
        .post(
            &people,
            Some(&mallory),
            json!({"email": unique_email("accomplice"), "name": "Eve Accomplice"}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN, "not_focal_point").await;
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM affiliations WHERE organization_id = '{org}'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_name_typed_at_signup_never_replaces_a_known_persons_name() {
    let app = TestApp::spawn().await;
    let email = unique_email("named");
    let person_id = person(&app, &email, "Prof. Aiko Tanaka").await;
    let name_of_person = format!("SELECT name AS v FROM people WHERE id = '{person_id}'");

    squat(&app, &email).await;
    assert_eq!(
        text(&app, &name_of_person).await.as_deref(),
        Some("Prof. Aiko Tanaka")
    );

    // The owner (another signup is refused alike, so here the owner is the first to sign up
    // on a fresh address of a known person) verifies: the account takes the person's name.
    let owner_email = unique_email("owner");
    let owner_id = person(&app, &owner_email, "Dr Kenji Mori").await;
    let owner = sign_up_and_verify(&app, &owner_email, "K. Mori (typo)").await;
    let me = expect_json(app.get("/me", Some(&owner)).await, StatusCode::OK).await;
    assert_eq!(me["person_id"], owner_id.to_string());
    assert_eq!(me["name"], "Dr Kenji Mori");
    assert_eq!(
        text(
            &app,
            &format!("SELECT name AS v FROM people WHERE id = '{owner_id}'")
        )
        .await
        .as_deref(),
        Some("Dr Kenji Mori")
    );
}

#[tokio::test]
async fn signup_answers_alike_whatever_the_address_and_the_email_says_what_applies() {
    let app = TestApp::spawn().await;
    let fresh = unique_email("fresh");
    let known = unique_email("known");
    person(&app, &known, "Ms. Known Person").await;
    let holder = app.user("member").await;

    let answers = [
        signup(&app, &fresh, "Aiko").await,
        signup(&app, &known, "Aiko").await,
        signup(&app, &holder.email.to_uppercase(), "Aiko").await,
    ];
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);

    for address in [&fresh, &known] {
        let mail = wait_for_mail(&app, address, "Confirm your email address").await;
        assert!(mail
            .first_link("http://127.0.0.1:8080/verify-email?token=")
            .is_some());
    }
    let mail = wait_for_mail(&app, &holder.email, "You already have a Convene account").await;
    let text = mail.text_body();
    assert!(text.contains("Log in with your password"), "{text}");
    assert!(
        mail.first_link("http://127.0.0.1:8080/password-reset?token=")
            .is_some(),
        "{text}"
    );
    // The existing account is untouched: its password still works.
    app.login(&holder.email, "correct horse battery staple")
        .await;
}

#[tokio::test]
async fn the_owner_verifies_and_then_sees_their_data() {
    let app = TestApp::spawn().await;
    let email = unique_email("owner");
    let (event_id, person_id, registration_id) = seat_holder(&app, &email).await;

    let owner = sign_up_and_verify(&app, &email, "Aiko").await;
    let me = expect_json(app.get("/me", Some(&owner)).await, StatusCode::OK).await;
    assert_eq!(me["person_id"], person_id.to_string());
    let mine = expect_json(
        app.get("/me/registrations", Some(&owner)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["id"], registration_id.to_string());
    let event = expect_json(
        app.get(&format!("/events/{event_id}"), Some(&owner)).await,
        StatusCode::OK,
    )
    .await;
    assert!(event.to_string().contains(ONLINE), "{event}");
    let res = app
        .delete(&format!("/registrations/{registration_id}"), Some(&owner))
        .await;
    expect_json(res, StatusCode::OK).await;
    assert_eq!(
        registration_status(&app, registration_id).await,
        "cancelled"
    );
}

#[tokio::test]
async fn a_squatted_address_is_won_back_by_a_password_reset() {
    let app = TestApp::spawn().await;
    let email = unique_email("squatted");
    let (_, person_id, _) = seat_holder(&app, &email).await;
    let mallory = squat(&app, &email).await;

    // The owner signs up too and is told an account exists, with a link to choose a password.
    signup(&app, &email, "Aiko").await;
    let mails = wait_for_mails(&app, &email, "", 2).await;
    let told = mails
        .iter()
        .find(|m| m.subject().contains("You already have a Convene account"))
        .expect("the account-exists email");
    let link = told
        .first_link("http://127.0.0.1:8080/password-reset?token=")
        .expect("reset link");
    let res = app
        .post(
            "/auth/password-reset/confirm",
            None,
            json!({"token": token_of(&link), "password": "the owner's own passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The squatter is logged out and their password no longer works; the owner is joined.
    expect_problem(
        app.get("/me", Some(&mallory)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let owner = app.login(&email, "the owner's own passphrase").await;
    let me = expect_json(app.get("/me", Some(&owner)).await, StatusCode::OK).await;
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["person_id"], person_id.to_string());
    expect_json(
        app.get("/me/registrations", Some(&owner)).await,
        StatusCode::OK,
    )
    .await;
}
