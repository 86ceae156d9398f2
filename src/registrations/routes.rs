use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser};
use crate::context::Context;
use crate::db::page::Page;
use crate::error::{AppError, AppResult, Problem};
use crate::idempotency;
use crate::json::Json;
use crate::mail::MailQuota;
use crate::registrations::lists::{self, ListParams};
use crate::registrations::model::{
    EventReport, InvitationFunnel, MyRegistrationView, PendingView, Registration,
    RegistrationRequest, RegistrationStatus, RegistrationView, SessionReport,
    StaffRegistrationView, StatusCounts,
};
use crate::registrations::sign_up::{self, RegisterOutcome, RegistrationInput};
use crate::registrations::staff;
use crate::registrations::{cancellation, confirmation};

#[derive(OpenApi)]
#[openapi(
    paths(
        register,
        confirm,
        cancel_registration,
        approve,
        reject,
        check_in,
        undo_check_in,
        session_registrations,
        my_registrations,
        event_report
    ),
    components(schemas(
        RegistrationRequest,
        RegistrationView,
        PendingView,
        RegistrationStatus,
        ConfirmRequest,
        StaffRegistrationView,
        MyRegistrationView,
        EventReport,
        SessionReport,
        StatusCounts,
        InvitationFunnel
    ))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(register)
        .service(confirm)
        .service(cancel_registration)
        .service(approve)
        .service(reject)
        .service(check_in)
        .service(undo_check_in)
        .service(session_registrations)
        .service(my_registrations)
        .service(event_report);
}

/// Registers for a public session. A verified account registering itself is confirmed,
/// waitlisted or queued for approval at once: 201 for a new registration, 200 when it already
/// had a live one (answered as it is). Everyone else (anonymous callers, unverified accounts,
/// anyone registering another address) gets the same 202 `{"status": "pending_confirmation"}`
/// whether or not the address was registered already, so the answer tells nobody who is; the
/// email to the address says what applies (a confirmation link, or where its registration
/// stands).
/// Emails to an address are limited per hour (`limits.emails_per_recipient_per_hour`: beyond,
/// the answer is the same and no email goes); such requests from one client too
/// (`limits.anonymous_emails_per_client_per_hour`: beyond, 429 with Retry-After).
#[utoipa::path(post, path = "/api/v1/sessions/{id}/registrations", tag = "registrations",
    params(("id" = Uuid, Path, description = "the session"),
           ("Idempotency-Key" = Option<String>, Header,
            description = "makes retries safe: the same key and body answer the first response")),
    request_body = RegistrationRequest,
    responses((status = 201, description = "registered (a verified account registering itself)", body = RegistrationView),
              (status = 200, description = "already registered: the existing registration (a verified account registering itself)", body = RegistrationView),
              (status = 202, description = "check your email (anyone else)", body = PendingView),
              (status = 403, description = "closed session (`invitation_required`)", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "event not open, registration window, session ended or full", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json"),
              (status = 429, description = "this client asked for too much email this hour", body = Problem, content_type = "application/problem+json")))]
#[post("/sessions/{id}/registrations")]
async fn register(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    caller: MaybeUser,
    quota: MailQuota,
    body: Json<RegistrationRequest>,
) -> AppResult<HttpResponse> {
    let session_id = path.into_inner();
    let body = body.into_inner();
    let caller = caller.0;
    let fingerprint = idempotency::fingerprint(&body);
    idempotency::run(
        &state,
        &req,
        caller.as_ref().map(|u| u.account.id),
        fingerprint,
        || async {
            let input = RegistrationInput::parse(&body, caller.as_ref())?;
            let outcome =
                sign_up::register(&state, session_id, caller.as_ref(), input, &quota).await?;
            Ok(match outcome {
                RegisterOutcome::Registered {
                    registration,
                    created,
                } => {
                    let status = if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    (
                        status,
                        serde_json::to_value(registration).map_err(AppError::internal)?,
                    )
                }
                RegisterOutcome::CheckEmail => (
                    StatusCode::ACCEPTED,
                    serde_json::to_value(PendingView::default()).map_err(AppError::internal)?,
                ),
            })
        },
    )
    .await
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ConfirmRequest {
    /// The token from the emailed link.
    pub token: String,
}

/// Confirms a registrant's email address with the emailed token (single-use) and, in the same
/// transaction, takes a seat, a waitlist place, or a place in the approval queue.
#[utoipa::path(post, path = "/api/v1/registrations/confirm", tag = "registrations",
    params(("Idempotency-Key" = Option<String>, Header,
            description = "makes retries safe: the same key and body answer the first response")),
    request_body = ConfirmRequest,
    responses((status = 200, body = RegistrationView),
              (status = 404, description = "unknown or used token (`invalid_token`)", body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 410, description = "expired token (`token_expired`)", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/registrations/confirm")]
async fn confirm(
    state: web::Data<Context>,
    req: HttpRequest,
    body: Json<ConfirmRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let fingerprint = idempotency::fingerprint(&body);
    idempotency::run(&state, &req, None, fingerprint, || async {
        let view = confirmation::confirm(&state, &body.token).await?;
        Ok((StatusCode::OK, view))
    })
    .await
}

/// Cancels a registration: by its registrant or the event's staff. A freed seat goes to the
/// first on the waitlist in the same transaction; everyone concerned is emailed.
#[utoipa::path(delete, path = "/api/v1/registrations/{id}", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the registration")),
    responses((status = 200, description = "cancelled", body = RegistrationView),
              (status = 409, description = "already cancelled or rejected, or the session is over", body = Problem, content_type = "application/problem+json")))]
#[delete("/registrations/{id}")]
async fn cancel_registration(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let view = cancellation::cancel_for(&state, &user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Approves a registration awaiting approval: it takes a seat or a waitlist place.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/approve", tag = "registrations", operation_id = "approve_registration",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the registration")),
    responses((status = 200, body = StaffRegistrationView),
              (status = 409, description = "not pending approval (`invalid_transition`) or full without waitlist", body = Problem, content_type = "application/problem+json")))]
#[post("/registrations/{id}/approve")]
async fn approve(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let registration = staff::approve(&state, &user, path.into_inner()).await?;
    staff_answer(&state, registration).await
}

/// Rejects a registration awaiting approval; the registrant is told.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/reject", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the registration")),
    responses((status = 200, body = StaffRegistrationView),
              (status = 409, description = "not pending approval (`invalid_transition`)", body = Problem, content_type = "application/problem+json")))]
#[post("/registrations/{id}/reject")]
async fn reject(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let registration = staff::reject(&state, &user, path.into_inner()).await?;
    staff_answer(&state, registration).await
}

/// The staff view of a registration just decided on.
async fn staff_answer(state: &Context, registration: Registration) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(lists::staff_item(&mut conn, &registration).await?))
}

/// Records that a confirmed registrant came. Idempotent: checking in twice answers the first
/// time.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/check-in", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the registration")),
    responses((status = 200, body = StaffRegistrationView),
              (status = 409, description = "not confirmed (`not_confirmed`)", body = Problem, content_type = "application/problem+json")))]
#[post("/registrations/{id}/check-in")]
async fn check_in(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let registration = staff::check_in(&mut conn, &user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(lists::staff_item(&mut conn, &registration).await?))
}

/// Undoes a check-in (the wrong name was tapped). Idempotent.
#[utoipa::path(post, path = "/api/v1/registrations/{id}/check-in/undo", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the registration")),
    responses((status = 200, body = StaffRegistrationView)))]
#[post("/registrations/{id}/check-in/undo")]
async fn undo_check_in(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let registration = staff::undo_check_in(&mut conn, &user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(lists::staff_item(&mut conn, &registration).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only these statuses (comma-separated), e.g. `confirmed,waitlisted`.
    pub status: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped). Ignored for CSV.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))
}

/// A CSV file to save: the console's downloads and the API's `Accept: text/csv` answer.
pub fn csv_download(filename: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A session's registrations, for the event's staff: JSON pages, or with `Accept: text/csv`
/// every matching row as a CSV file that opens in Excel (UTF-8 with a byte order mark;
/// `registration_id,session,name,email,organization,organization_kind,country,status,
/// waitlist_position,registered_at,checked_in_at`, times in the event's zone).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/registrations", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the session"), ListQuery),
    responses((status = 200, description = "one page, or all rows as CSV", content(
                  (Page<StaffRegistrationView> = "application/json"),
                  (String = "text/csv"))),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/sessions/{id}/registrations")]
async fn session_registrations(
    state: web::Data<Context>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let session_id = path.into_inner();
    let mut conn = state.pool.get().await?;
    let ctx = staff::session_for_staff(&mut conn, &user, session_id).await?;
    let params = ListParams::parse(
        query.status.as_deref(),
        query.limit,
        query.cursor.as_deref(),
    )?;
    if wants_csv(&req) {
        let body = lists::registrations_csv(
            &mut conn,
            &ctx.event,
            std::slice::from_ref(&ctx.session),
            &params.statuses,
        )
        .await?;
        return Ok(csv_download(
            &format!("registrations-{session_id}.csv"),
            body,
        ));
    }
    Ok(HttpResponse::Ok().json(lists::staff_page(&mut conn, session_id, &params).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyListQuery {
    /// Only these statuses (comma-separated).
    pub status: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's own registrations, by session start, with the session and event they are for.
/// An account whose address is not verified yet has none: 403 `email_unverified`.
#[utoipa::path(get, path = "/api/v1/me/registrations", tag = "registrations",
    security(("bearer" = [])),
    params(MyListQuery),
    responses((status = 200, body = Page<MyRegistrationView>),
              (status = 403, description = "address not verified (`email_unverified`)", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/me/registrations")]
async fn my_registrations(
    state: web::Data<Context>,
    query: web::Query<MyListQuery>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let params = ListParams::parse(
        query.status.as_deref(),
        query.limit,
        query.cursor.as_deref(),
    )?;
    let person = user.verified_person()?;
    let mut conn = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(lists::my_page(&mut conn, person.id, &params).await?))
}

/// The event's stakeholder balance, for its staff: per session the registrations by status,
/// the confirmed by organisation kind and by country, attendance; and the invitation funnel.
#[utoipa::path(get, path = "/api/v1/events/{id}/report", tag = "registrations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the event")),
    responses((status = 200, body = EventReport)))]
#[get("/events/{id}/report")]
async fn event_report(
    state: web::Data<Context>,
    path: web::Path<Uuid>,
    user: AuthUser,
) -> AppResult<HttpResponse> {
    let event_id = path.into_inner();
    let mut conn = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(staff::event_report(&mut conn, &user, event_id).await?))
}
