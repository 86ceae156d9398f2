//! Setting up a dialogue in the console, as a browser without JavaScript does it: the Japan
//! 2022 dialogue from nothing (a new series, the event in Tokyo time, two closed sessions and
//! the public online seminar, partners with their roles, speakers in order, staff), published;
//! the confirmation pages that say who will be emailed (cancel, a moved session, a deleted
//! one); and the refusals (a member, a form without its token, bad input that changes nothing).

use reqwest::StatusCode;

use super::{csrf_of, location, Visitor};
use crate::support::fixtures as fx;
use crate::support::TestApp;

/// The event id in a `/manage/events/{id}/edit…` address.
fn event_of(address: &str) -> String {
    address
        .trim_start_matches("/manage/events/")
        .split('/')
        .next()
        .expect("an id")
        .to_owned()
}

/// The session id in a `/manage/sessions/{id}/edit…` address.
fn session_of(address: &str) -> String {
    address
        .trim_start_matches("/manage/sessions/")
        .split('/')
        .next()
        .expect("an id")
        .to_owned()
}

async fn post_ok(visitor: &Visitor, path: &str, fields: &[(&str, &str)]) -> String {
    let res = visitor.post(path, fields).await;
    let status = res.status();
    if status != StatusCode::SEE_OTHER {
        panic!("POST {path}: {status}\n{}", res.text().await.unwrap());
    }
    location(&res)
}

#[tokio::test]
async fn an_organiser_sets_up_the_japan_dialogue_from_nothing_and_publishes_it() {
    let app = TestApp::spawn().await;
    let apr2p = fx::organization(
        &app,
        "Asia-Pacific Centre for R2P",
        "civil_society",
        Some("AU"),
        "active",
    )
    .await;
    let siir = fx::organization(
        &app,
        "Sophia Institute of International Relations",
        "academia",
        Some("JP"),
        "active",
    )
    .await;
    let network = fx::organization(
        &app,
        "R2P Network of Japan",
        "civil_society",
        Some("JP"),
        "active",
    )
    .await;
    let dfat = fx::organization(
        &app,
        "Australian Department of Foreign Affairs and Trade",
        "government",
        Some("AU"),
        "active",
    )
    .await;
    let hoshino = fx::person(&app, &fx::unique_email("hoshino"), "Toshiya Hoshino").await;
    let organiser = app.user("organizer").await;
    let colleague = app
        .user_with_email("organizer", &fx::unique_email("colleague"), "Keiko Ito")
        .await;

    let visitor = Visitor::new(&app);
    visitor.sign_in(&organiser.email).await;
    let (page, token) = visitor.page("/manage/events").await;
    assert!(page.contains("href=\"/manage/events/new\""));
    let (page, _) = visitor.page("/manage/events/new").await;
    assert!(
        page.contains("<datalist id=\"zones\">") && page.contains("<option value=\"Asia/Tokyo\">")
    );

    // A failed form keeps what was typed and creates nothing, not even the new series.
    let series_name = "Japan National Dialogue on R2P and Atrocities Prevention";
    let res = visitor
        .post(
            "/manage/events/new",
            &[
                ("csrf_token", &token),
                ("new_series", series_name),
                ("title", "Japan National Dialogue 2022"),
                ("country", "JP"),
                ("timezone", "Tokyo"),
                ("format", "online"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("value=\"Tokyo\""), "kept as typed");
    assert!(page.contains("is not an IANA time zone name"), "{page}");
    assert!(page.contains("is required for a online event") || page.contains("online_url"));
    assert_eq!(fx::count(&app, "SELECT count(*) AS n FROM series").await, 0);
    assert_eq!(fx::count(&app, "SELECT count(*) AS n FROM events").await, 0);

    let edit = post_ok(
        &visitor,
        "/manage/events/new",
        &[
            ("csrf_token", &token),
            ("new_series", series_name),
            ("title", "Japan National Dialogue 2022"),
            ("slug", "japan-2022"),
            ("summary", "The first national dialogue on R2P in Japan."),
            ("country", "JP"),
            ("timezone", "Asia/Tokyo"),
            ("format", "online"),
            ("online_url", "https://zoom.example/j/2022"),
        ],
    )
    .await;
    assert!(edit.ends_with("/edit?done=created"), "{edit}");
    let event = event_of(&edit);
    let (page, _) = visitor.page(&edit).await;
    assert!(page.contains("created as a draft"));
    assert!(page.contains(&format!(
        "<option value=\"{}\" selected>",
        fx::text(&app, "SELECT id::text AS v FROM series")
            .await
            .unwrap()
    )));
    assert_eq!(
        fx::text(&app, &format!("SELECT s.name || '/' || e.timezone || '/' || e.status AS v FROM events e JOIN series s ON s.id = e.series_id WHERE e.id = '{event}'")).await.as_deref(),
        Some(&*format!("{series_name}/Asia/Tokyo/draft"))
    );

    // Sessions, typed in Tokyo time.
    let (page, _) = visitor
        .page(&format!("/manage/events/{event}/sessions/new"))
        .await;
    assert!(page.contains("<strong>Asia/Tokyo</strong>"));
    let sessions = [
        (
            "Closed session I: R2P and Japan",
            "closed",
            "2022-02-17T09:30",
            "2022-02-17T12:00",
            "30",
            "",
        ),
        (
            "Closed session II: Atrocity prevention in the region",
            "closed",
            "2022-02-17T14:00",
            "2022-02-17T17:00",
            "30",
            "",
        ),
        (
            "Public seminar: Japan and the Responsibility to Protect",
            "public",
            "2022-02-18T16:00",
            "2022-02-18T18:00",
            "100",
            "no",
        ),
    ];
    let mut ids = Vec::new();
    for (title, access, starts, ends, capacity, chatham) in sessions {
        let at = post_ok(
            &visitor,
            &format!("/manage/events/{event}/sessions/new"),
            &[
                ("csrf_token", &token),
                ("title", title),
                ("access", access),
                ("starts_at", starts),
                ("ends_at", ends),
                ("capacity", capacity),
                ("waitlist", "yes"),
                ("chatham_house", chatham),
            ],
        )
        .await;
        assert!(at.ends_with("/edit?done=created"), "{at}");
        ids.push(session_of(&at));
    }
    let stored = fx::texts(
        &app,
        &format!("SELECT access || ' ' || to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || chatham_house || ' ' || capacity AS v FROM sessions WHERE event_id = '{event}' ORDER BY starts_at"),
    )
    .await;
    assert_eq!(
        stored,
        vec![
            Some("closed 2022-02-17 00:30 true 30".to_owned()),
            Some("closed 2022-02-17 05:00 true 30".to_owned()),
            Some("public 2022-02-18 07:00 false 100".to_owned()),
        ],
        "Tokyo wall-clock times stored in UTC; Chatham House on for closed sessions"
    );
    // A session's page shows its times back in Tokyo time.
    let seminar = &ids[2];
    let (page, _) = visitor
        .page(&format!("/manage/sessions/{seminar}/edit"))
        .await;
    assert!(page.contains("value=\"2022-02-18T16:00\""), "{page}");
    assert!(page.contains("Fri 18 Feb 2022, 16:00–18:00 JST (Asia/Tokyo)"));

    // A bad session form changes nothing and keeps what was typed.
    let res = visitor
        .post(
            &format!("/manage/events/{event}/sessions/new"),
            &[
                ("csrf_token", &token),
                ("title", "Backwards"),
                ("access", "closed"),
                ("starts_at", "2022-02-18T12:00"),
                ("ends_at", "2022-02-18T10:00"),
                ("capacity", "many"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("value=\"many\"") && page.contains("whole number"),
        "{page}"
    );
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM sessions").await,
        3
    );

    // Speakers: one picked from the people in Convene, one typed; then reordered.
    let (page, _) = visitor
        .page(&format!("/manage/sessions/{seminar}/edit?find=hoshino"))
        .await;
    assert!(
        page.contains(&format!("<option value=\"{hoshino}\"")),
        "found: {page}"
    );
    let speakers = format!("/manage/sessions/{seminar}/speakers");
    let hoshino_id = hoshino.to_string();
    post_ok(
        &visitor,
        &speakers,
        &[
            ("csrf_token", &token),
            ("person_id", &hoshino_id),
            ("name", "Prof. Toshiya Hoshino"),
            ("organization", "Osaka University"),
            ("role", "presenter"),
        ],
    )
    .await;
    post_ok(
        &visitor,
        &speakers,
        &[
            ("csrf_token", &token),
            ("name", "Mr. Ryuichi Ishii"),
            ("organization", "Ministry of Foreign Affairs of Japan"),
            ("role", "opening_remarks"),
        ],
    )
    .await;
    let res = visitor
        .post(
            &speakers,
            &[
                ("csrf_token", &token),
                ("name", "Nobody"),
                ("role", "juggler"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown role"
    );
    assert!(res.text().await.unwrap().contains("value=\"Nobody\""));
    let ishii = fx::text(
        &app,
        "SELECT id::text AS v FROM speakers WHERE name = 'Mr. Ryuichi Ishii'",
    )
    .await
    .unwrap();
    let at = post_ok(
        &visitor,
        &format!("/manage/speakers/{ishii}/up"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(
        at,
        format!("/manage/sessions/{seminar}/edit?done=speaker_moved#speakers")
    );
    assert_eq!(
        fx::texts(&app, &format!("SELECT name || ' ' || role || ' ' || sort_order AS v FROM speakers WHERE session_id = '{seminar}' ORDER BY sort_order")).await,
        vec![Some("Mr. Ryuichi Ishii opening_remarks 1".to_owned()), Some("Prof. Toshiya Hoshino presenter 2".to_owned())]
    );
    let hoshino_speaker = fx::text(
        &app,
        "SELECT person_id::text AS v FROM speakers WHERE name = 'Prof. Toshiya Hoshino'",
    )
    .await;
    assert_eq!(
        hoshino_speaker,
        Some(hoshino_id.clone()),
        "picked, not typed"
    );

    // Partners with their roles; adding one again changes its role.
    let partners = format!("/manage/events/{event}/partners");
    for (org, role) in [
        (apr2p, "organizer"),
        (siir, "co_organizer"),
        (network, "supporter"),
        (dfat, "funder"),
        (network, "co_organizer"),
    ] {
        let org = org.to_string();
        post_ok(
            &visitor,
            &partners,
            &[
                ("csrf_token", &token),
                ("organization_id", &org),
                ("role", role),
            ],
        )
        .await;
    }
    let res = visitor
        .post(
            &partners,
            &[
                ("csrf_token", &token),
                ("organization_id", &apr2p.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "no role");
    assert_eq!(
        fx::texts(&app, &format!("SELECT o.name || ': ' || p.role AS v FROM event_partners p JOIN organizations o ON o.id = p.organization_id WHERE p.event_id = '{event}' ORDER BY o.name")).await,
        vec![
            Some("Asia-Pacific Centre for R2P: organizer".to_owned()),
            Some("Australian Department of Foreign Affairs and Trade: funder".to_owned()),
            Some("R2P Network of Japan: co_organizer".to_owned()),
            Some("Sophia Institute of International Relations: co_organizer".to_owned()),
        ]
    );

    // Staff: a colleague added, then taken off after the confirmation page.
    post_ok(
        &visitor,
        &format!("/manage/events/{event}/staff"),
        &[
            ("csrf_token", &token),
            ("account_id", &colleague.account_id),
        ],
    )
    .await;
    let remove = format!(
        "/manage/events/{event}/staff/{}/remove",
        colleague.account_id
    );
    let (page, _) = visitor.page(&remove).await;
    assert!(page.contains("Take Keiko Ito off the staff?"));
    post_ok(&visitor, &remove, &[("csrf_token", &token)]).await;
    // The last one cannot go: the page says why and offers no button.
    let (page, _) = visitor
        .page(&format!(
            "/manage/events/{event}/staff/{}/remove",
            organiser.account_id
        ))
        .await;
    assert!(
        page.contains("only staff member") && !page.contains("Take them off the staff</button>")
    );
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM event_staff WHERE event_id = '{event}'")
        )
        .await,
        1
    );

    // Publish, after the page that says nobody is emailed.
    let (page, _) = visitor
        .page(&format!("/manage/events/{event}/publish"))
        .await;
    assert!(
        page.contains("Nobody is emailed when it is published."),
        "{page}"
    );
    assert!(page.contains("/events/japan-2022"));
    let at = post_ok(
        &visitor,
        &format!("/manage/events/{event}/publish"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(at, format!("/manage/events/{event}/edit?done=publish"));
    let view: serde_json::Value = app
        .get("/events/japan-2022", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "published");
    assert_eq!(view["timezone"], "Asia/Tokyo");
    assert_eq!(view["partners"].as_array().unwrap().len(), 4);
    assert_eq!(
        view["partners"][0]["role"], "organizer",
        "lead organiser first"
    );
    assert_eq!(
        view["sessions"][2]["speakers"][0]["name"],
        "Mr. Ryuichi Ishii"
    );
    assert_eq!(
        view["sessions"][2]["starts_at_local"],
        "2022-02-18T16:00:00+09:00"
    );
    assert!(
        view["sessions"][0].get("speakers").is_none(),
        "closed: no details for the public"
    );
}

#[tokio::test]
async fn confirmation_pages_say_who_will_be_emailed_and_a_move_tells_them() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let event = dialogue.event_id;
    let email = fx::unique_email("lan");
    let lan = fx::person(&app, &email, "Nguyễn Thị Lan").await;
    fx::registration(&app, dialogue.public, lan, "confirmed").await;

    let visitor = Visitor::new(&app);
    visitor.sign_in(&dialogue.staff.email).await;
    let edit = format!("/manage/sessions/{}/edit", dialogue.public);
    let (page, token) = visitor.page(&edit).await;
    let value = |name: &str| {
        let marker = format!("name=\"{name}\" type=\"datetime-local\" value=\"");
        let start = page
            .find(&marker)
            .map(|i| i + marker.len())
            .expect("a time field");
        page[start..start + 16].to_owned()
    };
    // The same day in Tokyo, at another time.
    let day = value("starts_at")[..11].to_owned();
    let (new_starts, new_ends) = (format!("{day}20:17"), format!("{day}21:30"));
    let fields = |confirm: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("title", "Public seminar".to_owned()),
            ("access", "public".to_owned()),
            ("starts_at", new_starts.clone()),
            ("ends_at", new_ends.clone()),
            ("waitlist", "yes".to_owned()),
            ("chatham_house", "no".to_owned()),
            ("confirm_move", confirm.to_owned()),
        ]
    };
    let before = "SELECT to_char(starts_at, 'YYYY-MM-DD HH24:MI') AS v FROM sessions WHERE title = 'Public seminar'";
    let was = fx::text(&app, before).await;
    let form = fields("");
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = visitor.post(&edit, &borrowed).await;
    assert_eq!(res.status(), StatusCode::OK, "a move is confirmed first");
    let page = res.text().await.unwrap();
    assert!(page.contains("Move Public seminar?"));
    assert!(
        page.contains("1 person registered for it will be emailed the new time"),
        "{page}"
    );
    assert!(
        page.contains("Nguyễn Thị Lan") && page.contains(&email) && page.contains("confirmed seat")
    );
    assert!(
        page.contains(&format!("value=\"{new_starts}\"")),
        "the typed fields ride along"
    );
    assert_eq!(fx::text(&app, before).await, was, "nothing changed yet");

    let form = fields("yes");
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let at = post_ok(&visitor, &edit, &borrowed).await;
    assert_eq!(at, format!("{edit}?done=moved"));
    assert_ne!(fx::text(&app, before).await, was);
    let mail = fx::wait_for_mail(&app, &email, "New time: Public seminar").await;
    assert!(mail.text_body().contains("20:17"), "{}", mail.text_body());

    // Deleting: refused while someone is registered, confirmed otherwise.
    let (page, _) = visitor
        .page(&format!("/manage/sessions/{}/delete", dialogue.public))
        .await;
    assert!(page.contains("cannot be deleted") && page.contains("1 live registration"));
    assert!(!page.contains("Delete the session</button>"));
    let closed = dialogue.closed[1];
    let (page, _) = visitor
        .page(&format!("/manage/sessions/{closed}/delete"))
        .await;
    assert!(
        page.contains("Delete Closed session II: Early warning?")
            && page.contains("Nobody is emailed.")
    );
    let res = visitor
        .post(&format!("/manage/sessions/{closed}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    post_ok(
        &visitor,
        &format!("/manage/sessions/{closed}/delete"),
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(
        fx::count(
            &app,
            &format!("SELECT count(*) AS n FROM sessions WHERE id = '{closed}'")
        )
        .await,
        0
    );

    // Cancelling names everyone it emails, and changes nothing until confirmed.
    let (page, _) = visitor
        .page(&format!("/manage/events/{event}/cancel"))
        .await;
    assert!(
        page.contains("1 person will be emailed once each"),
        "{page}"
    );
    assert!(page.contains(&email) && page.contains("registered"));
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT status AS v FROM events WHERE id = '{event}'")
        )
        .await
        .as_deref(),
        Some("published")
    );
}

#[tokio::test]
async fn a_member_who_is_not_staff_is_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let event = dialogue.event_id;
    let session = dialogue.public;
    let member = app.user("member").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&member.email).await;
    let (_, token) = visitor.page("/account").await;
    for path in [
        "/manage/events/new".to_owned(),
        format!("/manage/events/{event}/edit"),
        format!("/manage/events/{event}/publish"),
        format!("/manage/events/{event}/cancel"),
        format!("/manage/events/{event}/sessions/new"),
        format!("/manage/sessions/{session}/edit"),
        format!("/manage/sessions/{session}/delete"),
    ] {
        assert_eq!(
            visitor.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "GET {path}"
        );
    }
    for path in [
        format!("/manage/events/{event}/edit"),
        format!("/manage/events/{event}/cancel"),
        format!("/manage/sessions/{session}/delete"),
    ] {
        let res = visitor
            .post(&path, &[("csrf_token", &token), ("title", "Taken over")])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(fx::count(&app, &format!("SELECT count(*) AS n FROM events WHERE id = '{event}' AND status = 'published' AND title <> 'Taken over'")).await, 1);
    assert_eq!(
        fx::count(&app, "SELECT count(*) AS n FROM sessions").await,
        3
    );

    // An organiser who does not run it: 403 for a published dialogue, as the API answers.
    let stranger = app.user("organizer").await;
    let other = Visitor::new(&app);
    other.sign_in(&stranger.email).await;
    assert_eq!(
        other
            .get(&format!("/manage/events/{event}/edit"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The staff's own form without its token changes nothing.
    let staff = Visitor::new(&app);
    staff.sign_in(&dialogue.staff.email).await;
    let (page, _) = staff.page(&format!("/manage/events/{event}/edit")).await;
    assert!(csrf_of(&page).is_some());
    let res = staff
        .post(&format!("/manage/events/{event}/publish"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_api_moves_speakers_and_removes_staff_but_not_the_last() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let event = dialogue.event_id;
    let token = dialogue.staff.token.as_str();
    let speakers = format!("/sessions/{}/speakers", dialogue.public);
    for name in ["A", "B", "C"] {
        let res = app
            .post(
                &speakers,
                Some(token),
                serde_json::json!({"name": name, "role": "presenter"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let c = fx::text(&app, "SELECT id::text AS v FROM speakers WHERE name = 'C'")
        .await
        .unwrap();
    let res = app
        .post(
            &format!("/speakers/{c}/move"),
            Some(token),
            serde_json::json!({"direction": "up"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: serde_json::Value = res.json().await.unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A", "C", "B"]);
    let res = app
        .post(
            &format!("/speakers/{c}/move"),
            Some(token),
            serde_json::json!({"direction": "sideways"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let member = app.user("member").await;
    let res = app
        .post(
            &format!("/speakers/{c}/move"),
            Some(&member.token),
            serde_json::json!({"direction": "up"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let own = format!("/events/{event}/staff/{}", dialogue.staff.account_id);
    let res = app.delete(&own, Some(token)).await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "the last staff member stays"
    );
    let colleague = app.user("organizer").await;
    let res = app
        .post(
            &format!("/events/{event}/staff"),
            Some(token),
            serde_json::json!({"account_id": colleague.account_id}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .delete(
            &format!("/events/{event}/staff/{}", colleague.account_id),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(
            &format!("/events/{event}/staff/{}", colleague.account_id),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
