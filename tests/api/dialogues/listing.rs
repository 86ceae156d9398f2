//! The event list: filters and pagination.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

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
