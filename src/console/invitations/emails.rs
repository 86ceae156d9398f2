//! Email status of a dialogue (`/manage/events/{id}/emails`): every message with its state, and
//! a failed one retried (`/manage/emails/{id}/retry`) after correcting the address.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{status_choices, TableQuery};
use crate::auth::AuthUser;
use crate::console::dialogues::StatusChoice;
use crate::console::{error_page, see_other, signed_in, signed_in_form, words, Chrome, Errors};
use crate::context::Context;
use crate::error::{AppError, AppResult};
use crate::events::access::event_facts;
use crate::events::local_time::format_local;
use crate::invitations::lookup::event_for_staff;
use crate::mail::outbox::{Email, EmailStatus};
use crate::mail::retry::{self, RetryPlan};
use crate::mail::service as mail_service;
use crate::pages::{html, sentence};

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
pub(super) async fn emails_page(
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
        let mut conn = state.pool.get().await?;
        let event = event_for_staff(&mut conn, &user, event_id).await?;
        let (filter, page) = mail_service::parse_list_query(
            Some(&query.status),
            Some(100),
            (!query.cursor.is_empty()).then_some(query.cursor.as_str()),
        )?;
        let found = mail_service::list_for_event(&mut conn, event_id, filter, &page).await?;
        AppResult::Ok((event, found))
    };
    let (event, found) = match page.await {
        Ok(found) => found,
        Err(e) => return error_page(e),
    };
    let zone = event.zone();
    let next = found
        .next_cursor
        .as_ref()
        .map(|c| query.next(event.id, "emails", c));
    html(
        StatusCode::OK,
        &EmailsPage {
            chrome,
            done: query.done,
            event_id: event.id,
            event_title: event.title.clone(),
            zone: event.timezone.clone(),
            statuses: status_choices(EmailStatus::ALL.iter().map(|s| s.as_str())),
            rows: found.items.iter().map(|e| EmailRow::of(e, &zone)).collect(),
            next,
            status: query.status,
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
pub(super) async fn retry_page(
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
pub(super) async fn retry_post(
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
                errors.add("email", sentence(&format!("the address {}", e.message)));
            }
            match retry_page_of(&state, &user, chrome, *path, Some(address), errors).await {
                Ok(page) => html(StatusCode::UNPROCESSABLE_ENTITY, &page),
                Err(e) => error_page(e),
            }
        }
        Err(e) => error_page(e),
    }
}
