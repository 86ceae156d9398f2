//! The pages in headless Chromium, as a participant uses them: register from the event page
//! and follow the emailed links, answer an invitation, confirm an email address; every page
//! visited passes an accessibility check, and the pages fit a 375-pixel-wide phone.
//! Each test starts its own chromedriver; screenshots go to target/screenshots/.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::fixtures as fx;
use crate::support::fixtures::wait_for_mail;
use crate::support::{expect_json, TestApp, TestUser};

fn screenshot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots")
        .join(format!("{name}.png"))
}

fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.org", uuid::Uuid::now_v7().simple())
}

/// An emailed link (on the configured public URL) made to point at this test's server.
fn on_test_server(app: &TestApp, link: &str) -> String {
    let public = app.settings.public_url();
    let rest = link
        .strip_prefix(public)
        .unwrap_or_else(|| panic!("{link} is not under {public}"));
    app.url(rest)
}

/// The first link in `mail` under `{public_url}{path}`.
fn link_in(app: &TestApp, mail: &crate::support::smtp::ReceivedMail, path: &str) -> String {
    let prefix = format!("{}{path}", app.settings.public_url());
    mail.first_link(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in: {}", mail.text_body()))
}

/// A published hybrid dialogue made over the API by an organizer: a closed session with a
/// description and a speaker, and a public seminar with a speaker. Answers the organizer, the
/// event's slug and the public session's id.
pub async fn dialogue_with_a_public_seminar(app: &TestApp) -> (TestUser, String, String) {
    let organizer = app.user("organizer").await;
    let event = expect_json(
        app.post(
            "/events",
            organizer.token(),
            json!({
                "title": "Japan National Dialogue on R2P and Atrocities Prevention 2031",
                "summary": "Government, academia and civil society on R2P in Japan.",
                "country": "JP",
                "timezone": "Asia/Tokyo",
                "format": "hybrid",
                "venue": "Sophia University, Tokyo",
                "online_url": "https://meet.example.org/r2p-secret-room",
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = event["id"].as_str().unwrap().to_owned();
    let slug = event["slug"].as_str().unwrap().to_owned();
    let session = |body: Value| {
        let (app, organizer, id) = (app, &organizer, &id);
        async move {
            expect_json(
                app.post(&format!("/events/{id}/sessions"), organizer.token(), body)
                    .await,
                StatusCode::CREATED,
            )
            .await
        }
    };
    let closed = session(json!({
        "title": "Closed session: Vitalizing R2P in the Japanese context",
        "description": "Secret deliberations among invited professionals",
        "access": "closed",
        "starts_at": "2031-02-19T10:00", "ends_at": "2031-02-19T12:30", "capacity": 30,
    }))
    .await;
    let public = session(json!({
        "title": "Public seminar: What can Japan do?",
        "description": "Open to all who work on atrocity prevention",
        "access": "public",
        "starts_at": "2031-02-19T14:00", "ends_at": "2031-02-19T16:30", "capacity": 100,
    }))
    .await;
    for (session, name) in [
        (&closed, "Secret Speaker"),
        (&public, "Prof. Daisaku Higashi"),
    ] {
        expect_json(
            app.post(
                &format!("/sessions/{}/speakers", session["id"].as_str().unwrap()),
                organizer.token(),
                json!({"name": name, "organization": "Sophia University", "role": "presenter"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
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
    let public_id = public["id"].as_str().unwrap().to_owned();
    (organizer, slug, public_id)
}

/// The staff list of a session's registrations.
async fn registrations(app: &TestApp, staff: &TestUser, session_id: &str) -> Vec<Value> {
    let list = expect_json(
        app.get(
            &format!("/sessions/{session_id}/registrations"),
            staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_visitor_registers_confirms_and_cancels_in_chromium() {
    let app = TestApp::spawn().await;
    let (organizer, slug, public_id) = dialogue_with_a_public_seminar(&app).await;
    let email = unique_email("mari");
    let browser = Browser::start().await;

    // The event page: the public seminar's form; the closed session by title and time only.
    browser.goto(&app.url(&format!("/events/{slug}"))).await;
    browser
        .wait_for_text(
            "h1",
            "Japan National Dialogue on R2P and Atrocities Prevention 2031",
        )
        .await;
    browser.assert_accessible().await;
    let closed = browser.text_of("li.session.closed").await;
    assert!(closed.contains("Closed session — by invitation (Chatham House rule)"));
    assert!(
        closed.contains("Wed 19 Feb 2031, 10:00–12:30 JST (Asia/Tokyo)"),
        "{closed}"
    );
    let source = browser.page_source().await;
    for hidden in ["Secret Speaker", "Secret deliberations", "r2p-secret-room"] {
        assert!(!source.contains(hidden), "{hidden} is on the public page");
    }
    browser
        .fill("form.register input[name=email]", &email)
        .await;
    browser
        .fill("form.register input[name=name]", "Mari Suzuki")
        .await;
    browser
        .fill(
            "form.register input[name=organization_name]",
            "Sophia University",
        )
        .await;
    browser
        .select("form.register select[name=country]", "JP")
        .await;
    browser.screenshot(screenshot("registration-1-form")).await;
    browser.click("form.register button[type=submit]").await;
    browser.wait_for_text("h1", "Check your email").await;
    assert!(browser.text_of("main").await.contains(&email));
    browser.assert_accessible().await;
    browser
        .screenshot(screenshot("registration-2-check-your-email"))
        .await;
    let listed = registrations(&app, &organizer, &public_id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "pending_confirmation");
    assert_eq!(listed[0]["email"], email.as_str());
    assert_eq!(listed[0]["name"], "Mari Suzuki");
    assert_eq!(listed[0]["organization"], "Sophia University");
    assert_eq!(listed[0]["country"], "JP");

    // The emailed confirmation link shows what it confirms; the button confirms.
    let mail = wait_for_mail(&app, &email, "Confirm your registration").await;
    let link = link_in(&app, &mail, "/registrations/confirm?token=");
    browser.goto(&on_test_server(&app, &link)).await;
    browser
        .wait_for_text("h1", "Confirm your registration")
        .await;
    assert!(browser
        .text_of(".summary")
        .await
        .contains("Public seminar: What can Japan do?"));
    browser.assert_accessible().await;
    assert_eq!(
        registrations(&app, &organizer, &public_id).await[0]["status"],
        "pending_confirmation",
        "opening the link changed nothing"
    );
    browser.click("main form button[type=submit]").await;
    browser.wait_for_text("h1", "You're registered").await;
    browser.assert_accessible().await;
    browser
        .screenshot(screenshot("registration-3-registered"))
        .await;
    assert_eq!(
        registrations(&app, &organizer, &public_id).await[0]["status"],
        "confirmed"
    );

    // The confirmation email's cancel link: a page first, cancelled by the button.
    let mail = wait_for_mail(&app, &email, "registered").await;
    let cancel = link_in(&app, &mail, "/registrations/");
    assert!(cancel.contains("/cancel?token="), "{cancel}");
    browser.goto(&on_test_server(&app, &cancel)).await;
    browser
        .wait_for_text("h1", "Cancel your registration?")
        .await;
    assert!(browser.text_of("main").await.contains("you hold a seat"));
    browser.assert_accessible().await;
    browser.click("button.danger").await;
    browser
        .wait_for_text("h1", "Your registration is cancelled")
        .await;
    browser.assert_accessible().await;
    browser
        .screenshot(screenshot("registration-4-cancelled"))
        .await;
    assert_eq!(
        registrations(&app, &organizer, &public_id).await[0]["status"],
        "cancelled"
    );

    // The used link now explains itself.
    browser.goto(&on_test_server(&app, &cancel)).await;
    browser.wait_for_text("h1", "Already cancelled").await;
    browser.close().await;
}

#[tokio::test]
async fn an_invitee_accepts_in_chromium() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let email = unique_email("hoshino");
    expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({
                "session_ids": d.closed,
                "invitees": [{"email": email, "name": "Prof. Yasunobu Hoshino"}],
                "message": "We would value your perspective on early warning.",
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mail = wait_for_mail(&app, &email, "Invitation:").await;
    let link = link_in(&app, &mail, "/invitations/");

    let browser = Browser::start().await;
    browser.goto(&on_test_server(&app, &link)).await;
    browser
        .wait_for_text(
            "h1",
            "Japan National Dialogue on R2P and Atrocities Prevention",
        )
        .await;
    let main = browser.text_of("main").await;
    assert!(main.contains("Dear Prof. Yasunobu Hoshino"), "{main}");
    assert!(main.contains("We would value your perspective on early warning."));
    let tokyo = chrono_tz::Asia::Tokyo;
    for (title, start) in [
        ("Closed session I: R2P in Japan", d.starts[0]),
        ("Closed session II: Early warning", d.starts[1]),
    ] {
        let local = convene::events::local_time::format_range(
            start,
            start + chrono::Duration::hours(2),
            &tokyo,
        );
        assert!(main.contains(title), "{title} missing: {main}");
        assert!(main.contains(&local), "{local} missing: {main}");
    }
    assert!(
        !main.contains("Public seminar"),
        "only the invited sessions"
    );
    let note = browser.text_of("#chatham-house").await;
    assert!(note.contains("The Chatham House rule"));
    assert!(note.contains("neither the identity nor the affiliation of the speakers"));
    let token = link.rsplit('/').next().unwrap();
    assert!(
        !browser.page_source().await.contains(token),
        "the token is written into the page"
    );
    browser.assert_accessible().await;
    browser.screenshot(screenshot("invitation-1-offer")).await;
    assert_eq!(
        fx::text(&app, &format!("SELECT i.status AS v FROM invitations i JOIN people p ON p.id = i.person_id WHERE p.email = '{email}'")).await.as_deref(),
        Some("pending"),
        "opening the link changed nothing"
    );

    browser.click("button[value=accept]").await;
    browser.wait_for_text("h1", "You're registered").await;
    let main = browser.text_of("main").await;
    assert!(main.contains("Closed session I: R2P in Japan"));
    assert!(main.contains("Closed session II: Early warning"));
    assert_eq!(main.matches("Registered").count(), 2, "{main}");
    browser.assert_accessible().await;
    browser
        .screenshot(screenshot("invitation-2-accepted"))
        .await;

    let list = expect_json(
        app.get(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["items"][0]["status"], "accepted");
    for session in &d.closed {
        let listed = registrations(&app, &d.staff, &session.to_string()).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["status"], "confirmed");
        assert_eq!(listed[0]["source"], "invitation");
    }

    // The link again: the answer, and (the deadline ahead) the form to change it.
    browser.goto(&on_test_server(&app, &link)).await;
    browser
        .wait_for_text("main", "You accepted this invitation")
        .await;
    let source = browser.page_source().await;
    assert!(source.contains("You can change your answer until"));
    assert!(source.contains("<form"));
    browser.close().await;
}

#[tokio::test]
async fn a_new_account_verifies_its_email_in_chromium() {
    let app = TestApp::spawn().await;
    let email = unique_email("aiko");
    let password = "a long enough passphrase";
    expect_json(
        app.post(
            "/auth/signup",
            None,
            json!({"email": email, "password": password, "name": "Ms. Aiko Tanaka"}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let mail = wait_for_mail(&app, &email, "Confirm your email").await;
    let link = link_in(&app, &mail, "/verify-email?token=");
    let session = app.login(&email, password).await;

    let browser = Browser::start().await;
    browser.goto(&on_test_server(&app, &link)).await;
    browser
        .wait_for_text("h1", "Confirm your email address")
        .await;
    let summary = browser.text_of(".summary").await;
    assert!(summary.contains(&email) && summary.contains("Ms. Aiko Tanaka"));
    browser.assert_accessible().await;
    let me = expect_json(app.get("/me", Some(&session)).await, StatusCode::OK).await;
    assert_eq!(
        me["email_verified"], false,
        "opening the link changed nothing"
    );

    browser.click("main form button[type=submit]").await;
    browser
        .wait_for_text("h1", "Your email address is verified")
        .await;
    browser.assert_accessible().await;
    browser.screenshot(screenshot("verify-email-done")).await;
    let me = expect_json(app.get("/me", Some(&session)).await, StatusCode::OK).await;
    assert_eq!(me["email_verified"], true);

    browser.goto(&on_test_server(&app, &link)).await;
    browser
        .wait_for_text("h1", "This link has already been used")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn the_pages_fit_a_phone_and_show_keyboard_focus() {
    let app = TestApp::spawn().await;
    convene::demo::dialogues::load_dialogues(&app.pool)
        .await
        .expect("demo");
    let d = fx::dialogue(&app).await;
    let email = unique_email("phone");
    expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": d.closed, "invitees": [{"email": email, "name": "Dr Phone"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let invitation = link_in(
        &app,
        &wait_for_mail(&app, &email, "Invitation:").await,
        "/invitations/",
    );
    let event = expect_json(
        app.get("/events/japan-national-dialogue-2027", None).await,
        StatusCode::OK,
    )
    .await;
    let public = event["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["access"] == "public")
        .expect("a public session");
    let form = format!(
        "/events/japan-national-dialogue-2027/sessions/{}/register",
        public["id"].as_str().unwrap()
    );

    let browser = Browser::start().await;
    browser.set_window_size(375, 800).await;
    browser
        .goto(&app.url("/events/japan-national-dialogue-2027"))
        .await;
    browser.wait_for_text("h1", "Japan").await;
    let width = browser.inner_width().await;
    assert!(
        (320..=375).contains(&width),
        "the window is phone-sized: {width}"
    );
    assert!(
        !browser.scrolls_sideways().await,
        "the event page scrolls sideways"
    );
    browser.screenshot(screenshot("phone-375-event-page")).await;
    browser.assert_accessible().await;

    // A keyboard user sees where they are: the first Tab lands on the skip link, the next on
    // the site's name, each with the focus ring.
    browser.press_tab().await;
    let focused = browser.focused().await;
    assert_eq!(focused["text"], "Skip to content", "{focused}");
    assert_eq!(focused["outline_style"], "solid", "{focused}");
    assert_eq!(focused["outline_width"], "3px", "{focused}");
    browser.press_tab().await;
    let focused = browser.focused().await;
    assert_eq!(focused["tag"], "a", "{focused}");
    assert_eq!(focused["outline_style"], "solid", "{focused}");

    for path in [
        "/".to_owned(),
        "/events/japan-national-dialogue-2022".to_owned(),
        form,
        "/events/no-such-dialogue".to_owned(),
        "/verify-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
    ] {
        browser.goto(&app.url(&path)).await;
        browser.wait_for_text("h1", "").await;
        assert!(!browser.scrolls_sideways().await, "{path} scrolls sideways");
        browser.assert_accessible().await;
    }
    browser.goto(&on_test_server(&app, &invitation)).await;
    browser.wait_for_text("h1", "Japan").await;
    assert!(
        !browser.scrolls_sideways().await,
        "the invitation scrolls sideways"
    );
    browser.assert_accessible().await;
    browser.screenshot(screenshot("phone-375-invitation")).await;

    // The check itself finds what it looks for.
    browser
        .execute(
            "document.querySelector('main').insertAdjacentHTML('beforeend',
               '<h4>Skipped</h4><p style=\"color:#bbb\">Faint text</p><input name=unlabelled>'
               + '<button>Untyped</button><div style=\"width:900px\">wide</div>');",
            vec![],
        )
        .await;
    let problems = browser.accessibility_problems().await.join("\n");
    for expected in [
        "<h4> \"Skipped\" skips a level",
        "for \"Faint text\"",
        "field unlabelled has no <label>",
        "button \"Untyped\" is not type=submit",
        "scrolls sideways",
    ] {
        assert!(
            problems.contains(expected),
            "{expected} not found in:\n{problems}"
        );
    }
    browser.close().await;
}
