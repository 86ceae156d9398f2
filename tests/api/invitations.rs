//! Invitations over HTTP against a real SMTP server: bulk invitations and their emails, the
//! answer by token (all, some, decline; once under concurrency), resend, revoke, expiry,
//! reminders, the page behind the link, validation and authorisation.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use convene::events::local_time::{format_local, format_range};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures::{self as fx, wait_for_mail, Dialogue, EventSpec, SessionSpec};
use crate::support::smtp::ReceivedMail;
use crate::support::{expect_json, expect_problem, TestApp};

const WAIT: Duration = Duration::from_secs(30);

fn tokyo() -> chrono_tz::Tz {
    chrono_tz::Asia::Tokyo
}

async fn invite(app: &TestApp, d: &Dialogue, body: Value) -> Value {
    let res = app
        .post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            body,
        )
        .await;
    expect_json(res, StatusCode::CREATED).await
}

fn invitee(email: &str, name: &str) -> Value {
    json!({"email": email, "name": name})
}

/// The token of the invitation link in an email.
fn token_in(app: &TestApp, mail: &ReceivedMail) -> String {
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail
        .first_link(&prefix)
        .unwrap_or_else(|| panic!("no invitation link in: {}", mail.text_body()));
    link[prefix.len()..].to_owned()
}

/// Waits for the invitation email to `to` and answers its token.
async fn invitation_token(app: &TestApp, to: &str) -> String {
    let mail = wait_for_mail(app, to, "Invitation:").await;
    token_in(app, &mail)
}

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

fn ics_of(mail: &ReceivedMail) -> String {
    mail.attachments()
        .into_iter()
        .find(|(content_type, _)| content_type == "text/calendar")
        .map(|(_, content)| content)
        .unwrap_or_else(|| panic!("no text/calendar attachment in {}", mail.subject()))
}

/// A calendar parsed back: its METHOD and each VEVENT's SUMMARY and DTSTART (with params).
struct ParsedCalendar {
    method: String,
    events: Vec<(String, String)>,
}

fn parse_ics(text: &str) -> ParsedCalendar {
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("a valid iCalendar document");
    let method = calendar
        .properties
        .iter()
        .find(|p| p.name == "METHOD")
        .map(|p| p.val.as_str().to_owned())
        .unwrap_or_default();
    let events = calendar
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .map(|c| {
            let summary = c
                .find_prop("SUMMARY")
                .map(|p| p.val.as_str().to_owned())
                .unwrap_or_default();
            let start = c
                .find_prop("DTSTART")
                .map(|p| {
                    let tz = p
                        .params
                        .iter()
                        .find(|param| param.key == "TZID")
                        .and_then(|param| param.val.as_ref())
                        .map(|v| format!("TZID={}:", v.as_str()))
                        .unwrap_or_default();
                    format!("{tz}{}", p.val.as_str())
                })
                .unwrap_or_default();
            (summary, start)
        })
        .collect();
    ParsedCalendar { method, events }
}

async fn respond(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post(
        &format!("/invitations/by-token/{token}/respond"),
        None,
        body,
    )
    .await
}

async fn email_status(app: &TestApp, dedupe_prefix: &str) -> Vec<Option<String>> {
    fx::texts(
        app,
        &format!(
            "SELECT status AS v FROM emails WHERE dedupe_key LIKE '{dedupe_prefix}%' ORDER BY created_at"
        ),
    )
    .await
}

async fn row_counts(app: &TestApp) -> (i64, i64, i64) {
    (
        fx::count(app, "SELECT count(*) AS n FROM invitations").await,
        fx::count(app, "SELECT count(*) AS n FROM people").await,
        fx::count(app, "SELECT count(*) AS n FROM emails").await,
    )
}

// -------------------------------------------------------------------------------------------

#[tokio::test]
async fn bulk_invitations_email_each_invitee_a_personal_link_local_times_and_an_ics() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let body = invite(
        &app,
        &d,
        json!({
            "session_ids": d.closed,
            "invitees": [
                invitee("hoshino@example.org", "Prof. Yasunobu Hoshino"),
                invitee("Kanehara@Example.org", "Dr Atsuko Kanehara"),
                invitee("morada@example.org", "Dr Noel Morada"),
            ],
            "message": "We would value your perspective on early warning in the region."
        }),
    )
    .await;
    assert_eq!(body["created"], 3);
    assert_eq!(body["skipped"], json!([]));
    let invitations = body["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 3);
    assert_eq!(invitations[1]["email"], "kanehara@example.org");
    assert!(invitations.iter().all(|i| i["status"] == "pending"));

    let mails = app.smtp.wait_for(3, WAIT).await;
    assert_eq!(mails.len(), 3);
    for mail in &mails {
        assert_eq!(mail.to.len(), 1, "one recipient per message");
    }
    let mail = wait_for_mail(&app, "hoshino@example.org", "Invitation:").await;
    assert!(mail.subject().contains("Japan National Dialogue"));
    let text = mail.text_body();
    assert!(text.contains("Dear Prof. Yasunobu Hoshino,"), "{text}");
    assert!(text.contains("Closed session I: R2P in Japan"));
    assert!(text.contains("Closed session II: Early warning"));
    let first_local = format_range(
        d.starts[0],
        d.starts[0] + chrono::Duration::hours(2),
        &tokyo(),
    );
    assert!(first_local.ends_with("JST (Asia/Tokyo)"));
    assert!(
        text.contains(&first_local),
        "local time {first_local} missing: {text}"
    );
    assert!(text.contains("Chatham House rule"));
    assert!(text.contains("neither the identity nor the affiliation"));
    assert!(text.contains("We would value your perspective on early warning in the region."));
    // Default expiry: the start of the first session, shown in Tokyo time.
    assert!(text.contains(&format_local(d.starts[0], &tokyo())));
    assert!(
        !text.contains("zoom.example"),
        "no online link before registering"
    );
    assert!(mail.html_body().contains("Answer the invitation"));

    let ics = parse_ics(&ics_of(&mail));
    assert_eq!(
        ics.method, "PUBLISH",
        "docs/decisions/0012-calendar-method.md"
    );
    assert_eq!(ics.events.len(), 2);
    let local_start = d.starts[0]
        .with_timezone(&tokyo())
        .format("%Y%m%dT%H%M%S")
        .to_string();
    assert!(
        ics.events
            .iter()
            .any(|(summary, start)| summary.starts_with("Closed session I")
                && *start == format!("TZID=Asia/Tokyo:{local_start}")),
        "{:?}",
        ics.events
    );

    // The link works, for the API and the page.
    let token = token_in(&app, &mail);
    assert_eq!(token.len(), 43);
    let view = expect_json(
        app.get(&format!("/invitations/by-token/{token}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["status"], "pending");
    assert_eq!(view["invitee_name"], "Prof. Yasunobu Hoshino");
    assert_eq!(
        view["event"]["title"],
        "Japan National Dialogue on R2P and Atrocities Prevention"
    );
    assert!(view["event"]["slug"].is_string());
    assert_eq!(view["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(view["sessions"][0]["local_time"], first_local.as_str());
    assert_eq!(view["sessions"][0]["chatham_house"], true);
    assert_eq!(view["sessions"][1]["chatham_house"], false);
    assert_eq!(
        view["message"],
        "We would value your perspective on early warning in the region."
    );
    assert_eq!(
        view["expires_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        d.starts[0]
    );
    assert!(view.get("online_url").is_none() && view["event"].get("online_url").is_none());
    let page = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // Only hashes are stored.
    assert_eq!(
        fx::count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM invitations WHERE token_hash = convert_to('{token}', 'UTF8')"
            )
        )
        .await,
        0
    );
    // The staff list shows them.
    let list = expect_json(
        app.get(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let item = &list["items"][0];
    for field in [
        "id",
        "email",
        "name",
        "status",
        "sessions",
        "sent_at",
        "created_at",
        "answered_at",
        "expires_at",
        "reminders_sent",
    ] {
        assert!(item.get(field).is_some(), "{field} missing from {item}");
    }
    assert_eq!(item["sessions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn three_hundred_invitees_in_one_request_one_row_and_one_email_each() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let invitees: Vec<Value> = (0..300)
        .map(|i| {
            invitee(
                &format!("participant{i}@example.org"),
                &format!("Participant {i}"),
            )
        })
        .collect();
    let request = json!({"session_ids": d.closed, "invitees": invitees});
    let res = app
        .client
        .post(app.api(&format!("/events/{}/invitations", d.event_id)))
        .bearer_auth(&d.staff.token)
        .header("Idempotency-Key", "bulk-300")
        .json(&request)
        .send()
        .await
        .unwrap();
    let body = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(body["created"], 300);
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM invitations").await,
        300
    );
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM invitation_sessions").await,
        600
    );
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM emails WHERE kind = 'invitation'"
        )
        .await,
        300
    );
    // Reminders are scheduled (due 3 days before the expiry), not sent.
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM emails WHERE kind = 'invitation_reminder' \
             AND status = 'queued' AND next_attempt_at > now() + interval '6 days'"
        )
        .await,
        300
    );

    // A retry with the same key replays the answer and invites nobody twice.
    let replay = app
        .client
        .post(app.api(&format!("/events/{}/invitations", d.event_id)))
        .bearer_auth(&d.staff.token)
        .header("Idempotency-Key", "bulk-300")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replayed = expect_json(replay, StatusCode::CREATED).await;
    assert_eq!(replayed, body);
    // The same key with another body is refused.
    let other = app
        .client
        .post(app.api(&format!("/events/{}/invitations", d.event_id)))
        .bearer_auth(&d.staff.token)
        .header("Idempotency-Key", "bulk-300")
        .json(&json!({"session_ids": d.closed, "invitees": [invitee("x@example.org", "X")]}))
        .send()
        .await
        .unwrap();
    expect_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    // Without a key, the same request skips everyone: already invited.
    let again = invite(&app, &d, request).await;
    assert_eq!(again["created"], 0);
    let skipped = again["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 300);
    assert!(skipped.iter().all(|s| s["reason"] == "already_invited"));
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM invitations").await,
        300
    );

    let mails = app.smtp.wait_for(300, Duration::from_secs(60)).await;
    let recipients: HashSet<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients.len(), 300, "one email per invitee");
    assert!(mails.iter().all(|m| m.to.len() == 1));
}

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
    app.sql("UPDATE invitations SET expires_at = now() - interval '1 minute'")
        .await;

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

#[tokio::test]
async fn invalid_requests_list_every_bad_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let elsewhere = fx::event(&app, EventSpec::default()).await;
    let foreign = fx::add_session(
        &app,
        elsewhere,
        &SessionSpec::closed("Elsewhere", fx::days_ahead(9)),
    )
    .await;
    let counts = row_counts(&app).await;
    let res = app
        .post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({
                "session_ids": [d.closed[0], d.public, foreign, Uuid::now_v7()],
                "invitees": [
                    invitee("good@example.org", "Good"),
                    invitee("not-an-email", "Bad"),
                    {"email": "org@example.org", "name": "Org", "organization_id": Uuid::now_v7()},
                    {"email": "noname@example.org"},
                    {"person_id": Uuid::now_v7()},
                ],
                "audience": {"organization_kinds": ["church"], "countries": ["ZZ"]},
                "message": "x".repeat(5000),
                "expires_at": "2020-01-01T00:00:00Z",
            }),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: HashSet<String> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for field in [
        "session_ids[1]",
        "session_ids[2]",
        "session_ids[3]",
        "invitees[1].email",
        "invitees[2].organization_id",
        "invitees[3].name",
        "invitees[4].person_id",
        "audience.organization_kinds[0]",
        "audience.countries[0]",
        "message",
        "expires_at",
    ] {
        assert!(fields.contains(field), "{field} missing from {fields:?}");
    }
    assert!(!fields.contains("session_ids[0]") && !fields.contains("invitees[0].email"));
    assert_eq!(row_counts(&app).await, counts, "nothing was written");

    // An expiry after the first session starts.
    let res = app
        .post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({
                "session_ids": d.closed,
                "invitees": [invitee("good@example.org", "Good")],
                "expires_at": d.starts[1],
            }),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "expires_at");
    // Nobody to invite; no sessions.
    let res = app
        .post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": []}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["session_ids", "invitees"]);
    assert_eq!(row_counts(&app).await, counts);
}

#[tokio::test]
async fn people_already_invited_or_registered_and_repeats_are_skipped_with_a_reason() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let registered = fx::person(&app, "registered@example.org", "Already Registered").await;
    fx::registration(&app, d.closed[1], registered, "confirmed").await;
    let known = fx::person(&app, "known@example.org", "Known Person").await;
    invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[0]], "invitees": [invitee("invited@example.org", "Invited")]}),
    )
    .await;

    let body = invite(
        &app,
        &d,
        json!({
            "session_ids": d.closed,
            "invitees": [
                invitee("invited@example.org", "Invited"),
                invitee("registered@example.org", "Already Registered"),
                invitee("new@example.org", "New Person"),
                invitee("NEW@example.org", "New Person again"),
                {"person_id": known},
                {"email": "known@example.org"},
            ],
        }),
    )
    .await;
    assert_eq!(body["created"], 2);
    let created: Vec<&str> = body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(created, vec!["new@example.org", "known@example.org"]);
    let skipped: Vec<(String, String)> = body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("new@example.org", "duplicate_in_request"),
        ("known@example.org", "duplicate_in_request"),
        ("invited@example.org", "already_invited"),
        ("registered@example.org", "already_registered"),
    ] {
        assert!(
            skipped.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {skipped:?}"
        );
    }
    // A known person keeps their name; a new one is created with the given name.
    assert_eq!(
        fx::text(
            &app,
            "SELECT name AS v FROM people WHERE email = 'new@example.org'"
        )
        .await
        .as_deref(),
        Some("New Person")
    );
    // A declined invitation does not block a new one.
    let token = invitation_token(&app, "invited@example.org").await;
    expect_json(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;
    let again = invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[0]], "invitees": [invitee("invited@example.org", "Invited")]}),
    )
    .await;
    assert_eq!(again["created"], 1);
}

#[tokio::test]
async fn an_audience_invites_the_people_of_active_member_organisations() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let sophia =
        fx::organization(&app, "Sophia University", "academia", Some("JP"), "active").await;
    let waseda =
        fx::organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let mofa = fx::organization(
        &app,
        "Ministry of Foreign Affairs",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let suspended = fx::organization(
        &app,
        "Dormant Institute",
        "academia",
        Some("JP"),
        "suspended",
    )
    .await;
    let seoul = fx::organization(
        &app,
        "Seoul National University",
        "academia",
        Some("KR"),
        "active",
    )
    .await;
    let focal = fx::person(&app, "focal@sophia.example", "Prof. Focal").await;
    let member = fx::person(&app, "member@sophia.example", "Dr Member").await;
    let both = fx::person(&app, "both@example.org", "Dr Both").await;
    let official = fx::person(&app, "official@mofa.example", "Mr Official").await;
    let dormant = fx::person(&app, "dormant@example.org", "Dr Dormant").await;
    let korean = fx::person(&app, "korean@snu.example", "Prof. Korean").await;
    fx::affiliate(&app, focal, sophia, true).await;
    fx::affiliate(&app, member, sophia, false).await;
    fx::affiliate(&app, both, sophia, false).await;
    fx::affiliate(&app, both, waseda, true).await;
    fx::affiliate(&app, official, mofa, true).await;
    fx::affiliate(&app, dormant, suspended, true).await;
    fx::affiliate(&app, korean, seoul, true).await;

    let body = invite(
        &app,
        &d,
        json!({
            "session_ids": [d.closed[0]],
            "invitees": [invitee("member@sophia.example", "Dr Member")],
            "audience": {"organization_kinds": ["academia"], "countries": ["jp"]},
        }),
    )
    .await;
    let emails: HashSet<String> = body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        emails,
        [
            "focal@sophia.example",
            "member@sophia.example",
            "both@example.org"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>()
    );
    assert_eq!(body["created"], 3);
    assert_eq!(
        body["skipped"],
        json!([]),
        "a person matched twice is invited once"
    );
    // Invited as a member of their organisation.
    assert_eq!(
        fx::text(
            &app,
            &format!(
                "SELECT organization_id::text AS v FROM invitations WHERE person_id = '{focal}'"
            )
        )
        .await,
        Some(sophia.to_string())
    );
    app.smtp.wait_for(3, WAIT).await;

    // By kind only, across countries.
    let body = invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[1]], "audience": {"organization_kinds": ["government"]}}),
    )
    .await;
    assert_eq!(body["created"], 1);
    assert_eq!(body["invitations"][0]["email"], "official@mofa.example");
    // An empty audience is refused rather than inviting the whole partnership.
    let res = app
        .post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": [d.closed[1]], "audience": {}}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "audience");

    // Accepting carries the organisation into the registration.
    let token = invitation_token(&app, "focal@sophia.example").await;
    expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        fx::text(&app, &format!("SELECT organization_name || '/' || country AS v FROM registrations WHERE person_id = '{focal}'")).await.as_deref(),
        Some("Sophia University/JP")
    );
}

#[tokio::test]
async fn staff_only_routes_answer_per_role() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let draft = fx::event(
        &app,
        EventSpec {
            status: "draft",
            ..EventSpec::default()
        },
    )
    .await;
    let draft_session = fx::add_session(
        &app,
        draft,
        &SessionSpec::closed("Draft closed", fx::days_ahead(10)),
    )
    .await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let admin = app.user("admin").await;
    let staff_member = app.user("member").await;
    fx::add_staff(&app, d.event_id, &staff_member).await;
    let body = |email: &str| json!({"session_ids": [d.closed[0]], "invitees": [invitee(email, "Someone")]});
    let create = format!("/events/{}/invitations", d.event_id);

    // Anonymous: 401 everywhere staff-only.
    expect_problem(
        app.post(&create, None, body("a@example.org")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.get(&create, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    // Not on the staff of a published event: 403; of a draft: 404.
    for user in [&member, &organizer] {
        expect_problem(
            app.post(&create, user.token(), body("a@example.org")).await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.get(&create, user.token()).await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/events/{draft}/invitations"),
                user.token(),
                json!({"session_ids": [draft_session], "invitees": [invitee("a@example.org", "A")]}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_problem(
        app.get(
            &format!("/events/{}/invitations", Uuid::now_v7()),
            admin.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Event staff (whatever their role) and admins may.
    let by_staff = expect_json(
        app.post(&create, staff_member.token(), body("s@example.org"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(&create, admin.token(), body("admin@example.org"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(app.get(&create, admin.token()).await, StatusCode::OK).await;
    expect_json(app.get(&create, staff_member.token()).await, StatusCode::OK).await;
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM invitations").await,
        2
    );

    // Resend and revoke: 401 anonymous, 404 to non-staff (an invitation's existence is private).
    let id = by_staff["invitations"][0]["id"].as_str().unwrap();
    for action in ["resend", "revoke"] {
        let path = format!("/invitations/{id}/{action}");
        expect_problem(
            app.post(&path, None, json!({})).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        )
        .await;
        expect_problem(
            app.post(&path, member.token(), json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.post(&path, organizer.token(), json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/invitations/{}/{action}", Uuid::now_v7()),
                admin.token(),
                json!({}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_json(
        app.post(
            &format!("/invitations/{id}/resend"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.post(
            &format!("/invitations/{id}/revoke"),
            admin.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // A cancelled event takes no new invitations.
    app.sql(&format!(
        "UPDATE events SET status = 'cancelled' WHERE id = '{}'",
        d.event_id
    ))
    .await;
    expect_problem(
        app.post(&create, admin.token(), body("late@example.org"))
            .await,
        StatusCode::CONFLICT,
        "event_not_open",
    )
    .await;
    // ... and its invitations can no longer be answered.
    let token = invitation_token(&app, "admin@example.org").await;
    expect_problem(
        app.get(&format!("/invitations/by-token/{token}"), None)
            .await,
        StatusCode::GONE,
        "event_not_open",
    )
    .await;
    expect_problem(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::GONE,
        "event_not_open",
    )
    .await;
    let page = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("no longer open"));
}

#[tokio::test]
async fn the_staff_list_pages_with_a_cursor_and_filters_by_status() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    for i in 0..5 {
        invite(
            &app,
            &d,
            json!({"session_ids": [d.closed[0]], "invitees": [invitee(&format!("p{i}@example.org"), "P")]}),
        )
        .await;
    }
    let token = invitation_token(&app, "p2@example.org").await;
    expect_json(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/events/{}/invitations?limit=2", d.event_id),
            Some(c) => format!("/events/{}/invitations?limit=2&cursor={c}", d.event_id),
        };
        let page = expect_json(app.get(&path, d.staff.token()).await, StatusCode::OK).await;
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        (0..5)
            .rev()
            .map(|i| format!("p{i}@example.org"))
            .collect::<Vec<_>>(),
        "newest first, each once"
    );
    let declined = expect_json(
        app.get(
            &format!("/events/{}/invitations?status=declined", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(declined["items"].as_array().unwrap().len(), 1);
    assert_eq!(declined["items"][0]["email"], "p2@example.org");
    expect_problem(
        app.get(
            &format!("/events/{}/invitations?status=maybe", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(
            &format!("/events/{}/invitations?cursor=nonsense", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn the_invitation_page_shows_the_offer_and_answers_only_on_post() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    invite(
        &app,
        &d,
        json!({
            "session_ids": d.closed,
            "invitees": [invitee("page@example.org", "Prof. <Page>"), invitee("nope@example.org", "Dr Nope")],
            "message": "Looking forward to <b>your</b> views.",
        }),
    )
    .await;
    let token = invitation_token(&app, "page@example.org").await;
    let page_url = app.url(&format!("/invitations/{token}"));

    // GET (twice, as a mail scanner might) shows the offer and changes nothing.
    for _ in 0..2 {
        let res = app.client.get(&page_url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = res.text().await.unwrap();
        assert!(html.contains("Japan National Dialogue on R2P and Atrocities Prevention"));
        assert!(html.contains("Closed session I: R2P in Japan"));
        let local = format_range(
            d.starts[0],
            d.starts[0] + chrono::Duration::hours(2),
            &tokyo(),
        );
        assert!(html.contains(&local), "{local} missing");
        assert!(html.contains("The Chatham House rule"));
        assert!(html.contains("Prof. &lt;Page&gt;"), "escaped name");
        assert!(html.contains("Looking forward to &lt;b&gt;your&lt;/b&gt; views."));
        // The form posts back to the page's own address: the token is not in the HTML.
        assert!(html.contains("<form method=\"post\">"));
        assert!(!html.contains(&token), "the token is written into the page");
        assert!(html.contains(&format!("value=\"{}\"", d.closed[0])));
        assert!(html.contains("value=\"accept\"") && html.contains("value=\"decline\""));
    }
    assert_eq!(
        fx::text(&app, "SELECT i.status AS v FROM invitations i JOIN people p ON p.id = i.person_id WHERE p.email = 'page@example.org'").await.as_deref(),
        Some("pending")
    );

    // Accepting with no session ticked re-displays the form.
    let res = app
        .client
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("response=accept")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Tick at least one session"));

    // Accept one session through the form.
    let res = app
        .client
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("session_ids={}&response=accept", d.closed[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("You're registered") || html.contains("You&#x27;re registered"),
        "{html}"
    );
    assert!(html.contains("Closed session II: Early warning"));
    assert!(html.contains("Registered"));
    assert!(!html.contains("Closed session I: R2P in Japan"));
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM registrations WHERE status = 'confirmed'"
        )
        .await,
        1
    );
    // Until the deadline a second POST changes the answer; GET shows it, with the form to
    // change it again.
    let res = app
        .client
        .post(&page_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("response=decline")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM registrations WHERE status = 'confirmed'"
        )
        .await,
        0
    );
    let html = app
        .client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("You declined this invitation"));
    assert!(html.contains("You can change your answer until"));
    assert!(html.contains("<form"));
    // Past the deadline the answer is shown, with no form.
    app.sql(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' \
         WHERE status = 'declined'",
    )
    .await;
    let html = app
        .client
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("You declined this invitation"));
    assert!(!html.contains("<form"));

    // Declining through the form.
    let nope = invitation_token(&app, "nope@example.org").await;
    let res = app
        .client
        .post(app.url(&format!("/invitations/{nope}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("session_ids={}&response=decline", d.closed[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("You declined"));

    // Unknown links get a friendly 404 page.
    let res = app
        .client
        .get(app.url("/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This invitation link is not valid"));
}

#[tokio::test]
async fn the_openapi_document_lists_the_invitation_routes() {
    let app = TestApp::spawn().await;
    let doc = expect_json(
        app.client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    for path in [
        "/api/v1/events/{id}/invitations",
        "/api/v1/invitations/by-token/{token}",
        "/api/v1/invitations/by-token/{token}/respond",
        "/api/v1/invitations/{id}/resend",
        "/api/v1/invitations/{id}/revoke",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["paths"]["/api/v1/events/{id}/invitations"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/events/{id}/invitations"]["post"].is_object());
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

/// The event report counts invitations: the funnel by status (a lapsed pending invitation is
/// expired) and the invitees' seats in the stakeholder balance of their sessions.
#[tokio::test]
async fn the_event_report_counts_invitations_and_the_seats_they_gave() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let ministry = fx::organization(
        &app,
        "Ministry of Foreign Affairs of Japan",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let created = invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[0]], "invitees": [
            {"email": "accepts@example.org", "name": "Accepts", "organization_id": ministry},
            invitee("declines@example.org", "Declines"),
            invitee("revoked@example.org", "Revoked"),
            invitee("lapses@example.org", "Lapses"),
            invitee("waits@example.org", "Waits"),
        ]}),
    )
    .await;
    let id_of = |email: &str| {
        created["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == email)
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let accepts = invitation_token(&app, "accepts@example.org").await;
    expect_json(
        respond(&app, &accepts, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    let declines = invitation_token(&app, "declines@example.org").await;
    expect_json(
        respond(&app, &declines, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.post(
            &format!("/invitations/{}/revoke", id_of("revoked@example.org")),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.sql(&format!(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = '{}'",
        id_of("lapses@example.org")
    ))
    .await;

    let report = expect_json(
        app.get(&format!("/events/{}/report", d.event_id), d.staff.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        report["invitations"],
        json!({"sent": 5, "accepted": 1, "declined": 1, "pending": 1, "expired": 1, "revoked": 1})
    );
    let closed = report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == d.closed[0].to_string())
        .expect("the closed session");
    assert_eq!(closed["counts"]["confirmed"], 1);
    assert_eq!(
        closed["confirmed_by_organization_kind"],
        json!({"government": 1})
    );
    assert_eq!(closed["confirmed_by_country"], json!({"JP": 1}));
}

/// `GET /me/invitations`: an account sees the invitations to its own address, never another's,
/// never a token; newest first, paged like every list.
#[tokio::test]
async fn an_account_lists_its_own_invitations() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let other = fx::dialogue(&app).await;
    let member = app.user("member").await;
    let stranger = app.user("member").await;
    let body = |sessions: Value| {
        json!({"session_ids": sessions, "invitees": [
            {"email": member.email, "name": "Member"},
            invitee("someone@example.org", "Someone"),
        ]})
    };
    // The first invitation is accepted before the second is sent.
    invite(&app, &d, body(json!([d.closed[0]]))).await;
    let token = invitation_token(&app, &member.email).await;
    expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    invite(&app, &other, body(json!(other.closed))).await;
    expect_problem(
        app.get("/me/invitations", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let none = expect_json(
        app.get("/me/invitations", stranger.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["items"], json!([]));

    let res = app.get("/me/invitations", member.token()).await;
    let text = res.text().await.unwrap();
    assert!(!text.contains(&token), "no token in the list");
    let mine: Value = serde_json::from_str(&text).unwrap();
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["event"]["id"],
        other.event_id.to_string(),
        "newest first"
    );
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(items[1]["status"], "accepted");
    assert_eq!(items[1]["sessions"][0]["accepted"], true);
    assert!(items[1]["sessions"][0]["local_time"]
        .as_str()
        .unwrap()
        .ends_with("(Asia/Tokyo)"));

    let first = expect_json(
        app.get("/me/invitations?limit=1", member.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"][0]["id"], items[0]["id"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = expect_json(
        app.get(
            &format!("/me/invitations?limit=1&cursor={cursor}"),
            member.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"][0]["id"], items[1]["id"]);
    assert!(second["next_cursor"].is_null());
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
