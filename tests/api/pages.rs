//! The server-rendered pages: the front page, an event's public page, the HTML 404, and the
//! event page as headless Chromium renders it.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{expect_json, TestApp};

async fn page(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = app.client.get(app.url(path)).send().await.expect("page");
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("html"))
}

#[tokio::test]
async fn the_front_page_lists_upcoming_and_past_dialogues() {
    let app = TestApp::spawn().await;
    let (status, _, html) = page(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No dialogue is scheduled"));

    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo");
    let organizer = app.user("organizer").await;
    // A draft never shows; a title is escaped.
    expect_json(
        app.post(
            "/events",
            organizer.token(),
            json!({"title": "Draft <script>alert(1)</script>", "timezone": "UTC", "format": "online", "online_url": "https://example.org/x"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (status, headers, html) = page(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let upcoming = html.split("id=\"past\"").next().unwrap();
    assert!(upcoming.contains("Japan: National Dialogue on R2P and Atrocities Prevention 2027"));
    assert!(
        upcoming.contains("Fri 19 Feb 2027, 10:00–16:30 JST (Asia/Tokyo)"),
        "{upcoming}"
    );
    assert!(upcoming.contains("Japan"));
    assert!(upcoming.contains("Hybrid"));
    assert!(upcoming.contains("href=\"/events/japan-national-dialogue-2027\""));
    let past = html.split("id=\"past\"").nth(1).expect("a past section");
    assert!(past.contains("Japan: First National Dialogue on R2P and Atrocities Prevention"));
    assert!(!html.contains("Draft"), "drafts are not listed");
}

#[tokio::test]
async fn the_event_page_shows_the_public_programme_in_local_time() {
    let app = TestApp::spawn().await;
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo");
    let (status, headers, html) = page(&app, "/events/japan-national-dialogue-2022").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Fri 18 Feb 2022, 09:30–12:00 JST (Asia/Tokyo)"));
    assert!(html.contains("Fri 18 Feb 2022, 16:00–18:00 JST (Asia/Tokyo)"));
    assert!(html.contains("datetime=\"2022-02-18T09:30:00+09:00\""));
    assert_eq!(
        html.matches("Closed session — by invitation (Chatham House rule)")
            .count(),
        2
    );
    for speaker in [
        "Toshiya Hoshino",
        "Daisaku Higashi",
        "Misako Takizawa",
        "Yasuhiro Ueki",
    ] {
        assert!(html.contains(speaker), "{speaker} speaks in public");
    }
    for hidden in ["Ralph", "Hasegawa", "example.org/convene"] {
        assert!(
            !html.contains(hidden),
            "{hidden} leaked from a closed session"
        );
    }
    assert!(
        !html.contains("Closed session, opened by"),
        "a closed session's description leaked"
    );
    for partner in [
        "Organiser",
        "Asia Pacific Centre for the Responsibility to Protect",
        "Co-organiser",
        "Funder",
        "Australian Department of Foreign Affairs and Trade",
    ] {
        assert!(html.contains(partner), "{partner}");
    }
    assert!(html.contains("This dialogue has taken place."));
    assert!(html.contains("Held under the Chatham House rule"));
    assert!(html.contains("Bringing human security (HS) back under Pillar II"));
    // A completed event takes no registrations.
    assert!(!html.contains("<form"));

    // The upcoming edition: a form for its public session only.
    let (_, _, html) = page(&app, "/events/japan-national-dialogue-2027").await;
    assert_eq!(html.matches("<form").count(), 1);
    assert!(html.contains("/events/japan-national-dialogue-2027/sessions/"));
    assert!(html.contains("method=\"post\""));
    for field in [
        "name=\"email\"",
        "name=\"name\"",
        "name=\"organization_name\"",
        "name=\"country\"",
    ] {
        assert!(html.contains(field), "{field}");
    }
    assert!(html.contains("<label for=\"email-"));
    assert!(html.contains("<option value=\"JP\">Japan</option>"));
}

#[tokio::test]
async fn a_registration_window_not_yet_open_says_so() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    let event = expect_json(
        app.post("/events", organizer.token(), json!({"title": "Seminar later", "slug": "seminar-later", "timezone": "Asia/Tokyo", "format": "online", "online_url": "https://example.org/room"})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = event["id"].as_str().unwrap();
    expect_json(
        app.post(
            &format!("/events/{id}/sessions"),
            organizer.token(),
            json!({
                "title": "Public seminar", "access": "public",
                "starts_at": "2099-06-01T10:00", "ends_at": "2099-06-01T12:00",
                "registration_opens_at": "2099-05-01T09:00"
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (status, _, _) = page(&app, "/events/seminar-later").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a draft has no page");
    expect_json(
        app.post(
            &format!("/events/{id}/publish"),
            organizer.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (status, _, html) = page(&app, "/events/seminar-later").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Registration opens soon: from Fri 1 May 2099, 09:00 JST."),
        "{html}"
    );
    assert!(!html.contains("<form"));
}

#[tokio::test]
async fn an_unknown_event_is_an_html_404() {
    let app = TestApp::spawn().await;
    let (status, headers, html) = page(&app, "/events/no-such-dialogue").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(html.contains("Page not found"));
    assert!(html.contains("href=\"/\""));
}

#[tokio::test]
async fn chromium_shows_the_programme_in_tokyo_time() {
    let app = TestApp::spawn().await;
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo");
    let browser = Browser::start().await;
    browser
        .goto(&app.url("/events/japan-national-dialogue-2022"))
        .await;
    assert_eq!(
        browser.text_of("h1").await,
        "Japan: First National Dialogue on R2P and Atrocities Prevention"
    );
    let programme = browser.text_of("#programme + ol").await;
    assert!(programme.contains("09:30–12:00 JST"), "{programme}");
    assert!(programme.contains("13:00–15:00 JST"), "{programme}");
    assert!(programme.contains("16:00–18:00 JST"), "{programme}");
    let closed = browser.texts_of("li.session.closed").await;
    assert_eq!(closed.len(), 2);
    for text in &closed {
        assert!(text.contains("Closed session — by invitation (Chatham House rule)"));
        assert!(
            !text.contains("Speakers"),
            "a closed session lists speakers: {text}"
        );
        for name in ["Hoshino", "Ralph", "Morada", "Hasegawa"] {
            assert!(!text.contains(name), "{name} shown in a closed session");
        }
    }
    let public = browser.texts_of("li.session:not(.closed)").await;
    assert_eq!(public.len(), 1);
    assert!(public[0].contains("Prof. Daisaku Higashi"));
    assert!(!browser.page_source().await.contains("Greg Ralph"));

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots/japan-national-dialogue-2022.png");
    let png = browser.screenshot(&path).await;
    assert!(png.len() > 1000, "a real image");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::metadata(&path).expect("screenshot written").len() > 0);

    // The upcoming edition's form is there and usable by keyboard-level interaction.
    browser
        .goto(&app.url("/events/japan-national-dialogue-2027"))
        .await;
    browser
        .fill("form.register input[name=email]", "reader@example.org")
        .await;
    browser
        .fill("form.register input[name=name]", "A Reader")
        .await;
    assert!(browser.text_of("form.register").await.contains("Register"));
    browser.close().await;
}
