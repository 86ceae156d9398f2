//! Rule 1: capacity is never exceeded; the waitlist runs in arrival order.

use std::collections::HashMap;
use std::time::Duration;

use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::AsyncConnection;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::*;
use crate::support::fixtures::{
    add_staff, pg, published_event_with_session, wait_for_mail, EventFixture, SessionSpec,
};
use crate::support::{expect_json, TestApp};

/// Ids of the session's registrations in `status`, in waitlist (or creation) order.
async fn ids_in(app: &TestApp, session_id: Uuid, status: &str) -> Vec<String> {
    pg(app)
        .await
        .query(
            &format!(
                "SELECT id::text FROM registrations WHERE session_id = '{session_id}' AND status = '{status}'
                 ORDER BY waitlist_seq NULLS LAST, created_at, id"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

/// The session's kept count of waitlisted registrations, and the count of the rows themselves.
async fn waitlisted_kept_and_counted(app: &TestApp, session_id: Uuid) -> (i64, i64) {
    let row = pg(app)
        .await
        .query_one(
            &format!(
                "SELECT (SELECT coalesce(sum(waitlisted), 0)::bigint FROM waitlist_counts
                         WHERE session_id = '{session_id}'),
                        (SELECT count(*) FROM registrations
                         WHERE session_id = '{session_id}' AND status = 'waitlisted')"
            ),
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_confirmations_fill_fifty_seats_and_queue_the_rest() {
    // Seats are handed out one transaction at a time under the session's row lock, so a rush
    // queues. Waiting for the lock stays far under `lock_timeout` (at most one transaction per
    // pooled connection is ahead); the rest of the queue waits for a pooled connection. A debug
    // build on a small, busy CI machine takes a few seconds for the whole rush, so the pool
    // may wait longer here than production's 5 s default.
    let app = TestApp::spawn_with(|s| {
        s.database.max_connections = 16;
        s.database.acquire_timeout_secs = 30;
        // The rule under test is the count, not the speed: a debug build sharing two busy
        // cores with the other tests may queue longer for the session's lock than the 5 s a
        // production server allows before answering 503.
        s.database.lock_timeout_ms = 30_000;
    })
    .await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(50),
            ..Default::default()
        },
    )
    .await;

    let emails: Vec<String> = (0..200)
        .map(|i| unique_email(&format!("rush{i}")))
        .collect();
    let created = join_all(emails.iter().map(|e| register_anon(&app, f.session_id, e))).await;
    assert!(created
        .iter()
        .all(|r| r["status"] == "pending_confirmation"));
    app.smtp.wait_for(200, Duration::from_secs(60)).await;
    let tokens: Vec<String> = join_all(emails.iter().map(|e| confirm_token(&app, e))).await;

    // All 200 confirmations at once, over real HTTP.
    let responses = join_all(tokens.iter().map(|t| confirm(&app, t))).await;
    let mut answers: Vec<Value> = Vec::new();
    for res in responses {
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(
            !status.is_server_error(),
            "5xx under the rush: {status} {text}"
        );
        assert_eq!(status, StatusCode::OK, "{text}");
        answers.push(serde_json::from_str(&text).unwrap());
    }
    let confirmed = answers
        .iter()
        .filter(|a| a["status"] == "confirmed")
        .count();
    let waitlisted: Vec<&Value> = answers
        .iter()
        .filter(|a| a["status"] == "waitlisted")
        .collect();
    assert_eq!(confirmed, 50);
    assert_eq!(waitlisted.len(), 150);
    let mut positions: Vec<i64> = waitlisted
        .iter()
        .map(|a| a["waitlist_position"].as_i64().unwrap())
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=150).collect::<Vec<_>>());

    // The database agrees: 50 seats, and the queue's order is the order the seats were
    // decided (each answer's position is its rank by waitlist_seq).
    assert_eq!(ids_in(&app, f.session_id, "confirmed").await.len(), 50);
    let queue = ids_in(&app, f.session_id, "waitlisted").await;
    let answered: HashMap<&str, i64> = waitlisted
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap(),
                a["waitlist_position"].as_i64().unwrap(),
            )
        })
        .collect();
    for (rank, id) in queue.iter().enumerate() {
        assert_eq!(answered[id.as_str()], rank as i64 + 1);
    }
    assert_eq!(
        waitlisted_kept_and_counted(&app, f.session_id).await,
        (150, 150)
    );
    let ordered = pg(&app)
        .await
        .query_one(
            &format!(
                "SELECT (SELECT max(confirmed_at) FROM registrations WHERE session_id = '{s}' AND status = 'confirmed')
                     <= (SELECT min(updated_at) FROM registrations WHERE session_id = '{s}' AND status = 'waitlisted')",
                s = f.session_id
            ),
            &[],
        )
        .await
        .unwrap()
        .get::<_, bool>(0);
    assert!(ordered, "every seat was given before anyone was waitlisted");
}

/// Three seats taken, four waiting, all through the public flow, in this order.
async fn full_session(
    app: &TestApp,
    seats: i32,
    waiting: usize,
) -> (EventFixture, Vec<Value>, Vec<String>) {
    let f = published_event_with_session(
        app,
        SessionSpec {
            capacity: Some(seats),
            ..Default::default()
        },
    )
    .await;
    let mut regs = Vec::new();
    let mut emails = Vec::new();
    for i in 0..(seats as usize + waiting) {
        let email = unique_email(&format!("p{i}"));
        let reg = register_and_confirm(app, f.session_id, &email).await;
        let expected = if i < seats as usize {
            "confirmed"
        } else {
            "waitlisted"
        };
        assert_eq!(reg["status"], expected);
        regs.push(reg);
        emails.push(email);
    }
    (f, regs, emails)
}

#[tokio::test]
async fn k_cancellations_promote_exactly_the_first_k_in_order() {
    let app = TestApp::spawn().await;
    let (f, regs, emails) = full_session(&app, 3, 4).await;
    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;

    // First cancellation: by staff over the API.
    let res = app
        .delete(
            &format!("/registrations/{}", regs[0]["id"].as_str().unwrap()),
            staff.token(),
        )
        .await;
    let cancelled = expect_json(res, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    // Second: the registrant through the emailed link's page (POST).
    let link = cancel_link(&app, &emails[1]).await;
    let token = crate::support::fixtures::token_of(&link);
    let res = app
        .client
        .post(app.url(&format!(
            "/registrations/{}/cancel",
            regs[1]["id"].as_str().unwrap()
        )))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let confirmed = ids_in(&app, f.session_id, "confirmed").await;
    let waiting = ids_in(&app, f.session_id, "waitlisted").await;
    let id = |i: usize| regs[i]["id"].as_str().unwrap().to_owned();
    assert_eq!(confirmed.len(), 3);
    for i in [2, 3, 4] {
        assert!(confirmed.contains(&id(i)), "registration {i} holds a seat");
    }
    assert_eq!(waiting, vec![id(5), id(6)]);

    // The positions moved up.
    let list = expect_json(
        app.get(
            &format!("/sessions/{}/registrations?status=waitlisted", f.session_id),
            staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let positions: Vec<(String, i64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["waitlist_position"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(positions.contains(&(id(5), 1)) && positions.contains(&(id(6), 2)));

    // Everyone concerned was told.
    wait_for_mail(&app, &emails[0], "was cancelled").await;
    wait_for_mail(&app, &emails[1], "is cancelled").await;
    for i in [3, 4] {
        let mail = wait_for_mail(&app, &emails[i], "A seat is yours").await;
        assert!(mail
            .attachments()
            .iter()
            .any(|(ct, _)| ct == "text/calendar"));
        assert!(mail
            .text_body()
            .contains("https://meet.example.org/r2p-seminar"));
    }
    assert!(app
        .smtp
        .messages_to(&emails[5])
        .iter()
        .all(|m| !m.subject().contains("A seat is yours")));

    // Leaving the waitlist promotes nobody and moves the queue up.
    let res = app
        .delete(&format!("/registrations/{}", id(5)), staff.token())
        .await;
    expect_json(res, StatusCode::OK).await;
    assert_eq!(ids_in(&app, f.session_id, "confirmed").await.len(), 3);
    assert_eq!(ids_in(&app, f.session_id, "waitlisted").await, vec![id(6)]);

    // After two promotions and a departure, one place waits: a newcomer is second, in the
    // confirmation's answer and in its email alike.
    let newcomer = unique_email("newcomer");
    let reg = register_and_confirm(&app, f.session_id, &newcomer).await;
    assert_eq!(reg["status"], "waitlisted");
    assert_eq!(reg["waitlist_position"], 2);
    let mail = wait_for_mail(&app, &newcomer, "waitlist").await;
    assert!(
        mail.text_body().contains("Waitlist position: 2"),
        "{}",
        mail.text_body()
    );
    assert_eq!(
        waitlisted_kept_and_counted(&app, f.session_id).await,
        (2, 2)
    );
}

#[tokio::test]
async fn a_capacity_increase_promotes_exactly_the_difference() {
    let app = TestApp::spawn().await;
    let (f, regs, emails) = full_session(&app, 2, 5).await;
    let id = |i: usize| regs[i]["id"].as_str().unwrap().to_owned();

    // What PATCH /sessions/{id} does when capacity rises: write it, then promote, in one
    // transaction.
    let mut conn = app.pool.get().await.unwrap();
    let links = convene::context::Links::new(app.settings.public_url());
    let session_id = f.session_id;
    let promoted = conn
        .transaction::<_, convene::error::AppError, _>(|conn| {
            async move {
                use convene::db::schema::sessions;
                use diesel::prelude::*;
                use diesel_async::RunQueryDsl;
                diesel::update(sessions::table.find(session_id))
                    .set(sessions::capacity.eq(Some(5)))
                    .execute(conn)
                    .await?;
                convene::registrations::service::raise_capacity_promotions(conn, &links, session_id)
                    .await
            }
            .scope_boxed()
        })
        .await
        .unwrap();
    let promoted: Vec<String> = promoted.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(promoted, vec![id(2), id(3), id(4)]);
    assert_eq!(ids_in(&app, f.session_id, "confirmed").await.len(), 5);
    assert_eq!(
        ids_in(&app, f.session_id, "waitlisted").await,
        vec![id(5), id(6)]
    );
    for i in [2, 3, 4] {
        wait_for_mail(&app, &emails[i], "A seat is yours").await;
    }
    assert_eq!(
        waitlisted_kept_and_counted(&app, f.session_id).await,
        (2, 2)
    );

    // Nothing more fits: nobody else moves.
    let again = conn
        .transaction::<_, convene::error::AppError, _>(|conn| {
            let links = convene::context::Links::new(app.settings.public_url());
            async move {
                convene::registrations::service::raise_capacity_promotions(conn, &links, session_id)
                    .await
            }
            .scope_boxed()
        })
        .await
        .unwrap();
    assert!(again.is_empty());
}

#[tokio::test]
async fn a_seat_or_place_once_given_is_never_decided_again() {
    let app = TestApp::spawn().await;
    // One seat, taken; one place waiting; then a seat frees up in the session's capacity.
    let (f, regs, _) = full_session(&app, 1, 1).await;
    app.sql(&format!(
        "UPDATE sessions SET capacity = 5 WHERE id = '{}'",
        f.session_id
    ))
    .await;
    let mut conn = app.pool.get().await.unwrap();
    let session_id = f.session_id;
    for reg in &regs {
        let id: Uuid = reg["id"].as_str().unwrap().parse().unwrap();
        let decided = conn
            .transaction::<_, convene::error::AppError, _>(|conn| {
                async move {
                    use convene::registrations::seats;
                    let session = seats::lock_session(conn, session_id).await?;
                    seats::take_seat(conn, &session, id, None).await
                }
                .scope_boxed()
            })
            .await
            .unwrap();
        assert!(decided.is_none(), "{} was decided again", reg["status"]);
    }
    assert_eq!(ids_in(&app, f.session_id, "confirmed").await.len(), 1);
    assert_eq!(
        waitlisted_kept_and_counted(&app, f.session_id).await,
        (1, 1)
    );
}
