//! Sessions: times in UTC with local extras, validated; raising capacity promotes the
//! waitlist; deleting needs no registrations.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

/// The statuses of the "session is tomorrow" reminders of a registration.
async fn reminder_statuses(app: &TestApp, registration_id: Uuid) -> Vec<String> {
    use convene::db::schema::emails;
    let mut conn = app.pool.get().await.expect("connection");
    emails::table
        .filter(emails::dedupe_key.eq(format!("session-reminder:{registration_id}")))
        .select(emails::status)
        .load(&mut conn)
        .await
        .expect("reminders")
}

#[tokio::test]
async fn session_times_are_utc_with_local_extras_and_validated() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let event = new_event(&app, &lead, "Times").await;
    let id = event["id"].as_str().unwrap();

    let s = fx::api_session(
        &app,
        &lead,
        id,
        json!({
            "title": "Morning", "access": "closed",
            "starts_at": "2022-02-18T09:30:00+09:00", "ends_at": "2022-02-18T12:00:00+09:00"
        }),
    )
    .await;
    assert_eq!(s["starts_at"], "2022-02-18T00:30:00Z");
    assert_eq!(s["ends_at"], "2022-02-18T03:00:00Z");
    assert_eq!(s["starts_at_local"], "2022-02-18T09:30:00+09:00");
    assert_eq!(s["ends_at_local"], "2022-02-18T12:00:00+09:00");
    assert_eq!(
        s["chatham_house"], true,
        "closed sessions default to Chatham House"
    );
    assert!(s["capacity"].is_null(), "unlimited");
    assert_eq!(s["waitlist"], true);
    assert_eq!(s["requires_approval"], false);
    assert_eq!(s["speakers"], json!([]));
    assert_eq!(s["event_id"], id);

    // A wall-clock time without offset is read in the event's zone.
    let p = fx::api_session(
        &app,
        &lead,
        id,
        json!({
            "title": "Seminar", "access": "public",
            "starts_at": "2022-02-18T16:00", "ends_at": "2022-02-18T18:00", "capacity": 0
        }),
    )
    .await;
    assert_eq!(p["starts_at"], "2022-02-18T07:00:00Z");
    assert_eq!(
        p["chatham_house"], false,
        "public sessions default to on the record"
    );
    assert_eq!(p["capacity"], 0);
    let ch = fx::api_session(
        &app,
        &lead,
        id,
        json!({
            "title": "Public under the rule", "access": "public", "chatham_house": true,
            "starts_at": "2022-02-18T18:00:00Z", "ends_at": "2022-02-18T19:00:00Z"
        }),
    )
    .await;
    assert_eq!(ch["chatham_house"], true);

    for (body, field) in [
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T11:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T12:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-03-18T12:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "1999-02-18T12:00:00Z", "ends_at": "1999-02-18T13:00:00Z"}),
            "starts_at",
        ),
        (
            json!({"title": "x", "access": "semi", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z"}),
            "access",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "18/02/2022", "ends_at": "2022-02-18T13:00:00Z"}),
            "starts_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z", "capacity": -1}),
            "capacity",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z", "registration_closes_at": "2022-02-18T13:30:00Z"}),
            "registration_closes_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z", "registration_opens_at": "2022-02-10T00:00:00Z", "registration_closes_at": "2022-02-09T00:00:00Z"}),
            "registration_opens_at",
        ),
        (
            json!({"access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z"}),
            "title",
        ),
    ] {
        let res = app
            .post(
                &format!("/events/{id}/sessions"),
                lead.token(),
                body.clone(),
            )
            .await;
        let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{body}: {p}");
    }
    // The window may close right at the end.
    fx::api_session(&app, &lead, id, json!({
        "title": "Window", "access": "public",
        "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z",
        "registration_opens_at": "2022-02-01T00:00:00Z", "registration_closes_at": "2022-02-18T13:00:00Z"
    }))
    .await;

    // PATCH re-checks the combined times.
    let sid = s["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/sessions/{sid}"),
            lead.token(),
            json!({"ends_at": "2022-02-18T09:00:00+09:00"}),
        )
        .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let moved = expect_json(
        app.patch(
            &format!("/sessions/{sid}"),
            lead.token(),
            json!({"starts_at": "2022-02-18T10:00", "description": "now with text"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["starts_at_local"], "2022-02-18T10:00:00+09:00");
    assert_eq!(moved["ends_at"], "2022-02-18T03:00:00Z");
    assert_eq!(moved["description"], "now with text");
    expect_problem(
        app.patch(
            &format!("/sessions/{}", Uuid::now_v7()),
            lead.token(),
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.patch("/sessions/not-an-id", lead.token(), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn raising_capacity_promotes_the_waitlist_and_deleting_needs_no_registrations() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let (_, closed_id, public_id) = published_dialogue(&app, &lead).await;
    app.sql(&format!(
        "UPDATE sessions SET capacity = 1 WHERE id = '{public_id}'"
    ))
    .await;
    let p1 = fx::person(&app, "p1@example.org", "P1").await.to_string();
    let p2 = fx::person(&app, "p2@example.org", "P2").await.to_string();
    let p3 = fx::person(&app, "p3@example.org", "P3").await.to_string();
    fx::registration(&app, &public_id, &p1, "confirmed").await;
    let w1 = fx::registration(&app, &public_id, &p2, "waitlisted").await;
    let w2 = fx::registration(&app, &public_id, &p3, "waitlisted").await;
    app.sql(&format!("UPDATE registrations SET waitlist_seq = 1 WHERE id = '{w1}'; UPDATE registrations SET waitlist_seq = 2 WHERE id = '{w2}'")).await;

    let res = app
        .patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"capacity": 0}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "capacity_below_confirmed").await;
    let raised = expect_json(
        app.patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"capacity": 2}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(raised["capacity"], 2);
    assert_eq!(raised["confirmed_count"], 2);
    assert_eq!(
        fx::registration_status(&app, w1).await,
        "confirmed",
        "first in line promoted"
    );
    assert_eq!(fx::registration_status(&app, w2).await, "waitlisted");
    assert_eq!(
        reminder_statuses(&app, w1).await,
        vec!["queued".to_owned()],
        "a promotion schedules the session reminder"
    );
    assert!(reminder_statuses(&app, w2).await.is_empty());
    let unlimited = expect_json(
        app.patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"capacity": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(unlimited["capacity"].is_null());
    assert_eq!(unlimited["confirmed_count"], 3);
    assert_eq!(fx::registration_status(&app, w2).await, "confirmed");

    let res = app
        .patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"access": "closed"}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "session_has_registrations").await;
    let res = app
        .delete(&format!("/sessions/{public_id}"), lead.token())
        .await;
    expect_problem(res, StatusCode::CONFLICT, "session_has_registrations").await;
    let res = app
        .delete(&format!("/sessions/{closed_id}"), lead.token())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("/sessions/{closed_id}"), lead.token())
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}
