//! The event lifecycle: only legal transitions, and cancelling emails every registrant and
//! invitee once.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn lifecycle_allows_only_legal_transitions() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let t = organizer.token();
    let go = |id: &str, action: &str| format!("/events/{id}/{action}");

    // draft → published → completed
    let a = new_event(&app, &organizer, "A").await;
    let a = a["id"].as_str().unwrap();
    let conflict = expect_problem(
        app.post(&go(a, "complete"), t, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(
        conflict["detail"].as_str().unwrap().contains("draft"),
        "{conflict}"
    );
    let published = expect_json(
        app.post(&go(a, "publish"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());
    let again = expect_problem(
        app.post(&go(a, "publish"), t, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(
        again["detail"].as_str().unwrap().contains("published"),
        "{again}"
    );
    let done = expect_json(
        app.post(&go(a, "complete"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "completed");
    for action in ["publish", "cancel", "complete"] {
        let p = expect_problem(
            app.post(&go(a, action), t, json!({})).await,
            StatusCode::CONFLICT,
            "invalid_transition",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("completed"), "{p}");
    }

    // draft → cancelled
    let b = new_event(&app, &organizer, "B").await;
    let b = b["id"].as_str().unwrap();
    let cancelled = expect_json(
        app.post(&go(b, "cancel"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    for action in ["publish", "cancel", "complete"] {
        let p = expect_problem(
            app.post(&go(b, action), t, json!({})).await,
            StatusCode::CONFLICT,
            "invalid_transition",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("cancelled"), "{p}");
    }
    // A draft cancelled before publication stays hidden from the public.
    expect_problem(
        app.get(&format!("/events/{b}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // published → cancelled: still public, marked cancelled.
    let c = new_event(&app, &organizer, "C").await;
    let c = c["id"].as_str().unwrap();
    fx::api_publish(&app, &organizer, c).await;
    expect_json(
        app.post(&go(c, "cancel"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let public = expect_json(app.get(&format!("/events/{c}"), None).await, StatusCode::OK).await;
    assert_eq!(public["status"], "cancelled");

    expect_problem(
        app.post(&go(&Uuid::now_v7().to_string(), "publish"), t, json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn cancelling_emails_every_registrant_and_invitee_once() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let (event_id, closed_id, public_id) = published_dialogue(&app, &organizer).await;
    let a = fx::person(&app, "alice@example.org", "Alice").await;
    let b = fx::person(&app, "bob@example.org", "Bob").await;
    let c = fx::person(&app, "carol@example.org", "Carol").await;
    let d = fx::person(&app, "dan@example.org", "Dan").await;
    // Alice: confirmed in one session, waitlisted in the other, invited too: one email.
    fx::registration(&app, &public_id, &a.to_string(), "confirmed").await;
    fx::registration(&app, &closed_id, &a.to_string(), "waitlisted").await;
    // Bob cancelled: no email. Carol: a pending invitation. Dan: a declined one, no email.
    fx::registration(&app, &public_id, &b.to_string(), "cancelled").await;
    for (person, status) in [(a, "accepted"), (c, "pending"), (d, "declined")] {
        fx::invitation(&app, &event_id, person, status, &[]).await;
    }
    let cancelled = expect_json(
        app.post(
            &format!("/events/{event_id}/cancel"),
            organizer.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let mail = app.smtp.wait_for(2, Duration::from_secs(20)).await;
    let mut to: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["alice@example.org", "carol@example.org"]);
    let alice = &app.smtp.messages_to("alice@example.org")[0];
    assert!(alice.subject().contains("Cancelled"), "{}", alice.subject());
    assert!(alice.text_body().contains("Japan National Dialogue 2027"));
    assert!(alice.text_body().contains("JST"), "local time in the email");

    use convene::db::schema::emails;
    let mut conn = app.pool.get().await.unwrap();
    let keys: Vec<Option<String>> = emails::table
        .filter(emails::kind.eq("event_cancelled"))
        .select(emails::dedupe_key)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&Some(format!("event-cancelled:{event_id}:{a}"))));
}
