//! Invitations over HTTP against a real SMTP server: bulk invitations and their emails, the
//! answer by token (all, some, decline; once under concurrency), resend, revoke, expiry,
//! reminders, the page behind the link, validation and authorisation.

mod access;
mod answer;
mod create;
mod expiry;
mod listing;
mod manage;
mod openapi;
mod page;
mod reminders;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures::{self as fx, wait_for_mail, Dialogue};
use crate::support::smtp::ReceivedMail;
use crate::support::{expect_json, TestApp};

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
