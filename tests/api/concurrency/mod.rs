//! Issue 21: races beyond seats. Each test releases concurrent requests together (behind a
//! barrier), for a few rounds, then checks its invariant in PostgreSQL; no request may answer
//! 500 (a deadlock is retried, or answers 503 with Retry-After).

mod cancel;
mod invitations;
mod sessions;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::support::fixtures::{self as fx, wait_for_mail};
use crate::support::{expect_json, TestApp, TestUser};

/// One request of a race: its label (for messages) and the future that sends it.
pub type Racer = (
    String,
    Pin<Box<dyn Future<Output = reqwest::Response> + Send>>,
);

/// An answer: status and body (JSON, or the text when not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    #[expect(dead_code, reason = "read through Debug in assertion messages")]
    pub label: String,
    pub status: StatusCode,
    pub body: Value,
}

/// Sends every request at once (each task waits on one barrier) and answers them in order.
/// Fails the test on any 500, and on a 503 without `Retry-After`.
pub async fn race(racers: Vec<Racer>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(racers.len()));
    let tasks: Vec<_> = racers
        .into_iter()
        .map(|(label, request)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let res = request.await;
                let status = res.status();
                let retry_after = res.headers().contains_key("retry-after");
                let text = res.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                assert!(
                    status != StatusCode::INTERNAL_SERVER_ERROR,
                    "{label} answered 500: {body}"
                );
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    assert!(retry_after, "{label}: a 503 says when to retry");
                }
                Answer {
                    label,
                    status,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("racer task"));
    }
    answers
}

/// A POST with a JSON body as a racer.
pub fn post(app: &TestApp, label: &str, path: &str, token: Option<&str>, body: Value) -> Racer {
    let mut request = app.client.post(app.api(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    (
        label.to_owned(),
        Box::pin(async move { request.send().await.expect("sent") }),
    )
}

/// An anonymous sign-up for `session` (a fresh address) as a racer: it asks for a
/// confirmation link and takes no seat.
pub fn walk_in(app: &TestApp, label: &str, session: Uuid) -> Racer {
    post(
        app,
        label,
        &format!("/sessions/{session}/registrations"),
        None,
        json!({"email": fx::unique_email("walk-in"), "name": "Walk-in"}),
    )
}

/// Cancels the event as `staff`; answers the cancelled event.
pub async fn cancel_event(app: &TestApp, staff: &TestUser, event_id: Uuid) -> Value {
    let res = app
        .post(
            &format!("/events/{event_id}/cancel"),
            staff.token(),
            json!({}),
        )
        .await;
    expect_json(res, StatusCode::OK).await
}

/// A PATCH with a JSON body as a racer.
pub fn patch(app: &TestApp, label: &str, path: &str, token: Option<&str>, body: Value) -> Racer {
    let mut request = app.client.patch(app.api(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    (
        label.to_owned(),
        Box::pin(async move { request.send().await.expect("sent") }),
    )
}

/// A DELETE as a racer.
pub fn delete(app: &TestApp, label: &str, path: &str, token: Option<&str>) -> Racer {
    let mut request = app.client.delete(app.api(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    (
        label.to_owned(),
        Box::pin(async move { request.send().await.expect("sent") }),
    )
}

/// Invites these addresses to these sessions of the dialogue; answers the invitation ids, in
/// the order of the addresses.
/// A published event with `staff` on its staff.
pub async fn staffed_event(app: &TestApp, staff: &TestUser) -> Uuid {
    let event_id = fx::event(app, fx::EventSpec::default()).await;
    fx::add_staff(app, event_id, staff).await;
    event_id
}

/// An event with two closed sessions (in ten and eleven days) and new people invited to both,
/// with their invitation tokens.
pub struct InvitedToTwo {
    pub event_id: Uuid,
    /// The later of the two sessions.
    pub second: Uuid,
    pub tokens: Vec<String>,
}

pub async fn invited_to_two_closed_sessions(
    app: &TestApp,
    staff: &TestUser,
    tag: &str,
    count: usize,
) -> InvitedToTwo {
    let event_id = staffed_event(app, staff).await;
    let first = fx::add_session(
        app,
        event_id,
        &fx::SessionSpec::closed("Closed session I", fx::days_ahead(10)),
    )
    .await;
    let second = fx::add_session(
        app,
        event_id,
        &fx::SessionSpec::closed("Closed session II", fx::days_ahead(11)),
    )
    .await;
    let emails: Vec<String> = (0..count)
        .map(|i| fx::unique_email(&format!("{tag}{i}")))
        .collect();
    invite(app, event_id, staff, &[first, second], &emails).await;
    let mut tokens = Vec::new();
    for email in &emails {
        tokens.push(invitation_token(app, email).await);
    }
    InvitedToTwo {
        event_id,
        second,
        tokens,
    }
}

pub async fn invite(
    app: &TestApp,
    event_id: Uuid,
    staff: &TestUser,
    sessions: &[Uuid],
    emails: &[String],
) -> Vec<String> {
    let invitees: Vec<Value> = emails
        .iter()
        .map(|e| json!({"email": e, "name": "Invited Person"}))
        .collect();
    let res = app
        .post(
            &format!("/events/{event_id}/invitations"),
            staff.token(),
            json!({"session_ids": sessions, "invitees": invitees}),
        )
        .await;
    let body = expect_json(res, StatusCode::CREATED).await;
    body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The token of the invitation emailed to `to`.
pub async fn invitation_token(app: &TestApp, to: &str) -> String {
    let mail = wait_for_mail(app, to, "Invitation:").await;
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail
        .first_link(&prefix)
        .unwrap_or_else(|| panic!("no invitation link in: {}", mail.text_body()));
    link[prefix.len()..].to_owned()
}

/// Accepts (all sessions) through the token; answers the body.
pub async fn accept(app: &TestApp, token: &str) -> Value {
    let res = app
        .post(
            &format!("/invitations/by-token/{token}/respond"),
            None,
            json!({"response": "accept"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    fx::count(app, sql).await
}
