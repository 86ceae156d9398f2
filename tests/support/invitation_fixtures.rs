//! Rows the invitation tests stand on (events, sessions, staff, organisations, people),
//! inserted directly so these tests do not depend on the events and organisations APIs.

use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use uuid::Uuid;

use super::{TestApp, TestUser};

pub async fn connect(app: &TestApp) -> AsyncPgConnection {
    AsyncPgConnection::establish(&app.db.url)
        .await
        .expect("connect to the test database")
}

async fn exec(app: &TestApp, statement: &str) {
    let mut conn = connect(app).await;
    conn.batch_execute(statement)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn opt(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_owned(), quote)
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `SELECT count(*) AS n ...`-style query answering one number (the column must be `n`).
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = connect(app).await;
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
    let mut conn = connect(app).await;
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

/// A whole hour, `days` from now (so local times are easy to read back).
pub fn days_ahead(days: i64) -> DateTime<Utc> {
    (Utc::now() + Duration::days(days))
        .duration_trunc(Duration::hours(1))
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
            online_url: Some("https://zoom.example/j/2022"),
        }
    }
}

pub async fn event(app: &TestApp, spec: EventSpec<'_>) -> Uuid {
    let id = Uuid::now_v7();
    let slug = format!("dialogue-{}", id.simple());
    exec(
        app,
        &format!(
            "INSERT INTO events (id, slug, title, country, timezone, format, venue, online_url, status) \
             VALUES ('{id}', {}, {}, 'JP', {}, {}, {}, {}, {})",
            quote(&slug),
            quote(spec.title),
            quote(spec.timezone),
            quote(spec.format),
            opt(spec.venue),
            opt(spec.online_url),
            quote(spec.status),
        ),
    )
    .await;
    id
}

pub struct SessionSpec<'a> {
    pub title: &'a str,
    pub access: &'a str,
    pub starts_at: DateTime<Utc>,
    pub hours: i64,
    pub capacity: Option<i32>,
    pub waitlist: bool,
    pub chatham_house: bool,
}

impl SessionSpec<'_> {
    pub fn closed(title: &str, starts_at: DateTime<Utc>) -> SessionSpec<'_> {
        SessionSpec {
            title,
            access: "closed",
            starts_at,
            hours: 2,
            capacity: None,
            waitlist: true,
            chatham_house: true,
        }
    }
}

pub async fn session(app: &TestApp, event_id: Uuid, spec: SessionSpec<'_>) -> Uuid {
    let id = Uuid::now_v7();
    let ends_at = spec.starts_at + Duration::hours(spec.hours);
    exec(
        app,
        &format!(
            "INSERT INTO sessions (id, event_id, title, access, starts_at, ends_at, capacity, waitlist, chatham_house) \
             VALUES ('{id}', '{event_id}', {}, {}, '{}', '{}', {}, {}, {})",
            quote(spec.title),
            quote(spec.access),
            spec.starts_at.to_rfc3339(),
            ends_at.to_rfc3339(),
            spec.capacity
                .map_or_else(|| "NULL".to_owned(), |c| c.to_string()),
            spec.waitlist,
            spec.chatham_house,
        ),
    )
    .await;
    id
}

pub async fn add_staff(app: &TestApp, event_id: Uuid, user: &TestUser) {
    exec(
        app,
        &format!(
            "INSERT INTO event_staff (event_id, account_id) VALUES ('{event_id}', '{}')",
            user.account_id
        ),
    )
    .await;
}

pub async fn organization(
    app: &TestApp,
    name: &str,
    kind: &str,
    country: Option<&str>,
    status: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        app,
        &format!(
            "INSERT INTO organizations (id, name, kind, country, status) VALUES ('{id}', {}, {}, {}, {})",
            quote(name),
            quote(kind),
            opt(country),
            quote(status)
        ),
    )
    .await;
    id
}

pub async fn person(app: &TestApp, email: &str, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        app,
        &format!(
            "INSERT INTO people (id, email, name) VALUES ('{id}', {}, {})",
            quote(&email.to_lowercase()),
            quote(name)
        ),
    )
    .await;
    id
}

pub async fn affiliate(app: &TestApp, person_id: Uuid, organization_id: Uuid, focal_point: bool) {
    exec(
        app,
        &format!(
            "INSERT INTO affiliations (person_id, organization_id, focal_point) \
             VALUES ('{person_id}', '{organization_id}', {focal_point})"
        ),
    )
    .await;
}

/// A registration made outside invitations (e.g. by staff), to test skipping.
pub async fn registration(app: &TestApp, session_id: Uuid, person_id: Uuid, status: &str) -> Uuid {
    let id = Uuid::now_v7();
    exec(
        app,
        &format!(
            "INSERT INTO registrations (id, session_id, person_id, status, source, confirmed_at) \
             VALUES ('{id}', '{session_id}', '{person_id}', {}, 'organizer', now())",
            quote(status)
        ),
    )
    .await;
    id
}

/// A published dialogue in Tokyo with two closed sessions (10 and 11 days ahead), one public
/// session, and an organizer on its staff.
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
    let a = session(
        app,
        event_id,
        SessionSpec::closed("Closed session I: R2P in Japan", first),
    )
    .await;
    let b = session(
        app,
        event_id,
        SessionSpec {
            chatham_house: false,
            ..SessionSpec::closed("Closed session II: Early warning", second)
        },
    )
    .await;
    let public = session(
        app,
        event_id,
        SessionSpec {
            access: "public",
            chatham_house: false,
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
