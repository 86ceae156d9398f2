//! Organisations picked, not typed: the public form offers the directory's active members, and
//! an organisation typed for want of one carries its kind, so the stakeholder report counts
//! public sessions' registrants by kind and country.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::fixtures::{
    add_staff, organization, published_event_with_session, SessionSpec,
};
use crate::support::{expect_json, expect_problem, TestApp};

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_public_form_picks_members_and_the_report_counts_them_by_kind_and_country() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let cso = organization(
        &app,
        "Asia Pacific Centre for R2P",
        "civil_society",
        Some("AU"),
        "active",
    )
    .await;
    let applicant = organization(
        &app,
        "Hopeful Institute",
        "think_tank",
        Some("JP"),
        "applicant",
    )
    .await;
    let form_path = format!("/events/{}/sessions/{}/register", f.slug, f.session_id);

    // Both the event page and the stand-alone form offer active members only, and the kinds.
    for path in [format!("/events/{}", f.slug), form_path.clone()] {
        let html = app
            .client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("<select id=\"organization_id"), "{html}");
        assert!(
            html.contains(&format!(
                "<option value=\"{cso}\">Asia Pacific Centre for R2P (Australia)</option>"
            )),
            "{html}"
        );
        assert!(
            !html.contains(&applicant.to_string()),
            "applicants are not members"
        );
        assert!(
            html.contains("<option value=\"academia\">Academia</option>"),
            "{html}"
        );
    }

    let member = unique_email("member");
    let cso_id = cso.to_string();
    let (status, _) = post_form(
        &app,
        &form_path,
        &[
            ("email", &member),
            ("name", "Ana Cruz"),
            ("organization_id", &cso_id),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let typed = unique_email("typed");
    let (status, _) = post_form(
        &app,
        &form_path,
        &[
            ("email", &typed),
            ("name", "Ken Ito"),
            ("organization_name", "Kyoto Peace Lab"),
            ("organization_kind", "academia"),
            ("country", "JP"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Picking and typing at once is refused, with the form shown again.
    let (status, html) = post_form(
        &app,
        &form_path,
        &[
            ("email", &unique_email("both")),
            ("name", "Both Ways"),
            ("organization_id", &cso_id),
            ("organization_name", "Something else"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("not both"), "{html}");
    for email in [&member, &typed] {
        let token = confirm_token(&app, email).await;
        expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    }

    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;
    let report = expect_json(
        app.get(&format!("/events/{}/report", f.event_id), staff.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let public = &report["sessions"][0];
    assert_eq!(
        public["confirmed_by_organization_kind"],
        json!({"civil_society": 1, "academia": 1})
    );
    assert_eq!(public["confirmed_by_country"], json!({"AU": 1, "JP": 1}));
}

#[tokio::test]
async fn the_api_takes_the_kind_of_a_typed_organisation() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let gov = organization(
        &app,
        "Ministry of Foreign Affairs",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let path = format!("/sessions/{}/registrations", f.session_id);
    let email = unique_email("kind");
    expect_json(
        app.post(
            &path,
            None,
            json!({"email": email, "name": "Mei Lin", "organization_name": "Bangkok Forum",
                   "organization_kind": "think_tank", "country": "TH"}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let token = confirm_token(&app, &email).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;

    for (body, message) in [
        (
            json!({"organization_name": "X", "organization_kind": "club"}),
            "must be one of",
        ),
        (
            json!({"organization_kind": "academia"}),
            "needs organization_name",
        ),
        (
            json!({"organization_id": gov, "organization_kind": "academia"}),
            "member organisation's own",
        ),
    ] {
        let mut request = json!({"email": unique_email("bad"), "name": "Bad Kind"});
        request
            .as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let problem = expect_problem(
            app.post(&path, None, request).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            problem.to_string().contains("organization_kind"),
            "{problem}"
        );
        assert!(problem.to_string().contains(message), "{problem}");
    }

    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;
    let report = expect_json(
        app.get(&format!("/events/{}/report", f.event_id), staff.token())
            .await,
        StatusCode::OK,
    )
    .await;
    let public = &report["sessions"][0];
    assert_eq!(
        public["confirmed_by_organization_kind"],
        json!({"think_tank": 1})
    );
    assert_eq!(public["confirmed_by_country"], json!({"TH": 1}));
    let list = expect_json(app.get(&path, staff.token()).await, StatusCode::OK).await;
    assert_eq!(list["items"][0]["organization_kind"], "think_tank");
}
