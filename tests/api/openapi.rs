//! The OpenAPI document is what generated clients are built from: a standard validator accepts
//! it, its operation ids are unique, and a Python client generated from it compiles.

use std::collections::HashMap;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{expect_json, TestApp};

async fn document(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi.json");
    expect_json(res, StatusCode::OK).await
}

fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("convene-oa-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} could not start (scripts/test installs it): {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn operation_ids_are_unique() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut seen: HashMap<String, String> = HashMap::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            let Some(id) = operation["operationId"].as_str() else {
                continue;
            };
            let here = format!("{} {path}", method.to_uppercase());
            if let Some(earlier) = seen.insert(id.to_owned(), here.clone()) {
                panic!("operationId {id} names both {earlier} and {here}");
            }
        }
    }
    assert!(seen.len() > 50, "only {} operations", seen.len());
}

#[tokio::test]
async fn a_standard_validator_accepts_the_document_and_a_generated_client_compiles() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let dir = scratch_dir();
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");

    let (valid, report) = run(Command::new("openapi-spec-validator").arg(&file));
    assert!(
        valid,
        "openapi-spec-validator refused the document:\n{report}"
    );

    let (generated, report) = run(Command::new("openapi-python-client")
        .args(["generate", "--path"])
        .arg(&file)
        .args(["--output-path"])
        .arg(dir.join("client"))
        .args(["--meta", "none"])
        .current_dir(&dir));
    assert!(generated, "openapi-python-client failed:\n{report}");
    // The generator cannot make a method for a `text/csv` request body (the CSV import); any
    // other endpoint it skips is a fault of the document.
    let skipped: Vec<&str> = report
        .lines()
        .filter(|line| line.contains("Endpoint will not be generated"))
        .collect();
    assert!(
        skipped
            .iter()
            .all(|line| line.contains("POST /api/v1/organizations/import")),
        "the generator skipped endpoints:\n{report}"
    );
    let (compiled, report) = run(Command::new("python3")
        .args(["-m", "compileall", "-q"])
        .arg(dir.join("client")));
    assert!(compiled, "the generated client does not compile:\n{report}");
    let (imported, report) = run(Command::new("python3")
        .args([
            "-c",
            "import client, client.api, client.models; print('ok')",
        ])
        .current_dir(&dir));
    assert!(imported, "the generated client does not import:\n{report}");
}

/// A client can switch on `code`: the document lists every stable code a problem may carry.
#[tokio::test]
async fn problem_codes_are_listed_in_the_document() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Problem"]["properties"]["code"]["$ref"],
        "#/components/schemas/Code"
    );
    let codes: Vec<&str> = schemas["Code"]["enum"]
        .as_array()
        .expect("Code lists its values")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in [
        "invitation_required",
        "not_found",
        "validation_failed",
        "service_unavailable",
        "too_many_requests",
        "invalid_csrf_token",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}
