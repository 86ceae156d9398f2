//! The membership lifecycle and its illegal transitions.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn membership_lifecycle_and_its_illegal_transitions() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let applied = expect_json(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "Sophia Institute of International Relations", "short_name": "SIIR",
                   "kind": "academia", "country": "JP", "contact_email": "siir@example.org"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = id_of(&applied);

    let illegal = |status: &'static str| {
        move |body: Value| {
            let detail = body["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(status), "detail names {status}: {detail}");
        }
    };

    // From applicant: only approve and withdraw.
    for action in ["suspend", "reinstate"] {
        illegal("applicant")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }
    // Nobody but admins moves it.
    for action in ["approve", "suspend", "reinstate", "withdraw"] {
        expect_problem(
            app.post(&format!("/organizations/{id}/{action}"), None, json!({}))
                .await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        )
        .await;
        for user in [&member, &organizer] {
            expect_problem(
                act(&app, user, &id, action).await,
                StatusCode::FORBIDDEN,
                "admin_only",
            )
            .await;
        }
    }
    let approved = expect_json(act(&app, &admin, &id, "approve").await, StatusCode::OK).await;
    assert_eq!(approved["status"], "active");
    assert_eq!(
        approved["joined_on"],
        chrono::Utc::now().date_naive().to_string()
    );

    // From active: only suspend and withdraw.
    for action in ["approve", "reinstate"] {
        illegal("active")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }
    let suspended = expect_json(act(&app, &admin, &id, "suspend").await, StatusCode::OK).await;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["joined_on"], approved["joined_on"]);
    assert!(names(&list(&app, "", None).await).is_empty());

    // From suspended: only reinstate and withdraw.
    for action in ["approve", "suspend"] {
        illegal("suspended")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }
    let reinstated = expect_json(act(&app, &admin, &id, "reinstate").await, StatusCode::OK).await;
    assert_eq!(reinstated["status"], "active");
    assert_eq!(
        names(&list(&app, "", None).await),
        vec!["Sophia Institute of International Relations"]
    );
    expect_json(act(&app, &admin, &id, "suspend").await, StatusCode::OK).await;
    let withdrawn = expect_json(act(&app, &admin, &id, "withdraw").await, StatusCode::OK).await;
    assert_eq!(withdrawn["status"], "withdrawn");

    // Withdrawn is final.
    for action in ["approve", "suspend", "reinstate", "withdraw"] {
        illegal("withdrawn")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }

    // Applicants and active members may be withdrawn directly too.
    let other = create(
        &app,
        &admin,
        org("Active Then Gone", "academia", Some("AU")),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&other), "withdraw").await,
        StatusCode::OK,
    )
    .await;
    let pending = create(
        &app,
        &admin,
        json!({"name": "Declined Applicant", "kind": "academia", "country": "AU", "status": "applicant"}),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&pending), "withdraw").await,
        StatusCode::OK,
    )
    .await;

    expect_problem(
        act(&app, &admin, &uuid::Uuid::now_v7().to_string(), "approve").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Each change is in the audit trail with the record before and after, newest first; the
    // approval made the applicant's contact the focal point (`affiliate`).
    let entries = audit(&app, &admin, &format!("?target=organization:{id}")).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "withdraw",
            "suspend",
            "reinstate",
            "suspend",
            "affiliate",
            "approve",
            "apply"
        ]
    );
    let approve = &entries[5];
    assert_eq!(approve["before"]["status"], "applicant");
    assert_eq!(approve["after"]["status"], "active");
    assert_eq!(approve["actor_account_id"], admin.account_id.as_str());
    assert_eq!(approve["target_type"], "organization");
    assert_eq!(approve["target_id"], id.as_str());
    assert!(entries[6]["actor_account_id"].is_null());
    assert!(entries[6]["before"].is_null());
}
