//! An event's partner organisations: replaced whole and checked.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

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
