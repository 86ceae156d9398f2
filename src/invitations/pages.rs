//! The page behind the emailed link, `/invitations/{token}`: GET shows what the invitation
//! covers and never acts (mail scanners follow links); the form POSTs the answer back to the
//! page's own address, so the token is never written into the HTML. Errors are friendly pages
//! with the right status (404 unknown link, 410 expired or withdrawn).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use uuid::Uuid;

use crate::context::Context;
use crate::error::{AppError, Code};
use crate::events::local_time::{format_local, zone};
use crate::events::model::EventFormat;
use crate::invitations::answer::{respond, view_by_token, Answer, AnswerOutcome};
use crate::invitations::emails::CHATHAM_HOUSE_RULE;
use crate::invitations::model::InvitationStatus;
use crate::invitations::types::InvitationView;
use crate::pages::{html, sentence, MessagePage};
use crate::registrations::model::RegistrationStatus;

pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(answer);
}

struct SessionRow {
    id: Uuid,
    title: String,
    local_time: String,
    description: Option<String>,
    chatham_house: bool,
    checked: bool,
    answer_label: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "invitations/invitation.html")]
struct InvitationPage<'a> {
    event_title: &'a str,
    invitee_name: &'a str,
    message: Option<&'a str>,
    venue: Option<String>,
    sessions: Vec<SessionRow>,
    chatham_house: bool,
    chatham_text: &'static str,
    expires_local: &'a str,
    answered: bool,
    /// Answered, and the deadline to change the answer is still ahead.
    changeable: bool,
    status_text: &'static str,
    answered_local: Option<String>,
    error: Option<String>,
    /// Whom to write to: (name, email).
    contact: Option<(&'a str, &'a str)>,
}

struct OutcomeRow {
    title: String,
    local_time: String,
    status: String,
}

#[derive(Template)]
#[template(path = "invitations/outcome.html")]
struct OutcomePage<'a> {
    heading: &'a str,
    accepted: bool,
    invitee_name: &'a str,
    event_title: &'a str,
    event_url: String,
    rows: Vec<OutcomeRow>,
}

/// A page saying why the answer could not be recorded, with whom to ask.
fn problem_page(status: StatusCode, heading: &str, detail: &str) -> HttpResponse {
    MessagePage::new(heading)
        .paragraph(detail)
        .paragraph(
            "If you think this is a mistake, or need to change your answer, please contact the \
             organisers of the dialogue.",
        )
        .respond(status)
}

/// The friendly page for an error of the service.
fn error_page(error: &AppError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(error);
    match error {
        AppError::Problem { code, detail, .. } => match *code {
            Code::NotFound => problem_page(
                status,
                "This invitation link is not valid",
                "The link may be incomplete, or a newer invitation email has replaced it: please \
                 use the link in the most recent email from the organisers.",
            ),
            Code::InvitationExpired => {
                problem_page(status, "This invitation has expired", &sentence(detail))
            }
            Code::InvitationRevoked => {
                problem_page(status, "This invitation was withdrawn", &sentence(detail))
            }
            Code::EventNotOpen => {
                problem_page(status, "This dialogue is no longer open", &sentence(detail))
            }
            Code::AnswerFinal => problem_page(
                status,
                "Your answer can no longer be changed",
                &sentence(detail),
            ),
            _ => problem_page(status, "We could not record your answer", &sentence(detail)),
        },
        AppError::Validation(errors) => {
            let detail = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            problem_page(
                status,
                "We could not record your answer",
                &sentence(&detail),
            )
        }
        AppError::Unavailable(_) => problem_page(
            status,
            "Please try again in a moment",
            "The service is busy right now. Nothing was recorded; please submit your answer again.",
        ),
        AppError::Internal(cause) => {
            tracing::error!(error = ?cause, "invitation page failed with an internal error");
            crate::pages::unavailable(status)
        }
    }
}

fn invitation_page(
    status: StatusCode,
    view: &InvitationView,
    checked: Option<&[Uuid]>,
    error: Option<String>,
) -> HttpResponse {
    let tz = zone(&view.event.timezone);
    let answered = matches!(
        view.status,
        InvitationStatus::Accepted | InvitationStatus::Declined
    );
    let sessions = view
        .sessions
        .iter()
        .map(|s| SessionRow {
            id: s.id,
            title: s.title.clone(),
            local_time: s.local_time.clone(),
            description: s.description.clone(),
            chatham_house: s.chatham_house,
            // The answer as it stands: what was declined is unticked, the rest ticked.
            checked: match checked {
                Some(ids) => ids.contains(&s.id),
                None => s.accepted != Some(false),
            },
            answer_label: match s.accepted {
                Some(true) => Some("You accepted this session."),
                Some(false) => Some("Not attending."),
                None => None,
            },
        })
        .collect();
    let venue = match (view.event.format, &view.event.venue) {
        (EventFormat::Online, _) => Some("Online".to_owned()),
        (EventFormat::Hybrid, Some(v)) => Some(format!("{v}, and online")),
        (_, Some(v)) => Some(v.clone()),
        _ => None,
    };
    let page = InvitationPage {
        event_title: &view.event.title,
        invitee_name: &view.invitee_name,
        message: view.message.as_deref(),
        venue,
        sessions,
        chatham_house: view.sessions.iter().any(|s| s.chatham_house),
        chatham_text: CHATHAM_HOUSE_RULE,
        expires_local: &view.expires_local,
        answered,
        changeable: answered && view.expires_at > chrono::Utc::now(),
        status_text: if view.status == InvitationStatus::Accepted {
            "accepted"
        } else {
            "declined"
        },
        answered_local: view.answered_at.map(|at| format_local(at, &tz)),
        error,
        contact: view
            .event
            .contact_name
            .as_deref()
            .zip(view.event.contact_email.as_deref()),
    };
    html(status, &page)
}

/// Shows the invitation with its sessions to tick, the Chatham House rule where it applies,
/// the organisers' message, and Accept / Decline. Changes nothing.
#[get("/invitations/{token}")]
async fn show(state: web::Data<Context>, path: web::Path<String>) -> HttpResponse {
    let token = path.into_inner();
    match view_by_token(&state, &token).await {
        Ok(view) => invitation_page(StatusCode::OK, &view, None, None),
        Err(e) => error_page(&e),
    }
}

/// The form's fields: `response` (accept or decline) and the ticked `session_ids`.
struct AnswerForm {
    response: Option<String>,
    session_ids: Vec<Uuid>,
    unreadable: bool,
}

fn parse_form(body: &[u8]) -> AnswerForm {
    let mut form = AnswerForm {
        response: None,
        session_ids: Vec::new(),
        unreadable: false,
    };
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "response" => form.response = Some(value.into_owned()),
            "session_ids" => match value.parse() {
                Ok(id) => form.session_ids.push(id),
                Err(_) => form.unreadable = true,
            },
            _ => {}
        }
    }
    form
}

/// Records the answer of the form and shows the outcome.
#[post("/invitations/{token}")]
async fn answer(
    state: web::Data<Context>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let token = path.into_inner();
    let form = parse_form(&body);
    let answer = match form.response.as_deref() {
        Some("decline") => Answer::Decline,
        Some("accept") if form.session_ids.is_empty() || form.unreadable => {
            return redisplay(
                &state,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session_ids,
                "Tick at least one session to accept, or decline the invitation.".to_owned(),
            )
            .await;
        }
        Some("accept") => Answer::Accept(Some(form.session_ids.clone())),
        _ => {
            return problem_page(
                StatusCode::BAD_REQUEST,
                "Please choose Accept or Decline",
                "The form did not say whether you accept or decline. Go back and press one of \
                 the two buttons.",
            )
        }
    };
    match respond(&state, &token, answer).await {
        Ok(outcome) => outcome_page(outcome),
        Err(e @ AppError::Validation(_)) => {
            let message = match &e {
                AppError::Validation(errors) => errors
                    .iter()
                    .map(|f| sentence(&f.message))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            redisplay(
                &state,
                &token,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form.session_ids,
                message,
            )
            .await
        }
        Err(AppError::Problem {
            code: Code::SessionFull,
            ..
        }) => {
            redisplay(
                &state,
                &token,
                StatusCode::CONFLICT,
                &form.session_ids,
                "A session you chose is full and has no waitlist. Untick it to accept the others, \
                 or decline."
                    .to_owned(),
            )
            .await
        }
        Err(e) => error_page(&e),
    }
}

async fn redisplay(
    state: &web::Data<Context>,
    token: &str,
    status: StatusCode,
    checked: &[Uuid],
    error: String,
) -> HttpResponse {
    match view_by_token(state, token).await {
        Ok(view) => invitation_page(status, &view, Some(checked), Some(error)),
        Err(e) => error_page(&e),
    }
}

fn outcome_page(outcome: AnswerOutcome) -> HttpResponse {
    let tz = outcome.event.zone();
    let accepted = outcome.status == InvitationStatus::Accepted;
    let rows = outcome
        .registrations
        .iter()
        .map(|(session, r)| OutcomeRow {
            title: session.title.clone(),
            local_time: crate::events::local_time::format_range(
                session.starts_at,
                session.ends_at,
                &tz,
            ),
            status: match (r.status, r.waitlist_position) {
                (RegistrationStatus::Confirmed, _) => "Registered".to_owned(),
                (RegistrationStatus::Waitlisted, Some(n)) => {
                    format!("The session is full: you are number {n} on its waitlist")
                }
                (RegistrationStatus::Waitlisted, None) => {
                    "The session is full: you are on its waitlist".to_owned()
                }
                (other, _) => sentence(&other.to_string().replace('_', " "))
                    .trim_end_matches('.')
                    .to_owned(),
            },
        })
        .collect();
    let page = OutcomePage {
        heading: if accepted {
            "You're registered"
        } else {
            "You declined the invitation"
        },
        accepted,
        invitee_name: &outcome.invitee_name,
        event_title: &outcome.event.title,
        event_url: format!("/events/{}", outcome.event.slug),
        rows,
    };
    html(StatusCode::OK, &page)
}
