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

// ---- The pages behind the account emails, and tokens in pages ----

const PASSWORD: &str = "a long enough passphrase";

fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.org", uuid::Uuid::now_v7().simple())
}

/// The path and query of the first link under `{public_url}{path}` in the newest email to
/// `to` that has one (polling with a deadline).
async fn emailed_path(app: &TestApp, to: &str, path: &str) -> String {
    let prefix = format!("{}{path}", app.settings.public_url());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(link) = app
            .smtp
            .messages_to(to)
            .iter()
            .rev()
            .find_map(|m| m.first_link(&prefix))
        {
            return link[app.settings.public_url().len()..].to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {prefix} link reached {to}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

fn token_of(path: &str) -> String {
    crate::support::fixtures::token_of(&format!("http://x{path}"))
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let res = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("post");
    let status = res.status();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    (status, res.text().await.expect("html"))
}

/// A token may be written into a page only as the hidden field of the form that uses it.
fn assert_token_only_in_hidden_field(html: &str, token: &str) {
    assert_eq!(
        html.matches(token).count(),
        1,
        "the token appears elsewhere: {html}"
    );
    assert!(
        html.contains(&format!(
            "<input type=\"hidden\" name=\"token\" value=\"{token}\">"
        )),
        "{html}"
    );
}

async fn me(app: &TestApp, session: &str) -> serde_json::Value {
    expect_json(app.get("/me", Some(session)).await, StatusCode::OK).await
}

#[tokio::test]
async fn the_verify_email_page_confirms_only_on_post() {
    let app = TestApp::spawn().await;
    let email = unique_email("verify");
    expect_json(
        app.post(
            "/auth/signup",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Ms. <Aiko> Tanaka"}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let session = app.login(&email, PASSWORD).await;
    let path = emailed_path(&app, &email, "/verify-email?token=").await;
    let token = token_of(&path);

    // GET (twice, as a mail scanner might) shows the address and changes nothing.
    for _ in 0..2 {
        let (status, headers, html) = page(&app, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(html.contains("<h1>Confirm your email address</h1>"));
        assert!(html.contains(&email));
        assert!(html.contains("Ms. &lt;Aiko&gt; Tanaka"), "escaped");
        assert!(html.contains("<form method=\"post\" action=\"/verify-email\">"));
        assert!(html.contains("<button type=\"submit\">Confirm my email address</button>"));
        assert!(html.contains("<meta name=\"robots\" content=\"noindex\">"));
        assert_token_only_in_hidden_field(&html, &token);
    }
    assert_eq!(me(&app, &session).await["email_verified"], false);

    let (status, html) = post_form(&app, "/verify-email", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Your email address is verified"));
    assert!(!html.contains(&token));
    assert_eq!(me(&app, &session).await["email_verified"], true);

    // Used: 410, by GET and POST.
    let (status, _, html) = page(&app, &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has already been used"));
    assert!(!html.contains(&token));
    let (status, html) = post_form(&app, "/verify-email", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("already been used"));

    // Unknown, missing or malformed: 404.
    for path in [
        format!("/verify-email?token={}", "A".repeat(43)),
        "/verify-email".to_owned(),
        "/verify-email?token=short&token=again".to_owned(),
    ] {
        let (status, headers, html) = page(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(html.contains("This link is not valid"));
    }
    let (status, _) = post_form(&app, "/verify-email", &[("token", "nonsense")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post_form(&app, "/verify-email", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Expired: 410 with what to do.
    let late = unique_email("late");
    expect_json(
        app.post(
            "/auth/signup",
            None,
            json!({"email": late, "password": PASSWORD, "name": "Late"}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let late_path = emailed_path(&app, &late, "/verify-email?token=").await;
    app.sql("UPDATE account_tokens SET expires_at = now() - interval '1 minute' WHERE purpose = 'email_verification' AND used_at IS NULL")
        .await;
    let (status, _, html) = page(&app, &late_path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has expired"));
    assert!(html.contains("72 hours"));
    let (status, html) =
        post_form(&app, "/verify-email", &[("token", &token_of(&late_path))]).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has expired"));
}

#[tokio::test]
async fn the_password_reset_page_sets_a_new_password_on_post() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let old_session = user.token.clone();
    expect_json(
        app.post("/auth/password-reset", None, json!({"email": user.email}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let path = emailed_path(&app, &user.email, "/password-reset?token=").await;
    let token = token_of(&path);

    let (status, headers, html) = page(&app, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(html.contains("<h1>Choose a new password</h1>"));
    assert!(html.contains(&user.email));
    assert!(html.contains("<form method=\"post\" action=\"/password-reset\">"));
    for field in ["password", "password_confirmation"] {
        assert!(
            html.contains(&format!("<label for=\"{field}\">")),
            "{field}"
        );
        assert!(html.contains(&format!(
            "<input type=\"password\" id=\"{field}\" name=\"{field}\" autocomplete=\"new-password\""
        )));
    }
    assert!(html.contains("<button type=\"submit\">Set my new password</button>"));
    assert_token_only_in_hidden_field(&html, &token);

    // Mismatched or too short: the form again with a clear message; the link still works.
    let new_password = "a brand new passphrase";
    for (password, again, message) in [
        (
            new_password,
            "a brand new passphrasf",
            "The two passwords are not the same",
        ),
        ("short", "short", "too short: use at least 8 characters"),
        ("", "", "too short"),
    ] {
        let (status, html) = post_form(
            &app,
            "/password-reset",
            &[
                ("token", &token),
                ("password", password),
                ("password_confirmation", again),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains(message), "{message}: {html}");
        assert!(html.contains("role=\"alert\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(!html.contains(new_password), "a password is echoed");
        assert_token_only_in_hidden_field(&html, &token);
    }
    assert_eq!(me(&app, &old_session).await["email"], user.email.as_str());
    app.login(&user.email, "correct horse battery staple").await;

    let (status, html) = post_form(
        &app,
        "/password-reset",
        &[
            ("token", &token),
            ("password", new_password),
            ("password_confirmation", new_password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Your password has been changed"));
    assert!(!html.contains(&token) && !html.contains(new_password));
    app.login(&user.email, new_password).await;
    let res = app
        .post(
            "/auth/login",
            None,
            json!({"email": user.email, "password": "correct horse battery staple"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/me", Some(&old_session)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old login sessions end"
    );
    crate::support::fixtures::wait_for_mail(&app, &user.email, "password was changed").await;

    // Used: 410 by GET and POST; unknown: 404; expired: 410.
    let (status, _, html) = page(&app, &path).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has already been used"));
    let (status, _) = post_form(
        &app,
        "/password-reset",
        &[
            ("token", &token),
            ("password", "yet another passphrase"),
            ("password_confirmation", "yet another passphrase"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    app.login(&user.email, new_password).await;
    let (status, _, html) = page(&app, &format!("/password-reset?token={}", "B".repeat(43))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("This link is not valid"));
    let (status, _) = post_form(
        &app,
        "/password-reset",
        &[
            ("token", "x"),
            ("password", "p"),
            ("password_confirmation", "q"),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a dead link is explained before the form"
    );

    expect_json(
        app.post("/auth/password-reset", None, json!({"email": user.email}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let second = loop {
        let path = emailed_path(&app, &user.email, "/password-reset?token=").await;
        if path != format!("/password-reset?token={token}") {
            break path;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    app.sql("UPDATE account_tokens SET expires_at = now() - interval '1 minute' WHERE purpose = 'password_reset' AND used_at IS NULL")
        .await;
    let (status, _, html) = page(&app, &second).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has expired"));
    let (status, html) = post_form(
        &app,
        "/password-reset",
        &[
            ("token", &token_of(&second)),
            ("password", "yet another passphrase"),
            ("password_confirmation", "yet another passphrase"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This link has expired"));
}

#[tokio::test]
async fn the_event_page_never_shows_what_closed_sessions_hide() {
    let app = TestApp::spawn().await;
    let (organizer, slug, _) = crate::browser::dialogue_with_a_public_seminar(&app).await;
    // Anonymous, and the event's own staff: the page is the public one for everybody.
    for token in [None, Some(organizer.token.as_str())] {
        let mut req = app.client.get(app.url(&format!("/events/{slug}")));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let html = req.send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Closed session: Vitalizing R2P in the Japanese context"));
        assert!(html.contains("Wed 19 Feb 2031, 10:00–12:30 JST (Asia/Tokyo)"));
        assert!(html.contains("Open to all who work on atrocity prevention"));
        assert!(html.contains("Prof. Daisaku Higashi"));
        for hidden in [
            "Secret deliberations",
            "Secret Speaker",
            "meet.example.org",
            "r2p-secret-room",
        ] {
            assert!(!html.contains(hidden), "{hidden} is on the event page");
        }
        assert_eq!(
            html.matches("<form").count(),
            1,
            "a form for the public session only"
        );
    }
}

#[tokio::test]
async fn tokens_appear_only_in_the_hidden_field_of_their_form() {
    use crate::support::fixtures as fx;
    use crate::support::fixtures::{published_event_with_session, SessionSpec};

    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let email = unique_email("token");
    let (status, html) = post_form(
        &app,
        &format!("/events/{}/sessions/{}/register", f.slug, f.session_id),
        &[("email", &email), ("name", "Token Holder")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Check your email"));

    let confirm = emailed_path(&app, &email, "/registrations/confirm?token=").await;
    let token = token_of(&confirm);
    let (status, _, html) = page(&app, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert_token_only_in_hidden_field(&html, &token);
    let (status, html) = post_form(&app, "/registrations/confirm", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&token));

    crate::support::fixtures::wait_for_mail(&app, &email, "registered").await;
    let cancel = emailed_path(&app, &email, "/registrations/").await;
    assert!(cancel.contains("/cancel?token="), "{cancel}");
    let token = token_of(&cancel);
    let (status, _, html) = page(&app, &cancel).await;
    assert_eq!(status, StatusCode::OK);
    assert_token_only_in_hidden_field(&html, &token);
    let action = cancel.split('?').next().unwrap();
    let (status, html) = post_form(&app, action, &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&token));
    let (status, _, html) = page(&app, &cancel).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(!html.contains(&token));

    // The invitation form posts back to its own address: no token in any of its pages.
    let d = fx::dialogue(&app).await;
    let invitee = unique_email("invitee");
    expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": d.closed, "invitees": [{"email": invitee, "name": "Invitee"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let invitation = emailed_path(&app, &invitee, "/invitations/").await;
    let token = invitation.rsplit('/').next().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    let (status, _, html) = page(&app, &invitation).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&token));
    assert!(html.contains("<form method=\"post\">"));
    let (status, html) = post_form(&app, &invitation, &[("response", "accept")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!html.contains(&token));
    let first = d.closed[0].to_string();
    let (status, html) = post_form(
        &app,
        &invitation,
        &[("session_ids", &first), ("response", "accept")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&token));
    let (status, _, html) = page(&app, &invitation).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&token));
}
