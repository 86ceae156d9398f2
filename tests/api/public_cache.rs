//! The public views of an event — the anonymous JSON view and the HTML page — are served from
//! a short-lived cache (src/events/public_views.rs): the JSON view also to members who see no
//! more than the public, never to staff or seat holders; the page to visitors without a session
//! cookie. Every change made through the server is visible at once, whatever route made it; a
//! change made elsewhere (another instance, SQL) within `server.public_cache_ms`.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures::{
    add_session, api_event, api_publish, dialogue, invitation, registration, SessionSpec,
    CLOSED_ROOM_LINK, EVENT_LINK,
};
use crate::support::{expect_json, TestApp, TestUser};

/// The Japan dialogue, online, published by `organizer`: its id and slug.
async fn published_event(app: &TestApp, organizer: &TestUser) -> (String, String) {
    let event = api_event(
        app,
        organizer,
        json!({"title": "Japan National Dialogue 2027", "timezone": "Asia/Tokyo",
               "country": "JP", "format": "online", "online_url": "https://example.org/live"}),
    )
    .await;
    let id = event["id"].as_str().expect("id").to_owned();
    api_publish(app, organizer, &id).await;
    (id, event["slug"].as_str().expect("slug").to_owned())
}

#[tokio::test]
async fn anonymous_reads_are_cached_until_a_change_goes_through_the_server() {
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 60_000).await;
    let organizer = app.user("organizer").await;
    let (id, slug) = published_event(&app, &organizer).await;

    let first = expect_json(
        app.get(&format!("/events/{slug}"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["title"], "Japan National Dialogue 2027");
    assert!(
        first.get("online_url").is_none(),
        "the public view never carries the link"
    );

    // A change behind the server's back is not seen while the entry is fresh...
    app.sql(&format!(
        "UPDATE events SET title = 'Changed by SQL' WHERE id = '{id}'"
    ))
    .await;
    let cached = expect_json(
        app.get(&format!("/events/{slug}"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cached["title"], "Japan National Dialogue 2027");
    // ...staff always read the database...
    let staff = expect_json(
        app.get(&format!("/events/{slug}"), organizer.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(staff["title"], "Changed by SQL");
    assert_eq!(staff["online_url"], "https://example.org/live");

    // ...and a change made through the server empties the cache at once.
    expect_json(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"title": "Japan National Dialogue 2027 (revised)"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let fresh = expect_json(
        app.get(&format!("/events/{slug}"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fresh["title"], "Japan National Dialogue 2027 (revised)");
}

/// A view is never older than the bound: a change made behind this server's back (as another
/// instance would) is seen by the first read after `public_cache_ms`, and the reads before
/// it all succeed.
#[tokio::test]
async fn a_change_behind_the_servers_back_shows_within_the_bound() {
    let ttl = std::time::Duration::from_millis(400);
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = ttl.as_millis() as u64).await;
    let organizer = app.user("organizer").await;
    let (id, slug) = published_event(&app, &organizer).await;
    let title = |body: serde_json::Value| body["title"].as_str().unwrap_or_default().to_owned();
    let read = || async {
        title(
            expect_json(
                app.get(&format!("/events/{slug}"), None).await,
                StatusCode::OK,
            )
            .await,
        )
    };
    assert_eq!(read().await, "Japan National Dialogue 2027");
    assert!(page(&app, &slug)
        .await
        .contains("Japan National Dialogue 2027"));

    app.sql(&format!(
        "UPDATE events SET title = 'Japan National Dialogue 2027 (Tokyo)' WHERE id = '{id}'"
    ))
    .await;
    let changed = std::time::Instant::now();
    // Readers meanwhile get the kept copy or the new one, never an error.
    while changed.elapsed() < ttl / 2 {
        let seen = read().await;
        assert!(seen.starts_with("Japan National Dialogue 2027"), "{seen}");
        tokio::time::sleep(ttl / 8).await;
    }
    tokio::time::sleep(ttl.saturating_sub(changed.elapsed())).await;
    assert_eq!(read().await, "Japan National Dialogue 2027 (Tokyo)");
    assert!(page(&app, &slug)
        .await
        .contains("Japan National Dialogue 2027 (Tokyo)"));
}

/// Signed-in members who neither run the event nor hold a seat in it see exactly the public
/// view, and are served it from the cache; a seat holder and the staff read the database and
/// see the online link.
#[tokio::test]
async fn members_without_a_seat_share_the_cached_view_and_seat_holders_see_the_link() {
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 60_000).await;
    let organizer = app.user("organizer").await;
    let (id, slug) = published_event(&app, &organizer).await;
    let event_id = uuid::Uuid::parse_str(&id).expect("event id");
    let session = add_session(&app, event_id, &SessionSpec::default()).await;
    let member = app.user("member").await;
    let seat_holder = app.user("member").await;
    registration(&app, session, &seat_holder.person_id, "confirmed").await;
    let path = format!("/events/{slug}");

    let first = expect_json(app.get(&path, member.token()).await, StatusCode::OK).await;
    assert!(first.get("online_url").is_none(), "no link without a seat");
    app.sql(&format!(
        "UPDATE events SET title = 'Changed by SQL' WHERE id = '{id}'"
    ))
    .await;
    for viewer in [member.token(), None] {
        let view = expect_json(app.get(&path, viewer).await, StatusCode::OK).await;
        assert_eq!(view["title"], "Japan National Dialogue 2027", "{view}");
        assert!(view.get("online_url").is_none(), "{view}");
    }
    for viewer in [&seat_holder, &organizer] {
        let view = expect_json(app.get(&path, viewer.token()).await, StatusCode::OK).await;
        assert_eq!(view["title"], "Changed by SQL", "{view}");
        assert_eq!(view["online_url"], "https://example.org/live", "{view}");
    }
    // By id too, and an unknown event is as unknown to a member as to anyone.
    let by_id = expect_json(
        app.get(&format!("/events/{id}"), seat_holder.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_id["online_url"], "https://example.org/live");
    let res = app.get("/events/no-such-dialogue", member.token()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Running the event and holding a seat must be all that makes a signed-in member's view differ
/// from the anonymous one, since that is what sends everyone else to the cached public view.
/// With the cache off, on a dialogue with closed Chatham House sessions: a plain member, a
/// waitlisted one, a pending one and an invited one get the anonymous body exactly.
#[tokio::test]
async fn a_member_without_a_seat_sees_exactly_the_anonymous_view() {
    let app = TestApp::spawn().await;
    let dialogue = dialogue(&app).await;
    let path = format!("/events/{}", dialogue.event_id);
    let anonymous = expect_json(app.get(&path, None).await, StatusCode::OK).await;

    let plain = app.user("member").await;
    let waitlisted = app.user("member").await;
    registration(&app, dialogue.public, &waitlisted.person_id, "waitlisted").await;
    let pending = app.user("member").await;
    registration(
        &app,
        dialogue.closed[0],
        &pending.person_id,
        "pending_approval",
    )
    .await;
    let invited = app.user("member").await;
    invitation(
        &app,
        dialogue.event_id,
        &invited.person_id,
        "accepted",
        &[dialogue.closed[0]],
    )
    .await;
    for member in [&plain, &waitlisted, &pending, &invited] {
        let view = expect_json(app.get(&path, member.token()).await, StatusCode::OK).await;
        assert_eq!(view, anonymous, "{}", member.email);
    }

    // A seat holder sees more (the link, not the closed rooms), so there is something to tell.
    let seated = app.user("member").await;
    registration(&app, dialogue.public, &seated.person_id, "confirmed").await;
    let view = expect_json(app.get(&path, seated.token()).await, StatusCode::OK).await;
    assert!(view["online_url"].is_string(), "{view}");
}

/// The event page as a visitor without a session cookie gets it (200 asserted).
async fn page(app: &TestApp, slug: &str) -> String {
    page_with(app, slug, None).await
}

/// The event page, with the session cookie of `session` when given (200 asserted).
async fn page_with(app: &TestApp, slug: &str, session: Option<&str>) -> String {
    let mut req = app.client.get(app.url(&format!("/events/{slug}")));
    if let Some(session) = session {
        req = req.header("cookie", format!("convene_session={session}"));
    }
    let res = req.send().await.expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("html")
}

/// Both public views of the event, read anonymously: the JSON view and the page.
async fn views(app: &TestApp, slug: &str) -> (serde_json::Value, String) {
    let json = expect_json(
        app.get(&format!("/events/{slug}"), None).await,
        StatusCode::OK,
    )
    .await;
    (json, page(app, slug).await)
}

/// Every service that edits what the public views show empties them, whichever route called
/// it: with a bound of a minute, only that explains reading each change at once. Each step
/// reads both views first, so that what it changes was kept. (Seat counts are left to the
/// bound: the next test.)
#[tokio::test]
async fn every_change_made_through_the_server_shows_at_once_in_both_views() {
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 60_000).await;
    let organizer = app.user("organizer").await;
    let admin = app.user("admin").await;
    let (id, slug) = published_event(&app, &organizer).await;
    let ok = |res: reqwest::Response, status: StatusCode| expect_json(res, status);

    // A session.
    views(&app, &slug).await;
    let session = ok(
        app.post(
            &format!("/events/{id}/sessions"),
            organizer.token(),
            json!({"title": "Public seminar: What can Japan do?", "access": "public",
                   "starts_at": "2027-02-19T14:00:00+09:00", "ends_at": "2027-02-19T16:30:00+09:00",
                   "capacity": 100}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let session_id = session["id"].as_str().expect("session id").to_owned();
    let (json, html) = views(&app, &slug).await;
    assert_eq!(
        json["sessions"][0]["title"],
        "Public seminar: What can Japan do?"
    );
    assert!(html.contains("Public seminar: What can Japan do?"));

    // Its title.
    ok(
        app.patch(
            &format!("/sessions/{session_id}"),
            organizer.token(),
            json!({"title": "Public seminar: R2P in Asia"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["sessions"][0]["title"], "Public seminar: R2P in Asia");
    assert!(html.contains("Public seminar: R2P in Asia"));

    // A speaker, then without.
    let speaker = ok(
        app.post(
            &format!("/sessions/{session_id}/speakers"),
            organizer.token(),
            json!({"name": "Prof. Hitoshi Nasu", "role": "presenter"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (json, html) = views(&app, &slug).await;
    assert_eq!(
        json["sessions"][0]["speakers"][0]["name"],
        "Prof. Hitoshi Nasu"
    );
    assert!(html.contains("Prof. Hitoshi Nasu"));
    let res = app
        .delete(
            &format!("/speakers/{}", speaker["id"].as_str().expect("speaker id")),
            organizer.token(),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["sessions"][0]["speakers"], json!([]));
    assert!(!html.contains("Prof. Hitoshi Nasu"));

    // Partners, and a partner's new name.
    let org = crate::support::fixtures::organization(
        &app,
        "Asia-Pacific Centre for R2P",
        "academia",
        Some("AU"),
        "active",
    )
    .await;
    ok(
        app.put(
            &format!("/events/{id}/partners"),
            organizer.token(),
            json!([{"organization_id": org, "role": "organizer"}]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["partners"][0]["name"], "Asia-Pacific Centre for R2P");
    assert!(html.contains("Asia-Pacific Centre for R2P"));
    ok(
        app.patch(
            &format!("/organizations/{org}"),
            admin.token(),
            json!({"name": "APR2P"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["partners"][0]["name"], "APR2P");
    assert!(!html.contains("Asia-Pacific Centre for R2P"));

    // A published outcome (the page shows outcomes).
    ok(
        app.post(
            &format!("/events/{id}/outcomes"),
            organizer.token(),
            json!({"title": "Highlights of the seminar", "body_markdown": "Prevention first.",
                   "publish": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(page(&app, &slug)
        .await
        .contains("Highlights of the seminar"));

    // The event cancelled.
    ok(
        app.post(
            &format!("/events/{id}/cancel"),
            organizer.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["status"], "cancelled");
    assert!(html.contains("This dialogue has been cancelled."));
}

/// A session deleted, and the event unpublished behind the server's back: the deletion shows
/// at once; what the server was not told, within the bound only.
#[tokio::test]
async fn a_deleted_session_leaves_both_views_at_once() {
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 60_000).await;
    let organizer = app.user("organizer").await;
    let (id, slug) = published_event(&app, &organizer).await;
    let session = crate::support::fixtures::api_session(
        &app,
        &organizer,
        &id,
        json!({"title": "Closed session: Vitalizing R2P", "access": "closed",
               "starts_at": "2027-02-19T10:00:00+09:00", "ends_at": "2027-02-19T12:30:00+09:00"}),
    )
    .await;
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["sessions"].as_array().map(Vec::len), Some(1));
    assert!(html.contains("Closed session: Vitalizing R2P"));
    let res = app
        .delete(
            &format!("/sessions/{}", session["id"].as_str().expect("id")),
            organizer.token(),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let (json, html) = views(&app, &slug).await;
    assert_eq!(json["sessions"], json!([]));
    assert!(!html.contains("Closed session: Vitalizing R2P"));
}

/// The kept views are computed for nobody (rule 2), whoever read the event first: staff's view
/// (links, closed sessions' details) never fills them, nor a signed-in visitor's page (their
/// form token). A visitor with the session cookie reads the page from the database, with a
/// token of their own.
#[tokio::test]
async fn the_kept_views_are_nobodys_whoever_read_first() {
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 60_000).await;
    let f = dialogue(&app).await;
    let slug = crate::support::fixtures::event_slug(f.event_id);
    app.sql(&format!(
        "INSERT INTO speakers (id, session_id, name, role, sort_order) \
         VALUES ('{}', '{}', 'Secret Speaker', 'presenter', 1)",
        uuid::Uuid::now_v7(),
        f.closed[0]
    ))
    .await;
    let member = app.user("member").await;

    // Staff and a signed-in visitor first.
    let staff_view = expect_json(
        app.get(&format!("/events/{slug}"), f.staff.token()).await,
        StatusCode::OK,
    )
    .await;
    assert!(staff_view.to_string().contains(CLOSED_ROOM_LINK));
    let members_page = page_with(&app, &slug, Some(&member.token)).await;
    assert!(members_page.contains("name=\"csrf_token\""));

    let (json, html) = views(&app, &slug).await;
    let body = json.to_string();
    for secret in [CLOSED_ROOM_LINK, EVENT_LINK, "Secret Speaker"] {
        assert!(!body.contains(secret), "{secret} in {body}");
        assert!(!html.contains(secret), "{secret} in the page");
    }
    assert!(json.get("staff").is_none(), "{json}");
    assert!(
        !html.contains("csrf_token"),
        "no visitor's token in the kept page"
    );

    // The kept page is served while fresh; the signed-in visitor's comes from the database.
    app.sql(&format!(
        "UPDATE events SET title = 'Changed by SQL' WHERE id = '{}'",
        f.event_id
    ))
    .await;
    assert!(!page(&app, &slug).await.contains("Changed by SQL"));
    let members_page = page_with(&app, &slug, Some(&member.token)).await;
    assert!(members_page.contains("Changed by SQL"));
    assert!(members_page.contains("name=\"csrf_token\""));
}

/// Seat counts are not forgotten at each change but shown within the bound: a registration, an
/// anonymous one once confirmed and a cancellation are each seen by anonymous readers at most
/// `public_cache_ms` after they commit, while the signed-in registrant, a seat holder, sees
/// their own seat at once.
#[tokio::test]
async fn seat_counts_show_within_the_bound() {
    let ttl = std::time::Duration::from_millis(400);
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = ttl.as_millis() as u64).await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let (id, slug) = published_event(&app, &organizer).await;
    let session = crate::support::fixtures::api_session(
        &app,
        &organizer,
        &id,
        json!({"title": "Public seminar: What can Japan do?", "access": "public",
               "starts_at": "2027-02-19T14:00:00+09:00", "ends_at": "2027-02-19T16:30:00+09:00",
               "capacity": 100}),
    )
    .await;
    let session_id = session["id"].as_str().expect("session id").to_owned();
    let path = format!("/events/{slug}");
    let ok = |res: reqwest::Response, status: StatusCode| expect_json(res, status);
    views(&app, &slug).await;
    let registration = ok(
        app.post(
            &format!("/sessions/{session_id}/registrations"),
            member.token(),
            json!({}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let changed = std::time::Instant::now();
    assert_eq!(registration["status"], "confirmed");
    let own = expect_json(app.get(&path, member.token()).await, StatusCode::OK).await;
    assert_eq!(own["sessions"][0]["confirmed_count"], 1, "{own}");
    assert_eq!(count_after(&app, &slug, changed, ttl).await, 1);

    let session_uuid = uuid::Uuid::parse_str(&session_id).expect("uuid");
    let email = crate::support::fixtures::unique_email("public-views");
    crate::registrations::register_anon(&app, session_uuid, &email).await;
    let token = crate::registrations::confirm_token(&app, &email).await;
    views(&app, &slug).await;
    ok(
        crate::registrations::confirm(&app, &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        count_after(&app, &slug, std::time::Instant::now(), ttl).await,
        2
    );

    views(&app, &slug).await;
    let res = app
        .delete(
            &format!(
                "/registrations/{}",
                registration["id"].as_str().expect("registration id")
            ),
            member.token(),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        count_after(&app, &slug, std::time::Instant::now(), ttl).await,
        1
    );
}

/// The confirmed count of the event's first session that anonymous readers see once `bound`
/// has passed since `changed`.
async fn count_after(
    app: &TestApp,
    slug: &str,
    changed: std::time::Instant,
    bound: std::time::Duration,
) -> serde_json::Value {
    tokio::time::sleep(bound.saturating_sub(changed.elapsed())).await;
    let (json, _) = views(app, slug).await;
    json["sessions"][0]["confirmed_count"].clone()
}
