//! Builds the actix application: the context as app data, middleware, routes, the OpenAPI
//! document, and the server on its port.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;

use crate::config::Settings;
use crate::context::Context;
use crate::db::DbPool;
use crate::error::{AppError, Code, FieldError, Problem, PROBLEM_JSON};

/// The context as actix app data: what every handler reaches.
pub type State = web::Data<Context>;

/// A bound, not yet running server. Binding port 0 gives tests a free port.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub fn build(settings: Arc<Settings>, pool: DbPool) -> anyhow::Result<Application> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address)
            .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
        let port = listener.local_addr()?.port();
        // Here rather than in `serve`, so that the tests' servers bound hashes as production's do.
        crate::auth::password::start_hashing(&settings.auth);
        let state = web::Data::new(Context::new(pool, settings.clone()));
        let body_limit = settings.server.body_limit;
        let production = settings.is_production();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(json_config(body_limit))
                .app_data(web::PayloadConfig::new(body_limit))
                .app_data(web::PathConfig::default().error_handler(malformed_path))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    AppError::bad_request(
                        Code::InvalidQuery,
                        format!("invalid query parameters: {err}"),
                    )
                    .into()
                }))
                .wrap(ErrorHandlers::new().default_handler(problem_for_bare_errors))
                .wrap(actix_web::middleware::from_fn(
                    crate::auth::csrf::refuse_cross_site,
                ))
                .wrap(actix_web::middleware::from_fn(no_store_for_private_answers))
                .wrap(security_headers(production))
                .wrap(TracingLogger::<crate::telemetry::RedactedRootSpan>::new())
                .configure(routes)
                .default_service(web::to(unknown_route))
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::health::routes)
        .configure(crate::mail::routes::metrics_routes)
        .service(
            web::scope("/api/v1")
                .configure(crate::auth::routes::routes)
                .configure(crate::organizations::routes::routes)
                .configure(crate::people::routes::routes)
                .configure(crate::events::routes::routes)
                .configure(crate::registrations::routes::routes)
                .configure(crate::invitations::routes::routes)
                .configure(crate::mail::routes::routes)
                .configure(crate::audit::routes::routes),
        )
        .route("/api/openapi.json", web::get().to(openapi_json))
        .configure(crate::pages::routes)
        .configure(crate::console::routes);
}

/// The OpenAPI 3.1 document, generated from the handlers' annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(OpenApi)]
    #[openapi(
        info(title = "Convene API", description = "Dialogues, sessions, registrations and invitations of the Asia-Pacific Partnership for Atrocity Prevention."),
        components(schemas(Problem, FieldError, Code)),
        modifiers(&BearerAuth)
    )]
    struct Root;

    struct BearerAuth;
    impl utoipa::Modify for BearerAuth {
        fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
            use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
            let components = openapi.components.get_or_insert_with(Default::default);
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }

    let mut doc = Root::openapi();
    let parts = [
        crate::health::Api::openapi(),
        crate::auth::routes::Api::openapi(),
        crate::organizations::routes::Api::openapi(),
        crate::people::routes::Api::openapi(),
        crate::events::routes::Api::openapi(),
        crate::registrations::routes::Api::openapi(),
        crate::invitations::routes::Api::openapi(),
        crate::mail::routes::Api::openapi(),
        crate::audit::routes::Api::openapi(),
    ];
    for part in parts {
        doc.merge(part);
    }
    // Modifiers of the root run before the merge; the common answers must see every route.
    utoipa::Modify::modify(&CommonProblems, &mut doc);
    doc
}

/// Answers every route can give without its handler saying so — malformed requests, oversized
/// bodies, a missing login, an unreachable database — documented once here so the document
/// stays truthful (schemathesis checks every status against it).
struct CommonProblems;

impl utoipa::Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                };
                add("400", "Malformed request (query, header or JSON syntax)");
                add("500", "Unexpected error; nothing internal is disclosed");
                add(
                    "503",
                    "Database unavailable; retry after the Retry-After delay",
                );
                if path.contains('{') {
                    add("404", "No such resource");
                }
                if operation.request_body.is_some() {
                    add("413", "Body larger than the limit");
                    add("415", "Body is not of the expected content type");
                    add("422", "Invalid fields; `errors` names each");
                }
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add("401", "Not logged in");
                    add("403", "Logged in but not allowed");
                }
            }
        }
    }
}

async fn openapi_json() -> actix_web::HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| openapi().to_json().unwrap_or_else(|_| "{}".to_owned()));
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

/// A browser asking for a page gets the HTML 404 page; API clients get problem+json.
async fn unknown_route(req: HttpRequest) -> actix_web::HttpResponse {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !req.path().starts_with("/api/") {
        return crate::pages::not_found("There is no page at this address.");
    }
    actix_web::ResponseError::error_response(&AppError::problem(
        actix_web::http::StatusCode::NOT_FOUND,
        Code::NotFound,
        format!("no route for {} {}", req.method(), req.path()),
    ))
}

/// An address whose id is not one (not a UUID) names nothing: 404, as a page outside the API
/// (so a console or public page answers with the HTML "Page not found" page, and no handler
/// parses its ids by hand), as problem+json inside it.
fn malformed_path(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    if req.path().starts_with("/api/") {
        AppError::problem(
            actix_web::http::StatusCode::NOT_FOUND,
            Code::NotFound,
            format!("no such resource: {err}"),
        )
        .into()
    } else {
        actix_web::error::InternalError::from_response(
            err,
            crate::pages::not_found("There is no page at this address."),
        )
        .into()
    }
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: actix_web::error::JsonPayloadError) -> AppError {
    use actix_web::error::JsonPayloadError as E;
    use actix_web::http::StatusCode;
    match err {
        E::ContentType => AppError::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => AppError::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::PayloadTooLarge,
            format!("the body is larger than {limit} bytes"),
        ),
        E::Deserialize(e) if e.is_data() => AppError::Validation(vec![crate::json::data_error(&e)]),
        E::Deserialize(e) => AppError::bad_request(
            Code::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        ),
        other => AppError::bad_request(Code::InvalidBody, format!("cannot read the body: {other}")),
    }
}

/// Errors produced by actix itself (405, 413 from a payload, ...) carry no body or a plain
/// one: give them the same problem+json shape as ours.
fn problem_for_bare_errors<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("text/html"));
    if already_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status.as_u16() {
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        413 => Code::PayloadTooLarge,
        415 => Code::UnsupportedMediaType,
        s if s >= 500 => Code::InternalError,
        _ => Code::BadRequest,
    };
    let detail = status
        .canonical_reason()
        .unwrap_or("request failed")
        .to_lowercase();
    let problem = Problem::new(status, code, detail, Vec::new()).response();
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}

/// Whether the answer to `req` may hold what only its caller should see: anything answered
/// to credentials (the caller's data, a signed-in view with online links, staff lists and
/// exports), anything reached with a token (emailed links, invitations by token), and every
/// answer to a change (login's token, a registration).
fn answer_is_private(req: &HttpRequest) -> bool {
    use actix_web::http::Method;
    let credentials = req.headers().contains_key(header::AUTHORIZATION)
        || req.cookie(crate::auth::extract::SESSION_COOKIE).is_some();
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let token_in_query = req
        .query_string()
        .split('&')
        .any(|pair| pair.split('=').next().is_some_and(|k| k.contains("token")));
    credentials || changes || token_in_query || req.path().contains("/by-token/")
}

/// `Cache-Control: no-store` on private answers (see [`answer_is_private`]) that do not say
/// otherwise, so neither a shared cache nor the browser's keeps an online link, a token or
/// personal data. Anonymous reads of public data stay cacheable.
async fn no_store_for_private_answers(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let private = answer_is_private(req.request());
    let mut res = next.call(req).await?;
    if private && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

/// Headers on every answer; in production also HSTS (Convene is served over HTTPS there, and
/// the session cookie is `Secure`).
fn security_headers(production: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new();
    let headers = if production {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    };
    headers
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // Emailed links carry tokens: never leak them to another site through Referer.
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
        ))
}

/// How long `serve` waits for the worker to finish its batch on shutdown.
pub const WORKER_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
