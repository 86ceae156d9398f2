//! Dialogues over HTTP: series, events and their lifecycle, staff-only changes, sessions,
//! speakers, partners, the public view of closed sessions, times, outcomes, the calendar feed
//! and the demo data.

mod access;
mod calendar;
mod closed_sessions;
mod demo;
mod events;
mod lifecycle;
mod listing;
mod outcomes;
mod partners;
mod series;
mod sessions;
mod speakers;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures as fx;
use crate::support::{expect_json, TestApp, TestUser};

fn event_body(title: &str) -> Value {
    json!({
        "title": title,
        "summary": "A national dialogue on R2P.",
        "country": "JP",
        "timezone": "Asia/Tokyo",
        "format": "hybrid",
        "venue": "Sophia University, Tokyo",
        "online_url": "https://meet.example.org/r2p-secret-room",
    })
}

async fn new_event(app: &TestApp, user: &TestUser, title: &str) -> Value {
    fx::api_event(app, user, event_body(title)).await
}

fn closed_session() -> Value {
    json!({
        "title": "Closed session: Vitalizing R2P in the Japanese context",
        "description": "Secret deliberations among invited professionals",
        "access": "closed",
        "starts_at": "2027-02-19T10:00:00+09:00",
        "ends_at": "2027-02-19T12:30:00+09:00",
        "capacity": 30,
        "online_url": CLOSED_ROOM,
    })
}

/// The closed session's own link; the public one uses the event's.
const CLOSED_ROOM: &str = "https://closed.example.org/room";

fn public_session() -> Value {
    json!({
        "title": "Public seminar: What can Japan do?",
        "description": "Open to all",
        "access": "public",
        "starts_at": "2027-02-19T14:00:00+09:00",
        "ends_at": "2027-02-19T16:30:00+09:00",
        "capacity": 100,
    })
}

async fn add_speaker(app: &TestApp, user: &TestUser, session_id: &str, body: Value) -> Value {
    expect_json(
        app.post(
            &format!("/sessions/{session_id}/speakers"),
            user.token(),
            body,
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// A published hybrid event with a closed session (with a speaker) and a public one (with a
/// speaker). Answers (event id, closed session id, public session id).
async fn published_dialogue(app: &TestApp, lead: &TestUser) -> (String, String, String) {
    let event = new_event(app, lead, "Japan National Dialogue 2027").await;
    let id = event["id"].as_str().unwrap().to_owned();
    let closed = fx::api_session(app, lead, &id, closed_session()).await;
    let public = fx::api_session(app, lead, &id, public_session()).await;
    let closed_id = closed["id"].as_str().unwrap().to_owned();
    let public_id = public["id"].as_str().unwrap().to_owned();
    add_speaker(
        app,
        lead,
        &closed_id,
        json!({"name": "Secret Speaker", "organization": "Hidden Ministry", "role": "presenter"}),
    )
    .await;
    add_speaker(
        app,
        lead,
        &public_id,
        json!({"name": "Prof. Daisaku Higashi", "organization": "Sophia University", "role": "presenter"}),
    )
    .await;
    fx::api_publish(app, lead, &id).await;
    (id, closed_id, public_id)
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// The only fields the public sees of a closed session.
const CLOSED_PUBLIC_KEYS: [&str; 5] = ["access", "ends_at", "id", "starts_at", "title"];
