use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

use crate::audit::model::AuditEntry;
use crate::audit::service::{self, AuditFilter};
use crate::auth::Admin;
use crate::context::Context;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::error::{AppResult, Problem, Validator};

#[derive(OpenApi)]
#[openapi(paths(list_audit), components(schemas(AuditEntry)))]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_audit);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// One record's history: `<target_type>:<target_id>`, e.g. `organization:0193…`.
    pub target: Option<String>,
    /// All entries about one kind of record, e.g. `organization` (an alternative to `target`).
    pub target_type: Option<String>,
    /// With `target_type`, one record (an alternative to `target`).
    pub target_id: Option<Uuid>,
    /// Only this action, e.g. `approve`.
    pub action: Option<String>,
    /// Only changes made by this account.
    pub actor: Option<Uuid>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AuditQuery {
    fn parse(&self) -> AppResult<(AuditFilter, PageRequest<TimeAndId>)> {
        let mut v = Validator::new();
        let mut filter = AuditFilter {
            target_type: self.target_type.clone().filter(|t| !t.trim().is_empty()),
            target_id: self.target_id,
            action: self.action.clone().filter(|a| !a.trim().is_empty()),
            actor: self.actor,
        };
        if let Some(target) = &self.target {
            if filter.target_type.is_some() || filter.target_id.is_some() {
                v.add(
                    "target",
                    "give either `target` or `target_type`/`target_id`, not both",
                );
            }
            match target.split_once(':') {
                Some((kind, id)) if !kind.trim().is_empty() => match id.trim().parse::<Uuid>() {
                    Ok(id) => {
                        filter.target_type = Some(kind.trim().to_owned());
                        filter.target_id = Some(id);
                    }
                    Err(_) => v.add("target", "the part after `:` is not a UUID"),
                },
                _ => v.add("target", "expected `<target_type>:<target_id>`"),
            }
        }
        let page = PageRequest::parse(&mut v, self.limit, self.cursor.as_deref());
        v.finish()?;
        Ok((filter, page))
    }
}

/// The audit trail, newest first: who changed which record, when, with the record before and
/// after. Admins only. Filter one record's history with `target=organization:<id>` (or
/// `target_type` and `target_id`).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntry>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/audit")]
async fn list_audit(
    state: web::Data<Context>,
    _admin: Admin,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let (filter, page) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let entries = service::list(&mut conn, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(entries))
}
