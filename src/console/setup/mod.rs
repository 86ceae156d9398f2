//! Setting up a dialogue in the console, for its staff and admins: creating and editing the
//! event (`/manage/events/new`, `/manage/events/{id}/edit`), its lifecycle behind confirmation
//! pages that say who will be emailed, its sessions (times typed in the event's zone) and their
//! speakers, its partner organisations and its staff. Every change goes through the service
//! function the API calls (`events::editing`, `events::lifecycle`, `events::sessions`,
//! `events::partners`, `events::staff`), so the rules, and who may do what, are the API's.
//!
//! Members are refused with the organisers' 403 page before anything is read; an organiser who
//! does not run the event gets the API's answer (404 for a draft they may not know of, 403 for
//! a published one).

pub mod event;
pub mod sessions;
pub mod team;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{error_page, organizer, organizer_form, Chrome, Errors, Form};
use crate::auth::AuthUser;
use crate::context::Context;
use crate::error::AppError;
use crate::events::access::event_for_staff;
use crate::events::model::Event;
use crate::pages::html;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // `/manage/events/new` before the overview's `/manage/events/{id}`.
    cfg.configure(event::routes)
        .configure(sessions::routes)
        .configure(team::routes);
}

/// A signed-in organiser (or admin) and the event they run, or the page to answer instead.
pub async fn staff_of(
    state: &web::Data<Context>,
    req: &HttpRequest,
    event_id: Uuid,
) -> Result<(AuthUser, Chrome, Event), HttpResponse> {
    let (user, chrome) = organizer(req).await?;
    let event = event_run_by(state, &user, event_id).await?;
    Ok((user, chrome, event))
}

/// An organiser's form POST about an event they run: the organiser, the page's chrome, the
/// event and the form, its CSRF token checked before anything is read.
pub async fn staff_form(
    state: &web::Data<Context>,
    req: &HttpRequest,
    event_id: Uuid,
    body: &[u8],
) -> Result<(AuthUser, Chrome, Event, Form), HttpResponse> {
    let (user, chrome, form) = organizer_form(req, body).await?;
    let event = event_run_by(state, &user, event_id).await?;
    Ok((user, chrome, event, form))
}

async fn event_run_by(
    state: &web::Data<Context>,
    user: &AuthUser,
    event_id: Uuid,
) -> Result<Event, HttpResponse> {
    let found = async {
        let mut conn = state.pool.get().await?;
        event_for_staff(&mut conn, user, &event_id.to_string()).await
    };
    found.await.map_err(error_page)
}

/// One person a change will email, and why.
pub struct Told {
    pub name: String,
    pub email: String,
    pub why: String,
}

/// A confirmation page: what will happen, who will be emailed, and one button that posts the
/// hidden fields (what was typed, when the change comes from a form) to `action`.
#[derive(Template)]
#[template(path = "console/setup_confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub done: Option<&'static str>,
    pub heading: String,
    pub about: Vec<String>,
    pub consequences: Vec<String>,
    /// Who will be emailed; `told_heading` introduces the list, or says nobody is.
    pub told_heading: String,
    pub told: Vec<Told>,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub button: String,
    pub danger: bool,
    pub back: String,
    /// Set when the change cannot be made: the page says why and offers no button.
    pub refused: Option<String>,
    pub errors: Errors,
}

impl ConfirmPage {
    pub fn respond(&self) -> HttpResponse {
        html(StatusCode::OK, self)
    }
}

/// "1 person" / "3 people".
pub fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_owned()
    } else {
        format!("{n} people")
    }
}

/// The message of a service's refusal (a `Problem`), as a sentence for a field.
pub fn detail_of(e: &AppError) -> String {
    match e {
        AppError::Problem { detail, .. } => crate::pages::sentence(detail),
        other => other.to_string(),
    }
}
