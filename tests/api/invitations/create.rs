//! Inviting: bulk invitations and their emails (a personal link, local times, an ICS), an
//! audience of member organisations, validation of every field, and who is skipped and why.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use convene::events::local_time::{format_local, format_range};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures::{self as fx, wait_for_mail, EventSpec, SessionSpec};
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

async fn row_counts(app: &TestApp) -> (i64, i64, i64) {
    (
        fx::count(app, "SELECT count(*) AS n FROM invitations").await,
        fx::count(app, "SELECT count(*) AS n FROM people").await,
        fx::count(app, "SELECT count(*) AS n FROM emails").await,
    )
}

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
