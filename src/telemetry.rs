//! Logging: pretty lines locally, JSON in production; `RUST_LOG` filters either. Nothing
//! secret is logged: not the database driver's bind parameters, not the tokens of emailed links.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::{fmt, EnvFilter};

use crate::auth::token::looks_like_token;

/// Libraries whose debug and trace lines carry what a request or a statement holds; never
/// below info, whatever RUST_LOG says:
/// - tokio-postgres prints every statement's bind parameters, among them the outbox's email
///   bodies with their links' tokens;
/// - actix-web prints the raw request path when an extractor fails ("Failed during Path
///   extractor deserialization. Request path: …", the same for JSON and query bodies), and
///   emailed links carry tokens in their paths (`/invitations/{token}`).
const QUIET_LIBRARIES: [&str; 2] = ["tokio_postgres=info", "actix_web=info"];

pub fn init(json: bool) {
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,lettre=warn"));
    for quiet in QUIET_LIBRARIES {
        if let Ok(quiet) = quiet.parse() {
            filter = filter.add_directive(quiet);
        }
    }
    let builder = fmt().with_env_filter(filter).with_target(true);
    // A second init (tests start several apps in one process) is harmless.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}

/// The span of every request: tracing-actix-web's default fields, except that the target is
/// redacted. Emailed links carry tokens in the query (`?token=`) or the path
/// (`/invitations/{token}`), and a span's fields are printed with every event inside it.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "default".to_owned());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        // The address the throttles and limits see (src/client_addr.rs), not whatever a
        // forwarded-for header claims.
        let client_ip = request
            .app_data::<actix_web::web::Data<crate::context::Context>>()
            .map(|state| {
                crate::client_addr::ClientAddr::resolve(
                    request.peer_addr(),
                    request.headers(),
                    &state.settings.server,
                )
                .to_string()
            })
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %redacted_target_of_route(
                request.match_pattern().as_deref(),
                request.path(),
                request.query_string()
            ),
            http.client_ip = %client_ip,
            http.user_agent = %user_agent,
            http.status_code = Empty,
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Whether a piece of a URL may hold a token: a token, or a token with something around it
/// (`{token}x`, a mangled copy), i.e. a run of at least 43 base64url characters with an
/// upper-case letter or `_` in it. Slugs (lower case) and ids (lower-case hex) never qualify;
/// a random token lacks both with a chance of about 1 in 5·10⁹.
fn may_hold_token(text: &str) -> bool {
    if looks_like_token(text) {
        return true;
    }
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .any(|run| run.len() >= 43 && run.bytes().any(|b| b.is_ascii_uppercase() || b == b'_'))
}

/// The path and query with every token-shaped path segment and every token-like or
/// `*token*`-named query value replaced by `[redacted]`.
pub fn redacted_target(path: &str, query: &str) -> String {
    redacted_target_of_route(None, path, query)
}

/// [`redacted_target`], also redacting the segments that the matched route `pattern` names
/// `{token}` (whatever their shape: a truncated token is still most of one).
pub fn redacted_target_of_route(pattern: Option<&str>, path: &str, query: &str) -> String {
    let token_positions: Vec<usize> = pattern
        .map(|p| {
            p.split('/')
                .enumerate()
                .filter(|(_, segment)| segment.starts_with('{') && segment.contains("token"))
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let path = path
        .split('/')
        .enumerate()
        .map(|(i, segment)| {
            if token_positions.contains(&i) || may_hold_token(segment) {
                "[redacted]"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    if query.is_empty() {
        return path;
    }
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value))
                if key.to_ascii_lowercase().contains("token") || may_hold_token(value) =>
            {
                format!("{key}=[redacted]")
            }
            _ if may_hold_token(pair) => "[redacted]".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_lose_their_tokens_and_keep_the_rest() {
        let token = "YQ3Qu1hhbQOAp8pqSxwZQU5WNzaiKjT63ZWqUuc6rxM";
        assert_eq!(
            redacted_target("/verify-email", &format!("token={token}")),
            "/verify-email?token=[redacted]"
        );
        assert_eq!(
            redacted_target(&format!("/invitations/{token}"), ""),
            "/invitations/[redacted]"
        );
        assert_eq!(
            redacted_target("/api/v1/accounts", &format!("role=admin&limit=2&c={token}")),
            "/api/v1/accounts?role=admin&limit=2&c=[redacted]"
        );
        assert_eq!(
            redacted_target("/x", "token=short&q=a"),
            "/x?token=[redacted]&q=a"
        );
        assert_eq!(
            redacted_target("/events/japan-2022", ""),
            "/events/japan-2022"
        );
        assert_eq!(
            redacted_target(
                &format!("/api/v1/invitations/by-token/{token}x/nowhere"),
                ""
            ),
            "/api/v1/invitations/by-token/[redacted]/nowhere"
        );
        assert_eq!(
            redacted_target_of_route(
                Some("/api/v1/invitations/by-token/{token}"),
                "/api/v1/invitations/by-token/YQ3Qu1hhbQOAp8",
                ""
            ),
            "/api/v1/invitations/by-token/[redacted]"
        );
        let slug = "japan-national-dialogue-on-r2p-and-atrocities-prevention-2022";
        let id = "01938e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6";
        assert_eq!(
            redacted_target(&format!("/events/{slug}/sessions/{id}/register"), ""),
            format!("/events/{slug}/sessions/{id}/register")
        );
    }

    #[test]
    fn the_quieting_directives_parse() {
        for quiet in QUIET_LIBRARIES {
            assert!(quiet
                .parse::<tracing_subscriber::filter::Directive>()
                .is_ok());
        }
    }
}
