//! Speakers: people of the directory or plain names, in order.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

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
