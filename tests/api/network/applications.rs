//! Applications: every admin is emailed, and approval emails the contact.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn applications_email_every_admin_and_approval_emails_the_contact() {
    let app = TestApp::spawn().await;
    let admin_a = app.user("admin").await;
    let admin_b = app.user("admin").await;
    let organizer = app.user("organizer").await;

    let bad = expect_problem(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "Japan Institute", "kind": "think_tank", "country": "JP"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["contact_email"]);

    let applied = expect_json(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "R2P Network of Japan", "kind": "civil_society", "country": "JP",
                   "website": "https://r2p-jp.org/", "contact_name": "Sho Mori",
                   "contact_email": "Mori@Example.org", "note": "We co-organised the 2022 dialogue."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(applied["status"], "applicant");
    // An anonymous applicant gets the public view.
    assert!(applied.get("contact_email").is_none());
    let id = id_of(&applied);

    app.smtp.wait_for(2, Duration::from_secs(10)).await;
    for admin in [&admin_a, &admin_b] {
        let mails = app.smtp.messages_to(&admin.email);
        assert_eq!(mails.len(), 1, "one message to {}", admin.email);
        assert!(mails[0].subject().contains("R2P Network of Japan"));
        let text = mails[0].text_body();
        // Shown inert (no mail client makes a link of what an applicant typed).
        assert!(text.contains("mori@example[.]org"), "{text}");
        assert!(text.contains(&id), "{text}");
    }
    assert!(app.smtp.messages_to(&organizer.email).is_empty());
    assert!(app.smtp.messages_to("mori@example.org").is_empty());

    let admin_view = expect_json(
        app.get(&format!("/organizations/{id}"), admin_a.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(admin_view["contact_email"], "mori@example.org");
    assert_eq!(admin_view["contact_name"], "Sho Mori");

    expect_json(act(&app, &admin_a, &id, "approve").await, StatusCode::OK).await;
    app.smtp.wait_for(3, Duration::from_secs(10)).await;
    let welcome = app.smtp.messages_to("mori@example.org");
    assert_eq!(welcome.len(), 1);
    assert!(welcome[0].subject().contains("R2P Network of Japan"));
    assert!(welcome[0].text_body().contains("Dear Sho Mori"));
    assert!(welcome[0].text_body().contains("approved"));

    // Suspending and reinstating email nobody; nothing is sent twice.
    expect_json(act(&app, &admin_a, &id, "suspend").await, StatusCode::OK).await;
    expect_json(act(&app, &admin_a, &id, "reinstate").await, StatusCode::OK).await;
    assert_eq!(count(&app, "SELECT count(*) AS n FROM emails").await, 3);
}
