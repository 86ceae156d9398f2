//! Races around a session's row lock: a public session made closed during a registration rush
//! keeps no public registration made after the change (case 7 of issue 21), and a sign-up,
//! which takes no seat, never waits for the seat-takers.

use diesel::sql_query;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;

use super::{count, patch, post, race, walk_in};
use crate::support::fixtures::{self as fx, unique_email, EventSpec, SessionSpec};
use crate::support::{expect_json, TestApp};

#[tokio::test]
async fn a_session_closed_during_a_rush_keeps_no_public_registration() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    let mut members = Vec::new();
    for _ in 0..8 {
        members.push(app.user("member").await);
    }
    for round in 0..10 {
        let event_id = fx::event(&app, EventSpec::default()).await;
        fx::add_staff(&app, event_id, &staff).await;
        let session = fx::add_session(&app, event_id, &SessionSpec::default()).await;
        // The close goes first in the list; the barrier releases all at once.
        let mut racers = vec![patch(
            &app,
            "close",
            &format!("/sessions/{session}"),
            staff.token(),
            json!({"access": "closed"}),
        )];
        // Members take seats at once; anonymous sign-ups only ask for a link, under a weaker
        // lock that the close must still wait for.
        for (i, member) in members.iter().enumerate() {
            racers.push(post(
                &app,
                &format!("register {i}"),
                &format!("/sessions/{session}/registrations"),
                member.token(),
                json!({}),
            ));
            racers.push(walk_in(&app, &format!("sign up {i}"), session));
        }
        let answers = race(racers).await;
        let closed = answers[0].status == StatusCode::OK;
        let public_seats = count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM registrations r JOIN sessions s ON s.id = r.session_id \
                 WHERE s.id = '{session}' AND s.access = 'closed' AND r.source = 'public_form' \
                 AND r.status NOT IN ('cancelled', 'rejected')"
            ),
        )
        .await;
        assert_eq!(
            public_seats, 0,
            "round {round} (closed: {closed}): {answers:?}"
        );
        for answer in &answers[1..] {
            assert!(
                answer.status.is_success() || answer.status == StatusCode::FORBIDDEN,
                "round {round}: {answer:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_sign_up_does_not_wait_for_the_seat_takers_of_its_session() {
    let app = TestApp::spawn().await;
    let event_id = fx::event(&app, EventSpec::default()).await;
    let session = fx::add_session(&app, event_id, &SessionSpec::default()).await;
    // A seat-taker holds the session's lock (as a confirmation does) and does not let go.
    let mut seat_taker = AsyncPgConnection::establish(app.database_url().expose_secret())
        .await
        .expect("connect");
    sql_query("BEGIN").execute(&mut seat_taker).await.unwrap();
    sql_query(format!(
        "SELECT id FROM sessions WHERE id = '{session}' FOR NO KEY UPDATE"
    ))
    .execute(&mut seat_taker)
    .await
    .unwrap();

    let email = unique_email("no-queue");
    let res = app
        .post(
            &format!("/sessions/{session}/registrations"),
            None,
            json!({"email": email, "name": "Kenji Sato"}),
        )
        .await;
    // Waiting for the lock would end in 503 when the lock wait times out.
    let answer = expect_json(res, StatusCode::ACCEPTED).await;
    sql_query("ROLLBACK")
        .execute(&mut seat_taker)
        .await
        .unwrap();

    fx::wait_for_mail(&app, &email, "Confirm your registration").await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM registrations WHERE session_id = '{session}' \
                 AND status = 'pending_confirmation'"
            ),
        )
        .await,
        1,
        "{answer}"
    );
}
