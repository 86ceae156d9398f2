//! The partnership network: organisations and their membership lifecycle, applications,
//! people and focal points, the CSV import, the audit trail and the demo loader.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{expect_json, expect_problem, TestApp, TestUser};

const PUBLIC_FIELDS: &[&str] = &[
    "id",
    "name",
    "short_name",
    "kind",
    "country",
    "website",
    "status",
];

fn org(name: &str, kind: &str, country: Option<&str>) -> Value {
    json!({"name": name, "kind": kind, "country": country})
}

async fn create(app: &TestApp, admin: &TestUser, body: Value) -> Value {
    let res = app.post("/organizations", admin.token(), body).await;
    expect_json(res, StatusCode::CREATED).await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

async fn act(app: &TestApp, admin: &TestUser, id: &str, action: &str) -> reqwest::Response {
    app.post(
        &format!("/organizations/{id}/{action}"),
        admin.token(),
        json!({}),
    )
    .await
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn list(app: &TestApp, query: &str, token: Option<&str>) -> Value {
    expect_json(
        app.get(&format!("/organizations{query}"), token).await,
        StatusCode::OK,
    )
    .await
}

async fn import_csv(app: &TestApp, token: Option<&str>, csv: &str) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.api("/organizations/import"))
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request sent")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.pool.get().await.expect("connection");
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .expect("count query")
        .n
}

async fn audit(app: &TestApp, admin: &TestUser, query: &str) -> Vec<Value> {
    let page = expect_json(
        app.get(&format!("/audit{query}"), admin.token()).await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().expect("items").clone()
}

fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn public_directory_shows_exactly_the_active_members() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;

    create(
        &app,
        &admin,
        json!({"name": "Ministry of Foreign Affairs of Japan", "short_name": "MOFA",
               "kind": "government", "country": "JP", "website": "https://www.mofa.go.jp/"}),
    )
    .await;
    create(
        &app,
        &admin,
        json!({"name": "Asia Pacific Centre for the Responsibility to Protect",
               "short_name": "APR2P", "kind": "academia", "country": "au"}),
    )
    .await;
    create(
        &app,
        &admin,
        org(
            "Association of Southeast Asian Nations",
            "regional_organization",
            None,
        ),
    )
    .await;
    let applicant = create(
        &app,
        &admin,
        json!({"name": "Applicant Institute", "kind": "think_tank", "country": "JP", "status": "applicant"}),
    )
    .await;
    assert_eq!(applicant["status"], "applicant");
    assert!(applicant["joined_on"].is_null());
    let suspended = create(
        &app,
        &admin,
        org("Suspended Society", "civil_society", Some("JP")),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&suspended), "suspend").await,
        StatusCode::OK,
    )
    .await;
    let withdrawn = create(
        &app,
        &admin,
        org("Withdrawn Foundation", "other", Some("AU")),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&withdrawn), "withdraw").await,
        StatusCode::OK,
    )
    .await;

    let active = vec![
        "Asia Pacific Centre for the Responsibility to Protect",
        "Association of Southeast Asian Nations",
        "Ministry of Foreign Affairs of Japan",
    ];
    for token in [None, member.token(), organizer.token()] {
        let page = list(&app, "", token).await;
        assert_eq!(names(&page), active);
        assert!(page["next_cursor"].is_null());
        for item in page["items"].as_array().unwrap() {
            let keys: HashSet<&str> = item
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(
                keys,
                PUBLIC_FIELDS.iter().copied().collect(),
                "public view: {item}"
            );
            assert_eq!(item["status"], "active");
        }
        // Asking for another status finds nothing rather than leaking non-members.
        assert!(names(&list(&app, "?status=applicant", token).await).is_empty());
        assert!(names(&list(&app, "?status=suspended", token).await).is_empty());
        assert_eq!(names(&list(&app, "?status=active", token).await), active);
    }

    // Admins see every status with the membership and contact details.
    let all = list(&app, "", admin.token()).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    let mofa = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["short_name"] == "MOFA")
        .expect("MOFA");
    assert_eq!(mofa["short_name"], "MOFA");
    for key in [
        "joined_on",
        "contact_name",
        "contact_email",
        "created_at",
        "updated_at",
    ] {
        assert!(mofa.get(key).is_some(), "admin view lacks {key}: {mofa}");
    }
    assert_eq!(
        mofa["joined_on"],
        chrono::Utc::now().date_naive().to_string()
    );
    assert_eq!(
        names(&list(&app, "?status=applicant", admin.token()).await),
        vec!["Applicant Institute"]
    );
    assert_eq!(
        names(&list(&app, "?status=withdrawn", admin.token()).await),
        vec!["Withdrawn Foundation"]
    );

    // Filters: kind, country (any case), text in the name or short name.
    assert_eq!(
        names(&list(&app, "?kind=academia", None).await),
        vec!["Asia Pacific Centre for the Responsibility to Protect"]
    );
    assert_eq!(
        names(&list(&app, "?country=jp", None).await),
        vec!["Ministry of Foreign Affairs of Japan"]
    );
    assert_eq!(
        names(&list(&app, "?country=JP", admin.token()).await),
        vec![
            "Applicant Institute",
            "Ministry of Foreign Affairs of Japan",
            "Suspended Society"
        ]
    );
    assert_eq!(
        names(&list(&app, "?q=mofa", None).await),
        vec!["Ministry of Foreign Affairs of Japan"]
    );
    assert_eq!(
        names(&list(&app, "?q=ASIA", None).await),
        vec![
            "Asia Pacific Centre for the Responsibility to Protect",
            "Association of Southeast Asian Nations"
        ]
    );
    assert!(names(&list(&app, "?q=100%25", None).await).is_empty());
    assert_eq!(
        names(&list(&app, "?kind=think_tank&country=JP", admin.token()).await),
        vec!["Applicant Institute"]
    );

    let bad = expect_problem(
        app.get("/organizations?country=ZZ", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["country"]);
    expect_problem(
        app.get("/organizations?kind=club", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    let bad = expect_problem(
        app.get("/organizations?cursor=garbage", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["cursor"]);

    // One organisation: members of the public see active ones only.
    let applicant_id = id_of(&applicant);
    expect_problem(
        app.get(&format!("/organizations/{applicant_id}"), None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get(&format!("/organizations/{applicant_id}"), member.token())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let seen = expect_json(
        app.get(&format!("/organizations/{applicant_id}"), admin.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["status"], "applicant");
    let mofa_public = expect_json(
        app.get(
            &format!("/organizations/{}", mofa["id"].as_str().unwrap()),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mofa_public.as_object().unwrap().len(), PUBLIC_FIELDS.len());
    expect_problem(
        app.get("/organizations/not-a-uuid", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn only_admins_create_and_every_field_is_checked() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let body = org(
        "Japan Institute of International Affairs",
        "think_tank",
        Some("JP"),
    );

    expect_problem(
        app.post("/organizations", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer] {
        expect_problem(
            app.post("/organizations", user.token(), body.clone()).await,
            StatusCode::FORBIDDEN,
            "admin_only",
        )
        .await;
    }
    let created = create(&app, &admin, body).await;
    assert_eq!(created["status"], "active");
    assert_eq!(created["country"], "JP");
    assert!(created["short_name"].is_null());

    let bad = expect_problem(
        app.post(
            "/organizations",
            admin.token(),
            json!({"name": " ", "kind": "club", "country": "XX", "website": "ftp://example.org",
                   "short_name": "x".repeat(51), "status": "dormant", "contact_email": "nope"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: HashSet<String> = error_fields(&bad).into_iter().collect();
    for field in [
        "name",
        "kind",
        "country",
        "website",
        "short_name",
        "status",
        "contact_email",
    ] {
        assert!(fields.contains(field), "{field} not reported: {bad}");
    }

    // A country is required except for regional and international bodies.
    for kind in [
        "government",
        "civil_society",
        "academia",
        "think_tank",
        "other",
    ] {
        let bad = expect_problem(
            app.post("/organizations", admin.token(), org("Nowhere", kind, None))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&bad), vec!["country"], "{kind}");
    }
    let un = create(
        &app,
        &admin,
        org("United Nations", "international_organization", None),
    )
    .await;
    assert!(un["country"].is_null());
    let asean = create(
        &app,
        &admin,
        json!({"name": "ASEAN Secretariat", "kind": "regional_organization", "country": "ID",
               "website": "https://asean.org"}),
    )
    .await;
    assert_eq!(asean["website"], "https://asean.org/");

    let missing = expect_problem(
        app.post("/organizations", admin.token(), json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: HashSet<String> = error_fields(&missing).into_iter().collect();
    assert!(fields.contains("name") && fields.contains("kind"));
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        3
    );
}

#[tokio::test]
async fn live_names_are_unique_whatever_their_case() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let first = create(
        &app,
        &admin,
        org("Waseda University", "academia", Some("JP")),
    )
    .await;
    let first_id = id_of(&first);

    let dup = expect_problem(
        app.post(
            "/organizations",
            admin.token(),
            org("  WASEDA university ", "academia", Some("JP")),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    let detail = dup["detail"].as_str().unwrap();
    assert!(detail.contains(&first_id), "{detail}");
    assert!(detail.contains("Waseda University"), "{detail}");

    // An application under a taken name is refused the same way.
    let dup = expect_problem(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "waseda university", "kind": "academia", "country": "JP",
                   "contact_email": "a@example.org"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    assert!(dup["detail"].as_str().unwrap().contains(&first_id));

    // Renaming onto a taken name too.
    let other = create(
        &app,
        &admin,
        org("Osaka University", "academia", Some("JP")),
    )
    .await;
    let dup = expect_problem(
        app.patch(
            &format!("/organizations/{}", id_of(&other)),
            admin.token(),
            json!({"name": "Waseda UNIVERSITY"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_name",
    )
    .await;
    assert!(dup["detail"].as_str().unwrap().contains(&first_id));

    // A withdrawn organisation frees its name.
    expect_json(
        act(&app, &admin, &first_id, "withdraw").await,
        StatusCode::OK,
    )
    .await;
    let again = create(
        &app,
        &admin,
        org("Waseda University", "academia", Some("JP")),
    )
    .await;
    assert_ne!(id_of(&again), first_id);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_give_one_201_and_409s() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let requests = (0..10).map(|i| {
        let name = if i % 2 == 0 {
            "Global Peacebuilding Association of Japan"
        } else {
            "GLOBAL PEACEBUILDING ASSOCIATION OF JAPAN"
        };
        app.post(
            "/organizations",
            admin.token(),
            org(name, "civil_society", Some("JP")),
        )
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut statuses = Vec::new();
    for res in responses {
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert!(!status.is_server_error(), "{status}: {body}");
        if status == StatusCode::CONFLICT {
            assert_eq!(body["code"], "duplicate_name");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        1
    );
}

#[tokio::test]
async fn membership_lifecycle_and_its_illegal_transitions() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;
    let applied = expect_json(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "Sophia Institute of International Relations", "short_name": "SIIR",
                   "kind": "academia", "country": "JP", "contact_email": "siir@example.org"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = id_of(&applied);

    let illegal = |status: &'static str| {
        move |body: Value| {
            let detail = body["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(status), "detail names {status}: {detail}");
        }
    };

    // From applicant: only approve and withdraw.
    for action in ["suspend", "reinstate"] {
        illegal("applicant")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }
    // Nobody but admins moves it.
    for action in ["approve", "suspend", "reinstate", "withdraw"] {
        expect_problem(
            app.post(&format!("/organizations/{id}/{action}"), None, json!({}))
                .await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        )
        .await;
        for user in [&member, &organizer] {
            expect_problem(
                act(&app, user, &id, action).await,
                StatusCode::FORBIDDEN,
                "admin_only",
            )
            .await;
        }
    }
    let approved = expect_json(act(&app, &admin, &id, "approve").await, StatusCode::OK).await;
    assert_eq!(approved["status"], "active");
    assert_eq!(
        approved["joined_on"],
        chrono::Utc::now().date_naive().to_string()
    );

    // From active: only suspend and withdraw.
    for action in ["approve", "reinstate"] {
        illegal("active")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }
    let suspended = expect_json(act(&app, &admin, &id, "suspend").await, StatusCode::OK).await;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["joined_on"], approved["joined_on"]);
    assert!(names(&list(&app, "", None).await).is_empty());

    // From suspended: only reinstate and withdraw.
    for action in ["approve", "suspend"] {
        illegal("suspended")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }
    let reinstated = expect_json(act(&app, &admin, &id, "reinstate").await, StatusCode::OK).await;
    assert_eq!(reinstated["status"], "active");
    assert_eq!(
        names(&list(&app, "", None).await),
        vec!["Sophia Institute of International Relations"]
    );
    expect_json(act(&app, &admin, &id, "suspend").await, StatusCode::OK).await;
    let withdrawn = expect_json(act(&app, &admin, &id, "withdraw").await, StatusCode::OK).await;
    assert_eq!(withdrawn["status"], "withdrawn");

    // Withdrawn is final.
    for action in ["approve", "suspend", "reinstate", "withdraw"] {
        illegal("withdrawn")(
            expect_problem(
                act(&app, &admin, &id, action).await,
                StatusCode::CONFLICT,
                "invalid_transition",
            )
            .await,
        );
    }

    // Applicants and active members may be withdrawn directly too.
    let other = create(
        &app,
        &admin,
        org("Active Then Gone", "academia", Some("AU")),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&other), "withdraw").await,
        StatusCode::OK,
    )
    .await;
    let pending = create(
        &app,
        &admin,
        json!({"name": "Declined Applicant", "kind": "academia", "country": "AU", "status": "applicant"}),
    )
    .await;
    expect_json(
        act(&app, &admin, &id_of(&pending), "withdraw").await,
        StatusCode::OK,
    )
    .await;

    expect_problem(
        act(&app, &admin, &uuid::Uuid::now_v7().to_string(), "approve").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Each change is in the audit trail with the record before and after, newest first; the
    // approval made the applicant's contact the focal point (`affiliate`).
    let entries = audit(&app, &admin, &format!("?target=organization:{id}")).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "withdraw",
            "suspend",
            "reinstate",
            "suspend",
            "affiliate",
            "approve",
            "apply"
        ]
    );
    let approve = &entries[5];
    assert_eq!(approve["before"]["status"], "applicant");
    assert_eq!(approve["after"]["status"], "active");
    assert_eq!(approve["actor_account_id"], admin.account_id.as_str());
    assert_eq!(approve["target_type"], "organization");
    assert_eq!(approve["target_id"], id.as_str());
    assert!(entries[6]["actor_account_id"].is_null());
    assert!(entries[6]["before"].is_null());
}

#[tokio::test]
async fn applications_email_every_admin_and_approval_emails_the_contact() {
    let app = TestApp::spawn().await;
    let admin_a = app.user("admin").await;
    let admin_b = app.user("admin").await;
    let organizer = app.user("organizer").await;

    let bad = expect_problem(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "Japan Institute", "kind": "think_tank", "country": "JP"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["contact_email"]);

    let applied = expect_json(
        app.post(
            "/organizations/applications",
            None,
            json!({"name": "R2P Network of Japan", "kind": "civil_society", "country": "JP",
                   "website": "https://r2p-jp.org/", "contact_name": "Sho Mori",
                   "contact_email": "Mori@Example.org", "note": "We co-organised the 2022 dialogue."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(applied["status"], "applicant");
    // An anonymous applicant gets the public view.
    assert!(applied.get("contact_email").is_none());
    let id = id_of(&applied);

    app.smtp.wait_for(2, Duration::from_secs(10)).await;
    for admin in [&admin_a, &admin_b] {
        let mails = app.smtp.messages_to(&admin.email);
        assert_eq!(mails.len(), 1, "one message to {}", admin.email);
        assert!(mails[0].subject().contains("R2P Network of Japan"));
        let text = mails[0].text_body();
        // Shown inert (no mail client makes a link of what an applicant typed).
        assert!(text.contains("mori@example[.]org"), "{text}");
        assert!(text.contains(&id), "{text}");
    }
    assert!(app.smtp.messages_to(&organizer.email).is_empty());
    assert!(app.smtp.messages_to("mori@example.org").is_empty());

    let admin_view = expect_json(
        app.get(&format!("/organizations/{id}"), admin_a.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(admin_view["contact_email"], "mori@example.org");
    assert_eq!(admin_view["contact_name"], "Sho Mori");

    expect_json(act(&app, &admin_a, &id, "approve").await, StatusCode::OK).await;
    app.smtp.wait_for(3, Duration::from_secs(10)).await;
    let welcome = app.smtp.messages_to("mori@example.org");
    assert_eq!(welcome.len(), 1);
    assert!(welcome[0].subject().contains("R2P Network of Japan"));
    assert!(welcome[0].text_body().contains("Dear Sho Mori"));
    assert!(welcome[0].text_body().contains("approved"));

    // Suspending and reinstating email nobody; nothing is sent twice.
    expect_json(act(&app, &admin_a, &id, "suspend").await, StatusCode::OK).await;
    expect_json(act(&app, &admin_a, &id, "reinstate").await, StatusCode::OK).await;
    assert_eq!(count(&app, "SELECT count(*) AS n FROM emails").await, 3);
}

#[tokio::test]
async fn admins_update_details_with_an_audit_entry() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let created = create(
        &app,
        &admin,
        json!({"name": "Japan International Cooperation System", "short_name": "JICS",
               "kind": "other", "country": "JP", "website": "https://www.jics.or.jp/"}),
    )
    .await;
    let id = id_of(&created);
    let path = format!("/organizations/{id}");

    expect_problem(
        app.patch(&path, None, json!({"short_name": "X"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.patch(&path, member.token(), json!({"short_name": "X"}))
            .await,
        StatusCode::FORBIDDEN,
        "admin_only",
    )
    .await;

    let updated = expect_json(
        app.patch(
            &path,
            admin.token(),
            json!({"kind": "civil_society", "website": null, "contact_email": "jics@example.org"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["kind"], "civil_society");
    assert!(updated["website"].is_null());
    assert_eq!(updated["short_name"], "JICS");
    assert_eq!(updated["contact_email"], "jics@example.org");

    // The result must still be consistent: this kind needs a country.
    let bad = expect_problem(
        app.patch(&path, admin.token(), json!({"country": null}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["country"]);
    let bad = expect_problem(
        app.patch(
            &path,
            admin.token(),
            json!({"name": null, "kind": "club", "website": "nope"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["name", "kind", "website"]);
    // Becoming an international body allows dropping the country.
    let moved = expect_json(
        app.patch(
            &path,
            admin.token(),
            json!({"kind": "international_organization", "country": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(moved["country"].is_null());

    // An empty patch changes nothing and writes no entry.
    expect_json(
        app.patch(&path, admin.token(), json!({})).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.patch(
            &format!("/organizations/{}", uuid::Uuid::now_v7()),
            admin.token(),
            json!({"short_name": "X"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let entries = audit(
        &app,
        &admin,
        &format!("?target_type=organization&target_id={id}"),
    )
    .await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["update", "update", "create"]);
    assert_eq!(entries[1]["before"]["kind"], "other");
    assert_eq!(entries[1]["after"]["kind"], "civil_society");
    assert_eq!(entries[1]["before"]["website"], "https://www.jics.or.jp/");
    assert!(entries[1]["after"]["website"].is_null());
}

#[tokio::test]
async fn contacts_are_for_organizers_and_admins() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let body = json!({"email": "Hoshino@Example.org", "name": "Toshiya Hoshino",
                      "honorific": "Prof.", "position": "Professor, Osaka University"});

    expect_problem(
        app.get("/people", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post("/people", None, body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.get("/people", member.token()).await,
        StatusCode::FORBIDDEN,
        "organizer_only",
    )
    .await;
    expect_problem(
        app.post("/people", member.token(), body.clone()).await,
        StatusCode::FORBIDDEN,
        "organizer_only",
    )
    .await;

    let person = expect_json(
        app.post("/people", organizer.token(), body.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(person["email"], "hoshino@example.org");
    assert_eq!(person["honorific"], "Prof.");
    assert_eq!(person["has_account"], false);

    let dup = expect_problem(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "HOSHINO@example.org", "name": "Someone Else"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_email",
    )
    .await;
    assert!(dup["detail"]
        .as_str()
        .unwrap()
        .contains(person["id"].as_str().unwrap()));

    let bad = expect_problem(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "not-an-email", "name": "", "honorific": "x".repeat(41),
                   "position": "p".repeat(201)}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&bad),
        vec!["email", "name", "honorific", "position"]
    );
    // Free-text honorifics are fine.
    expect_json(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "ambassador@example.org", "name": "Kenji Abe", "honorific": "H.E."}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // The list has everyone, accounts included, by name; q searches name and email.
    let all = expect_json(app.get("/people", admin.token()).await, StatusCode::OK).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    let found = expect_json(
        app.get("/people?q=hoshino", organizer.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["name"], "Toshiya Hoshino");
    let found = expect_json(
        app.get(&format!("/people?q={}", member.email), admin.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(found["items"][0]["has_account"], true);

    // Pagination walks everyone exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/people?limit=2&cursor={c}"),
            None => "/people?limit=2".to_owned(),
        };
        let page = expect_json(app.get(&query, admin.token()).await, StatusCode::OK).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 5);

    let entries = audit(
        &app,
        &admin,
        &format!("?target=person:{}", person["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "create");
    assert_eq!(
        entries[0]["actor_account_id"],
        organizer.account_id.as_str()
    );
}

#[tokio::test]
async fn admins_and_focal_points_manage_an_organizations_people() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let focal = app
        .user_with_email("member", "sato@example.org", "Yuko Sato")
        .await;
    let other_focal = app.user("member").await;

    let mofa = create(
        &app,
        &admin,
        json!({"name": "Ministry of Foreign Affairs of Japan", "short_name": "MOFA",
               "kind": "government", "country": "JP"}),
    )
    .await;
    let mofa_people = format!("/organizations/{}/people", id_of(&mofa));
    let jica = create(
        &app,
        &admin,
        org(
            "Japan International Cooperation Agency",
            "government",
            Some("JP"),
        ),
    )
    .await;
    let jica_people = format!("/organizations/{}/people", id_of(&jica));
    let applicant = create(
        &app,
        &admin,
        json!({"name": "Hidden Applicant", "kind": "academia", "country": "JP", "status": "applicant"}),
    )
    .await;
    let applicant_people = format!("/organizations/{}/people", id_of(&applicant));

    // The admin makes Ms. Sato (an account holder) MOFA's focal point by person id.
    let made = expect_json(
        app.post(
            &mofa_people,
            admin.token(),
            json!({"person_id": focal.person_id, "position": "Deputy Director", "focal_point": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["focal_point"], true);
    assert_eq!(made["position"], "Deputy Director");
    assert_eq!(made["email"], "sato@example.org");
    expect_json(
        app.post(
            &jica_people,
            admin.token(),
            json!({"person_id": other_focal.person_id, "focal_point": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // Who may not: anonymous 401; members, organizers and other organisations' focal points
    // 403 on a listed organisation, 404 on one they may not know exists.
    expect_problem(
        app.get(&mofa_people, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.post(
            &mofa_people,
            None,
            json!({"email": "x@example.org", "name": "X"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer, &other_focal] {
        expect_problem(
            app.get(&mofa_people, user.token()).await,
            StatusCode::FORBIDDEN,
            "not_focal_point",
        )
        .await;
        expect_problem(
            app.post(
                &mofa_people,
                user.token(),
                json!({"email": "x@example.org", "name": "X"}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "not_focal_point",
        )
        .await;
        expect_problem(
            app.get(&applicant_people, user.token()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    expect_json(
        app.get(&applicant_people, admin.token()).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/organizations/{}/people", uuid::Uuid::now_v7()),
            admin.token(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // The focal point adds a new person, affiliates an existing contact by email, updates one.
    let added = expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "Tanaka@example.org", "name": "Aiko Tanaka", "honorific": "Ms.",
                   "position": "Researcher"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(added["focal_point"], false);
    assert_eq!(added["email"], "tanaka@example.org");
    assert_eq!(added["honorific"], "Ms.");
    expect_json(
        app.post(
            "/people",
            admin.token(),
            json!({"email": "ito@example.org", "name": "Daiki Ito"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "ITO@example.org"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let changed = expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "tanaka@example.org", "position": "Senior Researcher"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["position"], "Senior Researcher");

    let bad = expect_problem(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "new@example.org"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["name"]);
    let bad = expect_problem(
        app.post(&mofa_people, focal.token(), json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["person_id"]);
    let bad = expect_problem(
        app.post(
            &mofa_people,
            admin.token(),
            json!({"person_id": uuid::Uuid::now_v7()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&bad), vec!["person_id"]);

    let listed = expect_json(app.get(&mofa_people, focal.token()).await, StatusCode::OK).await;
    let listed_names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed_names, vec!["Aiko Tanaka", "Daiki Ito", "Yuko Sato"]);
    let page = expect_json(
        app.get(&format!("{mofa_people}?limit=2"), admin.token())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let rest = expect_json(
        app.get(
            &format!(
                "{mofa_people}?limit=2&cursor={}",
                page["next_cursor"].as_str().unwrap()
            ),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"][0]["name"], "Yuko Sato");
    assert!(rest["next_cursor"].is_null());

    // Handing over: Ms. Tanaka becomes focal point; Ms. Sato stops being it in the same
    // change, and with it loses the right to manage MOFA's people.
    let handed = expect_json(
        app.post(
            &mofa_people,
            focal.token(),
            json!({"email": "tanaka@example.org", "focal_point": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(handed["focal_point"], true);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM affiliations WHERE focal_point AND organization_id = '{}'",
                id_of(&mofa)
            )
        )
        .await,
        1
    );
    expect_problem(
        app.get(&mofa_people, focal.token()).await,
        StatusCode::FORBIDDEN,
        "not_focal_point",
    )
    .await;
    let listed = expect_json(app.get(&mofa_people, admin.token()).await, StatusCode::OK).await;
    let focal_points: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["focal_point"] == true)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(focal_points, vec!["Aiko Tanaka"]);

    let entries = audit(
        &app,
        &admin,
        &format!("?target=organization:{}", id_of(&mofa)),
    )
    .await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "update_affiliation",
            "update_affiliation",
            "update_affiliation",
            "affiliate",
            "affiliate",
            "affiliate",
            "create"
        ]
    );
}

#[tokio::test]
async fn concurrent_focal_point_changes_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let created = create(
        &app,
        &admin,
        org("Japan Institute", "think_tank", Some("JP")),
    )
    .await;
    let path = format!("/organizations/{}/people", id_of(&created));
    let requests = (0..8).map(|i| {
        app.post(
            &path,
            admin.token(),
            json!({"email": format!("fp{i}@example.org"), "name": format!("Focal {i}"), "focal_point": true}),
        )
    });
    for res in futures_util::future::join_all(requests).await {
        expect_json(res, StatusCode::CREATED).await;
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM affiliations WHERE focal_point"
        )
        .await,
        1
    );
}

const GOOD_CSV: &str = "\
name,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position
Ministry of Foreign Affairs of Japan,MOFA,government,JP,https://www.mofa.go.jp/,,sato@example.org,Yuko Sato,Deputy Director
National Institute for Defense Studies,NIDS,think_tank,jp,https://www.nids.mod.go.jp/,active,,,
Association of Southeast Asian Nations,ASEAN,regional_organization,,https://asean.org/,,
\"Institute for Asia Human Community, Waseda University\",AHC,academia,JP,,applicant,kato@example.org,Rina Kato,Research Associate
Old Member,,civil_society,AU,,withdrawn,,,
";

#[tokio::test]
async fn csv_import_creates_everything_with_focal_points() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let organizer = app.user("organizer").await;

    expect_problem(
        import_csv(&app, None, GOOD_CSV).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer] {
        expect_problem(
            import_csv(&app, user.token(), GOOD_CSV).await,
            StatusCode::FORBIDDEN,
            "admin_only",
        )
        .await;
    }
    let res = app
        .client
        .post(app.api("/organizations/import"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body(GOOD_CSV)
        .send()
        .await
        .unwrap();
    expect_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let result = expect_json(
        import_csv(&app, admin.token(), GOOD_CSV).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["created"], 5);
    let orgs = result["organizations"].as_array().unwrap();
    assert_eq!(orgs[0]["short_name"], "MOFA");
    assert_eq!(orgs[0]["status"], "active");
    assert_eq!(orgs[1]["country"], "JP");
    assert!(orgs[2]["country"].is_null());
    assert_eq!(
        orgs[3]["name"],
        "Institute for Asia Human Community, Waseda University"
    );
    assert_eq!(orgs[3]["status"], "applicant");
    assert!(orgs[3]["joined_on"].is_null());
    assert_eq!(orgs[4]["status"], "withdrawn");

    assert_eq!(
        names(&list(&app, "", None).await),
        vec![
            "Association of Southeast Asian Nations",
            "Ministry of Foreign Affairs of Japan",
            "National Institute for Defense Studies"
        ]
    );
    let mofa_people = expect_json(
        app.get(
            &format!("/organizations/{}/people", id_of(&orgs[0])),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mofa_people["items"][0]["email"], "sato@example.org");
    assert_eq!(mofa_people["items"][0]["focal_point"], true);
    assert_eq!(mofa_people["items"][0]["position"], "Deputy Director");

    // One audit entry per organisation, action `import`.
    let entries = audit(&app, &admin, "?action=import").await;
    assert_eq!(entries.len(), 5);
    let mofa_entries = audit(
        &app,
        &admin,
        &format!("?target=organization:{}", id_of(&orgs[0])),
    )
    .await;
    assert_eq!(mofa_entries.len(), 1);
    assert_eq!(mofa_entries[0]["action"], "import");
    assert_eq!(
        mofa_entries[0]["actor_account_id"],
        admin.account_id.as_str()
    );
    assert_eq!(
        mofa_entries[0]["after"]["focal_point"]["email"],
        "sato@example.org"
    );

    // The same file again: every live name is now taken, nothing is written.
    let again = expect_problem(
        import_csv(&app, admin.token(), GOOD_CSV).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&again),
        vec![
            "line[2].name",
            "line[3].name",
            "line[4].name",
            "line[5].name"
        ]
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        5
    );

    // An existing person named as focal point needs no name in the file.
    let res = import_csv(
        &app,
        admin.token(),
        "name,kind,country,focal_point_email\nSophia University,academia,JP,SATO@example.org\n",
    )
    .await;
    let result = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(result["created"], 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM people WHERE email = 'sato@example.org'"
        )
        .await,
        1
    );
}

/// A line with several kinds of problem gets each named in the one answer: a bad field does
/// not hide that the same line's name is taken or repeated, or that its focal point is unknown.
#[tokio::test]
async fn a_csv_line_reports_every_kind_of_problem_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    create(
        &app,
        &admin,
        org(
            "Japan Institute of International Affairs",
            "think_tank",
            Some("JP"),
        ),
    )
    .await;
    let file = "\
name,kind,country,focal_point_email
Japan Institute of International Affairs,club,ZZ,stranger@example.org
Waseda University,academia,JP,
waseda university,academia,XX,
Sophia University,academia,JP,,extra
";
    let problem = expect_problem(
        import_csv(&app, admin.token(), file).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec![
            "line[2].kind",
            "line[2].country",
            "line[2].name",
            "line[2].focal_point_name",
            "line[4].country",
            "line[4].name",
            "line[5]",
        ],
        "{problem}"
    );
}

#[tokio::test]
async fn a_csv_file_with_any_bad_row_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    create(
        &app,
        &admin,
        org(
            "Japan Institute of International Affairs",
            "think_tank",
            Some("JP"),
        ),
    )
    .await;
    let before_orgs = count(&app, "SELECT count(*) AS n FROM organizations").await;
    let before_people = count(&app, "SELECT count(*) AS n FROM people").await;
    let before_audit = count(&app, "SELECT count(*) AS n FROM audit_entries").await;

    let bad = "\
name,short_name,kind,country,website,status,focal_point_email,focal_point_name,focal_point_position
Good One,G1,academia,JP,https://example.org/,,good@example.org,Good Person,Director
Nowhere Institute,,think_tank,,,,,,
Bad Country,,academia,ZZ,,,,,
Bad Kind,,club,JP,javascript:alert(1),pending,,,
good one,,academia,JP,,,,,
JAPAN INSTITUTE OF INTERNATIONAL AFFAIRS,JIIA,think_tank,JP,,,,,
Unknown Focal,,academia,JP,,,unknown@example.org,,
Bad Email,,academia,JP,,,not-an-email,Someone,
,,academia,JP,,,,,
Too,Many,academia,JP,,,,,,extra
";
    let problem = expect_problem(
        import_csv(&app, admin.token(), bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec![
            "line[3].country",
            "line[4].country",
            "line[5].kind",
            "line[5].website",
            "line[5].status",
            "line[6].name",
            "line[7].name",
            "line[8].focal_point_name",
            "line[9].focal_point_email",
            "line[10].name",
            "line[11]",
        ],
        "{problem}"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        before_orgs
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM people").await,
        before_people
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM audit_entries").await,
        before_audit
    );

    // Once each row is well formed, the file is checked against itself and the database.
    let cross = "\
name,kind,country,focal_point_email
Good One,academia,JP,
good one,academia,JP,
JAPAN INSTITUTE OF INTERNATIONAL AFFAIRS,think_tank,JP,
Unknown Focal,academia,JP,unknown@example.org
";
    let problem = expect_problem(
        import_csv(&app, admin.token(), cross).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec!["line[3].name", "line[4].name", "line[5].focal_point_name"],
        "{problem}"
    );
    let messages: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].contains("line 2"), "{}", messages[0]);
    assert!(messages[1].contains("Japan Institute of International Affairs"));

    // Structural problems: unknown or missing columns, no rows, not UTF-8.
    let problem = expect_problem(
        import_csv(&app, admin.token(), "name,countyr\nX,JP\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        error_fields(&problem),
        vec!["line[1].countyr", "line[1].kind"]
    );
    let problem = expect_problem(
        import_csv(&app, admin.token(), "name,kind,country\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), vec!["file"]);
    let res = app
        .client
        .post(app.api("/organizations/import"))
        .bearer_auth(&admin.token)
        .header("content-type", "text/csv")
        .body(b"name,kind,country\nMinist\xe8re,government,FR\n".to_vec())
        .send()
        .await
        .unwrap();
    let problem = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error_fields(&problem), vec!["line[2]"]);
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM organizations").await,
        before_orgs
    );

    // Too large a body is refused before it is read.
    let huge = format!(
        "name,kind,country\n{}",
        "A Very Long Name,academia,JP\n".repeat(40_000)
    );
    let res = import_csv(&app, admin.token(), &huge).await;
    expect_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn cursors_walk_a_large_directory_in_name_order() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let mut csv = String::from("name,kind,country,status\n");
    for i in 0..60 {
        // Mixed case, so the order is by lower(name), not byte order.
        let name = if i % 2 == 0 {
            format!("member {i:02}")
        } else {
            format!("Member {i:02}")
        };
        csv.push_str(&format!("{name},academia,AU,active\n"));
    }
    for i in 0..5 {
        csv.push_str(&format!("Applicant {i},academia,AU,applicant\n"));
    }
    let result = expect_json(
        import_csv(&app, admin.token(), &csv).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(result["created"], 65);

    let walk = |token: Option<String>, limit: usize| {
        let app = &app;
        async move {
            let mut all = Vec::new();
            let mut pages = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut query = format!("?limit={limit}");
                if let Some(c) = &cursor {
                    query.push_str(&format!("&cursor={c}"));
                }
                let page = list(app, &query, token.as_deref()).await;
                pages += 1;
                let items = names(&page);
                assert!(items.len() <= limit);
                all.extend(items);
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            (all, pages)
        }
    };

    let (public, pages) = walk(None, 25).await;
    assert_eq!(public.len(), 60);
    assert_eq!(pages, 3);
    let mut sorted = public.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(public, sorted);
    assert_eq!(public.iter().collect::<HashSet<_>>().len(), 60);

    let (everything, _) = walk(Some(admin.token.clone()), 7).await;
    assert_eq!(everything.len(), 65);
    assert_eq!(
        &everything[..5],
        &[
            "Applicant 0",
            "Applicant 1",
            "Applicant 2",
            "Applicant 3",
            "Applicant 4"
        ]
    );

    // The default page is 50; more than 200 is clamped, not an error.
    let page = list(&app, "", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    assert!(page["next_cursor"].is_string());
    let page = list(&app, "?limit=1000", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 60);
    assert!(page["next_cursor"].is_null());

    // Filters hold across pages.
    let first = list(&app, "?q=member%200&limit=5", None).await;
    assert_eq!(names(&first).len(), 5);
    let second = list(
        &app,
        &format!(
            "?q=member%200&limit=5&cursor={}",
            first["next_cursor"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(names(&second).len(), 5);
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn the_audit_trail_is_for_admins() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let organizer = app.user("organizer").await;
    let member = app.user("member").await;
    let a = create(&app, &admin, org("First Org", "academia", Some("JP"))).await;
    let b = create(&app, &admin, org("Second Org", "academia", Some("JP"))).await;
    expect_json(
        act(&app, &admin, &id_of(&a), "suspend").await,
        StatusCode::OK,
    )
    .await;

    expect_problem(
        app.get("/audit", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    for user in [&member, &organizer] {
        expect_problem(
            app.get("/audit", user.token()).await,
            StatusCode::FORBIDDEN,
            "admin_only",
        )
        .await;
    }

    let all = audit(&app, &admin, "").await;
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["suspend", "create", "create"]);
    let entry = &all[0];
    let keys: HashSet<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "actor_account_id",
            "action",
            "target_type",
            "target_id",
            "before",
            "after",
            "created_at"
        ]
        .into_iter()
        .collect()
    );

    let for_b = audit(&app, &admin, &format!("?target=organization:{}", id_of(&b))).await;
    assert_eq!(for_b.len(), 1);
    assert_eq!(for_b[0]["after"]["name"], "Second Org");
    assert_eq!(
        audit(
            &app,
            &admin,
            &format!("?target_type=organization&target_id={}", id_of(&a))
        )
        .await
        .len(),
        2
    );
    assert_eq!(
        audit(&app, &admin, "?target_type=organization").await.len(),
        3
    );
    assert!(audit(&app, &admin, "?target_type=event").await.is_empty());
    assert_eq!(
        audit(&app, &admin, &format!("?actor={}", admin.account_id))
            .await
            .len(),
        3
    );

    // Pages, newest first.
    let first = expect_json(
        app.get("/audit?limit=2", admin.token()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let rest = expect_json(
        app.get(
            &format!(
                "/audit?limit=2&cursor={}",
                first["next_cursor"].as_str().unwrap()
            ),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["target_id"], all[2]["target_id"]);

    for bad in [
        "?target=organization",
        "?target=organization:not-a-uuid",
        "?target=:0193",
    ] {
        let problem = expect_problem(
            app.get(&format!("/audit{bad}"), admin.token()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), vec!["target"], "{bad}");
    }
    let problem = expect_problem(
        app.get(
            &format!(
                "/audit?target=organization:{}&target_type=person",
                id_of(&a)
            ),
            admin.token(),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), vec!["target"]);
}

#[tokio::test]
async fn the_demo_network_loads_once_however_often_it_runs() {
    let app = TestApp::spawn().await;
    let tables = [
        "SELECT count(*) AS n FROM organizations",
        "SELECT count(*) AS n FROM people",
        "SELECT count(*) AS n FROM affiliations",
        "SELECT count(*) AS n FROM affiliations WHERE focal_point",
        "SELECT count(*) AS n FROM audit_entries",
    ];
    convene::demo::load(&app.pool).await.expect("first load");
    let mut first = Vec::new();
    for sql in tables {
        first.push(count(&app, sql).await);
    }
    assert!(first[0] >= 20, "{first:?}");
    assert!(first[1] >= 20, "{first:?}");
    assert_eq!(first[2], first[1], "every demo person has one affiliation");
    assert!(first[3] >= 8, "{first:?}");

    let summary = convene::demo::load_network(&app.pool)
        .await
        .expect("second load");
    assert_eq!(summary, convene::demo::NetworkSummary::default());
    convene::demo::load(&app.pool).await.expect("third load");
    let mut again = Vec::new();
    for sql in tables {
        again.push(count(&app, sql).await);
    }
    assert_eq!(first, again);

    let page = list(&app, "?limit=200", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, first[0]);
    let short_names: HashSet<&str> = items
        .iter()
        .filter_map(|o| o["short_name"].as_str())
        .collect();
    for expected in [
        "MOFA",
        "NIDS",
        "JICA",
        "JICA Ogata Research Institute",
        "IDE-JETRO",
        "JIIA",
        "JICS",
        "GPAJ",
        "SIIR",
        "APR2P",
        "AHC",
        "DFAT",
        "ASEAN",
    ] {
        assert!(
            short_names.contains(expected),
            "{expected} missing from the directory"
        );
    }
    let by_name = |name: &str| {
        items
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    assert_eq!(by_name("R2P Network of Japan")["kind"], "civil_society");
    assert_eq!(by_name("Australian Embassy in Tokyo")["country"], "AU");
    let asean = by_name("Association of Southeast Asian Nations");
    assert_eq!(asean["kind"], "regional_organization");
    assert!(asean["country"].is_null());
    assert_eq!(
        by_name("Ministry of Foreign Affairs of Japan")["country"],
        "JP"
    );

    // Focal points from the seed: Ms. Sato for MOFA.
    let admin = app.user("admin").await;
    let mofa = by_name("Ministry of Foreign Affairs of Japan");
    let people = expect_json(
        app.get(
            &format!("/organizations/{}/people", id_of(&mofa)),
            admin.token(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(people["items"][0]["email"], "sato@example.org");
    assert_eq!(people["items"][0]["focal_point"], true);
}

#[tokio::test]
async fn the_network_routes_are_documented() {
    let app = TestApp::spawn().await;
    let doc = expect_json(
        app.client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    for (path, method) in [
        ("/api/v1/organizations", "get"),
        ("/api/v1/organizations", "post"),
        ("/api/v1/organizations/{id}", "get"),
        ("/api/v1/organizations/{id}", "patch"),
        ("/api/v1/organizations/applications", "post"),
        ("/api/v1/organizations/import", "post"),
        ("/api/v1/organizations/{id}/approve", "post"),
        ("/api/v1/organizations/{id}/suspend", "post"),
        ("/api/v1/organizations/{id}/reinstate", "post"),
        ("/api/v1/organizations/{id}/withdraw", "post"),
        ("/api/v1/organizations/{id}/people", "get"),
        ("/api/v1/organizations/{id}/people", "post"),
        ("/api/v1/people", "get"),
        ("/api/v1/people", "post"),
        ("/api/v1/audit", "get"),
    ] {
        assert!(
            doc["paths"][path].get(method).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let view = &doc["components"]["schemas"]["OrganizationView"];
    let required: HashSet<&str> = view["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, PUBLIC_FIELDS.iter().copied().collect());
}
