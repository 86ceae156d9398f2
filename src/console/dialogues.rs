//! The organisers' dialogues in the console: "My dialogues" (`/manage/events`), a dialogue's
//! overview (`/manage/events/{id}`: programme, counts, invitations answered, what needs
//! attention) and a session's registrations with check-in at the door
//! (`/manage/sessions/{id}/registrations`). Organisers see the events they are staff of,
//! admins every event; a dialogue's pages are for its staff and admins (the same rule as the
//! API's, `events::access`).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{error_page, organizer, see_other, signed_in, signed_in_form, words, Chrome, Form};
use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::schema::{events, invitations, registrations, sessions};
use crate::error::AppResult;
use crate::events::access::{events_run_by, require_staff_of_event};
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::model::EventStatus;
use crate::pages::html;
use crate::registrations::lists::{self, ListParams};
use crate::registrations::model::{RegistrationStatus, StaffRegistrationView};
use crate::registrations::staff;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(mine)
        .service(overview)
        .service(session_registrations)
        .service(check_in)
        .service(undo_check_in);
}

const STATUSES: [EventStatus; 4] = [
    EventStatus::Draft,
    EventStatus::Published,
    EventStatus::Completed,
    EventStatus::Cancelled,
];

// --- My dialogues ------------------------------------------------------------------------------

/// One dialogue as a line of "My dialogues".
pub struct Line {
    pub id: Uuid,
    pub title: String,
    pub country: String,
    pub first: String,
}

/// The dialogues of one status.
pub struct Group {
    pub heading: &'static str,
    pub lines: Vec<Line>,
}

#[derive(Template)]
#[template(path = "console/dialogues.html")]
struct MinePage {
    chrome: Chrome,
    done: Option<&'static str>,
    groups: Vec<Group>,
}

fn heading(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Draft => "Drafts",
        EventStatus::Published => "Published",
        EventStatus::Completed => "Completed",
        EventStatus::Cancelled => "Cancelled",
    }
}

/// The events `user` runs (admins: every event), each with its first session's start, by that
/// start (events without a session last).
async fn run_by(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
) -> AppResult<Vec<(EventFacts, EventStatus, Option<String>, Option<String>)>> {
    let ids = events_run_by(conn, user).await?;
    let rows: Vec<(EventFacts, EventStatus, Option<String>)> = events::table
        .filter(events::id.eq_any(&ids))
        .select((EventFacts::as_select(), events::status, events::country))
        .load(conn)
        .await?;
    let firsts: HashMap<Uuid, SessionFacts> = sessions::table
        .filter(sessions::event_id.eq_any(&ids))
        .order(sessions::starts_at.asc())
        .select(SessionFacts::as_select())
        .load::<SessionFacts>(conn)
        .await?
        .into_iter()
        .rev()
        .map(|s| (s.event_id, s))
        .collect();
    let mut out: Vec<_> = rows
        .into_iter()
        .map(|(e, status, country)| {
            let first = firsts.get(&e.id);
            let key = first.map(|s| s.starts_at);
            let when = first.map(|s| e.local_time(s));
            (key, (e, status, country, when))
        })
        .collect();
    out.sort_by_key(|(key, (e, ..))| (key.is_none(), *key, e.title.clone()));
    Ok(out.into_iter().map(|(_, row)| row).collect())
}

#[get("/manage/events")]
async fn mine(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (user, chrome) = match organizer(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let found = async {
        let mut conn = state.pool.get().await?;
        run_by(&mut conn, &user).await
    };
    let rows = match found.await {
        Ok(rows) => rows,
        Err(e) => return error_page(e),
    };
    let groups = STATUSES
        .iter()
        .map(|&status| Group {
            heading: heading(status),
            lines: rows
                .iter()
                .filter(|(_, s, ..)| *s == status)
                .map(|(e, _, country, when)| Line {
                    id: e.id,
                    title: e.title.clone(),
                    country: super::home::country_name(country.as_deref()),
                    first: when.clone().unwrap_or_else(|| "No session yet".to_owned()),
                })
                .collect(),
        })
        .collect();
    html(
        StatusCode::OK,
        &MinePage {
            chrome,
            done: None,
            groups,
        },
    )
}

// --- A dialogue's overview ---------------------------------------------------------------------

/// One session of the programme with its counts.
pub struct ProgrammeLine {
    pub id: Uuid,
    pub title: String,
    pub when: String,
    pub access: String,
    pub capacity: String,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub pending: i64,
    pub full: bool,
}

/// A count of invitations in one status.
pub struct Tally {
    pub label: String,
    pub n: i64,
}

#[derive(Template)]
#[template(path = "console/dialogue.html")]
struct OverviewPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    title: String,
    status: String,
    zone: String,
    programme: Vec<ProgrammeLine>,
    invitations: Vec<Tally>,
    awaiting_approval: Vec<(Uuid, String, i64)>,
    failed_emails: i64,
    full: Vec<String>,
}

/// Registrations per session and status.
async fn counts_by_status(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> AppResult<HashMap<(Uuid, RegistrationStatus), i64>> {
    Ok(registrations::table
        .filter(registrations::session_id.eq_any(session_ids))
        .group_by((registrations::session_id, registrations::status))
        .select((
            registrations::session_id,
            registrations::status,
            diesel::dsl::count_star(),
        ))
        .load::<(Uuid, RegistrationStatus, i64)>(conn)
        .await?
        .into_iter()
        .map(|(s, st, n)| ((s, st), n))
        .collect())
}

async fn overview_page(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
    chrome: Chrome,
) -> AppResult<OverviewPage> {
    require_staff_of_event(conn, user, event_id).await?;
    let (event, status): (EventFacts, EventStatus) = events::table
        .find(event_id)
        .select((EventFacts::as_select(), events::status))
        .first(conn)
        .await?;
    let sessions: Vec<SessionFacts> = sessions::table
        .filter(sessions::event_id.eq(event_id))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select(SessionFacts::as_select())
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
    let counts = counts_by_status(conn, &ids).await?;
    let n = |id: Uuid, st: RegistrationStatus| counts.get(&(id, st)).copied().unwrap_or(0);
    let programme: Vec<ProgrammeLine> = sessions
        .iter()
        .map(|s| {
            let confirmed = n(s.id, RegistrationStatus::Confirmed);
            ProgrammeLine {
                id: s.id,
                title: s.title.clone(),
                when: event.local_time(s),
                access: words(s.access.as_str()),
                capacity: s
                    .capacity
                    .map_or_else(|| "no limit".to_owned(), |c| c.to_string()),
                confirmed,
                waitlisted: n(s.id, RegistrationStatus::Waitlisted),
                pending: n(s.id, RegistrationStatus::PendingApproval)
                    + n(s.id, RegistrationStatus::PendingConfirmation),
                full: s.capacity.is_some_and(|c| confirmed >= i64::from(c)),
            }
        })
        .collect();
    let awaiting_approval = programme
        .iter()
        .map(|p| {
            (
                p.id,
                p.title.clone(),
                n(p.id, RegistrationStatus::PendingApproval),
            )
        })
        .filter(|(.., k)| *k > 0)
        .collect();
    let full = programme
        .iter()
        .filter(|p| p.full)
        .map(|p| p.title.clone())
        .collect();
    let invitations = invitations::table
        .filter(invitations::event_id.eq(event_id))
        .group_by(invitations::status)
        .select((invitations::status, diesel::dsl::count_star()))
        .order(invitations::status.asc())
        .load::<(String, i64)>(conn)
        .await?
        .into_iter()
        .map(|(status, n)| Tally {
            label: words(&status),
            n,
        })
        .collect();
    let failed_emails = crate::mail::status::failed_for_event(conn, event_id).await?;
    Ok(OverviewPage {
        chrome,
        done: None,
        event_id,
        zone: event.timezone.clone(),
        title: event.title,
        status: status.as_str().to_owned(),
        programme,
        invitations,
        awaiting_approval,
        failed_emails,
        full,
    })
}

#[get("/manage/events/{id}")]
async fn overview(
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
        overview_page(&mut conn, &user, event_id, chrome).await
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

// --- A session's registrations and check-in ----------------------------------------------------

/// What a check-in form did, said on the page it returns to.
fn done_sentence(code: &str) -> Option<&'static str> {
    match code {
        "checked_in" => Some("Checked in."),
        "undone" => Some("The check-in was undone."),
        "approved" => Some("The registration was approved; the registrant was emailed."),
        "rejected" => Some("The registration was rejected; the registrant was emailed."),
        _ => None,
    }
}

/// A registration as a row of the list.
pub struct RegistrationRow {
    pub id: Uuid,
    pub name: String,
    pub organization: String,
    pub status: RegistrationStatus,
    pub status_label: String,
    pub waitlist_position: Option<i64>,
    pub checked_in: bool,
}

impl RegistrationRow {
    fn of(r: StaffRegistrationView) -> RegistrationRow {
        RegistrationRow {
            id: r.id,
            name: r.name,
            organization: r.organization.unwrap_or_default(),
            status: r.status,
            status_label: words(r.status.as_str()),
            waitlist_position: r.waitlist_position,
            checked_in: r.checked_in_at.is_some(),
        }
    }
}

pub struct StatusChoice {
    pub code: &'static str,
    pub label: String,
}

const REGISTRATION_STATUSES: [RegistrationStatus; 6] = [
    RegistrationStatus::Confirmed,
    RegistrationStatus::Waitlisted,
    RegistrationStatus::PendingApproval,
    RegistrationStatus::PendingConfirmation,
    RegistrationStatus::Cancelled,
    RegistrationStatus::Rejected,
];

#[derive(Template)]
#[template(path = "console/registrations.html")]
struct RegistrationsPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    session_id: Uuid,
    session_title: String,
    when: String,
    status: String,
    q: String,
    statuses: Vec<StatusChoice>,
    rows: Vec<RegistrationRow>,
    checked_in: i64,
    confirmed: i64,
}

/// The address of the list with these filters (and a `done` code).
pub(super) fn list_address(session_id: Uuid, status: &str, q: &str, done: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [("status", status), ("q", q), ("done", done.unwrap_or(""))] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/manage/sessions/{session_id}/registrations")
    } else {
        format!("/manage/sessions/{session_id}/registrations?{query}")
    }
}

/// Whether a name matches the search: every typed word is in it, case ignored.
fn matches(name: &str, q: &str) -> bool {
    let name = name.to_lowercase();
    q.to_lowercase()
        .split_whitespace()
        .all(|word| name.contains(word))
}

#[get("/manage/sessions/{id}/registrations")]
async fn session_registrations(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let session_id = path.into_inner();
    let query = Form::parse(req.query_string().as_bytes());
    let status = query.get("status").trim().to_owned();
    let q = query.get("q").trim().chars().take(200).collect::<String>();
    let done = done_sentence(query.get("done"));
    let page = async {
        let params = ListParams::parse(Some(&status), None, None)?;
        let mut conn = state.pool.get().await?;
        let ctx = staff::session_for_staff(&mut conn, &user, session_id).await?;
        let all = lists::staff_all(&mut conn, session_id, &params.statuses).await?;
        // Whatever the status filter shows: the door counts every confirmed registration.
        let attendance = lists::attendance(&mut conn, session_id).await?;
        AppResult::Ok((ctx, all, attendance))
    };
    let (ctx, all, (confirmed, checked_in)) = match page.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let mut rows: Vec<RegistrationRow> = all
        .into_iter()
        .filter(|r| matches(&r.name, &q))
        .map(RegistrationRow::of)
        .collect();
    // The waitlist is shown in its order: the first in line is the next to get a seat.
    if status == RegistrationStatus::Waitlisted.as_str() {
        rows.sort_by_key(|r| r.waitlist_position);
    }
    html(
        StatusCode::OK,
        &RegistrationsPage {
            chrome,
            done,
            event_id: ctx.event.id,
            event_title: ctx.event.title.clone(),
            session_id,
            session_title: ctx.session.title.clone(),
            when: ctx.local_time(),
            status,
            q,
            statuses: REGISTRATION_STATUSES
                .iter()
                .map(|s| StatusChoice {
                    code: s.as_str(),
                    label: words(s.as_str()),
                })
                .collect(),
            rows,
            checked_in,
            confirmed,
        },
    )
}

/// Which way a door form goes.
#[derive(Clone, Copy)]
enum Door {
    CheckIn,
    Undo,
}

/// Checks a registration in (or undoes it) for the event's staff, through the same service
/// functions as the API, and goes back to the list it came from with its filters.
async fn at_the_door(
    state: web::Data<Context>,
    req: HttpRequest,
    id: Uuid,
    body: web::Bytes,
    door: Door,
) -> HttpResponse {
    let (user, _chrome, form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = async {
        let mut conn = state.pool.get().await?;
        let registration = match door {
            Door::CheckIn => staff::check_in(&mut conn, &user, id).await?,
            Door::Undo => staff::undo_check_in(&mut conn, &user, id).await?,
        };
        AppResult::Ok(registration.session_id)
    };
    match done.await {
        Ok(session_id) => {
            let code = match door {
                Door::CheckIn => "checked_in",
                Door::Undo => "undone",
            };
            let status = form.get("status").trim();
            let q = form.get("q").trim();
            see_other(&list_address(session_id, status, q, Some(code)))
        }
        Err(e) => error_page(e),
    }
}

#[post("/manage/registrations/{id}/check-in")]
async fn check_in(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    at_the_door(state, req, *path, body, Door::CheckIn).await
}

#[post("/manage/registrations/{id}/check-in/undo")]
async fn undo_check_in(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    at_the_door(state, req, *path, body, Door::Undo).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_finds_every_typed_word_in_any_case() {
        assert!(matches("Tanaka Hiroshi", "hiroshi tanaka"));
        assert!(matches("Tanaka Hiroshi", ""));
        assert!(!matches("Tanaka Hiroshi", "yamada"));
    }

    #[test]
    fn the_list_comes_back_with_its_filters() {
        let id = Uuid::nil();
        assert_eq!(
            list_address(id, "confirmed", "Nguyễn", Some("checked_in")),
            format!("/manage/sessions/{id}/registrations?status=confirmed&q=Nguy%E1%BB%85n&done=checked_in")
        );
        assert_eq!(
            list_address(id, "", "", None),
            format!("/manage/sessions/{id}/registrations")
        );
    }
}
