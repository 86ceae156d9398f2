//! Cases 1, 2, 4, 6, 8 and 9 of issue 21: invitations answered, revoked and created while
//! other requests change the same seats, sessions and people.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    accept, count, delete, invitation_token, invite, invited_to_two_closed_sessions, patch, post,
    race, staffed_event, InvitedToTwo, Racer,
};
use crate::support::fixtures::{self as fx, SessionSpec};
use crate::support::{expect_json, TestApp};

const ROUNDS: usize = 5;
/// New addresses per request in case 4: enough that two opposite inserts overlap.
const NEW_PEOPLE: usize = 200;

fn registration_id(answer: &Value) -> String {
    answer["registrations"][0]["id"]
        .as_str()
        .expect("registration id")
        .to_owned()
}

async fn live_registrations_of_invitation(app: &TestApp, invitation_id: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT count(*) AS n FROM registrations r JOIN invitations i \
             ON i.person_id = r.person_id \
             JOIN invitation_sessions x ON x.invitation_id = i.id AND x.session_id = r.session_id \
             WHERE i.id = '{invitation_id}' AND r.status NOT IN ('cancelled', 'rejected')"
        ),
    )
    .await
}

async fn invitation_status(app: &TestApp, invitation_id: &str) -> String {
    fx::text(
        app,
        &format!("SELECT status AS v FROM invitations WHERE id = '{invitation_id}'"),
    )
    .await
    .expect("invitation")
}

/// Case 1: a cancellation that promotes the revokee's waitlisted seat, racing the revoke: the
/// revoke never answers 500 and the revokee never keeps a seat.
#[tokio::test]
async fn revoke_racing_a_cancellation_that_promotes_the_revokee() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    for round in 0..ROUNDS {
        let event_id = staffed_event(&app, &staff).await;
        let session = fx::add_session(
            &app,
            event_id,
            &SessionSpec {
                capacity: Some(1),
                ..SessionSpec::closed("Closed roundtable", fx::days_ahead(10))
            },
        )
        .await;
        let emails = vec![fx::unique_email("seated"), fx::unique_email("queued")];
        let ids = invite(&app, event_id, &staff, &[session], &emails).await;
        let a = accept(&app, &invitation_token(&app, &emails[0]).await).await;
        let b = accept(&app, &invitation_token(&app, &emails[1]).await).await;
        assert_eq!(b["registrations"][0]["status"], "waitlisted");
        let answers = race(vec![
            delete(
                &app,
                "cancel A",
                &format!("/registrations/{}", registration_id(&a)),
                staff.token(),
            ),
            post(
                &app,
                "revoke B",
                &format!("/invitations/{}/revoke", ids[1]),
                staff.token(),
                json!({}),
            ),
        ])
        .await;
        assert_eq!(
            answers[1].status,
            StatusCode::OK,
            "round {round}: {answers:?}"
        );
        assert_eq!(invitation_status(&app, &ids[1]).await, "revoked");
        assert_eq!(
            live_registrations_of_invitation(&app, &ids[1]).await,
            0,
            "round {round}: a revoked invitee holds no seat"
        );
    }
}

/// Cases 2 and 6: accepts while staff move a session so that the sessions' order changes:
/// none deadlocks, and every seat's reminder is due by the session's time as it now is.
#[tokio::test]
async fn accepts_racing_a_session_move_lock_in_one_order_and_see_the_new_time() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    for round in 0..ROUNDS {
        let InvitedToTwo {
            event_id,
            second,
            tokens,
        } = invited_to_two_closed_sessions(&app, &staff, "c2-", 5).await;
        // The second session moves before the first: start order and id order now differ.
        let moved_to = fx::days_ahead(9);
        let mut racers: Vec<Racer> = vec![patch(
            &app,
            "move",
            &format!("/sessions/{second}"),
            staff.token(),
            json!({"starts_at": moved_to.to_rfc3339(),
                   "ends_at": (moved_to + chrono::Duration::hours(2)).to_rfc3339()}),
        )];
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
        for answer in &answers {
            assert_eq!(answer.status, StatusCode::OK, "round {round}: {answer:?}");
        }
        let stale = count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM registrations r JOIN sessions s ON s.id = r.session_id \
                 WHERE s.event_id = '{event_id}' AND r.status = 'confirmed' AND NOT EXISTS ( \
                     SELECT 1 FROM emails e WHERE e.dedupe_key = 'session-reminder:' || r.id \
                     AND e.status = 'queued' \
                     AND e.next_attempt_at = s.starts_at - interval '24 hours')"
            ),
        )
        .await;
        assert_eq!(
            stale, 0,
            "round {round}: every reminder is due by the current time"
        );
    }
}

/// Case 4: two invitation requests for different events naming the same new addresses in
/// opposite orders both succeed, with one person per address.
#[tokio::test]
async fn invitations_naming_the_same_new_people_in_opposite_orders() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    for round in 0..15 {
        let mut events = Vec::new();
        for _ in 0..2 {
            let event_id = staffed_event(&app, &staff).await;
            let session = fx::add_session(
                &app,
                event_id,
                &SessionSpec::closed("Closed session", fx::days_ahead(10)),
            )
            .await;
            events.push((event_id, session));
        }
        let emails: Vec<String> = (0..NEW_PEOPLE)
            .map(|i| fx::unique_email(&format!("c4-{i}")))
            .collect();
        let body = |emails: Vec<&String>, session: Uuid| {
            let invitees: Vec<Value> = emails
                .into_iter()
                .map(|e| json!({"email": e, "name": "New Person"}))
                .collect();
            json!({"session_ids": [session], "invitees": invitees})
        };
        let answers = race(vec![
            post(
                &app,
                "forward",
                &format!("/events/{}/invitations", events[0].0),
                staff.token(),
                body(emails.iter().collect(), events[0].1),
            ),
            post(
                &app,
                "backward",
                &format!("/events/{}/invitations", events[1].0),
                staff.token(),
                body(emails.iter().rev().collect(), events[1].1),
            ),
        ])
        .await;
        for answer in &answers {
            assert_eq!(
                answer.status,
                StatusCode::CREATED,
                "round {round}: {answer:?}"
            );
            assert_eq!(answer.body["created"], NEW_PEOPLE);
        }
        let list = emails
            .iter()
            .map(|e| format!("'{e}'"))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            count(
                &app,
                &format!("SELECT count(*) AS n FROM people WHERE email IN ({list})")
            )
            .await,
            NEW_PEOPLE as i64
        );
    }
}

/// Case 8: a person who registered through the public form and then accepted an invitation to
/// the same session holds one seat, recorded as the invitation's; revoking frees it.
#[tokio::test]
async fn a_public_form_seat_taken_by_an_invitation_is_freed_by_its_revoke() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    let event_id = staffed_event(&app, &staff).await;
    let session = fx::add_session(
        &app,
        event_id,
        &SessionSpec::closed("Closed, then public", fx::days_ahead(10)),
    )
    .await;
    let email = fx::unique_email("both");
    let member = app.user_with_email("member", &email, "Both Ways").await;
    let ids = invite(
        &app,
        event_id,
        &staff,
        &[session],
        std::slice::from_ref(&email),
    )
    .await;
    let token = invitation_token(&app, &email).await;
    let res = app
        .patch(
            &format!("/sessions/{session}"),
            staff.token(),
            json!({"access": "public"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    let res = app
        .post(
            &format!("/sessions/{session}/registrations"),
            member.token(),
            json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    accept(&app, &token).await;
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM registrations WHERE session_id = '{session}' \
                 AND invitation_id = '{}' AND status = 'confirmed'",
                ids[0]
            )
        )
        .await,
        1,
        "the seat is recorded as the invitation's"
    );
    let res = app
        .post(
            &format!("/invitations/{}/revoke", ids[0]),
            staff.token(),
            json!({}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    assert_eq!(live_registrations_of_invitation(&app, &ids[0]).await, 0);
}

/// Case 9: a revoke racing the invitee's own cancel link succeeds and leaves the invitation
/// revoked and the seat cancelled.
#[tokio::test]
async fn revoke_racing_the_invitees_cancel_link() {
    let app = TestApp::spawn().await;
    let staff = app.user("organizer").await;
    for round in 0..10 {
        let event_id = staffed_event(&app, &staff).await;
        let session = fx::add_session(
            &app,
            event_id,
            &SessionSpec::closed("Closed session", fx::days_ahead(10)),
        )
        .await;
        let email = fx::unique_email("c9");
        let ids = invite(
            &app,
            event_id,
            &staff,
            &[session],
            std::slice::from_ref(&email),
        )
        .await;
        let answer = accept(&app, &invitation_token(&app, &email).await).await;
        let registration = registration_id(&answer);
        let prefix = format!(
            "{}/registrations/{registration}/cancel?token=",
            app.settings.public_url()
        );
        let mail = fx::wait_for_mail(&app, &email, "You're registered").await;
        let link = mail
            .first_link(&prefix)
            .unwrap_or_else(|| panic!("no cancel link in: {}", mail.text_body()));
        let cancel_token = link[prefix.len()..].to_owned();
        let request = app
            .client
            .post(app.url(&format!("/registrations/{registration}/cancel")))
            .form(&[("token", cancel_token)]);
        let answers = race(vec![
            post(
                &app,
                "revoke",
                &format!("/invitations/{}/revoke", ids[0]),
                staff.token(),
                json!({}),
            ),
            (
                "cancel link".to_owned(),
                Box::pin(async move { request.send().await.expect("sent") }),
            ),
        ])
        .await;
        assert_eq!(
            answers[0].status,
            StatusCode::OK,
            "round {round}: {answers:?}"
        );
        assert_eq!(invitation_status(&app, &ids[0]).await, "revoked");
        assert_eq!(
            fx::registration_status(&app, &registration).await,
            "cancelled"
        );
    }
}
