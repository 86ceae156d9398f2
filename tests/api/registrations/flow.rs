//! Public registration and email confirmation.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::fixtures::{
    add_staff, organization, pg, published_event_with_session, set_event_status, wait_for_mail,
    wait_for_mails, SessionSpec,
};
use crate::support::{expect_json, expect_problem, TestApp};

#[tokio::test]
async fn anonymous_registrant_confirms_by_email_and_takes_a_seat() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let email = unique_email("aiko");

    let created = register_anon(&app, f.session_id, &email).await;
    assert_eq!(created["status"], "pending_confirmation");
    assert_eq!(created["session_id"], f.session_id.to_string());
    assert!(created.get("waitlist_position").is_none());
    assert_eq!(
        registration_status(&app, created["id"].as_str().unwrap()).await,
        "pending_confirmation"
    );

    let mail = wait_for_mail(&app, &email, "Confirm your registration").await;
    let text = mail.text_body();
    assert!(
        text.contains("(Asia/Tokyo)"),
        "local time in the email: {text}"
    );
    assert!(
        !text.contains("meet.example.org"),
        "no online link before a seat is held"
    );
    assert!(mail.attachments().is_empty());
    let token = confirm_token(&app, &email).await;
    assert_eq!(token.len(), 43);

    let confirmed = expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    assert_eq!(confirmed["id"], created["id"]);
    assert_eq!(confirmed["status"], "confirmed");

    let mail = wait_for_mail(&app, &email, "You're registered").await;
    let text = mail.text_body();
    assert!(text.contains("(Asia/Tokyo)"));
    assert!(text.contains("https://meet.example.org/r2p-seminar"));
    let cancel = mail
        .first_link("http://127.0.0.1:8080/registrations/")
        .expect("cancel link");
    assert!(cancel.contains(&format!(
        "{}/cancel?token=",
        created["id"].as_str().unwrap()
    )));
    let ics = mail
        .attachments()
        .into_iter()
        .find(|(ct, _)| ct == "text/calendar")
        .expect(".ics attached")
        .1;
    assert!(ics.contains("METHOD:PUBLISH"));
    assert!(ics.contains("DTSTART;TZID=Asia/Tokyo:"));

    // A replayed token changes nothing.
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::NOT_FOUND,
        "invalid_token",
    )
    .await;
    assert_eq!(
        registration_status(&app, created["id"].as_str().unwrap()).await,
        "confirmed"
    );
    // Garbage tokens too.
    expect_problem(
        confirm(&app, "short").await,
        StatusCode::NOT_FOUND,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn invalid_registrations_list_every_bad_field() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let path = format!("/sessions/{}/registrations", f.session_id);

    let res = app.post(&path, None, json!({})).await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"email") && fields.contains(&"name"),
        "{body}"
    );

    let res = app
        .post(
            &path,
            None,
            json!({"email": "not-an-email", "name": " ", "country": "XX", "organization_name": "x".repeat(301)}),
        )
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["email", "name", "country", "organization_name"] {
        assert!(fields.contains(&field), "{field} in {body}");
    }

    let res = app
        .post(
            &path,
            None,
            json!({"email": unique_email("x"), "name": "X", "organization_id": uuid::Uuid::now_v7()}),
        )
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "organization_id");

    let res = app
        .post(&path, None, json!({"email": 5, "name": "X"}))
        .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    // Nothing was created.
    let rows = pg(&app)
        .await
        .query_one("SELECT count(*) FROM registrations", &[])
        .await
        .unwrap();
    assert_eq!(rows.get::<_, i64>(0), 0);

    // A real organisation and a lower-case country are fine.
    let org = organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let res = app
        .post(
            &path,
            None,
            json!({"email": unique_email("ok"), "name": "Ok", "organization_id": org, "country": "jp"}),
        )
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
}

#[tokio::test]
async fn sessions_not_open_to_the_public_refuse_registration() {
    let app = TestApp::spawn().await;
    let body = || json!({"email": unique_email("p"), "name": "P"});
    let post = |session_id: uuid::Uuid| {
        let app = &app;
        let body = body();
        async move {
            app.post(&format!("/sessions/{session_id}/registrations"), None, body)
                .await
        }
    };

    let closed = published_event_with_session(
        &app,
        SessionSpec {
            access: "closed",
            ..Default::default()
        },
    )
    .await;
    expect_problem(
        post(closed.session_id).await,
        StatusCode::FORBIDDEN,
        "invitation_required",
    )
    .await;

    let draft = published_event_with_session(
        &app,
        SessionSpec {
            event_status: "draft",
            ..Default::default()
        },
    )
    .await;
    expect_problem(
        post(draft.session_id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Staff know the draft exists: they learn why it refuses.
    let organizer = app.user("organizer").await;
    add_staff(&app, draft.event_id, &organizer).await;
    let res = app
        .post(
            &format!("/sessions/{}/registrations", draft.session_id),
            organizer.token(),
            json!({}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "event_not_open").await;

    for status in ["cancelled", "completed"] {
        let f = published_event_with_session(&app, SessionSpec::default()).await;
        set_event_status(&app, f.event_id, status).await;
        expect_problem(
            post(f.session_id).await,
            StatusCode::CONFLICT,
            "event_not_open",
        )
        .await;
    }

    let not_yet = published_event_with_session(
        &app,
        SessionSpec {
            opens_in_hours: Some(24),
            ..Default::default()
        },
    )
    .await;
    expect_problem(
        post(not_yet.session_id).await,
        StatusCode::CONFLICT,
        "registration_not_open",
    )
    .await;

    let closed_window = published_event_with_session(
        &app,
        SessionSpec {
            opens_in_hours: Some(-48),
            closes_in_hours: Some(-1),
            ..Default::default()
        },
    )
    .await;
    expect_problem(
        post(closed_window.session_id).await,
        StatusCode::CONFLICT,
        "registration_closed",
    )
    .await;

    let ended = published_event_with_session(
        &app,
        SessionSpec {
            starts_in_hours: -5,
            ..Default::default()
        },
    )
    .await;
    expect_problem(
        post(ended.session_id).await,
        StatusCode::CONFLICT,
        "session_ended",
    )
    .await;

    expect_problem(
        post(uuid::Uuid::now_v7()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Full with no waitlist.
    let full = published_event_with_session(&app, SessionSpec::without_waitlist(0)).await;
    let email = unique_email("full");
    register_anon(&app, full.session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::CONFLICT,
        "session_full",
    )
    .await;
    // A refusal does not use the link up: it still answers that the session is full.
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::CONFLICT,
        "session_full",
    )
    .await;

    // The last seat, and then a used link: it is invalid, whether or not seats remain.
    let last_seat = published_event_with_session(&app, SessionSpec::without_waitlist(1)).await;
    let email = unique_email("last-seat");
    register_anon(&app, last_seat.session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    let seated = expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    assert_eq!(seated["status"], "confirmed");
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::NOT_FOUND,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_verified_account_skips_confirmation() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(1),
            ..Default::default()
        },
    )
    .await;
    let path = format!("/sessions/{}/registrations", f.session_id);
    let first = app.user("member").await;
    let res = app.post(&path, first.token(), json!({})).await;
    let reg = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(reg["status"], "confirmed");
    // Registering twice answers the same registration.
    let again = expect_json(
        app.post(&path, first.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], reg["id"]);
    assert_eq!(again["status"], "confirmed");
    let mail = wait_for_mail(&app, &first.email, "You're registered").await;
    assert!(!mail.attachments().is_empty());

    let second = app.user("member").await;
    let res = app
        .post(
            &path,
            second.token(),
            json!({"email": second.email, "country": "AU"}),
        )
        .await;
    let reg = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(reg["status"], "waitlisted");
    assert_eq!(reg["waitlist_position"], 1);
    let mail = wait_for_mail(&app, &second.email, "waitlist").await;
    assert!(mail.text_body().contains("Waitlist position: 1"));
    assert!(mail.attachments().is_empty(), "no .ics without a seat");
    assert!(!mail.text_body().contains("meet.example.org"));

    // Registering someone else's address still needs that address confirmed.
    let colleague = unique_email("colleague");
    let res = app
        .post(&path, first.token(), json!({"email": colleague}))
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "name");
    let res = app
        .post(
            &path,
            first.token(),
            json!({"email": colleague, "name": "Colleague"}),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::ACCEPTED).await,
        json!({"status": "pending_confirmation"})
    );

    // Approval sessions queue a verified account for approval.
    let approval = published_event_with_session(
        &app,
        SessionSpec {
            requires_approval: true,
            ..Default::default()
        },
    )
    .await;
    let res = app
        .post(
            &format!("/sessions/{}/registrations", approval.session_id),
            first.token(),
            json!({}),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::CREATED).await["status"],
        "pending_approval"
    );
    wait_for_mail(&app, &first.email, "awaiting approval").await;
}

#[tokio::test]
async fn an_unverified_account_confirms_by_email() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let email = unique_email("unverified");
    let res = app
        .post(
            "/auth/signup",
            None,
            json!({"email": email, "password": "correct horse battery staple", "name": "Ken"}),
        )
        .await;
    expect_json(res, StatusCode::ACCEPTED).await;
    let token = app.login(&email, "correct horse battery staple").await;
    let res = app
        .post(
            &format!("/sessions/{}/registrations", f.session_id),
            Some(&token),
            json!({}),
        )
        .await;
    let reg = expect_json(res, StatusCode::ACCEPTED).await;
    assert_eq!(reg, json!({"status": "pending_confirmation"}));
    let confirm_token = confirm_token(&app, &email).await;
    let done = expect_json(confirm(&app, &confirm_token).await, StatusCode::OK).await;
    assert_eq!(done["status"], "confirmed");
}

#[tokio::test]
async fn a_second_submission_answers_alike_and_resends_the_link() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let email = unique_email("twice");
    let path = format!("/sessions/{}/registrations", f.session_id);
    let first = register_anon(&app, f.session_id, &email).await;
    let old_token = confirm_token(&app, &email).await;

    // Same address in another case: the same person.
    let res = app
        .post(
            &path,
            None,
            json!({"email": email.to_uppercase(), "name": "Aiko Tanaka"}),
        )
        .await;
    let second = expect_json(res, StatusCode::ACCEPTED).await;
    assert_eq!(second, json!({"status": "pending_confirmation"}));
    assert_eq!(registration_of(&app, f.session_id, &email).await, first);
    let mails = wait_for_mails(&app, &email, "Confirm your registration", 2).await;
    assert_eq!(mails.len(), 2);
    let new_token = confirm_token(&app, &email).await;
    assert_ne!(new_token, old_token);

    // The old link stopped working; the new one confirms.
    expect_problem(
        confirm(&app, &old_token).await,
        StatusCode::NOT_FOUND,
        "invalid_token",
    )
    .await;
    let done = expect_json(confirm(&app, &new_token).await, StatusCode::OK).await;
    assert_eq!(done["status"], "confirmed");

    // Once confirmed, a further submission answers alike; the email says the seat is held.
    let res = app
        .post(&path, None, json!({"email": email, "name": "Aiko Tanaka"}))
        .await;
    let third = expect_json(res, StatusCode::ACCEPTED).await;
    assert_eq!(third, json!({"status": "pending_confirmation"}));
    assert_eq!(
        registration_of(&app, f.session_id, &email).await["id"],
        first["id"]
    );
    wait_for_mail(&app, &email, "You are already registered").await;

    // Concurrent double submissions of a new address give one registration.
    let email = unique_email("rush");
    let body = json!({"email": email, "name": "Rush"});
    let responses = join_all((0..10).map(|_| app.post(&path, None, body.clone()))).await;
    for res in responses {
        let answer = expect_json(res, StatusCode::ACCEPTED).await;
        assert_eq!(answer, json!({"status": "pending_confirmation"}));
    }
    let rows = pg(&app)
        .await
        .query_one(
            "SELECT count(*) FROM registrations r JOIN people p ON p.id = r.person_id \
             WHERE p.email = $1",
            &[&email],
        )
        .await
        .unwrap();
    assert_eq!(rows.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let path = app.api(&format!("/sessions/{}/registrations", f.session_id));
    let body = json!({"email": unique_email("idem"), "name": "Idem"});
    let send = |body: serde_json::Value, key: &'static str| {
        app.client
            .post(&path)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = expect_json(
        send(body.clone(), "key-1").await.unwrap(),
        StatusCode::ACCEPTED,
    )
    .await;
    let replay = send(body.clone(), "key-1").await.unwrap();
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let replay = expect_json(replay, StatusCode::ACCEPTED).await;
    assert_eq!(replay, first);
    let count = pg(&app)
        .await
        .query_one("SELECT count(*) FROM registrations", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(count, 1);

    let other = json!({"email": unique_email("other"), "name": "Other"});
    let res = send(other, "key-1").await.unwrap();
    expect_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;

    // The confirmation takes keys too: a retried confirmation answers the same.
    let email = body["email"].as_str().unwrap();
    let token = confirm_token(&app, email).await;
    let confirm_path = app.api("/registrations/confirm");
    let post = || {
        app.client
            .post(&confirm_path)
            .header("Idempotency-Key", "confirm-1")
            .json(&json!({"token": token}))
            .send()
    };
    let a = expect_json(post().await.unwrap(), StatusCode::OK).await;
    let b = expect_json(post().await.unwrap(), StatusCode::OK).await;
    assert_eq!(a, b);
    assert_eq!(a["status"], "confirmed");
    // Without the key the token is spent.
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::NOT_FOUND,
        "invalid_token",
    )
    .await;
}

/// Keys answer their retries for a day; the background prune then forgets them, and the same
/// key starts a new request.
#[tokio::test]
async fn idempotency_keys_are_forgotten_after_a_day() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let path = app.api(&format!("/sessions/{}/registrations", f.session_id));
    let send = |body: serde_json::Value, key: &'static str| {
        app.client
            .post(&path)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    for key in ["yesterday", "today"] {
        let body = json!({"email": unique_email(key), "name": "Idem"});
        expect_json(send(body, key).await.unwrap(), StatusCode::ACCEPTED).await;
    }
    app.sql(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' \
         WHERE key = 'yesterday'",
    )
    .await;

    let mut conn = app.pool.get().await.expect("connection");
    let pruned = convene::idempotency::prune(&mut conn).await.expect("prune");
    assert_eq!(pruned, 1);

    // Another body under the old key is a new request now; under today's key, still a 422.
    let other = || json!({"email": unique_email("other"), "name": "Other"});
    expect_json(
        send(other(), "yesterday").await.unwrap(),
        StatusCode::ACCEPTED,
    )
    .await;
    expect_problem(
        send(other(), "today").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}

/// An attempt that stored no answer is in progress for a minute, then presumed dead: one retry
/// takes its key over, and of concurrent retries only one does.
#[tokio::test]
async fn one_retry_takes_over_a_key_whose_attempt_died() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let path = app.api(&format!("/sessions/{}/registrations", f.session_id));
    let body = json!({"email": unique_email("crash"), "name": "Crash"});
    let send = || {
        app.client
            .post(&path)
            .header("Idempotency-Key", "crashed")
            .json(&body)
            .send()
    };
    expect_json(send().await.unwrap(), StatusCode::ACCEPTED).await;
    // As if the server had died after claiming the key, before storing its answer.
    let crash = |age: &str| {
        format!(
            "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, \
             created_at = now() - interval '{age}' WHERE key = 'crashed'"
        )
    };

    app.sql(&crash("5 seconds")).await;
    expect_problem(
        send().await.unwrap(),
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
    )
    .await;

    app.sql(&crash("2 minutes")).await;
    let (a, b) = tokio::join!(send(), send());
    let mut took_over = Vec::new();
    for res in [a.unwrap(), b.unwrap()] {
        let replayed = res.headers().contains_key("idempotent-replayed");
        let status = res.status();
        let answer: serde_json::Value = res.json().await.unwrap();
        if status.is_success() && !replayed {
            took_over.push(answer);
        } else if !replayed {
            assert_eq!(status, StatusCode::CONFLICT, "{answer}");
            assert_eq!(answer["code"], "idempotency_key_in_use", "{answer}");
        }
    }
    assert_eq!(took_over.len(), 1, "exactly one retry ran: {took_over:?}");

    // What it answered is what the key answers from now on.
    let again = send().await.unwrap();
    assert!(again.headers().contains_key("idempotent-replayed"));
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again, took_over[0]);
}

#[tokio::test]
async fn expired_and_concurrently_used_tokens() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;

    let email = unique_email("late");
    let reg = register_anon(&app, f.session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    app.sql(&format!(
        "UPDATE registrations SET confirm_token_expires_at = now() - interval '1 minute' WHERE id = '{}'",
        reg["id"].as_str().unwrap()
    ))
    .await;
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::GONE,
        "token_expired",
    )
    .await;
    assert_eq!(
        registration_status(&app, reg["id"].as_str().unwrap()).await,
        "pending_confirmation"
    );

    // 50 concurrent uses of one token: exactly one confirms.
    let email = unique_email("race");
    let reg = register_anon(&app, f.session_id, &email).await;
    let token = confirm_token(&app, &email).await;
    let responses = join_all((0..50).map(|_| confirm(&app, &token))).await;
    let mut ok = 0;
    for res in responses {
        match res.status() {
            StatusCode::OK => ok += 1,
            StatusCode::NOT_FOUND => {
                expect_problem(res, StatusCode::NOT_FOUND, "invalid_token").await;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        registration_status(&app, reg["id"].as_str().unwrap()).await,
        "confirmed"
    );
    // One confirmation email, not fifty.
    let mails = wait_for_mails(&app, &email, "You're registered", 1).await;
    assert_eq!(mails.len(), 1);
}

#[test]
fn the_api_document_lists_every_registration_route() {
    let doc: serde_json::Value =
        serde_json::from_str(&convene::app::openapi().to_json().unwrap()).unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/v1/sessions/{id}/registrations", "post"),
        ("/api/v1/sessions/{id}/registrations", "get"),
        ("/api/v1/registrations/confirm", "post"),
        ("/api/v1/registrations/{id}", "delete"),
        ("/api/v1/registrations/{id}/approve", "post"),
        ("/api/v1/registrations/{id}/reject", "post"),
        ("/api/v1/registrations/{id}/check-in", "post"),
        ("/api/v1/me/registrations", "get"),
        ("/api/v1/events/{id}/report", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    for path in [
        "/api/v1/sessions/{id}/registrations",
        "/api/v1/registrations/confirm",
    ] {
        let params = paths[path]["post"]["parameters"].as_array().unwrap();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "Idempotency-Key documented on {path}"
        );
    }
    let list = &paths["/api/v1/sessions/{id}/registrations"]["get"]["responses"]["200"]["content"];
    assert!(list["text/csv"].is_object() && list["application/json"].is_object());
}

/// A public registrant who confirms gets the "session is tomorrow" reminder scheduled, due 24
/// hours before the session; cancelling withdraws it.
#[tokio::test]
async fn confirming_schedules_the_session_reminder_and_cancelling_withdraws_it() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(&app, SessionSpec::default()).await;
    let email = unique_email("takizawa");
    let created = register_anon(&app, f.session_id, &email).await;
    let id = created["id"].as_str().expect("id").to_owned();
    wait_for_mail(&app, &email, "Confirm your registration").await;
    let token = confirm_token(&app, &email).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;

    let due_a_day_before = crate::support::fixtures::count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM emails e JOIN sessions s ON s.id = '{}' \
             WHERE e.dedupe_key = 'session-reminder:{id}' AND e.status = 'queued' \
             AND e.next_attempt_at = s.starts_at - interval '24 hours'",
            f.session_id
        ),
    )
    .await;
    assert_eq!(
        due_a_day_before, 1,
        "one reminder, due 24 hours before the session"
    );

    let staff = app.user("admin").await;
    let res = app
        .delete(&format!("/registrations/{id}"), staff.token())
        .await;
    assert!(res.status().is_success(), "cancel: {}", res.status());
    let still_queued = crate::support::fixtures::count(
        &app,
        &format!("SELECT count(*) AS n FROM emails WHERE dedupe_key = 'session-reminder:{id}' AND status = 'queued'"),
    )
    .await;
    assert_eq!(still_queued, 0, "cancelling withdraws the reminder");
}

/// A published event in Tokyo whose session starts on 18 February 2031 at 16:00 local time.
async fn session_at_four_in_tokyo(
    app: &TestApp,
    spec: SessionSpec,
) -> crate::support::fixtures::EventFixture {
    let start = chrono::DateTime::parse_from_rfc3339("2031-02-18T16:00:00+09:00")
        .expect("time")
        .with_timezone(&chrono::Utc);
    published_event_with_session(
        app,
        SessionSpec {
            starts_at: Some(start),
            ..spec
        },
    )
    .await
}

/// Moving a session tells every live registrant the old and the new time (in the event's
/// zone), with an updated calendar entry for those holding a seat; a change that leaves the
/// time alone sends nothing.
#[tokio::test]
async fn moving_a_session_tells_its_registrants_the_new_time() {
    let app = TestApp::spawn().await;
    let f = session_at_four_in_tokyo(&app, SessionSpec::default()).await;
    let organizer = app.user("organizer").await;
    add_staff(&app, f.event_id, &organizer).await;
    // Made yesterday, so every later change has a larger calendar SEQUENCE.
    app.sql(&format!(
        "UPDATE sessions SET created_at = now() - interval '1 day', \
         updated_at = now() - interval '1 day' WHERE id = '{}'",
        f.session_id
    ))
    .await;
    let email = unique_email("hoshino");
    register_anon(&app, f.session_id, &email).await;
    wait_for_mail(&app, &email, "Confirm your registration").await;
    let token = confirm_token(&app, &email).await;
    expect_json(confirm(&app, &token).await, StatusCode::OK).await;
    let registered = wait_for_mail(&app, &email, "You're registered").await;

    let edit_session = |changes: serde_json::Value| {
        let (app, path, token) = (
            &app,
            format!("/sessions/{}", f.session_id),
            organizer.token(),
        );
        async move { expect_json(app.patch(&path, token, changes).await, StatusCode::OK).await }
    };
    edit_session(
        json!({"starts_at": "2031-02-18T17:30:00+09:00", "ends_at": "2031-02-18T19:30:00+09:00"}),
    )
    .await;
    let moved = wait_for_mail(&app, &email, "New time").await;
    let text = moved.text_body();
    assert!(text.contains("17:30"), "the new time: {text}");
    assert!(text.contains("16:00"), "the old time: {text}");
    assert!(text.contains("Asia/Tokyo"), "in the event's zone: {text}");
    assert!(text.contains("Your seat is kept"), "{text}");
    let ics: Vec<String> = moved
        .attachments()
        .into_iter()
        .filter(|(content_type, _)| content_type == "text/calendar")
        .map(|(_, content)| content)
        .collect();
    assert_eq!(ics.len(), 1, "an updated calendar entry");
    assert!(ics[0].contains("20310218T173000"), "{}", ics[0]);
    // Calendar clients replace the entry they hold only for a larger SEQUENCE.
    let sequence = |ics: &str| -> u64 {
        ics.lines()
            .find_map(|l| l.strip_prefix("SEQUENCE:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no SEQUENCE in {ics}"))
    };
    let first = registered
        .attachments()
        .into_iter()
        .find(|(content_type, _)| content_type == "text/calendar")
        .map(|(_, content)| content)
        .expect("the confirmation's .ics");
    assert!(sequence(&ics[0]) > sequence(&first));

    // A new description is no news to a registrant.
    edit_session(json!({"description": "Now with an agenda"})).await;
    // Nor is a new time in a cancelled event: nobody is told their seat is kept.
    set_event_status(&app, f.event_id, "cancelled").await;
    edit_session(
        json!({"starts_at": "2031-02-19T17:30:00+09:00", "ends_at": "2031-02-19T19:30:00+09:00"}),
    )
    .await;
    let notices = crate::support::fixtures::count(
        &app,
        &format!("SELECT count(*) AS n FROM emails WHERE kind = 'session_moved' AND to_address = '{email}'"),
    )
    .await;
    assert_eq!(notices, 1);
}

/// One change that raises the capacity and moves the session writes once to whoever it seats
/// from the waitlist (their seat, at the new time); those already seated hear of the move.
/// (Reminders for the day before are scheduled mail, not counted here.)
#[tokio::test]
async fn raising_capacity_while_moving_a_session_writes_once_to_the_promoted() {
    let app = TestApp::spawn().await;
    let f = session_at_four_in_tokyo(
        &app,
        SessionSpec {
            capacity: Some(1),
            ..SessionSpec::default()
        },
    )
    .await;
    let organizer = app.user("organizer").await;
    add_staff(&app, f.event_id, &organizer).await;
    let (seated, waiting) = (unique_email("seated"), unique_email("waiting"));
    for (email, status) in [(&seated, "confirmed"), (&waiting, "waitlisted")] {
        let person = crate::support::fixtures::person(&app, email, "Kenji Tanaka").await;
        crate::support::fixtures::registration(&app, f.session_id, person, status).await;
    }

    expect_json(
        app.patch(
            &format!("/sessions/{}", f.session_id),
            organizer.token(),
            json!({"capacity": 2, "starts_at": "2031-02-18T17:30:00+09:00",
                   "ends_at": "2031-02-18T19:30:00+09:00"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let promoted = wait_for_mail(&app, &waiting, "A seat is yours").await;
    assert!(promoted.text_body().contains("17:30"), "the new time");
    let moved = wait_for_mail(&app, &seated, "New time").await;
    assert!(moved.text_body().contains("Your seat is kept"));
    let kinds = |email: String| {
        let app = &app;
        async move {
            crate::support::fixtures::texts(
                app,
                &format!(
                    "SELECT kind AS v FROM emails WHERE to_address = '{email}' \
                     AND kind <> 'session_reminder' ORDER BY kind"
                ),
            )
            .await
        }
    };
    assert_eq!(
        kinds(waiting.clone()).await,
        [Some("registration_promoted".to_owned())]
    );
    assert_eq!(
        kinds(seated.clone()).await,
        [Some("session_moved".to_owned())]
    );
}
