//! The admin's work on organisations: edit, membership changes behind a confirmation page,
//! applications approved or declined; no form acts without the session's CSRF token.

use reqwest::StatusCode;

use super::{location, Visitor};
use crate::support::fixtures as fx;
use crate::support::TestApp;

async fn signed_in_admin(app: &TestApp) -> Visitor {
    let admin = app.user("admin").await;
    let visitor = Visitor::new(app);
    assert_eq!(visitor.sign_in(&admin.email).await, "/manage");
    visitor
}

#[tokio::test]
async fn an_admin_edits_an_organisation_and_a_bad_form_changes_nothing() {
    let app = TestApp::spawn().await;
    let org = fx::organization(&app, "Sophia University", "academia", Some("JP"), "active").await;
    let visitor = signed_in_admin(&app).await;
    let path = format!("/manage/organizations/{org}");
    let (page, token) = visitor.page(&path).await;
    assert!(page.contains("value=\"Sophia University\""));

    // A bad website and a country removed from a university: both explained, all kept, nothing saved.
    let bad = [
        ("csrf_token", token.as_str()),
        ("name", "Sophia University Tokyo"),
        ("short_name", "SU"),
        ("kind", "academia"),
        ("country", "JP"),
        ("website", "javascript:alert(1)"),
        ("contact_name", ""),
        ("contact_email", ""),
    ];
    let res = visitor.post(&path, &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"website-error\""), "{body}");
    assert!(
        body.contains("value=\"Sophia University Tokyo\""),
        "typed name kept"
    );
    assert!(
        body.contains("value=\"javascript:alert(1)\""),
        "typed website kept"
    );
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT name AS v FROM organizations WHERE id = '{org}'")
        )
        .await,
        Some("Sophia University".to_owned())
    );
    let mut no_country = bad;
    no_country[3].1 = "academia";
    no_country[4].1 = "";
    no_country[5].1 = "https://www.sophia.ac.jp";
    let res = visitor.post(&path, &no_country).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"country-error\""));

    let mut good = no_country;
    good[4].1 = "JP";
    let res = visitor.post(&path, &good).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?done=updated"));
    let (page, _) = visitor.page(&location(&res)).await;
    assert!(
        page.contains("The organisation&#x27;s details were saved.")
            || page.contains("The organisation's details were saved."),
        "{page}"
    );
    assert!(page.contains("value=\"Sophia University Tokyo\""));
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM audit_entries WHERE target_id = '{org}' AND action = 'update'")
        )
        .await,
        1
    );
    assert!(
        page.contains("edited the details of the organisation"),
        "the change is in the history"
    );
}

#[tokio::test]
async fn suspending_asks_first_and_a_post_without_the_form_token_is_refused() {
    let app = TestApp::spawn().await;
    let org = fx::organization(
        &app,
        "Asia Justice Coalition",
        "civil_society",
        Some("PH"),
        "active",
    )
    .await;
    let visitor = signed_in_admin(&app).await;
    let sql = format!("SELECT status::text AS v FROM organizations WHERE id = '{org}'");
    let status = || fx::text(&app, &sql);

    let confirm = format!("/manage/organizations/{org}/suspend");
    let (page, token) = visitor.page(&confirm).await;
    assert!(page.contains("Suspend the membership of Asia Justice Coalition?"));
    assert!(page.contains("leaves the public directory"));
    assert_eq!(
        status().await.as_deref(),
        Some("active"),
        "asking changes nothing"
    );

    let res = visitor.post(&confirm, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = visitor.post(&confirm, &[("csrf_token", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(status().await.as_deref(), Some("active"));

    let res = visitor.post(&confirm, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!("/manage/organizations/{org}?done=suspend")
    );
    assert_eq!(status().await.as_deref(), Some("suspended"));
    let (page, _) = visitor.page(&location(&res)).await;
    assert!(page.contains("The membership was suspended."));
    assert!(page.contains("Reinstate membership"));

    // Suspending again is explained, not done twice.
    let res = visitor.post(&confirm, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_directory_searches_and_filters_like_the_api() {
    let app = TestApp::spawn().await;
    fx::organization(
        &app,
        "Ministry of Foreign Affairs of Japan",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    fx::organization(&app, "Japan Forum", "think_tank", Some("JP"), "applicant").await;
    fx::organization(&app, "ASEAN", "regional_organization", None, "active").await;
    let visitor = signed_in_admin(&app).await;
    let (page, _) = visitor
        .page("/manage/organizations?q=japan&status=active")
        .await;
    assert!(page.contains("Ministry of Foreign Affairs of Japan"));
    assert!(!page.contains("Japan Forum") && !page.contains(">ASEAN<"));
    let (page, _) = visitor.page("/manage/organizations?country=JP").await;
    assert!(page.contains("Japan Forum") && !page.contains(">ASEAN<"));
    let res = visitor.get("/manage/organizations?status=dormant").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (home, _) = visitor.page("/manage").await;
    assert!(home.contains("Japan Forum"), "waiting on the home page");
}

#[tokio::test]
async fn an_application_is_declined_with_a_reason_emailed_to_its_contact() {
    let app = TestApp::spawn().await;
    let contact = fx::unique_email("applicant");
    let res = app
        .post(
            "/organizations/applications",
            None,
            serde_json::json!({"name": "Peace Lab", "kind": "think_tank", "country": "KR", "contact_email": contact}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let org = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let visitor = signed_in_admin(&app).await;
    let (queue, _) = visitor.page("/manage/applications").await;
    assert!(queue.contains("Peace Lab"));

    let path = format!("/manage/organizations/{org}/decline");
    let (_, token) = visitor.page(&path).await;
    let res = visitor
        .post(&path, &[("csrf_token", &token), ("reason", "  ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"reason-error\""));
    let res = visitor
        .post(
            &path,
            &[
                ("csrf_token", &token),
                (
                    "reason",
                    "Our membership is for organisations in the region.",
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mail = fx::wait_for_mail(&app, &contact, "Your application").await;
    assert!(mail
        .text_body()
        .contains("Our membership is for organisations in the region."));
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT status::text AS v FROM organizations WHERE id = '{org}'")
        )
        .await
        .as_deref(),
        Some("withdrawn")
    );
}

#[tokio::test]
async fn an_admin_adds_people_and_changes_the_focal_point() {
    let app = TestApp::spawn().await;
    let org = fx::organization(
        &app,
        "Ministry of Foreign Affairs",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let existing = fx::person(&app, "k.hoshino@example.org", "Kaori Hoshino").await;
    let visitor = signed_in_admin(&app).await;
    let path = format!("/manage/organizations/{org}");
    let (_, token) = visitor.page(&path).await;
    let people = format!("{path}/people");
    let focal = format!(
        "SELECT p.email AS v FROM affiliations a JOIN people p ON p.id = a.person_id \
         WHERE a.organization_id = '{org}' AND a.focal_point"
    );

    // Someone new without a name: explained beside the field, the address kept, nobody added.
    let res = visitor
        .post(
            &people,
            &[
                ("csrf_token", &token),
                ("email", "new.person@example.org"),
                ("focal_point", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"add-name-error\""), "{body}");
    assert!(body.contains("value=\"new.person@example.org\""));
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM affiliations WHERE organization_id = '{org}'")
        )
        .await,
        0
    );

    let res = visitor
        .post(
            &people,
            &[
                ("csrf_token", &token),
                ("email", "new.person@example.org"),
                ("name", "Ren Ito"),
                ("position", "Director"),
                ("focal_point", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        fx::text(&app, &focal).await.as_deref(),
        Some("new.person@example.org")
    );

    // An existing person by email, then made focal point from the list.
    let res = visitor
        .post(
            &people,
            &[("csrf_token", &token), ("email", "K.Hoshino@example.org")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (page, _) = visitor.page(&format!("{path}?done=person")).await;
    assert!(page.contains("Kaori Hoshino") && page.contains("Make focal point: Kaori Hoshino"));
    let res = visitor
        .post(
            &people,
            &[("csrf_token", &token), ("person_id", &existing.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        fx::text(&app, &focal).await.as_deref(),
        Some("k.hoshino@example.org")
    );
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM affiliations WHERE organization_id = '{org}'")
        )
        .await,
        2
    );
}
