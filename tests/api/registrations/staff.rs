//! Staff lists (JSON and CSV), a registrant's own list and the event report.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::fixtures::{
    add_session, add_staff, organization, published_event_with_session, set_event_status,
    SessionSpec,
};
use crate::support::{expect_json, expect_problem, TestApp};

#[tokio::test]
async fn staff_list_registrations_as_json_pages_and_csv() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(2),
            ..Default::default()
        },
    )
    .await;
    let waseda = organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let path = format!("/sessions/{}/registrations", f.session_id);
    let mut ids = Vec::new();
    for (i, (name, org)) in [
        ("Aiko, \"Tanaka\"", json!({"organization_id": waseda})),
        (
            "=HYPERLINK(\"x\")",
            json!({"organization_name": "Human Rights Now"}),
        ),
        ("Ken Sato", json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let email = unique_email(&format!("list{i}"));
        let mut body = json!({"email": email, "name": name, "country": "JP"});
        body.as_object_mut()
            .unwrap()
            .extend(org.as_object().unwrap().clone());
        expect_json(app.post(&path, None, body).await, StatusCode::ACCEPTED).await;
        let token = confirm_token(&app, &email).await;
        let reg = expect_json(confirm(&app, &token).await, StatusCode::OK).await;
        ids.push(reg["id"].as_str().unwrap().to_owned());
    }
    let pending = register_anon(&app, f.session_id, &unique_email("pending")).await;

    // Who may look.
    expect_problem(
        app.get(&path, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let member = app.user("member").await;
    expect_problem(
        app.get(&path, member.token()).await,
        StatusCode::FORBIDDEN,
        "not_event_staff",
    )
    .await;
    let outsider = app.user("organizer").await;
    expect_problem(
        app.get(&path, outsider.token()).await,
        StatusCode::FORBIDDEN,
        "not_event_staff",
    )
    .await;
    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;
    let admin = app.user("admin").await;
    expect_json(app.get(&path, admin.token()).await, StatusCode::OK).await;

    let all = expect_json(app.get(&path, staff.token()).await, StatusCode::OK).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(all["next_cursor"].is_null());
    let first = &items[0];
    assert_eq!(first["id"], ids[0]);
    assert_eq!(first["status"], "confirmed");
    assert_eq!(first["organization"], "Waseda University");
    assert_eq!(first["organization_kind"], "academia");
    assert_eq!(first["name"], "Aiko, \"Tanaka\"");
    assert!(first["email"].as_str().unwrap().starts_with("list0-"));
    assert!(first["created_at"].is_string());
    assert!(first["checked_in_at"].is_null());
    assert_eq!(items[1]["organization"], "Human Rights Now");
    assert_eq!(items[2]["status"], "waitlisted");
    assert_eq!(items[2]["waitlist_position"], 1);
    assert_eq!(items[3]["id"], pending["id"]);

    // Filters and pages.
    let waitlisted = expect_json(
        app.get(&format!("{path}?status=waitlisted"), staff.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(waitlisted["items"].as_array().unwrap().len(), 1);
    let some = expect_json(
        app.get(
            &format!("{path}?status=confirmed,pending_confirmation"),
            staff.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(some["items"].as_array().unwrap().len(), 3);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit=3&cursor={c}"),
            None => format!("{path}?limit=3"),
        };
        let page = expect_json(app.get(&url, staff.token()).await, StatusCode::OK).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected);
    expect_problem(
        app.get(&format!("{path}?status=bogus"), staff.token())
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(&format!("{path}?cursor=garbage"), staff.token())
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // Check one in, then export.
    expect_json(
        app.post(
            &format!("/registrations/{}/check-in", ids[0]),
            staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let res = app
        .client
        .get(app.api(&path))
        .bearer_auth(&staff.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let bytes = res.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a byte order mark for Excel"
    );
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
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
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(&rows[0][0], ids[0].as_str());
    assert_eq!(&rows[0][2], "Aiko, \"Tanaka\"");
    assert_eq!(&rows[0][4], "Waseda University");
    assert_eq!(&rows[0][5], "academia");
    assert_eq!(&rows[0][6], "JP");
    assert_eq!(&rows[0][7], "confirmed");
    assert_eq!(&rows[0][8], "", "no waitlist place");
    // Times in the event's zone (Asia/Tokyo), RFC 3339 with the offset.
    let registered = chrono::DateTime::parse_from_rfc3339(&rows[0][9]).unwrap();
    assert_eq!(registered.offset().local_minus_utc(), 9 * 3600);
    assert!(rows[0][10].ends_with("+09:00"));
    assert_eq!(&rows[1][2], "'=HYPERLINK(\"x\")", "formulas are defused");
    assert_eq!(&rows[2][7], "waitlisted");
    assert_eq!(&rows[2][8], "1", "first on the waitlist");
    assert_eq!(&rows[1][10], "");

    // CSV takes the status filter, and the same access rules.
    let res = app
        .client
        .get(app.api(&format!("{path}?status=waitlisted")))
        .bearer_auth(&staff.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(text.as_bytes()).records().count(),
        1
    );
    let res = app
        .client
        .get(app.api(&path))
        .bearer_auth(&member.token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    expect_problem(res, StatusCode::FORBIDDEN, "not_event_staff").await;

    // A draft's registrations do not even exist for outsiders.
    set_event_status(&app, f.event_id, "draft").await;
    expect_problem(
        app.get(&path, member.token()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_json(app.get(&path, staff.token()).await, StatusCode::OK).await;
    expect_problem(
        app.get(
            &format!("/sessions/{}/registrations", uuid::Uuid::now_v7()),
            staff.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_registrant_lists_their_own_registrations() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(5),
            starts_in_hours: 48,
            ..Default::default()
        },
    )
    .await;
    let later = add_session(
        &app,
        f.event_id,
        &SessionSpec {
            title: "Second session",
            capacity: Some(0),
            starts_in_hours: 72,
            ..Default::default()
        },
    )
    .await;
    expect_problem(
        app.get("/me/registrations", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    let me = app.user("member").await;
    for session in [f.session_id, later] {
        let res = app
            .post(
                &format!("/sessions/{session}/registrations"),
                me.token(),
                json!({}),
            )
            .await;
        expect_json(res, StatusCode::CREATED).await;
    }
    // Someone else's registration is not mine.
    register_anon(&app, f.session_id, &unique_email("else")).await;

    let mine = expect_json(
        app.get("/me/registrations", me.token()).await,
        StatusCode::OK,
    )
    .await;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["session_id"], f.session_id.to_string());
    assert_eq!(items[0]["status"], "confirmed");
    assert_eq!(
        items[0]["session_title"],
        "Public seminar: R2P and atrocity prevention"
    );
    assert_eq!(
        items[0]["event_title"],
        "Japan National Dialogue on R2P 2022"
    );
    assert_eq!(items[0]["event_slug"], f.slug);
    assert!(items[0]["local_time"]
        .as_str()
        .unwrap()
        .ends_with("(Asia/Tokyo)"));
    assert_eq!(
        items[0]["online_url"],
        "https://meet.example.org/r2p-seminar"
    );
    assert_eq!(items[1]["status"], "waitlisted");
    assert_eq!(items[1]["waitlist_position"], 1);
    assert!(
        items[1].get("online_url").is_none(),
        "no link without a seat"
    );

    // The event's online link: shown to the holder of a seat, not to any other member.
    let event_path = format!("/events/{}", f.slug);
    let seen = expect_json(app.get(&event_path, me.token()).await, StatusCode::OK).await;
    assert_eq!(seen["online_url"], "https://meet.example.org/r2p-seminar");
    assert!(seen["staff"].is_null(), "a registrant is not staff");
    let stranger = app.user("member").await;
    let unseen = expect_json(app.get(&event_path, stranger.token()).await, StatusCode::OK).await;
    assert!(unseen["online_url"].is_null(), "no link without a seat");

    let page = expect_json(
        app.get("/me/registrations?limit=1", me.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = expect_json(
        app.get(
            &format!("/me/registrations?limit=1&cursor={cursor}"),
            me.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"][0]["session_id"], later.to_string());
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn the_event_report_shows_the_stakeholder_balance() {
    let app = TestApp::spawn().await;
    let f = published_event_with_session(
        &app,
        SessionSpec {
            capacity: Some(3),
            ..Default::default()
        },
    )
    .await;
    let closed = add_session(
        &app,
        f.event_id,
        &SessionSpec {
            title: "Closed session",
            access: "closed",
            starts_in_hours: 24 * 8,
            ..Default::default()
        },
    )
    .await;
    let gov = organization(
        &app,
        "Ministry of Foreign Affairs",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let cso = organization(
        &app,
        "Asia Pacific Centre for R2P",
        "civil_society",
        Some("AU"),
        "active",
    )
    .await;
    let path = format!("/sessions/{}/registrations", f.session_id);
    let bodies = [
        json!({"organization_id": gov, "country": "JP"}),
        json!({"organization_id": cso}),
        json!({"organization_name": "Independent"}),
        json!({"country": "KR"}),
    ];
    let mut ids = Vec::new();
    for (i, extra) in bodies.into_iter().enumerate() {
        let email = unique_email(&format!("rep{i}"));
        let mut body = json!({"email": email, "name": format!("Person {i}")});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        expect_json(app.post(&path, None, body).await, StatusCode::ACCEPTED).await;
        let token = confirm_token(&app, &email).await;
        let reg = expect_json(confirm(&app, &token).await, StatusCode::OK).await;
        ids.push(reg["id"].as_str().unwrap().to_owned());
    }
    register_anon(&app, f.session_id, &unique_email("pending")).await;
    let staff = app.user("organizer").await;
    add_staff(&app, f.event_id, &staff).await;
    expect_json(
        app.post(
            &format!("/registrations/{}/check-in", ids[0]),
            staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let report_path = format!("/events/{}/report", f.event_id);
    expect_problem(
        app.get(&report_path, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let member = app.user("member").await;
    expect_problem(
        app.get(&report_path, member.token()).await,
        StatusCode::FORBIDDEN,
        "not_event_staff",
    )
    .await;
    expect_problem(
        app.get(
            &format!("/events/{}/report", uuid::Uuid::now_v7()),
            staff.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let report = expect_json(app.get(&report_path, staff.token()).await, StatusCode::OK).await;
    assert_eq!(report["event_id"], f.event_id.to_string());
    let sessions = report["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let public = &sessions[0];
    assert_eq!(public["session_id"], f.session_id.to_string());
    assert_eq!(public["counts"]["confirmed"], 3);
    assert_eq!(public["counts"]["waitlisted"], 1);
    assert_eq!(public["counts"]["pending_confirmation"], 1);
    assert_eq!(public["counts"]["cancelled"], 0);
    assert_eq!(
        public["confirmed_by_organization_kind"],
        json!({"government": 1, "civil_society": 1, "unspecified": 1})
    );
    assert_eq!(
        public["confirmed_by_country"],
        json!({"JP": 1, "AU": 1, "unspecified": 1})
    );
    assert_eq!(public["checked_in"], 1);
    let rate = public["attendance_rate"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9);
    let closed_report = &sessions[1];
    assert_eq!(closed_report["session_id"], closed.to_string());
    assert_eq!(closed_report["counts"]["confirmed"], 0);
    assert!(closed_report["attendance_rate"].is_null());
    assert_eq!(
        report["invitations"],
        json!({"sent": 0, "accepted": 0, "declined": 0, "pending": 0, "expired": 0, "revoked": 0})
    );

    let admin = app.user("admin").await;
    expect_json(app.get(&report_path, admin.token()).await, StatusCode::OK).await;
    set_event_status(&app, f.event_id, "draft").await;
    expect_problem(
        app.get(&report_path, member.token()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
