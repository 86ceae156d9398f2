//! The public directory: exactly the active members, walked by cursor in name order.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn public_directory_shows_exactly_the_active_members() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;

    create(
        &app,
        &admin,
        json!({"name": "Ministry of Foreign Affairs of Japan", "short_name": "MOFA",
               "kind": "government", "country": "JP", "website": "https://www.mofa.go.jp/"}),
    )
    .await;
    create(
        &app,
        &admin,
        json!({"name": "Asia Pacific Centre for the Responsibility to Protect",
               "short_name": "APR2P", "kind": "academia", "country": "au"}),
    )
    .await;
    create(
        &app,
        &admin,
        org(
            "Association of Southeast Asian Nations",
            "regional_organization",
            None,
        ),
    )
    .await;
    let applicant = create(
        &app,
        &admin,
        json!({"name": "Applicant Institute", "kind": "think_tank", "country": "JP", "status": "applicant"}),
    )
    .await;
    assert_eq!(applicant["status"], "applicant");
    assert!(applicant["joined_on"].is_null());
    let suspended = create(
        &app,
        &admin,
        org("Suspended Society", "civil_society", Some("JP")),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&suspended), "suspend").await,
        StatusCode::OK,
    )
    .await;
    let withdrawn = create(
        &app,
        &admin,
        org("Withdrawn Foundation", "other", Some("AU")),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&withdrawn), "withdraw").await,
        StatusCode::OK,
    )
    .await;

    let active = vec![
        "Asia Pacific Centre for the Responsibility to Protect",
        "Association of Southeast Asian Nations",
        "Ministry of Foreign Affairs of Japan",
    ];
    for token in [None, member.token(), organizer.token()] {
        let page = list(&app, "", token).await;
        assert_eq!(names(&page), active);
        assert!(page["next_cursor"].is_null());
        for item in page["items"].as_array().unwrap() {
            let keys: HashSet<&str> = item
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(
                keys,
                PUBLIC_FIELDS.iter().copied().collect(),
                "public view: {item}"
            );
            assert_eq!(item["status"], "active");
        }
        // Asking for another status finds nothing rather than leaking non-members.
        assert!(names(&list(&app, "?status=applicant", token).await).is_empty());
        assert!(names(&list(&app, "?status=suspended", token).await).is_empty());
        assert_eq!(names(&list(&app, "?status=active", token).await), active);
    }

    // Admins see every status with the membership and contact details.
    let all = list(&app, "", admin.token()).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    let mofa = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["short_name"] == "MOFA")
        .expect("MOFA");
    assert_eq!(mofa["short_name"], "MOFA");
    for key in [
        "joined_on",
        "contact_name",
        "contact_email",
        "created_at",
        "updated_at",
    ] {
        assert!(mofa.get(key).is_some(), "admin view lacks {key}: {mofa}");
    }
    assert_eq!(
        mofa["joined_on"],
        chrono::Utc::now().date_naive().to_string()
    );
    assert_eq!(
        names(&list(&app, "?status=applicant", admin.token()).await),
        vec!["Applicant Institute"]
    );
    assert_eq!(
        names(&list(&app, "?status=withdrawn", admin.token()).await),
        vec!["Withdrawn Foundation"]
    );

    // Filters: kind, country (any case), text in the name or short name.
    assert_eq!(
        names(&list(&app, "?kind=academia", None).await),
        vec!["Asia Pacific Centre for the Responsibility to Protect"]
    );
    assert_eq!(
        names(&list(&app, "?country=jp", None).await),
        vec!["Ministry of Foreign Affairs of Japan"]
    );
    assert_eq!(
        names(&list(&app, "?country=JP", admin.token()).await),
        vec![
            "Applicant Institute",
            "Ministry of Foreign Affairs of Japan",
            "Suspended Society"
        ]
    );
    assert_eq!(
        names(&list(&app, "?q=mofa", None).await),
        vec!["Ministry of Foreign Affairs of Japan"]
    );
    assert_eq!(
        names(&list(&app, "?q=ASIA", None).await),
        vec![
            "Asia Pacific Centre for the Responsibility to Protect",
            "Association of Southeast Asian Nations"
        ]
    );
    assert!(names(&list(&app, "?q=100%25", None).await).is_empty());
    assert_eq!(
        names(&list(&app, "?kind=think_tank&country=JP", admin.token()).await),
        vec!["Applicant Institute"]
    );

    let bad = expect_problem(
        app.get("/organizations?country=ZZ", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["country"]);
    expect_problem(
        app.get("/organizations?kind=club", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    let bad = expect_problem(
        app.get("/organizations?cursor=garbage", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["cursor"]);

    // One organisation: members of the public see active ones only.
    let applicant_id = id_of(&applicant);
    expect_problem(
        app.get(&format!("/organizations/{applicant_id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get(&format!("/organizations/{applicant_id}"), member.token())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let seen = expect_json(
        app.get(&format!("/organizations/{applicant_id}"), admin.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["status"], "applicant");
    let mofa_public = expect_json(
        app.get(
            &format!("/organizations/{}", mofa["id"].as_str().unwrap()),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mofa_public.as_object().unwrap().len(), PUBLIC_FIELDS.len());
    expect_problem(
        app.get("/organizations/not-a-uuid", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn cursors_walk_a_large_directory_in_name_order() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let mut csv = String::from("name,kind,country,status\n");
    for i in 0..60 {
        // Mixed case, so the order is by lower(name), not byte order.
        let name = if i % 2 == 0 {
            format!("member {i:02}")
        } else {
            format!("Member {i:02}")
        };
        csv.push_str(&format!("{name},academia,AU,active\n"));
    }
    for i in 0..5 {
        csv.push_str(&format!("Applicant {i},academia,AU,applicant\n"));
    }
    let result = expect_json(
        import_csv(&app, admin.token(), &csv).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["created"], 65);

    let walk = |token: Option<String>, limit: usize| {
        let app = &app;
        async move {
            let mut all = Vec::new();
            let mut pages = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut query = format!("?limit={limit}");
                if let Some(c) = &cursor {
                    query.push_str(&format!("&cursor={c}"));
                }
                let page = list(app, &query, token.as_deref()).await;
                pages += 1;
                let items = names(&page);
                assert!(items.len() <= limit);
                all.extend(items);
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            (all, pages)
        }
    };

    let (public, pages) = walk(None, 25).await;
    assert_eq!(public.len(), 60);
    assert_eq!(pages, 3);
    let mut sorted = public.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(public, sorted);
    assert_eq!(public.iter().collect::<HashSet<_>>().len(), 60);

    let (everything, _) = walk(Some(admin.token.clone()), 7).await;
    assert_eq!(everything.len(), 65);
    assert_eq!(
        &everything[..5],
        &[
            "Applicant 0",
            "Applicant 1",
            "Applicant 2",
            "Applicant 3",
            "Applicant 4"
        ]
    );

    // The default page is 50; more than 200 is clamped, not an error.
    let page = list(&app, "", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(page["next_cursor"].is_string());
    let page = list(&app, "?limit=1000", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 60);
    assert!(page["next_cursor"].is_null());

    // Filters hold across pages.
    let first = list(&app, "?q=member%200&limit=5", None).await;
    assert_eq!(names(&first).len(), 5);
    let second = list(
        &app,
        &format!(
            "?q=member%200&limit=5&cursor={}",
            first["next_cursor"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(names(&second).len(), 5);
    assert!(second["next_cursor"].is_null());
}
