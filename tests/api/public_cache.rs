//! The anonymous event view is served from a short-lived cache, also to members who see no
//! more than the public, never to staff or seat holders, and every change made through the
//! server is visible at once.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures::{
    add_session, api_event, api_publish, dialogue, registration, SessionSpec,
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

#[tokio::test]
async fn a_change_behind_the_servers_back_shows_once_the_cached_copy_is_refreshed() {
    let ttl = std::time::Duration::from_millis(300);
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

    // Another instance (here: SQL) changes the event. Readers keep the cached copy while it is
    // fresh, get it stale while one of them has it refreshed in the background, then see the
    // change; every read along the way succeeds.
    app.sql(&format!(
        "UPDATE events SET title = 'Japan National Dialogue 2027 (Tokyo)' WHERE id = '{id}'"
    ))
    .await;
    let deadline = std::time::Instant::now() + ttl * 20;
    loop {
        if read().await == "Japan National Dialogue 2027 (Tokyo)" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cached copy was never refreshed"
        );
        tokio::time::sleep(ttl / 6).await;
    }
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
    let invitation = uuid::Uuid::now_v7();
    app.sql(&format!(
        "INSERT INTO invitations (id, event_id, person_id, token_hash, status, expires_at) \
         VALUES ('{invitation}', '{}', '{}', sha256('{invitation}'::text::bytea), 'accepted', \
                 now() + interval '7 days'); \
         INSERT INTO invitation_sessions (invitation_id, session_id, accepted) \
         VALUES ('{invitation}', '{}', true)",
        dialogue.event_id, invited.person_id, dialogue.closed[0]
    ))
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
