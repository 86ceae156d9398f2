//! Answers that can change: until the invitation's deadline the invitee answers again from the
//! same link and the new answer replaces the old (seats held in exactly the sessions chosen,
//! the others cancelled with their waitlists promoted and the calendar told); staff add
//! sessions to an invitation and resend a declined one; an answer changing while staff revoke
//! neither deadlocks nor leaves a seat behind.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::calendars::{ics_of, invite, respond, token_for};
use crate::support::fixtures::{self as fx, wait_for_mail, wait_for_mails};
use crate::support::{expect_json, expect_problem, TestApp};

async fn live_sessions(app: &TestApp, email: &str) -> Vec<Option<String>> {
    fx::texts(
        app,
        &format!(
            "SELECT r.session_id::text AS v FROM registrations r JOIN people p ON p.id = r.person_id \
             WHERE p.email = '{email}' AND r.status IN ('confirmed', 'waitlisted') \
             ORDER BY r.session_id"
        ),
    )
    .await
}

fn ids(sessions: &[Uuid]) -> Vec<Option<String>> {
    let mut v: Vec<Option<String>> = sessions.iter().map(|s| Some(s.to_string())).collect();
    v.sort();
    v
}

async fn answer(app: &TestApp, token: &str, body: Value) -> Value {
    expect_json(respond(app, token, body).await, StatusCode::OK).await
}

#[tokio::test]
async fn the_invitee_accepts_more_then_fewer_sessions_and_each_answer_replaces_the_last() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let to = "changes@example.org";
    invite(&app, &d, &d.closed, to).await;
    let token = token_for(&app, to).await;
    let (a, b) = (d.closed[0], d.closed[1]);

    answer(
        &app,
        &token,
        json!({"response": "accept", "session_ids": [a]}),
    )
    .await;
    assert_eq!(live_sessions(&app, to).await, ids(&[a]));

    // More: both sessions, from the same link.
    let body = answer(
        &app,
        &token,
        json!({"response": "accept", "session_ids": [a, b]}),
    )
    .await;
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["registrations"].as_array().unwrap().len(), 2);
    assert_eq!(live_sessions(&app, to).await, ids(&[a, b]));
    let held = wait_for_mails(&app, to, "You're registered", 2).await;
    let held = ics_of(held.last().unwrap());
    assert_eq!(held.entries.len(), 2);

    // Fewer: the seat in the first is cancelled and its entry leaves the calendar.
    answer(
        &app,
        &token,
        json!({"response": "accept", "session_ids": [b]}),
    )
    .await;
    assert_eq!(live_sessions(&app, to).await, ids(&[b]));
    let removals = wait_for_mails(&app, to, "Calendar update", 2).await;
    let cancel = removals
        .iter()
        .map(ics_of)
        .find(|c| c.uids() == vec![format!("{a}@convene")])
        .expect("a CANCEL of the first session");
    assert_eq!(cancel.method, "CANCEL");
    assert!(cancel.entry(a).sequence > held.entry(a).sequence);

    // The same answer again (a retried request) changes nothing and sends nothing more.
    let emails = fx::count(&app, "SELECT count(*) AS n FROM emails").await;
    answer(
        &app,
        &token,
        json!({"response": "accept", "session_ids": [b]}),
    )
    .await;
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM emails").await,
        emails
    );

    // Decline all: every seat given up.
    let body = answer(&app, &token, json!({"response": "decline"})).await;
    assert_eq!(body["status"], "declined");
    assert!(live_sessions(&app, to).await.is_empty());
    let cancel = ics_of(&wait_for_mail(&app, to, "Thank you for your answer").await);
    assert_eq!(cancel.uids(), vec![format!("{b}@convene")]);

    // And back: accepting again after declining.
    answer(&app, &token, json!({"response": "accept"})).await;
    assert_eq!(live_sessions(&app, to).await, ids(&[a, b]));

    // The page behind the link offers the change.
    let page = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("You can change your answer until"), "{page}");
    assert!(page.contains("<form method=\"post\">"));
}

#[tokio::test]
async fn giving_up_a_seat_by_a_new_answer_promotes_the_waitlist() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let a = d.closed[0];
    app.sql(&format!(
        "UPDATE sessions SET capacity = 1, waitlist = true WHERE id = '{a}'"
    ))
    .await;
    let (first, second) = ("first@example.org", "second@example.org");
    invite(&app, &d, &[a], first).await;
    invite(&app, &d, &[a], second).await;
    let first_token = token_for(&app, first).await;
    let second_token = token_for(&app, second).await;
    answer(&app, &first_token, json!({"response": "accept"})).await;
    let body = answer(&app, &second_token, json!({"response": "accept"})).await;
    assert_eq!(body["registrations"][0]["status"], "waitlisted");

    answer(&app, &first_token, json!({"response": "decline"})).await;
    assert_eq!(
        fx::text(
            &app,
            &format!(
                "SELECT r.status AS v FROM registrations r JOIN people p ON p.id = r.person_id \
                 WHERE p.email = '{second}'"
            )
        )
        .await
        .as_deref(),
        Some("confirmed")
    );
    wait_for_mail(&app, second, "A seat is yours").await;
}

#[tokio::test]
async fn after_the_deadline_the_answer_is_final() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let to = "final@example.org";
    invite(&app, &d, &d.closed, to).await;
    let token = token_for(&app, to).await;
    answer(&app, &token, json!({"response": "accept"})).await;
    app.sql("UPDATE invitations SET expires_at = now() - interval '1 minute'")
        .await;
    expect_problem(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::CONFLICT,
        "answer_final",
    )
    .await;
    assert_eq!(live_sessions(&app, to).await, ids(&d.closed));
}

#[tokio::test]
async fn staff_add_sessions_to_an_invitation_and_resend_a_declined_one() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let (a, b) = (d.closed[0], d.closed[1]);
    let to = "added@example.org";
    let id = invite(&app, &d, &[a], to).await;
    let token = token_for(&app, to).await;
    answer(&app, &token, json!({"response": "accept"})).await;

    // Only the event's staff.
    let stranger = app.user("organizer").await;
    expect_problem(
        app.post(
            &format!("/invitations/{id}/sessions"),
            stranger.token(),
            json!({"session_ids": [b]}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Bad input changes nothing.
    expect_problem(
        app.post(
            &format!("/invitations/{id}/sessions"),
            d.staff.token(),
            json!({"session_ids": [a, d.public]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let item = expect_json(
        app.post(
            &format!("/invitations/{id}/sessions"),
            d.staff.token(),
            json!({"session_ids": [b]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        item["status"], "accepted",
        "the answer for the first stands"
    );
    assert_eq!(item["sessions"].as_array().unwrap().len(), 2);
    let mails = wait_for_mails(&app, to, "Invitation:", 2).await;
    let offer = ics_of(mails.last().unwrap());
    assert_eq!(
        offer.uids(),
        vec![format!("{b}@convene")],
        "only what is new"
    );
    let new_token = token_for(&app, to).await;
    assert_ne!(new_token, token);
    assert_eq!(live_sessions(&app, to).await, ids(&[a]), "the seat is kept");
    answer(
        &app,
        &new_token,
        json!({"response": "accept", "session_ids": [a, b]}),
    )
    .await;
    assert_eq!(live_sessions(&app, to).await, ids(&[a, b]));

    // Declined, then resent: pending again, with a new link.
    answer(&app, &new_token, json!({"response": "decline"})).await;
    let item = expect_json(
        app.post(
            &format!("/invitations/{id}/resend"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(item["status"], "pending");
    wait_for_mails(&app, to, "Invitation:", 3).await;
    let third = token_for(&app, to).await;
    answer(
        &app,
        &third,
        json!({"response": "accept", "session_ids": [b]}),
    )
    .await;
    assert_eq!(live_sessions(&app, to).await, ids(&[b]));
}

#[tokio::test]
async fn an_answer_changing_while_staff_revoke_neither_deadlocks_nor_leaves_a_seat() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let to = "race@example.org";
    let id = invite(&app, &d, &d.closed, to).await;
    let token = token_for(&app, to).await;
    answer(&app, &token, json!({"response": "accept"})).await;

    let url = app.api(&format!("/invitations/by-token/{token}/respond"));
    let answers = (0..12).map(|i| {
        let (client, url) = (app.client.clone(), url.clone());
        let body = match i % 3 {
            0 => json!({"response": "decline"}),
            1 => json!({"response": "accept", "session_ids": [d.closed[1]]}),
            _ => json!({"response": "accept"}),
        };
        tokio::spawn(async move {
            client
                .post(&url)
                .json(&body)
                .send()
                .await
                .expect("sent")
                .status()
        })
    });
    let answers: Vec<_> = answers.collect();
    let revoke = app
        .post(
            &format!("/invitations/{id}/revoke"),
            d.staff.token(),
            json!({}),
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::OK);
    let statuses = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(answers),
    )
    .await
    .expect("no deadlock");
    for status in statuses {
        let status = status.expect("task");
        assert!(
            status == StatusCode::OK || status == StatusCode::GONE,
            "answered or refused as revoked: {status}"
        );
    }
    assert!(
        live_sessions(&app, to).await.is_empty(),
        "no seat after revocation"
    );
    assert_eq!(
        fx::text(&app, "SELECT status AS v FROM invitations")
            .await
            .as_deref(),
        Some("revoked")
    );
}
