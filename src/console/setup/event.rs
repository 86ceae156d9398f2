//! Creating and editing a dialogue (series picked or created, title, slug, summary, country,
//! time zone, format, venue, online link, contact), the page that gathers its set-up (details,
//! status, sessions, partners, staff), and publish / cancel / complete behind a confirmation
//! page that says who will be emailed.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::team::{PartnerForm, PartnerLine, StaffForm};
use super::{detail_of, people, staff_form, staff_of, ConfirmPage, Told};
use crate::auth::AuthUser;
use crate::console::{
    error_page, organizer, organizer_form, see_other, words, Chrome, Errors, Form,
};
use crate::context::Context;
use crate::db::page::{PageRequest, MAX_LIMIT};
use crate::db::schema::people as people_table;
use crate::error::{AppError, AppResult, Code};
use crate::events::lifecycle::{self, Transition};
use crate::events::local_time::format_range;
use crate::events::model::*;
use crate::events::staff::{staff_candidates, staff_of as staff_list, StaffCandidate};
use crate::events::types::{EventPatch, EventRequest, SeriesRequest, StaffView};
use crate::events::{editing, partners, series};
use crate::organizations::country::Country;
use crate::pages::{countries, html};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_page)
        .service(create)
        .service(edit_page)
        .service(save)
        .service(lifecycle_page)
        .service(lifecycle_submit);
}

/// Every IANA time zone name chrono-tz knows, for the time zone field's list.
pub fn zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

/// A choice of a `<select>`: its value and its words.
pub struct Choice {
    pub code: String,
    pub label: String,
}

const FORMATS: [EventFormat; 3] = [
    EventFormat::Online,
    EventFormat::InPerson,
    EventFormat::Hybrid,
];

fn format_choices() -> Vec<Choice> {
    FORMATS
        .iter()
        .map(|f| Choice {
            code: f.as_str().to_owned(),
            label: f.label().to_owned(),
        })
        .collect()
}

/// The event form's fields, as typed (or as stored).
#[derive(Default)]
pub struct EventForm {
    pub series_id: String,
    pub new_series: String,
    pub title: String,
    pub slug: String,
    pub summary: String,
    pub country: String,
    pub timezone: String,
    pub format: String,
    pub venue: String,
    pub online_url: String,
    pub contact_name: String,
    pub contact_email: String,
}

impl EventForm {
    fn of(event: &Event) -> EventForm {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        EventForm {
            series_id: event.series_id.map(|s| s.to_string()).unwrap_or_default(),
            new_series: String::new(),
            title: event.title.clone(),
            slug: event.slug.clone(),
            summary: text(&event.summary),
            country: text(&event.country),
            timezone: event.timezone.clone(),
            format: event.format.as_str().to_owned(),
            venue: text(&event.venue),
            online_url: text(&event.online_url),
            contact_name: text(&event.contact_name),
            contact_email: text(&event.contact_email),
        }
    }

    fn read(form: &Form) -> EventForm {
        let get = |name: &str| form.get(name).to_owned();
        EventForm {
            series_id: get("series_id"),
            new_series: get("new_series"),
            title: get("title"),
            slug: get("slug"),
            summary: get("summary"),
            country: get("country"),
            timezone: get("timezone"),
            format: get("format"),
            venue: get("venue"),
            online_url: get("online_url"),
            contact_name: get("contact_name"),
            contact_email: get("contact_email"),
        }
    }

    fn some(value: &str) -> Option<String> {
        Some(value.to_owned()).filter(|v| !v.trim().is_empty())
    }

    fn request(&self, series_id: Option<String>) -> EventRequest {
        EventRequest {
            title: Some(self.title.clone()),
            slug: Self::some(&self.slug),
            summary: Self::some(&self.summary),
            series_id,
            country: Self::some(&self.country),
            timezone: Some(self.timezone.clone()),
            format: Some(self.format.clone()),
            venue: Self::some(&self.venue),
            online_url: Self::some(&self.online_url),
            contact_name: Self::some(&self.contact_name),
            contact_email: Self::some(&self.contact_email),
        }
    }

    /// Every field is sent: a blank optional one clears it.
    fn patch(&self, series_id: Option<String>) -> EventPatch {
        let optional = |v: &str| Some(Self::some(v));
        EventPatch {
            title: Some(Some(self.title.clone())),
            slug: Some(Some(self.slug.clone())),
            summary: optional(&self.summary),
            series_id: Some(series_id),
            country: optional(&self.country),
            timezone: Some(Some(self.timezone.clone())),
            format: Some(Some(self.format.clone())),
            venue: optional(&self.venue),
            online_url: optional(&self.online_url),
            contact_name: optional(&self.contact_name),
            contact_email: optional(&self.contact_email),
        }
    }
}

/// Creates the series typed in "a new series", if any, inside the caller's transaction; answers
/// the series the event belongs to. Its errors are filed under `new_series`.
async fn series_for(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    fields: &EventForm,
) -> AppResult<Option<String>> {
    if fields.new_series.trim().is_empty() {
        return Ok(EventForm::some(&fields.series_id));
    }
    let created = series::create_series(
        conn,
        user,
        SeriesRequest {
            name: Some(fields.new_series.clone()),
            country: EventForm::some(&fields.country),
            description: None,
        },
    )
    .await
    .map_err(|e| match e {
        AppError::Validation(errors) => AppError::Validation(
            errors
                .into_iter()
                .map(|mut e| {
                    e.field = match e.field.as_str() {
                        "name" => "new_series".to_owned(),
                        other => other.to_owned(),
                    };
                    e
                })
                .collect(),
        ),
        e if e.code() == Code::SeriesNameTaken => AppError::invalid(
            "new_series",
            "A series with this name already exists: pick it in the list above.",
        ),
        e => e,
    })?;
    Ok(Some(created.id.to_string()))
}

/// A refusal about one field of the event form, as that field's error.
fn as_field_error(e: AppError) -> AppError {
    if e.code() == Code::SlugTaken {
        AppError::invalid("slug", detail_of(&e))
    } else {
        e
    }
}

async fn series_choices(conn: &mut AsyncPgConnection) -> AppResult<Vec<Choice>> {
    let page = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    Ok(series::list_series(conn, &page)
        .await?
        .items
        .into_iter()
        .map(|s| Choice {
            code: s.id.to_string(),
            label: s.name,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "console/event_new.html")]
struct NewPage {
    chrome: Chrome,
    done: Option<&'static str>,
    fields: EventForm,
    errors: Errors,
    series: Vec<Choice>,
    formats: Vec<Choice>,
    countries: &'static [Country],
    zones: Vec<&'static str>,
}

async fn new_form(
    state: &web::Data<Context>,
    chrome: Chrome,
    fields: EventForm,
    errors: Errors,
) -> HttpResponse {
    let series = async {
        let mut conn = state.pool.get().await?;
        series_choices(&mut conn).await
    };
    let series = match series.await {
        Ok(series) => series,
        Err(e) => return error_page(e),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &NewPage {
            chrome,
            done: None,
            fields,
            errors,
            series,
            formats: format_choices(),
            countries: countries(),
            zones: zones(),
        },
    )
}

#[get("/manage/events/new")]
async fn new_page(state: web::Data<Context>, req: HttpRequest) -> HttpResponse {
    let (_user, chrome) = match organizer(&req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = EventForm {
        format: EventFormat::Hybrid.as_str().to_owned(),
        ..Default::default()
    };
    new_form(&state, chrome, fields, Errors::default()).await
}

/// Creates the draft (and the new series, if one was typed) in one transaction: a refusal of
/// either changes nothing.
#[post("/manage/events/new")]
async fn create(state: web::Data<Context>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (user, chrome, form) = match organizer_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = EventForm::read(&form);
    let public_url = state.links.clone();
    let created = async {
        let mut conn = state.pool.get().await?;
        crate::db::transaction(&mut conn, |conn| {
            let (user, fields, public_url) = (&user, &fields, &public_url);
            async move {
                let series_id = series_for(conn, user, fields).await?;
                editing::create_event(conn, user, fields.request(series_id), public_url)
                    .await
                    .map_err(as_field_error)
            }
            .scope_boxed()
        })
        .await
    };
    match created.await {
        Ok(view) => see_other(&format!("/manage/events/{}/edit?done=created", view.id)),
        Err(AppError::Validation(errors)) => new_form(&state, chrome, fields, Errors(errors)).await,
        Err(e) => error_page(e),
    }
}

/// What a `?done=` on the set-up page says.
fn done_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "The dialogue was created as a draft. Add its sessions, partners and staff, then publish it.",
        "saved" => "The dialogue's details were saved.",
        "publish" => "The dialogue was published: its page is public.",
        "cancel" => "The dialogue was cancelled, and the people it concerned were emailed.",
        "complete" => "The dialogue was marked completed.",
        "session_deleted" => "The session was deleted.",
        "partner_saved" => "The partner was saved.",
        "partner_removed" => "The partner was removed.",
        "staff_added" => "They were added to the staff.",
        "staff_removed" => "They were taken off the staff.",
        _ => return None,
    })
}

/// A session as a line of the set-up page.
pub struct SessionLine {
    pub id: Uuid,
    pub title: String,
    pub when: String,
    pub access: String,
}

/// A lifecycle move offered on the set-up page.
pub struct Move {
    pub path: &'static str,
    pub label: &'static str,
    pub danger: bool,
}

fn moves(status: EventStatus) -> Vec<Move> {
    let offered = [
        (Transition::Publish, "publish", "Publish", false),
        (Transition::Complete, "complete", "Mark completed", false),
        (Transition::Cancel, "cancel", "Cancel the dialogue", true),
    ];
    offered
        .into_iter()
        .filter(|(t, ..)| t.target(status).is_some())
        .map(|(_, path, label, danger)| Move {
            path,
            label,
            danger,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/event_edit.html")]
pub struct EditPage {
    pub chrome: Chrome,
    pub done: Option<&'static str>,
    pub event: Event,
    pub page_url: Option<String>,
    pub moves: Vec<Move>,
    pub fields: EventForm,
    pub errors: Errors,
    pub series: Vec<Choice>,
    pub formats: Vec<Choice>,
    pub countries: &'static [Country],
    pub zones: Vec<&'static str>,
    pub sessions: Vec<SessionLine>,
    pub partners: Vec<PartnerLine>,
    pub partner: PartnerForm,
    pub partner_errors: Errors,
    pub organizations: Vec<Choice>,
    pub partner_roles: Vec<Choice>,
    pub staff: Vec<StaffView>,
    pub staff_form: StaffForm,
    pub staff_errors: Errors,
    pub candidates: Vec<StaffCandidate>,
}

/// What a failed form on the set-up page brings back: what was typed and its errors.
pub enum Failed {
    None,
    Details(Box<EventForm>, Errors),
    Partner(PartnerForm, Errors),
    Staff(StaffForm, Errors),
}

/// The set-up page of `event`, with the failed form (if any) as typed.
pub async fn edit_form(
    state: &web::Data<Context>,
    chrome: Chrome,
    event: Event,
    done: Option<&'static str>,
    failed: Failed,
) -> HttpResponse {
    let loaded = async {
        let mut conn = state.pool.get().await?;
        let series = series_choices(&mut conn).await?;
        let sessions: Vec<Session> = crate::db::schema::sessions::table
            .filter(crate::db::schema::sessions::event_id.eq(event.id))
            .order((
                crate::db::schema::sessions::starts_at.asc(),
                crate::db::schema::sessions::id.asc(),
            ))
            .select(Session::as_select())
            .load(&mut conn)
            .await?;
        let partners = partners::partners_by_event(&mut conn, &[event.id])
            .await?
            .remove(&event.id)
            .unwrap_or_default();
        let organizations = super::team::organization_choices(&mut conn).await?;
        let staff = staff_list(&mut conn, event.id).await?;
        let candidates = staff_candidates(&mut conn, event.id).await?;
        AppResult::Ok((series, sessions, partners, organizations, staff, candidates))
    };
    let (series, sessions, partners, organizations, staff, candidates) = match loaded.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let zone = event.zone();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let (mut fields, mut errors) = (EventForm::of(&event), Errors::default());
    let (mut partner, mut partner_errors) = (PartnerForm::default(), Errors::default());
    let (mut staff_form, mut staff_errors) = (StaffForm::default(), Errors::default());
    match failed {
        Failed::None => status = StatusCode::OK,
        Failed::Details(f, e) => (fields, errors) = (*f, e),
        Failed::Partner(f, e) => (partner, partner_errors) = (f, e),
        Failed::Staff(f, e) => (staff_form, staff_errors) = (f, e),
    }
    let page_url = event
        .is_public()
        .then(|| state.links.event_page(&event.slug));
    html(
        status,
        &EditPage {
            chrome,
            done,
            moves: moves(event.status),
            page_url,
            fields,
            errors,
            series,
            formats: format_choices(),
            countries: countries(),
            zones: zones(),
            sessions: sessions
                .iter()
                .map(|s| SessionLine {
                    id: s.id,
                    title: s.title.clone(),
                    when: format_range(s.starts_at, s.ends_at, &zone),
                    access: words(s.access.as_str()),
                })
                .collect(),
            partners: partners.into_iter().map(PartnerLine::of).collect(),
            partner,
            partner_errors,
            organizations,
            partner_roles: super::team::role_choices(),
            staff,
            staff_form,
            staff_errors,
            candidates,
            event,
        },
    )
}

#[get("/manage/events/{id}/edit")]
async fn edit_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
) -> HttpResponse {
    let (_user, chrome, event) = match staff_of(&state, &req, *path).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = done_message(Form::parse(req.query_string().as_bytes()).get("done"));
    edit_form(&state, chrome, event, done, Failed::None).await
}

/// Saves the details (and the new series, if one was typed) in one transaction.
#[post("/manage/events/{id}/edit")]
async fn save(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    let (user, chrome, event, form) = match staff_form(&state, &req, *path, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let fields = EventForm::read(&form);
    let public_url = state.links.clone();
    let saved = async {
        let mut conn = state.pool.get().await?;
        crate::db::transaction(&mut conn, |conn| {
            let (user, fields, public_url, state) = (&user, &fields, &public_url, &state);
            let id = event.id.to_string();
            async move {
                let series_id = series_for(conn, user, fields).await?;
                editing::update_event(
                    conn,
                    &state.public_views,
                    user,
                    &id,
                    fields.patch(series_id),
                    public_url,
                )
                .await
                .map_err(as_field_error)
            }
            .scope_boxed()
        })
        .await
    };
    match saved.await {
        Ok(view) => see_other(&format!("/manage/events/{}/edit?done=saved", view.id)),
        Err(AppError::Validation(errors)) => {
            edit_form(
                &state,
                chrome,
                event,
                None,
                Failed::Details(Box::new(fields), Errors(errors)),
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

// --- Publish, cancel, complete --------------------------------------------------------------

fn transition_of(raw: &str) -> Option<Transition> {
    match raw {
        "publish" => Some(Transition::Publish),
        "cancel" => Some(Transition::Cancel),
        "complete" => Some(Transition::Complete),
        _ => None,
    }
}

/// The people cancelling the event emails, each once, by name, with why.
async fn told_of_cancellation(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<(usize, usize, Vec<Told>)> {
    let (registrants, invitees) = lifecycle::told_of_cancellation(conn, event_id).await?;
    let mut ids: Vec<Uuid> = registrants.iter().chain(&invitees).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let found: HashMap<Uuid, (String, String)> = people_table::table
        .filter(people_table::id.eq_any(&ids))
        .select((people_table::id, people_table::name, people_table::email))
        .load::<(Uuid, String, String)>(conn)
        .await?
        .into_iter()
        .map(|(id, name, email)| (id, (name, email)))
        .collect();
    let mut told: Vec<Told> = ids
        .iter()
        .filter_map(|id| {
            let (name, email) = found.get(id)?.clone();
            let why = match (registrants.contains(id), invitees.contains(id)) {
                (true, true) => "registered and invited",
                (true, false) => "registered",
                _ => "invited",
            };
            Some(Told {
                name,
                email,
                why: why.to_owned(),
            })
        })
        .collect();
    told.sort_by_key(|t| t.name.to_lowercase());
    Ok((registrants.len(), invitees.len(), told))
}

async fn lifecycle_confirm(
    state: &web::Data<Context>,
    chrome: Chrome,
    event: Event,
    transition: Transition,
    path: &str,
) -> HttpResponse {
    let back = format!("/manage/events/{}/edit", event.id);
    let status = format!("Status now: {}.", event.status);
    let mut page = ConfirmPage {
        chrome,
        done: None,
        heading: String::new(),
        about: vec![event.title.clone(), status],
        consequences: Vec::new(),
        told_heading: "Nobody is emailed.".to_owned(),
        told: Vec::new(),
        action: format!("/manage/events/{}/{path}", event.id),
        hidden: Vec::new(),
        button: String::new(),
        danger: false,
        back,
        refused: None,
        errors: Errors::default(),
    };
    if transition.target(event.status).is_none() {
        page.heading = format!("This dialogue cannot be {path}ed");
        page.refused = Some(format!(
            "It is {}: nothing can move it that way.",
            event.status
        ));
        return page.respond();
    }
    match transition {
        Transition::Publish => {
            page.heading = format!("Publish {}?", event.title);
            page.consequences = vec![
                format!(
                    "Its page becomes public at {}, with its public sessions open for registration (within their registration windows); closed sessions are listed by title only.",
                    state.links.event_page(&event.slug)
                ),
                "Invitations to its closed sessions can be sent once it is published.".to_owned(),
            ];
            page.told_heading = "Nobody is emailed when it is published.".to_owned();
            page.button = "Publish".to_owned();
        }
        Transition::Complete => {
            page.heading = format!("Mark {} completed?", event.title);
            page.consequences = vec![
                "It stays public, and takes no more registrations or answers to invitations."
                    .to_owned(),
                "This cannot be undone.".to_owned(),
            ];
            page.told_heading = "Nobody is emailed when it is completed.".to_owned();
            page.button = "Mark completed".to_owned();
        }
        Transition::Cancel => {
            let found = async {
                let mut conn = state.pool.get().await?;
                told_of_cancellation(&mut conn, event.id).await
            };
            let (registrations, invitations, told) = match found.await {
                Ok(found) => found,
                Err(e) => return error_page(e),
            };
            page.heading = format!("Cancel {}?", event.title);
            page.consequences = vec![
                format!(
                    "Every live registration of its sessions is cancelled ({}), and every pending or accepted invitation withdrawn ({}). Reminders not yet sent are withdrawn.",
                    people(registrations),
                    people(invitations)
                ),
                "This cannot be undone.".to_owned(),
            ];
            page.told_heading = if told.is_empty() {
                "Nobody is registered or invited: nobody is emailed.".to_owned()
            } else {
                format!(
                    "{} will be emailed once each that the dialogue is cancelled:",
                    people(told.len())
                )
            };
            page.told = told;
            page.button = "Cancel the dialogue".to_owned();
            page.danger = true;
        }
    }
    page.respond()
}

#[get("/manage/events/{id}/{move:publish|cancel|complete}")]
async fn lifecycle_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
) -> HttpResponse {
    let (id, raw) = path.into_inner();
    let Some(transition) = transition_of(&raw) else {
        return crate::pages::not_found("There is no such page.");
    };
    let (_user, chrome, event) = match staff_of(&state, &req, id).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    lifecycle_confirm(&state, chrome, event, transition, &raw).await
}

/// Makes the confirmed move through the service the API uses.
#[post("/manage/events/{id}/{move:publish|cancel|complete}")]
async fn lifecycle_submit(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (id, raw) = path.into_inner();
    let Some(transition) = transition_of(&raw) else {
        return crate::pages::not_found("There is no such page.");
    };
    let (user, _chrome, _form) = match organizer_form(&req, &body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match lifecycle::transition(&state, &user, &id.to_string(), transition).await {
        Ok(view) => see_other(&format!("/manage/events/{}/edit?done={raw}", view.id)),
        Err(e) => error_page(e),
    }
}
