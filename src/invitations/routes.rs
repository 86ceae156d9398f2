//! Invitation routes: staff invite, list, resend and revoke; token holders read and answer.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::page::{Page, PageQuery, PageRequest};
use crate::error::{AppError, AppResult, Code, FieldError, Problem};
use crate::idempotency;
use crate::invitations::answer::{self, Answer};
use crate::invitations::model::*;
use crate::invitations::preview::{
    self, InvitationPreview, PreviewGroup, PreviewInvitee, PreviewOrganization, PreviewSession,
};
use crate::invitations::types::*;
use crate::invitations::{create, manage};
use crate::json::Json;

#[derive(OpenApi)]
#[openapi(
    paths(
        create_invitations,
        preview_invitations,
        list_invitations,
        my_invitations,
        invitation_by_token,
        respond,
        resend,
        add_sessions,
        revoke
    ),
    components(schemas(
        CreateInvitationsRequest,
        CreateInvitationsResponse,
        InvitationPreview,
        PreviewInvitee,
        PreviewOrganization,
        PreviewGroup,
        PreviewSession,
        InviteeRequest,
        AudienceRequest,
        SkippedInvitee,
        SkipReason,
        CreatedInvitation,
        InvitationStatus,
        InvitationView,
        InvitedEventView,
        OfferedSessionView,
        RespondRequest,
        RespondResponse,
        InvitationAnswer,
        InvitationItem,
        InvitationSessionItem,
        MyInvitationView,
        ResendRequest,
        AddSessionsRequest
    ))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_invitations)
        .service(preview_invitations)
        .service(list_invitations)
        .service(my_invitations)
        .service(invitation_by_token)
        .service(respond)
        .service(resend)
        .service(add_sessions)
        .service(revoke);
}

/// Invites many people at once to closed sessions of the event: by person, by email and name,
/// or by an audience (the people of active member organisations of given kinds and countries).
/// The whole request is validated first; people already invited to or registered for those
/// sessions, and repeats within the request, are skipped and reported. Each invitee gets one
/// email with a personal link and an `.ics` (METHOD:PUBLISH). Supports `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/events/{id}/invitations", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The event"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    request_body = CreateInvitationsRequest,
    responses((status = 201, body = CreateInvitationsResponse),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 413, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/invitations")]
async fn create_invitations(
    state: web::Data<Context>,
    req: HttpRequest,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<CreateInvitationsRequest>,
) -> AppResult<HttpResponse> {
    let event_id = path.into_inner();
    let body = body.into_inner();
    let fingerprint = idempotency::fingerprint(&body);
    idempotency::run(&state, &req, Some(user.account.id), fingerprint, || async {
        let created = create::create_invitations(&state, &user, event_id, body).await?;
        Ok((StatusCode::CREATED, created))
    })
    .await
}

/// A dry run of `POST /events/{id}/invitations` with the same body: who it would invite,
/// grouped by organisation kind and country, the organisations of the audience with nobody to
/// invite, and who would be skipped and why. Runs the same checks (422 listing every bad
/// field) and creates nothing, sends nothing.
#[utoipa::path(post, path = "/api/v1/events/{id}/invitations/preview", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The event")),
    request_body = CreateInvitationsRequest,
    responses((status = 200, body = InvitationPreview),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 413, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/invitations/preview")]
async fn preview_invitations(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<CreateInvitationsRequest>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let found = preview::preview(&mut conn, &user, path.into_inner(), &body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// The event's invitations, newest first, with their status, sessions, answer time and
/// reminders. Expiries that have passed show as `expired`.
#[utoipa::path(get, path = "/api/v1/events/{id}/invitations", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The event"), ListInvitationsQuery),
    responses((status = 200, body = Page<InvitationItem>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/events/{id}/invitations")]
async fn list_invitations(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    query: web::Query<ListInvitationsQuery>,
) -> AppResult<HttpResponse> {
    let page = manage::list(&state, &user, path.into_inner(), query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The caller's own invitations, newest first, with their status, event and sessions. Each is
/// answered through the personal link emailed with it. An account whose address is not verified
/// yet has none: 403 `email_unverified`.
#[utoipa::path(get, path = "/api/v1/me/invitations", tag = "invitations",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<MyInvitationView>),
              (status = 403, description = "address not verified (`email_unverified`)", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/me/invitations")]
async fn my_invitations(
    state: web::Data<Context>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::from_query(&query)?;
    let person = user.verified_person()?;
    let mut conn = state.pool.get().await?;
    let invitations = answer::list_mine(&mut conn, person.id, &page).await?;
    Ok(HttpResponse::Ok().json(invitations))
}

fn private(mut response: HttpResponse) -> HttpResponse {
    // Token-bearing answers must not sit in shared caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// What an invitation covers (event, sessions in local time, Chatham House rule, message,
/// status, expiry). Never acts. Unknown token: 404; expired or withdrawn: 410.
#[utoipa::path(get, path = "/api/v1/invitations/by-token/{token}", tag = "invitations",
    params(("token" = String, Path, description = "The token from the emailed link")),
    responses((status = 200, body = InvitationView),
              (status = 410, body = Problem, content_type = "application/problem+json",
               description = "`invitation_expired`, `invitation_revoked`, or `event_not_open` (the dialogue was cancelled or has ended)")))]
#[get("/invitations/by-token/{token}")]
async fn invitation_by_token(
    state: web::Data<Context>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = answer::view_by_token(&state, &path.into_inner()).await?;
    Ok(private(HttpResponse::Ok().json(view)))
}

/// Accepts (all sessions, or the `session_ids` chosen among those offered) or declines. Until
/// the invitation's deadline the answer may be changed from the same link, and the new one
/// replaces the old: `accept` holds seats in exactly the sessions chosen (seats in the others
/// are cancelled, their waitlists promoted, and the calendar told with METHOD:CANCEL);
/// `decline` gives up every seat. After the deadline: 409 `answer_final`. Concurrent answers
/// are taken one after another. Accepting registers the invitee (confirmed, or waitlisted
/// when a session is full).
#[utoipa::path(post, path = "/api/v1/invitations/by-token/{token}/respond", tag = "invitations",
    params(("token" = String, Path, description = "The token from the emailed link")),
    request_body = RespondRequest,
    responses((status = 200, body = RespondResponse),
              (status = 409, body = Problem, content_type = "application/problem+json",
               description = "`answer_final` (answered, and the deadline passed), or `session_full` when a chosen session is full without a waitlist"),
              (status = 410, body = Problem, content_type = "application/problem+json",
               description = "`invitation_expired`, `invitation_revoked`, or `event_not_open` (the dialogue was cancelled or has ended)"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/invitations/by-token/{token}/respond")]
async fn respond(
    state: web::Data<Context>,
    path: web::Path<String>,
    body: Json<RespondRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let answer = match body.response {
        InvitationAnswer::Accept => Answer::Accept(body.session_ids),
        InvitationAnswer::Decline => Answer::Decline,
    };
    let outcome = answer::respond(&state, &path.into_inner(), answer).await?;
    Ok(private(HttpResponse::Ok().json(RespondResponse {
        status: outcome.status,
        registrations: outcome.registrations.into_iter().map(|(_, r)| r).collect(),
    })))
}

/// An optional JSON body: empty means the defaults.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            AppError::Validation(vec![FieldError::new("body", e.to_string())])
        } else {
            AppError::bad_request(
                Code::MalformedJson,
                format!("the body is not valid JSON: {e}"),
            )
        }
    })
}

/// Sends the invitation again with a new link (the old one stops working: 404) and a new
/// reminder. Pending, expired or declined invitations (each becomes pending; give
/// `expires_at` when the old expiry has passed and the first session's start does not fit).
#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invitation")),
    request_body(content = Option<ResendRequest>, description = "Optional; an empty body keeps the expiry"),
    responses((status = 200, body = InvitationItem),
              (status = 409, body = Problem, content_type = "application/problem+json",
               description = "`invalid_transition`: accepted or revoked"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/invitations/{id}/resend")]
async fn resend(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let request: ResendRequest = optional_json(&body)?;
    let item = manage::resend(&state, &user, path.into_inner(), request).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// Offers more closed sessions of the event in this invitation (pending or accepted). The
/// invitation is mailed again with a new link (the old one stops working) and a calendar of
/// the sessions not answered yet; an accepted invitation keeps its seats, and the invitee
/// answers again (until the deadline, moved before the first added session when needed).
#[utoipa::path(post, path = "/api/v1/invitations/{id}/sessions", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invitation")),
    request_body = AddSessionsRequest,
    responses((status = 200, body = InvitationItem),
              (status = 409, body = Problem, content_type = "application/problem+json",
               description = "`invalid_transition`: expired, declined or revoked (resend it first); `event_not_open`"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/invitations/{id}/sessions")]
async fn add_sessions(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<AddSessionsRequest>,
) -> AppResult<HttpResponse> {
    let item = manage::add_sessions(&state, &user, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(item))
}

/// Withdraws the invitation: its link answers 410 `invitation_revoked`; an accepted
/// invitation's registrations are cancelled (the waitlist promotes); the invitee is emailed.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/revoke", tag = "invitations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invitation")),
    responses((status = 200, body = InvitationItem),
              (status = 409, body = Problem, content_type = "application/problem+json",
               description = "`invalid_transition`: already revoked")))]
#[post("/invitations/{id}/revoke")]
async fn revoke(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let item = manage::revoke(&state, &user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(item))
}
