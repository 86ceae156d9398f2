//! The organisers' dialogues in the console: "My dialogues", a dialogue's overview, and a
//! session's registrations with check-in at the door (and its undo) behind the CSRF token.

use reqwest::StatusCode;

use super::{location, Visitor};
use crate::support::fixtures as fx;
use crate::support::TestApp;

async fn signed_in(app: &TestApp, email: &str) -> Visitor {
    let visitor = Visitor::new(app);
    visitor.sign_in(email).await;
    visitor
}

#[tokio::test]
async fn an_organiser_sees_only_their_dialogues_and_a_member_is_refused() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let other = fx::event(
        &app,
        fx::EventSpec {
            title: "Viet Nam Dialogue",
            status: "draft",
            ..Default::default()
        },
    )
    .await;

    let organiser = Visitor::new(&app);
    assert_eq!(
        organiser.sign_in(&dialogue.staff.email).await,
        "/manage/events",
        "an organiser's console is their dialogues"
    );
    let (page, _) = organiser.page("/manage/events").await;
    assert!(page.contains(&format!("/manage/events/{}", dialogue.event_id)));
    assert!(page.contains("Japan National Dialogue"));
    assert!(!page.contains("Viet Nam Dialogue"), "not their dialogue");
    assert!(page.contains("href=\"/manage/events\">Dialogues</a>"));
    assert!(!page.contains("href=\"/manage/organizations\""));
    // The secretariat's pages stay the secretariat's; /manage leads to the dialogues.
    let res = organiser.get("/manage/organizations").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = organiser.get("/manage").await;
    assert_eq!(location(&res), "/manage/events");
    // Another dialogue's overview: a draft they may not know of.
    let res = organiser.get(&format!("/manage/events/{other}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let admin = app.user("admin").await;
    let admin = signed_in(&app, &admin.email).await;
    let (page, _) = admin.page("/manage/events").await;
    assert!(page.contains("Japan National Dialogue"));
    assert!(
        page.contains("Viet Nam Dialogue"),
        "admins see every dialogue"
    );

    let member = app.user("member").await;
    let member = signed_in(&app, &member.email).await;
    assert_eq!(
        member.get("/manage/events").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        member
            .get(&format!("/manage/events/{}", dialogue.event_id))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "a published dialogue's overview is staff-only"
    );
    assert_eq!(
        member
            .get(&format!(
                "/manage/sessions/{}/registrations",
                dialogue.public
            ))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let anonymous = Visitor::new(&app);
    let res = anonymous.get("/manage/events").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login?next="));
}

#[tokio::test]
async fn the_overview_shows_the_programme_counts_and_what_needs_attention() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let closed = dialogue.closed[0];
    app.sql(&format!(
        "UPDATE sessions SET capacity = 2, requires_approval = true WHERE id = '{closed}'"
    ))
    .await;
    for (i, status) in ["confirmed", "confirmed", "waitlisted", "pending_approval"]
        .iter()
        .enumerate()
    {
        let person = fx::person(&app, &fx::unique_email("p"), &format!("Person {i}")).await;
        fx::registration(&app, closed, person, status).await;
    }
    app.sql(&format!(
        "INSERT INTO emails (id, kind, event_id, to_address, subject, text_body, html_body, status) \
         VALUES (gen_random_uuid(), 'invitation', '{}', 'x@example.org', 's', 't', 'h', 'failed')",
        dialogue.event_id
    ))
    .await;

    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let (page, _) = organiser
        .page(&format!("/manage/events/{}", dialogue.event_id))
        .await;
    assert!(page.contains("Closed session I: R2P in Japan"));
    assert!(page.contains("JST"), "times in the dialogue's zone: {page}");
    assert!(
        page.contains("<td>2</td><td>2</td><td>1</td><td>1</td>"),
        "capacity, confirmed, waitlisted, pending: {page}"
    );
    assert!(page.contains("1 awaiting approval in Closed session I"));
    assert!(page.contains("1 email failed"));
    assert!(page.contains("Closed session I: R2P in Japan is full"));
    assert!(page.contains("No invitation sent yet."));
}

#[tokio::test]
async fn check_in_at_the_door_and_its_undo_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let session = dialogue.public;
    let hiroshi = fx::person(&app, &fx::unique_email("h"), "Tanaka Hiroshi").await;
    let lan = fx::person(&app, &fx::unique_email("l"), "Nguyễn Thị Lan").await;
    let registration = fx::registration(&app, session, hiroshi, "confirmed").await;
    fx::registration(&app, session, lan, "waitlisted").await;
    let sql = format!(
        "SELECT count(*) AS n FROM registrations WHERE id = '{registration}' AND checked_in_at IS NOT NULL"
    );
    let checked_in = || fx::count(&app, &sql);

    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let list = format!("/manage/sessions/{session}/registrations");
    let (page, token) = organiser.page(&list).await;
    assert!(page.contains("Tanaka Hiroshi") && page.contains("Nguyễn Thị Lan"));
    assert!(page.contains("aria-label=\"Check in Tanaka Hiroshi\""));
    assert!(
        !page.contains("aria-label=\"Check in Nguyễn"),
        "not confirmed"
    );
    let (found, _) = organiser.page(&format!("{list}?q=hiroshi")).await;
    assert!(found.contains("Tanaka Hiroshi") && !found.contains("Nguyễn Thị Lan"));
    let (found, _) = organiser.page(&format!("{list}?status=waitlisted")).await;
    assert!(!found.contains("Tanaka Hiroshi") && found.contains("Nguyễn Thị Lan"));

    let check_in = format!("/manage/registrations/{registration}/check-in");
    let res = organiser.post(&check_in, &[("q", "hiroshi")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(checked_in().await, 0, "nothing changed");

    let res = organiser
        .post(
            &check_in,
            &[("csrf_token", token.as_str()), ("q", "hiroshi")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{list}?q=hiroshi&done=checked_in"));
    assert_eq!(checked_in().await, 1);
    let (page, _) = organiser.page(&location(&res)).await;
    assert!(page.contains("Checked in."));
    assert!(page.contains("aria-label=\"Undo check-in of Tanaka Hiroshi\""));
    assert!(page.contains("<strong>1</strong> of 1 confirmed checked in"));
    // The door's count is the session's, whatever the list is filtered to.
    let (waitlisted, _) = organiser.page(&format!("{list}?status=waitlisted")).await;
    assert!(waitlisted.contains("<strong>1</strong> of 1 confirmed checked in"));

    let undo = format!("{check_in}/undo");
    let res = organiser.post(&undo, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(checked_in().await, 1, "nothing changed");
    let res = organiser
        .post(&undo, &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(location(&res), format!("{list}?done=undone"));
    assert_eq!(checked_in().await, 0);

    // Someone who does not run the dialogue cannot check anyone in.
    let member = app.user("member").await;
    let member = signed_in(&app, &member.email).await;
    let (_, member_token) = member.page("/account").await;
    let res = member
        .post(&check_in, &[("csrf_token", member_token.as_str())])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(checked_in().await, 0);
}

#[tokio::test]
async fn the_api_undoes_a_check_in_for_the_staff_only() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let person = fx::person(&app, &fx::unique_email("h"), "Tanaka Hiroshi").await;
    let registration = fx::registration(&app, dialogue.public, person, "confirmed").await;
    let client = reqwest::Client::new();
    let url = |tail: &str| format!("{}/api/v1/registrations/{registration}/{tail}", app.address);

    let res = client
        .post(url("check-in"))
        .bearer_auth(&dialogue.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let member = app.user("member").await;
    let res = client
        .post(url("check-in/undo"))
        .bearer_auth(&member.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = client
        .post(url("check-in/undo"))
        .bearer_auth(&dialogue.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["checked_in_at"].is_null(), "{body}");
}
