//! Staff see every message of their event and its delivery state; operators scrape the
//! outbox's metrics.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

use crate::app::State;
use crate::auth::AuthUser;
use crate::db::page::Page;
use crate::error::{AppResult, Problem};
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
    state: State,
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
/// failed, and the age of the oldest waiting message. Restrict it at the proxy if the counts
/// are not for everyone.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4",
               body = String, content_type = "text/plain")))]
#[get("/metrics")]
async fn metrics(state: State) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let stats = service::stats(&mut conn).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(service::prometheus_text(&stats)))
}
