//! An organiser sets up the Japan 2022 dialogue from nothing in headless Chromium, on a
//! phone-sized window, finding fields by their labels and buttons by their text: a new series
//! and the event in Tokyo time, two closed sessions and the public online seminar, speakers in
//! order, partners with their roles; then publishes it after reading the confirmation. Every
//! page passes the accessibility check and fits the phone.

use std::path::PathBuf;

use serde_json::json;

use super::browser::{app_on_its_public_url, check_page, click_text, field};
use crate::support::browser::Browser;
use crate::support::fixtures as fx;

/// Sets a field's value as a browser's own picker would (datetime-local fields take typed
/// keys differently in every locale).
async fn set_value(browser: &Browser, css: &str, value: &str) {
    browser
        .execute(
            "document.querySelector(arguments[0]).value = arguments[1]; return true;",
            vec![json!(css), json!(value)],
        )
        .await;
}

#[tokio::test]
async fn an_organiser_sets_up_the_japan_dialogue_on_a_phone() {
    let app = app_on_its_public_url().await;
    let apr2p = fx::organization(
        &app,
        "Asia-Pacific Centre for R2P",
        "civil_society",
        Some("AU"),
        "active",
    )
    .await;
    let siir = fx::organization(
        &app,
        "Sophia Institute of International Relations",
        "academia",
        Some("JP"),
        "active",
    )
    .await;
    let dfat = fx::organization(
        &app,
        "Australian Department of Foreign Affairs and Trade",
        "government",
        Some("AU"),
        "active",
    )
    .await;
    let organiser = app.user("organizer").await;

    let browser = Browser::start().await;
    browser.set_window_size(390, 900).await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for_text("h1", "Sign in").await;
    browser
        .fill(&field(&browser, "Email").await, &organiser.email)
        .await;
    browser
        .fill(&field(&browser, "Password").await, super::PASSWORD)
        .await;
    click_text(&browser, "Sign in").await;
    browser.wait_for_text("h1", "My dialogues").await;
    click_text(&browser, "New dialogue").await;

    browser.wait_for_text("h1", "New dialogue").await;
    check_page(&browser).await;
    browser
        .fill(
            &field(&browser, "Or a new series").await,
            "Japan National Dialogue on R2P and Atrocities Prevention",
        )
        .await;
    browser
        .fill(
            &field(&browser, "Title").await,
            "Japan National Dialogue 2022",
        )
        .await;
    browser
        .fill(&field(&browser, "Address name (slug)").await, "japan-2022")
        .await;
    browser
        .select(&field(&browser, "Country").await, "JP")
        .await;
    browser
        .fill(&field(&browser, "Time zone").await, "Asia/Tokyo")
        .await;
    browser
        .select(&field(&browser, "Format").await, "online")
        .await;
    browser
        .fill(
            &field(&browser, "Online link").await,
            "https://zoom.example/j/2022",
        )
        .await;
    click_text(&browser, "Create the dialogue").await;
    browser.wait_for_text(".done", "created as a draft").await;
    check_page(&browser).await;
    let edit = browser.current_url().await;
    let edit = edit.split('?').next().unwrap().to_owned();

    let sessions = [
        (
            "Closed session I: R2P and Japan",
            "closed",
            "2022-02-17T09:30",
            "2022-02-17T12:00",
            "yes",
        ),
        (
            "Closed session II: Atrocity prevention in the region",
            "closed",
            "2022-02-17T14:00",
            "2022-02-17T17:00",
            "yes",
        ),
        (
            "Public seminar: Japan and the Responsibility to Protect",
            "public",
            "2022-02-18T16:00",
            "2022-02-18T18:00",
            "no",
        ),
    ];
    for (i, (title, access, starts, ends, chatham)) in sessions.into_iter().enumerate() {
        browser.goto(&edit).await;
        browser
            .wait_for_text("h1", "Set up Japan National Dialogue 2022")
            .await;
        click_text(&browser, "Add a session").await;
        browser.wait_for_text("h1", "New session").await;
        if i == 0 {
            check_page(&browser).await;
            assert!(browser.text_of("main").await.contains("Asia/Tokyo"));
        }
        browser.fill(&field(&browser, "Title").await, title).await;
        browser
            .select(&field(&browser, "Access").await, access)
            .await;
        set_value(&browser, &field(&browser, "Starts").await, starts).await;
        set_value(&browser, &field(&browser, "Ends").await, ends).await;
        browser
            .fill(
                &field(&browser, "Capacity").await,
                if access == "public" { "100" } else { "30" },
            )
            .await;
        browser
            .select(&field(&browser, "Chatham House rule").await, chatham)
            .await;
        click_text(&browser, "Add the session").await;
        browser
            .wait_for_text(".done", "The session was added")
            .await;
    }
    // The seminar's speakers, typed, then put in order.
    check_page(&browser).await;
    for (name, organisation, role) in [
        ("Prof. Toshiya Hoshino", "Osaka University", "presenter"),
        (
            "Mr. Ryuichi Ishii",
            "Ministry of Foreign Affairs of Japan",
            "opening_remarks",
        ),
    ] {
        browser
            .fill(&field(&browser, "Name as shown").await, name)
            .await;
        browser
            .fill(&field(&browser, "Their organisation").await, organisation)
            .await;
        browser.select(&field(&browser, "Role").await, role).await;
        click_text(&browser, "Add the speaker").await;
        browser
            .wait_for_text(".done", "The speaker was added")
            .await;
    }
    click_text(&browser, "Up").await;
    browser
        .wait_for_text(".done", "The order of the speakers was changed")
        .await;
    check_page(&browser).await;
    let order = browser.texts_of("ol.speakers li strong").await;
    assert_eq!(order, ["Mr. Ryuichi Ishii", "Prof. Toshiya Hoshino"]);

    // Partners with their roles.
    browser.goto(&edit).await;
    for (org, role) in [
        (apr2p, "organizer"),
        (siir, "co_organizer"),
        (dfat, "funder"),
    ] {
        browser
            .select(&field(&browser, "Organisation").await, &org.to_string())
            .await;
        browser
            .select(&field(&browser, "Partner's role").await, role)
            .await;
        click_text(&browser, "Save the partner").await;
        browser
            .wait_for_text(".done", "The partner was saved")
            .await;
    }
    check_page(&browser).await;
    let main = browser.text_of("main").await;
    assert!(
        main.contains("Sophia Institute of International Relations")
            && main.contains("Co-organiser")
    );
    assert!(
        main.contains("Fri 18 Feb 2022, 16:00–18:00 JST (Asia/Tokyo)"),
        "{main}"
    );

    click_text(&browser, "Publish").await;
    browser
        .wait_for_text("h1", "Publish Japan National Dialogue 2022?")
        .await;
    check_page(&browser).await;
    assert!(browser
        .text_of("main")
        .await
        .contains("Nobody is emailed when it is published."));
    click_text(&browser, "Publish").await;
    browser
        .wait_for_text(".done", "The dialogue was published")
        .await;
    check_page(&browser).await;
    // The other confirmation pages, as they look with people to tell and with a refusal.
    let event = fx::text(&app, "SELECT id::text AS v FROM events")
        .await
        .unwrap();
    let seminar = fx::text(
        &app,
        "SELECT id::text AS v FROM sessions WHERE access = 'public'",
    )
    .await
    .unwrap();
    let lan = fx::person(&app, &fx::unique_email("lan"), "Nguyễn Thị Lan").await;
    fx::registration(&app, &seminar, lan, "confirmed").await;
    browser
        .goto(&app.url(&format!("/manage/events/{event}/cancel")))
        .await;
    browser.wait_for_text("main", "Nguyễn Thị Lan").await;
    check_page(&browser).await;
    browser
        .goto(&app.url(&format!("/manage/sessions/{seminar}/delete")))
        .await;
    browser.wait_for_text("main", "1 live registration").await;
    check_page(&browser).await;
    browser
        .goto(&app.url(&format!(
            "/manage/events/{event}/staff/{}/remove",
            organiser.account_id
        )))
        .await;
    browser.wait_for_text("main", "only staff member").await;
    check_page(&browser).await;
    // A failed form, its errors by their fields.
    browser
        .goto(&app.url(&format!("/manage/sessions/{seminar}/edit")))
        .await;
    browser.fill(&field(&browser, "Capacity").await, "0").await;
    click_text(&browser, "Save the session").await;
    browser
        .wait_for_text(".errors", "nothing was changed")
        .await;
    check_page(&browser).await;

    browser.goto(&edit).await;
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots/console-dialogue-set-up.png");
    browser.screenshot(&shot).await;
    browser.close().await;

    assert_eq!(
        fx::texts(&app, "SELECT e.status || ' ' || e.timezone || ' ' || (SELECT count(*) FROM sessions s WHERE s.event_id = e.id) || ' ' || (SELECT count(*) FROM event_partners p WHERE p.event_id = e.id) AS v FROM events e").await,
        vec![Some("published Asia/Tokyo 3 3".to_owned())]
    );
    assert_eq!(
        fx::text(&app, "SELECT to_char(starts_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI') AS v FROM sessions WHERE access = 'public'").await.as_deref(),
        Some("2022-02-18 16:00")
    );
}
