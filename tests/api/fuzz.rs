//! Schemathesis (from PyPI) against the generated OpenAPI document: no 5xx, every status,
//! content type and body as documented — as an anonymous client and as a logged-in member.

use crate::support::TestApp;

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("convene-st-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir for schemathesis");
    dir
}

fn schemathesis(app: &TestApp, extra: &[&str]) -> (bool, String) {
    let schema = app.url("/api/openapi.json");
    let output = std::process::Command::new("st")
        .args(["run", &schema, "--checks", CHECKS])
        .args([
            "--max-examples",
            "15",
            "--phases",
            "examples,coverage,fuzzing",
        ])
        // One worker: hypothesis parses lambdas with `ast` concurrently across threads, which
        // CPython 3.11 does not survive reliably ("AST constructor recursion depth mismatch").
        .args(["--workers", "1", "--request-timeout", "20", "--no-color"])
        .args(["--suppress-health-check", "all"])
        .args(extra)
        .env("SCHEMATHESIS_HOOKS", "")
        // Its cache replays earlier failures; each run starts clean, away from the repository.
        .current_dir(scratch_dir())
        .output()
        .expect("schemathesis (`st`) is installed: scripts/test installs it with pip");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_conforms_to_its_openapi_document_for_anonymous_clients() {
    let app = TestApp::spawn().await;
    let (ok, report) = tokio::task::block_in_place(|| schemathesis(&app, &[]));
    assert!(ok, "schemathesis found failures:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_conforms_to_its_openapi_document_for_members() {
    let app = TestApp::spawn().await;
    let member = app.user("member").await;
    let header = format!("Authorization: Bearer {}", member.token);
    let (ok, report) = tokio::task::block_in_place(|| {
        schemathesis(
            &app,
            &["-H", &header, "--exclude-path", "/api/v1/auth/logout"],
        )
    });
    assert!(ok, "schemathesis found failures:\n{report}");
}
