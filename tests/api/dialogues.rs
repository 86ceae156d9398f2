//! Dialogues over HTTP: series, events and their lifecycle, staff-only changes, sessions,
//! speakers, partners, the public view of closed sessions (rule 2), times, outcomes, the
//! calendar feed and the demo data.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp, TestUser};

// --- Helpers --------------------------------------------------------------------------------

fn event_body(title: &str) -> Value {
    json!({
        "title": title,
        "summary": "A national dialogue on R2P.",
        "country": "JP",
        "timezone": "Asia/Tokyo",
        "format": "hybrid",
        "venue": "Sophia University, Tokyo",
        "online_url": "https://meet.example.org/r2p-secret-room",
    })
}

async fn new_event(app: &TestApp, user: &TestUser, title: &str) -> Value {
    fx::api_event(app, user, event_body(title)).await
}

fn closed_session() -> Value {
    json!({
        "title": "Closed session: Vitalizing R2P in the Japanese context",
        "description": "Secret deliberations among invited professionals",
        "access": "closed",
        "starts_at": "2027-02-19T10:00:00+09:00",
        "ends_at": "2027-02-19T12:30:00+09:00",
        "capacity": 30,
        "online_url": CLOSED_ROOM,
    })
}

/// The closed session's own link; the public one uses the event's.
const CLOSED_ROOM: &str = "https://closed.example.org/room";

fn public_session() -> Value {
    json!({
        "title": "Public seminar: What can Japan do?",
        "description": "Open to all",
        "access": "public",
        "starts_at": "2027-02-19T14:00:00+09:00",
        "ends_at": "2027-02-19T16:30:00+09:00",
        "capacity": 100,
    })
}

async fn add_speaker(app: &TestApp, user: &TestUser, session_id: &str, body: Value) -> Value {
    expect_json(
        app.post(
            &format!("/sessions/{session_id}/speakers"),
            user.token(),
            body,
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// A published hybrid event with a closed session (with a speaker) and a public one (with a
/// speaker). Answers (event id, closed session id, public session id).
async fn published_dialogue(app: &TestApp, lead: &TestUser) -> (String, String, String) {
    let event = new_event(app, lead, "Japan National Dialogue 2027").await;
    let id = event["id"].as_str().unwrap().to_owned();
    let closed = fx::api_session(app, lead, &id, closed_session()).await;
    let public = fx::api_session(app, lead, &id, public_session()).await;
    let closed_id = closed["id"].as_str().unwrap().to_owned();
    let public_id = public["id"].as_str().unwrap().to_owned();
    add_speaker(
        app,
        lead,
        &closed_id,
        json!({"name": "Secret Speaker", "organization": "Hidden Ministry", "role": "presenter"}),
    )
    .await;
    add_speaker(
        app,
        lead,
        &public_id,
        json!({"name": "Prof. Daisaku Higashi", "organization": "Sophia University", "role": "presenter"}),
    )
    .await;
    fx::api_publish(app, lead, &id).await;
    (id, closed_id, public_id)
}

/// The statuses of the "session is tomorrow" reminders of a registration.
async fn reminder_statuses(app: &TestApp, registration_id: Uuid) -> Vec<String> {
    use convene::db::schema::emails;
    let mut conn = app.pool.get().await.expect("connection");
    emails::table
        .filter(emails::dedupe_key.eq(format!("session-reminder:{registration_id}")))
        .select(emails::status)
        .load(&mut conn)
        .await
        .expect("reminders")
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

fn session_in<'a>(event: &'a Value, id: &str) -> &'a Value {
    event["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("session {id} not in {event}"))
}

// --- Series ---------------------------------------------------------------------------------

#[tokio::test]
async fn series_are_listed_by_anyone_and_created_by_organizers() {
    let app = TestApp::spawn().await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let body =
        json!({"name": "Japan National Dialogue on R2P", "country": "JP", "description": "Yearly"});

    expect_problem(
        app.post("/series", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post("/series", member.token(), body.clone()).await,
        StatusCode::FORBIDDEN,
        "organizer_only",
    )
    .await;
    let created = expect_json(
        app.post("/series", organizer.token(), body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["name"], "Japan National Dialogue on R2P");
    assert_eq!(created["country"], "JP");
    assert_eq!(created["description"], "Yearly");
    expect_problem(
        app.post(
            "/series",
            organizer.token(),
            json!({"name": "japan national dialogue on r2p"}),
        )
        .await,
        StatusCode::CONFLICT,
        "series_name_taken",
    )
    .await;
    let bad = expect_problem(
        app.post(
            "/series",
            organizer.token(),
            json!({"name": "", "country": "XX"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "country"]);

    let admin = app.user("admin").await;
    expect_json(
        app.post(
            "/series",
            admin.token(),
            json!({"name": "Viet Nam National Dialogue", "country": "VN"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let page = expect_json(app.get("/series?limit=1", None).await, StatusCode::OK).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["name"], "Japan National Dialogue on R2P");
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let next = expect_json(
        app.get(&format!("/series?limit=1&cursor={cursor}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(next["items"][0]["name"], "Viet Nam National Dialogue");
    assert!(next["next_cursor"].is_null());
    expect_problem(
        app.get("/series?cursor=garbage", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

// --- Events: creation and validation --------------------------------------------------------

#[tokio::test]
async fn creating_an_event_makes_the_creator_lead_staff() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    expect_problem(
        app.post("/events", None, event_body("X")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post("/events", member.token(), event_body("X")).await,
        StatusCode::FORBIDDEN,
        "organizer_only",
    )
    .await;

    let series = expect_json(
        app.post(
            "/series",
            organizer.token(),
            json!({"name": "Japan dialogues", "country": "JP"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut body = event_body("Japan: First National Dialogue on R2P and Atrocities Prevention");
    body["series_id"] = series["id"].clone();
    let event = expect_json(
        app.post("/events", organizer.token(), body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(event["status"], "draft");
    assert_eq!(
        event["slug"],
        "japan-first-national-dialogue-on-r2p-and-atrocities-prevention"
    );
    assert_eq!(event["timezone"], "Asia/Tokyo");
    assert_eq!(event["format"], "hybrid");
    assert_eq!(event["series_id"], series["id"]);
    assert_eq!(
        event["online_url"],
        "https://meet.example.org/r2p-secret-room"
    );
    assert_eq!(event["partners"], json!([]));
    assert_eq!(event["sessions"], json!([]));
    let staff = event["staff"].as_array().expect("staff see the staff");
    assert_eq!(staff.len(), 1);
    assert_eq!(staff[0]["account_id"], organizer.account_id.as_str());
    assert_eq!(staff[0]["lead"], true);
    for key in [
        "id",
        "slug",
        "title",
        "summary",
        "series_id",
        "country",
        "timezone",
        "format",
        "venue",
        "online_url",
        "status",
        "partners",
        "sessions",
    ] {
        assert!(event.get(key).is_some(), "event lacks {key}");
    }
}

#[tokio::test]
async fn event_fields_are_validated_together() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let res = app.post("/events", organizer.token(), json!({})).await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: BTreeSet<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, BTreeSet::from(["title", "timezone", "format"]));

    for (change, field) in [
        (json!({"timezone": "Mars/Olympus_Mons"}), "timezone"),
        (json!({"timezone": "JST"}), "timezone"),
        (json!({"timezone": "+09:00"}), "timezone"),
        (json!({"format": "boat"}), "format"),
        (json!({"country": "XX"}), "country"),
        (json!({"country": "Japan"}), "country"),
        (
            json!({"online_url": "ftp://example.org/room"}),
            "online_url",
        ),
        (json!({"online_url": "javascript:alert(1)"}), "online_url"),
        (json!({"venue": null}), "venue"),
        (json!({"online_url": null}), "online_url"),
        (json!({"format": "in_person", "venue": null}), "venue"),
        (
            json!({"format": "online", "online_url": null}),
            "online_url",
        ),
        (
            json!({"series_id": Uuid::now_v7().to_string()}),
            "series_id",
        ),
        (json!({"series_id": "not-a-uuid"}), "series_id"),
        (json!({"slug": "Not A Slug"}), "slug"),
        (json!({"title": "x".repeat(301)}), "title"),
    ] {
        let mut body = event_body("Valid title");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app.post("/events", organizer.token(), body.clone()).await;
        let problem =
            expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "for {change}: {problem}");
    }
    // An online event needs no venue; an in-person one no link.
    let mut online = event_body("Online only");
    online["format"] = json!("online");
    online["venue"] = Value::Null;
    expect_json(
        app.post("/events", organizer.token(), online).await,
        StatusCode::CREATED,
    )
    .await;
    let mut in_person = event_body("In person only");
    in_person["format"] = json!("in_person");
    in_person["online_url"] = Value::Null;
    let e = expect_json(
        app.post("/events", organizer.token(), in_person).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(e["online_url"].is_null());
    // Nothing was created by the refused requests.
    let mine = expect_json(app.get("/events", organizer.token()).await, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn slugs_are_made_unique_and_can_be_edited() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let first = new_event(&app, &organizer, "Đối thoại quốc gia: Việt Nam 2026").await;
    assert_eq!(first["slug"], "doi-thoai-quoc-gia-viet-nam-2026");
    let second = new_event(&app, &organizer, "Đối thoại quốc gia: Việt Nam 2026").await;
    assert_eq!(second["slug"], "doi-thoai-quoc-gia-viet-nam-2026-2");
    let third = new_event(&app, &organizer, "Đối thoại quốc gia — Việt Nam 2026!").await;
    assert_eq!(third["slug"], "doi-thoai-quoc-gia-viet-nam-2026-3");

    let mut taken = event_body("Other");
    taken["slug"] = json!("doi-thoai-quoc-gia-viet-nam-2026");
    expect_problem(
        app.post("/events", organizer.token(), taken).await,
        StatusCode::CONFLICT,
        "slug_taken",
    )
    .await;
    let mut given = event_body("Other");
    given["slug"] = json!("vietnam-2026");
    let given = expect_json(
        app.post("/events", organizer.token(), given).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(given["slug"], "vietnam-2026");

    let id = first["id"].as_str().unwrap();
    expect_problem(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"slug": "vietnam-2026"}),
        )
        .await,
        StatusCode::CONFLICT,
        "slug_taken",
    )
    .await;
    expect_problem(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"slug": "bad slug"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let renamed = expect_json(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"slug": "viet-nam-dialogue-2026"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["slug"], "viet-nam-dialogue-2026");
    // Keeping its own slug is no conflict.
    expect_json(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"slug": "viet-nam-dialogue-2026"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let by_slug = expect_json(
        app.get("/events/viet-nam-dialogue-2026", organizer.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_slug["id"], id);
}

#[tokio::test]
async fn patch_changes_only_what_it_names() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let event = new_event(&app, &organizer, "Patch me").await;
    let id = event["id"].as_str().unwrap();
    let patched = expect_json(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"title": "Patched", "summary": null, "timezone": "Asia/Manila"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["title"], "Patched");
    assert!(patched["summary"].is_null());
    assert_eq!(patched["timezone"], "Asia/Manila");
    assert_eq!(
        patched["slug"], event["slug"],
        "the slug stays unless changed"
    );
    assert_eq!(patched["venue"], event["venue"]);
    let bad = expect_problem(
        app.patch(
            &format!("/events/{id}"),
            organizer.token(),
            json!({"timezone": "Manila", "format": "online", "online_url": null}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: BTreeSet<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains("timezone"), "{bad}");
    let unchanged = expect_json(
        app.get(&format!("/events/{id}"), organizer.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unchanged["timezone"], "Asia/Manila");
    assert_eq!(unchanged["format"], "hybrid");
}

// --- Lifecycle ------------------------------------------------------------------------------

#[tokio::test]
async fn lifecycle_allows_only_legal_transitions() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let t = organizer.token();
    let go = |id: &str, action: &str| format!("/events/{id}/{action}");

    // draft → published → completed
    let a = new_event(&app, &organizer, "A").await;
    let a = a["id"].as_str().unwrap();
    let conflict = expect_problem(
        app.post(&go(a, "complete"), t, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(
        conflict["detail"].as_str().unwrap().contains("draft"),
        "{conflict}"
    );
    let published = expect_json(
        app.post(&go(a, "publish"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());
    let again = expect_problem(
        app.post(&go(a, "publish"), t, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(
        again["detail"].as_str().unwrap().contains("published"),
        "{again}"
    );
    let done = expect_json(
        app.post(&go(a, "complete"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "completed");
    for action in ["publish", "cancel", "complete"] {
        let p = expect_problem(
            app.post(&go(a, action), t, json!({})).await,
            StatusCode::CONFLICT,
            "invalid_transition",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("completed"), "{p}");
    }

    // draft → cancelled
    let b = new_event(&app, &organizer, "B").await;
    let b = b["id"].as_str().unwrap();
    let cancelled = expect_json(
        app.post(&go(b, "cancel"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    for action in ["publish", "cancel", "complete"] {
        let p = expect_problem(
            app.post(&go(b, action), t, json!({})).await,
            StatusCode::CONFLICT,
            "invalid_transition",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("cancelled"), "{p}");
    }
    // A draft cancelled before publication stays hidden from the public.
    expect_problem(
        app.get(&format!("/events/{b}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // published → cancelled: still public, marked cancelled.
    let c = new_event(&app, &organizer, "C").await;
    let c = c["id"].as_str().unwrap();
    fx::api_publish(&app, &organizer, c).await;
    expect_json(
        app.post(&go(c, "cancel"), t, json!({})).await,
        StatusCode::OK,
    )
    .await;
    let public = expect_json(app.get(&format!("/events/{c}"), None).await, StatusCode::OK).await;
    assert_eq!(public["status"], "cancelled");

    expect_problem(
        app.post(&go(&Uuid::now_v7().to_string(), "publish"), t, json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn cancelling_emails_every_registrant_and_invitee_once() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let (event_id, closed_id, public_id) = published_dialogue(&app, &organizer).await;
    let a = fx::person(&app, "alice@example.org", "Alice").await;
    let b = fx::person(&app, "bob@example.org", "Bob").await;
    let c = fx::person(&app, "carol@example.org", "Carol").await;
    let d = fx::person(&app, "dan@example.org", "Dan").await;
    // Alice: confirmed in one session, waitlisted in the other, invited too: one email.
    fx::registration(&app, &public_id, &a.to_string(), "confirmed").await;
    fx::registration(&app, &closed_id, &a.to_string(), "waitlisted").await;
    // Bob cancelled: no email. Carol: a pending invitation. Dan: a declined one, no email.
    fx::registration(&app, &public_id, &b.to_string(), "cancelled").await;
    for (person, status) in [(a, "accepted"), (c, "pending"), (d, "declined")] {
        app.sql(&format!(
            "INSERT INTO invitations (id, event_id, person_id, token_hash, status, expires_at) \
             VALUES ('{}', '{event_id}', '{person}', sha256('{person}'::text::bytea), '{status}', now() + interval '7 days')",
            Uuid::now_v7()
        ))
        .await;
    }
    let cancelled = expect_json(
        app.post(
            &format!("/events/{event_id}/cancel"),
            organizer.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let mail = app.smtp.wait_for(2, Duration::from_secs(20)).await;
    let mut to: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, ["alice@example.org", "carol@example.org"]);
    let alice = &app.smtp.messages_to("alice@example.org")[0];
    assert!(alice.subject().contains("Cancelled"), "{}", alice.subject());
    assert!(alice.text_body().contains("Japan National Dialogue 2027"));
    assert!(alice.text_body().contains("JST"), "local time in the email");

    use convene::db::schema::emails;
    let mut conn = app.pool.get().await.unwrap();
    let keys: Vec<Option<String>> = emails::table
        .filter(emails::kind.eq("event_cancelled"))
        .select(emails::dedupe_key)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&Some(format!("event-cancelled:{event_id}:{a}"))));
}

// --- Who may change an event ----------------------------------------------------------------

#[tokio::test]
async fn only_staff_change_an_event_and_outsiders_do_not_learn_of_drafts() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let other = app.user("organizer").await;
    let member = app.user("member").await;
    let admin = app.user("admin").await;
    let event = new_event(&app, &lead, "Draft dialogue").await;
    let id = event["id"].as_str().unwrap().to_owned();
    let patch = json!({"summary": "changed"});

    // A draft: 404 to those who may not know it exists.
    expect_problem(
        app.patch(&format!("/events/{id}"), None, patch.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&other, &member] {
        expect_problem(
            app.patch(&format!("/events/{id}"), user.token(), patch.clone())
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.get(&format!("/events/{id}"), user.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.post(&format!("/events/{id}/publish"), user.token(), json!({}))
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/events/{id}/sessions"),
                user.token(),
                public_session(),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_problem(
        app.get(&format!("/events/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_json(
        app.patch(&format!("/events/{id}"), admin.token(), patch.clone())
            .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.get(&format!("/events/{id}"), admin.token()).await,
        StatusCode::OK,
    )
    .await;

    // Lists: the draft is the staff's and the admin's only.
    let count = |v: Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["id"] == id.as_str())
            .count()
    };
    assert_eq!(
        count(expect_json(app.get("/events", None).await, StatusCode::OK).await),
        0
    );
    assert_eq!(
        count(expect_json(app.get("/events", other.token()).await, StatusCode::OK).await),
        0
    );
    assert_eq!(
        count(expect_json(app.get("/events", lead.token()).await, StatusCode::OK).await),
        1
    );
    assert_eq!(
        count(expect_json(app.get("/events", admin.token()).await, StatusCode::OK).await),
        1
    );

    // Published: 403 to those who may know it exists.
    let session = fx::api_session(&app, &lead, &id, public_session()).await;
    let session_id = session["id"].as_str().unwrap();
    fx::api_publish(&app, &lead, &id).await;
    for user in [&other, &member] {
        expect_problem(
            app.patch(&format!("/events/{id}"), user.token(), patch.clone())
                .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(&format!("/events/{id}/cancel"), user.token(), json!({}))
                .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/events/{id}/sessions"),
                user.token(),
                public_session(),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.patch(
                &format!("/sessions/{session_id}"),
                user.token(),
                json!({"title": "x"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.delete(&format!("/sessions/{session_id}"), user.token())
                .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/sessions/{session_id}/speakers"),
                user.token(),
                json!({"name": "X", "role": "presenter"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.put(&format!("/events/{id}/partners"), user.token(), json!([]))
                .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/events/{id}/staff"),
                user.token(),
                json!({"account_id": user.account_id}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/events/{id}/outcomes"),
                user.token(),
                json!({"title": "t", "body_markdown": "b"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
    }

    // Staff may add organizers and admins, not members.
    let res = app
        .post(
            &format!("/events/{id}/staff"),
            lead.token(),
            json!({"account_id": member.account_id}),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "account_id");
    let res = app
        .post(
            &format!("/events/{id}/staff"),
            lead.token(),
            json!({"account_id": Uuid::now_v7()}),
        )
        .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let added = expect_json(
        app.post(
            &format!("/events/{id}/staff"),
            lead.token(),
            json!({"account_id": other.account_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(added["lead"], false);
    assert_eq!(added["account_id"], other.account_id.as_str());
    expect_json(
        app.post(
            &format!("/events/{id}/staff"),
            lead.token(),
            json!({"account_id": other.account_id}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let changed = expect_json(
        app.patch(
            &format!("/events/{id}"),
            other.token(),
            json!({"summary": "by the new staff"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["summary"], "by the new staff");
    assert_eq!(changed["staff"].as_array().unwrap().len(), 2);
}

// --- Rule 2: closed sessions and online links ----------------------------------------------

const CLOSED_PUBLIC_KEYS: [&str; 5] = ["access", "ends_at", "id", "starts_at", "title"];

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

// --- Sessions -------------------------------------------------------------------------------

#[tokio::test]
async fn session_times_are_utc_with_local_extras_and_validated() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let event = new_event(&app, &lead, "Times").await;
    let id = event["id"].as_str().unwrap();

    let s = fx::api_session(
        &app,
        &lead,
        id,
        json!({
            "title": "Morning", "access": "closed",
            "starts_at": "2022-02-18T09:30:00+09:00", "ends_at": "2022-02-18T12:00:00+09:00"
        }),
    )
    .await;
    assert_eq!(s["starts_at"], "2022-02-18T00:30:00Z");
    assert_eq!(s["ends_at"], "2022-02-18T03:00:00Z");
    assert_eq!(s["starts_at_local"], "2022-02-18T09:30:00+09:00");
    assert_eq!(s["ends_at_local"], "2022-02-18T12:00:00+09:00");
    assert_eq!(
        s["chatham_house"], true,
        "closed sessions default to Chatham House"
    );
    assert!(s["capacity"].is_null(), "unlimited");
    assert_eq!(s["waitlist"], true);
    assert_eq!(s["requires_approval"], false);
    assert_eq!(s["speakers"], json!([]));
    assert_eq!(s["event_id"], id);

    // A wall-clock time without offset is read in the event's zone.
    let p = fx::api_session(
        &app,
        &lead,
        id,
        json!({
            "title": "Seminar", "access": "public",
            "starts_at": "2022-02-18T16:00", "ends_at": "2022-02-18T18:00", "capacity": 0
        }),
    )
    .await;
    assert_eq!(p["starts_at"], "2022-02-18T07:00:00Z");
    assert_eq!(
        p["chatham_house"], false,
        "public sessions default to on the record"
    );
    assert_eq!(p["capacity"], 0);
    let ch = fx::api_session(
        &app,
        &lead,
        id,
        json!({
            "title": "Public under the rule", "access": "public", "chatham_house": true,
            "starts_at": "2022-02-18T18:00:00Z", "ends_at": "2022-02-18T19:00:00Z"
        }),
    )
    .await;
    assert_eq!(ch["chatham_house"], true);

    for (body, field) in [
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T11:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T12:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-03-18T12:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "1999-02-18T12:00:00Z", "ends_at": "1999-02-18T13:00:00Z"}),
            "starts_at",
        ),
        (
            json!({"title": "x", "access": "semi", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z"}),
            "access",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "18/02/2022", "ends_at": "2022-02-18T13:00:00Z"}),
            "starts_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z", "capacity": -1}),
            "capacity",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z", "registration_closes_at": "2022-02-18T13:30:00Z"}),
            "registration_closes_at",
        ),
        (
            json!({"title": "x", "access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z", "registration_opens_at": "2022-02-10T00:00:00Z", "registration_closes_at": "2022-02-09T00:00:00Z"}),
            "registration_opens_at",
        ),
        (
            json!({"access": "public", "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z"}),
            "title",
        ),
    ] {
        let res = app
            .post(
                &format!("/events/{id}/sessions"),
                lead.token(),
                body.clone(),
            )
            .await;
        let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{body}: {p}");
    }
    // The window may close right at the end.
    fx::api_session(&app, &lead, id, json!({
        "title": "Window", "access": "public",
        "starts_at": "2022-02-18T12:00:00Z", "ends_at": "2022-02-18T13:00:00Z",
        "registration_opens_at": "2022-02-01T00:00:00Z", "registration_closes_at": "2022-02-18T13:00:00Z"
    }))
    .await;

    // PATCH re-checks the combined times.
    let sid = s["id"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/sessions/{sid}"),
            lead.token(),
            json!({"ends_at": "2022-02-18T09:00:00+09:00"}),
        )
        .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let moved = expect_json(
        app.patch(
            &format!("/sessions/{sid}"),
            lead.token(),
            json!({"starts_at": "2022-02-18T10:00", "description": "now with text"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["starts_at_local"], "2022-02-18T10:00:00+09:00");
    assert_eq!(moved["ends_at"], "2022-02-18T03:00:00Z");
    assert_eq!(moved["description"], "now with text");
    expect_problem(
        app.patch(
            &format!("/sessions/{}", Uuid::now_v7()),
            lead.token(),
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.patch("/sessions/not-an-id", lead.token(), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn raising_capacity_promotes_the_waitlist_and_deleting_needs_no_registrations() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let (_, closed_id, public_id) = published_dialogue(&app, &lead).await;
    app.sql(&format!(
        "UPDATE sessions SET capacity = 1 WHERE id = '{public_id}'"
    ))
    .await;
    let p1 = fx::person(&app, "p1@example.org", "P1").await.to_string();
    let p2 = fx::person(&app, "p2@example.org", "P2").await.to_string();
    let p3 = fx::person(&app, "p3@example.org", "P3").await.to_string();
    fx::registration(&app, &public_id, &p1, "confirmed").await;
    let w1 = fx::registration(&app, &public_id, &p2, "waitlisted").await;
    let w2 = fx::registration(&app, &public_id, &p3, "waitlisted").await;
    app.sql(&format!("UPDATE registrations SET waitlist_seq = 1 WHERE id = '{w1}'; UPDATE registrations SET waitlist_seq = 2 WHERE id = '{w2}'")).await;

    let res = app
        .patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"capacity": 0}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "capacity_below_confirmed").await;
    let raised = expect_json(
        app.patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"capacity": 2}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(raised["capacity"], 2);
    assert_eq!(raised["confirmed_count"], 2);
    assert_eq!(
        fx::registration_status(&app, w1).await,
        "confirmed",
        "first in line promoted"
    );
    assert_eq!(fx::registration_status(&app, w2).await, "waitlisted");
    assert_eq!(
        reminder_statuses(&app, w1).await,
        vec!["queued".to_owned()],
        "a promotion schedules the session reminder"
    );
    assert!(reminder_statuses(&app, w2).await.is_empty());
    let unlimited = expect_json(
        app.patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"capacity": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(unlimited["capacity"].is_null());
    assert_eq!(unlimited["confirmed_count"], 3);
    assert_eq!(fx::registration_status(&app, w2).await, "confirmed");

    let res = app
        .patch(
            &format!("/sessions/{public_id}"),
            lead.token(),
            json!({"access": "closed"}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "session_has_registrations").await;
    let res = app
        .delete(&format!("/sessions/{public_id}"), lead.token())
        .await;
    expect_problem(res, StatusCode::CONFLICT, "session_has_registrations").await;
    let res = app
        .delete(&format!("/sessions/{closed_id}"), lead.token())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("/sessions/{closed_id}"), lead.token())
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn speakers_are_people_or_names_in_order() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let event = new_event(&app, &lead, "Speakers").await;
    let id = event["id"].as_str().unwrap();
    let s = fx::api_session(&app, &lead, id, public_session()).await;
    let sid = s["id"].as_str().unwrap();
    let person = fx::person(&app, "hoshino@example.org", "Toshiya Hoshino").await;
    app.sql(&format!(
        "UPDATE people SET honorific = 'Prof.' WHERE id = '{person}'"
    ))
    .await;
    let org = fx::organization(&app, "Osaka University", "academia", Some("JP"), "active").await;
    fx::affiliate(&app, person, org, false).await;

    let first = add_speaker(
        &app,
        &lead,
        sid,
        json!({"person_id": person, "role": "opening_remarks"}),
    )
    .await;
    assert_eq!(first["name"], "Prof. Toshiya Hoshino");
    assert_eq!(first["organization"], "Osaka University");
    assert_eq!(first["order"], 1);
    let second = add_speaker(
        &app,
        &lead,
        sid,
        json!({"name": "Dr Noel M. Morada", "organization": "APR2P", "role": "moderator"}),
    )
    .await;
    assert_eq!(second["order"], 2);
    let zeroth = add_speaker(
        &app,
        &lead,
        sid,
        json!({"name": "Ms. Chair", "role": "keynote", "order": 0}),
    )
    .await;
    assert_eq!(zeroth["order"], 0);

    for (body, field) in [
        (json!({"role": "presenter"}), "name"),
        (json!({"name": "X"}), "role"),
        (json!({"name": "X", "role": "singer"}), "role"),
        (
            json!({"person_id": Uuid::now_v7(), "role": "presenter"}),
            "person_id",
        ),
    ] {
        let res = app
            .post(
                &format!("/sessions/{sid}/speakers"),
                lead.token(),
                body.clone(),
            )
            .await;
        let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], field, "{body}: {p}");
    }
    let view = expect_json(
        app.get(&format!("/events/{id}"), lead.token()).await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = view["sessions"][0]["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Ms. Chair", "Prof. Toshiya Hoshino", "Dr Noel M. Morada"]
    );

    let res = app
        .delete(
            &format!("/speakers/{}", zeroth["id"].as_str().unwrap()),
            lead.token(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let view = expect_json(
        app.get(&format!("/events/{id}"), lead.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["sessions"][0]["speakers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn partners_are_replaced_whole_and_checked() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let event = new_event(&app, &lead, "Partners").await;
    let id = event["id"].as_str().unwrap();
    let apr2p = fx::organization(
        &app,
        "Asia Pacific Centre for the Responsibility to Protect",
        "academia",
        Some("JP"),
        "active",
    )
    .await;
    let siir = fx::organization(
        &app,
        "Sophia Institute of International Relations",
        "academia",
        Some("JP"),
        "active",
    )
    .await;
    let dfat = fx::organization(
        &app,
        "Australian Department of Foreign Affairs and Trade",
        "academia",
        Some("JP"),
        "active",
    )
    .await;

    let list = expect_json(
        app.put(
            &format!("/events/{id}/partners"),
            lead.token(),
            json!([
                {"organization_id": dfat, "role": "funder"},
                {"organization_id": apr2p, "role": "organizer"},
                {"organization_id": siir, "role": "co_organizer"},
            ]),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let roles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["organizer", "co_organizer", "funder"]);
    assert_eq!(
        list[0]["name"],
        "Asia Pacific Centre for the Responsibility to Protect"
    );
    assert_eq!(list[0]["organization_id"], apr2p.to_string());

    let res = app
        .put(
            &format!("/events/{id}/partners"),
            lead.token(),
            json!([
                {"organization_id": apr2p, "role": "organizer"},
                {"organization_id": Uuid::now_v7(), "role": "supporter"},
                {"organization_id": siir, "role": "sponsor"},
                {"organization_id": apr2p, "role": "funder"},
            ]),
        )
        .await;
    let p = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: BTreeSet<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["[1].organization_id", "[2].role", "[3].organization_id"])
    );
    // Nothing changed.
    let view = expect_json(
        app.get(&format!("/events/{id}"), lead.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["partners"].as_array().unwrap().len(), 3);
    assert_eq!(
        view["partners"][2]["name"],
        "Australian Department of Foreign Affairs and Trade"
    );

    let emptied = expect_json(
        app.put(&format!("/events/{id}/partners"), lead.token(), json!([]))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(emptied, json!([]));
}

// --- Listing --------------------------------------------------------------------------------

#[tokio::test]
async fn events_are_filtered_and_paginated() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let series = expect_json(
        app.post("/series", lead.token(), json!({"name": "Series A"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let mut ids = Vec::new();
    for (title, country, date) in [
        ("Japan 2025", "JP", "2025-03-01"),
        ("Philippines 2026", "PH", "2026-05-10"),
        ("Japan 2027", "JP", "2027-02-19"),
    ] {
        let mut body = event_body(title);
        body["country"] = json!(country);
        if country == "JP" {
            body["series_id"] = series["id"].clone();
        }
        let e = expect_json(
            app.post("/events", lead.token(), body).await,
            StatusCode::CREATED,
        )
        .await;
        let id = e["id"].as_str().unwrap().to_owned();
        fx::api_session(&app, &lead, &id, json!({"title": "S", "access": "public", "starts_at": format!("{date}T10:00"), "ends_at": format!("{date}T12:00")})).await;
        fx::api_publish(&app, &lead, &id).await;
        ids.push(id);
    }
    expect_json(
        app.post(
            &format!("/events/{}/complete", ids[0]),
            lead.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let titles = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = expect_json(app.get("/events", None).await, StatusCode::OK).await;
    assert_eq!(
        titles(&all),
        ["Japan 2025", "Philippines 2026", "Japan 2027"]
    );
    assert!(all["next_cursor"].is_null());
    let jp = expect_json(app.get("/events?country=JP", None).await, StatusCode::OK).await;
    assert_eq!(titles(&jp), ["Japan 2025", "Japan 2027"]);
    let by_series = expect_json(
        app.get(
            &format!("/events?series_id={}", series["id"].as_str().unwrap()),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(titles(&by_series), ["Japan 2025", "Japan 2027"]);
    let completed = expect_json(
        app.get("/events?status=completed", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(titles(&completed), ["Japan 2025"]);
    let range = expect_json(
        app.get("/events?from=2026-01-01&to=2026-12-31", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(titles(&range), ["Philippines 2026"]);
    let to_day = expect_json(app.get("/events?to=2025-03-01", None).await, StatusCode::OK).await;
    assert_eq!(
        titles(&to_day),
        ["Japan 2025"],
        "`to` includes its whole day"
    );
    let upcoming = expect_json(
        app.get("/events?from=2026-05-10T03:00:00Z", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        titles(&upcoming),
        ["Philippines 2026", "Japan 2027"],
        "ongoing and later"
    );

    let page1 = expect_json(app.get("/events?limit=2", None).await, StatusCode::OK).await;
    assert_eq!(titles(&page1), ["Japan 2025", "Philippines 2026"]);
    let cursor = page1["next_cursor"].as_str().expect("more");
    let page2 = expect_json(
        app.get(&format!("/events?limit=2&cursor={cursor}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(titles(&page2), ["Japan 2027"]);
    assert!(page2["next_cursor"].is_null());
    let huge = expect_json(app.get("/events?limit=100000", None).await, StatusCode::OK).await;
    assert_eq!(titles(&huge).len(), 3, "limit is clamped");

    for query in [
        "country=XX",
        "status=open",
        "from=yesterday",
        "series_id=nope",
        "cursor=abc",
    ] {
        let res = app.get(&format!("/events?{query}"), None).await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    expect_problem(
        app.get("/events?limit=ten", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

// --- Outcomes -------------------------------------------------------------------------------

#[tokio::test]
async fn outcomes_are_published_and_closed_ones_unattributed() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let member = app.user("member").await;
    let (event_id, closed_id, public_id) = published_dialogue(&app, &lead).await;
    let path = format!("/events/{event_id}/outcomes");

    expect_problem(
        app.post(&path, None, json!({"title": "t", "body_markdown": "b"}))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post(
            &path,
            member.token(),
            json!({"title": "t", "body_markdown": "b"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "not_event_staff",
    )
    .await;
    let p = expect_problem(
        app.post(&path, lead.token(), json!({"session_id": Uuid::now_v7()}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: BTreeSet<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["title", "body_markdown", "session_id"])
    );

    let closed = expect_json(app.post(&path, lead.token(), json!({
        "title": "Highlights of the closed session",
        "body_markdown": "Human security can serve **Pillar II**.\n\n<script>alert(1)</script>",
        "session_id": closed_id,
        "publish": true,
    })).await, StatusCode::CREATED).await;
    assert_eq!(closed["published"], true);
    assert_eq!(closed["chatham_house"], true);
    assert!(closed.get("speakers").is_none(), "no attribution: {closed}");
    assert!(closed["body_html"]
        .as_str()
        .unwrap()
        .contains("<strong>Pillar II</strong>"));
    assert!(!closed["body_html"].as_str().unwrap().contains("<script"));

    let public = expect_json(
        app.post(
            &path,
            lead.token(),
            json!({
                "title": "Highlights of the public seminar",
                "body_markdown": "Prof. Higashi asked whether R2P could be broadened.",
                "session_id": public_id,
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(public["published"], false);
    assert!(public["published_at"].is_null());
    let whole = expect_json(
        app.post(
            &path,
            lead.token(),
            json!({"title": "Summary", "body_markdown": "All went well.", "publish": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(whole["session_id"].is_null());

    // Drafts are for staff; 404 for others who may not know they exist.
    let listed = expect_json(app.get(&path, None).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let staff_list = expect_json(app.get(&path, lead.token()).await, StatusCode::OK).await;
    assert_eq!(staff_list["items"].as_array().unwrap().len(), 3);
    let publish_path = format!("/outcomes/{}/publish", public["id"].as_str().unwrap());
    expect_problem(
        app.post(&publish_path, member.token(), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let published = expect_json(
        app.post(&publish_path, lead.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(published["published"], true);
    let again = expect_json(
        app.post(&publish_path, lead.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["published_at"], published["published_at"]);
    expect_problem(
        app.post(&publish_path, member.token(), json!({})).await,
        StatusCode::FORBIDDEN,
        "not_event_staff",
    )
    .await;

    let listed = expect_json(app.get(&path, None).await, StatusCode::OK).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let of_closed = items
        .iter()
        .find(|o| o["session_id"] == closed_id.as_str())
        .unwrap();
    assert!(of_closed.get("speakers").is_none());
    assert!(
        !listed.to_string().contains("Secret Speaker"),
        "closed speakers leaked: {listed}"
    );
    let of_public = items
        .iter()
        .find(|o| o["session_id"] == public_id.as_str())
        .unwrap();
    assert_eq!(of_public["speakers"][0]["name"], "Prof. Daisaku Higashi");

    let page = expect_json(
        app.get(&format!("{path}?limit=1"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string());

    // A draft event's outcomes do not exist for the public.
    let draft = new_event(&app, &lead, "Draft with outcomes").await;
    let draft_path = format!("/events/{}/outcomes", draft["id"].as_str().unwrap());
    expect_problem(
        app.get(&draft_path, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

// --- Calendar -------------------------------------------------------------------------------

#[tokio::test]
async fn the_calendar_feed_lists_public_sessions_in_the_event_zone() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let (event_id, _closed_id, public_id) = published_dialogue(&app, &lead).await;
    let res = app
        .get(&format!("/events/{event_id}/calendar.ics"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = res.text().await.unwrap();
    assert!(
        !ics.contains("meet.example.org"),
        "the feed never carries the online link"
    );
    assert!(
        !ics.contains("Closed session"),
        "closed sessions stay out of the feed"
    );

    // Parsed back by a real iCalendar parser.
    let calendar: icalendar::Calendar = ics.parse().expect("a valid iCalendar document");
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1);
    use icalendar::{Component, EventLike};
    let event = events[0];
    assert_eq!(
        event.get_summary(),
        Some("Public seminar: What can Japan do?")
    );
    assert_eq!(
        event.get_uid(),
        Some(format!("{public_id}@convene").as_str())
    );
    match event.get_start() {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => {
            assert_eq!(tzid, "Asia/Tokyo");
            assert_eq!(date_time.to_string(), "2027-02-19 14:00:00");
        }
        other => panic!("start should be local Tokyo time, got {other:?}"),
    }
    let start_utc = match event.get_start() {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => {
            use chrono::TimeZone;
            let zone: chrono_tz::Tz = tzid.parse().expect("an IANA TZID");
            zone.from_local_datetime(&date_time)
                .single()
                .expect("one instant")
                .with_timezone(&chrono::Utc)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(start_utc.to_rfc3339(), "2027-02-19T05:00:00+00:00");
    assert!(event
        .get_location()
        .is_some_and(|l| l.contains("Sophia University")));
    let raw = icalendar::parser::unfold(&ics);
    let parsed = icalendar::parser::read_calendar(&raw).expect("parses");
    let kinds: Vec<String> = parsed
        .components
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert!(kinds.contains(&"VTIMEZONE".to_owned()), "{kinds:?}");
    assert!(ics.contains("TZOFFSETTO:+0900"));
    assert!(ics.contains("METHOD:PUBLISH"));

    // By slug too; drafts are not found; a cancelled event's feed empties.
    let res = app
        .get("/events/japan-national-dialogue-2027/calendar.ics", None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let draft = new_event(&app, &lead, "Draft").await;
    let res = app
        .get(
            &format!("/events/{}/calendar.ics", draft["id"].as_str().unwrap()),
            None,
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    expect_json(
        app.post(
            &format!("/events/{event_id}/cancel"),
            lead.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let ics = app
        .get(&format!("/events/{event_id}/calendar.ics"), None)
        .await
        .text()
        .await
        .unwrap();
    let calendar: icalendar::Calendar = ics.parse().expect("valid");
    assert_eq!(
        calendar
            .components
            .iter()
            .filter(|c| c.as_event().is_some())
            .count(),
        0
    );
}

// --- Demo data ------------------------------------------------------------------------------

#[tokio::test]
async fn the_demo_loads_the_japan_dialogues_once() {
    let app = TestApp::spawn().await;
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo loads");
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo loads again");

    let listed = expect_json(app.get("/events", None).await, StatusCode::OK).await;
    let slugs: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        [
            "japan-national-dialogue-2022",
            "japan-national-dialogue-2027"
        ]
    );

    let e = expect_json(
        app.get("/events/japan-national-dialogue-2022", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(e["status"], "completed");
    assert_eq!(e["format"], "online");
    assert_eq!(e["timezone"], "Asia/Tokyo");
    assert!(e.get("online_url").is_none());
    let roles: Vec<(&str, &str)> = e["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["short_name"]
                    .as_str()
                    .unwrap_or(p["name"].as_str().unwrap()),
                p["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 5);
    assert_eq!(roles[0], ("APR2P", "organizer"));
    assert!(roles.contains(&("DFAT", "funder")));
    assert!(roles.contains(&("AHC", "supporter")));
    let sessions = e["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(
        sessions[0]["starts_at"], "2022-02-18T00:30:00Z",
        "09:30 in Tokyo"
    );
    assert!(sessions[0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Vitalizing R2P in the Japanese Context"));
    assert_eq!(
        keys(&sessions[0]),
        CLOSED_PUBLIC_KEYS.iter().map(|k| k.to_string()).collect()
    );
    assert_eq!(
        keys(&sessions[1]),
        CLOSED_PUBLIC_KEYS.iter().map(|k| k.to_string()).collect()
    );
    let seminar = &sessions[2];
    assert_eq!(seminar["starts_at_local"], "2022-02-18T16:00:00+09:00");
    let speakers: Vec<&str> = seminar["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        speakers,
        [
            "Prof. Toshiya Hoshino",
            "Dr Noel M. Morada",
            "Prof. Daisaku Higashi",
            "Prof. Misako Takizawa",
            "Prof. Yasuhiro Ueki"
        ]
    );
    let text = e.to_string();
    assert!(
        !text.contains("Ralph") && !text.contains("Hasegawa"),
        "closed-session speakers leaked"
    );

    let outcomes = expect_json(
        app.get("/events/japan-national-dialogue-2022/outcomes", None)
            .await,
        StatusCode::OK,
    )
    .await;
    let items = outcomes["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].get("speakers").is_none() && items[1].get("speakers").is_none());
    assert_eq!(items[0]["chatham_house"], true);
    assert_eq!(items[2]["speakers"].as_array().unwrap().len(), 5);
    assert!(items[2]["body_html"].as_str().unwrap().contains("<p>"));

    let upcoming = expect_json(
        app.get("/events/japan-national-dialogue-2027", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(upcoming["status"], "published");
    assert_eq!(upcoming["format"], "hybrid");
    assert_eq!(upcoming["series_id"], e["series_id"]);
    let series = expect_json(app.get("/series", None).await, StatusCode::OK).await;
    assert_eq!(series["items"].as_array().unwrap().len(), 1);

    use convene::db::schema::{organizations, people, speakers};
    let mut conn = app.pool.get().await.unwrap();
    let n_orgs: i64 = organizations::table
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    let n_people: i64 = people::table.count().get_result(&mut conn).await.unwrap();
    let n_speakers: i64 = speakers::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(n_orgs, 5, "the five partners");
    assert_eq!(n_people, 7, "the seven speakers");
    assert_eq!(n_speakers, 9);
}

#[tokio::test]
async fn concurrent_creations_get_distinct_slugs_and_retries_create_once() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let requests = (0..6).map(|_| app.post("/events", organizer.token(), event_body("Same title")));
    let mut slugs: Vec<String> = Vec::new();
    for res in futures_util::future::join_all(requests).await {
        let e = expect_json(res, StatusCode::CREATED).await;
        slugs.push(e["slug"].as_str().unwrap().to_owned());
    }
    slugs.sort();
    assert_eq!(
        slugs,
        [
            "same-title",
            "same-title-2",
            "same-title-3",
            "same-title-4",
            "same-title-5",
            "same-title-6"
        ]
    );

    let send = |body: Value| {
        app.client
            .post(app.api("/events"))
            .bearer_auth(&organizer.token)
            .header("Idempotency-Key", "create-dialogue-1")
            .json(&body)
            .send()
    };
    let first = expect_json(send(event_body("Once")).await.unwrap(), StatusCode::CREATED).await;
    let again = expect_json(send(event_body("Once")).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(first["id"], again["id"]);
    expect_problem(
        send(event_body("Other")).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let mine = expect_json(
        app.get("/events?limit=200", organizer.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["title"] == "Once")
            .count(),
        1
    );
}

/// A dialogue cancelled before it was ever published is as secret as a draft: every staff-only
/// route of the event answers outsiders 404, not 403, while its staff still reach them.
#[tokio::test]
async fn an_event_never_published_stays_unknown_to_outsiders() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let outsider = app.user("organizer").await;
    let event = new_event(&app, &lead, "Called off early").await;
    let id = event["id"].as_str().unwrap();
    let session = fx::api_session(&app, &lead, id, public_session()).await;
    expect_json(
        app.post(&format!("/events/{id}/cancel"), lead.token(), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let session_id = session["id"].as_str().unwrap();
    for path in [
        format!("/events/{id}"),
        format!("/events/{id}/report"),
        format!("/events/{id}/emails"),
        format!("/events/{id}/invitations"),
        format!("/sessions/{session_id}/registrations"),
    ] {
        expect_problem(
            app.get(&path, outsider.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_json(app.get(&path, lead.token()).await, StatusCode::OK).await;
    }
}
