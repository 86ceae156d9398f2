//! Closed sessions: the public sees one by its title and times only, and nobody without
//! a seat sees an online link.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::fixtures as fx;
use crate::support::{expect_json, TestApp};

use super::*;

fn session_in<'a>(event: &'a Value, id: &str) -> &'a Value {
    event["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("session {id} not in {event}"))
}

#[tokio::test]
async fn the_public_sees_closed_sessions_by_title_only_and_never_the_link() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let (event_id, closed_id, public_id) = published_dialogue(&app, &lead).await;
    let member = app.user("member").await;
    let outsider = app.user("organizer").await;

    let anonymous = expect_json(
        app.get(&format!("/events/{event_id}"), None).await,
        StatusCode::OK,
    )
    .await;
    let as_member = expect_json(
        app.get(&format!("/events/{event_id}"), member.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let as_outsider = expect_json(
        app.get(&format!("/events/{event_id}"), outsider.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let by_slug = expect_json(
        app.get("/events/japan-national-dialogue-2027", None).await,
        StatusCode::OK,
    )
    .await;
    let listed = expect_json(app.get("/events", None).await, StatusCode::OK).await;
    let listed = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event_id.as_str())
        .unwrap()
        .clone();
    for view in [&anonymous, &as_member, &as_outsider, &by_slug, &listed] {
        assert!(
            view.get("online_url").is_none(),
            "online_url leaked: {view}"
        );
        assert!(view.get("staff").is_none(), "staff leaked: {view}");
        let closed = session_in(view, &closed_id);
        assert_eq!(
            keys(closed),
            CLOSED_PUBLIC_KEYS.iter().map(|k| k.to_string()).collect(),
            "{closed}"
        );
        let public = session_in(view, &public_id);
        assert_eq!(public["description"], "Open to all");
        assert_eq!(public["speakers"][0]["name"], "Prof. Daisaku Higashi");
        assert_eq!(public["speakers"][0]["role"], "presenter");
        assert_eq!(public["speakers"][0]["organization"], "Sophia University");
        assert_eq!(public["confirmed_count"], 0);
        let text = view.to_string();
        assert!(
            !text.contains("Secret"),
            "closed session details leaked: {text}"
        );
        assert!(!text.contains("meet.example.org"), "link leaked: {text}");
        assert!(!text.contains(CLOSED_ROOM), "closed link leaked: {text}");
    }

    // Staff see everything.
    let staff = expect_json(
        app.get(&format!("/events/{event_id}"), lead.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        staff["online_url"],
        "https://meet.example.org/r2p-secret-room"
    );
    let closed = session_in(&staff, &closed_id);
    assert_eq!(
        closed["description"],
        "Secret deliberations among invited professionals"
    );
    assert_eq!(closed["speakers"][0]["name"], "Secret Speaker");
    assert_eq!(closed["chatham_house"], true);
    assert_eq!(closed["capacity"], 30);
    assert_eq!(closed["online_url"], CLOSED_ROOM);
    assert_eq!(
        session_in(&staff, &public_id)["online_url"],
        "https://meet.example.org/r2p-secret-room",
        "a public session without a link of its own uses the event's"
    );

    // A waitlisted registrant sees no link; a confirmed one does, and still not the closed room.
    let reg = fx::registration(&app, &public_id, &member.person_id, "waitlisted").await;
    let view = expect_json(
        app.get(&format!("/events/{event_id}"), member.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(view.get("online_url").is_none());
    assert!(session_in(&view, &public_id).get("online_url").is_none());
    app.sql(&format!(
        "UPDATE registrations SET status = 'confirmed', waitlist_seq = NULL WHERE id = '{reg}'"
    ))
    .await;
    let view = expect_json(
        app.get(&format!("/events/{event_id}"), member.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        view["online_url"],
        "https://meet.example.org/r2p-secret-room"
    );
    assert_eq!(
        keys(session_in(&view, &closed_id)),
        CLOSED_PUBLIC_KEYS.iter().map(|k| k.to_string()).collect()
    );
    assert_eq!(
        session_in(&view, &public_id)["online_url"],
        "https://meet.example.org/r2p-secret-room"
    );
    assert!(!view.to_string().contains(CLOSED_ROOM), "{view}");
    assert_eq!(session_in(&view, &public_id)["confirmed_count"], 1);
    let listed = expect_json(app.get("/events", member.token()).await, StatusCode::OK).await;
    assert_eq!(
        listed["items"][0]["online_url"],
        "https://meet.example.org/r2p-secret-room"
    );
    // Anyone else still sees no link.
    let view = expect_json(
        app.get(&format!("/events/{event_id}"), outsider.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(view.get("online_url").is_none());
}
