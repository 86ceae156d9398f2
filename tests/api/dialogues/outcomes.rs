//! Outcomes: published by staff; those of closed sessions unattributed.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

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
