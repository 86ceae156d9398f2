//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::context::Context;
use crate::error::{AppError, AppResult};

#[derive(OpenApi)]
#[openapi(paths(live, ready))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(live).service(ready);
}

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, body = HealthStatus)))]
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// The database is reachable and migrated to this build's newest migration.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = HealthStatus),
              (status = 503, body = crate::error::Problem, content_type = "application/problem+json")))]
#[get("/health/ready")]
async fn ready(state: web::Data<Context>) -> AppResult<HttpResponse> {
    static EXPECTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let expected = EXPECTED.get_or_init(crate::db::latest_migration_version);
    crate::db::is_ready(&state.pool, expected)
        .await
        .map_err(AppError::Unavailable)?;
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ready" }))
}
