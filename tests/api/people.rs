//! The API of people's details and affiliations: `PATCH /people/{id}` (admins) and
//! `DELETE /organizations/{id}/people/{person_id}` (admins and the focal point), each audited.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp};

#[tokio::test]
async fn admins_edit_a_person_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let email = fx::unique_email("aiko");
    let person = fx::person(&app, &email, "Aiko Mori").await;
    let other = fx::unique_email("other");
    fx::person(&app, &other, "Someone Else").await;
    let path = format!("/people/{person}");

    let res = app.patch(&path, None, json!({"name": "X"})).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let organizer = app.user("organizer").await;
    let res = app
        .patch(&path, organizer.token(), json!({"name": "X"}))
        .await;
    expect_problem(res, StatusCode::FORBIDDEN, "admin_only").await;

    let admin = app.user("admin").await;
    let res = app
        .patch(
            &path,
            admin.token(),
            json!({"email": "nope", "name": " ", "honorific": "x".repeat(41)}),
        )
        .await;
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "name", "honorific"]);
    let res = app
        .patch(&path, admin.token(), json!({"email": other.to_uppercase()}))
        .await;
    expect_problem(res, StatusCode::CONFLICT, "duplicate_email").await;
    let res = app
        .patch(&path, admin.token(), json!({"nmae": "typo"}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .patch(
            &format!("/people/{}", uuid::Uuid::now_v7()),
            admin.token(),
            json!({"name": "X"}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT email || '/' || name AS v FROM people WHERE id = '{person}'")
        )
        .await,
        Some(format!("{email}/Aiko Mori"))
    );

    let res = app
        .patch(
            &path,
            admin.token(),
            json!({"name": "Aiko Mori-Tanaka", "honorific": "Dr", "position": "Director"}),
        )
        .await;
    let body = expect_json(res, StatusCode::OK).await;
    assert_eq!(body["name"], "Aiko Mori-Tanaka");
    assert_eq!(body["honorific"], "Dr");
    assert_eq!(body["position"], "Director");
    assert_eq!(
        body["email"],
        email.as_str(),
        "a key left out keeps its field"
    );
    let res = app
        .patch(&path, admin.token(), json!({"honorific": null}))
        .await;
    let body = expect_json(res, StatusCode::OK).await;
    assert!(body["honorific"].is_null());
    assert_eq!(body["position"], "Director");
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM audit_entries WHERE target_id = '{person}' AND action = 'update'")
        )
        .await,
        2
    );

    // A person with an account signs in with their address: it is theirs to change.
    let member = app.user("member").await;
    let res = app
        .patch(
            &format!("/people/{}", member.person_id),
            admin.token(),
            json!({"email": fx::unique_email("elsewhere")}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "person_has_account").await;
}

#[tokio::test]
async fn admins_and_the_focal_point_end_an_affiliation() {
    let app = TestApp::spawn().await;
    let org = fx::organization(
        &app,
        "Asia Justice Coalition",
        "civil_society",
        Some("PH"),
        "active",
    )
    .await;
    let focal = app.user("member").await;
    let focal_id: uuid::Uuid = focal.person_id.parse().unwrap();
    fx::affiliate(&app, focal_id, org, true).await;
    let staff = fx::person(&app, &fx::unique_email("staff"), "Maria Santos").await;
    fx::affiliate(&app, staff, org, false).await;
    let left = fx::person(&app, &fx::unique_email("left"), "Jose Reyes").await;
    fx::affiliate(&app, left, org, false).await;
    let count = |person: uuid::Uuid| {
        format!("SELECT count(*) AS n FROM affiliations WHERE person_id = '{person}' AND organization_id = '{org}'")
    };

    let outsider = app.user("member").await;
    let res = app
        .delete(
            &format!("/organizations/{org}/people/{staff}"),
            outsider.token(),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN, "not_focal_point").await;
    assert_eq!(fx::count(&app, &count(staff)).await, 1);

    let res = app
        .delete(
            &format!("/organizations/{org}/people/{staff}"),
            focal.token(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(fx::count(&app, &count(staff)).await, 0);
    let res = app
        .delete(
            &format!("/organizations/{org}/people/{staff}"),
            focal.token(),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    let admin = app.user("admin").await;
    let res = app
        .delete(
            &format!("/organizations/{org}/people/{left}"),
            admin.token(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM audit_entries WHERE target_id = '{org}' AND action = 'end_affiliation'")
        )
        .await,
        2
    );
    let res = app
        .delete(
            &format!("/organizations/{}/people/{left}", uuid::Uuid::now_v7()),
            admin.token(),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}
