//! Staff see every message of their event and its delivery state; operators scrape the
//! outbox's metrics.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::config::Settings;
use crate::context::Context;
use crate::db::page::Page;
use crate::error::{AppError, AppResult, Code, Problem};
use crate::events::access::require_staff_of_event;
use crate::mail::outbox::{EmailStatus, EmailView};
use crate::mail::service;

#[derive(OpenApi)]
#[openapi(
    paths(event_emails, metrics),
    components(schemas(EmailView, EmailStatus))
)]
pub struct Api;

/// Mounted under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(event_emails);
}

/// Mounted at the root: `/metrics`.
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(metrics);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailListQuery {
    /// Only messages in this delivery state: queued, sending, sent, failed, cancelled.
    pub status: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Every message of the event, newest first, with its delivery state: attempts, the last
/// SMTP error, when it is (or was) due and when it was sent. For the event's staff and admins.
#[utoipa::path(get, path = "/api/v1/events/{id}/emails", tag = "email",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id"), EmailListQuery),
    responses((status = 200, body = Page<EmailView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/events/{id}/emails")]
async fn event_emails(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    query: web::Query<EmailListQuery>,
) -> AppResult<HttpResponse> {
    let event_id = path.into_inner();
    let mut conn = state.pool.get().await?;
    require_staff_of_event(&mut conn, &user, event_id).await?;
    let (status, page) = service::parse_list_query(
        query.status.as_deref(),
        query.limit,
        query.cursor.as_deref(),
    )?;
    let emails = service::list_for_event(&mut conn, event_id, status, &page).await?;
    Ok(HttpResponse::Ok().json(emails.map(EmailView::from)))
}

/// The outbox in the Prometheus text format: queue depth, messages being sent, totals sent and
/// failed, and the age of the oldest waiting message. With `server.metrics_token` set it asks
/// for `Authorization: Bearer <that token>` (401 otherwise); without it, it is open in
/// development and test and answers 404 in production.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
               body = String, content_type = "text/plain"),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
#[get("/metrics")]
async fn metrics(state: web::Data<Context>, req: HttpRequest) -> AppResult<HttpResponse> {
    scraper_allowed(&state.settings, &req)?;
    let mut conn = state.pool.get().await?;
    let stats = service::stats(&mut conn).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(service::prometheus_text(&stats)))
}

/// Whether `req` may read `/metrics` (see [`metrics`]).
fn scraper_allowed(settings: &Settings, req: &HttpRequest) -> AppResult<()> {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let Some(expected) = &settings.server.metrics_token else {
        return if settings.is_production() {
            Err(AppError::not_found("route"))
        } else {
            Ok(())
        };
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let expected = expected.expose_secret().as_bytes();
    if !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected)) {
        Ok(())
    } else {
        Err(AppError::problem(
            StatusCode::UNAUTHORIZED,
            Code::Unauthenticated,
            "send `Authorization: Bearer <server.metrics_token>`",
        ))
    }
}
