//! The organisers' registrations, CSV files, report, outcomes and approval digest in the
//! console: over HTTP as a browser without JavaScript, and one journey in Chromium with the
//! accessibility check on each new page.

use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use super::browser::{app_on_its_public_url, check_page, click_text, field};
use super::{location, Visitor};
use crate::support::browser::Browser;
use crate::support::fixtures as fx;
use crate::support::TestApp;

async fn signed_in(app: &TestApp, email: &str) -> Visitor {
    let visitor = Visitor::new(app);
    visitor.sign_in(email).await;
    visitor
}

/// A registration with the organisation kind and country a registrant typed.
async fn registrant(
    app: &TestApp,
    session: Uuid,
    name: &str,
    status: &str,
    kind: &str,
    country: &str,
) -> (Uuid, String) {
    let email = fx::unique_email("r");
    let person = fx::person(app, &email, name).await;
    let id = fx::registration(app, session, person, status).await;
    app.sql(&format!(
        "UPDATE registrations SET organization_kind = '{kind}', country = '{country}' WHERE id = '{id}'"
    ))
    .await;
    (id, email)
}

#[tokio::test]
async fn staff_approve_and_reject_after_a_confirmation_and_see_the_waitlist_in_order() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let session = dialogue.public;
    app.sql(&format!(
        "UPDATE sessions SET requires_approval = true WHERE id = '{session}'"
    ))
    .await;
    let (hiroshi, _) = registrant(
        &app,
        session,
        "Tanaka Hiroshi",
        "pending_approval",
        "academia",
        "JP",
    )
    .await;
    let (lan, lan_email) = registrant(
        &app,
        session,
        "Nguyễn Thị Lan",
        "pending_approval",
        "civil_society",
        "VN",
    )
    .await;
    registrant(&app, session, "First Waiting", "waitlisted", "other", "KR").await;
    registrant(&app, session, "Second Waiting", "waitlisted", "other", "KR").await;

    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let list = format!("/manage/sessions/{session}/registrations");
    let (page, token) = organiser
        .page(&format!("{list}?status=pending_approval"))
        .await;
    assert!(page.contains("aria-label=\"Approve Tanaka Hiroshi\""));
    assert!(page.contains("aria-label=\"Reject Nguyễn Thị Lan\""));

    let approve = format!("/manage/registrations/{hiroshi}/approve");
    let res = organiser.post(&approve, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(
        fx::registration_status(&app, hiroshi).await,
        "pending_approval"
    );
    let res = organiser
        .post(
            &approve,
            &[
                ("csrf_token", token.as_str()),
                ("status", "pending_approval"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!("{list}?status=pending_approval&done=approved")
    );
    assert_eq!(fx::registration_status(&app, hiroshi).await, "confirmed");
    let (page, _) = organiser.page(&location(&res)).await;
    assert!(page.contains("The registration was approved"));
    assert!(!page.contains("Tanaka Hiroshi"), "no longer awaiting");

    // Rejecting first says what will happen, and the page changes nothing.
    let reject = format!("/manage/registrations/{lan}/reject");
    let (confirm, token) = organiser.page(&reject).await;
    assert!(confirm.contains("Reject the registration of Nguyễn Thị Lan?"));
    assert!(confirm.contains("is emailed that the registration was not accepted"));
    assert_eq!(fx::registration_status(&app, lan).await, "pending_approval");
    let res = organiser
        .post(&reject, &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(
        location(&res),
        format!("{list}?status=pending_approval&done=rejected")
    );
    assert_eq!(fx::registration_status(&app, lan).await, "rejected");
    fx::wait_for_mail(&app, &lan_email, "").await;
    // Twice is a clear refusal, not a second email.
    let res = organiser.get(&reject).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let (waitlist, _) = organiser.page(&format!("{list}?status=waitlisted")).await;
    let first = waitlist.find("First Waiting").expect("first on the list");
    let second = waitlist.find("Second Waiting").expect("second");
    assert!(first < second, "in waitlist order");
    assert!(waitlist.contains("number 1 on the waitlist"));
    assert!(waitlist.contains("number 2 on the waitlist"));

    // Someone who does not run the dialogue can neither see nor act.
    let member = app.user("member").await;
    let member = signed_in(&app, &member.email).await;
    let (_, member_token) = member.page("/account").await;
    let res = member
        .post(
            &format!("/manage/registrations/{hiroshi}/approve"),
            &[("csrf_token", member_token.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let event = dialogue.event_id;
    for path in [
        format!("/manage/events/{event}/report"),
        format!("/manage/events/{event}/outcomes"),
        format!("/manage/events/{event}/registrations.csv"),
        format!("{list}.csv"),
    ] {
        assert_eq!(
            member.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

/// The file as a spreadsheet reads it: the byte order mark, then the rows.
fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 with a byte order mark, for Excel"
    );
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader.records().map(|r| r.expect("row")).collect();
    (header, rows)
}

#[tokio::test]
async fn the_csv_files_open_in_excel_with_ids_waitlist_places_and_names_intact() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let (hiroshi, _) = registrant(
        &app,
        dialogue.public,
        "田中 宏",
        "confirmed",
        "academia",
        "JP",
    )
    .await;
    let (lan, _) = registrant(
        &app,
        dialogue.public,
        "Nguyễn Thị Lan",
        "waitlisted",
        "civil_society",
        "VN",
    )
    .await;
    let (closed, _) = registrant(
        &app,
        dialogue.closed[0],
        "Yamada Akiko",
        "confirmed",
        "government",
        "JP",
    )
    .await;

    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let (page, _) = organiser
        .page(&format!(
            "/manage/sessions/{}/registrations",
            dialogue.public
        ))
        .await;
    let link = format!("/manage/sessions/{}/registrations.csv", dialogue.public);
    assert!(page.contains(&format!("href=\"{link}\"")));
    let res = organiser.get(&link).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    let (header, rows) = csv_rows(&res.bytes().await.unwrap());
    assert_eq!(
        header,
        [
            "registration_id",
            "session",
            "name",
            "email",
            "organization",
            "organization_kind",
            "country",
            "status",
            "waitlist_position",
            "registered_at",
            "checked_in_at"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], hiroshi.to_string());
    assert_eq!(&rows[0][1], "Public seminar");
    assert_eq!(&rows[0][2], "田中 宏");
    assert_eq!(&rows[0][7], "confirmed");
    assert_eq!(&rows[0][8], "");
    assert_eq!(&rows[1][0], lan.to_string());
    assert_eq!(&rows[1][2], "Nguyễn Thị Lan");
    assert_eq!(&rows[1][8], "1", "first on the waitlist");

    // The list's filter applies to its file.
    let res = organiser.get(&format!("{link}?status=waitlisted")).await;
    let (_, rows) = csv_rows(&res.bytes().await.unwrap());
    assert_eq!(rows.len(), 1);

    // The whole dialogue: every session, in programme order.
    let res = organiser
        .get(&format!(
            "/manage/events/{}/registrations.csv",
            dialogue.event_id
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, rows) = csv_rows(&res.bytes().await.unwrap());
    let ids: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(
        ids,
        [closed.to_string(), hiroshi.to_string(), lan.to_string()]
    );
    assert_eq!(&rows[0][1], "Closed session I: R2P in Japan");
}

#[tokio::test]
async fn the_report_shows_the_balance_attendance_and_invitations_as_numbered_bars() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let s = dialogue.public;
    registrant(&app, s, "A", "confirmed", "academia", "JP").await;
    registrant(&app, s, "B", "confirmed", "academia", "JP").await;
    let (gov, _) = registrant(&app, s, "C", "confirmed", "government", "JP").await;
    registrant(&app, s, "D", "confirmed", "civil_society", "VN").await;
    registrant(&app, s, "E", "waitlisted", "government", "KR").await;
    app.sql(&format!(
        "UPDATE registrations SET checked_in_at = now() WHERE id = '{gov}'"
    ))
    .await;

    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let (overview, _) = organiser
        .page(&format!("/manage/events/{}", dialogue.event_id))
        .await;
    let report = format!("/manage/events/{}/report", dialogue.event_id);
    assert!(overview.contains(&format!("href=\"{report}\"")));
    let (page, _) = organiser.page(&report).await;
    let public = &page[page.find("<h2 id=\"s-").unwrap()..];
    let public = &public[public.find("Public seminar").unwrap()..];
    let row =
        |label: &str, n: i64| format!("<th scope=\"row\">{label}</th><td class=\"n\">{n}</td>");
    for (label, n) in [
        ("academia", 2),
        ("government", 1),
        ("civil society", 1),
        ("Japan", 3),
        ("Vietnam", 1),
        ("confirmed", 4),
        ("waitlisted", 1),
        ("checked in", 1),
    ] {
        assert!(public.contains(&row(label, n)), "{label}: {n} in {public}");
    }
    assert!(
        !public.contains(&row("South Korea", 1)),
        "the waitlisted do not count"
    );
    assert!(public.contains("<strong>1</strong> of 4 confirmed checked in (25%)"));
    assert!(
        page.contains("style=\"width: 100%\""),
        "the longest bar is full"
    );
    assert!(page.contains("No invitation sent yet."));
}

async fn outcomes_of(app: &TestApp, event: Uuid) -> Value {
    let res = app.get(&format!("/events/{event}/outcomes"), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn highlights_are_previewed_published_edited_unpublished_and_deleted_with_an_audit() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let event = dialogue.event_id;
    let closed = dialogue.closed[0];
    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let page_path = format!("/manage/events/{event}/outcomes");
    let (_, token) = organiser.page(&page_path).await;
    let count = || fx::count(&app, "SELECT count(*) AS n FROM outcomes");
    let closed_id = closed.to_string();

    // A preview saves nothing and keeps what was typed.
    let typed = "**Consensus** on early warning.\n\n- national focal points";
    let res = organiser
        .post(
            &page_path,
            &[
                ("csrf_token", token.as_str()),
                ("title", "Closed session I"),
                ("session_id", closed_id.as_str()),
                ("body_markdown", typed),
                ("action", "preview"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("<strong>Consensus</strong> on early warning."));
    assert!(page.contains("national focal points</textarea>"));
    assert_eq!(count().await, 0);

    // A missing title: the error by its field, the text kept, nothing saved.
    let res = organiser
        .post(
            &page_path,
            &[
                ("csrf_token", token.as_str()),
                ("title", " "),
                ("body_markdown", typed),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"title-error\""), "{page}");
    assert!(page.contains("national focal points</textarea>"));
    assert_eq!(count().await, 0);

    let res = organiser
        .post(
            &page_path,
            &[
                ("csrf_token", token.as_str()),
                ("title", "Closed session I"),
                ("session_id", closed_id.as_str()),
                ("body_markdown", typed),
                ("action", "publish"),
            ],
        )
        .await;
    assert_eq!(location(&res), format!("{page_path}?done=published"));
    let public = outcomes_of(&app, event).await;
    assert_eq!(public["items"].as_array().unwrap().len(), 1);
    let id = public["items"][0]["id"].as_str().unwrap().to_owned();

    // A Chatham House breach comes down with one button.
    let (page, token) = organiser.page(&location(&res)).await;
    assert!(page.contains("aria-label=\"Unpublish Closed session I\""));
    let res = organiser
        .post(
            &format!("/manage/outcomes/{id}/unpublish"),
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(location(&res), format!("{page_path}?done=unpublished"));
    assert_eq!(
        outcomes_of(&app, event).await["items"],
        serde_json::json!([])
    );

    let edit = format!("/manage/outcomes/{id}");
    let (page, token) = organiser.page(&edit).await;
    assert!(page.contains("value=\"Closed session I\""));
    let res = organiser
        .post(
            &edit,
            &[
                ("csrf_token", token.as_str()),
                ("title", "Early warning, without attribution"),
                ("session_id", closed_id.as_str()),
                ("body_markdown", "Participants agreed on early warning."),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(location(&res), format!("{page_path}?done=updated"));
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT title AS v FROM outcomes WHERE id = '{id}'")
        )
        .await
        .as_deref(),
        Some("Early warning, without attribution")
    );

    let delete = format!("/manage/outcomes/{id}/delete");
    let (page, token) = organiser.page(&delete).await;
    assert!(page.contains("The audit trail keeps what they said"));
    assert_eq!(count().await, 1, "the confirmation changes nothing");
    let res = organiser
        .post(&delete, &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(location(&res), format!("{page_path}?done=deleted"));
    assert_eq!(count().await, 0);

    let actions = fx::texts(
        &app,
        &format!(
            "SELECT action AS v FROM audit_entries WHERE target_type = 'outcome' AND target_id = '{id}' ORDER BY created_at, id"
        ),
    )
    .await;
    let actions: Vec<&str> = actions.iter().flatten().map(String::as_str).collect();
    assert_eq!(actions, ["create", "unpublish", "update", "delete"]);
}

#[tokio::test]
async fn the_api_edits_unpublishes_and_deletes_outcomes_for_staff_only() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let staff = dialogue.staff.token.as_str();
    let res = app
        .post(
            &format!("/events/{}/outcomes", dialogue.event_id),
            Some(staff),
            serde_json::json!({"title": "Highlights", "body_markdown": "Text", "publish": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = app.user("member").await;
    let client = &app.client;

    let res = client
        .patch(app.api(&format!("/outcomes/{id}")))
        .bearer_auth(&member.token)
        .json(&serde_json::json!({"title": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "published: known, not theirs"
    );
    let res = client
        .patch(app.api(&format!("/outcomes/{id}")))
        .bearer_auth(staff)
        .json(&serde_json::json!({"title": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = client
        .patch(app.api(&format!("/outcomes/{id}")))
        .bearer_auth(staff)
        .json(&serde_json::json!({"title": "Highlights of the day"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["title"], "Highlights of the day");
    assert_eq!(body["published"], true, "an edit keeps it published");

    let res = client
        .post(app.api(&format!("/outcomes/{id}/unpublish")))
        .bearer_auth(staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["published"], false);
    let res = client
        .delete(app.api(&format!("/outcomes/{id}")))
        .bearer_auth(&member.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a draft is unknown to outsiders"
    );
    let res = client
        .delete(app.api(&format!("/outcomes/{id}")))
        .bearer_auth(staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM audit_entries WHERE target_id = '{id}'")
        )
        .await,
        4
    );
}

#[tokio::test]
async fn staff_get_one_digest_a_day_of_registrations_awaiting_approval() {
    let app = TestApp::spawn_with(|settings| settings.worker.approval_digest_check_secs = 1).await;
    let dialogue = fx::dialogue(&app).await;
    let quiet = fx::dialogue(&app).await;
    registrant(
        &app,
        dialogue.public,
        "Tanaka Hiroshi",
        "pending_approval",
        "academia",
        "JP",
    )
    .await;
    registrant(
        &app,
        dialogue.public,
        "Nguyễn Thị Lan",
        "pending_approval",
        "civil_society",
        "VN",
    )
    .await;

    let mail = fx::wait_for_mail(&app, &dialogue.staff.email, "await your approval").await;
    assert!(mail
        .subject()
        .starts_with("2 registrations await your approval"));
    let link = format!(
        "{}/manage/sessions/{}/registrations?status=pending_approval",
        app.settings.public_url(),
        dialogue.public
    );
    assert!(mail.text_body().contains(&link), "{}", mail.text_body());

    // Another day's worth of checks finds the same and sends nothing more today.
    let mut conn = app.pool.get().await.expect("connection");
    let again = convene::registrations::digest::queue_due(
        &mut conn,
        app.settings.public_url(),
        chrono::Utc::now(),
    )
    .await
    .expect("digest");
    assert_eq!(again, 0);
    let digests = |email: String| {
        let app = &app;
        async move {
            fx::count(
                app,
                &format!(
                    "SELECT count(*) AS n FROM emails WHERE kind = 'approval_digest' AND to_address = '{email}'"
                ),
            )
            .await
        }
    };
    assert_eq!(digests(dialogue.staff.email.clone()).await, 1);
    assert_eq!(
        digests(quiet.staff.email.clone()).await,
        0,
        "nothing waiting, no digest"
    );
}

#[tokio::test]
async fn an_organiser_moderates_reads_the_report_and_publishes_highlights_in_a_browser() {
    let app = app_on_its_public_url().await;
    let dialogue = fx::dialogue(&app).await;
    let session = dialogue.public;
    registrant(&app, session, "Sato Mina", "confirmed", "government", "JP").await;
    let (waiting, _) = registrant(
        &app,
        session,
        "Tanaka Hiroshi",
        "pending_approval",
        "academia",
        "JP",
    )
    .await;
    let (other, _) = registrant(
        &app,
        session,
        "Nguyễn Thị Lan",
        "pending_approval",
        "civil_society",
        "VN",
    )
    .await;

    let browser = Browser::start().await;
    browser.set_window_size(390, 900).await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for_text("h1", "Sign in").await;
    browser
        .fill(&field(&browser, "Email").await, &dialogue.staff.email)
        .await;
    browser
        .fill(&field(&browser, "Password").await, super::PASSWORD)
        .await;
    click_text(&browser, "Sign in").await;
    browser.wait_for_text("h1", "My dialogues").await;
    browser
        .goto(&app.url(&format!("/manage/events/{}", dialogue.event_id)))
        .await;
    browser.wait_for_text("main", "Sessions by start").await;

    click_text(&browser, "Report").await;
    browser.wait_for_text("h1", "Report").await;
    check_page(&browser).await;
    let main = browser.text_of("main").await;
    assert!(main.contains("Confirmed by organisation kind"), "{main}");

    browser
        .goto(&app.url(&format!(
            "/manage/sessions/{session}/registrations?status=pending_approval"
        )))
        .await;
    browser.wait_for_text("main", "Tanaka Hiroshi").await;
    check_page(&browser).await;
    browser
        .execute(
            "document.querySelector('[aria-label=\"Approve Tanaka Hiroshi\"]').click(); return true;",
            vec![],
        )
        .await;
    browser
        .wait_for_text(".done", "The registration was approved")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Reject").await;
    browser
        .wait_for_text("h1", "Reject the registration of Nguyễn Thị Lan?")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Reject").await;
    browser
        .wait_for_text(".done", "The registration was rejected")
        .await;
    assert_eq!(fx::registration_status(&app, waiting).await, "confirmed");
    assert_eq!(fx::registration_status(&app, other).await, "rejected");

    browser
        .goto(&app.url(&format!("/manage/events/{}/outcomes", dialogue.event_id)))
        .await;
    browser.wait_for_text("h1", "Outcomes").await;
    check_page(&browser).await;
    browser
        .fill(&field(&browser, "Title").await, "Highlights of the seminar")
        .await;
    browser
        .fill(
            &field(&browser, "Highlights (Markdown)").await,
            "**Prevention** starts at home.",
        )
        .await;
    click_text(&browser, "Preview").await;
    browser
        .wait_for_text(".preview", "Prevention starts at home.")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Publish").await;
    browser
        .wait_for_text(".done", "The highlights were published")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Unpublish").await;
    browser
        .wait_for_text(".done", "The highlights were taken down")
        .await;
    check_page(&browser).await;
    click_text(&browser, "Delete").await;
    browser.wait_for_text("h1", "Delete").await;
    check_page(&browser).await;
    browser.close().await;
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM outcomes WHERE published_at IS NULL"
        )
        .await,
        1
    );
}
