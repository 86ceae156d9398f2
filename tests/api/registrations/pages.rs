//! The pages, driven over HTTP as a browser without JavaScript would: GET a page, POST its
//! form, follow the emailed links.

use reqwest::{Response, StatusCode};

use super::*;
use crate::support::fixtures::{
    published_event_with_session, token_of, wait_for_mail, SessionSpec,
};
use crate::support::TestApp;

async fn page(res: Response, status: StatusCode) -> String {
    let actual = res.status();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    let text = res.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    assert!(
        content_type.starts_with("text/html"),
        "{content_type}: {text}"
    );
    text
}

/// Status and id of the registration of the person with this email.
async fn by_email(app: &TestApp, email: &str) -> tokio_postgres::Row {
    crate::support::fixtures::pg(app)
        .await
        .query_one(
            &format!(
                "SELECT r.status, r.id::text FROM registrations r JOIN people p ON p.id = r.person_id WHERE p.email = '{email}'"
            ),
            &[],
        )
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn register_confirm_and_cancel_through_the_pages() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let form_path = format!("/events/{}/sessions/{}/register", f.slug, f.session_id);

    let html = page(get(&app, &form_path).await, StatusCode::OK).await;
    assert!(html.contains(&format!("<form method=\"post\" action=\"{form_path}\"")));
    for field in ["email", "name", "organization_name", "country"] {
        assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
    }
    assert!(html.contains("Public seminar: R2P and atrocity prevention"));
    assert!(html.contains("(Asia/Tokyo)"));

    let email = unique_email("browser");
    let res = post_form(
        &app,
        &form_path,
        &[
            ("email", email.as_str()),
            ("name", "Mari Suzuki"),
            ("organization_name", "Sophia University"),
            ("country", "JP"),
        ],
    )
    .await;
    let html = page(res, StatusCode::OK).await;
    assert!(html.contains("Check your email"));
    assert!(html.contains(&email));

    // The emailed link shows what it confirms and changes nothing on GET.
    let mail = wait_for_mail(&app, &email, "Confirm your registration").await;
    let link = mail
        .first_link("http://127.0.0.1:8080/registrations/confirm?token=")
        .unwrap();
    let res = get(&app, &local(&link)).await;
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = page(res, StatusCode::OK).await;
    assert!(html.contains("Confirm my registration"));
    assert!(html.contains("Public seminar: R2P and atrocity prevention"));
    assert!(html.contains("Mari Suzuki"));
    assert!(html.contains("method=\"post\" action=\"/registrations/confirm\""));
    let token = token_of(&link);
    let row = by_email(&app, &email).await;
    assert_eq!(row.get::<_, String>(0), "pending_confirmation");
    let id: String = row.get(1);

    let html = page(
        post_form(&app, "/registrations/confirm", &[("token", token.as_str())]).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        html.contains("You&#x27;re registered") || html.contains("You're registered"),
        "{html}"
    );
    assert_eq!(
        by_email(&app, &email).await.get::<_, String>(0),
        "confirmed"
    );

    // The used link now explains itself.
    let html = page(get(&app, &local(&link)).await, StatusCode::NOT_FOUND).await;
    assert!(html.contains("This link is not valid"));
    let html = page(
        post_form(&app, "/registrations/confirm", &[("token", token.as_str())]).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(html.contains("This link is not valid"));

    // The confirmation email's cancel link: a page first, cancelled only on POST.
    wait_for_mail(&app, &email, "registered").await;
    let cancel = cancel_link(&app, &email).await;
    assert!(cancel.contains(&format!("/registrations/{id}/cancel?token=")));
    let html = page(get(&app, &local(&cancel)).await, StatusCode::OK).await;
    assert!(html.contains("Cancel my registration"));
    assert!(html.contains("you hold a seat"));
    assert_eq!(
        by_email(&app, &email).await.get::<_, String>(0),
        "confirmed"
    );
    let cancel_token = token_of(&cancel);
    let html = page(
        post_form(
            &app,
            &format!("/registrations/{id}/cancel"),
            &[("token", cancel_token.as_str())],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(html.contains("Your registration is cancelled"));
    assert_eq!(
        by_email(&app, &email).await.get::<_, String>(0),
        "cancelled"
    );
    wait_for_mail(&app, &email, "is cancelled").await;

    // Used again: already cancelled. A wrong token: not valid.
    let html = page(get(&app, &local(&cancel)).await, StatusCode::GONE).await;
    assert!(html.contains("Already cancelled"));
    page(
        post_form(
            &app,
            &format!("/registrations/{id}/cancel"),
            &[("token", cancel_token.as_str())],
        )
        .await,
        StatusCode::GONE,
    )
    .await;
    let wrong = format!("/registrations/{id}/cancel?token={}", "A".repeat(43));
    page(get(&app, &wrong).await, StatusCode::NOT_FOUND).await;
    page(
        get(&app, "/registrations/confirm").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_form_page_shows_each_outcome_and_error() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(1),
            ..Default::default()
        },
    )
    .await;
    let form_path = format!("/events/{}/sessions/{}/register", f.slug, f.session_id);
    let post_as = |token: String| {
        let app = &app;
        let form_path = form_path.clone();
        async move {
            app.client
                .post(app.url(&form_path))
                .bearer_auth(token)
                .form(&[("email", ""), ("name", "")])
                .send()
                .await
                .unwrap()
        }
    };

    // A logged-in, verified registrant gets the outcome at once.
    let first = app.user("member").await;
    let html = page(post_as(first.token.clone()).await, StatusCode::CREATED).await;
    assert!(html.contains("registered"), "{html}");
    let second = app.user("member").await;
    let html = page(post_as(second.token.clone()).await, StatusCode::CREATED).await;
    assert!(html.contains("on the waitlist (position 1)"), "{html}");
    let html = page(post_as(second.token.clone()).await, StatusCode::OK).await;
    assert!(html.contains("already registered"), "{html}");

    // Invalid input: the form again, with every error, the values kept and escaped.
    let res = post_form(
        &app,
        &form_path,
        &[
            ("email", "nope"),
            ("name", "<script>alert(1)</script>"),
            ("country", "ZZ"),
        ],
    )
    .await;
    let html = page(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(html.contains("Please correct the following"));
    assert!(html.contains("id=\"email-error\"") && html.contains("id=\"country-error\""));
    assert!(html.contains("<a href=\"#email\">Email: "));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>alert(1)"));

    // Closed, full, wrong address.
    let closed = published_event_with_session(
        &app,
        SessionSpec {
            access: "closed",
            ..Default::default()
        },
    )
    .await;
    let closed_path = format!(
        "/events/{}/sessions/{}/register",
        closed.slug, closed.session_id
    );
    let html = page(get(&app, &closed_path).await, StatusCode::FORBIDDEN).await;
    assert!(html.contains("by invitation only"));
    let email = unique_email("closed");
    let html = page(
        post_form(
            &app,
            &closed_path,
            &[("email", email.as_str()), ("name", "N")],
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(html.contains("by invitation only"));

    let full = published_event_with_session(&app, SessionSpec::without_waitlist(0)).await;
    let full_path = format!(
        "/events/{}/sessions/{}/register",
        full.slug, full.session_id
    );
    let res = app
        .client
        .post(app.url(&full_path))
        .bearer_auth(&first.token)
        .form(&[("email", "")])
        .send()
        .await
        .unwrap();
    let html = page(res, StatusCode::CONFLICT).await;
    assert!(html.contains("This session is full"));

    let closed_window = published_event_with_session(
        &app,
        SessionSpec {
            opens_in_hours: Some(-48),
            closes_in_hours: Some(-1),
            ..Default::default()
        },
    )
    .await;
    let path = format!(
        "/events/{}/sessions/{}/register",
        closed_window.slug, closed_window.session_id
    );
    let html = page(get(&app, &path).await, StatusCode::CONFLICT).await;
    assert!(html.contains("Registration is not open"));

    let wrong_slug = format!("/events/not-this-one/sessions/{}/register", f.session_id);
    page(get(&app, &wrong_slug).await, StatusCode::NOT_FOUND).await;
    page(
        post_form(
            &app,
            &wrong_slug,
            &[("email", "a@example.org"), ("name", "A")],
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // An expired confirmation link.
    let email = unique_email("late");
    let reg = register_anon(&app, f.session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    app.sql(&format!(
        "UPDATE registrations SET confirm_token_expires_at = now() - interval '1 minute' WHERE id = '{}'",
        reg["id"].as_str().unwrap()
    ))
    .await;
    let html = page(
        get(&app, &format!("/registrations/confirm?token={token}")).await,
        StatusCode::GONE,
    )
    .await;
    assert!(html.contains("This link has expired"));

    // Confirming through the page when the session is full: waitlisted.
    let email = unique_email("queue");
    register_anon(&app, f.session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    let html = page(
        post_form(&app, "/registrations/confirm", &[("token", token.as_str())]).await,
        StatusCode::OK,
    )
    .await;
    assert!(html.contains("on the waitlist (position 2)"), "{html}");
}
