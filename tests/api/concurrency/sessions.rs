//! Case 7 of issue 21: a public session made closed during a registration rush keeps no
//! public registration made after the change.

use reqwest::StatusCode;
use serde_json::json;

use super::{count, patch, post, race};
use crate::support::fixtures::{self as fx, EventSpec, SessionSpec};
use crate::support::TestApp;

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
        for (i, member) in members.iter().enumerate() {
            racers.push(post(
                &app,
                &format!("register {i}"),
                &format!("/sessions/{session}/registrations"),
                member.token(),
                json!({}),
            ));
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
