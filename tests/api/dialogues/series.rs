//! Series: listed by anyone, created by organizers.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_json, expect_problem, TestApp};

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
