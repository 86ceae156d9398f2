//! Who may call the staff-only invitation routes, role by role.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::fixtures::{self as fx, EventSpec, SessionSpec};
use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn staff_only_routes_answer_per_role() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let draft = fx::event(
        &app,
        EventSpec {
            status: "draft",
            ..EventSpec::default()
        },
    )
    .await;
    let draft_session = fx::add_session(
        &app,
        draft,
        &SessionSpec::closed("Draft closed", fx::days_ahead(10)),
    )
    .await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let admin = app.user("admin").await;
    let staff_member = app.user("member").await;
    fx::add_staff(&app, d.event_id, &staff_member).await;
    let body = |email: &str| json!({"session_ids": [d.closed[0]], "invitees": [invitee(email, "Someone")]});
    let create = format!("/events/{}/invitations", d.event_id);

    // Anonymous: 401 everywhere staff-only.
    expect_problem(
        app.post(&create, None, body("a@example.org")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.get(&create, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    // Not on the staff of a published event: 403; of a draft: 404.
    for user in [&member, &organizer] {
        expect_problem(
            app.post(&create, user.token(), body("a@example.org")).await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.get(&create, user.token()).await,
            StatusCode::FORBIDDEN,
            "not_event_staff",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/events/{draft}/invitations"),
                user.token(),
                json!({"session_ids": [draft_session], "invitees": [invitee("a@example.org", "A")]}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_problem(
        app.get(
            &format!("/events/{}/invitations", Uuid::now_v7()),
            admin.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Event staff (whatever their role) and admins may.
    let by_staff = expect_json(
        app.post(&create, staff_member.token(), body("s@example.org"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(&create, admin.token(), body("admin@example.org"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(app.get(&create, admin.token()).await, StatusCode::OK).await;
    expect_json(app.get(&create, staff_member.token()).await, StatusCode::OK).await;
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM invitations").await,
        2
    );

    // Resend and revoke: 401 anonymous, 404 to non-staff (an invitation's existence is private).
    let id = by_staff["invitations"][0]["id"].as_str().unwrap();
    for action in ["resend", "revoke"] {
        let path = format!("/invitations/{id}/{action}");
        expect_problem(
            app.post(&path, None, json!({})).await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        )
        .await;
        expect_problem(
            app.post(&path, member.token(), json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.post(&path, organizer.token(), json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        expect_problem(
            app.post(
                &format!("/invitations/{}/{action}", Uuid::now_v7()),
                admin.token(),
                json!({}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_json(
        app.post(
            &format!("/invitations/{id}/resend"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.post(
            &format!("/invitations/{id}/revoke"),
            admin.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // A cancelled event takes no new invitations.
    fx::set_event_status(&app, d.event_id, "cancelled").await;
    expect_problem(
        app.post(&create, admin.token(), body("late@example.org"))
            .await,
        StatusCode::CONFLICT,
        "event_not_open",
    )
    .await;
    // ... and its invitations can no longer be answered.
    let token = invitation_token(&app, "admin@example.org").await;
    expect_problem(
        app.get(&format!("/invitations/by-token/{token}"), None)
            .await,
        StatusCode::GONE,
        "event_not_open",
    )
    .await;
    expect_problem(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::GONE,
        "event_not_open",
    )
    .await;
    let page = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("no longer open"));
}
