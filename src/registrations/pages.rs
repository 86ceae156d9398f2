//! The registration pages: the event page's form target, and the pages behind the emailed
//! confirmation and cancellation links. They work without JavaScript, never act on GET
//! (rule 8: mail scanners follow links), and answer errors as friendly HTML pages.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{csrf, MaybeUser};
use crate::context::Context;
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::mail::MailQuota;
use crate::pages::dialogues::Seats;
use crate::pages::{html, sentence, Members, MessagePage, RegisterFields, Summary};
use crate::registrations::model::{
    RegistrationRequest, RegistrationStatus, RegistrationView, SessionContext,
};
use crate::registrations::seats;
use crate::registrations::service;
use crate::registrations::sign_up::{self, RegisterOutcome, RegistrationInput};
use crate::registrations::{cancellation, confirmation};

/// Mounted at the site root by `crate::pages::routes`.
pub fn page_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(register_form)
        .service(register_submit)
        .service(confirm_page)
        .service(confirm_submit)
        .service(cancel_page)
        .service(cancel_submit);
}

/// What the pages show of a session: its title, its event, its time in the event's zone.
fn summary(ctx: &SessionContext) -> Summary {
    Summary {
        title: ctx.session.title.clone(),
        lines: vec![ctx.event.title.clone(), ctx.local_time()],
    }
}

/// A message about a session, with a link back to its event.
fn message(heading: impl Into<String>, ctx: Option<&SessionContext>) -> MessagePage {
    let page = MessagePage::new(heading).summary(ctx.map(summary));
    match ctx {
        Some(ctx) => page.link(format!("/events/{}", ctx.event.slug), "Back to the event"),
        None => page,
    }
}

#[derive(Template)]
#[template(path = "registrations/form.html")]
struct FormPage {
    summary: Summary,
    /// "Register", or "Full — join the waitlist" before the visitor types anything.
    heading: &'static str,
    form: RegisterFields,
}

#[derive(Template)]
#[template(path = "registrations/confirm.html")]
struct ConfirmPage {
    summary: Summary,
    name: String,
    email: String,
    token: String,
}

#[derive(Template)]
#[template(path = "registrations/cancel.html")]
struct CancelPage {
    summary: Summary,
    id: Uuid,
    name: String,
    status_label: &'static str,
    token: String,
}

/// An error as a page a person can read; the status is the API's.
fn error_page(err: &AppError, ctx: Option<&SessionContext>) -> HttpResponse {
    err.log_cause();
    let status = err.status_code();
    let detail = err.to_problem().detail;
    let (heading, paragraphs): (&str, Vec<String>) = match err.code() {
        Code::InvalidToken => (
            "This link is not valid",
            vec![
                "It may have been used already, replaced by a newer email, or copied incompletely.".to_owned(),
                "If you received several emails about this registration, use the link in the most recent one.".to_owned(),
            ],
        ),
        Code::TokenExpired => (
            "This link has expired",
            vec!["Confirmation links are valid for 48 hours. Please register again to receive a new one.".to_owned()],
        ),
        Code::AlreadyCancelled => (
            "Already cancelled",
            vec![format!("Nothing to do: {detail}.")],
        ),
        Code::InvalidCsrfToken => (
            "This form has expired",
            vec!["Please go back, reload the page and submit the form again.".to_owned()],
        ),
        Code::InvitationRequired => (
            "This session is by invitation only",
            vec!["Only invited participants can take part in this session.".to_owned()],
        ),
        Code::SessionFull => (
            "This session is full",
            vec!["There are no seats left and the session has no waitlist.".to_owned()],
        ),
        Code::RegistrationClosed | Code::RegistrationNotOpen | Code::EventNotOpen | Code::SessionEnded => {
            ("Registration is not open", vec![sentence(&detail)])
        }
        Code::NotFound => return crate::pages::not_found("There is no such page."),
        _ if status.is_server_error() => return crate::pages::unavailable(status),
        _ => ("Your request could not be completed", vec![sentence(&detail)]),
    };
    message(heading, ctx).paragraphs(paragraphs).respond(status)
}

/// The session behind a form URL; 404 when the slug is not its event's.
async fn session_for_slug(
    state: &web::Data<Context>,
    slug: &str,
    session_id: Uuid,
) -> AppResult<SessionContext> {
    let mut conn = state.pool.get().await?;
    let ctx = service::session_context(&mut conn, session_id).await?;
    if ctx.event.slug != slug {
        return Err(AppError::not_found("session"));
    }
    Ok(ctx)
}

#[derive(Debug, Default, Deserialize)]
struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organization_id: String,
    #[serde(default)]
    organization_name: String,
    #[serde(default)]
    organization_kind: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    csrf_token: String,
}

/// What a form offers besides its fields: the members to pick from, and whether a registration
/// now lands on the waitlist.
struct FormFacts {
    members: Members,
    seats: Seats,
}

async fn form_facts(state: &web::Data<Context>, ctx: &SessionContext) -> AppResult<FormFacts> {
    let mut conn = state.pool.get().await?;
    let confirmed = seats::confirmed_count(&mut conn, ctx.session.id).await?;
    Ok(FormFacts {
        members: crate::pages::members(&mut conn).await?,
        seats: Seats::counted(ctx.session.capacity, ctx.session.waitlist, confirmed),
    })
}

fn form_page(
    ctx: &SessionContext,
    facts: FormFacts,
    form: RegisterForm,
    errors: Vec<FieldError>,
    logged_in_as: Option<String>,
    req: &HttpRequest,
) -> FormPage {
    let action = format!(
        "/events/{}/sessions/{}/register",
        ctx.event.slug, ctx.session.id
    );
    let full = facts.seats == Seats::FullWithWaitlist;
    FormPage {
        summary: summary(ctx),
        heading: if full {
            "Full — join the waitlist"
        } else {
            "Register"
        },
        form: RegisterFields {
            email: form.email,
            name: form.name,
            organization_id: form.organization_id,
            organization_name: form.organization_name,
            organization_kind: form.organization_kind,
            country: form.country,
            full,
            errors,
            logged_in_as,
            csrf_token: csrf::form_token(req),
            ..RegisterFields::new(action, String::new(), facts.members)
        },
    }
}

/// The form's organisation: a member picked from the directory, or one typed with its kind;
/// not both.
fn organization_of(form: &RegisterForm) -> Result<Option<Uuid>, AppError> {
    let picked = form.organization_id.trim();
    if picked.is_empty() {
        return Ok(None);
    }
    if !form.organization_name.trim().is_empty() || !form.organization_kind.trim().is_empty() {
        return Err(AppError::invalid(
            "organization_id",
            "pick a member organisation or type another one, not both",
        ));
    }
    Uuid::parse_str(picked).map(Some).map_err(|_| {
        AppError::invalid("organization_id", "no such organisation in the partnership")
    })
}

/// A stand-alone registration form for one public session (the event page embeds the same
/// form). Shows only; the POST registers.
#[get("/events/{slug}/sessions/{session_id}/register")]
async fn register_form(
    state: web::Data<Context>,
    path: web::Path<(String, Uuid)>,
    caller: MaybeUser,
    req: HttpRequest,
) -> HttpResponse {
    let (slug, session_id) = path.into_inner();
    let ctx = match session_for_slug(&state, &slug, session_id).await {
        Ok(ctx) => ctx,
        Err(e) => return error_page(&e, None),
    };
    let open = async {
        let mut conn = state.pool.get().await?;
        sign_up::check_open_for_public(&mut conn, &ctx, caller.0.as_ref(), chrono::Utc::now()).await
    };
    if let Err(e) = open.await {
        let ctx = (!e.status_code().eq(&StatusCode::NOT_FOUND)).then_some(&ctx);
        return error_page(&e, ctx);
    }
    let facts = match form_facts(&state, &ctx).await {
        Ok(facts) => facts,
        Err(e) => return error_page(&e, Some(&ctx)),
    };
    // Full without a waitlist: said now, not after the visitor has filled the form in.
    if facts.seats == Seats::Full {
        return error_page(&service::session_full(), Some(&ctx));
    }
    let who = caller.0.map(|u| u.email().to_owned());
    html(
        StatusCode::OK,
        &form_page(&ctx, facts, RegisterForm::default(), Vec::new(), who, &req),
    )
}

/// The event page's registration form: registers and shows where the registration stands.
#[post("/events/{slug}/sessions/{session_id}/register")]
async fn register_submit(
    state: web::Data<Context>,
    path: web::Path<(String, Uuid)>,
    caller: MaybeUser,
    quota: MailQuota,
    form: web::Form<RegisterForm>,
    req: HttpRequest,
) -> HttpResponse {
    let (slug, session_id) = path.into_inner();
    let form = form.into_inner();
    let ctx = match session_for_slug(&state, &slug, session_id).await {
        Ok(ctx) => ctx,
        Err(e) => return error_page(&e, None),
    };
    // The form acts as whoever the session cookie names: only when it came from our page.
    if let Err(e) = csrf::check_form(&req, &form.csrf_token) {
        return error_page(&e, Some(&ctx));
    }
    let caller = caller.0;
    let optional = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
    let organization_id = organization_of(&form);
    let request = RegistrationRequest {
        email: optional(&form.email),
        name: optional(&form.name),
        organization_id: organization_id.as_ref().ok().copied().flatten(),
        organization_name: optional(&form.organization_name),
        organization_kind: optional(&form.organization_kind),
        country: optional(&form.country),
    };
    let outcome = match (
        organization_id,
        RegistrationInput::parse(&request, caller.as_ref()),
    ) {
        (Ok(_), Ok(input)) => {
            sign_up::register(&state, session_id, caller.as_ref(), input, &quota).await
        }
        (Err(AppError::Validation(mut picked)), Err(AppError::Validation(rest))) => {
            picked.extend(rest);
            Err(AppError::Validation(picked))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match outcome {
        Ok(outcome) => {
            let email = request
                .email
                .clone()
                .or_else(|| caller.as_ref().map(|u| u.email().to_owned()))
                .unwrap_or_default();
            registered_page(&ctx, &outcome, &email)
        }
        Err(AppError::Validation(errors)) => {
            let facts = match form_facts(&state, &ctx).await {
                Ok(facts) => facts,
                Err(e) => return error_page(&e, Some(&ctx)),
            };
            let who = caller.map(|u| u.email().to_owned());
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&ctx, facts, form, errors, who, &req),
            )
        }
        Err(e) => {
            let ctx = (e.status_code() != StatusCode::NOT_FOUND).then_some(&ctx);
            error_page(&e, ctx)
        }
    }
}

fn registered_page(ctx: &SessionContext, outcome: &RegisterOutcome, email: &str) -> HttpResponse {
    let (r, created) = match outcome {
        RegisterOutcome::Registered {
            registration,
            created,
        } => (registration, *created),
        // The same page whether or not the address was registered already: the email says
        // which (rule 5).
        RegisterOutcome::CheckEmail => {
            return message("Check your email", Some(ctx))
                .paragraph(format!(
                    "We have sent a message to {email} about this registration. If it asks you to confirm, open its link within {} hours to complete your registration.",
                    sign_up::CONFIRM_TOKEN_TTL_HOURS
                ))
                .paragraph("If it does not arrive in a few minutes, check your spam folder.")
                .respond(StatusCode::OK)
        }
    };
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut paragraphs = Vec::new();
    if !created {
        paragraphs.push(
            "You had already registered for this session; here is where your registration stands."
                .to_owned(),
        );
    }
    outcome_page(ctx, r, paragraphs, status)
}

/// Where a registration stands, as a page.
fn outcome_page(
    ctx: &SessionContext,
    r: &RegistrationView,
    mut paragraphs: Vec<String>,
    status: StatusCode,
) -> HttpResponse {
    let heading = match r.status {
        RegistrationStatus::Confirmed => {
            paragraphs.push(
                "Your seat is confirmed. We have emailed you the details and a calendar entry."
                    .to_owned(),
            );
            "You're registered".to_owned()
        }
        RegistrationStatus::Waitlisted => {
            let position = r.waitlist_position.unwrap_or(1);
            paragraphs.push("The session is full. If a seat becomes free it goes to the first person on the waitlist, and we will email you at once.".to_owned());
            format!("You're on the waitlist (position {position})")
        }
        RegistrationStatus::PendingApproval => {
            paragraphs.push("The organisers review registrations for this session. We will email you when they have decided.".to_owned());
            "Your registration is awaiting approval".to_owned()
        }
        RegistrationStatus::PendingConfirmation => {
            paragraphs
                .push("Please open the link we emailed you to confirm your address.".to_owned());
            "Check your email".to_owned()
        }
        RegistrationStatus::Cancelled => {
            paragraphs.push(
                "Thank you for letting us know. We have emailed you a confirmation.".to_owned(),
            );
            "Your registration is cancelled".to_owned()
        }
        RegistrationStatus::Rejected => "Your registration was not accepted".to_owned(),
    };
    message(heading, Some(ctx))
        .paragraphs(paragraphs)
        .respond(status)
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Shows what an emailed confirmation link will confirm; the button POSTs.
#[get("/registrations/confirm")]
async fn confirm_page(state: web::Data<Context>, query: web::Query<TokenQuery>) -> HttpResponse {
    let shown = async {
        let mut conn = state.pool.get().await?;
        confirmation::peek_confirmation(&mut conn, &query.token).await
    };
    match shown.await {
        Ok((_, ctx, person)) => html(
            StatusCode::OK,
            &ConfirmPage {
                summary: summary(&ctx),
                name: person.name,
                email: person.email,
                token: query.token.trim().to_owned(),
            },
        ),
        Err(e) => error_page(&e, None),
    }
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    token: String,
}

/// Confirms (the button of the confirmation page) and shows the outcome.
#[post("/registrations/confirm")]
async fn confirm_submit(state: web::Data<Context>, form: web::Form<TokenForm>) -> HttpResponse {
    // Look first, so the outcome page can name the session.
    let ctx = async {
        let mut conn = state.pool.get().await?;
        confirmation::peek_confirmation(&mut conn, &form.token).await
    };
    let ctx = match ctx.await {
        Ok((_, ctx, _)) => ctx,
        Err(e) => return error_page(&e, None),
    };
    match confirmation::confirm(&state, &form.token).await {
        Ok(view) => outcome_page(&ctx, &view, Vec::new(), StatusCode::OK),
        Err(e) => error_page(&e, Some(&ctx)),
    }
}

fn status_label(status: RegistrationStatus) -> &'static str {
    match status {
        RegistrationStatus::Confirmed => "you hold a seat",
        RegistrationStatus::Waitlisted => "you are on the waitlist",
        RegistrationStatus::PendingApproval => "awaiting approval",
        RegistrationStatus::PendingConfirmation => "not yet confirmed",
        RegistrationStatus::Cancelled => "cancelled",
        RegistrationStatus::Rejected => "not accepted",
    }
}

/// Shows what an emailed cancel link will cancel; the button POSTs.
#[get("/registrations/{id}/cancel")]
async fn cancel_page(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    query: web::Query<TokenQuery>,
) -> HttpResponse {
    let id = path.into_inner();
    let shown = async {
        let mut conn = state.pool.get().await?;
        cancellation::peek_cancellation(&mut conn, id, &query.token).await
    };
    match shown.await {
        Ok((r, ctx, _)) if !r.status.is_live() => error_page(
            &AppError::gone(
                Code::AlreadyCancelled,
                format!("this registration is already {}", r.status),
            ),
            Some(&ctx),
        ),
        Ok((r, ctx, person)) => html(
            StatusCode::OK,
            &CancelPage {
                summary: summary(&ctx),
                id: r.id,
                name: person.name,
                status_label: status_label(r.status),
                token: query.token.trim().to_owned(),
            },
        ),
        Err(e) => error_page(&e, None),
    }
}

/// Cancels (the button of the cancel page) and shows the outcome.
#[post("/registrations/{id}/cancel")]
async fn cancel_submit(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    let id = path.into_inner();
    let ctx = async {
        let mut conn = state.pool.get().await?;
        cancellation::peek_cancellation(&mut conn, id, &form.token).await
    };
    let ctx = match ctx.await {
        Ok((_, ctx, _)) => ctx,
        Err(e) => return error_page(&e, None),
    };
    match cancellation::cancel_with_token(&state, id, &form.token).await {
        Ok(view) => outcome_page(&ctx, &view, Vec::new(), StatusCode::OK),
        Err(e) => error_page(&e, Some(&ctx)),
    }
}
