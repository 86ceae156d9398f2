//! Expiry: an overdue invitation answers 410 and can be resent; the sweep expires overdue
//! invitations and withdraws their reminders.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn an_expired_invitation_answers_410_and_can_be_resent() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let created = invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("late@example.org", "Mr Late")]}),
    )
    .await;
    let id = created["invitations"][0]["id"].as_str().unwrap().to_owned();
    let token = invitation_token(&app, "late@example.org").await;
    fx::expire_invitation(&app, &id).await;

    let problem = expect_problem(
        app.get(&format!("/invitations/by-token/{token}"), None)
            .await,
        StatusCode::GONE,
        "invitation_expired",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("expired on"));
    expect_problem(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::GONE,
        "invitation_expired",
    )
    .await;
    assert_eq!(
        fx::text(&app, "SELECT status AS v FROM invitations")
            .await
            .as_deref(),
        Some("expired")
    );
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM registrations").await,
        0
    );
    let page = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This invitation has expired"));
    let list = expect_json(
        app.get(
            &format!("/events/{}/invitations?status=expired", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Resent without a new expiry: the default (the first session's start) applies.
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
    assert_eq!(
        item["expires_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        d.starts[0]
    );
}

#[tokio::test]
async fn the_sweep_expires_overdue_invitations_and_withdraws_their_reminders() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("a@example.org", "A"), invitee("b@example.org", "B")]}),
    )
    .await;
    // One is overdue while its reminder is still queued (say, the worker was down).
    app.sql(
        "UPDATE invitations SET expires_at = now() - interval '1 hour' \
         WHERE person_id = (SELECT id FROM people WHERE email = 'a@example.org')",
    )
    .await;
    let mut conn = app.pool.get().await.expect("connection");
    let report = convene::invitations::reminders::sweep(&mut conn, None)
        .await
        .expect("sweep");
    assert_eq!(report.expired, 1);
    let statuses = fx::texts(
        &app,
        "SELECT i.status || '/' || e.status AS v FROM invitations i \
         JOIN people p ON p.id = i.person_id \
         JOIN emails e ON e.dedupe_key = 'invitation-reminder:' || i.id || ':1' ORDER BY p.email",
    )
    .await;
    assert_eq!(
        statuses,
        vec![
            Some("expired/cancelled".into()),
            Some("pending/queued".into())
        ]
    );
    let again = convene::invitations::reminders::sweep(&mut conn, None)
        .await
        .expect("sweep");
    assert_eq!(again.expired, 0);
}
