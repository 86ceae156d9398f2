//! People: contacts for organizers and admins, an organisation's people managed by admins and
//! focal points, exactly one focal point under concurrency.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn contacts_are_for_organizers_and_admins() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let body = json!({"email": "Hoshino@Example.org", "name": "Toshiya Hoshino",
                      "honorific": "Prof.", "position": "Professor, Osaka University"});

    expect_problem(
        app.get("/people", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post("/people", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.get("/people", member.token()).await,
        StatusCode::FORBIDDEN,
        "organizer_only",
    )
    .await;
    expect_problem(
        app.post("/people", member.token(), body.clone()).await,
        StatusCode::FORBIDDEN,
        "organizer_only",
    )
    .await;

    let person = expect_json(
        app.post("/people", organizer.token(), body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(person["email"], "hoshino@example.org");
    assert_eq!(person["honorific"], "Prof.");
    assert_eq!(person["has_account"], false);

    let dup = expect_problem(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "HOSHINO@example.org", "name": "Someone Else"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_email",
    )
    .await;
    assert!(dup["detail"]
        .as_str()
        .unwrap()
        .contains(person["id"].as_str().unwrap()));

    let bad = expect_problem(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "not-an-email", "name": "", "honorific": "x".repeat(41),
                   "position": "p".repeat(201)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        vec!["email", "name", "honorific", "position"]
    );
    // Free-text honorifics are fine.
    expect_json(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "ambassador@example.org", "name": "Kenji Abe", "honorific": "H.E."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // The list has everyone, accounts included, by name; q searches name and email.
    let all = expect_json(app.get("/people", admin.token()).await, StatusCode::OK).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    let found = expect_json(
        app.get("/people?q=hoshino", organizer.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["name"], "Toshiya Hoshino");
    let found = expect_json(
        app.get(&format!("/people?q={}", member.email), admin.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["items"][0]["has_account"], true);

    // Pagination walks everyone exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/people?limit=2&cursor={c}"),
            None => "/people?limit=2".to_owned(),
        };
        let page = expect_json(app.get(&query, admin.token()).await, StatusCode::OK).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);

    let entries = audit(
        &app,
        &admin,
        &format!("?target=person:{}", person["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "create");
    assert_eq!(
        entries[0]["actor_account_id"],
        organizer.account_id.as_str()
    );
}

#[tokio::test]
async fn admins_and_focal_points_manage_an_organizations_people() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let focal = app
        .user_with_email("member", "sato@example.org", "Yuko Sato")
        .await;
    let other_focal = app.user("member").await;

    let mofa = create(
        &app,
        &admin,
        json!({"name": "Ministry of Foreign Affairs of Japan", "short_name": "MOFA",
               "kind": "government", "country": "JP"}),
    )
    .await;
    let mofa_people = format!("/organizations/{}/people", id_of(&mofa));
    let jica = create(
        &app,
        &admin,
        org(
            "Japan International Cooperation Agency",
            "government",
            Some("JP"),
        ),
    )
    .await;
    let jica_people = format!("/organizations/{}/people", id_of(&jica));
    let applicant = create(
        &app,
        &admin,
        json!({"name": "Hidden Applicant", "kind": "academia", "country": "JP", "status": "applicant"}),
    )
    .await;
    let applicant_people = format!("/organizations/{}/people", id_of(&applicant));

    // The admin makes Ms. Sato (an account holder) MOFA's focal point by person id.
    let made = expect_json(
        app.post(
            &mofa_people,
            admin.token(),
            json!({"person_id": focal.person_id, "position": "Deputy Director", "focal_point": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["focal_point"], true);
    assert_eq!(made["position"], "Deputy Director");
    assert_eq!(made["email"], "sato@example.org");
    expect_json(
        app.post(
            &jica_people,
            admin.token(),
            json!({"person_id": other_focal.person_id, "focal_point": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // Who may not: anonymous 401; members, organizers and other organisations' focal points
    // 403 on a listed organisation, 404 on one they may not know exists.
    expect_problem(
        app.get(&mofa_people, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post(
            &mofa_people,
            None,
            json!({"email": "x@example.org", "name": "X"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer, &other_focal] {
        expect_problem(
            app.get(&mofa_people, user.token()).await,
            StatusCode::FORBIDDEN,
            "not_focal_point",
        )
        .await;
        expect_problem(
            app.post(
                &mofa_people,
                user.token(),
                json!({"email": "x@example.org", "name": "X"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_focal_point",
        )
        .await;
        expect_problem(
            app.get(&applicant_people, user.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_json(
        app.get(&applicant_people, admin.token()).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/organizations/{}/people", uuid::Uuid::now_v7()),
            admin.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The focal point adds a new person, affiliates an existing contact by email, updates one.
    let added = expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "Tanaka@example.org", "name": "Aiko Tanaka", "honorific": "Ms.",
                   "position": "Researcher"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(added["focal_point"], false);
    assert_eq!(added["email"], "tanaka@example.org");
    assert_eq!(added["honorific"], "Ms.");
    expect_json(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "ito@example.org", "name": "Daiki Ito"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "ITO@example.org"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let changed = expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "tanaka@example.org", "position": "Senior Researcher"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["position"], "Senior Researcher");

    let bad = expect_problem(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "new@example.org"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["name"]);
    let bad = expect_problem(
        app.post(&mofa_people, focal.token(), json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["person_id"]);
    let bad = expect_problem(
        app.post(
            &mofa_people,
            admin.token(),
            json!({"person_id": uuid::Uuid::now_v7()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["person_id"]);

    let listed = expect_json(app.get(&mofa_people, focal.token()).await, StatusCode::OK).await;
    let listed_names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed_names, vec!["Aiko Tanaka", "Daiki Ito", "Yuko Sato"]);
    let page = expect_json(
        app.get(&format!("{mofa_people}?limit=2"), admin.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let rest = expect_json(
        app.get(
            &format!(
                "{mofa_people}?limit=2&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"][0]["name"], "Yuko Sato");
    assert!(rest["next_cursor"].is_null());

    // Handing over: Ms. Tanaka becomes focal point; Ms. Sato stops being it in the same
    // change, and with it loses the right to manage MOFA's people.
    let handed = expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "tanaka@example.org", "focal_point": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(handed["focal_point"], true);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM affiliations WHERE focal_point AND organization_id = '{}'",
                id_of(&mofa)
            )
        )
        .await,
        1
    );
    expect_problem(
        app.get(&mofa_people, focal.token()).await,
        StatusCode::FORBIDDEN,
        "not_focal_point",
    )
    .await;
    let listed = expect_json(app.get(&mofa_people, admin.token()).await, StatusCode::OK).await;
    let focal_points: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["focal_point"] == true)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(focal_points, vec!["Aiko Tanaka"]);

    let entries = audit(
        &app,
        &admin,
        &format!("?target=organization:{}", id_of(&mofa)),
    )
    .await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "update_affiliation",
            "update_affiliation",
            "update_affiliation",
            "affiliate",
            "affiliate",
            "affiliate",
            "create"
        ]
    );
}

#[tokio::test]
async fn concurrent_focal_point_changes_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let created = create(
        &app,
        &admin,
        org("Japan Institute", "think_tank", Some("JP")),
    )
    .await;
    let path = format!("/organizations/{}/people", id_of(&created));
    let requests = (0..8).map(|i| {
        app.post(
            &path,
            admin.token(),
            json!({"email": format!("fp{i}@example.org"), "name": format!("Focal {i}"), "focal_point": true}),
        )
    });
    for res in futures_util::future::join_all(requests).await {
        expect_json(res, StatusCode::CREATED).await;
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM affiliations WHERE focal_point"
        )
        .await,
        1
    );
}
