//! The admin's work on people and accounts over HTTP with a cookie jar: the directory, a
//! person's page and its edit form, affiliations added and ended (behind a confirmation),
//! accounts' roles, disabling and enabling; every page for admins only, no form acting without
//! the session's CSRF token, a bad form keeping what was typed and changing nothing.

use reqwest::StatusCode;

use super::{location, Visitor};
use crate::support::fixtures as fx;
use crate::support::TestApp;

async fn signed_in(app: &TestApp, role: &str, name: &str) -> (Visitor, crate::support::TestUser) {
    let user = app
        .user_with_email(role, &fx::unique_email(role), name)
        .await;
    let visitor = Visitor::new(app);
    visitor.sign_in(&user.email).await;
    (visitor, user)
}

async fn count_sql(app: &TestApp, sql: String) -> i64 {
    fx::count(app, &sql).await
}

#[tokio::test]
async fn people_and_accounts_pages_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let person = fx::person(&app, &fx::unique_email("p"), "Aiko Mori").await;
    let org = fx::organization(&app, "Sophia University", "academia", Some("JP"), "active").await;
    fx::affiliate(&app, person, org, false).await;
    let (_admin, admin) = signed_in(&app, "admin", "Mina Sato").await;

    let pages = [
        "/manage/people".to_owned(),
        format!("/manage/people/{person}"),
        format!("/manage/people/{person}/affiliations/{org}/end"),
        "/manage/accounts".to_owned(),
        format!("/manage/accounts/{}", admin.account_id),
        format!("/manage/accounts/{}/disable", admin.account_id),
    ];
    let anonymous = Visitor::new(&app);
    for page in &pages {
        let res = anonymous.get(page).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        assert!(location(&res).starts_with("/login?next="), "{page}");
    }
    for role in ["member", "organizer"] {
        let (visitor, _) = signed_in(&app, role, "Not An Admin").await;
        for page in &pages {
            let res = visitor.get(page).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} GET {page}");
            assert!(res
                .text()
                .await
                .unwrap()
                .contains("This page is for the secretariat"));
        }
        // Their own session's token does not make them an admin either.
        let (_, token) = visitor.page("/account").await;
        let posts = [
            (
                format!("/manage/people/{person}"),
                vec![("csrf_token", token.as_str()), ("name", "Hacked")],
            ),
            (
                format!("/manage/people/{person}/affiliations/{org}/end"),
                vec![("csrf_token", token.as_str())],
            ),
            (
                format!("/manage/accounts/{}/role", admin.account_id),
                vec![("csrf_token", token.as_str()), ("role", "member")],
            ),
            (
                format!("/manage/accounts/{}/disable", admin.account_id),
                vec![("csrf_token", token.as_str())],
            ),
        ];
        for (path, fields) in &posts {
            let res = visitor.post(path, fields).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} POST {path}");
        }
    }
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT name AS v FROM people WHERE id = '{person}'")
        )
        .await
        .as_deref(),
        Some("Aiko Mori")
    );
    assert_eq!(
        count_sql(
            &app,
            format!("SELECT count(*) AS n FROM affiliations WHERE person_id = '{person}'")
        )
        .await,
        1
    );
    assert_eq!(
        count_sql(
            &app,
            format!(
                "SELECT count(*) AS n FROM accounts WHERE id = '{}' AND role = 'admin' AND disabled_at IS NULL",
                admin.account_id
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_admin_finds_and_edits_a_person_and_a_bad_form_changes_nothing() {
    let app = TestApp::spawn().await;
    let email = fx::unique_email("hoshino");
    let person = fx::person(&app, &email, "Hoshino Kenta").await;
    let other = fx::unique_email("other");
    fx::person(&app, &other, "Someone Else").await;
    let (visitor, _) = signed_in(&app, "admin", "Mina Sato").await;

    let (list, _) = visitor.page("/manage/people?q=HOSHINO").await;
    assert!(list.contains("Hoshino Kenta"), "{list}");
    assert!(
        !list.contains("Someone Else"),
        "the search narrows the list"
    );
    let res = visitor
        .get(&format!("/manage/people?q={}", "x".repeat(201)))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let path = format!("/manage/people/{person}");
    let (page, token) = visitor.page(&path).await;
    assert!(page.contains(&format!("value=\"{email}\"")));
    let name_sql = format!("SELECT name AS v FROM people WHERE id = '{person}'");

    // A malformed address: explained next to its field, every typed value kept, nothing saved.
    let bad = [
        ("csrf_token", token.as_str()),
        ("name", "Prof. Kenta Hoshino"),
        ("honorific", "Prof."),
        ("email", "not an address"),
        ("position", "Professor of International Law"),
    ];
    let res = visitor.post(&path, &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\""), "{body}");
    assert!(
        body.contains("value=\"Prof. Kenta Hoshino\""),
        "typed name kept"
    );
    assert!(
        body.contains("value=\"not an address\""),
        "typed address kept"
    );
    assert!(body.contains("value=\"Professor of International Law\""));
    assert_eq!(
        fx::text(&app, &name_sql).await.as_deref(),
        Some("Hoshino Kenta")
    );

    // Another person's address: the same.
    let mut taken = bad;
    taken[3].1 = other.as_str();
    let res = visitor.post(&path, &taken).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("Another person already has this email address."));
    assert!(body.contains("id=\"email-error\""));
    assert_eq!(
        fx::text(&app, &name_sql).await.as_deref(),
        Some("Hoshino Kenta")
    );

    // Without the form's token: refused, nothing saved.
    let mut forged = bad;
    forged[0].1 = "forged";
    forged[3].1 = email.as_str();
    let res = visitor.post(&path, &forged).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        fx::text(&app, &name_sql).await.as_deref(),
        Some("Hoshino Kenta")
    );

    let new_email = fx::unique_email("k.hoshino");
    let mut good = bad;
    good[1].1 = "Kenta Hoshino";
    good[3].1 = new_email.as_str();
    let res = visitor.post(&path, &good).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?done=updated"));
    let (page, _) = visitor.page(&location(&res)).await;
    assert!(
        page.contains("The person&#x27;s details were saved.")
            || page.contains("The person's details were saved.")
    );
    assert!(page.contains("<h1>Prof. Kenta Hoshino</h1>"), "{page}");
    assert_eq!(
        fx::text(
            &app,
            &format!("SELECT email || ' ' || position AS v FROM people WHERE id = '{person}'")
        )
        .await,
        Some(format!("{new_email} Professor of International Law"))
    );
    assert_eq!(
        count_sql(
            &app,
            format!("SELECT count(*) AS n FROM audit_entries WHERE target_id = '{person}' AND target_type = 'person' AND action = 'update' AND before->>'name' = 'Hoshino Kenta' AND after->>'name' = 'Kenta Hoshino'")
        )
        .await,
        1
    );
    assert!(
        page.contains("edited the details of the person"),
        "the change is in the history"
    );

    // The same form again changes nothing and says so.
    let res = visitor.post(&path, &good).await;
    assert_eq!(location(&res), format!("{path}?done=unchanged"));
}

#[tokio::test]
async fn the_address_of_a_person_with_an_account_stays_theirs_and_the_account_follows_the_name() {
    let app = TestApp::spawn().await;
    let member = app
        .user_with_email("member", &fx::unique_email("m"), "Jiwoo Park")
        .await;
    let (visitor, _) = signed_in(&app, "admin", "Mina Sato").await;
    let path = format!("/manage/people/{}", member.person_id);
    let (page, token) = visitor.page(&path).await;
    assert!(page.contains("only they can change it"));

    let elsewhere = fx::unique_email("elsewhere");
    let res = visitor
        .post(
            &path,
            &[
                ("csrf_token", &token),
                ("name", "Park Jiwoo"),
                ("honorific", ""),
                ("email", &elsewhere),
                ("position", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"email-error\""), "{body}");
    assert!(body.contains(&format!("value=\"{elsewhere}\"")));
    assert_eq!(
        fx::text(
            &app,
            &format!(
                "SELECT email || '/' || name AS v FROM people WHERE id = '{}'",
                member.person_id
            )
        )
        .await,
        Some(format!("{}/Jiwoo Park", member.email))
    );

    let res = visitor
        .post(
            &path,
            &[
                ("csrf_token", &token),
                ("name", "Park Jiwoo"),
                ("honorific", "Dr"),
                ("email", &member.email),
                ("position", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        fx::text(
            &app,
            &format!(
                "SELECT name AS v FROM accounts WHERE id = '{}'",
                member.account_id
            )
        )
        .await
        .as_deref(),
        Some("Park Jiwoo"),
        "the account shows its person's new name"
    );
}

#[tokio::test]
async fn an_admin_adds_a_person_to_an_organisation_and_ends_the_affiliation_after_confirming() {
    let app = TestApp::spawn().await;
    let person = fx::person(&app, &fx::unique_email("aiko"), "Aiko Mori").await;
    let org = fx::organization(&app, "Waseda University", "academia", Some("JP"), "active").await;
    let (visitor, _) = signed_in(&app, "admin", "Mina Sato").await;
    let path = format!("/manage/people/{person}");
    let (page, token) = visitor.page(&path).await;
    assert!(page.contains("Waseda University"), "offered in the list");
    let affiliations =
        format!("SELECT count(*) AS n FROM affiliations WHERE person_id = '{person}'");

    // No organisation chosen: explained, the typed position kept, nothing added.
    let add = format!("{path}/affiliations");
    let res = visitor
        .post(
            &add,
            &[
                ("csrf_token", &token),
                ("organization_id", ""),
                ("position", "Research Fellow"),
                ("focal_point", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"add-organization_id-error\""), "{body}");
    assert!(body.contains("value=\"Research Fellow\""));
    assert_eq!(count_sql(&app, affiliations.clone()).await, 0);

    let org_id = org.to_string();
    let res = visitor
        .post(
            &add,
            &[
                ("csrf_token", &token),
                ("organization_id", &org_id),
                ("position", "Research Fellow"),
                ("focal_point", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count_sql(
            &app,
            format!("{affiliations} AND focal_point AND position = 'Research Fellow'")
        )
        .await,
        1
    );

    // Ending it (offered on the organisation's page too): the page says what will happen and
    // changes nothing.
    let end = format!("{path}/affiliations/{org}/end");
    let (org_page, _) = visitor.page(&format!("/manage/organizations/{org}")).await;
    assert!(org_page.contains(&format!("href=\"{end}\"")), "{org_page}");
    let (page, token) = visitor.page(&end).await;
    assert!(page.contains("End the affiliation of Aiko Mori with Waseda University?"));
    assert!(page.contains("loses its focal point"), "{page}");
    assert_eq!(count_sql(&app, affiliations.clone()).await, 1);

    let res = visitor.post(&end, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = visitor.post(&end, &[("csrf_token", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count_sql(&app, affiliations.clone()).await, 1);

    let res = visitor.post(&end, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?done=ended#affiliations"));
    assert_eq!(count_sql(&app, affiliations.clone()).await, 0);
    assert_eq!(
        count_sql(
            &app,
            format!("SELECT count(*) AS n FROM audit_entries WHERE target_id = '{org}' AND action = 'end_affiliation' AND before->>'person_id' = '{person}'")
        )
        .await,
        1
    );
    let (page, _) = visitor.page(&path).await;
    assert!(page.contains("Not affiliated with any organisation."));
    // Ending it again: there is nothing to end.
    let res = visitor.post(&end, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_changes_a_role_and_disables_and_enables_an_account() {
    let app = TestApp::spawn().await;
    let (member_visitor, member) = signed_in(&app, "member", "Kenji Watanabe").await;
    let (visitor, _) = signed_in(&app, "admin", "Mina Sato").await;

    let (list, _) = visitor.page("/manage/accounts?role=member").await;
    assert!(list.contains(">Kenji Watanabe</a>"));
    assert!(!list.contains(">Mina Sato</a>"), "filtered by role");
    let (list, _) = visitor
        .page("/manage/accounts?q=watanabe&disabled=yes")
        .await;
    assert!(
        !list.contains(">Kenji Watanabe</a>"),
        "filtered by disabled"
    );
    let res = visitor.get("/manage/accounts?role=king").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let path = format!("/manage/accounts/{}", member.account_id);
    let (_, token) = visitor.page(&path).await;
    let role_sql = format!(
        "SELECT role AS v FROM accounts WHERE id = '{}'",
        member.account_id
    );

    let res = visitor
        .post(
            &format!("{path}/role"),
            &[("csrf_token", &token), ("role", "king")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"role-error\""));
    let res = visitor
        .post(
            &format!("{path}/role"),
            &[("csrf_token", "forged"), ("role", "organizer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(fx::text(&app, &role_sql).await.as_deref(), Some("member"));

    let res = visitor
        .post(
            &format!("{path}/role"),
            &[("csrf_token", &token), ("role", "organizer")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?done=role"));
    assert_eq!(
        fx::text(&app, &role_sql).await.as_deref(),
        Some("organizer")
    );
    let audit = |condition: &str| {
        format!(
            "SELECT count(*) AS n FROM audit_entries WHERE target_id = '{}' AND target_type = 'account' AND {condition}",
            member.account_id
        )
    };
    assert_eq!(
        count_sql(
            &app,
            audit("before->>'role' = 'member' AND after->>'role' = 'organizer'")
        )
        .await,
        1
    );

    // Disabling asks first, needs the token, then signs the owner out.
    let disable = format!("{path}/disable");
    let (page, token) = visitor.page(&disable).await;
    assert!(page.contains("Disable the account of Kenji Watanabe"));
    assert!(page.contains("signed out everywhere"));
    let res = visitor.post(&disable, &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let disabled_sql = format!(
        "SELECT count(*) AS n FROM accounts WHERE id = '{}' AND disabled_at IS NOT NULL",
        member.account_id
    );
    assert_eq!(count_sql(&app, disabled_sql.clone()).await, 0);
    assert_eq!(
        member_visitor.get("/account").await.status(),
        StatusCode::OK
    );

    let res = visitor.post(&disable, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("{path}?done=disable"));
    assert_eq!(count_sql(&app, disabled_sql.clone()).await, 1);
    let res = member_visitor.get("/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed out");
    assert_eq!(
        count_sql(
            &app,
            audit("(before->>'disabled')::bool = false AND (after->>'disabled')::bool = true")
        )
        .await,
        1
    );
    let (page, _) = visitor.page(&format!("{path}?done=disable")).await;
    assert!(page.contains("The account was disabled"));
    assert!(page.contains("Enable the account again"));

    let enable = format!("{path}/enable");
    let (page, token) = visitor.page(&enable).await;
    assert!(page.contains("Enable the account of Kenji Watanabe"));
    let res = visitor.post(&enable, &[("csrf_token", &token)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(count_sql(&app, disabled_sql).await, 0);
    member_visitor.sign_in(&member.email).await;
    assert_eq!(
        member_visitor.get("/account").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_cannot_demote_or_disable_themselves() {
    let app = TestApp::spawn().await;
    let (visitor, admin) = signed_in(&app, "admin", "Mina Sato").await;
    let path = format!("/manage/accounts/{}", admin.account_id);
    let (page, token) = visitor.page(&path).await;
    assert!(page.contains("This is your own account"));
    assert!(!page.contains("Disable the account</a>"), "not offered");

    let res = visitor
        .post(
            &format!("{path}/role"),
            &[("csrf_token", &token), ("role", "member")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"role-error\""), "{body}");
    assert!(body.contains("cannot take away their own admin role"));
    assert!(
        body.contains("<option value=\"member\" selected>"),
        "what was chosen is kept"
    );

    let res = visitor
        .post(&format!("{path}/disable"), &[("csrf_token", &token)])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("Nothing was changed."));
    assert_eq!(
        count_sql(
            &app,
            format!(
                "SELECT count(*) AS n FROM accounts WHERE id = '{}' AND role = 'admin' AND disabled_at IS NULL",
                admin.account_id
            )
        )
        .await,
        1
    );
    assert_eq!(
        count_sql(
            &app,
            format!(
                "SELECT count(*) AS n FROM audit_entries WHERE target_id = '{}'",
                admin.account_id
            )
        )
        .await,
        0
    );
}
