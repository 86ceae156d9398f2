//! The network routes in the OpenAPI document.

use std::collections::HashSet;

use reqwest::StatusCode;

use crate::support::{expect_json, TestApp};

use super::*;

#[tokio::test]
async fn the_network_routes_are_documented() {
    let app = TestApp::spawn().await;
    let doc = expect_json(
        app.client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    for (path, method) in [
        ("/api/v1/organizations", "get"),
        ("/api/v1/organizations", "post"),
        ("/api/v1/organizations/{id}", "get"),
        ("/api/v1/organizations/{id}", "patch"),
        ("/api/v1/organizations/applications", "post"),
        ("/api/v1/organizations/import", "post"),
        ("/api/v1/organizations/{id}/approve", "post"),
        ("/api/v1/organizations/{id}/suspend", "post"),
        ("/api/v1/organizations/{id}/reinstate", "post"),
        ("/api/v1/organizations/{id}/withdraw", "post"),
        ("/api/v1/organizations/{id}/people", "get"),
        ("/api/v1/organizations/{id}/people", "post"),
        ("/api/v1/people", "get"),
        ("/api/v1/people", "post"),
        ("/api/v1/audit", "get"),
    ] {
        assert!(
            doc["paths"][path].get(method).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let view = &doc["components"]["schemas"]["OrganizationView"];
    let required: HashSet<&str> = view["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, PUBLIC_FIELDS.iter().copied().collect());
}
