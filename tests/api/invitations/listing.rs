//! Lists and reports: the staff list with its cursor and filter, the event report, and an
//! account's own invitations.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn the_staff_list_pages_with_a_cursor_and_filters_by_status() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    for i in 0..5 {
        invite(
            &app,
            &d,
            json!({"session_ids": [d.closed[0]], "invitees": [invitee(&format!("p{i}@example.org"), "P")]}),
        )
        .await;
    }
    let token = invitation_token(&app, "p2@example.org").await;
    expect_json(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/events/{}/invitations?limit=2", d.event_id),
            Some(c) => format!("/events/{}/invitations?limit=2&cursor={c}", d.event_id),
        };
        let page = expect_json(app.get(&path, d.staff.token()).await, StatusCode::OK).await;
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        (0..5)
            .rev()
            .map(|i| format!("p{i}@example.org"))
            .collect::<Vec<_>>(),
        "newest first, each once"
    );
    let declined = expect_json(
        app.get(
            &format!("/events/{}/invitations?status=declined", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(declined["items"].as_array().unwrap().len(), 1);
    assert_eq!(declined["items"][0]["email"], "p2@example.org");
    expect_problem(
        app.get(
            &format!("/events/{}/invitations?status=maybe", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(
            &format!("/events/{}/invitations?cursor=nonsense", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

/// The event report counts invitations: the funnel by status (a lapsed pending invitation is
/// expired) and the invitees' seats in the stakeholder balance of their sessions.
#[tokio::test]
async fn the_event_report_counts_invitations_and_the_seats_they_gave() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let ministry = fx::organization(
        &app,
        "Ministry of Foreign Affairs of Japan",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let created = invite(
        &app,
        &d,
        json!({"session_ids": [d.closed[0]], "invitees": [
            {"email": "accepts@example.org", "name": "Accepts", "organization_id": ministry},
            invitee("declines@example.org", "Declines"),
            invitee("revoked@example.org", "Revoked"),
            invitee("lapses@example.org", "Lapses"),
            invitee("waits@example.org", "Waits"),
        ]}),
    )
    .await;
    let id_of = |email: &str| {
        created["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == email)
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let accepts = invitation_token(&app, "accepts@example.org").await;
    expect_json(
        respond(&app, &accepts, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    let declines = invitation_token(&app, "declines@example.org").await;
    expect_json(
        respond(&app, &declines, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.post(
            &format!("/invitations/{}/revoke", id_of("revoked@example.org")),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    fx::expire_invitation(&app, id_of("lapses@example.org")).await;

    let report = expect_json(
        app.get(&format!("/events/{}/report", d.event_id), d.staff.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        report["invitations"],
        json!({"sent": 5, "accepted": 1, "declined": 1, "pending": 1, "expired": 1, "revoked": 1})
    );
    let closed = report["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == d.closed[0].to_string())
        .expect("the closed session");
    assert_eq!(closed["counts"]["confirmed"], 1);
    assert_eq!(
        closed["confirmed_by_organization_kind"],
        json!({"government": 1})
    );
    assert_eq!(closed["confirmed_by_country"], json!({"JP": 1}));
}

/// `GET /me/invitations`: an account sees the invitations to its own address, never another's,
/// never a token; newest first, paged like every list.
#[tokio::test]
async fn an_account_lists_its_own_invitations() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let other = fx::dialogue(&app).await;
    let member = app.user("member").await;
    let stranger = app.user("member").await;
    let body = |sessions: Value| {
        json!({"session_ids": sessions, "invitees": [
            {"email": member.email, "name": "Member"},
            invitee("someone@example.org", "Someone"),
        ]})
    };
    // The first invitation is accepted before the second is sent.
    invite(&app, &d, body(json!([d.closed[0]]))).await;
    let token = invitation_token(&app, &member.email).await;
    expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    invite(&app, &other, body(json!(other.closed))).await;
    expect_problem(
        app.get("/me/invitations", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let none = expect_json(
        app.get("/me/invitations", stranger.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["items"], json!([]));

    let res = app.get("/me/invitations", member.token()).await;
    let text = res.text().await.unwrap();
    assert!(!text.contains(&token), "no token in the list");
    let mine: Value = serde_json::from_str(&text).unwrap();
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["event"]["id"],
        other.event_id.to_string(),
        "newest first"
    );
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(items[1]["status"], "accepted");
    assert_eq!(items[1]["sessions"][0]["accepted"], true);
    assert!(items[1]["sessions"][0]["local_time"]
        .as_str()
        .unwrap()
        .ends_with("(Asia/Tokyo)"));

    let first = expect_json(
        app.get("/me/invitations?limit=1", member.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"][0]["id"], items[0]["id"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = expect_json(
        app.get(
            &format!("/me/invitations?limit=1&cursor={cursor}"),
            member.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"][0]["id"], items[1]["id"]);
    assert!(second["next_cursor"].is_null());
}
