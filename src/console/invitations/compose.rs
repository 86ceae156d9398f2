//! Composing invitations (`/manage/events/{id}/invitations/new`): closed sessions, an audience
//! (organisation kinds, countries), named people or pasted lines of `name, email[, organisation]`,
//! the message and the deadline; and the reading of that form into the request the service takes,
//! which the preview and Send share.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::console::{error_page, signed_in, signed_in_form, Chrome, Errors, Form};
use crate::context::Context;
use crate::db::schema::{organizations, sessions};
use crate::error::{AppError, AppResult};
use crate::events::facts::{EventFacts, SessionFacts};
use crate::invitations::lookup::event_for_staff;
use crate::invitations::preview;
use crate::invitations::types::{AudienceRequest, CreateInvitationsRequest, InviteeRequest};
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::pages::{html, sentence};

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
    pub(super) fn hidden(&self) -> Vec<(&'static str, String)> {
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
pub(super) async fn compose(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    show_compose(&state, &req, *path, None).await
}

/// "Change" from the preview: the compose page with the previewed fields.
#[post("/manage/events/{id}/invitations/new")]
pub(super) async fn compose_again(
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
            errors.add("sessions", sentence(&e.message));
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
            errors.add("countries", sentence(&format!("a country {}", e.message)));
        } else if field.starts_with("audience") {
            errors.add("kinds", sentence(&e.message));
        } else if field == "message" {
            errors.add("message", sentence(&format!("the message {}", e.message)));
        } else if field == "expires_at" {
            errors.add("expires", sentence(&format!("the deadline {}", e.message)));
        } else {
            errors.add("sessions", sentence(&e.message));
        }
    }
    Ok(())
}

/// Reads a compose form: the staff member, the event, the fields and the request they make,
/// or the page to answer instead (sign in, 403, the form again with its errors).
pub(super) async fn read_compose(
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
pub(super) async fn refused(
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
