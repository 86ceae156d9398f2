//! The audit trail as an admin reads it: sentences, field-by-field differences, times in a
//! named zone, filters and pages; an organisation's page with its history and its dialogues;
//! the console closed to members and to other sites' forms.

use reqwest::StatusCode;
use serde_json::json;

use super::{location, Visitor};
use crate::support::fixtures as fx;
use crate::support::TestApp;

#[tokio::test]
async fn an_edit_reads_as_a_sentence_with_each_changed_field() {
    let app = TestApp::spawn().await;
    let org = fx::organization(&app, "Sophia University", "academia", Some("JP"), "active").await;
    let admin = app
        .user_with_email("admin", &fx::unique_email("admin"), "Mina Sato")
        .await;
    let other = app.user("admin").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let path = format!("/manage/organizations/{org}");
    let (_, token) = visitor.page(&path).await;
    let res = visitor
        .post(
            &path,
            &[
                ("csrf_token", &token),
                ("name", "Sophia University Tokyo"),
                ("kind", "academia"),
                ("country", "JP"),
                ("website", "https://www.sophia.ac.jp"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let (trail, _) = visitor.page("/manage/audit").await;
    assert!(
        trail.contains(&format!(
            "<a href=\"/manage/people/{}\">Mina Sato</a> edited the details of the organisation <a href=\"/manage/organizations/{org}\">Sophia University Tokyo</a>.",
            admin.person_id
        )),
        "{trail}"
    );
    assert!(trail.contains(
        "<tr><th scope=\"row\">Name</th><td>Sophia University</td><td>Sophia University Tokyo</td></tr>"
    ));
    assert!(
        trail.contains(
            "<tr><th scope=\"row\">Website</th><td>(none)</td><td>https://www.sophia.ac.jp"
        ),
        "{trail}"
    );
    assert!(
        !trail.contains("scope=\"row\">Country<"),
        "unchanged fields are not listed"
    );
    assert!(trail.contains("Times are in Australia/Brisbane (AEST)."));
    assert!(trail.contains(" AEST · "));

    // The organisation's page shows the same entry and leads to its whole history.
    let (page, _) = visitor.page(&path).await;
    assert!(page.contains("edited the details of the organisation"));
    let history = format!("/manage/audit?target=organization:{org}");
    assert!(page.contains(&history));
    let (page, _) = visitor.page(&history).await;
    assert!(page.contains("The history of the organisation"));
    assert!(page.contains("edited the details of"));

    // Filters: by action, by who, by kind of record; times in another zone.
    let (page, _) = visitor.page("/manage/audit?action=approve").await;
    assert!(page.contains("No changes recorded yet."));
    let (page, _) = visitor.page("/manage/audit?action=update").await;
    assert!(page.contains("edited the details of"));
    let (page, _) = visitor
        .page(&format!("/manage/audit?actor={}", other.account_id))
        .await;
    assert!(!page.contains("edited the details of"));
    let (page, _) = visitor
        .page(&format!("/manage/audit?actor={}", admin.account_id))
        .await;
    assert!(page.contains("edited the details of"));
    let (page, _) = visitor.page("/manage/audit?kind=person").await;
    assert!(!page.contains("edited the details of"));
    let (page, _) = visitor.page("/manage/audit?tz=Asia%2FTokyo").await;
    assert!(page.contains(" JST · ") && page.contains("Times are in Asia/Tokyo (JST)."));

    // A bad filter is explained beside its field and lists nothing.
    let res = visitor
        .get("/manage/audit?tz=Mars%2FOlympus&actor=nobody")
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"tz-error\"") && body.contains("id=\"actor-error\""));
    assert!(!body.contains("edited the details of"));
}

#[tokio::test]
async fn the_trail_pages_through_older_changes() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let org = fx::organization(
        &app,
        "Asia Justice Coalition",
        "civil_society",
        Some("PH"),
        "active",
    )
    .await;
    for n in 0..27 {
        let res = app
            .patch(
                &format!("/organizations/{org}"),
                Some(&admin.token),
                json!({"short_name": format!("AJC{n}")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let (first, _) = visitor.page("/manage/audit?action=update").await;
    assert_eq!(first.matches("edited the details of").count(), 25);
    assert!(
        first.contains("<td>AJC25</td><td>AJC26</td>"),
        "newest first"
    );
    let marker = "<p><a href=\"";
    let start = first.rfind(marker).expect("a link to older changes") + marker.len();
    let next = first[start..first[start..].find('"').unwrap() + start].replace("&amp;", "&");
    assert!(
        next.contains("action=update") && next.contains("cursor="),
        "{next}"
    );
    let (second, _) = visitor.page(&next).await;
    assert_eq!(second.matches("edited the details of").count(), 2);
    assert!(second.contains("<td>(none)</td><td>AJC0</td>"));
    assert!(!second.contains("Older changes"));
}

#[tokio::test]
async fn an_organisation_page_lists_its_dialogues_as_partner() {
    let app = TestApp::spawn().await;
    let org = fx::organization(
        &app,
        "Sophia Institute of International Relations",
        "academia",
        Some("JP"),
        "active",
    )
    .await;
    let dialogue = fx::dialogue(&app).await;
    app.sql(&format!(
        "INSERT INTO event_partners (event_id, organization_id, role) VALUES ('{}', '{org}', 'co_organizer')",
        dialogue.event_id
    ))
    .await;
    let admin = app.user("admin").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let (page, _) = visitor.page(&format!("/manage/organizations/{org}")).await;
    assert!(page.contains(&format!(
        "<a href=\"/manage/events/{}\">Japan National Dialogue on R2P and Atrocities Prevention</a>",
        dialogue.event_id
    )), "{page}");
    assert!(page.contains("<td>Co-organiser</td>"));
    assert!(
        page.contains("JST (Asia/Tokyo)"),
        "the first session in the dialogue's zone"
    );
    let other = fx::organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let (page, _) = visitor
        .page(&format!("/manage/organizations/{other}"))
        .await;
    assert!(page.contains("not a partner of any dialogue yet"));
    // Its history, empty, still names it.
    let (page, _) = visitor
        .page(&format!("/manage/audit?target=organization:{other}"))
        .await;
    assert!(page.contains("The history of the organisation"));
    assert!(page.contains(">Waseda University</a>") && page.contains("No changes recorded yet."));
}

#[tokio::test]
async fn members_get_a_polite_refusal_and_other_sites_cannot_post() {
    let app = TestApp::spawn().await;
    let org = fx::organization(&app, "Peace Lab", "think_tank", Some("KR"), "active").await;
    let member = app.user("member").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&member.email).await;
    for path in [
        "/manage",
        "/manage/audit",
        "/manage/organizations/import",
        "/manage/organizations/import/template.csv",
    ] {
        let res = visitor.get(path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("This page is for the secretariat"),
            "{path}: {body}"
        );
        assert!(body.contains("Go to your account"));
    }
    let res = visitor
        .upload(
            "/manage/organizations/import",
            &[],
            "file",
            "o.csv",
            b"name,kind\nX,academia\n",
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // An admin's own session, a valid form token, but the form is on another site's page.
    let admin = app.user("admin").await;
    let visitor = Visitor::new(&app);
    visitor.sign_in(&admin.email).await;
    let path = format!("/manage/organizations/{org}");
    let (_, token) = visitor.page(&path).await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("name", "Hijacked"),
        ("kind", "think_tank"),
        ("country", "KR"),
    ];
    let res = visitor
        .post_from("https://evil.example", &path, &fields)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = visitor
        .post_from("https://evil.example", &format!("{path}/withdraw"), &fields)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        fx::text(
            &app,
            &format!(
                "SELECT name || ' ' || status::text AS v FROM organizations WHERE id = '{org}'"
            )
        )
        .await
        .as_deref(),
        Some("Peace Lab active")
    );
    // The same form from Convene's own page goes through.
    let res = visitor.post(&path, &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?done=updated"));
}
