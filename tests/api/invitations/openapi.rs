//! The invitation routes in the OpenAPI document.

use reqwest::StatusCode;

use crate::support::{expect_json, TestApp};

#[tokio::test]
async fn the_openapi_document_lists_the_invitation_routes() {
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
    for path in [
        "/api/v1/events/{id}/invitations",
        "/api/v1/invitations/by-token/{token}",
        "/api/v1/invitations/by-token/{token}/respond",
        "/api/v1/invitations/{id}/resend",
        "/api/v1/invitations/{id}/revoke",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["paths"]["/api/v1/events/{id}/invitations"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/events/{id}/invitations"]["post"].is_object());
}
