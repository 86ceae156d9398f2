//! Reminders to answer: sent when due, withdrawn by an answer, moved with their session.

use std::time::Duration;

use chrono::Utc;
use convene::events::local_time::{format_local, format_range};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures::{self as fx, wait_for_mail};
use crate::support::{expect_json, TestApp};

use super::*;

/// Polls an SQL count until it reaches `expected`.
async fn wait_for_count(app: &TestApp, sql: &str, expected: i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = fx::count(app, sql).await;
        if n == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {n}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn reminders_go_out_when_due_and_are_withdrawn_by_an_answer() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let days = app.settings.worker.invitation_reminder_days;
    let expires_at = Utc::now() + chrono::Duration::days(days) + chrono::Duration::minutes(1);
    let created = invite(
        &app,
        &d,
        json!({
            "session_ids": d.closed,
            "invitees": [invitee("quiet@example.org", "Ms Quiet"), invitee("prompt@example.org", "Mr Prompt")],
            "expires_at": expires_at,
        }),
    )
    .await;
    let quiet_id = created["invitations"][0]["id"].as_str().unwrap().to_owned();
    // Due `invitation_reminder_days` before the expiry: one minute from now.
    let due = fx::count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM emails WHERE dedupe_key = 'invitation-reminder:{quiet_id}:1' \
             AND abs(extract(epoch FROM next_attempt_at - (now() + interval '1 minute'))) < 30"
        ),
    )
    .await;
    assert_eq!(
        due, 1,
        "the reminder is scheduled for expires_at - {days} days"
    );

    // Mr Prompt answers: his reminder is withdrawn.
    let prompt = invitation_token(&app, "prompt@example.org").await;
    expect_json(
        respond(&app, &prompt, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;

    // Time passes (the due time is moved, not the clock): Ms Quiet's reminder goes out.
    app.sql("UPDATE emails SET next_attempt_at = now() WHERE kind = 'invitation_reminder' AND status = 'queued'")
        .await;
    let reminder = wait_for_mail(&app, "quiet@example.org", "Reminder:").await;
    let text = reminder.text_body();
    assert!(text.contains("not yet"), "{text}");
    assert!(text.contains(&format_local(expires_at, &tokyo())));
    // The reminder's link was minted when it was sent (no queued row held a usable token):
    // another link to the same invitation, and the first email's link still works.
    let quiet = invitation_token(&app, "quiet@example.org").await;
    let again = token_in(&app, &reminder);
    assert_ne!(again, quiet, "the reminder carries a link of its own");
    let by_reminder = expect_json(
        app.get(&format!("/invitations/by-token/{again}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    let by_invitation = expect_json(
        app.get(&format!("/invitations/by-token/{quiet}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        by_reminder, by_invitation,
        "both links open the same invitation"
    );
    assert!(app
        .smtp
        .messages_to("prompt@example.org")
        .iter()
        .all(|m| !m.subject().starts_with("Reminder:")));
    let prompt_reminder = fx::text(
        &app,
        "SELECT e.status AS v FROM emails e JOIN invitations i ON e.dedupe_key = 'invitation-reminder:' || i.id || ':1' \
         JOIN people p ON p.id = i.person_id WHERE p.email = 'prompt@example.org'",
    )
    .await;
    assert_eq!(prompt_reminder.as_deref(), Some("cancelled"));

    // The staff list counts delivered reminders.
    wait_for_count(
        &app,
        "SELECT count(*) AS n FROM emails WHERE kind = 'invitation_reminder' AND status = 'sent'",
        1,
    )
    .await;
    let list = expect_json(
        app.get(
            &format!("/events/{}/invitations?status=pending", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["reminders_sent"], 1);
    assert!(list["items"][0]["last_reminded_at"].is_string());
}

/// Moving a session brings its scheduled "tomorrow" reminders along: due 24 hours before the
/// new start and saying the new time; withdrawn when the new start is less than a day away.
#[tokio::test]
async fn moving_a_session_moves_its_reminders() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[0]], "invitees": [invitee("hoshino@example.org", "Prof. Hoshino")]}),
    )
    .await;
    let token = invitation_token(&app, "hoshino@example.org").await;
    let answer = expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    let registration = answer["registrations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reminder = |column: &str| {
        format!(
            "SELECT {column} AS v FROM emails WHERE dedupe_key = 'session-reminder:{registration}'"
        )
    };
    let due = "to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')";

    let later = d.starts[0] + chrono::Duration::days(2);
    expect_json(
        app.patch(
            &format!("/sessions/{}", d.closed[0]),
            d.staff.token(),
            json!({"starts_at": later, "ends_at": later + chrono::Duration::hours(2)}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        fx::text(&app, &reminder(due)).await.as_deref(),
        Some(
            (later - chrono::Duration::hours(24))
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
                .as_str()
        )
    );
    let body = fx::text(&app, &reminder("text_body")).await.unwrap();
    let new_time = format_range(later, later + chrono::Duration::hours(2), &tokyo());
    assert!(body.contains(&new_time), "{new_time} missing: {body}");

    let soon = fx::days_ahead(0) + chrono::Duration::hours(12);
    expect_json(
        app.patch(
            &format!("/sessions/{}", d.closed[0]),
            d.staff.token(),
            json!({"starts_at": soon, "ends_at": soon + chrono::Duration::hours(2)}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        fx::text(&app, &reminder("status")).await.as_deref(),
        Some("cancelled")
    );
}
