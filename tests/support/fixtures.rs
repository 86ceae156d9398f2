//! Rows the tests stand on, inserted straight into the test's database (events, sessions,
//! staff, organisations), so a module's tests do not depend on another module's routes.

use std::time::Duration;

use uuid::Uuid;

use super::smtp::ReceivedMail;
use super::TestApp;

/// How a test session is set up. Times are relative to now, in hours.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    pub title: &'static str,
    pub access: &'static str,
    pub capacity: Option<i32>,
    pub waitlist: bool,
    pub requires_approval: bool,
    /// `registration_opens_at` = now + this many hours (negative: in the past).
    pub opens_in_hours: Option<i64>,
    pub closes_in_hours: Option<i64>,
    pub starts_in_hours: i64,
    pub duration_hours: i64,
    pub event_status: &'static str,
    pub timezone: &'static str,
    pub format: &'static str,
    pub online_url: Option<&'static str>,
    pub venue: Option<&'static str>,
}

impl Default for SessionSpec {
    fn default() -> Self {
        SessionSpec {
            title: "Public seminar: R2P and atrocity prevention",
            access: "public",
            capacity: Some(100),
            waitlist: true,
            requires_approval: false,
            opens_in_hours: None,
            closes_in_hours: None,
            starts_in_hours: 24 * 7,
            duration_hours: 2,
            event_status: "published",
            timezone: "Asia/Tokyo",
            format: "online",
            online_url: Some("https://meet.example.org/r2p-seminar"),
            venue: None,
        }
    }
}

/// An event with one session.
#[derive(Debug, Clone)]
pub struct EventFixture {
    pub event_id: Uuid,
    pub session_id: Uuid,
    pub slug: String,
}

fn sql_text(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("'{}'", v.replace('\'', "''")),
        None => "NULL".to_owned(),
    }
}

fn sql_hours(hours: Option<i64>) -> String {
    match hours {
        Some(h) => format!("now() + interval '{h} hours'"),
        None => "NULL".to_owned(),
    }
}

/// Creates an event (status from the spec) with one session; returns their ids and the slug.
pub async fn published_event_with_session(app: &TestApp, spec: SessionSpec) -> EventFixture {
    let event_id = Uuid::now_v7();
    let slug = format!("japan-dialogue-{}", &event_id.simple().to_string()[20..]);
    app.sql(&format!(
        "INSERT INTO events (id, slug, title, country, timezone, format, venue, online_url, status)
         VALUES ('{event_id}', '{slug}', 'Japan National Dialogue on R2P 2022', 'JP', '{tz}',
                 '{format}', {venue}, {online}, '{status}')",
        tz = spec.timezone,
        format = spec.format,
        venue = sql_text(spec.venue),
        online = sql_text(spec.online_url),
        status = spec.event_status,
    ))
    .await;
    let session_id = add_session(app, event_id, &spec).await;
    EventFixture {
        event_id,
        session_id,
        slug,
    }
}

/// Adds a session to an event.
pub async fn add_session(app: &TestApp, event_id: Uuid, spec: &SessionSpec) -> Uuid {
    let session_id = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO sessions (id, event_id, title, access, starts_at, ends_at, capacity,
                               registration_opens_at, registration_closes_at, requires_approval,
                               waitlist, chatham_house)
         VALUES ('{session_id}', '{event_id}', {title}, '{access}',
                 now() + interval '{start} hours', now() + interval '{end} hours', {capacity},
                 {opens}, {closes}, {approval}, {waitlist}, {chatham})",
        title = sql_text(Some(spec.title)),
        access = spec.access,
        start = spec.starts_in_hours,
        end = spec.starts_in_hours + spec.duration_hours,
        capacity = spec
            .capacity
            .map_or_else(|| "NULL".to_owned(), |c| c.to_string()),
        opens = sql_hours(spec.opens_in_hours),
        closes = sql_hours(spec.closes_in_hours),
        approval = spec.requires_approval,
        waitlist = spec.waitlist,
        chatham = spec.access == "closed",
    ))
    .await;
    session_id
}

/// Makes an account one of the event's staff.
pub async fn make_staff(app: &TestApp, event_id: Uuid, account_id: &str) {
    app.sql(&format!(
        "INSERT INTO event_staff (event_id, account_id, lead) VALUES ('{event_id}', '{account_id}', false)"
    ))
    .await;
}

pub async fn set_event_status(app: &TestApp, event_id: Uuid, status: &str) {
    app.sql(&format!(
        "UPDATE events SET status = '{status}' WHERE id = '{event_id}'"
    ))
    .await;
}

/// An active organisation of the partnership.
pub async fn organization(app: &TestApp, name: &str, kind: &str, country: Option<&str>) -> Uuid {
    let id = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO organizations (id, name, kind, country, status) VALUES ('{id}', {name}, '{kind}', {country}, 'active')",
        name = sql_text(Some(name)),
        country = sql_text(country),
    ))
    .await;
    id
}

/// A plain PostgreSQL client on the test's database, for reading rows back.
pub async fn pg(app: &TestApp) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

/// Waits (polling, with a deadline) for a message to `addr` whose subject contains `subject`.
pub async fn wait_for_mail(app: &TestApp, addr: &str, subject: &str) -> ReceivedMail {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(m) = app
            .smtp
            .messages_to(addr)
            .into_iter()
            .rev()
            .find(|m| m.subject().contains(subject))
        {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email to {addr} with subject containing {subject:?}; got: {:?}",
            app.smtp
                .messages_to(addr)
                .iter()
                .map(|m| m.subject())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until `n` messages to `addr` have subjects containing `subject`; returns them.
pub async fn wait_for_mails(
    app: &TestApp,
    addr: &str,
    subject: &str,
    n: usize,
) -> Vec<ReceivedMail> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<ReceivedMail> = app
            .smtp
            .messages_to(addr)
            .into_iter()
            .filter(|m| m.subject().contains(subject))
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} emails to {addr} with subject containing {subject:?}, got {}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `token` query parameter of a link.
pub fn token_of(link: &str) -> String {
    let url = url::Url::parse(link).expect("link is a URL");
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("link has a token")
}
