//! The answer by token: accept all or some sessions, decline, one answer at a time under
//! concurrency, a full session refusing the acceptance, and cancelling the seat an answer gave.

use std::collections::HashSet;

use convene::events::local_time::format_range;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures::{self as fx, wait_for_mail, Dialogue, EventSpec, SessionSpec};
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn accepting_all_registers_confirms_by_email_and_schedules_reminders() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("hoshino@example.org", "Prof. Hoshino")]}),
    )
    .await;
    let token = invitation_token(&app, "hoshino@example.org").await;
    let body = expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["status"], "accepted");
    let registrations = body["registrations"].as_array().unwrap();
    assert_eq!(registrations.len(), 2);
    let sessions: HashSet<String> = registrations
        .iter()
        .map(|r| r["session_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sessions,
        d.closed
            .iter()
            .map(|s| s.to_string())
            .collect::<HashSet<_>>()
    );
    assert!(registrations.iter().all(|r| r["status"] == "confirmed"));
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM registrations WHERE status = 'confirmed' AND source = 'invitation' AND invitation_id IS NOT NULL"
        )
        .await,
        2
    );

    let mail = wait_for_mail(&app, "hoshino@example.org", "You're registered").await;
    let text = mail.text_body();
    assert!(
        text.contains(fx::CLOSED_ROOM_LINK),
        "the closed sessions' link: {text}"
    );
    assert!(
        !text.contains(fx::EVENT_LINK),
        "not the public seminar's: {text}"
    );
    assert!(text.contains(&format_range(
        d.starts[1],
        d.starts[1] + chrono::Duration::hours(2),
        &tokyo()
    )));
    let ics = parse_ics(&ics_of(&mail));
    assert_eq!(ics.method, "PUBLISH");
    assert_eq!(ics.events.len(), 2);

    // The invitation's reminder is withdrawn; a "tomorrow" reminder per session is scheduled.
    assert_eq!(
        email_status(&app, "invitation-reminder:").await,
        vec![Some("cancelled".into())]
    );
    for (i, registration) in registrations.iter().enumerate() {
        assert_eq!(
            registration["session_id"],
            d.closed[i].to_string(),
            "in start order"
        );
        let due = fx::text(
            &app,
            &format!(
                "SELECT to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') AS v \
                 FROM emails WHERE dedupe_key = 'session-reminder:{}' AND status = 'queued'",
                registration["id"].as_str().unwrap()
            ),
        )
        .await
        .expect("a session reminder is scheduled");
        assert_eq!(
            due,
            (d.starts[i] - chrono::Duration::hours(24))
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        );
    }

    // The same answer again (a retried request) changes nothing; a changed answer is
    // tests/api/invitation_answers.rs's.
    let again = expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["registrations"].as_array().unwrap().len(), 2);
    let view = expect_json(
        app.get(&format!("/invitations/by-token/{token}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["status"], "accepted");
    assert_eq!(view["sessions"][0]["accepted"], true);
    let list = expect_json(
        app.get(
            &format!("/events/{}/invitations?status=accepted", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0]["answered_at"].is_string());
}

#[tokio::test]
async fn accepting_some_sessions_registers_only_those() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("kanehara@example.org", "Dr Kanehara")]}),
    )
    .await;
    let token = invitation_token(&app, "kanehara@example.org").await;

    // Sessions the invitation does not offer, or none at all: 422 and nothing changes.
    let res = respond(
        &app,
        &token,
        json!({"response": "accept", "session_ids": [d.closed[1], d.public]}),
    )
    .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "session_ids[1]");
    let res = respond(
        &app,
        &token,
        json!({"response": "accept", "session_ids": []}),
    )
    .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let res = respond(&app, &token, json!({"response": "maybe"})).await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM registrations").await,
        0
    );

    let body = expect_json(
        respond(
            &app,
            &token,
            json!({"response": "accept", "session_ids": [d.closed[1]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["registrations"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["registrations"][0]["session_id"],
        d.closed[1].to_string()
    );
    assert_eq!(body["registrations"][0]["status"], "confirmed");
    let view = expect_json(
        app.get(&format!("/invitations/by-token/{token}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["sessions"][0]["accepted"], false);
    assert_eq!(view["sessions"][1]["accepted"], true);
    let mail = wait_for_mail(&app, "kanehara@example.org", "You're registered").await;
    let ics = parse_ics(&ics_of(&mail));
    assert_eq!(ics.events.len(), 1);
    assert!(ics.events[0].0.starts_with("Closed session II"));
}

#[tokio::test]
async fn declining_records_the_answer_and_thanks_the_invitee() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[0]], "invitees": [invitee("morada@example.org", "Dr Morada")]}),
    )
    .await;
    let token = invitation_token(&app, "morada@example.org").await;
    let body = expect_json(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body, json!({"status": "declined", "registrations": []}));
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM registrations").await,
        0
    );
    let mail = wait_for_mail(&app, "morada@example.org", "Thank you for your answer").await;
    assert!(mail.text_body().contains("cannot take part"));
    assert_eq!(
        email_status(&app, "invitation-reminder:").await,
        vec![Some("cancelled".into())]
    );
    // Declined twice (a retried request): nothing more is sent.
    let emails = fx::count(&app, "SELECT count(*) AS n FROM emails").await;
    expect_json(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM emails").await,
        emails
    );
    // A declined invitation can be withdrawn (it could still be answered again), once.
    let id = fx::text(&app, "SELECT id::text AS v FROM invitations")
        .await
        .unwrap();
    expect_json(
        app.post(
            &format!("/invitations/{id}/revoke"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.post(
            &format!("/invitations/{id}/revoke"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
}

#[tokio::test]
async fn fifty_concurrent_answers_with_one_token_are_taken_one_after_another() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({"session_ids": d.closed, "invitees": [invitee("rush@example.org", "Ms Rush")]}),
    )
    .await;
    let token = invitation_token(&app, "rush@example.org").await;
    let url = app.api(&format!("/invitations/by-token/{token}/respond"));
    let requests = (0..50).map(|i| {
        let client = app.client.clone();
        let url = url.clone();
        let answer = if i % 2 == 0 { "accept" } else { "decline" };
        tokio::spawn(async move {
            let res = client
                .post(&url)
                .json(&json!({"response": answer}))
                .send()
                .await
                .expect("sent");
            let status = res.status();
            let body: Value = res.json().await.expect("json");
            (status, body)
        })
    });
    let results: Vec<(StatusCode, Value)> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    // Each answer replaces the one before (the deadline is ahead): all are taken, one after
    // another, and the last one stands.
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::OK),
        "every answer is taken: {results:?}"
    );
    let status = fx::text(&app, "SELECT status AS v FROM invitations")
        .await
        .unwrap();
    let expected_registrations = if status == "accepted" { 2 } else { 0 };
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM registrations WHERE status IN ('confirmed', 'waitlisted')"
        )
        .await,
        expected_registrations
    );
}

/// The acceptance email carries a cancel link per session, like every registration email.
/// Cancelling through it withdraws the session reminder (inside `cancel`, whatever the path),
/// and the promoted waitlisted invitee is emailed and gets a reminder of their own.
#[tokio::test]
async fn cancelling_an_accepted_seat_by_its_link_withdraws_its_reminder_and_promotes() {
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
    invite(
        &app,
        &d,
        json!({"session_ids": [small], "invitees": [
            invitee("first@example.org", "First Invitee"),
            invitee("second@example.org", "Second Invitee"),
        ]}),
    )
    .await;
    let first = invitation_token(&app, "first@example.org").await;
    let second = invitation_token(&app, "second@example.org").await;
    let a = expect_json(
        respond(&app, &first, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    let b = expect_json(
        respond(&app, &second, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    let first_registration = a["registrations"][0]["id"].as_str().unwrap().to_owned();
    let second_registration = b["registrations"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(b["registrations"][0]["status"], "waitlisted");
    assert!(
        email_status(&app, &format!("session-reminder:{second_registration}"))
            .await
            .is_empty(),
        "no reminder for a waitlist place"
    );

    let mail = wait_for_mail(&app, "first@example.org", "You're registered").await;
    let prefix = format!(
        "{}/registrations/{first_registration}/cancel?token=",
        app.settings.public_url()
    );
    let link = mail
        .first_link(&prefix)
        .unwrap_or_else(|| panic!("no cancel link in: {}", mail.text_body()));
    let token = &link[prefix.len()..];
    let res = app
        .client
        .post(app.url(&format!("/registrations/{first_registration}/cancel")))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(
        email_status(&app, &format!("session-reminder:{first_registration}")).await,
        vec![Some("cancelled".into())]
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
    assert_eq!(
        email_status(&app, &format!("session-reminder:{second_registration}")).await,
        vec![Some("queued".into())]
    );
    let promoted = wait_for_mail(&app, "second@example.org", "A seat is yours").await;
    assert!(
        promoted.text_body().contains("/cancel?token="),
        "a cancel link"
    );
}

#[tokio::test]
async fn a_full_session_without_a_waitlist_refuses_the_acceptance_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let event_id = fx::event(&app, EventSpec::default()).await;
    let staff = app.user("organizer").await;
    fx::add_staff(&app, event_id, &staff).await;
    let start = fx::days_ahead(10);
    let full = fx::add_session(
        &app,
        event_id,
        &SessionSpec {
            capacity: Some(0),
            waitlist: false,
            ..SessionSpec::closed("Tiny room", start)
        },
    )
    .await;
    let open = fx::add_session(
        &app,
        event_id,
        &SessionSpec::closed("Big room", fx::days_ahead(11)),
    )
    .await;
    let d = Dialogue {
        event_id,
        staff,
        closed: vec![full, open],
        public: open,
        starts: vec![start],
    };
    invite(
        &app,
        &d,
        json!({"session_ids": [full, open], "invitees": [invitee("late@example.org", "Late")]}),
    )
    .await;
    let token = invitation_token(&app, "late@example.org").await;
    expect_problem(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::CONFLICT,
        "session_full",
    )
    .await;
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM registrations").await,
        0
    );
    // Still pending: the invitee may accept the other session.
    let body = expect_json(
        respond(
            &app,
            &token,
            json!({"response": "accept", "session_ids": [open]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["registrations"].as_array().unwrap().len(), 1);
}
