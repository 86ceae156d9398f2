//! The admins' home, `/manage`: the applications waiting, the organisations by status, kind
//! and country, and the last changes of the audit trail.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::audit::{entries, zone_caption, Entry, DEFAULT_ZONE};
use super::{error_page, words, Chrome};
use crate::audit::service::AuditFilter;
use crate::context::Context;
use crate::db::page::PageRequest;
use crate::error::AppError;
use crate::organizations::country::CountryCode;
use crate::organizations::model::{MembershipStatus, Organization};
use crate::organizations::service::{self as orgs, OrganizationFilter};
use crate::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(home);
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
    changes: Vec<Entry>,
    zone: String,
    /// The home page lists changes in short: each one's fields fold away.
    collapse_changes: bool,
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
        let changes = entries(&mut conn, &AuditFilter::default(), 15).await?;
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
            zone: zone_caption(&DEFAULT_ZONE),
            collapse_changes: true,
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
