//! Who may change an event, and outsiders never learning of drafts.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

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
