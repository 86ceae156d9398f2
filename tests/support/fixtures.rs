//! What the tests stand on, in one place: events, sessions, staff, organisations, people and
//! registrations; reading rows back; waiting for mail.
//!
//! New tests create events and sessions through the API, as a client would ([`api_event`],
//! [`api_session`], [`api_publish`]). The SQL builders write rows straight into the test's
//! database: for states the API does not reach directly (a session whose registration window
//! has closed, a registration in any status) and for tests of one module that should not
//! depend on another module's routes.

use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use super::smtp::ReceivedMail;
use super::{expect_json, TestApp, TestUser};

/// How long a test waits for an email before failing.
const MAIL_WAIT: Duration = Duration::from_secs(30);

// --- Through the API ------------------------------------------------------------------------

/// `POST /events` as `user`; answers the event (201 asserted).
pub async fn api_event(app: &TestApp, user: &TestUser, body: Value) -> Value {
    expect_json(
        app.post("/events", user.token(), body).await,
        StatusCode::CREATED,
    )
    .await
}

/// `POST /events/{id}/sessions` as `user`; answers the session (201 asserted).
pub async fn api_session(app: &TestApp, user: &TestUser, event_id: &str, body: Value) -> Value {
    expect_json(
        app.post(&format!("/events/{event_id}/sessions"), user.token(), body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

/// `POST /events/{id}/publish` as `user`; answers the event (200 asserted).
pub async fn api_publish(app: &TestApp, user: &TestUser, event_id: &str) -> Value {
    expect_json(
        app.post(
            &format!("/events/{event_id}/publish"),
            user.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

// --- Straight into the tables ---------------------------------------------------------------

/// A text as an SQL literal, or NULL.
fn literal(value: Option<&str>) -> String {
    match value {
        Some(v) => format!("'{}'", v.replace('\'', "''")),
        None => "NULL".to_owned(),
    }
}

/// A whole hour, `days` from now (so local times are easy to read back).
pub fn days_ahead(days: i64) -> DateTime<Utc> {
    (Utc::now() + chrono::Duration::days(days))
        .duration_trunc(chrono::Duration::hours(1))
        .expect("truncate")
}

pub struct EventSpec<'a> {
    pub title: &'a str,
    pub status: &'a str,
    pub timezone: &'a str,
    pub format: &'a str,
    pub venue: Option<&'a str>,
    pub online_url: Option<&'a str>,
}

impl Default for EventSpec<'_> {
    fn default() -> Self {
        EventSpec {
            title: "Japan National Dialogue on R2P and Atrocities Prevention",
            status: "published",
            timezone: "Asia/Tokyo",
            format: "hybrid",
            venue: Some("Waseda University, Tokyo"),
            online_url: Some(EVENT_LINK),
        }
    }
}

/// The slug `event` gives the event with this id.
pub fn event_slug(id: Uuid) -> String {
    format!("dialogue-{}", id.simple())
}

/// An event in Japan, in any status.
pub async fn event(app: &TestApp, spec: EventSpec<'_>) -> Uuid {
    let id = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO events (id, slug, title, country, timezone, format, venue, online_url, status) \
         VALUES ('{id}', {}, {}, 'JP', {}, {}, {}, {}, {})",
        literal(Some(&event_slug(id))),
        literal(Some(spec.title)),
        literal(Some(spec.timezone)),
        literal(Some(spec.format)),
        literal(spec.venue),
        literal(spec.online_url),
        literal(Some(spec.status)),
    ))
    .await;
    id
}

pub async fn set_event_status(app: &TestApp, event_id: Uuid, status: &str) {
    app.sql(&format!(
        "UPDATE events SET status = '{status}' WHERE id = '{event_id}'"
    ))
    .await;
}

/// Makes an account one of the event's staff.
pub async fn add_staff(app: &TestApp, event_id: Uuid, user: &TestUser) {
    app.sql(&format!(
        "INSERT INTO event_staff (event_id, account_id, lead) VALUES ('{event_id}', '{}', false)",
        user.account_id
    ))
    .await;
}

/// How a test session is set up. Times are relative to now, in hours, unless `starts_at` is
/// given. The event fields are used by [`published_event_with_session`] only.
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
    /// The start, instead of `starts_in_hours`.
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_hours: i64,
    /// Default: on for closed sessions, off for public ones.
    pub chatham_house: Option<bool>,
    pub event_status: &'static str,
    pub timezone: &'static str,
    pub format: &'static str,
    /// The event's link (the default of its public sessions).
    pub online_url: Option<&'static str>,
    pub venue: Option<&'static str>,
    /// The session's own link.
    pub session_online_url: Option<&'static str>,
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
            starts_at: None,
            duration_hours: 2,
            chatham_house: None,
            event_status: "published",
            timezone: "Asia/Tokyo",
            format: "online",
            online_url: Some("https://meet.example.org/r2p-seminar"),
            venue: None,
            session_online_url: None,
        }
    }
}

impl SessionSpec {
    /// The default public session with `capacity` seats and no waitlist: once full, it refuses.
    pub fn without_waitlist(capacity: i32) -> SessionSpec {
        SessionSpec {
            capacity: Some(capacity),
            waitlist: false,
            ..SessionSpec::default()
        }
    }

    /// A closed session of two hours from `starts_at`, unlimited, under the Chatham House rule.
    pub fn closed(title: &'static str, starts_at: DateTime<Utc>) -> SessionSpec {
        SessionSpec {
            title,
            access: "closed",
            capacity: None,
            starts_at: Some(starts_at),
            ..SessionSpec::default()
        }
    }
}

/// Adds a session to an event.
pub async fn add_session(app: &TestApp, event_id: Uuid, spec: &SessionSpec) -> Uuid {
    let session_id = Uuid::now_v7();
    let starts_at = spec
        .starts_at
        .unwrap_or_else(|| Utc::now() + chrono::Duration::hours(spec.starts_in_hours));
    let ends_at = starts_at + chrono::Duration::hours(spec.duration_hours);
    let in_hours = |hours: Option<i64>| {
        hours.map_or_else(
            || "NULL".to_owned(),
            |h| format!("now() + interval '{h} hours'"),
        )
    };
    app.sql(&format!(
        "INSERT INTO sessions (id, event_id, title, access, starts_at, ends_at, capacity,
                               registration_opens_at, registration_closes_at, requires_approval,
                               waitlist, chatham_house, online_url)
         VALUES ('{session_id}', '{event_id}', {title}, '{access}', '{starts}', '{ends}',
                 {capacity}, {opens}, {closes}, {approval}, {waitlist}, {chatham}, {link})",
        title = literal(Some(spec.title)),
        access = spec.access,
        starts = starts_at.to_rfc3339(),
        ends = ends_at.to_rfc3339(),
        capacity = spec
            .capacity
            .map_or_else(|| "NULL".to_owned(), |c| c.to_string()),
        opens = in_hours(spec.opens_in_hours),
        closes = in_hours(spec.closes_in_hours),
        approval = spec.requires_approval,
        waitlist = spec.waitlist,
        chatham = spec.chatham_house.unwrap_or(spec.access == "closed"),
        link = literal(spec.session_online_url),
    ))
    .await;
    session_id
}

/// An event with one session.
#[derive(Debug, Clone)]
pub struct EventFixture {
    pub event_id: Uuid,
    pub session_id: Uuid,
    pub slug: String,
}

/// Creates an event (status from the spec) with one session; returns their ids and the slug.
pub async fn published_event_with_session(app: &TestApp, spec: SessionSpec) -> EventFixture {
    let event_id = event(
        app,
        EventSpec {
            title: "Japan National Dialogue on R2P 2022",
            status: spec.event_status,
            timezone: spec.timezone,
            format: spec.format,
            venue: spec.venue,
            online_url: spec.online_url,
        },
    )
    .await;
    let session_id = add_session(app, event_id, &spec).await;
    EventFixture {
        event_id,
        session_id,
        slug: event_slug(event_id),
    }
}

/// The closed sessions' own link in [`dialogue`]; its public seminar uses the event's link,
/// [`EVENT_LINK`].
pub const CLOSED_ROOM_LINK: &str = "https://zoom.example/j/closed-room";

/// The event's link in [`EventSpec::default`].
pub const EVENT_LINK: &str = "https://zoom.example/j/2022";

/// A published dialogue in Tokyo with two closed sessions (10 and 11 days ahead, with their
/// own link [`CLOSED_ROOM_LINK`]), one public session (the event's link, [`EVENT_LINK`]), and
/// an organizer on its staff.
pub struct Dialogue {
    pub event_id: Uuid,
    pub staff: TestUser,
    pub closed: Vec<Uuid>,
    pub public: Uuid,
    pub starts: Vec<DateTime<Utc>>,
}

pub async fn dialogue(app: &TestApp) -> Dialogue {
    let event_id = event(app, EventSpec::default()).await;
    let staff = app.user("organizer").await;
    add_staff(app, event_id, &staff).await;
    let first = days_ahead(10);
    let second = days_ahead(11);
    let a = add_session(
        app,
        event_id,
        &SessionSpec {
            session_online_url: Some(CLOSED_ROOM_LINK),
            ..SessionSpec::closed("Closed session I: R2P in Japan", first)
        },
    )
    .await;
    let b = add_session(
        app,
        event_id,
        &SessionSpec {
            chatham_house: Some(false),
            session_online_url: Some(CLOSED_ROOM_LINK),
            ..SessionSpec::closed("Closed session II: Early warning", second)
        },
    )
    .await;
    let public = add_session(
        app,
        event_id,
        &SessionSpec {
            access: "public",
            ..SessionSpec::closed("Public seminar", days_ahead(12))
        },
    )
    .await;
    Dialogue {
        event_id,
        staff,
        closed: vec![a, b],
        public,
        starts: vec![first, second],
    }
}

/// An organisation of the partnership in any membership status.
pub async fn organization(
    app: &TestApp,
    name: &str,
    kind: &str,
    country: Option<&str>,
    status: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO organizations (id, name, kind, country, status) VALUES ('{id}', {}, {}, {}, {})",
        literal(Some(name)),
        literal(Some(kind)),
        literal(country),
        literal(Some(status)),
    ))
    .await;
    id
}

/// A person without an account.
pub async fn person(app: &TestApp, email: &str, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO people (id, email, name) VALUES ('{id}', {}, {})",
        literal(Some(&email.to_lowercase())),
        literal(Some(name)),
    ))
    .await;
    id
}

pub async fn affiliate(app: &TestApp, person_id: Uuid, organization_id: Uuid, focal_point: bool) {
    app.sql(&format!(
        "INSERT INTO affiliations (person_id, organization_id, focal_point) \
         VALUES ('{person_id}', '{organization_id}', {focal_point})"
    ))
    .await;
}

/// A registration in any status, made outside the registration rules (as staff would); a
/// waitlisted one joins the end of the queue.
pub async fn registration(
    app: &TestApp,
    session_id: impl std::fmt::Display,
    person_id: impl std::fmt::Display,
    status: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO registrations (id, session_id, person_id, status, source, confirmed_at, waitlist_seq) \
         VALUES ('{id}', '{session_id}', '{person_id}', {status}, 'organizer', \
                 CASE WHEN {status} = 'confirmed' THEN now() END, \
                 CASE WHEN {status} = 'waitlisted' THEN nextval('registration_waitlist_seq') END)",
        status = literal(Some(status)),
    ))
    .await;
    id
}

/// An invitation to the event in any status, expiring in a week, made outside the invitation
/// rules (no email is sent and no one holds its token); it offers `accepted_sessions`, each
/// accepted.
pub async fn invitation(
    app: &TestApp,
    event_id: impl std::fmt::Display,
    person_id: impl std::fmt::Display,
    status: &str,
    accepted_sessions: &[Uuid],
) -> Uuid {
    let id = Uuid::now_v7();
    let mut sql = format!(
        "INSERT INTO invitations (id, event_id, person_id, token_hash, status, expires_at) \
         VALUES ('{id}', '{event_id}', '{person_id}', sha256('{id}'::text::bytea), {status}, \
                 now() + interval '7 days');",
        status = literal(Some(status)),
    );
    for session_id in accepted_sessions {
        sql.push_str(&format!(
            " INSERT INTO invitation_sessions (invitation_id, session_id, accepted) \
             VALUES ('{id}', '{session_id}', true);"
        ));
    }
    app.sql(&sql).await;
    id
}

/// Moves an invitation's deadline a minute into the past, as if its invitee had let it lapse
/// (the sweep has not yet marked it expired).
pub async fn expire_invitation(app: &TestApp, invitation_id: impl std::fmt::Display) {
    app.sql(&format!(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE id = '{invitation_id}'"
    ))
    .await;
}

pub async fn registration_status(app: &TestApp, registration_id: impl std::fmt::Display) -> String {
    text(
        app,
        &format!("SELECT status AS v FROM registrations WHERE id = '{registration_id}'"),
    )
    .await
    .expect("registration")
}

// --- Reading rows back ----------------------------------------------------------------------

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `SELECT count(*) AS n ...`-style query answering one number (the column must be `n`).
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.pool.get().await.expect("connection");
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

#[derive(diesel::QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Nullable<Text>)]
    v: Option<String>,
}

/// A query answering text values in a column named `v`.
pub async fn texts(app: &TestApp, sql: &str) -> Vec<Option<String>> {
    let mut conn = app.pool.get().await.expect("connection");
    diesel::sql_query(sql)
        .load::<TextRow>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.v)
        .collect()
}

pub async fn text(app: &TestApp, sql: &str) -> Option<String> {
    texts(app, sql).await.into_iter().next().flatten()
}

/// A plain PostgreSQL client on the test's database, for reading rows of any shape.
pub async fn pg(app: &TestApp) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&app.db.url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

// --- Mail -----------------------------------------------------------------------------------

/// An address no other test uses.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.org", Uuid::now_v7().simple())
}

/// Waits (polling, with a deadline) for a message to `addr` whose subject contains `subject`;
/// answers the newest such message.
pub async fn wait_for_mail(app: &TestApp, addr: &str, subject: &str) -> ReceivedMail {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
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
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
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
