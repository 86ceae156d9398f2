//! Two instances on one database, each with its own pool and its own public views, as two
//! `convene serve` processes behind a load balancer: a registration rush split across both never
//! oversells and keeps one waitlist order, and a change made through one is seen through the
//! other within `server.public_cache_ms`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use convene::app::Application;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::registrations::confirm_token;
use crate::support::fixtures::{api_event, api_publish, api_session, pg, texts, unique_email};
use crate::support::{expect_json, TestApp, TestUser};

/// Another server on the test's database, with a pool and public views of its own and no email
/// worker (the first instance's delivers what either queues).
struct Instance {
    address: String,
    server: actix_web::dev::ServerHandle,
}

impl Instance {
    fn start(app: &TestApp) -> Instance {
        let pool = convene::db::build_pool(&app.settings.database).expect("pool");
        let server = Application::build(app.settings.clone(), pool).expect("second instance");
        let address = format!("http://127.0.0.1:{}", server.port());
        let handle = server.handle();
        tokio::spawn(server.run_until_stopped());
        Instance {
            address,
            server: handle,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}

/// The two instances' base addresses: the test's own server first.
fn both(app: &TestApp, other: &Instance) -> [String; 2] {
    [app.address.clone(), other.address.clone()]
}

async fn post(app: &TestApp, base: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{base}/api/v1{path}"))
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

async fn get_json(app: &TestApp, base: &str, path: &str) -> Value {
    let res = app
        .client
        .get(format!("{base}/api/v1{path}"))
        .send()
        .await
        .expect("request sent");
    expect_json(res, StatusCode::OK).await
}

async fn page(app: &TestApp, base: &str, slug: &str) -> String {
    let res = app
        .client
        .get(format!("{base}/events/{slug}"))
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.expect("html")
}

/// A published event with one public session of `capacity` seats and a waitlist: its lead
/// organizer, the event's id and slug, and the session's id.
async fn event_with_seats(app: &TestApp, capacity: u32) -> (TestUser, String, String, Uuid) {
    let organizer = app.user("organizer").await;
    let event = api_event(
        app,
        &organizer,
        json!({"title": "Japan National Dialogue 2027", "timezone": "Asia/Tokyo",
               "country": "JP", "format": "online", "online_url": "https://example.org/live"}),
    )
    .await;
    let id = event["id"].as_str().expect("id").to_owned();
    let session = api_session(
        app,
        &organizer,
        &id,
        json!({"title": "Public seminar: What can Japan do?", "access": "public",
               "starts_at": "2027-02-19T14:00:00+09:00", "ends_at": "2027-02-19T16:30:00+09:00",
               "capacity": capacity, "waitlist": true}),
    )
    .await;
    api_publish(app, &organizer, &id).await;
    let session_id = Uuid::parse_str(session["id"].as_str().expect("session id")).expect("uuid");
    let slug = event["slug"].as_str().expect("slug").to_owned();
    (organizer, id, slug, session_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registration_rush_split_across_two_instances_never_oversells() {
    const SEATS: usize = 10;
    const PEOPLE: usize = 30;
    let app = TestApp::spawn_with(|s| {
        s.server.public_cache_ms = 500;
        // The count is under test, not the speed: a debug build on shared cores may queue
        // longer for the session's lock than production allows.
        s.database.acquire_timeout_secs = 30;
        s.database.lock_timeout_ms = 30_000;
    })
    .await;
    let other = Instance::start(&app);
    let bases = both(&app, &other);
    let (organizer, _, slug, session_id) = event_with_seats(&app, SEATS as u32).await;

    // Half the sign-ups through each instance, then every confirmation at once, alternating.
    let emails: Vec<String> = (0..PEOPLE)
        .map(|i| unique_email(&format!("rush{i}")))
        .collect();
    let register = format!("/sessions/{session_id}/registrations");
    let signups = join_all(emails.iter().enumerate().map(|(i, email)| {
        post(
            &app,
            &bases[i % 2],
            &register,
            json!({"email": email, "name": "Aiko Tanaka", "country": "JP"}),
        )
    }))
    .await;
    assert!(signups.iter().all(|r| r.status() == StatusCode::ACCEPTED));
    app.smtp.wait_for(PEOPLE, Duration::from_secs(60)).await;
    let tokens = join_all(emails.iter().map(|e| confirm_token(&app, e))).await;
    let confirmations = join_all(tokens.iter().enumerate().map(|(i, token)| {
        post(
            &app,
            &bases[(i + 1) % 2],
            "/registrations/confirm",
            json!({"token": token}),
        )
    }))
    .await;
    let mut answers = Vec::new();
    for res in confirmations {
        answers.push(expect_json(res, StatusCode::OK).await);
    }
    let confirmed = answers
        .iter()
        .filter(|a| a["status"] == "confirmed")
        .count();
    let positions: HashMap<String, i64> = answers
        .iter()
        .filter(|a| a["status"] == "waitlisted")
        .map(|a| {
            (
                a["id"].as_str().expect("id").to_owned(),
                a["waitlist_position"].as_i64().expect("position"),
            )
        })
        .collect();
    assert_eq!(confirmed, SEATS);
    assert_eq!(positions.len(), PEOPLE - SEATS);

    // PostgreSQL agrees: the seats, and one queue whose order is the order each instance told.
    let in_status = |status: &'static str| {
        let app = &app;
        async move {
            texts(
                app,
                &format!(
                    "SELECT id::text AS v FROM registrations WHERE session_id = '{session_id}' \
                     AND status = '{status}' ORDER BY waitlist_seq NULLS LAST, id"
                ),
            )
            .await
            .into_iter()
            .flatten()
            .collect::<Vec<String>>()
        }
    };
    assert_eq!(in_status("confirmed").await.len(), SEATS);
    let queue = in_status("waitlisted").await;
    assert_eq!(queue.len(), PEOPLE - SEATS);
    for (rank, id) in queue.iter().enumerate() {
        assert_eq!(positions[id], rank as i64 + 1, "{id}");
    }
    let seats_first: bool = pg(&app)
        .await
        .query_one(
            &format!(
                "SELECT (SELECT max(confirmed_at) FROM registrations
                         WHERE session_id = '{session_id}' AND status = 'confirmed')
                     <= (SELECT min(updated_at) FROM registrations
                         WHERE session_id = '{session_id}' AND status = 'waitlisted')"
            ),
            &[],
        )
        .await
        .expect("order")
        .get(0);
    assert!(
        seats_first,
        "every seat was given before anyone was waitlisted"
    );

    // A cancellation through the other instance gives the seat to the first in the queue.
    let seat = &in_status("confirmed").await[0];
    let res = app
        .client
        .delete(format!("{}/api/v1/registrations/{seat}", bases[1]))
        .bearer_auth(&organizer.token)
        .send()
        .await
        .expect("cancel");
    expect_json(res, StatusCode::OK).await;
    let now_confirmed = in_status("confirmed").await;
    assert_eq!(now_confirmed.len(), SEATS);
    assert!(
        now_confirmed.contains(&queue[0]),
        "the first waitlisted took the seat"
    );

    // Both instances' public views count the seats, each within its bound.
    for base in &bases {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let view = get_json(&app, base, &format!("/events/{slug}")).await;
            if view["sessions"][0]["confirmed_count"] == SEATS {
                break;
            }
            assert!(Instant::now() < deadline, "{base}: {view}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_change_made_through_one_instance_shows_through_the_other_within_the_bound() {
    let bound = Duration::from_millis(800);
    let app = TestApp::spawn_with(|s| s.server.public_cache_ms = bound.as_millis() as u64).await;
    let other = Instance::start(&app);
    let [here, there] = both(&app, &other);
    let (organizer, id, slug, _) = event_with_seats(&app, 100).await;

    // Both instances keep the view.
    for base in [&here, &there] {
        let view = get_json(&app, base, &format!("/events/{slug}")).await;
        assert_eq!(view["title"], "Japan National Dialogue 2027");
        assert!(page(&app, base, &slug)
            .await
            .contains("Japan National Dialogue 2027"));
    }

    let res = app
        .client
        .patch(format!("{here}/api/v1/events/{id}"))
        .bearer_auth(&organizer.token)
        .json(&json!({"title": "Japan National Dialogue 2027 (Tokyo)"}))
        .send()
        .await
        .expect("patch");
    expect_json(res, StatusCode::OK).await;
    let changed = Instant::now();

    // The instance that made the change shows it at once.
    let view = get_json(&app, &here, &format!("/events/{slug}")).await;
    assert_eq!(view["title"], "Japan National Dialogue 2027 (Tokyo)");
    assert!(page(&app, &here, &slug).await.contains("(Tokyo)"));

    // The other one within the bound: what it kept was read before the change, so it is gone
    // by `bound` after it; until then it may still serve the old title.
    loop {
        let json = get_json(&app, &there, &format!("/events/{slug}")).await;
        let html = page(&app, &there, &slug).await;
        let elapsed = changed.elapsed();
        if json["title"] == "Japan National Dialogue 2027 (Tokyo)" && html.contains("(Tokyo)") {
            break;
        }
        assert!(
            elapsed < bound,
            "still the old view {elapsed:?} after the change: {json}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
