//! A dialogue's registrations beyond the door, for its staff and admins: approving and
//! rejecting (rejection after a confirmation page), the CSV downloads (one session, or the whole
//! dialogue) and the report (`/manage/events/{id}/report`): each session's stakeholder balance as
//! bars, the invitation funnel, attendance. Everything comes from the services the API uses:
//! `registrations::staff::{approve, reject, event_report}`, `lists::registrations_csv`.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::dialogues::list_address;
use super::{error_page, signed_in, signed_in_form, words, Chrome, Form};
use crate::context::Context;
use crate::error::AppResult;
use crate::events::access::{event_facts, require_staff_of_event};
use crate::pages::html;
use crate::registrations::lists::{self, ListParams};
use crate::registrations::routes::csv_download;
use crate::registrations::staff;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(approve)
        .service(reject_page)
        .service(reject)
        .service(session_csv)
        .service(event_csv)
        .service(report_view);
}

// --- Approve and reject ------------------------------------------------------------------------

#[post("/manage/registrations/{id}/approve")]
async fn approve(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _chrome, form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    match staff::approve(&state, &user, id).await {
        Ok(registration) => super::see_other(&list_address(
            registration.session_id,
            form.get("status").trim(),
            form.get("q").trim(),
            Some("approved"),
        )),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "console/reject.html")]
struct RejectPage {
    chrome: Chrome,
    done: Option<&'static str>,
    id: Uuid,
    name: String,
    email: String,
    session_id: Uuid,
    session_title: String,
    event_title: String,
    when: String,
}

/// What rejecting will do, and the button that does it.
#[get("/manage/registrations/{id}/reject")]
async fn reject_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    let page = async {
        let mut conn = state.pool.get().await?;
        let (registration, ctx) = staff::to_reject(&mut conn, &user, id).await?;
        let view = lists::staff_item(&mut conn, &registration).await?;
        AppResult::Ok(RejectPage {
            chrome,
            done: None,
            id,
            name: view.name,
            email: view.email,
            session_id: ctx.session.id,
            when: ctx.local_time(),
            session_title: ctx.session.title,
            event_title: ctx.event.title,
        })
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

#[post("/manage/registrations/{id}/reject")]
async fn reject(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _chrome, _form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let id = path.into_inner();
    match staff::reject(&state, &user, id).await {
        Ok(registration) => super::see_other(&list_address(
            registration.session_id,
            "pending_approval",
            "",
            Some("rejected"),
        )),
        Err(e) => error_page(e),
    }
}

// --- CSV downloads -----------------------------------------------------------------------------

/// A session's registrations as a CSV file (the list's status filter applies).
#[get("/manage/sessions/{id}/registrations.csv")]
async fn session_csv(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, _chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let session_id = path.into_inner();
    let query = Form::parse(req.query_string().as_bytes());
    let file = async {
        let params = ListParams::parse(Some(query.get("status")), None, None)?;
        let mut conn = state.pool.get().await?;
        let ctx = staff::session_for_staff(&mut conn, &user, session_id).await?;
        let body = lists::registrations_csv(
            &mut conn,
            &ctx.event,
            std::slice::from_ref(&ctx.session),
            &params.statuses,
        )
        .await?;
        AppResult::Ok((format!("{}-{session_id}.csv", ctx.event.slug), body))
    };
    match file.await {
        Ok((name, body)) => csv_download(&name, body),
        Err(e) => error_page(e),
    }
}

/// Every registration of every session of a dialogue, session by session, as one CSV file.
#[get("/manage/events/{id}/registrations.csv")]
async fn event_csv(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, _chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let event_id = path.into_inner();
    let file = async {
        let mut conn = state.pool.get().await?;
        require_staff_of_event(&mut conn, &user, event_id).await?;
        let event = event_facts(&mut conn, event_id).await?;
        let sessions = lists::event_sessions(&mut conn, event_id).await?;
        let body = lists::registrations_csv(&mut conn, &event, &sessions, &[]).await?;
        AppResult::Ok((format!("{}-registrations.csv", event.slug), body))
    };
    match file.await {
        Ok((name, body)) => csv_download(&name, body),
        Err(e) => error_page(e),
    }
}

// --- The report --------------------------------------------------------------------------------

/// One bar: a label, its number, and its length in percent of the longest bar of its chart.
pub struct Bar {
    pub label: String,
    pub n: i64,
    pub width: i64,
}

/// Bars of `(label, n)`, longest first (then by label), scaled to the longest.
fn bars(items: impl IntoIterator<Item = (String, i64)>) -> Vec<Bar> {
    let mut items: Vec<(String, i64)> = items.into_iter().collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let max = items.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    items
        .into_iter()
        .map(|(label, n)| Bar {
            label,
            n,
            width: n * 100 / max,
        })
        .collect()
}

/// Bars in the order given, scaled to `whole` (a funnel: each step out of those sent).
fn steps(items: Vec<(&str, i64)>, whole: i64) -> Vec<Bar> {
    let whole = whole.max(1);
    items
        .into_iter()
        .map(|(label, n)| Bar {
            label: label.to_owned(),
            n,
            width: (n * 100 / whole).min(100),
        })
        .collect()
}

pub struct SessionChart {
    pub id: Uuid,
    pub title: String,
    pub when: String,
    pub access: String,
    pub capacity: String,
    pub confirmed: i64,
    pub statuses: Vec<Bar>,
    pub kinds: Vec<Bar>,
    pub countries: Vec<Bar>,
    pub attendance: Vec<Bar>,
    pub checked_in: i64,
    pub attendance_rate: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/report.html")]
struct ReportPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    title: String,
    zone: String,
    sessions: Vec<SessionChart>,
    funnel: Vec<Bar>,
    sent: i64,
}

async fn report_page(
    conn: &mut diesel_async::AsyncPgConnection,
    user: &crate::auth::AuthUser,
    event_id: Uuid,
    chrome: Chrome,
) -> AppResult<ReportPage> {
    let report = staff::event_report(conn, user, event_id).await?;
    let event = event_facts(conn, event_id).await?;
    let programme = lists::event_sessions(conn, event_id).await?;
    let sessions = report
        .sessions
        .into_iter()
        .map(|s| {
            let when = programme
                .iter()
                .find(|p| p.id == s.session_id)
                .map(|p| event.local_time(p))
                .unwrap_or_default();
            let c = &s.counts;
            SessionChart {
                id: s.session_id,
                title: s.title,
                when,
                access: words(s.access.as_str()),
                capacity: s
                    .capacity
                    .map_or_else(|| "no limit".to_owned(), |c| c.to_string()),
                confirmed: c.confirmed,
                statuses: steps(
                    vec![
                        ("confirmed", c.confirmed),
                        ("waitlisted", c.waitlisted),
                        ("pending approval", c.pending_approval),
                        ("pending confirmation", c.pending_confirmation),
                        ("cancelled", c.cancelled),
                        ("rejected", c.rejected),
                    ],
                    [
                        c.confirmed,
                        c.waitlisted,
                        c.pending_approval,
                        c.pending_confirmation,
                        c.cancelled,
                        c.rejected,
                    ]
                    .into_iter()
                    .max()
                    .unwrap_or(0),
                ),
                kinds: bars(
                    s.confirmed_by_organization_kind
                        .into_iter()
                        .map(|(k, n)| (words(&k), n)),
                ),
                countries: bars(s.confirmed_by_country.into_iter().map(|(code, n)| {
                    let name = if code == "unspecified" {
                        code
                    } else {
                        super::home::country_name(Some(&code))
                    };
                    (name, n)
                })),
                attendance: steps(
                    vec![("confirmed", c.confirmed), ("checked in", s.checked_in)],
                    c.confirmed,
                ),
                checked_in: s.checked_in,
                attendance_rate: s.attendance_rate.map(|r| (r * 100.0).round() as i64),
            }
        })
        .collect();
    let f = &report.invitations;
    let funnel = steps(
        vec![
            ("sent", f.sent),
            ("accepted", f.accepted),
            ("declined", f.declined),
            ("pending", f.pending),
            ("expired", f.expired),
            ("revoked", f.revoked),
        ],
        f.sent,
    );
    Ok(ReportPage {
        chrome,
        done: None,
        event_id,
        zone: event.timezone.clone(),
        title: event.title,
        sessions,
        funnel,
        sent: f.sent,
    })
}

#[get("/manage/events/{id}/report")]
async fn report_view(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let event_id = path.into_inner();
    let page = async {
        let mut conn = state.pool.get().await?;
        report_page(&mut conn, &user, event_id, chrome).await
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_to_the_longest_and_sorted() {
        let b = bars([("academia".to_owned(), 1), ("government".to_owned(), 4)]);
        assert_eq!(b[0].label, "government");
        assert_eq!((b[0].width, b[1].width), (100, 25));
        let f = steps(vec![("sent", 4), ("accepted", 1)], 4);
        assert_eq!((f[0].width, f[1].width), (100, 25));
        assert_eq!(steps(vec![("sent", 0)], 0)[0].width, 0);
    }
}
