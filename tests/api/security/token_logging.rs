//! No token in any log line (issue 16, point 7; DESIGN rule 5). The real `convene serve`
//! binary runs at `RUST_LOG=trace` with its output captured; every route and page that takes
//! a token is called the right way and the wrong ways (malformed JSON, unknown fields, wrong
//! content type, a token where an id belongs, unknown sub-routes, wrong methods), and the log
//! is searched for every token the server emailed or answered.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures::{self as fx, unique_email};
use crate::support::TestApp;

/// `convene serve` in a child process, killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Server {
    async fn start(app: &TestApp) -> Server {
        use secrecy::ExposeSecret;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let log = std::env::temp_dir().join(format!(
            "convene-token-log-{}.log",
            uuid::Uuid::now_v7().simple()
        ));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let manifest = env!("CARGO_MANIFEST_DIR");
        let child = Command::new(env!("CARGO_BIN_EXE_convene"))
            .arg("serve")
            .current_dir(manifest)
            .env("RUST_LOG", "trace")
            .env("CONVENE_CONFIG_DIR", format!("{manifest}/config"))
            .env("CONVENE__APP__ENVIRONMENT", "test")
            .env("CONVENE__SERVER__PORT", port.to_string())
            .env(
                "CONVENE__DATABASE__URL",
                app.settings.database.url.expose_secret(),
            )
            .env("CONVENE__DATABASE__MAX_CONNECTIONS", "4")
            .env("CONVENE__EMAIL__SMTP_URL", app.smtp.url())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start convene serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let up = app
                .client
                .get(format!("{}/health/live", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "convene serve did not start: {}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server (SIGTERM, so it flushes) and answers everything it logged.
    async fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::read_to_string(&self.log).expect("read the log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Every token-shaped link parameter in the messages the SMTP server received.
fn emailed_tokens(app: &TestApp) -> Vec<String> {
    let pattern =
        regex::Regex::new(r"(?:token=|/invitations/)([A-Za-z0-9_-]{43})").expect("pattern");
    let mut tokens: Vec<String> = app
        .smtp
        .messages()
        .iter()
        .flat_map(|m| {
            let text = m.text_body();
            pattern
                .captures_iter(&text)
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The first token of a link under `path` in the newest message to `to` about `subject`.
async fn token_in_mail(app: &TestApp, to: &str, subject: &str, path: &str) -> String {
    let mail = fx::wait_for_mail(app, to, subject).await;
    let prefix = format!("{}{path}", app.settings.public_url());
    let link = mail
        .first_link(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {}", mail.text_body()));
    let rest = &link[prefix.len()..];
    let token = rest.rsplit(['=', '/']).next().expect("token").to_owned();
    assert_eq!(token.len(), 43, "{link}");
    token
}

#[tokio::test]
async fn no_token_reaches_the_log_at_trace_level_on_any_path() {
    let app = TestApp::spawn_with(|s| s.worker.enabled = false).await;
    let dialogue = fx::dialogue(&app).await;
    let staff = &dialogue.staff;
    let server = Server::start(&app).await;
    let http = &app.client;

    // Tokens made through the logging server: a login session, an invitation, a registration's
    // confirmation, an email verification, a password reset.
    let login: Value = http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": staff.email, "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let session = login["token"].as_str().expect("session token").to_owned();
    let invitee = unique_email("invitee");
    let res = http
        .post(server.url(&format!("/api/v1/events/{}/invitations", dialogue.event_id)))
        .bearer_auth(&session)
        .json(&json!({"session_ids": [dialogue.closed[0]],
                      "invitees": [{"email": invitee, "name": "Dr Invitee"}]}))
        .send()
        .await
        .expect("invite");
    assert_eq!(res.status(), StatusCode::CREATED);
    let registrant = unique_email("registrant");
    let res = http
        .post(server.url(&format!(
            "/api/v1/sessions/{}/registrations",
            dialogue.public
        )))
        .json(&json!({"email": registrant, "name": "Ms. Registrant"}))
        .send()
        .await
        .expect("register");
    assert!(res.status().is_success());
    let newcomer = unique_email("newcomer");
    let res = http
        .post(server.url("/api/v1/auth/signup"))
        .json(
            &json!({"email": newcomer, "password": "a long enough password",
                      "name": "Mr. Newcomer"}),
        )
        .send()
        .await
        .expect("signup");
    assert!(res.status().is_success());
    let res = http
        .post(server.url("/api/v1/auth/password-reset"))
        .json(&json!({"email": staff.email}))
        .send()
        .await
        .expect("reset");
    assert!(res.status().is_success());

    let invitation = token_in_mail(&app, &invitee, "", "/invitations/").await;
    let confirm = token_in_mail(
        &app,
        &registrant,
        "Confirm your registration",
        "/registrations/confirm?token=",
    )
    .await;
    let verify = token_in_mail(
        &app,
        &newcomer,
        "Confirm your email",
        "/verify-email?token=",
    )
    .await;
    let reset = token_in_mail(
        &app,
        &staff.email,
        "Choose a new password",
        "/password-reset?token=",
    )
    .await;

    // Each token route, the right way and the wrong ways.
    let api = |path: &str| server.url(&format!("/api/v1{path}"));
    let calls: Vec<reqwest::RequestBuilder> = vec![
        http.get(api(&format!("/invitations/by-token/{invitation}"))),
        http.post(api(&format!("/invitations/by-token/{invitation}/respond")))
            .header("content-type", "application/json")
            .body("{\"response\": "),
        http.post(api(&format!("/invitations/by-token/{invitation}/respond")))
            .json(&json!({"response": "maybe"})),
        http.post(api(&format!("/invitations/by-token/{invitation}/respond")))
            .json(&json!({"response": "accept", "session_ids": ["not-a-uuid"], "x": 1})),
        http.post(api(&format!("/invitations/by-token/{invitation}/respond")))
            .header("content-type", "text/plain")
            .body("accept"),
        http.delete(api(&format!("/invitations/by-token/{invitation}/respond"))),
        http.get(api(&format!("/invitations/by-token/{invitation}/nowhere"))),
        http.get(api(&format!("/invitations/by-token/{invitation}x"))),
        http.post(api(&format!("/invitations/{invitation}/revoke")))
            .bearer_auth(&session),
        http.get(server.url(&format!("/invitations/{invitation}"))),
        http.post(server.url(&format!("/invitations/{invitation}")))
            .form(&[("response", "maybe")]),
        http.get(server.url(&format!("/registrations/confirm?token={confirm}"))),
        http.post(api("/registrations/confirm"))
            .header("content-type", "application/json")
            .body(format!("{{\"token\": \"{confirm}\"")),
        http.post(api("/registrations/confirm"))
            .json(&json!({"token": confirm, "extra": true})),
        http.post(api("/registrations/confirm"))
            .json(&json!({"token": [confirm]})),
        http.get(api(&format!("/registrations/{confirm}"))),
        http.post(api(&format!("/registrations/{confirm}/check-in")))
            .bearer_auth(&session),
        http.get(server.url(&format!("/verify-email?token={verify}"))),
        http.post(api("/auth/verify-email"))
            .header("content-type", "application/json")
            .body(format!("{{\"token\": \"{verify}\"")),
        http.post(api("/auth/verify-email"))
            .json(&json!({"token": verify, "extra": 1})),
        http.get(server.url(&format!("/password-reset?token={reset}"))),
        http.post(api("/auth/password-reset/confirm"))
            .json(&json!({"token": reset, "password": "short"})),
        http.post(api("/auth/password-reset/confirm"))
            .header("content-type", "application/json")
            .body(format!("{{\"token\": \"{reset}\", \"password\": ")),
        http.post(server.url("/password-reset"))
            .form(&[("token", reset.as_str()), ("password", "short")]),
        http.get(api("/me")).bearer_auth(&session),
        http.get(api("/me")).bearer_auth(format!("{session}x")),
        http.get(api(&format!("/sessions/{session}/registrations")))
            .bearer_auth(&session),
    ];
    for call in calls {
        let res = call.send().await.expect("sent");
        assert!(
            !res.status().is_server_error(),
            "{} {}",
            res.url(),
            res.status()
        );
    }
    // The right way (one of the calls above may have been it already): confirming sends a
    // confirmation whose cancel link is one more token.
    let res = http
        .post(api("/registrations/confirm"))
        .json(&json!({"token": confirm}))
        .send()
        .await
        .expect("confirm");
    assert!(!res.status().is_server_error(), "{}", res.status());
    let registration_id = fx::text(
        &app,
        &format!(
            "SELECT r.id::text AS v FROM registrations r JOIN people p ON p.id = r.person_id \
             WHERE p.email = '{registrant}'"
        ),
    )
    .await
    .expect("registration");
    let cancel = loop {
        let tokens = emailed_tokens(&app);
        let mail = app.smtp.messages_to(&registrant);
        if let Some(t) = mail
            .iter()
            .find_map(|m| {
                m.first_link(&format!(
                    "{}/registrations/{registration_id}/cancel?token=",
                    app.settings.public_url()
                ))
            })
            .map(|link| fx::token_of(&link))
        {
            assert!(tokens.contains(&t));
            break t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for call in [
        http.get(server.url(&format!(
            "/registrations/{registration_id}/cancel?token={cancel}"
        ))),
        http.post(server.url(&format!("/registrations/{registration_id}/cancel")))
            .form(&[("token", format!("{cancel}x"))]),
        http.post(server.url("/registrations/not-an-id/cancel"))
            .form(&[("token", cancel.as_str())]),
        http.get(server.url(&format!("/registrations/{cancel}/cancel?token={cancel}"))),
    ] {
        let res = call.send().await.expect("sent");
        assert!(!res.status().is_server_error(), "{}", res.status());
    }
    let res = http
        .post(api(&format!("/invitations/by-token/{invitation}/respond")))
        .json(&json!({"response": "accept"}))
        .send()
        .await
        .expect("accept");
    let status = res.status();
    assert!(
        status.is_success(),
        "{status} {}",
        res.text().await.unwrap_or_default()
    );
    // Let the worker send what these queued, through the same log.
    fx::wait_for_mail(&app, &invitee, "").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let log = server.stop().await;
    assert!(
        log.lines().count() > 100 && log.contains("TRACE") && log.contains("DEBUG"),
        "the server logged at trace level: {}",
        &log[..log.len().min(2000)]
    );
    let mut tokens = emailed_tokens(&app);
    tokens.push(session);
    assert!(tokens.len() >= 6, "{tokens:?}");
    let leaks: Vec<&str> = log
        .lines()
        .filter(|line| tokens.iter().any(|t| line.contains(t.as_str())))
        .collect();
    assert!(leaks.is_empty(), "tokens in the log: {leaks:#?}");
}
