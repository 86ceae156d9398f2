//! Threat: a seat in the public seminar (or no seat at all) reveals the closed sessions' online
//! link. Online links belong to sessions (rule 2): a person sees a session's link in the API,
//! emails and `.ics` only while holding a confirmed seat in that session; staff see all. Each
//! attack below must fail; beside it, the legitimate use that must keep working.
//!
//! The fixture dialogue: two closed sessions with their own link (`CLOSED_ROOM_LINK`), a public
//! seminar without one, which uses the event's link (`EVENT_LINK`).

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures::{
    self as fx, wait_for_mail, Dialogue, SessionSpec, CLOSED_ROOM_LINK, EVENT_LINK,
};
use crate::support::smtp::ReceivedMail;
use crate::support::{expect_json, expect_problem, TestApp, TestUser};

fn session_in(event: &Value, id: impl std::fmt::Display) -> &Value {
    let id = id.to_string();
    event["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap_or_else(|| panic!("session {id} not in {event}"))
}

/// The `.ics` attached to a message, unfolded (so a link split over lines reads whole).
fn ics_of(mail: &ReceivedMail) -> String {
    let ics = mail
        .attachments()
        .into_iter()
        .find(|(content_type, _)| content_type == "text/calendar")
        .map(|(_, content)| content)
        .unwrap_or_else(|| panic!("no .ics in {}", mail.subject()));
    icalendar::parser::unfold(&ics)
}

async fn event_as(app: &TestApp, d: &Dialogue, token: Option<&str>) -> Value {
    expect_json(
        app.get(&format!("/events/{}", d.event_id), token).await,
        StatusCode::OK,
    )
    .await
}

async fn my_registrations(app: &TestApp, user: &TestUser) -> Value {
    expect_json(
        app.get("/me/registrations", user.token()).await,
        StatusCode::OK,
    )
    .await
}

async fn feed(app: &TestApp, d: &Dialogue, token: Option<&str>) -> String {
    let res = app
        .get(&format!("/events/{}/calendar.ics", d.event_id), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    icalendar::parser::unfold(&res.text().await.expect("feed"))
}

/// Invites `user`'s address to `sessions` and accepts from the emailed link.
async fn invite_and_accept(app: &TestApp, d: &Dialogue, user: &TestUser, sessions: &[Uuid]) {
    expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": sessions,
                   "invitees": [{"email": user.email, "name": "Prof. Invitee"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mail = wait_for_mail(app, &user.email, "Invitation:").await;
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail.first_link(&prefix).expect("invitation link");
    let token = &link[prefix.len()..];
    expect_json(
        app.post(
            &format!("/invitations/by-token/{token}/respond"),
            None,
            json!({"response": "accept"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_public_seminar_seat_never_reveals_the_closed_rooms_link() {
    // The public cache on, as in production: the seat holder must not be served from it, and
    // must not read the closed room's link from the database either.
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 1000).await;
    let d = fx::dialogue(&app).await;
    let member = app.user("member").await;
    let seat = expect_json(
        app.post(
            &format!("/sessions/{}/registrations", d.public),
            member.token(),
            json!({}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(seat["status"], "confirmed");

    // Attack: the event view.
    let view = event_as(&app, &d, member.token()).await;
    assert!(!view.to_string().contains(CLOSED_ROOM_LINK), "{view}");
    for closed in &d.closed {
        assert!(session_in(&view, closed).get("online_url").is_none());
    }
    // Legitimate: the seminar's link, which is the event's.
    assert_eq!(session_in(&view, d.public)["online_url"], EVENT_LINK);
    assert_eq!(view["online_url"], EVENT_LINK);

    // Attack: their registrations.
    let mine = my_registrations(&app, &member).await;
    assert!(!mine.to_string().contains(CLOSED_ROOM_LINK), "{mine}");
    assert_eq!(mine["items"][0]["online_url"], EVENT_LINK);

    // Attack: the confirmation email and its .ics.
    let mail = wait_for_mail(&app, &member.email, "You're registered").await;
    let (text, ics) = (mail.text_body(), ics_of(&mail));
    assert!(!text.contains(CLOSED_ROOM_LINK), "{text}");
    assert!(!mail.html_body().contains(CLOSED_ROOM_LINK));
    assert!(!ics.contains(CLOSED_ROOM_LINK), "{ics}");
    assert!(text.contains(EVENT_LINK), "{text}");
    assert!(ics.contains(EVENT_LINK), "{ics}");

    // Attack: the calendar feed, signed in.
    let ics = feed(&app, &d, member.token()).await;
    assert!(!ics.contains(CLOSED_ROOM_LINK), "{ics}");
    assert!(!ics.contains("Closed session"), "{ics}");
    assert!(ics.contains(EVENT_LINK), "{ics}");

    // Attack: the seminar moves; its "new time" email still carries only its own link.
    expect_json(
        app.patch(
            &format!("/sessions/{}", d.public),
            d.staff.token(),
            json!({"starts_at": fx::days_ahead(13).to_rfc3339(),
                   "ends_at": (fx::days_ahead(13) + chrono::Duration::hours(2)).to_rfc3339()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mail = wait_for_mail(&app, &member.email, "New time").await;
    assert!(!mail.text_body().contains(CLOSED_ROOM_LINK));
    assert!(!ics_of(&mail).contains(CLOSED_ROOM_LINK));
    assert!(mail.text_body().contains(EVENT_LINK));
}

#[tokio::test]
async fn nobody_without_a_confirmed_seat_sees_a_link() {
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = 1000).await;
    let d = fx::dialogue(&app).await;
    let no_links = |what: &str, text: &str| {
        assert!(!text.contains(CLOSED_ROOM_LINK), "{what}: {text}");
        assert!(!text.contains(EVENT_LINK), "{what}: {text}");
    };

    // Anonymous: the event (twice: the second from the public cache), the list, the feed.
    for _ in 0..2 {
        no_links(
            "anonymous view",
            &event_as(&app, &d, None).await.to_string(),
        );
    }
    let listed = expect_json(app.get("/events", None).await, StatusCode::OK).await;
    no_links("list", &listed.to_string());
    no_links("feed", &feed(&app, &d, None).await);

    // A member with a waitlisted seat in the seminar and one awaiting approval.
    let member = app.user("member").await;
    fx::registration(&app, d.public, &member.person_id, "waitlisted").await;
    let view = event_as(&app, &d, member.token()).await;
    no_links("waitlisted", &view.to_string());
    no_links(
        "waitlisted",
        &my_registrations(&app, &member).await.to_string(),
    );
    no_links("waitlisted", &feed(&app, &d, member.token()).await);
    let other = app.user("member").await;
    fx::registration(&app, d.public, &other.person_id, "pending_approval").await;
    no_links(
        "pending",
        &event_as(&app, &d, other.token()).await.to_string(),
    );
}

#[tokio::test]
async fn a_waitlisted_invitee_sees_no_link_until_a_seat_is_theirs() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    // A closed room of one seat, taken.
    let room = fx::add_session(
        &app,
        d.event_id,
        &SessionSpec {
            capacity: Some(1),
            session_online_url: Some(CLOSED_ROOM_LINK),
            ..SessionSpec::closed("Closed session III: One seat", fx::days_ahead(14))
        },
    )
    .await;
    let holder = app.user("member").await;
    let taken = fx::registration(&app, room, &holder.person_id, "confirmed").await;

    let invitee = app.user("member").await;
    invite_and_accept(&app, &d, &invitee, &[room]).await;
    let mail = wait_for_mail(&app, &invitee.email, "waitlist").await;
    assert!(
        !mail.text_body().contains(CLOSED_ROOM_LINK),
        "{}",
        mail.text_body()
    );
    assert!(mail.attachments().is_empty(), "no .ics without a seat");

    let view = event_as(&app, &d, invitee.token()).await;
    assert!(!view.to_string().contains(CLOSED_ROOM_LINK), "{view}");
    assert!(session_in(&view, room).get("online_url").is_none());
    let mine = my_registrations(&app, &invitee).await;
    assert_eq!(mine["items"][0]["status"], "waitlisted");
    assert!(mine["items"][0].get("online_url").is_none(), "{mine}");
    assert!(!feed(&app, &d, invitee.token())
        .await
        .contains(CLOSED_ROOM_LINK));

    // The seat frees: "a seat is yours" carries that session's link, and nothing else's.
    expect_json(
        app.delete(&format!("/registrations/{taken}"), d.staff.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let mail = wait_for_mail(&app, &invitee.email, "A seat is yours").await;
    assert!(
        mail.text_body().contains(CLOSED_ROOM_LINK),
        "{}",
        mail.text_body()
    );
    assert!(
        !mail.text_body().contains(EVENT_LINK),
        "{}",
        mail.text_body()
    );
    assert!(ics_of(&mail).contains(CLOSED_ROOM_LINK));
    let view = event_as(&app, &d, invitee.token()).await;
    assert_eq!(session_in(&view, room)["online_url"], CLOSED_ROOM_LINK);
}

#[tokio::test]
async fn a_confirmed_invitee_sees_the_closed_rooms_link_and_only_it() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let invitee = app.user("member").await;
    invite_and_accept(&app, &d, &invitee, &d.closed).await;

    let mail = wait_for_mail(&app, &invitee.email, "You're registered").await;
    let (text, ics) = (mail.text_body(), ics_of(&mail));
    assert!(text.contains(CLOSED_ROOM_LINK), "{text}");
    assert!(ics.contains(CLOSED_ROOM_LINK), "{ics}");
    // The public seminar's (the event's) link is not theirs without a seat in it.
    assert!(!text.contains(EVENT_LINK), "{text}");
    assert!(!ics.contains(EVENT_LINK), "{ics}");

    let view = event_as(&app, &d, invitee.token()).await;
    for closed in &d.closed {
        assert_eq!(session_in(&view, closed)["online_url"], CLOSED_ROOM_LINK);
    }
    assert!(session_in(&view, d.public).get("online_url").is_none());
    assert!(view.get("online_url").is_none(), "{view}");
    let mine = my_registrations(&app, &invitee).await;
    for item in mine["items"].as_array().expect("items") {
        assert_eq!(item["online_url"], CLOSED_ROOM_LINK, "{item}");
    }
    // Their feed adds their sessions, with their link; not the seminar's.
    let ics = feed(&app, &d, invitee.token()).await;
    assert!(ics.contains("Closed session I"), "{ics}");
    assert!(ics.contains(CLOSED_ROOM_LINK), "{ics}");
    assert!(!ics.contains(EVENT_LINK), "{ics}");

    // A new link for the room: the reminder already scheduled carries it, not the old one.
    let new_room = "https://rooms.example.org/closed-i";
    expect_json(
        app.patch(
            &format!("/sessions/{}", d.closed[0]),
            d.staff.token(),
            json!({"online_url": new_room}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let reminder = fx::text(
        &app,
        &format!(
            "SELECT e.text_body AS v FROM emails e JOIN registrations r \
               ON e.dedupe_key = 'session-reminder:' || r.id \
             WHERE r.session_id = '{}' AND e.status = 'queued'",
            d.closed[0]
        ),
    )
    .await
    .expect("a queued reminder");
    assert!(reminder.contains(new_room), "{reminder}");
    assert!(!reminder.contains(CLOSED_ROOM_LINK), "{reminder}");

    // The room moves: the "new time" email carries its link.
    let at = fx::days_ahead(15);
    expect_json(
        app.patch(
            &format!("/sessions/{}", d.closed[0]),
            d.staff.token(),
            json!({"starts_at": at.to_rfc3339(),
                   "ends_at": (at + chrono::Duration::hours(2)).to_rfc3339()}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mail = wait_for_mail(&app, &invitee.email, "New time").await;
    assert!(mail.text_body().contains(new_room));
    assert!(!mail.text_body().contains(EVENT_LINK));
}

#[tokio::test]
async fn staff_see_every_link_and_set_them_per_session() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let view = event_as(&app, &d, d.staff.token()).await;
    assert_eq!(view["online_url"], EVENT_LINK);
    assert_eq!(
        session_in(&view, d.closed[0])["online_url"],
        CLOSED_ROOM_LINK
    );
    assert_eq!(session_in(&view, d.public)["online_url"], EVENT_LINK);
    let admin = app.user("admin").await;
    let view = event_as(&app, &d, admin.token()).await;
    assert_eq!(
        session_in(&view, d.closed[1])["online_url"],
        CLOSED_ROOM_LINK
    );
    assert!(feed(&app, &d, d.staff.token()).await.contains(EVENT_LINK));

    // A closed session without a link of its own has none: never the event's.
    let bare = expect_json(
        app.post(
            &format!("/events/{}/sessions", d.event_id),
            d.staff.token(),
            json!({"title": "Closed session IV", "access": "closed",
                   "starts_at": fx::days_ahead(16).to_rfc3339(),
                   "ends_at": (fx::days_ahead(16) + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(bare["online_url"].is_null(), "{bare}");
    let path = format!("/sessions/{}", bare["id"].as_str().expect("id"));

    // Validated like the event's link; a bad one changes nothing.
    for bad in ["javascript:alert(1)", "ftp://example.org/room", "not a url"] {
        let problem = expect_problem(
            app.patch(&path, d.staff.token(), json!({"online_url": bad}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "online_url", "{problem}");
    }
    expect_problem(
        app.post(
            &format!("/events/{}/sessions", d.event_id),
            d.staff.token(),
            json!({"title": "Bad link", "access": "closed", "online_url": "javascript:x",
                   "starts_at": fx::days_ahead(16).to_rfc3339(),
                   "ends_at": (fx::days_ahead(16) + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let set = expect_json(
        app.patch(
            &path,
            d.staff.token(),
            json!({"online_url": "https://rooms.example.org/iv"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["online_url"], "https://rooms.example.org/iv");
    let cleared = expect_json(
        app.patch(&path, d.staff.token(), json!({"online_url": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(cleared["online_url"].is_null(), "{cleared}");

    // A public session's own link replaces the event's for its attendees.
    let own = expect_json(
        app.patch(
            &format!("/sessions/{}", d.public),
            d.staff.token(),
            json!({"online_url": "https://rooms.example.org/seminar"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(own["online_url"], "https://rooms.example.org/seminar");
}
