//! The admins' home, `/manage`: the applications waiting, the organisations by status, kind
//! and country, and the last changes of the audit trail.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{error_page, words, Chrome};
use crate::audit::service::AuditFilter;
use crate::context::Context;
use crate::db::page::PageRequest;
use crate::db::schema::accounts;
use crate::error::{AppError, AppResult};
use crate::organizations::country::CountryCode;
use crate::organizations::model::{MembershipStatus, Organization};
use crate::organizations::service::{self as orgs, OrganizationFilter};
use crate::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(home);
}

/// One audit entry as a sentence: who did what to which record, and when.
pub struct Change {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub href: Option<String>,
}

/// The last `limit` audit entries matching `filter`, readable.
pub async fn changes(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    limit: i64,
) -> AppResult<Vec<Change>> {
    let page = PageRequest { limit, after: None };
    let entries = crate::audit::service::list(conn, filter, &page)
        .await?
        .items;
    let actor_ids: Vec<Uuid> = entries.iter().filter_map(|e| e.actor_account_id).collect();
    let names: Vec<(Uuid, String)> = accounts::table
        .filter(accounts::id.eq_any(&actor_ids))
        .select((accounts::id, accounts::name))
        .load(conn)
        .await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let actor = match e.actor_account_id {
                Some(id) => names
                    .iter()
                    .find(|(n, _)| *n == id)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_else(|| "a former account".to_owned()),
                None => "Someone without an account".to_owned(),
            };
            let name = e
                .after
                .as_ref()
                .or(e.before.as_ref())
                .and_then(|s| s.get("name"))
                .and_then(|n| n.as_str())
                .map(str::to_owned);
            let target = match name {
                Some(name) => format!("{} {name}", words(&e.target_type)),
                None => words(&e.target_type),
            };
            let href = match e.target_type.as_str() {
                "organization" => Some(format!("/manage/organizations/{}", e.target_id)),
                "person" => Some(format!("/manage/people/{}", e.target_id)),
                "account" => Some(format!("/manage/accounts/{}", e.target_id)),
                _ => None,
            };
            Change {
                when: e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                actor,
                action: words(&e.action),
                target,
                href,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    chrome: Chrome,
    done: Option<&'static str>,
    waiting: Vec<Organization>,
    waiting_total: i64,
    by_status: Vec<(MembershipStatus, i64)>,
    by_kind: Vec<(String, i64)>,
    by_country: Vec<(String, i64)>,
    changes: Vec<Change>,
}

#[get("/manage")]
async fn home(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    // An organiser's console is their dialogues; the rest of /manage is the secretariat's.
    let (user, chrome) = match super::signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if user.is_organizer() && !user.is_admin() {
        return super::see_other("/manage/events");
    }
    if let Err(answer) = super::require_admin(&user) {
        return answer;
    }
    let loaded = async {
        let mut conn = state.pool.get().await?;
        let filter = OrganizationFilter {
            status: Some(MembershipStatus::Applicant),
            ..Default::default()
        };
        let page = PageRequest {
            limit: 10,
            after: None,
        };
        let waiting = orgs::list(&mut conn, true, &filter, &page).await?.items;
        let counts = orgs::counts(&mut conn).await?;
        let changes = changes(&mut conn, &AuditFilter::default(), 15).await?;
        Ok::<_, AppError>((waiting, counts, changes))
    };
    let (waiting, counts, changes) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return error_page(e),
    };
    let waiting_total = counts
        .by_status
        .iter()
        .find(|(s, _)| *s == MembershipStatus::Applicant)
        .map_or(0, |(_, n)| *n);
    html(
        StatusCode::OK,
        &HomePage {
            chrome,
            done: None,
            waiting,
            waiting_total,
            by_status: counts.by_status,
            by_kind: counts
                .by_kind
                .into_iter()
                .map(|(k, n)| (words(k.as_str()), n))
                .collect(),
            by_country: counts
                .by_country
                .into_iter()
                .map(|(c, n)| (country_name(c.as_deref()), n))
                .collect(),
            changes,
        },
    )
}

/// "JP" → "Japan"; none → "No country (regional or international)".
pub fn country_name(code: Option<&str>) -> String {
    match code {
        Some(code) => CountryCode::parse(code)
            .map(|c| c.name().to_owned())
            .unwrap_or_else(|_| code.to_owned()),
        None => "No country (regional or international)".to_owned(),
    }
}
