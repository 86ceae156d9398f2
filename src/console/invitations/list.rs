//! The invitations table of a dialogue (`/manage/events/{id}/invitations`), filtered by status,
//! with resend, and revoke behind a page saying what it cancels.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use uuid::Uuid;

use super::{status_choices, TableQuery};
use crate::console::dialogues::StatusChoice;
use crate::console::{error_page, see_other, signed_in, signed_in_form, Chrome};
use crate::context::Context;
use crate::error::AppResult;
use crate::events::facts::EventFacts;
use crate::events::local_time::format_local;
use crate::invitations::lookup::event_for_staff;
use crate::invitations::model::InvitationStatus;
use crate::invitations::types::{InvitationItem, ListInvitationsQuery, ResendRequest};
use crate::invitations::{manage, staff};
use crate::pages::html;

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
    let query = TableQuery::of(&req);
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
                status: (!query.status.is_empty()).then(|| query.status.clone()),
                limit: Some(100),
                cursor: (!query.cursor.is_empty()).then(|| query.cursor.clone()),
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
            done: query.done,
            event_id: event.id,
            event_title: event.title.clone(),
            zone: event.timezone.clone(),
            statuses: status_choices(InvitationStatus::ALL.iter().map(|s| s.as_str())),
            rows: found
                .items
                .iter()
                .map(|i| InvitationRow::of(i, &event))
                .collect(),
            next: found
                .next_cursor
                .map(|c| query.next(event.id, "invitations", &c)),
            status: query.status,
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
    act(&state, &req, *path, &body, Action::Resend).await
}

/// What a button of the table does to one invitation.
enum Action {
    Resend,
    Revoke,
}

/// Does `action` to invitation `id`, then shows the table saying so.
async fn act(
    state: &web::Data<Context>,
    req: &HttpRequest,
    id: Uuid,
    body: &[u8],
    action: Action,
) -> HttpResponse {
    let (user, _chrome, _form) = match signed_in_form(req, body).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let done = async {
        let event_id = {
            let mut conn = state.pool.get().await?;
            staff::for_staff(&mut conn, &user, id).await?.1.id
        };
        let code = match action {
            Action::Resend => {
                manage::resend(state, &user, id, ResendRequest::default()).await?;
                "resent"
            }
            Action::Revoke => {
                manage::revoke(state, &user, id).await?;
                "revoked"
            }
        };
        AppResult::Ok((event_id, code))
    };
    match done.await {
        Ok((event_id, code)) => see_other(&format!(
            "/manage/events/{event_id}/invitations?done={code}"
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
    act(&state, &req, *path, &body, Action::Revoke).await
}
