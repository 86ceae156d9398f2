//! The audit trail, for admins only.

use std::collections::HashSet;

use reqwest::StatusCode;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn the_audit_trail_is_for_admins() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let a = create(&app, &admin, org("First Org", "academia", Some("JP"))).await;
    let b = create(&app, &admin, org("Second Org", "academia", Some("JP"))).await;
    expect_json(
        act(&app, &admin, &id_of(&a), "suspend").await,
        StatusCode::OK,
    )
    .await;

    expect_problem(
        app.get("/audit", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer] {
        expect_problem(
            app.get("/audit", user.token()).await,
            StatusCode::FORBIDDEN,
            "admin_only",
        )
        .await;
    }

    let all = audit(&app, &admin, "").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["suspend", "create", "create"]);
    let entry = &all[0];
    let keys: HashSet<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "actor_account_id",
            "action",
            "target_type",
            "target_id",
            "before",
            "after",
            "created_at"
        ]
        .into_iter()
        .collect()
    );

    let for_b = audit(&app, &admin, &format!("?target=organization:{}", id_of(&b))).await;
    assert_eq!(for_b.len(), 1);
    assert_eq!(for_b[0]["after"]["name"], "Second Org");
    assert_eq!(
        audit(
            &app,
            &admin,
            &format!("?target_type=organization&target_id={}", id_of(&a))
        )
        .await
        .len(),
        2
    );
    assert_eq!(
        audit(&app, &admin, "?target_type=organization").await.len(),
        3
    );
    assert!(audit(&app, &admin, "?target_type=event").await.is_empty());
    assert_eq!(
        audit(&app, &admin, &format!("?actor={}", admin.account_id))
            .await
            .len(),
        3
    );

    // Pages, newest first.
    let first = expect_json(
        app.get("/audit?limit=2", admin.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let rest = expect_json(
        app.get(
            &format!(
                "/audit?limit=2&cursor={}",
                first["next_cursor"].as_str().unwrap()
            ),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["target_id"], all[2]["target_id"]);

    for bad in [
        "?target=organization",
        "?target=organization:not-a-uuid",
        "?target=:0193",
    ] {
        let problem = expect_problem(
            app.get(&format!("/audit{bad}"), admin.token()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), vec!["target"], "{bad}");
    }
    let problem = expect_problem(
        app.get(
            &format!(
                "/audit?target=organization:{}&target_type=person",
                id_of(&a)
            ),
            admin.token(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), vec!["target"]);
}
