//! Cross-site request defences for what the session cookie authenticates (rule 11).
//!
//! Two layers, both only for requests that present the session cookie (a bearer token is never
//! sent by a browser on its own, and a request with no credentials acts with no one's
//! authority):
//! - [`refuse_cross_site`], a middleware: an unsafe request (not GET, HEAD, OPTIONS) must name
//!   Convene's own origin (`app.public_url`) in `Origin`, or, when a browser sends no `Origin`,
//!   say `Sec-Fetch-Site: same-origin` (or `none`: typed by the user); `Origin: null` counts as
//!   no `Origin`. Otherwise it is refused
//!   with 403 `cross_site_request` before any handler runs.
//! - a CSRF token in every form that acts as the signed-in user: [`form_token`] derives it from
//!   the session token (SHA-256 of a purpose string and the session's secret: it changes with
//!   every login, needs no storage, and reveals nothing of the session token), and
//!   [`check_form`] verifies it on POST.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::extract::SESSION_COOKIE;
use crate::context::Context;
use crate::error::{AppError, Code};

/// The name of the hidden form field that carries the token.
pub const FIELD: &str = "csrf_token";

/// Binds the token to its use: the same session secret hashed for another purpose never
/// matches (the stored session hash is the plain SHA-256).
const PURPOSE: &[u8] = b"convene csrf form token v1\0";

/// The session cookie a request presents, unless it also presents a bearer token (which then
/// authenticates it, see `extract::presented_token`). Only a bearer token counts: a browser
/// adds cached HTTP Basic credentials (a staging proxy's) to cross-site requests by itself.
fn cookie_session(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    if bearer {
        return None;
    }
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn token_for_session(session: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(PURPOSE);
    hasher.update(session.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// The CSRF token for the forms of a page answering `req`: `Some` when the request presents
/// the session cookie (the form's POST will too), `None` for anonymous visitors.
pub fn form_token(req: &HttpRequest) -> Option<String> {
    cookie_session(req).map(|session| token_for_session(&session))
}

/// Verifies the token a form POSTed. A request without the session cookie acts for no one and
/// passes; one with it must carry the token of that very session.
pub fn check_form(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    let Some(expected) = form_token(req) else {
        return Ok(());
    };
    if bool::from(expected.as_bytes().ct_eq(submitted.trim().as_bytes())) {
        Ok(())
    } else {
        Err(AppError::forbidden(
            Code::InvalidCsrfToken,
            "this form has expired or did not come from Convene: reload the page and try again",
        ))
    }
}

/// Whether a cookie-authenticated unsafe request comes from Convene's own pages.
fn same_origin(req: &ServiceRequest, public_origin: &str) -> bool {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    match header(header::ORIGIN.as_str()) {
        // Browsers write `Origin: null` on a form post from a page whose referrer policy is
        // `no-referrer` (Convene's pages behind emailed links): then only `Sec-Fetch-Site`,
        // which the browser sets whatever the policy, tells where the request comes from.
        Some(origin) if origin != "null" => origin.eq_ignore_ascii_case(public_origin),
        _ => matches!(header("sec-fetch-site"), Some("same-origin" | "none")),
    }
}

/// `scheme://host[:port]` of `app.public_url`, as browsers write it in `Origin`.
pub fn origin_of(public_url: &str) -> String {
    url::Url::parse(public_url)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Refuses (403 `cross_site_request`) a request that changes something, presents the session
/// cookie, and does not come from Convene's own origin.
pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe || cookie_session(req.request()).is_none() {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let public_origin = req
        .app_data::<actix_web::web::Data<Context>>()
        .map(|state| origin_of(state.settings.public_url()))
        .unwrap_or_default();
    if !public_origin.is_empty() && same_origin(&req, &public_origin) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let refusal = AppError::forbidden(
        Code::CrossSiteRequest,
        "a request authenticated by the session cookie must come from Convene's own pages; \
         other clients send `Authorization: Bearer <token>`",
    );
    Ok(req.error_response(refusal).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_token_is_bound_to_its_session_and_is_not_its_hash() {
        let a = token_for_session("YQ3Qu1hhbQOAp8pqSxwZQU5WNzaiKjT63ZWqUuc6rxM");
        let b = token_for_session("ZQ3Qu1hhbQOAp8pqSxwZQU5WNzaiKjT63ZWqUuc6rxM");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        let stored = crate::auth::token::hash_token("YQ3Qu1hhbQOAp8pqSxwZQU5WNzaiKjT63ZWqUuc6rxM");
        assert_ne!(URL_SAFE_NO_PAD.decode(&a).unwrap_or_default(), stored);
    }

    #[test]
    fn origins_are_written_as_browsers_do() {
        assert_eq!(
            origin_of("https://convene.example.org/"),
            "https://convene.example.org"
        );
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://x.org:443/base"), "https://x.org");
    }
}
