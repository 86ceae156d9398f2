//! Creating and editing organisations: admins only, every field checked, live names unique
//! whatever their case (also under concurrency), each change audited.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn only_admins_create_and_every_field_is_checked() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let body = org(
        "Japan Institute of International Affairs",
        "think_tank",
        Some("JP"),
    );

    expect_problem(
        app.post("/organizations", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer] {
        expect_problem(
            app.post("/organizations", user.token(), body.clone()).await,
            StatusCode::FORBIDDEN,
            "admin_only",
        )
        .await;
    }
    let created = create(&app, &admin, body).await;
    assert_eq!(created["status"], "active");
    assert_eq!(created["country"], "JP");
    assert!(created["short_name"].is_null());

    let bad = expect_problem(
        app.post(
            "/organizations",
            admin.token(),
            json!({"name": " ", "kind": "club", "country": "XX", "website": "ftp://example.org",
                   "short_name": "x".repeat(51), "status": "dormant", "contact_email": "nope"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: HashSet<String> = error_fields(&bad).into_iter().collect();
    for field in [
        "name",
        "kind",
        "country",
        "website",
        "short_name",
        "status",
        "contact_email",
    ] {
        assert!(fields.contains(field), "{field} not reported: {bad}");
    }

    // A country is required except for regional and international bodies.
    for kind in [
        "government",
        "civil_society",
        "academia",
        "think_tank",
        "other",
    ] {
        let bad = expect_problem(
            app.post("/organizations", admin.token(), org("Nowhere", kind, None))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&bad), vec!["country"], "{kind}");
    }
    let un = create(
        &app,
        &admin,
        org("United Nations", "international_organization", None),
    )
    .await;
    assert!(un["country"].is_null());
    let asean = create(
        &app,
        &admin,
        json!({"name": "ASEAN Secretariat", "kind": "regional_organization", "country": "ID",
               "website": "https://asean.org"}),
    )
    .await;
    assert_eq!(asean["website"], "https://asean.org/");

    let missing = expect_problem(
        app.post("/organizations", admin.token(), json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: HashSet<String> = error_fields(&missing).into_iter().collect();
    assert!(fields.contains("name") && fields.contains("kind"));
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        3
    );
}

#[tokio::test]
async fn live_names_are_unique_whatever_their_case() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let first = create(
        &app,
        &admin,
        org("Waseda University", "academia", Some("JP")),
    )
    .await;
    let first_id = id_of(&first);

    let dup = expect_problem(
        app.post(
            "/organizations",
            admin.token(),
            org("  WASEDA university ", "academia", Some("JP")),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    let detail = dup["detail"].as_str().unwrap();
    assert!(detail.contains(&first_id), "{detail}");
    assert!(detail.contains("Waseda University"), "{detail}");

    // An application under a taken name is refused the same way.
    let dup = expect_problem(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "waseda university", "kind": "academia", "country": "JP",
                   "contact_email": "a@example.org"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    assert!(dup["detail"].as_str().unwrap().contains(&first_id));

    // Renaming onto a taken name too.
    let other = create(
        &app,
        &admin,
        org("Osaka University", "academia", Some("JP")),
    )
    .await;
    let dup = expect_problem(
        app.patch(
            &format!("/organizations/{}", id_of(&other)),
            admin.token(),
            json!({"name": "Waseda UNIVERSITY"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    assert!(dup["detail"].as_str().unwrap().contains(&first_id));

    // A withdrawn organisation frees its name.
    expect_json(
        act(&app, &admin, &first_id, "withdraw").await,
        StatusCode::OK,
    )
    .await;
    let again = create(
        &app,
        &admin,
        org("Waseda University", "academia", Some("JP")),
    )
    .await;
    assert_ne!(id_of(&again), first_id);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_give_one_201_and_409s() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let requests = (0..10).map(|i| {
        let name = if i % 2 == 0 {
            "Global Peacebuilding Association of Japan"
        } else {
            "GLOBAL PEACEBUILDING ASSOCIATION OF JAPAN"
        };
        app.post(
            "/organizations",
            admin.token(),
            org(name, "civil_society", Some("JP")),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut statuses = Vec::new();
    for res in responses {
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert!(!status.is_server_error(), "{status}: {body}");
        if status == StatusCode::CONFLICT {
            assert_eq!(body["code"], "duplicate_name");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        1
    );
}

#[tokio::test]
async fn admins_update_details_with_an_audit_entry() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let created = create(
        &app,
        &admin,
        json!({"name": "Japan International Cooperation System", "short_name": "JICS",
               "kind": "other", "country": "JP", "website": "https://www.jics.or.jp/"}),
    )
    .await;
    let id = id_of(&created);
    let path = format!("/organizations/{id}");

    expect_problem(
        app.patch(&path, None, json!({"short_name": "X"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.patch(&path, member.token(), json!({"short_name": "X"}))
            .await,
        StatusCode::FORBIDDEN,
        "admin_only",
    )
    .await;

    let updated = expect_json(
        app.patch(
            &path,
            admin.token(),
            json!({"kind": "civil_society", "website": null, "contact_email": "jics@example.org"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["kind"], "civil_society");
    assert!(updated["website"].is_null());
    assert_eq!(updated["short_name"], "JICS");
    assert_eq!(updated["contact_email"], "jics@example.org");

    // The result must still be consistent: this kind needs a country.
    let bad = expect_problem(
        app.patch(&path, admin.token(), json!({"country": null}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["country"]);
    let bad = expect_problem(
        app.patch(
            &path,
            admin.token(),
            json!({"name": null, "kind": "club", "website": "nope"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["name", "kind", "website"]);
    // Becoming an international body allows dropping the country.
    let moved = expect_json(
        app.patch(
            &path,
            admin.token(),
            json!({"kind": "international_organization", "country": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(moved["country"].is_null());

    // An empty patch changes nothing and writes no entry.
    expect_json(
        app.patch(&path, admin.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.patch(
            &format!("/organizations/{}", uuid::Uuid::now_v7()),
            admin.token(),
            json!({"short_name": "X"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let entries = audit(
        &app,
        &admin,
        &format!("?target_type=organization&target_id={id}"),
    )
    .await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["update", "update", "create"]);
    assert_eq!(entries[1]["before"]["kind"], "other");
    assert_eq!(entries[1]["after"]["kind"], "civil_society");
    assert_eq!(entries[1]["before"]["website"], "https://www.jics.or.jp/");
    assert!(entries[1]["after"]["website"].is_null());
}
