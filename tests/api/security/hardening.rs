//! Smaller holes (issue 16, point 7): dates PostgreSQL cannot hold, addresses that read as
//! others, HTTPS pinning in production, private answers kept out of caches, and the outbox
//! metrics closed to the public in production. (tests/api/hardening.rs holds the general
//! hostile-input tests.)

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::fixtures::{self as fx, unique_email};
use crate::support::{expect_json, expect_problem, TestApp};

#[tokio::test]
async fn out_of_range_dates_are_422_in_queries_and_bodies() {
    let app = TestApp::spawn().await;
    let organizer = app.user("organizer").await;
    for query in [
        "from=-4714-01-01",
        "to=-4714-01-01",
        "from=%2B262143-01-01",
        "to=%2B262142-12-31",
        "from=0000-01-01",
        "from=-0001-12-31T00:00:00Z",
    ] {
        for token in [None, organizer.token()] {
            let res = app.get(&format!("/events?{query}"), token).await;
            let body =
                expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            let field = body["errors"][0]["field"].as_str().unwrap_or_default();
            assert!(query.starts_with(field), "{query}: {body}");
        }
    }
    // A cursor is a sort key the client hands back: one with such a time is refused too.
    for cursor in [
        "WyItNDcxNC0wMS0wMVQwMDowMDowMFoiLCIwMTkzOGU0Zi01YTZiLTdjOGQtOWUwZi1hMWIyYzNkNGU1ZjYiXQ",
        "WyIrMjYyMTQyLTAxLTAxVDAwOjAwOjAwWiIsIjAxOTM4ZTRmLTVhNmItN2M4ZC05ZTBmLWExYjJjM2Q0ZTVmNiJd",
    ] {
        let res = app.get(&format!("/events?cursor={cursor}"), None).await;
        let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "cursor", "{body}");
    }
    // In range, the list answers.
    let res = app.get("/events?from=2022-02-18&to=9999-12-30", None).await;
    expect_json(res, StatusCode::OK).await;

    // Session times in a body, with and without an offset.
    let event = fx::api_event(
        &app,
        &organizer,
        json!({"title": "Dialogue in range", "country": "JP", "timezone": "Asia/Tokyo",
               "format": "online", "online_url": "https://meet.example.org/range"}),
    )
    .await;
    let event_id = event["id"].as_str().expect("id");
    for (starts, ends) in [
        ("-4714-01-01T09:00", "2030-01-01T10:00"),
        ("+262143-01-01T09:00:00", "2030-01-01T10:00"),
        ("2030-01-01T09:00:00+09:00", "+262143-01-01T10:00:00"),
    ] {
        let res = app
            .post(
                &format!("/events/{event_id}/sessions"),
                organizer.token(),
                json!({"title": "Out of range", "access": "public",
                       "starts_at": starts, "ends_at": ends}),
            )
            .await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let sessions = fx::count(
        &app,
        &format!("SELECT count(*) AS n FROM sessions WHERE event_id = '{event_id}'"),
    )
    .await;
    assert_eq!(sessions, 0, "nothing was made");
}

#[tokio::test]
async fn quoted_local_parts_are_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    for address in [
        "\"x@evil\"@example.org",
        "\"victim@example.org\"@evil.example",
        "\"a b\"@example.org",
    ] {
        let res = app
            .post(
                &format!("/sessions/{}/registrations", dialogue.public),
                None,
                json!({"email": address, "name": "Ms. Quoted"}),
            )
            .await;
        let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "email", "{body}");
        let res = app
            .post("/auth/password-reset", None, json!({"email": address}))
            .await;
        expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let people = fx::count(
        &app,
        "SELECT count(*) AS n FROM people WHERE email LIKE '%\"%'",
    )
    .await;
    assert_eq!(people, 0);
    assert_eq!(app.smtp.count(), 0, "no email to a quoted address");
    // A plain address with the characters people do use still works.
    let res = app
        .post(
            &format!("/sessions/{}/registrations", dialogue.public),
            None,
            json!({"email": unique_email("o'brien+r2p"), "name": "Mr. O'Brien"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
}

#[tokio::test]
async fn production_pins_https_and_development_does_not() {
    let app = TestApp::spawn().await;
    let res = app.get("/events", None).await;
    assert!(res.headers().get("strict-transport-security").is_none());

    let production = TestApp::spawn_with(|s| {
        s.app.environment = convene::config::Environment::Production;
    })
    .await;
    for path in ["/api/v1/events", "/health/live", "/", "/api/v1/nowhere"] {
        let res = production
            .client
            .get(production.url(path))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            res.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
}

async fn cache_control(res: reqwest::Response) -> String {
    assert!(
        res.status().is_success(),
        "{} {:?}",
        res.status(),
        res.url().path()
    );
    res.headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn answers_with_personal_data_or_links_are_not_stored() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let staff = &dialogue.staff;
    let member = app.user("member").await;
    fx::registration(&app, dialogue.public, &member.person_id, "confirmed").await;
    let event = dialogue.event_id;

    // Signed-in reads: the caller's data, an event with its online links, staff lists, CSV.
    let signed_in: Vec<(String, &str)> = vec![
        ("/me".to_owned(), member.token.as_str()),
        ("/me/registrations".to_owned(), member.token.as_str()),
        ("/me/invitations".to_owned(), member.token.as_str()),
        (format!("/events/{event}"), member.token.as_str()),
        (format!("/events/{event}"), staff.token.as_str()),
        (format!("/events/{event}/invitations"), staff.token.as_str()),
        (
            format!("/sessions/{}/registrations", dialogue.public),
            staff.token.as_str(),
        ),
        (format!("/events/{event}/emails"), staff.token.as_str()),
    ];
    for (path, token) in &signed_in {
        let res = app.get(path, Some(token)).await;
        assert_eq!(cache_control(res).await, "no-store", "{path}");
    }
    let csv = app
        .client
        .get(app.api(&format!("/sessions/{}/registrations", dialogue.public)))
        .bearer_auth(&staff.token)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("sent");
    assert_eq!(cache_control(csv).await, "no-store", "CSV export");
    // The same read with the cookie alone.
    let res = app
        .client
        .get(app.api("/me/registrations"))
        .header("cookie", format!("convene_session={}", member.token))
        .send()
        .await
        .expect("sent");
    assert_eq!(cache_control(res).await, "no-store", "cookie read");

    // Login answers a token.
    let user = app.user("member").await;
    let res = app
        .post(
            "/auth/login",
            None,
            json!({"email": user.email, "password": "correct horse battery staple"}),
        )
        .await;
    assert_eq!(cache_control(res).await, "no-store", "login");

    // A registration's answer, and the emailed-link pages and invitation by token.
    let res = app
        .request(
            Method::POST,
            &format!("/sessions/{}/registrations", dialogue.public),
            None,
            Some(json!({"email": unique_email("anon"), "name": "Ms. Anon"})),
        )
        .await;
    assert_eq!(cache_control(res).await, "no-store", "registration");
    let invitee = unique_email("invitee");
    expect_json(
        app.post(
            &format!("/events/{event}/invitations"),
            staff.token(),
            json!({"session_ids": [dialogue.closed[0]],
                   "invitees": [{"email": invitee, "name": "Dr Invitee"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mail = fx::wait_for_mail(&app, &invitee, "").await;
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail.first_link(&prefix).expect("invitation link");
    let token = &link[prefix.len()..];
    let res = app
        .get(&format!("/invitations/by-token/{token}"), None)
        .await;
    assert_eq!(cache_control(res).await, "no-store", "by token");
    let page = app
        .client
        .get(app.url(&format!("/invitations/{token}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(cache_control(page).await, "no-store", "invitation page");

    // Public reads for anonymous callers stay cacheable.
    for path in ["/events", &format!("/events/{event}")] {
        let res = app.get(path, None).await;
        assert_ne!(cache_control(res).await, "no-store", "{path}");
    }
}

#[tokio::test]
async fn metrics_need_the_configured_token_and_are_closed_in_production_without_one() {
    // Development and test without a token: open (local Prometheus, the tests).
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::OK);

    // Production without a token: there is nothing at /metrics.
    let closed = TestApp::spawn_with(|s| {
        s.app.environment = convene::config::Environment::Production;
    })
    .await;
    let res = closed
        .client
        .get(closed.url("/metrics"))
        .send()
        .await
        .expect("sent");
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    // Production with a token: only its bearer reads.
    let secret = "a-long-random-scrape-secret";
    let guarded = TestApp::spawn_with(|s| {
        s.app.environment = convene::config::Environment::Production;
        s.server.metrics_token = Some(secrecy::SecretString::from(secret.to_owned()));
    })
    .await;
    let url = guarded.url("/metrics");
    let res = guarded.client.get(&url).send().await.expect("sent");
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = guarded
        .client
        .get(&url)
        .bearer_auth("a-long-random-scrape-secreT")
        .send()
        .await
        .expect("sent");
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // A login session's token is not the scrape token.
    let admin = guarded.user("admin").await;
    let res = guarded
        .client
        .get(&url)
        .bearer_auth(&admin.token)
        .send()
        .await
        .expect("sent");
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = guarded
        .client
        .get(&url)
        .bearer_auth(secret)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("text").contains("convene_"));
}
