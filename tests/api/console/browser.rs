//! The admin's first journey in headless Chromium, as a person does it: fields found by their
//! label, buttons and links by their text. Sign in from the console's address, open the
//! applications, approve one after reading what will happen. Every page passes the
//! accessibility check and fits a 375-pixel-wide phone; a screenshot goes to
//! target/screenshots/console-approved.png.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::fixtures as fx;
use crate::support::TestApp;

/// The server on a port known in advance, with `app.public_url` on it: Chromium's form posts
/// then carry Convene's own `Origin`, as in production.
async fn app_on_its_public_url() -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    TestApp::spawn_with(|settings| {
        settings.server.port = port;
        settings.app.public_url = format!("http://127.0.0.1:{port}");
    })
    .await
}

/// The CSS selector of the field labelled `label`.
async fn field(browser: &Browser, label: &str) -> String {
    let id = browser
        .execute(
            "for (const l of document.querySelectorAll('label')) { \
               if (l.textContent.trim() === arguments[0]) { return l.htmlFor; } } \
             return null;",
            vec![json!(label)],
        )
        .await;
    format!(
        "#{}",
        id.as_str()
            .unwrap_or_else(|| panic!("no field labelled {label:?}"))
    )
}

/// Clicks the link or button whose text is `text`.
async fn click_text(browser: &Browser, text: &str) {
    let found = browser
        .execute(
            "for (const e of document.querySelectorAll('a, button')) { \
               if (e.textContent.trim() === arguments[0]) { e.setAttribute('data-test-click', ''); return true; } } \
             return false;",
            vec![json!(text)],
        )
        .await;
    assert_eq!(found, json!(true), "no link or button {text:?}");
    browser.click("[data-test-click]").await;
}

async fn check_page(browser: &Browser) {
    browser.assert_accessible().await;
    assert!(
        !browser.scrolls_sideways().await,
        "{} fits a phone",
        browser.current_url().await
    );
}

#[tokio::test]
async fn an_admin_signs_in_and_approves_an_application() {
    let app = app_on_its_public_url().await;
    let admin = app
        .user_with_email("admin", &fx::unique_email("admin"), "Mina Sato")
        .await;
    let contact = fx::unique_email("applicant");
    let res = app
        .post(
            "/organizations/applications",
            None,
            json!({"name": "Peace Lab Seoul", "kind": "think_tank", "country": "KR",
                   "contact_name": "Jiwoo Park", "contact_email": contact,
                   "note": "We research early warning of atrocity crimes."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The admins' digest links to the application's page in the console.
    let digest = fx::wait_for_mail(&app, &admin.email, "Application to join").await;
    let page = format!("{}/manage/organizations/{id}", app.settings.public_url());
    assert!(digest.text_body().contains(&page), "{}", digest.text_body());
    assert!(!digest.text_body().contains("POST /api"));

    let browser = Browser::start().await;
    browser.set_window_size(375, 900).await;
    browser.goto(&app.url("/manage")).await;
    browser.wait_for_text("h1", "Sign in").await;
    assert!(browser
        .current_url()
        .await
        .ends_with("/login?next=%2Fmanage"));
    check_page(&browser).await;
    browser
        .fill(&field(&browser, "Email").await, &admin.email)
        .await;
    browser
        .fill(&field(&browser, "Password").await, super::PASSWORD)
        .await;
    click_text(&browser, "Sign in").await;

    browser.wait_for_text("h1", "Console").await;
    check_page(&browser).await;
    assert!(browser.text_of("main").await.contains("Peace Lab Seoul"));
    click_text(&browser, "Applications").await;
    browser.wait_for_text("h1", "Applications waiting").await;
    check_page(&browser).await;
    click_text(&browser, "Approve").await;

    browser
        .wait_for_text("h1", "Approve the application of Peace Lab Seoul?")
        .await;
    check_page(&browser).await;
    assert!(browser
        .text_of("main")
        .await
        .contains(&format!("Its contact, {contact}, becomes its focal point")));
    click_text(&browser, "Approve").await;

    browser
        .wait_for_text(".done", "The application was approved")
        .await;
    check_page(&browser).await;
    let main = browser.text_of("main").await;
    assert!(main.contains("active"));
    let focal = browser.text_of("#people + .table-wrap tbody tr").await;
    assert!(
        focal.contains("Jiwoo Park") && focal.contains("Focal point"),
        "{focal}"
    );
    let shot =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/console-approved.png");
    browser.screenshot(&shot).await;
    browser.close().await;

    assert_eq!(
        fx::text(
            &app,
            "SELECT status::text AS v FROM organizations WHERE name = 'Peace Lab Seoul'"
        )
        .await
        .as_deref(),
        Some("active")
    );
    fx::wait_for_mail(&app, &contact, "Welcome to the partnership").await;
}

#[tokio::test]
async fn an_organiser_checks_a_participant_in_on_a_phone() {
    let app = app_on_its_public_url().await;
    let dialogue = fx::dialogue(&app).await;
    let person = fx::person(&app, &fx::unique_email("h"), "Tanaka Hiroshi").await;
    let registration = fx::registration(&app, dialogue.public, person, "confirmed").await;

    let browser = Browser::start().await;
    browser.set_window_size(375, 900).await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for_text("h1", "Sign in").await;
    browser
        .fill(&field(&browser, "Email").await, &dialogue.staff.email)
        .await;
    browser
        .fill(&field(&browser, "Password").await, super::PASSWORD)
        .await;
    click_text(&browser, "Sign in").await;

    browser.wait_for_text("h1", "My dialogues").await;
    check_page(&browser).await;
    click_text(
        &browser,
        "Japan National Dialogue on R2P and Atrocities Prevention",
    )
    .await;
    browser.wait_for_text("main", "Sessions by start").await;
    check_page(&browser).await;
    click_text(&browser, "Public seminar").await;
    browser.wait_for_text("h1", "Public seminar").await;
    check_page(&browser).await;
    browser.fill(&field(&browser, "Name").await, "tanaka").await;
    click_text(&browser, "Search").await;
    browser.wait_for_text("main", "Tanaka Hiroshi").await;
    click_text(&browser, "Check in").await;

    browser.wait_for_text(".done", "Checked in.").await;
    check_page(&browser).await;
    assert!(browser.text_of("main").await.contains("Undo check-in"));
    // The shot shows the message and the list's buttons.
    browser
        .execute(
            "window.scrollTo(0, document.querySelector('.done').offsetTop - 8); return true;",
            vec![],
        )
        .await;
    let shot =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/console-check-in.png");
    browser.screenshot(&shot).await;
    browser.close().await;
    assert_eq!(
        fx::count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM registrations WHERE id = '{registration}' AND checked_in_at IS NOT NULL"
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_admin_changes_a_role_edits_a_person_and_ends_an_affiliation() {
    let app = app_on_its_public_url().await;
    let admin = app
        .user_with_email("admin", &fx::unique_email("admin"), "Mina Sato")
        .await;
    let member = app
        .user_with_email("member", &fx::unique_email("kenji"), "Kenji Watanabe")
        .await;
    let org = fx::organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let person = fx::person(&app, &fx::unique_email("aiko"), "Aiko Mori").await;
    fx::affiliate(&app, person, org, true).await;

    let browser = Browser::start().await;
    browser.set_window_size(390, 900).await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for_text("h1", "Sign in").await;
    browser
        .fill(&field(&browser, "Email").await, &admin.email)
        .await;
    browser
        .fill(&field(&browser, "Password").await, super::PASSWORD)
        .await;
    click_text(&browser, "Sign in").await;
    browser.wait_for_text("h1", "Console").await;

    // An account's role.
    click_text(&browser, "Accounts").await;
    browser.wait_for_text("h1", "Accounts").await;
    check_page(&browser).await;
    click_text(&browser, "Kenji Watanabe").await;
    browser.wait_for_text("h1", "Kenji Watanabe").await;
    check_page(&browser).await;
    browser
        .select(&field(&browser, "Role").await, "organizer")
        .await;
    click_text(&browser, "Change the role").await;
    browser
        .wait_for_text(".done", "The role was changed.")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Disable the account").await;
    browser
        .wait_for_text("h1", "Disable the account of Kenji Watanabe")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Cancel, change nothing").await;
    browser.wait_for_text("h1", "Kenji Watanabe").await;

    // A person's details.
    click_text(&browser, "People").await;
    browser.wait_for_text("h1", "People").await;
    check_page(&browser).await;
    browser
        .fill(&field(&browser, "Name or email contains").await, "aiko")
        .await;
    click_text(&browser, "Search").await;
    browser.wait_for_text("main table", "Aiko Mori").await;
    click_text(&browser, "Aiko Mori").await;
    browser.wait_for_text("h1", "Aiko Mori").await;
    check_page(&browser).await;
    browser
        .fill(&field(&browser, "Name").await, "Aiko Mori-Tanaka")
        .await;
    browser
        .fill(
            &field(&browser, "Position (optional)").await,
            "Associate Professor",
        )
        .await;
    click_text(&browser, "Save the details").await;
    browser
        .wait_for_text(".done", "The person's details were saved.")
        .await;
    check_page(&browser).await;
    assert!(browser.text_of("h1").await.contains("Aiko Mori-Tanaka"));

    // Ending the affiliation, after reading what it does.
    click_text(&browser, "End affiliation").await;
    browser
        .wait_for_text(
            "h1",
            "End the affiliation of Aiko Mori-Tanaka with Waseda University?",
        )
        .await;
    check_page(&browser).await;
    assert!(browser
        .text_of("main")
        .await
        .contains("Waseda University loses its focal point"));
    click_text(&browser, "End the affiliation").await;
    browser
        .wait_for_text(".done", "The affiliation was ended.")
        .await;
    check_page(&browser).await;
    assert!(browser
        .text_of("main")
        .await
        .contains("Not affiliated with any organisation."));
    browser.close().await;

    assert_eq!(
        fx::text(
            &app,
            &format!(
                "SELECT role AS v FROM accounts WHERE id = '{}'",
                member.account_id
            )
        )
        .await
        .as_deref(),
        Some("organizer")
    );
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT name || '/' || position AS v FROM people WHERE id = '{person}'")
        )
        .await
        .as_deref(),
        Some("Aiko Mori-Tanaka/Associate Professor")
    );
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM affiliations WHERE person_id = '{person}'")
        )
        .await,
        0
    );
}
