//! The admin's journeys in headless Chromium, as a person does them: fields found by their
//! label, buttons and links by their text. Sign in from the console's address, open the
//! applications, approve one after reading what will happen; import organisations from a CSV
//! file after reading its problems, edit one and read the change in the audit trail. Every page passes the
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
pub(super) async fn app_on_its_public_url() -> TestApp {
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
pub(super) async fn field(browser: &Browser, label: &str) -> String {
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
pub(super) async fn click_text(browser: &Browser, text: &str) {
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

pub(super) async fn check_page(browser: &Browser) {
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
async fn an_admin_imports_a_csv_then_finds_an_edit_in_the_audit_trail() {
    let app = app_on_its_public_url().await;
    fx::organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let admin = app
        .user_with_email("admin", &fx::unique_email("admin"), "Mina Sato")
        .await;
    let files = std::env::temp_dir().join(format!("convene-import-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&files).unwrap();
    let bad = files.join("members.csv");
    std::fs::write(
        &bad,
        "name,kind,country,focal_point_email,focal_point_name\n\
         Osaka Peace Institute,club,ZZ,,\n\
         Waseda University,academia,JP,,\n\
         Hiroshima Centre,academia,JP,aiko.mori@example.org,\n",
    )
    .unwrap();
    let good = files.join("members-fixed.csv");
    std::fs::write(
        &good,
        "name,kind,country,focal_point_email,focal_point_name\n\
         Osaka Peace Institute,civil_society,JP,,\n\
         Hiroshima Centre,academia,JP,aiko.mori@example.org,Aiko Mori\n",
    )
    .unwrap();

    let browser = Browser::start().await;
    browser.set_window_size(390, 900).await;
    browser.goto(&app.url("/login?next=%2Fmanage")).await;
    browser.wait_for_text("h1", "Sign in").await;
    browser
        .fill(&field(&browser, "Email").await, &admin.email)
        .await;
    browser
        .fill(&field(&browser, "Password").await, super::PASSWORD)
        .await;
    click_text(&browser, "Sign in").await;
    browser.wait_for_text("h1", "Console").await;
    check_page(&browser).await;

    click_text(&browser, "Organisations").await;
    browser.wait_for_text("h1", "Organisations").await;
    check_page(&browser).await;
    click_text(&browser, "Import organisations from a CSV file").await;
    browser
        .wait_for_text("h1", "Import organisations from a CSV file")
        .await;
    check_page(&browser).await;

    // A file with problems: every one of them, by line and column; nothing imported.
    browser
        .choose_file(&field(&browser, "CSV file").await, &bad)
        .await;
    click_text(&browser, "Check the file").await;
    browser
        .wait_for_text(
            ".errors",
            "members.csv has 4 problems; nothing was imported.",
        )
        .await;
    check_page(&browser).await;
    let problems = browser.texts_of("#problems + .table-wrap tbody tr").await;
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].starts_with("2 kind"), "{problems:?}");
    assert!(problems[1].starts_with("2 country"), "{problems:?}");
    assert!(
        problems[2].starts_with("3 name") && problems[2].contains("already exists"),
        "{problems:?}"
    );
    assert!(
        problems[3].starts_with("4 focal_point_name"),
        "{problems:?}"
    );
    browser
        .execute(
            "window.scrollTo(0, document.querySelector('#problems').offsetTop - 8); return true;",
            vec![],
        )
        .await;
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots/console-import-problems.png");
    browser.screenshot(&shot).await;

    // The corrected file: a preview, then the import.
    browser
        .choose_file(&field(&browser, "CSV file").await, &good)
        .await;
    click_text(&browser, "Check the file").await;
    browser
        .wait_for_text("#preview", "What members-fixed.csv would create")
        .await;
    check_page(&browser).await;
    let main = browser.text_of("main").await;
    assert!(main.contains("Aiko Mori, aiko.mori@example.org (someone new)"));
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM organizations").await,
        1,
        "nothing is created before the import is confirmed"
    );
    click_text(&browser, "Import 2 organisations").await;
    browser
        .wait_for_text(".done", "The organisations of the file were imported.")
        .await;
    check_page(&browser).await;

    // Edit one, and read the change in its history and in the audit trail.
    click_text(&browser, "Osaka Peace Institute").await;
    browser.wait_for_text("h1", "Osaka Peace Institute").await;
    check_page(&browser).await;
    browser
        .fill(
            &field(&browser, "Name").await,
            "Osaka Institute for Peace and R2P",
        )
        .await;
    click_text(&browser, "Save the details").await;
    browser
        .wait_for_text(".done", "The organisation's details were saved.")
        .await;
    check_page(&browser).await;
    click_text(
        &browser,
        "The whole history of Osaka Institute for Peace and R2P",
    )
    .await;
    browser
        .wait_for_text("main", "The history of the organisation")
        .await;
    check_page(&browser).await;
    let entries = browser.texts_of(".trail > li").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries[0].contains(
            "Mina Sato edited the details of the organisation Osaka Institute for Peace and R2P."
        ),
        "{entries:?}"
    );
    assert!(
        entries[0].contains("Name Osaka Peace Institute Osaka Institute for Peace and R2P"),
        "{entries:?}"
    );
    assert!(entries[0].contains("AEST"), "{entries:?}");
    assert!(
        entries[1].contains(
            "imported the organisation Osaka Institute for Peace and R2P from a CSV file."
        ),
        "{entries:?}"
    );

    // The whole trail, filtered by what was done.
    click_text(&browser, "Audit trail").await;
    browser.wait_for_text("h1", "Audit trail").await;
    check_page(&browser).await;
    browser
        .select(&field(&browser, "What was done").await, "import")
        .await;
    browser
        .select(&field(&browser, "Times in").await, "Asia/Tokyo")
        .await;
    click_text(&browser, "Show").await;
    browser.wait_for_text("main", "Asia/Tokyo (JST)").await;
    check_page(&browser).await;
    let entries = browser.texts_of(".trail > li").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries.iter().all(|e| e.contains("from a CSV file.")));
    browser
        .execute(
            "window.scrollTo(0, document.querySelector('.trail').offsetTop - 8); return true;",
            vec![],
        )
        .await;
    let shot =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/console-audit.png");
    browser.screenshot(&shot).await;

    // The membership pages reached from an organisation are checked too.
    click_text(&browser, "Hiroshima Centre").await;
    browser.wait_for_text("h1", "Hiroshima Centre").await;
    check_page(&browser).await;
    click_text(&browser, "Suspend membership").await;
    browser
        .wait_for_text("h1", "Suspend the membership of Hiroshima Centre?")
        .await;
    check_page(&browser).await;
    browser.close().await;
    let _ = std::fs::remove_dir_all(&files);
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
    // On a phone the headers wrap between words, never inside one.
    let shot =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/console-people-390.png");
    browser.screenshot(&shot).await;
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
