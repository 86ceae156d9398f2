//! Cases 3 and 5 of issue 21: cancelling an event ends every live registration and every
//! pending or accepted invitation in one transaction, emails each person once, and nothing
//! registers or accepts into it afterwards, whatever races it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::{
    accept, cancel_event, count, invitation_token, invite, invited_to_two_closed_sessions, patch,
    post, race, staffed_event, walk_in, InvitedToTwo,
};
use crate::support::fixtures::{self as fx, unique_email, SessionSpec};
use crate::support::{expect_problem, TestApp};

const ROUNDS: usize = 4;

/// Live registrations of the event's sessions.
async fn live_registrations(app: &TestApp, event_id: Uuid) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM registrations r JOIN sessions s ON s.id = r.session_id \
             WHERE s.event_id = '{event_id}' AND r.status NOT IN ('cancelled', 'rejected')"
        ),
    )
    .await
}

/// Pending or accepted invitations of the event.
async fn open_invitations(app: &TestApp, event_id: Uuid) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM invitations WHERE event_id = '{event_id}' \
             AND status IN ('pending', 'accepted')"
        ),
    )
    .await
}

/// People of the event (registrants and invitees) without exactly one cancellation email.
async fn people_not_told_once(app: &TestApp, event_id: Uuid) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM ( \
                 SELECT r.person_id FROM registrations r JOIN sessions s ON s.id = r.session_id \
                 WHERE s.event_id = '{event_id}' \
                 UNION SELECT person_id FROM invitations WHERE event_id = '{event_id}') p \
             JOIN people ON people.id = p.person_id \
             WHERE (SELECT count(*) FROM emails e WHERE e.event_id = '{event_id}' \
                    AND e.kind = 'event_cancelled' AND e.to_address = people.email) <> 1"
        ),
    )
    .await
}

#[tokio::test]
async fn cancelling_an_event_ends_every_registration_and_invitation_and_tells_each_person_once() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    let event_id = staffed_event(&app, &staff).await;
    let public = fx::add_session(
        &app,
        event_id,
        &SessionSpec {
            capacity: Some(1),
            ..SessionSpec::default()
        },
    )
    .await;
    let closed = fx::add_session(
        &app,
        event_id,
        &SessionSpec::closed("Closed session", fx::days_ahead(10)),
    )
    .await;
    let seated = app.user("member").await;
    let queued = app.user("member").await;
    for user in [&seated, &queued] {
        let res = app
            .post(
                &format!("/sessions/{public}/registrations"),
                user.token(),
                json!({}),
            )
            .await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    // One invitee accepts, one does not answer; the seated registrant is invited too.
    let emails = vec![
        fx::unique_email("accepts"),
        fx::unique_email("silent"),
        seated.email.clone(),
    ];
    invite(&app, event_id, &staff, &[closed], &emails).await;
    let token = invitation_token(&app, &emails[0]).await;
    accept(&app, &token).await;
    assert!(live_registrations(&app, event_id).await >= 3);

    cancel_event(&app, &staff, event_id).await;

    assert_eq!(
        live_registrations(&app, event_id).await,
        0,
        "no live registration"
    );
    assert_eq!(
        open_invitations(&app, event_id).await,
        0,
        "no open invitation"
    );
    assert_eq!(
        people_not_told_once(&app, event_id).await,
        0,
        "each person emailed once"
    );
    // Nothing registers or accepts into the cancelled event.
    let late = app.user("member").await;
    let res = app
        .post(
            &format!("/sessions/{public}/registrations"),
            late.token(),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let token = invitation_token(&app, &emails[1]).await;
    let res = app
        .post(
            &format!("/invitations/by-token/{token}/respond"),
            None,
            json!({"response": "accept"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(live_registrations(&app, event_id).await, 0);
}

/// Case 5: registrations racing the cancellation either commit first (and are cancelled and
/// their registrant told) or find the event cancelled.
#[tokio::test]
async fn registrations_racing_a_cancellation_end_cancelled_and_told() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    let mut members = Vec::new();
    for _ in 0..6 {
        members.push(app.user("member").await);
    }
    for round in 0..ROUNDS {
        let event_id = staffed_event(&app, &staff).await;
        let session = fx::add_session(
            &app,
            event_id,
            &SessionSpec {
                capacity: Some(3),
                ..SessionSpec::default()
            },
        )
        .await;
        let mut racers = vec![post(
            &app,
            "cancel",
            &format!("/events/{event_id}/cancel"),
            staff.token(),
            json!({}),
        )];
        // Members take seats; anonymous sign-ups only ask for a link, and hold the session
        // in a weaker way that the cancellation must still wait for.
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
        assert_eq!(
            answers[0].status,
            StatusCode::OK,
            "round {round}: {:?}",
            answers[0]
        );
        assert_eq!(
            live_registrations(&app, event_id).await,
            0,
            "round {round}: a cancelled event keeps no live registration: {answers:?}"
        );
        assert_eq!(
            people_not_told_once(&app, event_id).await,
            0,
            "round {round}: every registrant told once"
        );
    }
}

/// An organiser cancels a dialogue while the public keeps signing up: the cancellation waits
/// only for the sign-ups in flight, not until a stream of them dries up (sign-ups hold the
/// session in a shared way that must not pass a change waiting for it), and every sign-up
/// after it is refused.
#[tokio::test]
async fn a_cancellation_is_not_held_off_by_a_stream_of_sign_ups() {
    // A short lock wait: a cancellation held off by the stream would answer 503.
    let app = TestApp::spawn_with(|s| s.database.lock_timeout_ms = 1_000).await;
    let staff = app.user("organizer").await;
    let event_id = staffed_event(&app, &staff).await;
    let session = fx::add_session(&app, event_id, &SessionSpec::default()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let walk_ins: Vec<_> = (0..12)
        .map(|_| {
            let (client, url, stop) = (
                app.client.clone(),
                app.api(&format!("/sessions/{session}/registrations")),
                stop.clone(),
            );
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let res = client
                        .post(&url)
                        .json(&json!({"email": unique_email("stream"), "name": "Walk-in"}))
                        .send()
                        .await
                        .expect("sent");
                    answers.push(res.status());
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let cancelled = cancel_event(&app, &staff, event_id).await;
    assert_eq!(cancelled["status"], "cancelled");
    // Sign-ups keep coming for a while after it, all refused.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut answers = Vec::new();
    for walk_in in walk_ins {
        answers.extend(walk_in.await.expect("walk-in"));
    }
    assert!(
        answers.contains(&StatusCode::ACCEPTED) && answers.contains(&StatusCode::CONFLICT),
        "sign-ups before and after the cancellation: {answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::CONFLICT),
        "{answers:?}"
    );
    assert_eq!(
        live_registrations(&app, event_id).await,
        0,
        "a cancelled event keeps no live registration"
    );
}

/// A session added to a cancelled dialogue would take registrations the cancellation never
/// saw: adding one waits for the event's lock and then refuses.
#[tokio::test]
async fn a_cancelled_dialogue_takes_no_new_session() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    let event_id = staffed_event(&app, &staff).await;
    cancel_event(&app, &staff, event_id).await;

    let res = app
        .post(
            &format!("/events/{event_id}/sessions"),
            staff.token(),
            json!({"title": "Closing remarks", "access": "public",
                   "starts_at": "2030-02-18T08:00:00Z", "ends_at": "2030-02-18T09:00:00Z"}),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "event_not_open").await;
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM sessions WHERE event_id = '{event_id}'")
        )
        .await,
        0
    );
}

/// Case 3: accepts and a session move racing the cancellation never deadlock, and the event
/// ends cancelled with nothing open.
#[tokio::test]
async fn accepts_and_a_session_move_racing_a_cancellation_do_not_deadlock() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    for round in 0..ROUNDS {
        let InvitedToTwo {
            event_id,
            second,
            tokens,
        } = invited_to_two_closed_sessions(&app, &staff, "c3-", 4).await;
        let moved_to = fx::days_ahead(9);
        let mut racers = vec![
            post(
                &app,
                "cancel",
                &format!("/events/{event_id}/cancel"),
                staff.token(),
                json!({}),
            ),
            patch(
                &app,
                "move",
                &format!("/sessions/{second}"),
                staff.token(),
                json!({"starts_at": moved_to.to_rfc3339(),
                       "ends_at": (moved_to + chrono::Duration::hours(2)).to_rfc3339()}),
            ),
        ];
        for (i, token) in tokens.iter().enumerate() {
            racers.push(post(
                &app,
                &format!("accept {i}"),
                &format!("/invitations/by-token/{token}/respond"),
                None,
                json!({"response": "accept"}),
            ));
        }
        let answers = race(racers).await;
        assert_eq!(
            answers[0].status,
            StatusCode::OK,
            "round {round}: {:?}",
            answers[0]
        );
        assert_eq!(
            live_registrations(&app, event_id).await,
            0,
            "round {round}: {answers:?}"
        );
        assert_eq!(open_invitations(&app, event_id).await, 0, "round {round}");
        assert_eq!(
            people_not_told_once(&app, event_id).await,
            0,
            "round {round}"
        );
    }
}
