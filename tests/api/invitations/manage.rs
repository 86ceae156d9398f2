//! Staff changes to an invitation: resending replaces the link, revoking stops it and frees
//! its seats.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures::{self as fx, wait_for_mail, Dialogue, EventSpec, SessionSpec};
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn resend_replaces_the_link_and_mails_again() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let created = invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("hoshino@example.org", "Prof. Hoshino")]}),
    )
    .await;
    let id = created["invitations"][0]["id"].as_str().unwrap().to_owned();
    let old = invitation_token(&app, "hoshino@example.org").await;

    let new_expiry = d.starts[0] - chrono::Duration::days(5);
    let item = expect_json(
        app.post(
            &format!("/invitations/{id}/resend"),
            d.staff.token(),
            json!({"expires_at": new_expiry}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(item["status"], "pending");
    assert_eq!(item["generation"], 2);
    assert_eq!(
        item["expires_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        new_expiry
    );
    // The old link stops working at once.
    expect_problem(
        app.get(&format!("/invitations/by-token/{old}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        respond(&app, &old, json!({"response": "accept"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // A second email with a new link, which works.
    let deadline = tokio::time::Instant::now() + WAIT;
    let new = loop {
        let tokens: Vec<String> = app
            .smtp
            .messages_to("hoshino@example.org")
            .iter()
            .filter(|m| m.subject().starts_with("Invitation:"))
            .map(|m| token_in(&app, m))
            .collect();
        if let Some(t) = tokens.into_iter().find(|t| *t != old) {
            break t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no second invitation email"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The old generation's reminder is withdrawn, the new one scheduled.
    assert_eq!(
        email_status(&app, &format!("invitation-reminder:{id}:")).await,
        vec![Some("cancelled".into()), Some("queued".into())]
    );
    let view = expect_json(
        app.get(&format!("/invitations/by-token/{new}"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["status"], "pending");
    expect_json(
        respond(&app, &new, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    // Accepted: resend is no longer possible.
    expect_problem(
        app.post(
            &format!("/invitations/{id}/resend"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    // A bad expiry on resend is a 422.
    let other = invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("other@example.org", "Other")]}),
    )
    .await;
    let other_id = other["invitations"][0]["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/invitations/{other_id}/resend"),
            d.staff.token(),
            json!({"expires_at": d.starts[1]}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "expires_at");
}

#[tokio::test]
async fn revoking_stops_the_link_cancels_registrations_and_promotes_the_waitlist() {
    let app = TestApp::spawn().await;
    let event_id = fx::event(&app, EventSpec::default()).await;
    let staff = app.user("organizer").await;
    fx::add_staff(&app, event_id, &staff).await;
    let start = fx::days_ahead(10);
    let small = fx::add_session(
        &app,
        event_id,
        &SessionSpec {
            capacity: Some(1),
            ..SessionSpec::closed("Closed roundtable", start)
        },
    )
    .await;
    let d = Dialogue {
        event_id,
        staff,
        closed: vec![small],
        public: small,
        starts: vec![start],
    };
    let created = invite(
        &app,
        &d,
        json!({"session_ids": [small], "invitees": [
            invitee("first@example.org", "First Invitee"),
            invitee("second@example.org", "Second Invitee"),
        ]}),
    )
    .await;
    let first_id = created["invitations"][0]["id"].as_str().unwrap().to_owned();
    let first = invitation_token(&app, "first@example.org").await;
    let second = invitation_token(&app, "second@example.org").await;
    let a = expect_json(
        respond(&app, &first, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(a["registrations"][0]["status"], "confirmed");
    let b = expect_json(
        respond(&app, &second, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(b["registrations"][0]["status"], "waitlisted");
    assert_eq!(b["registrations"][0]["waitlist_position"], 1);
    let waitlisted_mail = wait_for_mail(&app, "second@example.org", "You're on the waitlist").await;
    assert!(
        waitlisted_mail.attachments().is_empty(),
        "no calendar entry for a waitlist place"
    );

    let item = expect_json(
        app.post(
            &format!("/invitations/{first_id}/revoke"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(item["status"], "revoked");
    expect_problem(
        app.get(&format!("/invitations/by-token/{first}"), None)
            .await,
        StatusCode::GONE,
        "invitation_revoked",
    )
    .await;
    expect_problem(
        respond(&app, &first, json!({"response": "accept"})).await,
        StatusCode::GONE,
        "invitation_revoked",
    )
    .await;
    let page = app
        .client
        .get(app.url(&format!("/invitations/{first}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This invitation was withdrawn"));
    let first_registration = a["registrations"][0]["id"].as_str().unwrap();
    let second_registration = b["registrations"][0]["id"].as_str().unwrap();
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT status AS v FROM registrations WHERE id = '{first_registration}'")
        )
        .await
        .as_deref(),
        Some("cancelled")
    );
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT status AS v FROM registrations WHERE id = '{second_registration}'")
        )
        .await
        .as_deref(),
        Some("confirmed")
    );
    // The cancelled registration's session reminder is withdrawn; the promoted one gets one.
    assert_eq!(
        email_status(&app, &format!("session-reminder:{first_registration}")).await,
        vec![Some("cancelled".into())]
    );
    assert_eq!(
        email_status(&app, &format!("session-reminder:{second_registration}")).await,
        vec![Some("queued".into())]
    );
    let withdrawn = wait_for_mail(&app, "first@example.org", "Invitation withdrawn").await;
    assert!(withdrawn
        .text_body()
        .contains("registrations for the sessions of this invitation have been cancelled"));
    let promoted = wait_for_mail(&app, "second@example.org", "A seat is yours").await;
    assert!(promoted.text_body().contains("Closed roundtable"));
    assert_eq!(parse_ics(&ics_of(&promoted)).method, "PUBLISH");

    expect_problem(
        app.post(
            &format!("/invitations/{first_id}/revoke"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/invitations/{first_id}/resend"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
}
