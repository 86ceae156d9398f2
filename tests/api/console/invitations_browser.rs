//! An organiser invites Japan's government, academia and civil society in Chromium on a
//! phone-sized window, fields found by their labels: compose, read the preview, send; revoke
//! after reading what it cancels; retry a failed message after correcting its address. Every
//! page passes the accessibility check and fits the window.

use serde_json::json;

use super::browser::{app_on_its_public_url, check_page, click_text, field};
use crate::support::browser::Browser;
use crate::support::fixtures as fx;

/// Ticks the checkbox whose label starts with `prefix`.
async fn tick(browser: &Browser, prefix: &str) {
    let id = browser
        .execute(
            "for (const l of document.querySelectorAll('label')) { \
               if (l.textContent.trim().startsWith(arguments[0])) { return l.htmlFor; } } \
             return null;",
            vec![json!(prefix)],
        )
        .await;
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("no checkbox labelled {prefix:?}"))
        .to_owned();
    browser.click(&format!("[id=\"{id}\"]")).await;
}

#[tokio::test]
async fn an_organiser_invites_by_audience_after_reading_the_preview_in_a_browser() {
    let app = app_on_its_public_url().await;
    let dialogue = fx::dialogue(&app).await;
    let people = super::invitations::network(&app, &dialogue).await;
    let event = dialogue.event_id;

    let browser = Browser::start().await;
    browser.set_window_size(390, 900).await;
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

    browser
        .goto(&app.url(&format!("/manage/events/{event}")))
        .await;
    browser.wait_for_text("main", "Sessions by start").await;
    click_text(&browser, "Invite people").await;
    browser.wait_for_text("h1", "Invite people").await;
    check_page(&browser).await;
    tick(&browser, "Closed session I: R2P in Japan").await;
    tick(&browser, "Closed session II: Early warning").await;
    for kind in ["Government", "Academia", "Civil society"] {
        browser.click(&field(&browser, kind).await).await;
    }
    browser
        .fill(&field(&browser, "Countries").await, "JP")
        .await;
    browser
        .fill(
            &field(&browser, "Message").await,
            "We would be honoured by your participation.",
        )
        .await;
    click_text(&browser, "Preview").await;

    browser.wait_for_text("h1", "Before you send").await;
    check_page(&browser).await;
    let main = browser.text_of("main").await;
    assert!(main.contains("3 people will be invited"), "{main}");
    assert!(
        main.contains("Tokyo Peace Forum"),
        "nobody to invite there: {main}"
    );
    assert!(main.contains(&people.registered), "skipped: {main}");
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM invitations").await,
        0,
        "nothing sent before Send"
    );
    click_text(&browser, "Send 3 invitations").await;

    browser
        .wait_for_text(".done", "The invitations were sent.")
        .await;
    check_page(&browser).await;
    assert!(browser.text_of("main").await.contains("Tanaka Hiroshi"));
    fx::wait_for_mail(&app, &people.waseda, "Invitation:").await;

    click_text(&browser, "Revoke").await;
    browser
        .wait_for_text("h1", "Revoke the invitation of")
        .await;
    check_page(&browser).await;
    assert!(browser.text_of("main").await.contains("stops working"));
    click_text(&browser, "Revoke the invitation").await;
    browser
        .wait_for_text(".done", "The invitation was withdrawn")
        .await;
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM invitations WHERE status = 'revoked'"
        )
        .await,
        1
    );

    // A message that bounced on a mistyped address.
    let wrong = "secretariat@mofa.example";
    app.sql(&format!(
        "INSERT INTO emails (id, kind, event_id, to_address, subject, text_body, html_body, status, attempts, last_error) \
         VALUES (gen_random_uuid(), 'programme_update', '{event}', '{wrong}', 'Programme update', \
                 'The programme changed.', '<p>The programme changed.</p>', 'failed', 1, \
                 '550 5.1.1 Mailbox unavailable')"
    ))
    .await;
    click_text(&browser, "Email status").await;
    browser.wait_for_text("h1", "Email status").await;
    check_page(&browser).await;
    click_text(&browser, "Correct the address and retry").await;
    browser.wait_for_text("h1", "Retry a failed message").await;
    check_page(&browser).await;
    let right = fx::unique_email("secretariat");
    browser
        .fill(&field(&browser, "Correct address").await, &right)
        .await;
    click_text(&browser, "Correct and retry").await;
    browser
        .wait_for_text(".done", "The address was corrected")
        .await;
    check_page(&browser).await;
    browser.close().await;
    fx::wait_for_mail(&app, &right, "Programme update").await;
}
