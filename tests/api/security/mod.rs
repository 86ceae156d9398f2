//! Issue 16, one file per threat: each test an attack that must fail, and beside it the
//! legitimate use that must still work.

mod csrf;
mod hardening;
mod identity;
mod login_throttling;
mod mail_abuse;
mod online_links;
mod registration_privacy;
mod reminder_tokens;
mod token_logging;

use reqwest::Response;
use serde_json::Value;

use crate::support::TestApp;

/// A POST under /api/v1 that a proxy forwarded for `client` (`X-Forwarded-For`).
pub async fn post_from(
    app: &TestApp,
    forwarded_for: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> Response {
    let mut req = app
        .client
        .post(app.api(path))
        .header("x-forwarded-for", forwarded_for)
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request sent")
}

/// Whether `res` is a 429 with a sensible Retry-After.
pub fn is_throttled(res: &Response) -> bool {
    res.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
        && res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|secs| secs >= 1)
}
