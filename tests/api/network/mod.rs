//! The partnership network: organisations and their membership lifecycle, applications,
//! people and focal points, the CSV import, the audit trail and the demo loader.

mod applications;
mod audit;
mod demo;
mod directory;
mod import;
mod membership;
mod openapi;
mod organizations;
mod people;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fixtures::count;
use crate::support::{expect_json, TestApp, TestUser};

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
