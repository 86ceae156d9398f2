//! Signing in and out, and who may open the console.

use reqwest::StatusCode;

use super::{location, Visitor};
use crate::support::TestApp;

#[tokio::test]
async fn a_wrong_password_is_explained_beside_its_field_and_the_right_one_signs_in() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let visitor = Visitor::new(&app);

    let (page, _) = visitor.page("/login").await;
    assert!(page.contains("<label for=\"email\">Email</label>"));
    assert!(page.contains("<label for=\"password\">Password</label>"));

    let res = visitor
        .post(
            "/login",
            &[
                ("email", &admin.email),
                ("password", "not the password"),
                ("next", "/manage/organizations"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("id=\"password-error\">This email address and password do not match"),
        "{body}"
    );
    assert!(
        body.contains(&format!("value=\"{}\"", admin.email)),
        "email kept"
    );
    assert!(body.contains("aria-invalid=\"true\""));
    assert_eq!(visitor.get("/manage").await.status(), StatusCode::SEE_OTHER);

    // The right password: the same session cookie as the API's, then where the visitor was going.
    let res = visitor
        .post(
            "/login",
            &[
                ("email", &admin.email),
                ("password", super::PASSWORD),
                ("next", "/manage/organizations"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/manage/organizations");
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("convene_session=") && cookie.contains("HttpOnly"));
    let (home, _) = visitor.page("/manage").await;
    assert!(home.contains("Applications waiting"));

    // Another site is never where a sign-in leads.
    let other = Visitor::new(&app);
    let res = other
        .post(
            "/login",
            &[
                ("email", &admin.email),
                ("password", super::PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/manage");
}

#[tokio::test]
async fn signing_out_ends_the_session_and_needs_the_form_token() {
    let app = TestApp::spawn().await;
    let member = app.user("member").await;
    let visitor = Visitor::new(&app);
    assert_eq!(visitor.sign_in(&member.email).await, "/account");
    let (account, token) = visitor.page("/account").await;
    assert!(account.contains("My registrations"));

    let res = visitor.post("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no token, no sign-out");
    assert_eq!(visitor.get("/account").await.status(), StatusCode::OK);

    let res = visitor.post("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?done=signed-out");
    let res = visitor.get("/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Faccount");
    let (page, _) = visitor.page("/login?done=signed-out").await;
    assert!(page.contains("You are signed out."));
}

#[tokio::test]
async fn a_member_gets_a_polite_403_and_an_anonymous_visitor_is_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let member = app.user("member").await;

    let anonymous = Visitor::new(&app);
    for path in [
        "/manage",
        "/manage/organizations?status=active",
        "/manage/applications",
    ] {
        let res = anonymous.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let to = location(&res);
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(to, format!("/login?next={next}"));
    }

    let visitor = Visitor::new(&app);
    visitor.sign_in(&member.email).await;
    for path in ["/manage", "/manage/organizations", "/manage/applications"] {
        let res = visitor.get(path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains("This page is for the secretariat"), "{body}");
        assert!(body.contains("href=\"/account\""));
    }
}

#[tokio::test]
async fn signing_up_answers_check_your_email_and_keeps_what_was_typed_on_errors() {
    let app = TestApp::spawn().await;
    let visitor = Visitor::new(&app);
    let res = visitor
        .post(
            "/signup",
            &[
                ("name", "Aiko Tanaka"),
                ("email", "not-an-address"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\""), "{body}");
    assert!(body.contains("id=\"password-error\""));
    assert!(body.contains("value=\"Aiko Tanaka\""));

    let email = crate::support::fixtures::unique_email("signup");
    let res = visitor
        .post(
            "/signup",
            &[
                ("name", "Aiko Tanaka"),
                ("email", &email),
                ("password", super::PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.text().await.unwrap().contains("Check your email"));
    crate::support::fixtures::wait_for_mail(&app, &email, "").await;
}

/// Someone who forgot their password asks for a link from the sign-in page; the answer says
/// the same for an address without an account, and a malformed address is explained in place.
#[tokio::test]
async fn a_forgotten_password_is_reset_from_a_link_the_sign_in_page_offers() {
    let app = TestApp::spawn().await;
    let user = app.user("member").await;
    let visitor = Visitor::new(&app);
    let (login, _) = visitor.page("/login").await;
    assert!(login.contains("href=\"/forgot-password\""), "{login}");

    let res = visitor
        .post("/forgot-password", &[("email", "not-an-address")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\""), "{body}");
    assert!(body.contains("value=\"not-an-address\""), "{body}");

    let stranger = crate::support::fixtures::unique_email("nobody");
    let mut answers = Vec::new();
    for email in [&user.email, &stranger] {
        let res = visitor.post("/forgot-password", &[("email", email)]).await;
        let status = res.status();
        let body = res.text().await.unwrap().replace(email.as_str(), "ADDRESS");
        answers.push((status, body));
    }
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    assert_eq!(
        answers[0], answers[1],
        "the answer tells nobody who has an account"
    );

    let mail = crate::support::fixtures::wait_for_mail(&app, &user.email, "new password").await;
    assert!(mail.text_body().contains("/password-reset?token="));
    assert!(app.smtp.messages_to(&stranger).is_empty());
}
