//! Who may cancel, moderate and check in, and what each transition allows.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::fixtures::{
    add_staff, published_event_with_session, wait_for_mail, SessionSpec,
};
use crate::support::{expect_json, expect_problem, TestApp};

#[tokio::test]
async fn the_registrant_and_staff_may_cancel_nobody_else() {
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
    let registrant = app.user("member").await;
    let reg = expect_json(
        app.post(&path, registrant.token(), json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    let waiting_email = unique_email("waiting");
    let waiting = register_and_confirm(&app, f.session_id, &waiting_email).await;
    assert_eq!(waiting["status"], "waitlisted");
    let reg_path = format!("/registrations/{}", reg["id"].as_str().unwrap());

    expect_problem(
        app.delete(&reg_path, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let other = app.user("member").await;
    expect_problem(
        app.delete(&reg_path, other.token()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let organizer = app.user("organizer").await;
    expect_problem(
        app.delete(&reg_path, organizer.token()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.delete(
            &format!("/registrations/{}", uuid::Uuid::now_v7()),
            registrant.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let cancelled = expect_json(
        app.delete(&reg_path, registrant.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    expect_problem(
        app.delete(&reg_path, registrant.token()).await,
        StatusCode::CONFLICT,
        "registration_not_live",
    )
    .await;
    let mail = wait_for_mail(&app, &registrant.email, "is cancelled").await;
    // Its only attachment takes the session out of the calendar (no link in it).
    let attachments = mail.attachments();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].0, "text/calendar");
    assert!(attachments[0].1.contains("METHOD:CANCEL"));
    assert!(!attachments[0].1.contains("http"));
    // The freed seat went to the waitlist.
    wait_for_mail(&app, &waiting_email, "A seat is yours").await;
    assert_eq!(
        registration_status(&app, waiting["id"].as_str().unwrap()).await,
        "confirmed"
    );

    // Registering again after cancelling makes a new registration.
    let again = expect_json(
        app.post(&path, registrant.token(), json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(again["id"], reg["id"]);
    assert_eq!(again["status"], "waitlisted");

    // Staff (and admins) may cancel anyone's.
    add_staff(&app, f.event_id, &organizer).await;
    let res = app
        .delete(
            &format!("/registrations/{}", again["id"].as_str().unwrap()),
            organizer.token(),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["status"],
        "cancelled"
    );
    let admin = app.user("admin").await;
    let res = app
        .delete(
            &format!("/registrations/{}", waiting["id"].as_str().unwrap()),
            admin.token(),
        )
        .await;
    assert_eq!(
        expect_json(res, StatusCode::OK).await["status"],
        "cancelled"
    );
    wait_for_mail(&app, &waiting_email, "was cancelled").await;

    // A registration cancelled before its address was confirmed: the link no longer works.
    let pending_email = unique_email("pending");
    let pending = register_anon(&app, f.session_id, &pending_email).await;
    let token = confirm_token(&app, &pending_email).await;
    let res = app
        .delete(
            &format!("/registrations/{}", pending["id"].as_str().unwrap()),
            organizer.token(),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    expect_problem(
        confirm(&app, &token).await,
        StatusCode::NOT_FOUND,
        "invalid_token",
    )
    .await;
    let res = app
        .client
        .get(app.url(&format!("/registrations/confirm?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // Nothing to cancel once the session is over.
    let late = published_event_with_session(&app, SessionSpec::default()).await;
    let res = app
        .post(
            &format!("/sessions/{}/registrations", late.session_id),
            registrant.token(),
            json!({}),
        )
        .await;
    let late_reg = expect_json(res, StatusCode::CREATED).await;
    app.sql(&format!(
        "UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '1 hour' WHERE id = '{}'",
        late.session_id
    ))
    .await;
    let res = app
        .delete(
            &format!("/registrations/{}", late_reg["id"].as_str().unwrap()),
            registrant.token(),
        )
        .await;
    expect_problem(res, StatusCode::CONFLICT, "session_ended").await;
}

#[tokio::test]
async fn staff_approve_or_reject_registrations_awaiting_approval() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            requires_approval: true,
            capacity: Some(1),
            ..Default::default()
        },
    )
    .await;
    let emails: Vec<String> = (0..3).map(|i| unique_email(&format!("mod{i}"))).collect();
    let mut regs = Vec::new();
    for email in &emails {
        let reg = register_and_confirm(&app, f.session_id, email).await;
        assert_eq!(reg["status"], "pending_approval");
        assert!(wait_for_mail(&app, email, "awaiting approval")
            .await
            .attachments()
            .is_empty());
        regs.push(reg["id"].as_str().unwrap().to_owned());
    }
    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;
    let member = app.user("member").await;
    let outsider = app.user("organizer").await;

    let approve = |i: usize| format!("/registrations/{}/approve", regs[i]);
    let reject = |i: usize| format!("/registrations/{}/reject", regs[i]);
    expect_problem(
        app.post(&approve(0), None, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post(&approve(0), member.token(), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&approve(0), outsider.token(), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&reject(0), member.token(), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let approved = expect_json(
        app.post(&approve(0), staff.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "confirmed");
    assert_eq!(approved["email"], emails[0]);
    let mail = wait_for_mail(&app, &emails[0], "approved").await;
    assert!(mail
        .attachments()
        .iter()
        .any(|(ct, _)| ct == "text/calendar"));
    expect_problem(
        app.post(&approve(0), staff.token(), json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_problem(
        app.post(&reject(0), staff.token(), json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    // Approval takes a waitlist place when the session is full.
    let second = expect_json(
        app.post(&approve(1), staff.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["status"], "waitlisted");
    assert_eq!(second["waitlist_position"], 1);
    let mail = wait_for_mail(&app, &emails[1], "approved").await;
    assert!(mail.text_body().contains("waitlist"));

    let admin = app.user("admin").await;
    let rejected = expect_json(
        app.post(&reject(2), admin.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    wait_for_mail(&app, &emails[2], "not accepted").await;
    expect_problem(
        app.post(&approve(2), staff.token(), json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    // The registrant of a pending registration learns it is staff-only.
    let path = format!("/sessions/{}/registrations", f.session_id);
    let own = expect_json(
        app.post(&path, member.token(), json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(own["status"], "pending_approval");
    let res = app
        .post(
            &format!("/registrations/{}/approve", own["id"].as_str().unwrap()),
            member.token(),
            json!({}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN, "not_event_staff").await;
}

#[tokio::test]
async fn check_in_is_staff_only_idempotent_and_for_confirmed_registrations() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(1),
            ..Default::default()
        },
    )
    .await;
    let seated = register_and_confirm(&app, f.session_id, &unique_email("seated")).await;
    let waiting = register_and_confirm(&app, f.session_id, &unique_email("waiting")).await;
    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;
    let member = app.user("member").await;
    let path =
        |r: &serde_json::Value| format!("/registrations/{}/check-in", r["id"].as_str().unwrap());

    expect_problem(
        app.post(&path(&seated), None, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post(&path(&seated), member.token(), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let first = expect_json(
        app.post(&path(&seated), staff.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert!(first["checked_in_at"].is_string());
    let second = expect_json(
        app.post(&path(&seated), staff.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["checked_in_at"], first["checked_in_at"]);

    expect_problem(
        app.post(&path(&waiting), staff.token(), json!({})).await,
        StatusCode::CONFLICT,
        "not_confirmed",
    )
    .await;
    let res = app
        .post(
            &format!("/registrations/{}/check-in", uuid::Uuid::now_v7()),
            staff.token(),
            json!({}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}
