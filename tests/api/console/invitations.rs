//! A dialogue's invitations and email in the console over HTTP: compose, preview (nothing
//! created), send exactly what was previewed, the invitee accepts through the emailed link,
//! resend and revoke; a failed email retried after correcting the address; staff only.

use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use super::{location, Visitor};
use crate::support::fixtures as fx;
use crate::support::smtp::Mode;
use crate::support::TestApp;

async fn signed_in(app: &TestApp, email: &str) -> Visitor {
    let visitor = Visitor::new(app);
    visitor.sign_in(email).await;
    visitor
}

async fn invitations(app: &TestApp, event_id: Uuid) -> i64 {
    fx::count(
        app,
        &format!("SELECT count(*) AS n FROM invitations WHERE event_id = '{event_id}'"),
    )
    .await
}

/// The Japanese network of the journey: government, academia and civil society with their
/// people, and organisations the audience must leave out.
pub(super) struct Network {
    pub mofa: String,
    pub waseda: String,
    pub jcsn: String,
    pub registered: String,
}

pub(super) async fn network(app: &TestApp, dialogue: &fx::Dialogue) -> Network {
    let person = |tag: &'static str, name: &'static str| async move {
        let email = fx::unique_email(tag);
        let id = fx::person(app, &email, name).await;
        (email, id)
    };
    let gov = fx::organization(
        app,
        "Ministry of Foreign Affairs of Japan",
        "government",
        Some("JP"),
        "active",
    )
    .await;
    let uni = fx::organization(app, "Waseda University", "academia", Some("JP"), "active").await;
    let ngo = fx::organization(
        app,
        "Japan Civil Society Network",
        "civil_society",
        Some("JP"),
        "active",
    )
    .await;
    fx::organization(
        app,
        "Tokyo Peace Forum",
        "civil_society",
        Some("JP"),
        "active",
    )
    .await;
    let think = fx::organization(
        app,
        "Sasakawa Think Tank",
        "think_tank",
        Some("JP"),
        "active",
    )
    .await;
    let korea = fx::organization(
        app,
        "Ministry of Foreign Affairs of Korea",
        "government",
        Some("KR"),
        "active",
    )
    .await;
    let suspended =
        fx::organization(app, "Dormant Agency", "government", Some("JP"), "suspended").await;
    let (mofa, id) = person("mofa", "Tanaka Hiroshi").await;
    fx::affiliate(app, id, gov, true).await;
    let (waseda, id) = person("waseda", "Sato Yuki").await;
    fx::affiliate(app, id, uni, true).await;
    let (jcsn, id) = person("jcsn", "Nguyễn Thị Lan").await;
    fx::affiliate(app, id, ngo, true).await;
    let (registered, id) = person("already", "Yamada Ken").await;
    fx::affiliate(app, id, uni, false).await;
    fx::registration(app, dialogue.closed[0], id, "confirmed").await;
    for (tag, org) in [("think", think), ("korea", korea), ("dormant", suspended)] {
        let (_, id) = person(tag, "Not Invited").await;
        fx::affiliate(app, id, org, true).await;
    }
    Network {
        mofa,
        waseda,
        jcsn,
        registered,
    }
}

#[tokio::test]
async fn an_organiser_invites_japan_by_audience_after_the_preview_then_resends_and_revokes() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let people = network(&app, &dialogue).await;
    let event = dialogue.event_id;
    let (a, b) = (
        dialogue.closed[0].to_string(),
        dialogue.closed[1].to_string(),
    );

    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let (page, token) = organiser
        .page(&format!("/manage/events/{event}/invitations/new"))
        .await;
    assert!(page.contains("Closed session I: R2P in Japan"));
    assert!(page.contains("Closed session II: Early warning"));
    assert!(!page.contains("Public seminar"), "only closed sessions");
    assert!(page.contains("<label for=\"kind-academia\">Academia</label>"));

    let fields = |token: &str| -> Vec<(&'static str, String)> {
        vec![
            ("csrf_token", token.to_owned()),
            ("session", a.clone()),
            ("session", b.clone()),
            ("kind", "government".to_owned()),
            ("kind", "academia".to_owned()),
            ("kind", "civil_society".to_owned()),
            ("countries", "JP".to_owned()),
            ("people", String::new()),
            (
                "message",
                "We would be honoured by your participation.".to_owned(),
            ),
            ("expires", String::new()),
        ]
    };
    let as_refs = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let post = |path: String, f: Vec<(&'static str, String)>| {
        let organiser = &organiser;
        async move {
            let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            organiser.post(&path, &refs).await
        }
    };
    let preview = format!("/manage/events/{event}/invitations/preview");

    // Without the form's token: refused.
    let mut no_token = fields("");
    no_token.remove(0);
    let res = post(preview.clone(), no_token).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Bad input: each problem by its field, what was typed kept, nothing created.
    let mut bad = as_refs(&fields(&token));
    bad.retain(|(k, _)| *k != "session");
    bad.iter_mut().find(|(k, _)| *k == "countries").unwrap().1 = "JP, XX".to_owned();
    bad.iter_mut().find(|(k, _)| *k == "people").unwrap().1 =
        "Someone, not-an-address\nKato Mai, kato@example.org, Unknown Institute".to_owned();
    let res = post(preview.clone(), bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"sessions-error\""), "{page}");
    assert!(page.contains("Line 1:"), "{page}");
    assert!(
        page.contains("Line 2: “Unknown Institute” is not an organisation"),
        "{page}"
    );
    assert!(page.contains("value=\"JP, XX\""), "typed text kept: {page}");
    assert!(page.contains("Kato Mai, kato@example.org, Unknown Institute"));
    assert_eq!(invitations(&app, event).await, 0);

    // The preview: who it reaches by kind and country, the empty organisation, the skipped.
    let res = post(preview.clone(), fields(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("<strong>3 people</strong> will be invited"),
        "{page}"
    );
    for row in [
        "<tr><td>Government</td><td>Japan</td><td>1</td><td>1</td></tr>",
        "<tr><td>Civil society</td><td>Japan</td><td>1</td><td>1</td></tr>",
        "<tr><td>Academia</td><td>Japan</td><td>1</td><td>1</td></tr>",
    ] {
        assert!(page.contains(row), "{row} in {page}");
    }
    assert!(page.contains(&people.mofa) && page.contains(&people.jcsn));
    assert!(
        page.contains("Tokyo Peace Forum (Civil society, Japan)"),
        "nobody to invite there"
    );
    assert!(page.contains(&format!(
        "{}: already registered for one of these sessions",
        people.registered
    )));
    for absent in ["Sasakawa", "Korea", "Dormant"] {
        assert!(!page.contains(absent), "{absent} is not in the audience");
    }
    assert!(page.contains("Send 3 invitations"));
    assert_eq!(
        invitations(&app, event).await,
        0,
        "a preview creates nothing"
    );
    assert_eq!(app.smtp.count(), 0, "and sends nothing");

    // Send re-posts the previewed fields.
    let res = post(
        format!("/manage/events/{event}/invitations/send"),
        fields(&token),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        format!("/manage/events/{event}/invitations?done=sent")
    );
    assert_eq!(invitations(&app, event).await, 3);
    let (list, _) = organiser.page(&location(&res)).await;
    assert!(list.contains("The invitations were sent."));
    assert!(list.contains("Tanaka Hiroshi") && list.contains("Nguyễn Thị Lan"));

    // The invitee accepts through the emailed link.
    let mail = fx::wait_for_mail(&app, &people.mofa, "Invitation:").await;
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail.first_link(&prefix).expect("a personal link");
    let path = &link[app.settings.public_url().len()..];
    let res = app
        .client
        .post(app.url(path))
        .form(&[
            ("response", "accept"),
            ("session_ids", &a),
            ("session_ids", &b),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (list, token) = organiser
        .page(&format!(
            "/manage/events/{event}/invitations?status=accepted"
        ))
        .await;
    assert!(list.contains("Tanaka Hiroshi"), "{list}");
    assert!(!list.contains("Sato Yuki"), "filtered by status");
    assert!(list.contains("Closed session I: R2P in Japan (accepted)"));

    // Resend the one not answered: a new link, and it says so.
    let waseda_invitation = fx::text(
        &app,
        &format!(
            "SELECT i.id::text AS v FROM invitations i JOIN people p ON p.id = i.person_id \
             WHERE p.email = '{}'",
            people.waseda
        ),
    )
    .await
    .unwrap();
    let resend = format!("/manage/invitations/{waseda_invitation}/resend");
    assert_eq!(
        organiser.post(&resend, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = organiser.post(&resend, &[("csrf_token", &token)]).await;
    assert_eq!(
        location(&res),
        format!("/manage/events/{event}/invitations?done=resent")
    );
    fx::wait_for_mails(&app, &people.waseda, "Invitation:", 2).await;
    let generation = fx::text(
        &app,
        &format!("SELECT generation::text AS v FROM invitations WHERE id = '{waseda_invitation}'"),
    )
    .await;
    assert_eq!(generation.as_deref(), Some("2"));

    // Revoke the accepted one: the page says what it cancels, then it is done.
    let mofa_invitation = fx::text(
        &app,
        &format!(
            "SELECT i.id::text AS v FROM invitations i JOIN people p ON p.id = i.person_id \
             WHERE p.email = '{}'",
            people.mofa
        ),
    )
    .await
    .unwrap();
    let revoke = format!("/manage/invitations/{mofa_invitation}/revoke");
    let (confirm, token) = organiser.page(&revoke).await;
    assert!(
        confirm.contains("Their place in Closed session I: R2P in Japan and Closed session II: Early warning is cancelled"),
        "{confirm}"
    );
    assert!(confirm.contains("stops working"));
    let live = format!(
        "SELECT count(*) AS n FROM registrations WHERE invitation_id = '{mofa_invitation}' \
         AND status = 'confirmed'"
    );
    assert_eq!(
        fx::count(&app, &live).await,
        2,
        "nothing changed by the page"
    );
    let res = organiser.post(&revoke, &[("csrf_token", &token)]).await;
    assert_eq!(
        location(&res),
        format!("/manage/events/{event}/invitations?done=revoked")
    );
    assert_eq!(fx::count(&app, &live).await, 0);
    fx::wait_for_mail(&app, &people.mofa, "Invitation withdrawn").await;

    // Email status lists the dialogue's messages.
    let (emails, _) = organiser
        .page(&format!("/manage/events/{event}/emails"))
        .await;
    assert!(emails.contains(&people.jcsn) && emails.contains("Invitation withdrawn"));

    // Someone who does not run the dialogue sees none of it.
    let member = app.user("member").await;
    let member = signed_in(&app, &member.email).await;
    for path in [
        format!("/manage/events/{event}/invitations"),
        format!("/manage/events/{event}/invitations/new"),
        format!("/manage/events/{event}/emails"),
    ] {
        assert_eq!(
            member.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (_, member_token) = member.page("/account").await;
    let res = member
        .post(
            &preview,
            &[("csrf_token", member_token.as_str()), ("session", &a)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = member.get(&revoke).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "not theirs to know");
}

#[tokio::test]
async fn a_failed_invitation_is_retried_after_correcting_the_address() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let event = dialogue.event_id;
    let a = dialogue.closed[0].to_string();
    let organiser = signed_in(&app, &dialogue.staff.email).await;
    let (_, token) = organiser
        .page(&format!("/manage/events/{event}/invitations/new"))
        .await;

    app.smtp.set_mode(Mode::PermFail);
    let wrong = fx::unique_email("tanaka").replace("@example.org", "@mofa.example");
    let line = format!("Tanaka Hiroshi, {wrong}");
    let res = organiser
        .post(
            &format!("/manage/events/{event}/invitations/send"),
            &[
                ("csrf_token", token.as_str()),
                ("session", &a),
                ("people", &line),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let failed = format!(
        "SELECT count(*) AS n FROM emails WHERE event_id = '{event}' AND status = 'failed'"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while fx::count(&app, &failed).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the email never failed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.smtp.set_mode(Mode::Accept);

    let (page, _) = organiser
        .page(&format!("/manage/events/{event}/emails?status=failed"))
        .await;
    assert!(page.contains(&wrong) && page.contains("failed"), "{page}");
    assert!(page.contains("550"), "why it failed: {page}");
    let email_id = fx::text(
        &app,
        &format!(
            "SELECT id::text AS v FROM emails WHERE event_id = '{event}' AND status = 'failed'"
        ),
    )
    .await
    .unwrap();
    let retry = format!("/manage/emails/{email_id}/retry");
    let (form, token) = organiser.page(&retry).await;
    assert!(
        form.contains("sent again to the address below, with a new link"),
        "{form}"
    );

    // A bad address: said by the field, kept, nothing changed.
    let res = organiser
        .post(
            &retry,
            &[("csrf_token", token.as_str()), ("email", "tanaka at mofa")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"email-error\"") && page.contains("value=\"tanaka at mofa\""));
    assert_eq!(fx::count(&app, &failed).await, 1);

    let right = fx::unique_email("tanaka");
    let res = organiser
        .post(&retry, &[("csrf_token", token.as_str()), ("email", &right)])
        .await;
    if res.status() != StatusCode::SEE_OTHER {
        panic!("{}", res.text().await.unwrap());
    }
    assert_eq!(
        location(&res),
        format!("/manage/events/{event}/emails?done=retried")
    );
    let mail = fx::wait_for_mail(&app, &right, "Invitation:").await;
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail.first_link(&prefix).expect("a new personal link");
    let path = &link[app.settings.public_url().len()..];
    let res = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the new link works");
    let corrected = fx::count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM people WHERE email = '{right}' AND name = 'Tanaka Hiroshi'"
        ),
    )
    .await;
    assert_eq!(corrected, 1, "the person's address is corrected");
    assert_eq!(fx::count(&app, &failed).await, 0);
    let (page, _) = organiser.page(&res_location(&event)).await;
    assert!(page.contains("The address was corrected"));

    // Only failed messages are retried.
    let res = organiser.get(&retry).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

fn res_location(event: &Uuid) -> String {
    format!("/manage/events/{event}/emails?done=retried")
}

#[tokio::test]
async fn the_api_previews_invitations_without_creating_any() {
    let app = TestApp::spawn().await;
    let dialogue = fx::dialogue(&app).await;
    let people = network(&app, &dialogue).await;
    let event = dialogue.event_id;
    let body = serde_json::json!({
        "session_ids": [dialogue.closed[0]],
        "audience": {"organization_kinds": ["government", "academia", "civil_society"], "countries": ["JP"]},
        "invitees": [{"email": "new.person@example.org", "name": "Kato Mai"}, {"email": people.mofa}]
    });
    let path = format!("/events/{event}/invitations/preview");
    let res = app
        .post(&path, Some(&dialogue.staff.token), body.clone())
        .await;
    let preview = crate::support::expect_json(res, StatusCode::OK).await;
    let emails: Vec<&str> = preview["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 4, "{preview}");
    assert!(emails.contains(&"new.person@example.org") && emails.contains(&people.mofa.as_str()));
    assert_eq!(preview["invitees"][0]["new_person"], true);
    assert_eq!(
        preview["organizations_without_people"][0]["name"],
        "Tokyo Peace Forum"
    );
    assert_eq!(preview["skipped"][0]["reason"], "already_registered");
    assert!(preview["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["kind"] == "academia" && g["country"] == "JP" && g["invitees"] == 1));
    assert_eq!(invitations(&app, event).await, 0);
    assert_eq!(
        fx::count(
            &app,
            "SELECT count(*) AS n FROM people WHERE email = 'new.person@example.org'"
        )
        .await,
        0,
        "nobody created"
    );

    let res = app
        .post(
            &path,
            Some(&dialogue.staff.token),
            serde_json::json!({"session_ids": [], "audience": {"countries": ["XX"]}}),
        )
        .await;
    let problem =
        crate::support::expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    assert!(
        problem.to_string().contains("audience.countries[0]"),
        "{problem}"
    );
    let member = app.user("member").await;
    let res = app.post(&path, Some(&member.token), body).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
