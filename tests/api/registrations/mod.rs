//! Registrations over HTTP: public sign-up, confirmation, seats and the waitlist,
//! cancellation, moderation, check-in, staff lists, reports, idempotency and the pages.

mod access;
mod capacity;
mod flow;
mod organisations;
mod pages;
mod staff;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

pub use crate::support::fixtures::{registration_status, unique_email};
use crate::support::fixtures::{token_of, wait_for_mail};
use crate::support::{expect_json, TestApp};

/// An anonymous registration; asserts the one answer anyone gets (202 `pending_confirmation`,
/// which says nothing of the address) and answers the registration the request left, read from
/// the database (`id`, `session_id`, `status`), for tests that follow it.
pub async fn register_anon(app: &TestApp, session_id: Uuid, email: &str) -> Value {
    let res = app
        .post(
            &format!("/sessions/{session_id}/registrations"),
            None,
            json!({"email": email, "name": "Aiko Tanaka", "country": "JP"}),
        )
        .await;
    let answer = expect_json(res, StatusCode::ACCEPTED).await;
    assert_eq!(answer, json!({"status": "pending_confirmation"}));
    registration_of(app, session_id, email).await
}

/// The live registration of `email` in the session, as `{"id", "session_id", "status"}`.
pub async fn registration_of(app: &TestApp, session_id: Uuid, email: &str) -> Value {
    let row = crate::support::fixtures::pg(app)
        .await
        .query_one(
            "SELECT r.id::text, r.status FROM registrations r JOIN people p ON p.id = r.person_id \
             WHERE r.session_id::text = $1 AND p.email = $2 \
               AND r.status NOT IN ('cancelled', 'rejected')",
            &[&session_id.to_string(), &email.to_lowercase()],
        )
        .await
        .expect("the registration");
    json!({
        "id": row.get::<_, String>(0),
        "session_id": session_id.to_string(),
        "status": row.get::<_, String>(1),
    })
}

/// The token of the newest confirmation email to `email`.
pub async fn confirm_token(app: &TestApp, email: &str) -> String {
    let mail = wait_for_mail(app, email, "Confirm your registration").await;
    let link = mail
        .first_link("http://127.0.0.1:8080/registrations/confirm?token=")
        .expect("confirmation link");
    token_of(&link)
}

pub async fn confirm(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/registrations/confirm", None, json!({"token": token}))
        .await
}

/// Registers anonymously and confirms through the emailed token; answers the confirmation.
pub async fn register_and_confirm(app: &TestApp, session_id: Uuid, email: &str) -> Value {
    register_anon(app, session_id, email).await;
    let token = confirm_token(app, email).await;
    expect_json(confirm(app, &token).await, StatusCode::OK).await
}

/// The cancel link of the newest email to `email` that has one.
pub async fn cancel_link(app: &TestApp, email: &str) -> String {
    let mails = app.smtp.messages_to(email);
    mails
        .iter()
        .rev()
        .find_map(|m| m.first_link("http://127.0.0.1:8080/registrations/"))
        .filter(|l| l.contains("/cancel?token="))
        .expect("an email with a cancel link")
}

/// The path and query of an emailed link, to open it on the test server.
pub fn local(link: &str) -> String {
    let url = url::Url::parse(link).expect("link");
    match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_owned(),
    }
}
