//! Creating and editing events: the creator becomes lead staff, fields are validated
//! together, slugs are unique (also under concurrency) and editable, a PATCH changes only what
//! it names.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

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
