//! The invitations table of a dialogue (`/manage/events/{id}/invitations`), filtered by status,
//! with resend, and revoke behind a page saying what it cancels.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::done_sentence;
use crate::console::dialogues::StatusChoice;
use crate::console::{error_page, see_other, signed_in, signed_in_form, words, Chrome, Form};
use crate::context::Context;
use crate::error::AppResult;
use crate::events::local_time::format_local;
use crate::invitations::lookup::event_for_staff;
use crate::invitations::model::InvitationStatus;
use crate::invitations::types::{InvitationItem, ListInvitationsQuery, ResendRequest};
use crate::invitations::{manage, staff};
use crate::pages::html;
use crate::registrations::model::EventFacts;

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
pub(super) async fn list(
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
pub(super) async fn resend(
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
pub(super) async fn revoke_page(
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
pub(super) async fn revoke(
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
