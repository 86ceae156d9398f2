//! A browser cannot be made to act (issue 16, point 6; DESIGN rule 11). Another site's page
//! can make a signed-in browser send a request with its session cookie; every change made that
//! way is refused, while Convene's own pages, bearer clients and anonymous forms keep working.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::fixtures::{self as fx, unique_email};
use crate::support::{expect_json, expect_problem, TestApp, TestUser};

const EVIL: &str = "https://evil.example";

/// Where a browser says a request comes from.
#[derive(Clone, Copy)]
enum From<'a> {
    /// `Origin: <this>`.
    Origin(&'a str),
    /// No `Origin`, `Sec-Fetch-Site: <this>`.
    FetchSite(&'a str),
    /// Neither header (an old browser, or a client that does not say).
    Nowhere,
    /// `Origin: null` and `Sec-Fetch-Site: <this>`: what a browser sends for a form posted from
    /// a page whose referrer policy is `no-referrer`.
    NullOrigin(&'a str),
}

/// Convene's own origin, as a browser on its pages writes it.
fn own_origin(app: &TestApp) -> String {
    let url = url::Url::parse(app.settings.public_url()).expect("public_url");
    url.origin().ascii_serialization()
}

/// A request authenticated only by the session cookie, as a browser sends it.
async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    session: &str,
    from: From<'_>,
) -> reqwest::Response {
    let mut req = app
        .client
        .request(method, app.api(path))
        .header("cookie", format!("convene_session={session}"));
    req = match from {
        From::Origin(origin) => req.header("origin", origin),
        From::FetchSite(site) => req.header("sec-fetch-site", site),
        From::Nowhere => req,
        From::NullOrigin(site) => req.header("origin", "null").header("sec-fetch-site", site),
    };
    req.send().await.expect("request sent")
}

/// A dialogue whose staff member is signed in, with a confirmed registration of a member in
/// its public session and a pending invitation to a closed one.
struct Scene {
    dialogue: fx::Dialogue,
    member: TestUser,
    registration: uuid::Uuid,
    invitation: String,
}

async fn scene(app: &TestApp) -> Scene {
    let dialogue = fx::dialogue(app).await;
    let member = app.user("member").await;
    let registration = fx::registration(app, dialogue.public, &member.person_id, "confirmed").await;
    let created = expect_json(
        app.post(
            &format!("/events/{}/invitations", dialogue.event_id),
            dialogue.staff.token(),
            json!({
                "session_ids": [dialogue.closed[0]],
                "invitees": [{"email": unique_email("invitee"), "name": "Dr Invitee"}],
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let invitation = created["invitations"][0]["id"]
        .as_str()
        .expect("invitation id")
        .to_owned();
    Scene {
        dialogue,
        member,
        registration,
        invitation,
    }
}

async fn invitation_status(app: &TestApp, id: &str) -> String {
    fx::text(
        app,
        &format!("SELECT status AS v FROM invitations WHERE id = '{id}'"),
    )
    .await
    .expect("invitation")
}

async fn checked_in(app: &TestApp, registration: uuid::Uuid) -> bool {
    fx::count(
        app,
        &format!(
            "SELECT count(*) AS n FROM registrations WHERE id = '{registration}' \
             AND checked_in_at IS NOT NULL"
        ),
    )
    .await
        == 1
}

#[tokio::test]
async fn cross_site_cookie_requests_change_nothing_and_convenes_own_pages_still_act() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let staff = &s.dialogue.staff.token;
    let event = s.dialogue.event_id;
    fx::set_event_status(&app, event, "draft").await;
    let publish = format!("/events/{event}/publish");
    let check_in = format!("/registrations/{}/check-in", s.registration);
    let revoke = format!("/invitations/{}/revoke", s.invitation);
    let cancel = format!("/registrations/{}", s.registration);

    // The attacks: another origin, a forged "null" origin, a cross-site fetch, and a request
    // that says nothing about where it comes from.
    let attacks = [
        From::Origin(EVIL),
        From::Origin("null"),
        From::Origin("http://127.0.0.1:8080.evil.example"),
        From::FetchSite("cross-site"),
        From::FetchSite("same-site"),
        From::NullOrigin("cross-site"),
        From::Nowhere,
    ];
    for from in attacks {
        for (method, path, session) in [
            (Method::POST, &publish, staff),
            (Method::POST, &check_in, staff),
            (Method::POST, &revoke, staff),
            (Method::DELETE, &cancel, &s.member.token),
        ] {
            let res = with_cookie(&app, method.clone(), path, session, from).await;
            expect_problem(res, StatusCode::FORBIDDEN, "cross_site_request").await;
        }
    }
    let status = fx::text(
        &app,
        &format!("SELECT status AS v FROM events WHERE id = '{event}'"),
    )
    .await;
    assert_eq!(status.as_deref(), Some("draft"), "the event stays a draft");
    assert!(!checked_in(&app, s.registration).await, "nobody checked in");
    assert_eq!(invitation_status(&app, &s.invitation).await, "pending");
    assert_eq!(
        fx::registration_status(&app, s.registration).await,
        "confirmed"
    );

    // The same requests from Convene's own pages act.
    let own = own_origin(&app);
    let res = with_cookie(&app, Method::POST, &publish, staff, From::Origin(&own)).await;
    expect_json(res, StatusCode::OK).await;
    let res = with_cookie(
        &app,
        Method::POST,
        &check_in,
        staff,
        From::FetchSite("same-origin"),
    )
    .await;
    assert!(res.status().is_success(), "check-in: {}", res.status());
    assert!(checked_in(&app, s.registration).await);
    // A form posted from one of Convene's no-referrer pages says `Origin: null`.
    let res = with_cookie(
        &app,
        Method::POST,
        &revoke,
        staff,
        From::NullOrigin("same-origin"),
    )
    .await;
    assert!(res.status().is_success(), "revoke: {}", res.status());
    assert_eq!(invitation_status(&app, &s.invitation).await, "revoked");
    let res = with_cookie(
        &app,
        Method::DELETE,
        &cancel,
        &s.member.token,
        From::Origin(&own),
    )
    .await;
    assert!(res.status().is_success(), "cancel: {}", res.status());
    assert_eq!(
        fx::registration_status(&app, s.registration).await,
        "cancelled"
    );
}

#[tokio::test]
async fn bearer_clients_and_anonymous_requests_are_not_checked() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    // A bearer client's request carries whatever Origin it likes (a browser cannot add the
    // Authorization header cross-site without a CORS preflight Convene never grants).
    let res = app
        .client
        .post(app.api(&format!("/invitations/{}/revoke", s.invitation)))
        .bearer_auth(&s.dialogue.staff.token)
        .header("origin", EVIL)
        .send()
        .await
        .expect("sent");
    assert!(res.status().is_success(), "bearer revoke: {}", res.status());
    assert_eq!(invitation_status(&app, &s.invitation).await, "revoked");
    // A request with both: the bearer token authenticates it.
    let res = app
        .client
        .delete(app.api(&format!("/registrations/{}", s.registration)))
        .bearer_auth(&s.member.token)
        .header("cookie", format!("convene_session={}", s.member.token))
        .header("origin", EVIL)
        .send()
        .await
        .expect("sent");
    assert!(res.status().is_success(), "bearer cancel: {}", res.status());

    // Anonymous public registration from anywhere still works (other defences bound it).
    let res = app
        .client
        .post(app.api(&format!("/sessions/{}/registrations", s.dialogue.public)))
        .header("origin", EVIL)
        .json(&json!({"email": unique_email("anon"), "name": "Ms. Anonymous"}))
        .send()
        .await
        .expect("sent");
    assert!(res.status().is_success(), "anonymous: {}", res.status());
    // Credentials a browser adds by itself (HTTP Basic of a proxy) do not exempt the cookie.
    let res = app
        .client
        .delete(app.api(&format!("/registrations/{}", s.registration)))
        .basic_auth("staging", Some("proxy-password"))
        .header("cookie", format!("convene_session={}", s.member.token))
        .header("origin", EVIL)
        .send()
        .await
        .expect("sent");
    expect_problem(res, StatusCode::FORBIDDEN, "cross_site_request").await;
    // Reading with the cookie from anywhere is not a change.
    let res = with_cookie(
        &app,
        Method::GET,
        "/me",
        &s.member.token,
        From::Origin(EVIL),
    )
    .await;
    expect_json(res, StatusCode::OK).await;
}

/// The attributes of a `Set-Cookie` header, lower-cased.
fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

async fn logout_cookie(app: &TestApp, user: &TestUser) -> Vec<String> {
    let res = with_cookie(
        app,
        Method::POST,
        "/auth/logout",
        &user.token,
        From::Origin(&own_origin(app)),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("convene_session=;"), "{cookie}");
    attributes(&cookie)
}

#[tokio::test]
async fn the_logout_cookie_keeps_the_login_cookies_attributes() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let cookie = logout_cookie(&app, &user).await;
    for wanted in ["httponly", "samesite=lax", "path=/", "max-age=0"] {
        assert!(cookie.iter().any(|a| a == wanted), "{wanted}: {cookie:?}");
    }
    assert!(!cookie.iter().any(|a| a == "secure"), "plain HTTP in test");
    // The session ended.
    let res = app.get("/me", user.token()).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;

    let production = TestApp::spawn_with(|s| {
        s.app.environment = convene::config::Environment::Production;
    })
    .await;
    let user = production.user("member").await;
    let cookie = logout_cookie(&production, &user).await;
    for wanted in ["httponly", "samesite=lax", "path=/", "secure"] {
        assert!(cookie.iter().any(|a| a == wanted), "{wanted}: {cookie:?}");
    }
}

/// The value of the hidden `csrf_token` field of a page, if any.
fn csrf_field(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

async fn registrations_of(app: &TestApp, person_id: &str) -> i64 {
    fx::count(
        app,
        &format!("SELECT count(*) AS n FROM registrations WHERE person_id = '{person_id}'"),
    )
    .await
}

#[tokio::test]
async fn a_signed_in_form_acts_only_with_its_sessions_csrf_token() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let member = app.user("member").await;
    let other = app.user("member").await;
    let page = format!("/events/{}", fx::event_slug(dialogue.event_id));
    let action = format!("{page}/sessions/{}/register", dialogue.public);
    let own = own_origin(&app);
    let cookie = |user: &TestUser| format!("convene_session={}", user.token);

    // The event page shows a signed-in visitor's forms with their token, an anonymous one's
    // without.
    let html = app
        .client
        .get(app.url(&page))
        .header("cookie", cookie(&member))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let token = csrf_field(&html).expect("the form carries a CSRF token");
    let anonymous = app.client.get(app.url(&page)).send().await.expect("page");
    assert!(csrf_field(&anonymous.text().await.expect("html")).is_none());
    let theirs = app
        .client
        .get(app.url(&page))
        .header("cookie", cookie(&other))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let other_token = csrf_field(&theirs).expect("token");
    assert_ne!(token, other_token, "tokens are per session");

    let submit = |csrf: Option<&str>| {
        let mut form = vec![("email", ""), ("name", "")];
        if let Some(csrf) = csrf {
            form.push(("csrf_token", csrf));
        }
        app.client
            .post(app.url(&action))
            .header("cookie", cookie(&member))
            .header("origin", own.as_str())
            .form(&form)
            .send()
    };
    // Without the token, with a made-up one, with another session's: refused, nothing made.
    for csrf in [None, Some("forged"), Some(other_token.as_str())] {
        let res = submit(csrf).await.expect("sent");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{csrf:?}");
        let html = res.text().await.expect("html");
        assert!(html.contains("This form has expired"), "{html}");
    }
    assert_eq!(registrations_of(&app, &member.person_id).await, 0);

    // With it, the member registers themselves.
    let res = submit(Some(&token)).await.expect("sent");
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(registrations_of(&app, &member.person_id).await, 1);

    // An anonymous visitor's form needs no token.
    let email = unique_email("visitor");
    let res = app
        .client
        .post(app.url(&action))
        .form(&[("email", email.as_str()), ("name", "Mr. Visitor")])
        .send()
        .await
        .expect("sent");
    assert!(res.status().is_success(), "anonymous: {}", res.status());
}

#[tokio::test]
async fn a_cross_site_form_post_with_the_cookie_is_refused_before_the_form() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let member = app.user("member").await;
    let action = format!(
        "/events/{}/sessions/{}/register",
        fx::event_slug(dialogue.event_id),
        dialogue.public
    );
    let res = app
        .client
        .post(app.url(&action))
        .header("cookie", format!("convene_session={}", member.token))
        .header("origin", EVIL)
        .form(&[("email", ""), ("name", "")])
        .send()
        .await
        .expect("sent");
    let body: Value = expect_problem(res, StatusCode::FORBIDDEN, "cross_site_request").await;
    assert!(body["detail"].as_str().is_some());
    assert_eq!(registrations_of(&app, &member.person_id).await, 0);
}
