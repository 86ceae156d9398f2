//! What participants read: the emails about their registrations carry real links (join,
//! cancel) that wrap on a phone, name whom to write to, and reply to the event's contact; the
//! event page says whom to contact and whether a session is full before anyone types.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::registrations::{cancel_link, confirm, confirm_token, local, register_anon};
use crate::support::fixtures::{self as fx, unique_email, wait_for_mail};
use crate::support::smtp::ReceivedMail;
use crate::support::{expect_json, TestApp, TestUser};

const CONTACT_NAME: &str = "Yuki Sato";
const CONTACT_EMAIL: &str = "dialogue-contact@example.org";
const JOIN_LINK: &str = "https://meet.example.org/r2p-seminar-2027";

/// The `href` of every `<a>` in an HTML document, entities decoded.
pub fn hrefs(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<a ").map(|i| at + i) {
        let end = lower[start..].find('>').map_or(lower.len(), |i| start + i);
        let tag = &html[start..end];
        if let Some(h) = tag.find("href=\"") {
            let value = &tag[h + 6..];
            let value = &value[..value.find('"').unwrap_or(value.len())];
            found.push(
                value
                    .replace("&amp;", "&")
                    .replace("&#x3D;", "=")
                    .replace("&#61;", "=")
                    .replace("&#x2F;", "/"),
            );
        }
        at = end;
    }
    found
}

/// The `<a>` tag (up to its `>`) whose href is `url`.
fn anchor_of<'a>(html: &'a str, url: &str) -> Option<&'a str> {
    let mut at = 0;
    while let Some(start) = html[at..].find("<a ").map(|i| at + i) {
        let end = html[start..].find('>').map_or(html.len(), |i| start + i);
        let tag = &html[start..end];
        if hrefs(&format!("{tag}>")).first().map(String::as_str) == Some(url) {
            return Some(tag);
        }
        at = end;
    }
    None
}

/// A published hybrid event with a contact and one public session of `capacity` seats.
async fn event_with_contact(app: &TestApp, session: Value) -> (TestUser, Value, String) {
    let lead = app.user("organizer").await;
    let event = fx::api_event(
        app,
        &lead,
        json!({
            "title": "Japan National Dialogue 2027",
            "country": "JP",
            "timezone": "Asia/Tokyo",
            "format": "hybrid",
            "venue": "Sophia University, Tokyo",
            "online_url": JOIN_LINK,
            "contact_name": CONTACT_NAME,
            "contact_email": CONTACT_EMAIL,
        }),
    )
    .await;
    assert_eq!(event["contact_name"], CONTACT_NAME);
    assert_eq!(event["contact_email"], CONTACT_EMAIL);
    let id = event["id"].as_str().unwrap().to_owned();
    let mut body = json!({
        "title": "Public seminar: What can Japan do?",
        "access": "public",
        "starts_at": "2031-02-19T14:00:00+09:00",
        "ends_at": "2031-02-19T16:30:00+09:00",
    });
    body.as_object_mut()
        .unwrap()
        .extend(session.as_object().unwrap().clone());
    let session = fx::api_session(app, &lead, &id, body).await;
    let event = fx::api_publish(app, &lead, &id).await;
    (lead, event, session["id"].as_str().unwrap().to_owned())
}

/// Every email about a registration replies to the contact, names them, and links only what
/// Convene made.
fn assert_contact(mail: &ReceivedMail) {
    let reply_to = mail.header("Reply-To").expect("a Reply-To header");
    assert!(reply_to.contains(CONTACT_EMAIL), "Reply-To: {reply_to}");
    assert!(reply_to.contains(CONTACT_NAME), "Reply-To: {reply_to}");
    let html = mail.html_body();
    assert!(
        hrefs(&html).contains(&format!("mailto:{CONTACT_EMAIL}")),
        "{html}"
    );
    assert!(mail.text_body().contains(CONTACT_EMAIL));
}

/// The cancel link of `mail`, which must be an `<a>` that wraps, and be in the text part too.
fn assert_cancel_link(mail: &ReceivedMail) -> String {
    let html = mail.html_body();
    let link = hrefs(&html)
        .into_iter()
        .find(|h| h.contains("/cancel?token="))
        .unwrap_or_else(|| panic!("no <a href> to cancel in {html}"));
    let tag = anchor_of(&html, &link).unwrap();
    assert!(
        tag.contains("word-break:break-all") && tag.contains("overflow-wrap:anywhere"),
        "a long URL wraps on a phone: {tag}"
    );
    assert!(
        mail.text_body().contains(&link),
        "the text part keeps the URL"
    );
    link
}

fn assert_join_link(mail: &ReceivedMail) {
    let html = mail.html_body();
    assert!(
        hrefs(&html).iter().any(|h| h == JOIN_LINK),
        "no <a href> to join in {html}"
    );
    assert!(mail.text_body().contains(JOIN_LINK));
}

/// "You're registered", "You're on the waitlist" and "A seat is yours" link the join and
/// cancel URLs, reply to the contact; a name typed by the registrant is never a link.
#[tokio::test]
async fn registration_emails_link_join_and_cancel_and_reply_to_the_contact() {
    let app = TestApp::spawn().await;
    let (_, _, session_id) = event_with_contact(&app, json!({"capacity": 1})).await;
    let session_id: uuid::Uuid = session_id.parse().unwrap();

    let first = unique_email("first");
    let res = app
        .post(
            &format!("/sessions/{session_id}/registrations"),
            None,
            json!({"email": first, "name": "See https://phish.example/x now", "country": "JP"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let token = confirm_token(&app, &first).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    let registered = wait_for_mail(&app, &first, "You're registered").await;
    assert_join_link(&registered);
    let first_cancel = assert_cancel_link(&registered);
    assert_contact(&registered);
    let links = hrefs(&registered.html_body());
    assert!(
        links.iter().all(|h| !h.contains("phish")),
        "typed text is never a link: {links:?}"
    );

    let second = unique_email("second");
    register_anon(&app, session_id, &second).await;
    let token = confirm_token(&app, &second).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    let waitlisted = wait_for_mail(&app, &second, "You're on the waitlist").await;
    assert_cancel_link(&waitlisted);
    assert_contact(&waitlisted);
    assert!(
        !hrefs(&waitlisted.html_body()).contains(&JOIN_LINK.to_owned()),
        "no join link without a seat"
    );

    // The first frees their seat through the emailed link: the second is promoted.
    let cancel_path = local(&first_cancel);
    let token = fx::token_of(&first_cancel);
    let res = app
        .client
        .post(app.url(cancel_path.split('?').next().unwrap()))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let promoted = wait_for_mail(&app, &second, "A seat is yours").await;
    assert_join_link(&promoted);
    assert_cancel_link(&promoted);
    assert_contact(&promoted);
    assert_eq!(
        cancel_link(&app, &second).await,
        assert_cancel_link(&promoted)
    );
}

/// "approved" and "New time" link the join and cancel URLs and reply to the contact.
#[tokio::test]
async fn approval_and_new_time_emails_link_join_and_cancel() {
    let app = TestApp::spawn().await;
    let (lead, _, session_id) =
        event_with_contact(&app, json!({"capacity": 10, "requires_approval": true})).await;
    let session_id: uuid::Uuid = session_id.parse().unwrap();
    let email = unique_email("approved");
    register_anon(&app, session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    let registration = crate::registrations::registration_of(&app, session_id, &email).await;
    let id = registration["id"].as_str().unwrap();
    expect_json(
        app.post(
            &format!("/registrations/{id}/approve"),
            lead.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let approved = wait_for_mail(&app, &email, "approved").await;
    assert_join_link(&approved);
    assert_cancel_link(&approved);
    assert_contact(&approved);

    expect_json(
        app.patch(
            &format!("/sessions/{session_id}"),
            lead.token(),
            json!({"starts_at": "2031-02-19T17:30:00+09:00", "ends_at": "2031-02-19T19:30:00+09:00"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let moved = wait_for_mail(&app, &email, "New time").await;
    assert_join_link(&moved);
    assert_contact(&moved);
}

/// The event page names its contact, and a full session says so before anyone types: "Full —
/// join the waitlist" with a "Join the waitlist" button, or "Full" without a form.
#[tokio::test]
async fn event_page_shows_the_contact_and_full_sessions() {
    let app = TestApp::spawn().await;
    let (lead, event, with_waitlist) = event_with_contact(&app, json!({"capacity": 1})).await;
    let event_id = event["id"].as_str().unwrap();
    let slug = event["slug"].as_str().unwrap();
    let without_waitlist = fx::api_session(
        &app,
        &lead,
        event_id,
        json!({
            "title": "Public panel without a waitlist",
            "access": "public",
            "starts_at": "2031-02-20T14:00:00+09:00",
            "ends_at": "2031-02-20T16:00:00+09:00",
            "capacity": 1,
            "waitlist": false,
        }),
    )
    .await;
    let without_waitlist = without_waitlist["id"].as_str().unwrap();

    let page = |path: String| {
        let app = &app;
        async move {
            let res = app.client.get(app.url(&path)).send().await.unwrap();
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    };
    let (status, html) = page(format!("/events/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(CONTACT_NAME), "{html}");
    assert!(
        hrefs(&html).contains(&format!("mailto:{CONTACT_EMAIL}")),
        "{html}"
    );
    assert!(!html.contains("Full — join the waitlist"));
    assert_eq!(html.matches("Register for this session").count(), 2);

    for session in [with_waitlist.as_str(), without_waitlist] {
        let person = fx::person(&app, &unique_email("seated"), "Seated Person").await;
        fx::registration(&app, session, person, "confirmed").await;
    }
    let (_, html) = page(format!("/events/{slug}")).await;
    assert!(html.contains("Full — join the waitlist"), "{html}");
    assert!(html.contains("Join the waitlist</button>"), "{html}");
    assert!(!html.contains("Register for this session"), "{html}");
    let panel = &html[html.find("Public panel without a waitlist").unwrap()..];
    let panel = &panel[..panel.find("</li>").unwrap()];
    assert!(panel.contains(">Full</h4>"), "{panel}");
    assert!(!panel.contains("<form"), "no form without a seat: {panel}");

    let (status, form) = page(format!("/events/{slug}/sessions/{with_waitlist}/register")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("<h1>Full — join the waitlist</h1>"), "{form}");
    assert!(form.contains("Join the waitlist</button>"), "{form}");
    let (status, full) = page(format!(
        "/events/{slug}/sessions/{without_waitlist}/register"
    ))
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(full.contains("This session is full"), "{full}");
    assert!(!full.contains("<form"), "{full}");
}

/// A contact is a name and an address, each checked; both or neither.
#[tokio::test]
async fn an_event_contact_is_checked() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let body = |extra: Value| {
        let mut body = json!({"title": "Dialogue", "timezone": "Asia/Tokyo", "format": "online",
                              "online_url": JOIN_LINK});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let problem = crate::support::expect_problem(
        app.post(
            "/events",
            lead.token(),
            body(json!({"contact_name": "Yuki Sato", "contact_email": "not an address"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem.to_string().contains("contact_email"), "{problem}");
    let problem = crate::support::expect_problem(
        app.post(
            "/events",
            lead.token(),
            body(json!({"contact_name": "Yuki Sato"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem.to_string().contains("contact_email"), "{problem}");
    let event = fx::api_event(&app, &lead, body(json!({}))).await;
    let id = event["id"].as_str().unwrap();
    let patched = expect_json(
        app.patch(
            &format!("/events/{id}"),
            lead.token(),
            json!({"contact_name": CONTACT_NAME, "contact_email": CONTACT_EMAIL}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["contact_email"], CONTACT_EMAIL);
}

/// An invitation and its acceptance ("You're registered") reply to the contact; the acceptance
/// links the closed room and each session's cancel URL.
#[tokio::test]
async fn invitation_emails_link_join_and_cancel_and_reply_to_the_contact() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    app.sql(&format!(
        "UPDATE events SET contact_name = '{CONTACT_NAME}', contact_email = '{CONTACT_EMAIL}' \
         WHERE id = '{}'",
        d.event_id
    ))
    .await;
    let invitee = "kanehara@example.org";
    expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": d.closed, "invitees": [{"email": invitee, "name": "Dr Kanehara"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let invitation = wait_for_mail(&app, invitee, "Invitation:").await;
    assert_contact(&invitation);
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let answer = hrefs(&invitation.html_body())
        .into_iter()
        .find(|h| h.starts_with(&prefix))
        .expect("a link to answer");
    let token = &answer[prefix.len()..];
    expect_json(
        app.post(
            &format!("/invitations/by-token/{token}/respond"),
            None,
            json!({"response": "accept"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let accepted = wait_for_mail(&app, invitee, "You're registered").await;
    assert_contact(&accepted);
    let html = accepted.html_body();
    let links = hrefs(&html);
    assert!(links.iter().any(|h| h == fx::CLOSED_ROOM_LINK), "{html}");
    assert_eq!(
        links
            .iter()
            .filter(|h| h.contains("/cancel?token="))
            .count(),
        2,
        "one cancel link per session: {links:?}"
    );
    assert_cancel_link(&accepted);
}

/// On a 390-pixel phone, "You're registered" fits the screen: its long cancel URL wraps
/// instead of running off the side.
#[tokio::test]
async fn a_registered_email_fits_a_phone_screen() {
    let app = TestApp::spawn().await;
    let (_, _, session_id) = event_with_contact(&app, json!({"capacity": 5})).await;
    let session_id: uuid::Uuid = session_id.parse().unwrap();
    let email = unique_email("phone");
    register_anon(&app, session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    let registered = wait_for_mail(&app, &email, "You're registered").await;

    let browser = crate::support::browser::Browser::start().await;
    browser.set_window_size(390, 800).await;
    browser.goto("about:blank").await;
    browser
        .execute(
            "document.open(); document.write(arguments[0]); document.close(); return true;",
            vec![json!(registered.html_body())],
        )
        .await;
    let width = browser.inner_width().await;
    assert!((320..=390).contains(&width), "a phone's width: {width}");
    assert!(
        !browser.scrolls_sideways().await,
        "the email is wider than a {width}-pixel phone"
    );
    // Every link shown as its URL may break anywhere, however long the URL.
    let wrapping = browser
        .execute(
            "return Array.from(document.querySelectorAll('a'))
                 .filter(a => a.textContent.startsWith('http'))
                 .map(a => { const s = getComputedStyle(a);
                             return s.overflowWrap === 'anywhere' || s.wordBreak === 'break-all'; });",
            vec![],
        )
        .await;
    let wrapping = wrapping.as_array().unwrap();
    assert!(
        wrapping.len() >= 2,
        "the join and cancel links: {wrapping:?}"
    );
    assert!(
        wrapping.iter().all(|w| w == &json!(true)),
        "URLs wrap: {wrapping:?}"
    );
}
