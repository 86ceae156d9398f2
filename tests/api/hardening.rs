//! Hardening: hostile and malformed input is refused cleanly (never a 5xx) or stored as given
//! and escaped on the way out; seats hold under repeated rushes; no invitation email is lost
//! or doubled across an SMTP outage.

use reqwest::StatusCode;

use crate::support::{expect_json, TestApp};

/// Asserts a refusal is a 4xx problem+json (never a 5xx, never a success).
async fn expect_4xx_problem(res: reqwest::Response, what: &str) -> StatusCode {
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = res.text().await.expect("body");
    assert!(status.is_client_error(), "{what}: {status} {text}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "{what}: {content_type}: {text}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    assert_eq!(body["status"], status.as_u16(), "{what}: {body}");
    assert!(body["code"].is_string(), "{what}: {body}");
    status
}

#[tokio::test]
async fn bad_input_is_refused_cleanly() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let admin = app.user("admin").await;

    // 10,000 nested arrays: the parser must not overflow its stack nor answer 5xx.
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for (path, token) in [("/auth/login", None), ("/events", organizer.token())] {
        let res = app
            .client
            .post(app.api(path))
            .header("content-type", "application/json")
            .body(nested.clone());
        let res = match token {
            Some(t) => res.bearer_auth(t),
            None => res,
        };
        let res = res.send().await.expect("request sent");
        expect_4xx_problem(res, &format!("nested JSON to {path}")).await;
    }

    // Bytes that are not UTF-8, declared as JSON.
    let res = app
        .client
        .post(app.api("/auth/login"))
        .header("content-type", "application/json")
        .body(vec![
            b'{', b'"', 0xff, 0xfe, 0xc3, 0x28, b'"', b':', b'1', b'}',
        ])
        .send()
        .await
        .expect("request sent");
    let status = expect_4xx_problem(res, "invalid UTF-8").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Absurd limits: a 4xx problem or a clamped page, never a 5xx.
    for limit in ["99999999999999999999", "-1", "abc", "0", "201"] {
        let res = app
            .get(&format!("/organizations?limit={limit}"), None)
            .await;
        if res.status().is_success() {
            let page = expect_json(res, StatusCode::OK).await;
            let items = page["items"].as_array().expect("items");
            assert!(items.len() <= 200, "limit={limit}: {} items", items.len());
        } else {
            expect_4xx_problem(res, &format!("limit={limit}")).await;
        }
    }

    // An oversized CSV import is refused before it is read.
    let huge = format!(
        "name,kind,country\n{}",
        "A Very Long Name,academia,JP\n".repeat(200_000)
    );
    let res = app
        .client
        .post(app.api("/organizations/import"))
        .header("content-type", "text/csv; charset=utf-8")
        .bearer_auth(&admin.token)
        .body(huge)
        .send()
        .await
        .expect("request sent");
    let status = expect_4xx_problem(res, "oversized CSV").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // The server is still well.
    expect_json(app.get("/organizations", None).await, StatusCode::OK).await;
}
