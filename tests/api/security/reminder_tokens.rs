//! Queued mail holds no usable token (issue 16, point 7; DESIGN rule 5). An invitation's
//! reminder waits in the outbox for days; whoever reads the table meanwhile (a backup, a
//! replica, a support query) must find no link that opens the invitation. The reminder's link
//! is minted by the worker when it sends it.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures::{self as fx, unique_email, wait_for_mail};
use crate::support::{expect_json, TestApp};

/// Every 43-character base64url run in `text` (the shape of every Convene token).
fn token_shaped(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|run| run.len() == 43)
        .map(str::to_owned)
        .collect()
}

/// Every row of the outbox, every column, as text.
async fn outbox_dump(app: &TestApp) -> String {
    fx::texts(
        app,
        "SELECT row_to_json(e)::text AS v FROM emails e ORDER BY id",
    )
    .await
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

/// Waits until every message due has gone out: messages sent at once (an invitation, a
/// confirmation) hold their token only until then, and sent rows keep their bodies with the
/// tokens blanked. Scheduled mail (reminders) stays queued.
async fn wait_until_due_mail_is_sent(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let due = "SELECT count(*) AS n FROM emails WHERE status IN ('queued', 'sending') \
               AND next_attempt_at <= now()";
    while fx::count(app, due).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "mail never went out"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Tries every token-shaped string of the outbox on the invitation routes: none opens one.
async fn assert_outbox_opens_nothing(app: &TestApp) {
    wait_until_due_mail_is_sent(app).await;
    let dump = outbox_dump(app).await;
    let candidates = token_shaped(&dump);
    for token in &candidates {
        let res = app
            .get(&format!("/invitations/by-token/{token}"), None)
            .await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{token} from the outbox opens an invitation"
        );
        let page = app
            .client
            .get(app.url(&format!("/invitations/{token}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{token} (page)");
    }
}

async fn invite(app: &TestApp, d: &fx::Dialogue, email: &str) -> String {
    let created = expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": [d.closed[0]],
                   "invitees": [{"email": email, "name": "Dr Invitee"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    created["invitations"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn token_in(app: &TestApp, mail: &crate::support::smtp::ReceivedMail) -> String {
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail.first_link(&prefix).expect("invitation link");
    link[prefix.len()..].to_owned()
}

async fn reminder_status(app: &TestApp, invitation: &str, generation: i32) -> Option<String> {
    fx::text(
        app,
        &format!(
            "SELECT status AS v FROM emails \
             WHERE dedupe_key = 'invitation-reminder:{invitation}:{generation}'"
        ),
    )
    .await
}

async fn wait_for_reminder_status(app: &TestApp, invitation: &str, generation: i32, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while reminder_status(app, invitation, generation)
        .await
        .as_deref()
        != Some(want)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reminder {invitation}:{generation} never {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_outbox_never_holds_a_usable_invitation_token() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let email = unique_email("invitee");
    let invitation = invite(&app, &d, &email).await;
    let first = wait_for_mail(&app, &email, "Invitation:").await;
    let emailed = token_in(&app, &first);
    wait_for_reminder_status(&app, &invitation, 1, "queued").await;
    // A registrant's confirmation, queued and sent meanwhile.
    let res = app
        .post(
            &format!("/sessions/{}/registrations", d.public),
            None,
            json!({"email": unique_email("registrant"), "name": "Ms. Registrant"}),
        )
        .await;
    assert!(res.status().is_success());

    // The attack: read the table while the reminder waits; try everything token-shaped.
    let reminder_body = fx::text(
        &app,
        &format!(
            "SELECT text_body AS v FROM emails \
             WHERE dedupe_key = 'invitation-reminder:{invitation}:1'"
        ),
    )
    .await
    .expect("queued reminder");
    assert!(
        token_shaped(&reminder_body).is_empty(),
        "the queued reminder holds a token: {reminder_body}"
    );
    assert!(!outbox_dump(&app).await.contains(&emailed));
    assert_outbox_opens_nothing(&app).await;

    // The reminder goes out when due with a link minted then, which opens the invitation;
    // the first email's link still works, and the table still holds nothing usable.
    app.sql(&format!(
        "UPDATE emails SET next_attempt_at = now() \
         WHERE dedupe_key = 'invitation-reminder:{invitation}:1'"
    ))
    .await;
    let reminder = wait_for_mail(&app, &email, "Reminder:").await;
    let minted = token_in(&app, &reminder);
    assert_ne!(minted, emailed);
    let view: Value = expect_json(
        app.get(&format!("/invitations/by-token/{minted}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["status"], "pending");
    expect_json(
        app.get(&format!("/invitations/by-token/{emailed}"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    wait_for_reminder_status(&app, &invitation, 1, "sent").await;
    assert!(!outbox_dump(&app).await.contains(&minted));
    assert_outbox_opens_nothing(&app).await;

    // A resend replaces the invitation's link: the reminder's link ends with it.
    let res = app
        .post(
            &format!("/invitations/{invitation}/resend"),
            d.staff.token(),
            json!({}),
        )
        .await;
    assert!(res.status().is_success(), "resend: {}", res.status());
    for old in [&minted, &emailed] {
        let res = app.get(&format!("/invitations/by-token/{old}"), None).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{old}");
    }
    wait_for_reminder_status(&app, &invitation, 2, "queued").await;
    assert_outbox_opens_nothing(&app).await;
}

#[tokio::test]
async fn a_reminder_whose_invitation_was_answered_is_withdrawn_not_sent() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let email = unique_email("invitee");
    let invitation = invite(&app, &d, &email).await;
    wait_for_mail(&app, &email, "Invitation:").await;
    wait_for_reminder_status(&app, &invitation, 1, "queued").await;
    // Answered behind the outbox's back (as if the withdrawal had been lost), then due.
    app.sql(&format!(
        "UPDATE invitations SET status = 'declined' WHERE id = '{invitation}'"
    ))
    .await;
    app.sql(&format!(
        "UPDATE emails SET next_attempt_at = now() \
         WHERE dedupe_key = 'invitation-reminder:{invitation}:1'"
    ))
    .await;
    wait_for_reminder_status(&app, &invitation, 1, "cancelled").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app
        .smtp
        .messages_to(&email)
        .iter()
        .all(|m| !m.subject().starts_with("Reminder:")));
    let minted = fx::count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM invitation_link_tokens WHERE invitation_id = '{invitation}'"
        ),
    )
    .await;
    assert_eq!(minted, 0, "no link was made for it");
}
