use reqwest::StatusCode;
use serde_json::json;

use crate::support::fixtures as fx;
use crate::support::{expect_json, expect_problem, TestApp, TestDb};

#[tokio::test]
async fn health_live_and_ready() {
    let app = TestApp::spawn().await;
    let live = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    let body = expect_json(ready, StatusCode::OK).await;
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn unknown_routes_and_bad_bodies_answer_problem_json() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    let res = app
        .client
        .post(app.api("/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::BAD_REQUEST, "malformed_json").await;

    let res = app
        .client
        .post(app.api("/auth/login"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let res = app.post("/auth/login", None, json!({"email": 5})).await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(!body["errors"].as_array().unwrap().is_empty());

    let huge = "x".repeat(2 * 1024 * 1024);
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "a@example.org", "password": huge, "name": "A"}),
        )
        .await;
    expect_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn security_headers_are_set() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    let headers = res.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers.contains_key("x-request-id") || headers.contains_key("content-security-policy")
    );
}

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_routes() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc = expect_json(res, StatusCode::OK).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/signup",
        "/api/v1/me",
        "/health/ready",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}

/// Every migration can be reverted and applied again.
#[tokio::test]
async fn migrations_run_up_down_up() {
    let db = TestDb::create_empty().await;
    convene::db::run_migrations(&db.url).await.expect("up");
    convene::db::redo_all_migrations(&db.url)
        .await
        .expect("down and up again");
}

/// `src/db/schema.rs` is what `diesel print-schema` says of the migrated database.
#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    let db = TestDb::create().await;
    let output = std::process::Command::new("diesel")
        .args(["print-schema", "--database-url", &db.url])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("diesel CLI is installed (scripts/test installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/db/schema.rs"))
            .expect("read schema.rs");
    let generated = String::from_utf8(output.stdout).expect("utf8");
    assert!(
        committed == generated,
        "src/db/schema.rs is stale: run `diesel print-schema > src/db/schema.rs` against a migrated database"
    );
}

/// Rule 5: once an email is delivered, the tokens of its links are no longer stored in clear.
#[tokio::test]
async fn delivered_emails_keep_no_token_in_clear() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": "ueki@example.org", "password": "a long enough password", "name": "Ueki"}),
        )
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let mail = app
        .smtp
        .wait_for(1, std::time::Duration::from_secs(20))
        .await;
    let link = mail[0].first_link("http").expect("verification link");
    let token = link.split("token=").nth(1).expect("token").to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut conn = app.pool.get().await.expect("connection");
        let (status, text, html): (String, String, String) = convene::db::schema::emails::table
            .select((
                convene::db::schema::emails::status,
                convene::db::schema::emails::text_body,
                convene::db::schema::emails::html_body,
            ))
            .first(&mut conn)
            .await
            .expect("email row");
        if status == "sent" {
            assert!(
                !text.contains(&token) && !html.contains(&token),
                "token stored in clear"
            );
            assert!(text.contains("token=[redacted]"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "email never marked sent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn browsers_get_an_html_404_page_and_api_clients_a_problem() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/no-such-page"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("Page not found"));
    let res = app
        .client
        .get(app.url("/api/v1/no-such-route"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}
/// Every list takes `limit` and `cursor` alike: a limit under 1 or a cursor the list did not
/// give out is a 422 naming the field, a limit over 200 is clamped, and the answer is
/// `{"items", "next_cursor"}`.
#[tokio::test]
async fn every_list_pages_alike() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let event = fx::api_event(
        &app,
        &admin,
        json!({"title": "Paging dialogue", "timezone": "Asia/Tokyo", "format": "online",
               "online_url": "https://meet.example.org/paging"}),
    )
    .await;
    let event_id = event["id"].as_str().expect("event id");
    let session = fx::api_session(
        &app,
        &admin,
        event_id,
        json!({"title": "Seminar", "access": "public",
               "starts_at": "2031-02-18T09:30", "ends_at": "2031-02-18T12:00"}),
    )
    .await;
    let session_id = session["id"].as_str().expect("session id");
    let organization = expect_json(
        app.post(
            "/organizations",
            admin.token(),
            json!({"name": "Paging Institute", "kind": "think_tank", "country": "JP"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let organization_id = organization["id"].as_str().expect("organization id");

    for list in [
        "/organizations".to_owned(),
        format!("/organizations/{organization_id}/people"),
        "/people".to_owned(),
        "/audit".to_owned(),
        "/accounts".to_owned(),
        "/series".to_owned(),
        "/events".to_owned(),
        format!("/events/{event_id}/outcomes"),
        format!("/events/{event_id}/invitations"),
        format!("/events/{event_id}/emails"),
        format!("/sessions/{session_id}/registrations"),
        "/me/registrations".to_owned(),
        "/me/invitations".to_owned(),
    ] {
        let page = expect_json(
            app.get(&format!("{list}?limit=1000"), admin.token()).await,
            StatusCode::OK,
        )
        .await;
        assert!(page["items"].is_array(), "{list}: {page}");
        assert!(
            page.get("next_cursor").is_some_and(|c| c.is_null()),
            "{list}: {page}"
        );
        for (query, field) in [("limit=0", "limit"), ("cursor=not-a-cursor", "cursor")] {
            let problem = expect_problem(
                app.get(&format!("{list}?{query}"), admin.token()).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
            assert_eq!(problem["errors"][0]["field"], field, "{list}?{query}");
        }
    }
}

/// A key the API does not read is a 422 naming each one, and nothing is created: an
/// `application_note` for `note` must not vanish behind a 201.
#[tokio::test]
async fn unknown_json_keys_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(app.api("/organizations/applications"))
        .json(&serde_json::json!({
            "name": "Asia Pacific Centre for the Responsibility to Protect",
            "kind": "academia",
            "country": "AU",
            "contact_email": "contact@example.org",
            "application_note": "We ran the Brisbane dialogue.",
            "contact_phone": "+61 7 0000 0000"
        }))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(fields, ["application_note", "contact_phone"], "{problem}");

    let admin = app.user("admin").await;
    let listed = app
        .client
        .get(app.api("/organizations?status=applicant"))
        .bearer_auth(admin.token().unwrap())
        .send()
        .await
        .unwrap();
    let listed = expect_json(listed, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0, "{listed}");
}
