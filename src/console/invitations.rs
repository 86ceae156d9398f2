//! A dialogue's invitations and email in the console, for its staff and admins:
//! - compose (`/manage/events/{id}/invitations/new`): closed sessions, an audience (organisation
//!   kinds, countries), named people or pasted lines of `name, email[, organisation]`, the
//!   message and the deadline; then a **preview** of who it reaches (the same checks as
//!   sending, nothing written), whose Send button re-posts exactly the fields previewed;
//! - the invitations table (`/manage/events/{id}/invitations`) with resend, and revoke behind
//!   a page saying what it cancels;
//! - email status (`/manage/events/{id}/emails`): every message of the dialogue with its
//!   state, and a failed one retried after correcting the address.
//!
//! Every action calls the service the API calls (`invitations::{create, manage}`, `invitations::preview`,
//! `mail::retry`), so a rule is written once.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::dialogues::StatusChoice;
use super::{error_page, see_other, signed_in, signed_in_form, words, Chrome, Errors, Form};
use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::schema::{organizations, sessions};
use crate::error::{AppError, AppResult};
use crate::events::access::event_facts;
use crate::events::local_time::format_local;
use crate::invitations::lookup::event_for_staff;
use crate::invitations::model::{InvitationStatus, SkipReason};
use crate::invitations::preview::{self, InvitationPreview};
use crate::invitations::types::{
    AudienceRequest, CreateInvitationsRequest, InvitationItem, InviteeRequest,
    ListInvitationsQuery, ResendRequest,
};
use crate::invitations::{create, manage, staff};
use crate::mail::outbox::{Email, EmailStatus};
use crate::mail::retry::{self, RetryPlan};
use crate::mail::service as mail_service;
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::pages::html;
use crate::registrations::model::{EventFacts, SessionFacts};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(compose)
        .service(compose_again)
        .service(preview_page)
        .service(send)
        .service(list)
        .service(resend)
        .service(revoke_page)
        .service(revoke)
        .service(emails_page)
        .service(retry_page)
        .service(retry_post);
}

/// What a form did, said on the page it returns to (a fixed list: never text from the address).
fn done_sentence(code: &str) -> Option<&'static str> {
    match code {
        "sent" => Some("The invitations were sent."),
        "resent" => {
            Some("The invitation was sent again with a new link; the old link no longer works.")
        }
        "revoked" => Some("The invitation was withdrawn and the invitee told."),
        "retried" => Some("The address was corrected and the message is being sent again."),
        _ => None,
    }
}

// --- Compose -----------------------------------------------------------------------------------

/// The compose form as typed: kept as text so a failed form shows it back unchanged.
#[derive(Default, Clone)]
pub struct Fields {
    pub sessions: Vec<String>,
    pub kinds: Vec<String>,
    pub countries: String,
    pub people: String,
    pub message: String,
    pub expires: String,
}

impl Fields {
    fn of(form: &Form) -> Fields {
        let all = |name: &str| -> Vec<String> {
            form.0
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        };
        Fields {
            sessions: all("session"),
            kinds: all("kind"),
            countries: form.get("countries").trim().to_owned(),
            people: form.get("people").to_owned(),
            message: form.get("message").to_owned(),
            expires: form.get("expires").trim().to_owned(),
        }
    }

    /// The fields as hidden inputs, for the preview's Send and Change buttons.
    fn hidden(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        out.extend(self.sessions.iter().map(|s| ("session", s.clone())));
        out.extend(self.kinds.iter().map(|k| ("kind", k.clone())));
        out.push(("countries", self.countries.clone()));
        out.push(("people", self.people.clone()));
        out.push(("message", self.message.clone()));
        out.push(("expires", self.expires.clone()));
        out
    }
}

/// A checkbox of the form.
pub struct Choice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "console/invite.html")]
struct ComposePage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    zone: String,
    sessions: Vec<Choice>,
    kinds: Vec<Choice>,
    f: Fields,
    errors: Errors,
}

/// The closed sessions still to come: those an invitation may offer.
async fn invitable_sessions(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<SessionFacts>> {
    let all: Vec<SessionFacts> = sessions::table
        .filter(sessions::event_id.eq(event_id))
        .filter(sessions::starts_at.gt(Utc::now()))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select(SessionFacts::as_select())
        .load(conn)
        .await?;
    Ok(all.into_iter().filter(|s| s.is_closed()).collect())
}

async fn compose_page(
    conn: &mut AsyncPgConnection,
    chrome: Chrome,
    event: &EventFacts,
    f: Fields,
    errors: Errors,
) -> AppResult<ComposePage> {
    let sessions = invitable_sessions(conn, event.id)
        .await?
        .into_iter()
        .map(|s| Choice {
            id: format!("session-{}", s.id),
            value: s.id.to_string(),
            checked: f.sessions.contains(&s.id.to_string()),
            label: format!("{} ({})", s.title, event.local_time(&s)),
        })
        .collect();
    let kinds = OrganizationKind::ALL
        .iter()
        .map(|k| Choice {
            id: format!("kind-{}", k.as_str()),
            value: k.as_str().to_owned(),
            checked: f.kinds.iter().any(|c| c == k.as_str()),
            label: k.label().to_owned(),
        })
        .collect();
    Ok(ComposePage {
        chrome,
        done: None,
        event_id: event.id,
        event_title: event.title.clone(),
        zone: event.timezone.clone(),
        sessions,
        kinds,
        f,
        errors,
    })
}

/// The compose page, empty (GET) or filled with what `form` carries.
async fn show_compose(
    state: &web::Data<Context>,
    req: &HttpRequest,
    event_id: Uuid,
    form: Option<Form>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if let Some(form) = &form {
        if let Err(answer) = form.check_csrf(req) {
            return answer;
        }
    }
    let page = async {
        let mut conn = state.pool.get().await?;
        let event = event_for_staff(&mut conn, &user, event_id).await?;
        let f = form.as_ref().map(Fields::of).unwrap_or_default();
        compose_page(&mut conn, chrome, &event, f, Errors::default()).await
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

#[get("/manage/events/{id}/invitations/new")]
async fn compose(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    show_compose(&state, &req, *path, None).await
}

/// "Change" from the preview: the compose page with the previewed fields.
#[post("/manage/events/{id}/invitations/new")]
async fn compose_again(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    show_compose(&state, &req, *path, Some(Form::parse(&body))).await
}

/// The request the form describes, and for each invitee the line of `people` it came from.
/// Problems the service cannot name (a line without an address, an unknown organisation) are
/// reported here, by field.
async fn request_of(
    conn: &mut AsyncPgConnection,
    event: &EventFacts,
    f: &Fields,
) -> AppResult<(CreateInvitationsRequest, Vec<usize>, Errors)> {
    let mut errors = Errors::default();
    let mut session_ids = Vec::new();
    for raw in &f.sessions {
        match raw.parse::<Uuid>() {
            Ok(id) => session_ids.push(id),
            Err(_) => errors.add("sessions", "Choose sessions from the list."),
        }
    }
    let countries: Vec<String> = f
        .countries
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    let audience = (!f.kinds.is_empty() || !countries.is_empty()).then(|| AudienceRequest {
        organization_kinds: f.kinds.clone(),
        countries,
    });

    // name, email[, organisation] per line; an address alone names someone already known.
    let mut lines: Vec<(usize, Option<String>, String, Option<String>)> = Vec::new();
    for (i, line) in f.people.lines().enumerate() {
        let parts: Vec<&str> = line.split(',').map(str::trim).collect();
        if parts.iter().all(|p| p.is_empty()) {
            continue;
        }
        let n = i + 1;
        match parts.as_slice() {
            [email] if email.contains('@') => lines.push((n, None, (*email).to_owned(), None)),
            [name, email, rest @ ..] if email.contains('@') => {
                let org = rest.join(", ");
                lines.push((
                    n,
                    Some((*name).to_owned()),
                    (*email).to_owned(),
                    (!org.trim().is_empty()).then(|| org.trim().to_owned()),
                ));
            }
            [email, name, rest @ ..] if email.contains('@') => {
                let org = rest.join(", ");
                lines.push((
                    n,
                    Some((*name).to_owned()),
                    (*email).to_owned(),
                    (!org.trim().is_empty()).then(|| org.trim().to_owned()),
                ));
            }
            _ => errors.add(
                "people",
                format!("Line {n}: write name, email and, if you like, the organisation, separated by commas."),
            ),
        }
    }
    // Organisations are named as the partnership knows them: name or short name, any case.
    let wanted: Vec<String> = lines
        .iter()
        .filter_map(|(.., org)| org.as_ref().map(|o| o.to_lowercase()))
        .collect();
    let known: Vec<(Uuid, String, Option<String>)> = if wanted.is_empty() {
        Vec::new()
    } else {
        organizations::table
            .filter(organizations::status.ne(MembershipStatus::Withdrawn))
            .select((
                organizations::id,
                organizations::name,
                organizations::short_name,
            ))
            .load(conn)
            .await?
    };
    let mut by_name: HashMap<String, Uuid> = HashMap::new();
    for (id, name, short) in known {
        by_name.insert(name.to_lowercase(), id);
        if let Some(short) = short {
            by_name.entry(short.to_lowercase()).or_insert(id);
        }
    }
    let mut invitees = Vec::new();
    let mut line_of = Vec::new();
    for (n, name, email, org) in lines {
        let organization_id = match &org {
            Some(o) => match by_name.get(&o.to_lowercase()) {
                Some(id) => Some(*id),
                None => {
                    errors.add(
                        "people",
                        format!("Line {n}: “{o}” is not an organisation of the partnership."),
                    );
                    None
                }
            },
            None => None,
        };
        invitees.push(InviteeRequest {
            email: Some(email),
            name,
            organization_id,
            person_id: None,
        });
        line_of.push(n);
    }

    let expires_at = if f.expires.is_empty() {
        None
    } else {
        match NaiveDateTime::parse_from_str(&f.expires, "%Y-%m-%dT%H:%M") {
            Ok(local) => match event.zone().from_local_datetime(&local).earliest() {
                Some(at) => Some(at.with_timezone(&Utc)),
                None => {
                    errors.add(
                        "expires",
                        "This time does not exist in the dialogue's zone (a clock change).",
                    );
                    None
                }
            },
            Err(_) => {
                errors.add("expires", "Give a date and time, e.g. 2027-02-10T17:00.");
                None
            }
        }
    };
    let message = (!f.message.trim().is_empty()).then(|| f.message.clone());
    Ok((
        CreateInvitationsRequest {
            session_ids,
            invitees,
            audience,
            message,
            expires_at,
        },
        line_of,
        errors,
    ))
}

/// The service's validation errors as the form's, by field; other errors stay errors.
fn form_errors(error: AppError, line_of: &[usize], errors: &mut Errors) -> AppResult<()> {
    let AppError::Validation(found) = error else {
        return Err(error);
    };
    for e in found {
        let field = e.field.as_str();
        if field.starts_with("session_ids") {
            errors.add("sessions", sentence_of(&e.message));
        } else if let Some(rest) = field.strip_prefix("invitees[") {
            let i: usize = rest
                .split(']')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let n = line_of.get(i).copied().unwrap_or(i + 1);
            let what = rest.split("].").nth(1).unwrap_or("line");
            let what = match what {
                "email" => "the address",
                "name" => "the name",
                _ => "this line",
            };
            errors.add(
                "people",
                format!("Line {n}: {what} {}.", e.message.trim_end_matches('.')),
            );
        } else if field == "invitees" {
            errors.add(
                "people",
                "Invite someone: choose an audience, or name people below.",
            );
        } else if field.starts_with("audience.countries") {
            errors.add(
                "countries",
                sentence_of(&format!("a country {}", e.message)),
            );
        } else if field.starts_with("audience") {
            errors.add("kinds", sentence_of(&e.message));
        } else if field == "message" {
            errors.add(
                "message",
                sentence_of(&format!("the message {}", e.message)),
            );
        } else if field == "expires_at" {
            errors.add(
                "expires",
                sentence_of(&format!("the deadline {}", e.message)),
            );
        } else {
            errors.add("sessions", sentence_of(&e.message));
        }
    }
    Ok(())
}

fn sentence_of(text: &str) -> String {
    crate::pages::sentence(text)
}

/// Reads a compose form: the staff member, the event, the fields and the request they make,
/// or the page to answer instead (sign in, 403, the form again with its errors).
async fn read_compose(
    state: &web::Data<Context>,
    req: &HttpRequest,
    event_id: Uuid,
    body: &[u8],
) -> Result<
    (
        AuthUser,
        Chrome,
        EventFacts,
        Fields,
        CreateInvitationsRequest,
        Vec<usize>,
    ),
    HttpResponse,
> {
    let (user, chrome, form) = signed_in_form(req, body).await?;
    let f = Fields::of(&form);
    let found = async {
        let mut conn = state.pool.get().await?;
        let event = event_for_staff(&mut conn, &user, event_id).await?;
        let (request, lines, mut errors) = request_of(&mut conn, &event, &f).await?;
        if !errors.is_empty() {
            // Every problem in one pass: the service's checks of the rest of the form too
            // (a preview reads only).
            if let Err(e) = preview::preview(&mut conn, &user, event.id, &request).await {
                form_errors(e, &lines, &mut errors)?;
            }
            let page = compose_page(&mut conn, chrome.clone(), &event, f.clone(), errors).await?;
            return Ok(Err(page));
        }
        AppResult::Ok(Ok((event, request, lines)))
    };
    match found.await {
        Ok(Ok((event, request, lines))) => Ok((user, chrome, event, f, request, lines)),
        Ok(Err(page)) => Err(html(StatusCode::UNPROCESSABLE_ENTITY, &page)),
        Err(e) => Err(error_page(e)),
    }
}

/// The compose page again with the service's errors (or the error page for anything else).
async fn refused(
    state: &web::Data<Context>,
    chrome: Chrome,
    event: &EventFacts,
    f: Fields,
    lines: &[usize],
    error: AppError,
) -> HttpResponse {
    let mut errors = Errors::default();
    if let Err(other) = form_errors(error, lines, &mut errors) {
        return error_page(other);
    }
    let page = async {
        let mut conn = state.pool.get().await?;
        compose_page(&mut conn, chrome, event, f, errors).await
    };
    match page.await {
        Ok(page) => html(StatusCode::UNPROCESSABLE_ENTITY, &page),
        Err(e) => error_page(e),
    }
}

// --- Preview -------------------------------------------------------------------------------------

pub struct GroupRow {
    pub kind: String,
    pub country: String,
    pub organizations: usize,
    pub invitees: usize,
}

pub struct InviteeRow {
    pub name: String,
    pub email: String,
    pub organization: String,
    pub new_person: bool,
}

#[derive(Template)]
#[template(path = "console/invite_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    sessions: Vec<String>,
    expires_local: String,
    message: Option<String>,
    count: usize,
    groups: Vec<GroupRow>,
    invitees: Vec<InviteeRow>,
    without_people: Vec<String>,
    skipped: Vec<(String, &'static str)>,
    hidden: Vec<(&'static str, String)>,
}

fn kind_label(kind: Option<OrganizationKind>) -> String {
    kind.map_or_else(|| "No organisation".to_owned(), |k| k.label().to_owned())
}

fn country_label(country: Option<&str>, kind: Option<OrganizationKind>) -> String {
    match (country, kind) {
        (None, None) => "—".to_owned(),
        (c, _) => super::home::country_name(c),
    }
}

pub fn skip_reason(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::AlreadyInvited => "already invited to one of these sessions",
        SkipReason::AlreadyRegistered => "already registered for one of these sessions",
        SkipReason::DuplicateInRequest => "named twice in this request",
    }
}

fn preview_page_of(
    chrome: Chrome,
    event: &EventFacts,
    f: &Fields,
    p: InvitationPreview,
) -> PreviewPage {
    PreviewPage {
        chrome,
        done: None,
        event_id: event.id,
        event_title: event.title.clone(),
        sessions: p
            .sessions
            .iter()
            .map(|s| format!("{} ({})", s.title, s.local_time))
            .collect(),
        expires_local: p.expires_local,
        message: p.message,
        count: p.invitees.len(),
        groups: p
            .groups
            .iter()
            .map(|g| GroupRow {
                kind: kind_label(g.kind),
                country: country_label(g.country.as_deref(), g.kind),
                organizations: g.organizations,
                invitees: g.invitees,
            })
            .collect(),
        invitees: p
            .invitees
            .into_iter()
            .map(|i| InviteeRow {
                name: i.name,
                email: i.email,
                organization: i.organization.map(|o| o.name).unwrap_or_default(),
                new_person: i.new_person,
            })
            .collect(),
        without_people: p
            .organizations_without_people
            .into_iter()
            .map(|o| {
                format!(
                    "{} ({}, {})",
                    o.name,
                    o.kind.label(),
                    super::home::country_name(o.country.as_deref())
                )
            })
            .collect(),
        skipped: p
            .skipped
            .into_iter()
            .map(|s| (s.email, skip_reason(s.reason)))
            .collect(),
        hidden: f.hidden(),
    }
}

#[post("/manage/events/{id}/invitations/preview")]
async fn preview_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, event, f, request, lines) =
        match read_compose(&state, &req, *path, &body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
    let found = async {
        let mut conn = state.pool.get().await?;
        preview::preview(&mut conn, &user, event.id, &request).await
    };
    match found.await {
        Ok(p) => html(StatusCode::OK, &preview_page_of(chrome, &event, &f, p)),
        Err(e) => refused(&state, chrome, &event, f, &lines, e).await,
    }
}

#[post("/manage/events/{id}/invitations/send")]
async fn send(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, event, f, request, lines) =
        match read_compose(&state, &req, *path, &body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
    match create::create_invitations(&state, &user, event.id, request).await {
        Ok(_) => see_other(&format!(
            "/manage/events/{}/invitations?done=sent",
            event.id
        )),
        Err(e) => refused(&state, chrome, &event, f, &lines, e).await,
    }
}

// --- The invitations table -------------------------------------------------------------------------

pub struct InvitationRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub sessions: String,
    pub status: String,
    pub sent: String,
    pub answered: String,
    pub expires: String,
    pub reminders: i32,
    pub can_resend: bool,
    pub can_revoke: bool,
}

impl InvitationRow {
    fn of(item: &InvitationItem, event: &EventFacts) -> InvitationRow {
        let zone = event.zone();
        let answers = |accepted: Option<bool>| match accepted {
            Some(true) => " (accepted)",
            Some(false) => " (declined)",
            None => "",
        };
        InvitationRow {
            id: item.id,
            name: item.name.clone(),
            email: item.email.clone(),
            sessions: item
                .sessions
                .iter()
                .map(|s| format!("{}{}", s.title, answers(s.accepted)))
                .collect::<Vec<_>>()
                .join("; "),
            status: item.status.as_str().to_owned(),
            sent: format_local(item.sent_at, &zone),
            answered: item
                .answered_at
                .map(|at| format_local(at, &zone))
                .unwrap_or_else(|| "not yet".to_owned()),
            expires: format_local(item.expires_at, &zone),
            reminders: item.reminders_sent,
            can_resend: matches!(
                item.status,
                InvitationStatus::Pending | InvitationStatus::Expired | InvitationStatus::Declined
            ),
            can_revoke: item.status != InvitationStatus::Revoked,
        }
    }
}

#[derive(Template)]
#[template(path = "console/invitations.html")]
struct ListPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    zone: String,
    status: String,
    statuses: Vec<StatusChoice>,
    rows: Vec<InvitationRow>,
    next: Option<String>,
}

fn list_address(event_id: Uuid, status: &str, cursor: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if !status.is_empty() {
        query.append_pair("status", status);
    }
    if let Some(cursor) = cursor {
        query.append_pair("cursor", cursor);
    }
    let query = query.finish();
    if query.is_empty() {
        format!("/manage/events/{event_id}/invitations")
    } else {
        format!("/manage/events/{event_id}/invitations?{query}")
    }
}

#[get("/manage/events/{id}/invitations")]
async fn list(state: web::Data<Context>, req: HttpRequest, path: web::Path<Uuid>) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = Form::parse(req.query_string().as_bytes());
    let status = query.get("status").trim().to_owned();
    let cursor = query.get("cursor").trim().to_owned();
    let done = done_sentence(query.get("done"));
    let page = async {
        let event_id = *path;
        let event = {
            let mut conn = state.pool.get().await?;
            event_for_staff(&mut conn, &user, event_id).await?
        };
        let found = manage::list(
            &state,
            &user,
            event_id,
            ListInvitationsQuery {
                status: (!status.is_empty()).then(|| status.clone()),
                limit: Some(100),
                cursor: (!cursor.is_empty()).then(|| cursor.clone()),
            },
        )
        .await?;
        AppResult::Ok((event, found))
    };
    let (event, found) = match page.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    html(
        StatusCode::OK,
        &ListPage {
            chrome,
            done,
            event_id: event.id,
            event_title: event.title.clone(),
            zone: event.timezone.clone(),
            statuses: InvitationStatus::ALL
                .iter()
                .map(|s| StatusChoice {
                    code: s.as_str(),
                    label: words(s.as_str()),
                })
                .collect(),
            rows: found
                .items
                .iter()
                .map(|i| InvitationRow::of(i, &event))
                .collect(),
            next: found
                .next_cursor
                .map(|c| list_address(event.id, &status, Some(&c))),
            status,
        },
    )
}

#[post("/manage/invitations/{id}/resend")]
async fn resend(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _chrome, _form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = async {
        let id = *path;
        let event_id = {
            let mut conn = state.pool.get().await?;
            staff::for_staff(&mut conn, &user, id).await?.1.id
        };
        manage::resend(&state, &user, id, ResendRequest::default()).await?;
        AppResult::Ok(event_id)
    };
    match done.await {
        Ok(event_id) => see_other(&format!(
            "/manage/events/{event_id}/invitations?done=resent"
        )),
        Err(e) => error_page(e),
    }
}

#[derive(Template)]
#[template(path = "console/revoke.html")]
struct RevokePage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    invitation: InvitationRow,
    consequences: Vec<String>,
}

/// What revoking this invitation will do, in sentences.
fn consequences(item: &InvitationItem) -> Vec<String> {
    let mut out = vec![format!(
        "The link emailed to {} stops working at once.",
        item.email
    )];
    let seats: Vec<&str> = item
        .sessions
        .iter()
        .filter(|s| s.accepted == Some(true))
        .map(|s| s.title.as_str())
        .collect();
    if item.status == InvitationStatus::Accepted && !seats.is_empty() {
        out.push(format!(
            "Their place in {} is cancelled; the first on each waitlist moves up and is emailed.",
            seats.join(" and ")
        ));
    }
    if item.status == InvitationStatus::Expired {
        out.push("The invitation had expired: nobody is emailed.".to_owned());
    } else {
        out.push(format!(
            "{} is emailed that the invitation was withdrawn, and the sessions leave their calendar.",
            item.name
        ));
    }
    out.push("Any reminder still to be sent is withdrawn.".to_owned());
    out
}

#[get("/manage/invitations/{id}/revoke")]
async fn revoke_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let page = async {
        let id = *path;
        let mut conn = state.pool.get().await?;
        let (item, event) = staff::for_staff(&mut conn, &user, id).await?;
        AppResult::Ok(RevokePage {
            chrome,
            done: None,
            event_id: event.id,
            event_title: event.title.clone(),
            consequences: consequences(&item),
            invitation: InvitationRow::of(&item, &event),
        })
    };
    match page.await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

#[post("/manage/invitations/{id}/revoke")]
async fn revoke(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _chrome, _form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = async {
        let id = *path;
        let event_id = {
            let mut conn = state.pool.get().await?;
            staff::for_staff(&mut conn, &user, id).await?.1.id
        };
        manage::revoke(&state, &user, id).await?;
        AppResult::Ok(event_id)
    };
    match done.await {
        Ok(event_id) => see_other(&format!(
            "/manage/events/{event_id}/invitations?done=revoked"
        )),
        Err(e) => error_page(e),
    }
}

// --- Email status --------------------------------------------------------------------------------

pub struct EmailRow {
    pub id: Uuid,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub status: String,
    pub failed: bool,
    pub attempts: i32,
    pub error: String,
    pub created: String,
    pub sent: String,
}

impl EmailRow {
    fn of(e: &Email, zone: &chrono_tz::Tz) -> EmailRow {
        let when = |at: DateTime<Utc>| format_local(at, zone);
        EmailRow {
            id: e.id,
            kind: words(&e.kind),
            to: e.to_address.clone(),
            subject: e.subject.clone(),
            status: e.status.as_str().to_owned(),
            failed: e.status == EmailStatus::Failed,
            attempts: e.attempts,
            error: e.last_error.clone().unwrap_or_default(),
            created: when(e.created_at),
            sent: match (e.sent_at, e.status) {
                (Some(at), _) => when(at),
                (None, EmailStatus::Queued) => format!("due {}", when(e.next_attempt_at)),
                _ => String::new(),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "console/emails.html")]
struct EmailsPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    zone: String,
    status: String,
    statuses: Vec<StatusChoice>,
    rows: Vec<EmailRow>,
    next: Option<String>,
}

#[get("/manage/events/{id}/emails")]
async fn emails_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = Form::parse(req.query_string().as_bytes());
    let status = query.get("status").trim().to_owned();
    let cursor = query.get("cursor").trim().to_owned();
    let done = done_sentence(query.get("done"));
    let page = async {
        let event_id = *path;
        let mut conn = state.pool.get().await?;
        let event = event_for_staff(&mut conn, &user, event_id).await?;
        let (filter, page) = mail_service::parse_list_query(
            Some(&status),
            Some(100),
            (!cursor.is_empty()).then_some(cursor.as_str()),
        )?;
        let found = mail_service::list_for_event(&mut conn, event_id, filter, &page).await?;
        AppResult::Ok((event, found))
    };
    let (event, found) = match page.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let zone = event.zone();
    let next = found.next_cursor.as_ref().map(|c| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !status.is_empty() {
            q.append_pair("status", &status);
        }
        q.append_pair("cursor", c);
        format!("/manage/events/{}/emails?{}", event.id, q.finish())
    });
    html(
        StatusCode::OK,
        &EmailsPage {
            chrome,
            done,
            event_id: event.id,
            event_title: event.title.clone(),
            zone: event.timezone.clone(),
            statuses: EmailStatus::ALL
                .iter()
                .map(|s| StatusChoice {
                    code: s.as_str(),
                    label: words(s.as_str()),
                })
                .collect(),
            rows: found.items.iter().map(|e| EmailRow::of(e, &zone)).collect(),
            next,
            status,
        },
    )
}

#[derive(Template)]
#[template(path = "console/retry.html")]
struct RetryPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event_id: Uuid,
    event_title: String,
    email: EmailRow,
    what: String,
    possible: bool,
    address: String,
    errors: Errors,
}

/// What a retry will do, in a sentence.
fn plan_sentence(plan: &RetryPlan) -> (String, bool) {
    match plan {
        RetryPlan::Requeue => (
            "The message is sent again as it was, to the address below.".to_owned(),
            true,
        ),
        RetryPlan::ResendInvitation(_) => (
            "The invitation is sent again to the address below, with a new link (the link of the failed message was never delivered and no longer works).".to_owned(),
            true,
        ),
        RetryPlan::Impossible(why) => (why.clone(), false),
    }
}

async fn retry_page_of(
    state: &web::Data<Context>,
    user: &AuthUser,
    chrome: Chrome,
    id: Uuid,
    address: Option<String>,
    errors: Errors,
) -> AppResult<RetryPage> {
    let mut conn = state.pool.get().await?;
    let found = retry::failed_for_staff(&mut conn, user, id).await?;
    let event_id = found.email.event_id.unwrap_or_default();
    let event = event_facts(&mut conn, event_id).await?;
    let (what, possible) = plan_sentence(&found.plan);
    Ok(RetryPage {
        chrome,
        done: None,
        event_id,
        event_title: event.title.clone(),
        address: address.unwrap_or_else(|| found.email.to_address.clone()),
        email: EmailRow::of(&found.email, &event.zone()),
        what,
        possible,
        errors,
    })
}

#[get("/manage/emails/{id}/retry")]
async fn retry_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (user, chrome) = match signed_in(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match retry_page_of(&state, &user, chrome, *path, None, Errors::default()).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

#[post("/manage/emails/{id}/retry")]
async fn retry_post(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, form) = match signed_in_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let address = form.get("email").trim().to_owned();
    let done = async {
        let id = *path;
        retry::retry_failed(&state, &user, id, &address).await
    };
    match done.await {
        Ok(retried) => see_other(&format!(
            "/manage/events/{}/emails?done=retried",
            retried.event_id
        )),
        Err(AppError::Validation(found)) => {
            let mut errors = Errors::default();
            for e in found {
                errors.add("email", sentence_of(&format!("the address {}", e.message)));
            }
            match retry_page_of(&state, &user, chrome, *path, Some(address), errors).await {
                Ok(page) => html(StatusCode::UNPROCESSABLE_ENTITY, &page),
                Err(e) => error_page(e),
            }
        }
        Err(e) => error_page(e),
    }
}
