//! The preview of a composed invitation (`/manage/events/{id}/invitations/preview`): who it
//! reaches, by the same checks as sending and with nothing written, and the Send that re-posts
//! exactly the fields previewed.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::compose::{read_compose, refused, Fields};
use crate::console::home::country_name;
use crate::console::{see_other, Chrome};
use crate::context::Context;
use crate::events::facts::EventFacts;
use crate::invitations::create;
use crate::invitations::model::SkipReason;
use crate::invitations::preview::{self, InvitationPreview};
use crate::organizations::model::OrganizationKind;
use crate::pages::html;

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
        (c, _) => country_name(c),
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
                    country_name(o.country.as_deref())
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
pub(super) async fn preview_page(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    submit(&state, &req, *path, &body, Step::Preview).await
}

#[post("/manage/events/{id}/invitations/send")]
pub(super) async fn send(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> HttpResponse {
    submit(&state, &req, *path, &body, Step::Send).await
}

/// What a posted compose form asks for.
enum Step {
    Preview,
    Send,
}

/// Previews or sends the invitations the posted form describes; a refusal shows the compose
/// page again with its errors.
async fn submit(
    state: &web::Data<Context>,
    req: &HttpRequest,
    event_id: Uuid,
    body: &[u8],
    step: Step,
) -> HttpResponse {
    let (user, chrome, event, f, request, lines) =
        match read_compose(state, req, event_id, body).await {
            Ok(found) => found,
            Err(answer) => return answer,
        };
    let answer = match step {
        Step::Preview => {
            let found = async {
                let mut conn = state.pool.get().await?;
                preview::preview(&mut conn, &user, event.id, &request).await
            };
            found.await.map(|p| {
                html(
                    StatusCode::OK,
                    &preview_page_of(chrome.clone(), &event, &f, p),
                )
            })
        }
        Step::Send => create::create_invitations(state, &user, event.id, request)
            .await
            .map(|_| {
                see_other(&format!(
                    "/manage/events/{}/invitations?done=sent",
                    event.id
                ))
            }),
    };
    match answer {
        Ok(answer) => answer,
        Err(e) => refused(state, chrome, &event, f, &lines, e).await,
    }
}
