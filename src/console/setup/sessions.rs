//! A dialogue's sessions in the console: add, edit, move (a confirmation page says who will be
//! told of the new time), delete (or why not), and each session's speakers (picked from the
//! people in Convene or typed, with their role, reordered with up / down). Times are typed as
//! wall-clock times in the event's own zone, which every form names.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::event::Choice;
use super::{detail_of, people, staff_form, staff_of, ConfirmPage, Told};
use crate::auth::AuthUser;
use crate::console::{
    error_page, organizer, organizer_form, see_other, words, Chrome, Errors, Form,
};
use crate::context::Context;
use crate::db::page::PageRequest;
use crate::error::{AppError, AppResult, Code};
use crate::events::local_time::format_range;
use crate::events::model::*;
use crate::events::sessions as service;
use crate::events::types::parse_instant;
use crate::events::types::{SessionPatch, SessionRequest, SpeakerRequest};
use crate::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_page)
        .service(create)
        .service(edit_page)
        .service(save)
        .service(delete_page)
        .service(delete)
        .service(add_speaker)
        .service(speaker_action);
}

const ACCESS: [SessionAccess; 2] = [SessionAccess::Closed, SessionAccess::Public];

fn access_choices() -> Vec<Choice> {
    ACCESS
        .iter()
        .map(|a| Choice {
            code: a.as_str().to_owned(),
            label: match a {
                SessionAccess::Closed => "Closed: by invitation only".to_owned(),
                SessionAccess::Public => "Public: open registration".to_owned(),
            },
        })
        .collect()
}

fn speaker_role_choices() -> Vec<Choice> {
    SpeakerRole::ALL
        .iter()
        .map(|r| Choice {
            code: r.as_str().to_owned(),
            label: r.label().to_owned(),
        })
        .collect()
}

/// `2022-02-18T09:30`: a `datetime-local` value, in the event's zone.
fn local_input(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string()
}

/// The session form's fields, as typed (or as stored, in the event's zone).
#[derive(Default, Clone)]
pub struct SessionForm {
    pub title: String,
    pub description: String,
    pub access: String,
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: String,
    pub waitlist: bool,
    pub requires_approval: bool,
    pub registration_opens_at: String,
    pub registration_closes_at: String,
    /// `yes`, `no`, or blank: as usual for its access (on for closed sessions).
    pub chatham_house: String,
    pub online_url: String,
}

impl SessionForm {
    fn of(s: &Session, zone: chrono_tz::Tz) -> SessionForm {
        let time = |at: Option<DateTime<Utc>>| at.map(|t| local_input(t, zone)).unwrap_or_default();
        SessionForm {
            title: s.title.clone(),
            description: s.description.clone().unwrap_or_default(),
            access: s.access.as_str().to_owned(),
            starts_at: local_input(s.starts_at, zone),
            ends_at: local_input(s.ends_at, zone),
            capacity: s.capacity.map(|c| c.to_string()).unwrap_or_default(),
            waitlist: s.waitlist,
            requires_approval: s.requires_approval,
            registration_opens_at: time(s.registration_opens_at),
            registration_closes_at: time(s.registration_closes_at),
            chatham_house: if s.chatham_house { "yes" } else { "no" }.to_owned(),
            online_url: s.online_url.clone().unwrap_or_default(),
        }
    }

    fn read(form: &Form) -> SessionForm {
        let get = |name: &str| form.get(name).to_owned();
        SessionForm {
            title: get("title"),
            description: get("description"),
            access: get("access"),
            starts_at: get("starts_at"),
            ends_at: get("ends_at"),
            capacity: get("capacity"),
            waitlist: form.get("waitlist") == "yes",
            requires_approval: form.get("requires_approval") == "yes",
            registration_opens_at: get("registration_opens_at"),
            registration_closes_at: get("registration_closes_at"),
            chatham_house: get("chatham_house"),
            online_url: get("online_url"),
        }
    }

    /// The form as hidden fields, for the confirmation of a move.
    fn hidden(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = [
            ("title", &self.title),
            ("description", &self.description),
            ("access", &self.access),
            ("starts_at", &self.starts_at),
            ("ends_at", &self.ends_at),
            ("capacity", &self.capacity),
            ("registration_opens_at", &self.registration_opens_at),
            ("registration_closes_at", &self.registration_closes_at),
            ("chatham_house", &self.chatham_house),
            ("online_url", &self.online_url),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
        for (name, on) in [
            ("waitlist", self.waitlist),
            ("requires_approval", self.requires_approval),
        ] {
            if on {
                out.push((name.to_owned(), "yes".to_owned()));
            }
        }
        out
    }

    fn some(v: &str) -> Option<String> {
        Some(v.to_owned()).filter(|v| !v.trim().is_empty())
    }

    /// The capacity as typed: blank is no limit.
    fn capacity(&self) -> Result<Option<i64>, AppError> {
        let raw = self.capacity.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse::<i64>().map(Some).map_err(|_| {
            AppError::invalid(
                "capacity",
                "Capacity must be a whole number of seats, or blank for no limit.",
            )
        })
    }

    fn chatham_house(&self) -> Option<bool> {
        match self.chatham_house.trim() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }

    fn request(&self) -> AppResult<SessionRequest> {
        Ok(SessionRequest {
            title: Some(self.title.clone()),
            description: Self::some(&self.description),
            access: Some(self.access.clone()),
            starts_at: Some(self.starts_at.clone()),
            ends_at: Some(self.ends_at.clone()),
            capacity: self.capacity()?,
            registration_opens_at: Self::some(&self.registration_opens_at),
            registration_closes_at: Self::some(&self.registration_closes_at),
            requires_approval: Some(self.requires_approval),
            waitlist: Some(self.waitlist),
            chatham_house: self.chatham_house(),
            online_url: Self::some(&self.online_url),
        })
    }

    /// Every field is sent: a blank optional one clears it.
    fn patch(&self) -> AppResult<SessionPatch> {
        let optional = |v: &str| Some(Self::some(v));
        Ok(SessionPatch {
            title: Some(Some(self.title.clone())),
            description: optional(&self.description),
            access: Some(Some(self.access.clone())),
            starts_at: Some(Some(self.starts_at.clone())),
            ends_at: Some(Some(self.ends_at.clone())),
            capacity: Some(self.capacity()?),
            registration_opens_at: optional(&self.registration_opens_at),
            registration_closes_at: optional(&self.registration_closes_at),
            requires_approval: Some(Some(self.requires_approval)),
            waitlist: Some(Some(self.waitlist)),
            chatham_house: self.chatham_house().map(Some),
            online_url: optional(&self.online_url),
        })
    }
}

/// A refusal about one field of the session form, as that field's error.
fn as_field_error(e: AppError) -> AppError {
    match e.code() {
        Code::SessionHasRegistrations => AppError::invalid("access", detail_of(&e)),
        Code::CapacityBelowConfirmed => AppError::invalid("capacity", detail_of(&e)),
        _ => e,
    }
}

/// The "add a speaker" form, as typed.
#[derive(Default)]
pub struct SpeakerForm {
    pub find: String,
    pub person_id: String,
    pub name: String,
    pub organization: String,
    pub role: String,
}

/// A speaker as a line of the session's page.
pub struct SpeakerLine {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub organization: String,
    pub first: bool,
    pub last: bool,
}

#[derive(Template)]
#[template(path = "console/session_form.html")]
struct SessionPage {
    chrome: Chrome,
    done: Option<&'static str>,
    event: Event,
    zone: &'static str,
    /// None for a new session.
    session: Option<Session>,
    when: String,
    fields: SessionForm,
    errors: Errors,
    access: Vec<Choice>,
    speakers: Vec<SpeakerLine>,
    speaker: SpeakerForm,
    speaker_errors: Errors,
    found: Vec<Choice>,
    roles: Vec<Choice>,
}

/// What a failed form on a session's page brings back.
enum Failed {
    None,
    Session(SessionForm, Errors),
    Speaker(SpeakerForm, Errors),
}

async fn session_form(
    state: &web::Data<Context>,
    chrome: Chrome,
    event: Event,
    session: Option<Session>,
    done: Option<&'static str>,
    find: String,
    failed: Failed,
) -> HttpResponse {
    let zone = event.zone();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let mut fields = match &session {
        Some(s) => SessionForm::of(s, zone),
        None => SessionForm {
            access: SessionAccess::Closed.as_str().to_owned(),
            waitlist: true,
            ..Default::default()
        },
    };
    let mut errors = Errors::default();
    let mut speaker = SpeakerForm {
        find: find.clone(),
        ..Default::default()
    };
    let mut speaker_errors = Errors::default();
    match failed {
        Failed::None => status = StatusCode::OK,
        Failed::Session(f, e) => (fields, errors) = (f, e),
        Failed::Speaker(f, e) => (speaker, speaker_errors) = (f, e),
    }
    let loaded = async {
        let mut conn = state.pool.get().await?;
        let speakers = match &session {
            Some(s) => crate::events::views::speakers_by_session(&mut conn, &[s.id])
                .await?
                .remove(&s.id)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let find = speaker.find.trim();
        let found = if find.is_empty() {
            Vec::new()
        } else {
            let page = PageRequest {
                limit: 20,
                after: None,
            };
            crate::people::service::list(&mut conn, Some(find), &page)
                .await?
                .items
        };
        AppResult::Ok((speakers, found))
    };
    let (speakers, found) = match loaded.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let n = speakers.len();
    html(
        status,
        &SessionPage {
            chrome,
            done,
            zone: zone.name(),
            when: session
                .as_ref()
                .map(|s| format_range(s.starts_at, s.ends_at, &zone))
                .unwrap_or_default(),
            fields,
            errors,
            access: access_choices(),
            speakers: speakers
                .into_iter()
                .enumerate()
                .map(|(i, s)| SpeakerLine {
                    id: s.id,
                    name: s.name,
                    role: s.role.label().to_owned(),
                    organization: s.organization.unwrap_or_default(),
                    first: i == 0,
                    last: i + 1 == n,
                })
                .collect(),
            speaker,
            speaker_errors,
            found: found
                .into_iter()
                .map(|p| Choice {
                    code: p.id.to_string(),
                    label: format!("{} ({})", p.name, p.email),
                })
                .collect(),
            roles: speaker_role_choices(),
            event,
            session,
        },
    )
}

#[get("/manage/events/{id}/sessions/new")]
async fn new_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (_user, chrome, event) = match staff_of(&state, &req, *path).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    session_form(
        &state,
        chrome,
        event,
        None,
        None,
        String::new(),
        Failed::None,
    )
    .await
}

#[post("/manage/events/{id}/sessions/new")]
async fn create(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, event, form) = match staff_form(&state, &req, *path, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = SessionForm::read(&form);
    let created = async {
        let request = fields.request()?;
        let mut conn = state.pool.get().await?;
        service::create_session(
            &mut conn,
            &state.public_views,
            &user,
            &event.id.to_string(),
            request,
        )
        .await
    };
    match created.await {
        Ok(view) => see_other(&format!("/manage/sessions/{}/edit?done=created", view.id)),
        Err(AppError::Validation(errors)) => {
            session_form(
                &state,
                chrome,
                event,
                None,
                None,
                String::new(),
                Failed::Session(fields, Errors(errors)),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

/// The session and its event for a signed-in organiser who runs it, or the page to answer.
async fn session_of(
    state: &web::Data<Context>,
    req: &HttpRequest,
    session_id: Uuid,
) -> Result<(AuthUser, Chrome, Session, Event), HttpResponse> {
    let (user, chrome) = organizer(req).await?;
    let (session, event) = session_run_by(state, &user, session_id).await?;
    Ok((user, chrome, session, event))
}

/// An organiser's form POST about a session they run, its CSRF token checked before anything
/// is read.
async fn session_and_form(
    state: &web::Data<Context>,
    req: &HttpRequest,
    session_id: Uuid,
    body: &[u8],
) -> Result<(AuthUser, Chrome, Session, Event, Form), HttpResponse> {
    let (user, chrome, form) = organizer_form(req, body).await?;
    let (session, event) = session_run_by(state, &user, session_id).await?;
    Ok((user, chrome, session, event, form))
}

async fn session_run_by(
    state: &web::Data<Context>,
    user: &AuthUser,
    session_id: Uuid,
) -> Result<(Session, Event), HttpResponse> {
    let found = async {
        let mut conn = state.pool.get().await?;
        service::session_for_staff(&mut conn, user, session_id).await
    };
    found.await.map_err(error_page)
}

fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "The session was added. Add its speakers below.",
        "saved" => "The session was saved.",
        "moved" => {
            "The session was moved; the people registered for it are being told of the new time."
        }
        "speaker_added" => "The speaker was added.",
        "speaker_moved" => "The order of the speakers was changed.",
        "speaker_removed" => "The speaker was removed.",
        _ => return None,
    })
}

#[get("/manage/sessions/{id}/edit")]
async fn edit_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (_user, chrome, session, event) = match session_of(&state, &req, *path).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let query = Form::parse(req.query_string().as_bytes());
    let done = done_message(query.get("done"));
    let find = query.get("find").trim().chars().take(200).collect();
    session_form(
        &state,
        chrome,
        event,
        Some(session),
        done,
        find,
        Failed::None,
    )
    .await
}

/// Saves the session. A new time is first shown on a confirmation page that says who will be
/// told of it; its button posts the same fields again with `confirm_move`.
#[post("/manage/sessions/{id}/edit")]
async fn save(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, session, event, form) =
        match session_and_form(&state, &req, *path, &body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
    let fields = SessionForm::read(&form);
    let zone = event.zone();
    let typed = (
        parse_instant(&fields.starts_at, zone),
        parse_instant(&fields.ends_at, zone),
    );
    if let (Ok(starts), Ok(ends)) = typed {
        let moved = (starts, ends) != (session.starts_at, session.ends_at);
        if moved && form.get("confirm_move") != "yes" && ends > starts {
            return confirm_move(&state, chrome, &session, &event, &fields, starts, ends).await;
        }
    }
    let moved = matches!(typed, (Ok(s), Ok(e)) if (s, e) != (session.starts_at, session.ends_at));
    let saved = async {
        let patch = fields.patch()?;
        let mut conn = state.pool.get().await?;
        service::update_session(
            &mut conn,
            &state.public_views,
            &user,
            session.id,
            patch,
            &state.links,
        )
        .await
        .map_err(as_field_error)
    };
    match saved.await {
        Ok(view) => {
            let done = if moved { "moved" } else { "saved" };
            see_other(&format!("/manage/sessions/{}/edit?done={done}", view.id))
        }
        Err(AppError::Validation(errors)) => {
            session_form(
                &state,
                chrome,
                event,
                Some(session),
                None,
                String::new(),
                Failed::Session(fields, Errors(errors)),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

fn standing(status: crate::registrations::model::RegistrationStatus) -> String {
    use crate::registrations::model::RegistrationStatus::*;
    match status {
        Confirmed => "confirmed seat".to_owned(),
        Waitlisted => "on the waitlist".to_owned(),
        other => words(other.as_str()),
    }
}

async fn confirm_move(
    state: &web::Data<Context>,
    chrome: Chrome,
    session: &Session,
    event: &Event,
    fields: &SessionForm,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> HttpResponse {
    let zone = event.zone();
    let found = async {
        let mut conn = state.pool.get().await?;
        let ctx = crate::registrations::service::session_context(&mut conn, session.id).await?;
        crate::registrations::emails::told_of_a_move(&mut conn, &ctx).await
    };
    let told: Vec<Told> = match found.await {
        Ok(found) => found
            .into_iter()
            .map(|(_, status, person)| Told {
                name: person.name,
                email: person.email,
                why: standing(status),
            })
            .collect(),
        Err(e) => return error_page(e),
    };
    let mut hidden = fields.hidden();
    hidden.push(("confirm_move".to_owned(), "yes".to_owned()));
    let told_heading = if told.is_empty() {
        if event.status == EventStatus::Published {
            "Nobody is registered for it: nobody is emailed.".to_owned()
        } else {
            "The dialogue is not published: nobody is emailed.".to_owned()
        }
    } else {
        format!(
            "{} registered for it will be emailed the new time (with a calendar update for those with a seat):",
            people(told.len())
        )
    };
    ConfirmPage {
        chrome,
        done: None,
        heading: format!("Move {}?", session.title),
        about: vec![
            event.title.clone(),
            format!(
                "Now: {}",
                format_range(session.starts_at, session.ends_at, &zone)
            ),
            format!("New time: {}", format_range(starts, ends, &zone)),
        ],
        consequences: vec![
            "Reminders already scheduled are moved to the new time.".to_owned(),
            "The other changes you made on the form are saved with it.".to_owned(),
        ],
        told_heading,
        told,
        action: format!("/manage/sessions/{}/edit", session.id),
        hidden,
        button: "Move the session".to_owned(),
        danger: false,
        back: format!("/manage/sessions/{}/edit", session.id),
        refused: None,
        errors: Errors::default(),
    }
    .respond()
}

/// Says what deleting the session does and who is told, or why it cannot be deleted.
#[get("/manage/sessions/{id}/delete")]
async fn delete_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (_user, chrome, session, event) = match session_of(&state, &req, *path).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let found = async {
        let mut conn = state.pool.get().await?;
        let live = service::live_registrations(&mut conn, session.id).await?;
        let told = service::told_of_deletion(&mut conn, session.id).await?;
        AppResult::Ok((live, told))
    };
    let (live, told) = match found.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let refused = (live > 0).then(|| {
        format!(
            "{live} live registration{} (pending, confirmed or waitlisted) hold this session: cancel them before deleting it, or change its time instead.",
            if live == 1 { "" } else { "s" }
        )
    });
    let told: Vec<Told> = told
        .into_iter()
        .map(|(_, email, name)| Told {
            name,
            email,
            why: "invited, not yet answered for it".to_owned(),
        })
        .collect();
    ConfirmPage {
        chrome,
        done: None,
        heading: if refused.is_some() {
            format!("{} cannot be deleted", session.title)
        } else {
            format!("Delete {}?", session.title)
        },
        about: vec![
            event.title.clone(),
            format_range(session.starts_at, session.ends_at, &event.zone()),
        ],
        consequences: vec![
            "The session and its speakers leave the programme for good.".to_owned(),
        ],
        told_heading: if told.is_empty() {
            "Nobody is emailed.".to_owned()
        } else {
            format!(
                "{} invited to it will be emailed that it was removed (with a calendar cancellation):",
                people(told.len())
            )
        },
        told,
        action: format!("/manage/sessions/{}/delete", session.id),
        hidden: Vec::new(),
        button: "Delete the session".to_owned(),
        danger: true,
        back: format!("/manage/sessions/{}/edit", session.id),
        refused,
        errors: Errors::default(),
    }
    .respond()
}

#[post("/manage/sessions/{id}/delete")]
async fn delete(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, _chrome, session, event, _form) =
        match session_and_form(&state, &req, *path, &body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
    let deleted = async {
        let mut conn = state.pool.get().await?;
        service::delete_session(&mut conn, &state.public_views, &user, session.id).await
    };
    match deleted.await {
        Ok(()) => see_other(&format!(
            "/manage/events/{}/edit?done=session_deleted#sessions",
            event.id
        )),
        Err(e) => error_page(e),
    }
}

/// Adds a speaker: the person picked from the search, or the name typed.
#[post("/manage/sessions/{id}/speakers")]
async fn add_speaker(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, session, event, form) =
        match session_and_form(&state, &req, *path, &body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
    let typed = SpeakerForm {
        find: form.get("find").trim().to_owned(),
        person_id: form.get("person_id").trim().to_owned(),
        name: form.get("name").to_owned(),
        organization: form.get("organization").to_owned(),
        role: form.get("role").trim().to_owned(),
    };
    let some = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    let request = SpeakerRequest {
        person_id: some(&typed.person_id),
        name: some(&typed.name),
        organization: some(&typed.organization),
        role: some(&typed.role),
        order: None,
    };
    let added = async {
        let mut conn = state.pool.get().await?;
        service::add_speaker(&mut conn, &state.public_views, &user, session.id, request).await
    };
    match added.await {
        Ok(_) => see_other(&format!(
            "/manage/sessions/{}/edit?done=speaker_added#speakers",
            session.id
        )),
        Err(AppError::Validation(errors)) => {
            let errors = errors
                .into_iter()
                .map(|mut e| {
                    e.message = crate::pages::sentence(&format!(
                        "{}: {}",
                        match e.field.as_str() {
                            "person_id" => "Person",
                            "name" => "Name",
                            "organization" => "Organisation",
                            "role" => "Role",
                            other => other,
                        },
                        e.message
                    ));
                    e.field = format!("speaker-{}", e.field);
                    e
                })
                .collect();
            session_form(
                &state,
                chrome,
                event,
                Some(session),
                None,
                String::new(),
                Failed::Speaker(typed, Errors(errors)),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

/// Moves a speaker up or down the order of appearance, or removes them.
#[post("/manage/speakers/{id}/{action:up|down|remove}")]
async fn speaker_action(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (speaker_id, action) = path.into_inner();
    let (user, _chrome, _form) = match organizer_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = async {
        let mut conn = state.pool.get().await?;
        let session_id: Uuid = {
            use crate::db::schema::speakers;
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            speakers::table
                .find(speaker_id)
                .select(speakers::session_id)
                .first(&mut conn)
                .await
                .optional()?
                .ok_or_else(|| AppError::not_found("speaker"))?
        };
        let views = &state.public_views;
        let code = match action.as_str() {
            "remove" => {
                service::delete_speaker(&mut conn, views, &user, speaker_id).await?;
                "speaker_removed"
            }
            way => {
                service::move_speaker(&mut conn, views, &user, speaker_id, way == "up").await?;
                "speaker_moved"
            }
        };
        AppResult::Ok((session_id, code))
    };
    match done.await {
        Ok((session_id, code)) => see_other(&format!(
            "/manage/sessions/{session_id}/edit?done={code}#speakers"
        )),
        Err(e) => error_page(e),
    }
}
