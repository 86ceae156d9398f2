//! Admins list accounts and change their role or disable them; `convene admin create` makes
//! the first admin.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{expect_json, expect_problem, TestApp};

const PASSWORD: &str = "correct horse battery staple";

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn only_admins_list_accounts() {
    let app = TestApp::spawn().await;
    let res = app.get("/accounts", None).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    for role in ["member", "organizer"] {
        let user = app.user(role).await;
        let res = app.get("/accounts", user.token()).await;
        expect_problem(res, StatusCode::FORBIDDEN, "admin_only").await;
    }
    let admin = app.user("admin").await;
    let page = expect_json(app.get("/accounts", admin.token()).await, StatusCode::OK).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["next_cursor"].is_null());
    let me = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == admin.account_id.as_str())
        .expect("the admin is listed");
    assert_eq!(me["email"], admin.email);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["disabled"], false);
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn only_admins_change_accounts() {
    let app = TestApp::spawn().await;
    let target = app.user("member").await;
    let path = format!("/accounts/{}", target.account_id);
    let res = app.patch(&path, None, json!({"role": "organizer"})).await;
    expect_problem(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    for role in ["member", "organizer"] {
        let user = app.user(role).await;
        let res = app
            .patch(&path, user.token(), json!({"role": "admin"}))
            .await;
        expect_problem(res, StatusCode::FORBIDDEN, "admin_only").await;
    }
    // The member may not promote themselves either.
    let res = app
        .patch(&path, target.token(), json!({"role": "admin"}))
        .await;
    expect_problem(res, StatusCode::FORBIDDEN, "admin_only").await;
    let me = expect_json(app.get("/me", target.token()).await, StatusCode::OK).await;
    assert_eq!(me["role"], "member");
}

#[tokio::test]
async fn accounts_filter_by_role_disabled_and_text_and_page_by_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let aiko = app
        .user_with_email("organizer", "aiko.tanaka@waseda.example.org", "Aiko Tanaka")
        .await;
    let kenji = app
        .user_with_email("member", "kenji@r2p-japan.example.org", "Kenji Sato")
        .await;
    let maria = app
        .user_with_email("member", "maria@siir.example.org", "Maria 50% Santos")
        .await;
    let list = |query: &str| {
        let path = format!("/accounts{query}");
        let app = &app;
        let token = admin.token();
        async move { expect_json(app.get(&path, token).await, StatusCode::OK).await }
    };

    assert_eq!(
        ids(&list("?role=organizer").await),
        [aiko.account_id.as_str()]
    );
    assert_eq!(
        ids(&list("?role=member").await),
        [kenji.account_id.as_str(), maria.account_id.as_str()]
    );
    assert_eq!(ids(&list("?q=TANAKA").await), [aiko.account_id.as_str()]);
    assert_eq!(
        ids(&list("?q=r2p-japan").await),
        [kenji.account_id.as_str()]
    );
    assert_eq!(ids(&list("?q=50%25").await), [maria.account_id.as_str()]);
    assert!(ids(&list("?q=nobody-at-all").await).is_empty());
    assert_eq!(
        ids(&list("?role=member&q=sato").await),
        [kenji.account_id.as_str()]
    );

    // Pages in creation order; the last page has no cursor.
    let first = list("?limit=2").await;
    assert_eq!(
        ids(&first),
        [admin.account_id.as_str(), aiko.account_id.as_str()]
    );
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let second = list(&format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(
        ids(&second),
        [kenji.account_id.as_str(), maria.account_id.as_str()]
    );
    assert!(
        second["next_cursor"].is_null(),
        "the last page has no cursor"
    );
    let third = list("?limit=3").await;
    let cursor = third["next_cursor"].as_str().expect("more pages");
    let rest = list(&format!("?limit=3&cursor={cursor}")).await;
    assert_eq!(ids(&rest), [maria.account_id.as_str()]);
    // Larger pages are clamped, not refused.
    assert_eq!(ids(&list("?limit=5000").await).len(), 4);

    let res = app
        .patch(
            &format!("/accounts/{}", kenji.account_id),
            admin.token(),
            json!({"disabled": true}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    assert_eq!(
        ids(&list("?disabled=true").await),
        [kenji.account_id.as_str()]
    );
    assert_eq!(ids(&list("?disabled=false").await).len(), 3);

    for (query, field) in [
        ("?role=superuser", "role"),
        ("?cursor=%21%21", "cursor"),
        ("?limit=0", "limit"),
    ] {
        let res = app.get(&format!("/accounts{query}"), admin.token()).await;
        let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
    let res = app.get("/accounts?limit=many", admin.token()).await;
    expect_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn an_admin_changes_roles_and_disabling_ends_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let user = app.user("member").await;
    let path = format!("/accounts/{}", user.account_id);

    let res = app
        .patch(&path, admin.token(), json!({"role": "organizer"}))
        .await;
    let view = expect_json(res, StatusCode::OK).await;
    assert_eq!(view["role"], "organizer");
    assert_eq!(view["disabled"], false);
    let me = expect_json(app.get("/me", user.token()).await, StatusCode::OK).await;
    assert_eq!(me["role"], "organizer");

    let res = app
        .patch(&path, admin.token(), json!({"disabled": true}))
        .await;
    let view = expect_json(res, StatusCode::OK).await;
    assert_eq!(view["disabled"], true);
    assert_eq!(view["role"], "organizer");
    expect_problem(
        app.get("/me", user.token()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let res = app
        .post(
            "/auth/login",
            None,
            json!({"email": user.email, "password": PASSWORD}),
        )
        .await;
    expect_problem(res, StatusCode::FORBIDDEN, "account_disabled").await;

    let res = app
        .patch(&path, admin.token(), json!({"disabled": false}))
        .await;
    let view = expect_json(res, StatusCode::OK).await;
    assert_eq!(view["disabled"], false);
    let session = app.login(&user.email, PASSWORD).await;
    expect_json(app.get("/me", Some(&session)).await, StatusCode::OK).await;

    // Promoted to admin, the account may manage accounts.
    let res = app
        .patch(&path, admin.token(), json!({"role": "admin"}))
        .await;
    expect_json(res, StatusCode::OK).await;
    expect_json(app.get("/accounts", Some(&session)).await, StatusCode::OK).await;

    let res = app.patch(&path, admin.token(), json!({})).await;
    let view = expect_json(res, StatusCode::OK).await;
    assert_eq!(view["role"], "admin");
}

#[tokio::test]
async fn an_admin_cannot_disable_or_demote_themselves() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let path = format!("/accounts/{}", admin.account_id);
    let res = app
        .patch(&path, admin.token(), json!({"disabled": true}))
        .await;
    expect_problem(res, StatusCode::CONFLICT, "cannot_disable_self").await;
    for role in ["organizer", "member"] {
        let res = app.patch(&path, admin.token(), json!({"role": role})).await;
        expect_problem(res, StatusCode::CONFLICT, "cannot_demote_self").await;
    }
    let res = app
        .patch(
            &path,
            admin.token(),
            json!({"role": "admin", "disabled": false}),
        )
        .await;
    let view = expect_json(res, StatusCode::OK).await;
    assert_eq!(view["role"], "admin");
    expect_json(app.get("/me", admin.token()).await, StatusCode::OK).await;
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let a = app.user("admin").await;
    let b = app.user("admin").await;
    let (path_a, path_b) = (
        format!("/accounts/{}", a.account_id),
        format!("/accounts/{}", b.account_id),
    );
    let (ra, rb) = tokio::join!(
        app.patch(&path_b, a.token(), json!({"role": "member"})),
        app.patch(&path_a, b.token(), json!({"role": "member"})),
    );
    let statuses = [ra.status(), rb.status()];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    let mut still_admin = 0;
    for token in [a.token(), b.token()] {
        let me = expect_json(app.get("/me", token).await, StatusCode::OK).await;
        if me["role"] == "admin" {
            still_admin += 1;
        }
    }
    assert_eq!(still_admin, 1);
}

#[tokio::test]
async fn patching_accounts_reports_bad_input_clearly() {
    let app = TestApp::spawn().await;
    let admin = app.user("admin").await;
    let user = app.user("member").await;
    let res = app
        .patch(
            &format!("/accounts/{}", uuid::Uuid::now_v7()),
            admin.token(),
            json!({"role": "organizer"}),
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app
        .patch("/accounts/not-a-uuid", admin.token(), json!({}))
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;

    let path = format!("/accounts/{}", user.account_id);
    let res = app
        .patch(&path, admin.token(), json!({"role": "superuser"}))
        .await;
    let body = expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "role");
    let res = app
        .patch(&path, admin.token(), json!({"disable": true}))
        .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let res = app
        .patch(&path, admin.token(), json!({"disabled": "yes"}))
        .await;
    expect_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let me = expect_json(app.get("/me", user.token()).await, StatusCode::OK).await;
    assert_eq!(me["role"], "member");
    assert_eq!(me["disabled"], false);
}

fn convene_command() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_convene"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CONVENE") {
            command.env_remove(key);
        }
    }
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CONVENE__APP__ENVIRONMENT", "test");
    command
}

/// The README's way to the first admin: `convene admin create`, then log in and manage.
#[tokio::test]
async fn admin_create_makes_an_admin_who_can_log_in_and_manage_accounts() {
    let app = TestApp::spawn().await;
    let password = "the secretariat's passphrase";
    let output = convene_command()
        .args([
            "admin",
            "create",
            "--email",
            "Secretariat@APR2P.example.org",
            "--name",
            "APR2P Secretariat",
        ])
        .env("CONVENE__DATABASE__URL", &app.db.url)
        .env("CONVENE_ADMIN_PASSWORD", password)
        .output()
        .await
        .expect("run convene admin create");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("secretariat@apr2p.example.org"), "{stdout}");
    assert!(!stdout.contains(password) && !stderr.contains(password));

    let token = app.login("secretariat@apr2p.example.org", password).await;
    let member = app.user("member").await;
    let page = expect_json(app.get("/accounts", Some(&token)).await, StatusCode::OK).await;
    let admin = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "secretariat@apr2p.example.org")
        .expect("the new admin is listed")
        .clone();
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["name"], "APR2P Secretariat");
    assert_eq!(admin["email_verified"], true);
    let res = app
        .patch(
            &format!("/accounts/{}", member.account_id),
            Some(&token),
            json!({"role": "organizer"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;

    // A second admin with the same address, or a weak password, is refused plainly.
    let output = convene_command()
        .args([
            "admin",
            "create",
            "--email",
            "secretariat@apr2p.example.org",
            "--name",
            "Again",
        ])
        .env("CONVENE__DATABASE__URL", &app.db.url)
        .env("CONVENE_ADMIN_PASSWORD", password)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    let output = convene_command()
        .args([
            "admin",
            "create",
            "--email",
            "other@apr2p.example.org",
            "--name",
            "Other",
        ])
        .env("CONVENE__DATABASE__URL", &app.db.url)
        .env("CONVENE_ADMIN_PASSWORD", "short")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 8 characters"));
}

#[tokio::test]
async fn the_openapi_document_covers_the_account_routes() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc = expect_json(res, StatusCode::OK).await;
    for (path, method) in [
        ("/api/v1/auth/verify-email", "post"),
        ("/api/v1/auth/verify-email/resend", "post"),
        ("/api/v1/auth/password-reset", "post"),
        ("/api/v1/auth/password-reset/confirm", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/accounts", "get"),
        ("/api/v1/accounts/{id}", "patch"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/accounts"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["role", "disabled", "q", "limit", "cursor"] {
        assert!(params.contains(&name), "{name} in {params:?}");
    }
}
