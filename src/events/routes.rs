//! HTTP handlers for series, events, sessions, speakers, partners, staff, outcomes and the
//! calendar feed. Each parses, authorises (extractor + per-event staff check), calls the
//! service and shapes the response.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

use crate::auth::{AuthUser, MaybeUser, Organizer};
use crate::context::Context;
use crate::db::page::{Page, PageQuery, PageRequest};
use crate::error::{AppResult, Problem};
use crate::events::lifecycle::{self, Transition};
use crate::events::listing::{self, EventFilter};
use crate::events::model::*;
use crate::events::public_views::{Rendered, ViewKind};
use crate::events::types::{
    EventPatch, EventRequest, EventView, OutcomeRequest, OutcomeView, PartnerRequest, PartnerView,
    SeriesRequest, SeriesView, SessionPatch, SessionRequest, SessionView, SpeakerMove,
    SpeakerRequest, SpeakerView, StaffRequest, StaffView,
};
use crate::events::{access, editing, outcomes, partners, series, sessions, staff, views};
use crate::json::Json;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_series,
        create_series,
        list_events,
        create_event,
        get_event,
        update_event,
        publish_event,
        cancel_event,
        complete_event,
        set_partners,
        add_staff,
        remove_staff,
        create_session,
        update_session,
        delete_session,
        add_speaker,
        delete_speaker,
        move_speaker,
        create_outcome,
        list_outcomes,
        publish_outcome,
        unpublish_outcome,
        edit_outcome,
        delete_outcome,
        calendar
    ),
    components(schemas(
        EventStatus,
        EventFormat,
        SessionAccess,
        PartnerRole,
        SpeakerRole,
        SeriesView,
        SeriesRequest,
        EventView,
        EventRequest,
        EventPatch,
        PartnerView,
        PartnerRequest,
        StaffView,
        StaffRequest,
        SessionView,
        SessionRequest,
        SessionPatch,
        SpeakerView,
        SpeakerRequest,
        SpeakerMove,
        OutcomeView,
        OutcomeRequest,
        outcomes::OutcomeEdit
    ))
)]
pub struct Api;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_series)
        .service(create_series)
        .service(list_events)
        .service(create_event)
        .service(calendar)
        .service(get_event)
        .service(update_event)
        .service(publish_event)
        .service(cancel_event)
        .service(complete_event)
        .service(set_partners)
        .service(add_staff)
        .service(remove_staff)
        .service(create_session)
        .service(update_session)
        .service(delete_session)
        .service(add_speaker)
        .service(delete_speaker)
        .service(move_speaker)
        .service(create_outcome)
        .service(list_outcomes)
        .service(publish_outcome)
        .service(unpublish_outcome)
        .service(edit_outcome)
        .service(delete_outcome);
}

// --- Series ---------------------------------------------------------------------------------

/// Lists the dialogue series, by name.
#[utoipa::path(get, path = "/api/v1/series", tag = "dialogues", params(PageQuery),
    responses((status = 200, body = Page<SeriesView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/series")]
async fn list_series(
    state: web::Data<Context>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::from_query(&query)?;
    let mut conn = state.pool.get().await?;
    let list = series::list_series(&mut conn, &page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a series (organizers and admins).
#[utoipa::path(post, path = "/api/v1/series", tag = "dialogues", request_body = SeriesRequest,
    security(("bearer" = [])),
    responses((status = 201, body = SeriesView),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/series")]
async fn create_series(
    state: web::Data<Context>,
    Organizer(user): Organizer,
    body: Json<SeriesRequest>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let series = series::create_series(&mut conn, &user, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(series))
}

// --- Events ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub series_id: Option<String>,
    /// draft, published, completed or cancelled.
    pub status: Option<String>,
    /// Events with a session ending on or after this date (YYYY-MM-DD, UTC) or time.
    pub from: Option<String>,
    /// Events with a session starting before the end of this date or before this time.
    pub to: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists events, oldest first by their first session. Anyone sees published, completed and
/// cancelled-after-publication events; staff also their drafts; admins all.
#[utoipa::path(get, path = "/api/v1/events", tag = "dialogues", params(EventsQuery),
    responses((status = 200, body = Page<EventView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/events")]
async fn list_events(
    state: web::Data<Context>,
    MaybeUser(user): MaybeUser,
    query: web::Query<EventsQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let mut conn = state.pool.get().await?;
    let list = listing::list_events(
        &mut conn,
        user.as_ref(),
        EventFilter {
            country: q.country,
            series_id: q.series_id,
            status: q.status,
            from: q.from,
            to: q.to,
            limit: q.limit,
            cursor: q.cursor,
        },
        &state.links,
    )
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a draft event; the caller becomes its lead staff. The slug is made from the title
/// when absent (unique: `-2`, `-3`, ... are added); a given slug already in use is a 409.
/// Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/events", tag = "dialogues", request_body = EventRequest,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body give the same answer and one event")),
    responses((status = 201, body = EventView),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/events")]
async fn create_event(
    state: web::Data<Context>,
    req: HttpRequest,
    Organizer(user): Organizer,
    body: Json<EventRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let fingerprint = crate::idempotency::fingerprint(&body);
    crate::idempotency::run(&state, &req, Some(user.account.id), fingerprint, || async {
        let mut conn = state.pool.get().await?;
        let view = editing::create_event(&mut conn, &user, body, &state.links).await?;
        Ok((StatusCode::CREATED, view))
    })
    .await
}

/// An event by id or slug: the public view, or everything for its staff and admins. A
/// session's online link is shown to staff and to holders of a confirmed seat in that session
/// only; the event's own link (its public sessions' default) to staff and to holders of a
/// confirmed seat in one of its public sessions. The public view, to anonymous visitors and to
/// signed-in members who neither run the event nor hold a seat in it, may be up to
/// `server.public_cache_ms` old (1 s by default); edits made through this server show at once,
/// seat counts within that bound.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "dialogues",
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, body = EventView)))]
#[get("/events/{id}")]
async fn get_event(
    state: web::Data<Context>,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    // A signed-in viewer who neither runs the event nor holds a seat in it sees exactly the
    // public view: one query says so, and they are served the kept one.
    if let Some(user) = &user {
        let mut conn = state.pool.get().await?;
        if !state.public_views.is_enabled()
            || access::sees_more_than_the_public(&mut conn, user, &path).await?
        {
            let view = viewers_event_view(&mut conn, &state, Some(user), &path).await?;
            return Ok(HttpResponse::Ok().json(view));
        }
    }
    let body = state
        .public_views
        .get_or_load(ViewKind::Json, &path, || public_view(&state, &path))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The event's view as nobody sees it (rule 2: no link, no closed session's details), as JSON.
async fn public_view(state: &web::Data<Context>, id_or_slug: &str) -> AppResult<Rendered> {
    let view = load_event_view(state, None, id_or_slug).await?;
    let body = serde_json::to_vec(&view)
        .map_err(|e| crate::error::AppError::internal(format!("event view: {e}")))?;
    Ok(Rendered {
        event_id: view.id,
        body: body.into(),
    })
}

async fn load_event_view(
    state: &web::Data<Context>,
    user: Option<&AuthUser>,
    id_or_slug: &str,
) -> AppResult<EventView> {
    viewers_event_view(&mut *state.pool.get().await?, state, user, id_or_slug).await
}

/// The event as `user` may see it, read on `conn`.
async fn viewers_event_view(
    conn: &mut diesel_async::AsyncPgConnection,
    state: &web::Data<Context>,
    user: Option<&AuthUser>,
    id_or_slug: &str,
) -> AppResult<EventView> {
    let event = access::visible_event(conn, user, id_or_slug).await?;
    views::event_view(conn, event, user, &state.links).await
}

/// Changes an event (staff): absent keys stay, `null` clears optional ones; the slug may change.
#[utoipa::path(patch, path = "/api/v1/events/{id}", tag = "dialogues", request_body = EventPatch,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, body = EventView),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/events/{id}")]
async fn update_event(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<EventPatch>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let view = editing::update_event(
        &mut conn,
        &state.public_views,
        &user,
        &path,
        body.into_inner(),
        &state.links,
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn move_event(
    state: web::Data<Context>,
    user: AuthUser,
    id: &str,
    transition: Transition,
) -> AppResult<HttpResponse> {
    let view = lifecycle::transition(&state, &user, id, transition).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Publishes a draft (staff). An event without sessions may be published; its page then says
/// that the programme is to be announced.
#[utoipa::path(post, path = "/api/v1/events/{id}/publish", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, body = EventView),
              (status = 409, description = "`invalid_transition`: not a draft", body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/publish")]
async fn publish_event(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    move_event(state, user, &path, Transition::Publish).await
}

/// Cancels a draft or published event (staff) and emails every registrant and every pending
/// or accepted invitee, once each.
#[utoipa::path(post, path = "/api/v1/events/{id}/cancel", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, body = EventView),
              (status = 409, description = "`invalid_transition`: completed or already cancelled", body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/cancel")]
async fn cancel_event(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    move_event(state, user, &path, Transition::Cancel).await
}

/// Marks a published event completed (staff).
#[utoipa::path(post, path = "/api/v1/events/{id}/complete", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, body = EventView),
              (status = 409, description = "`invalid_transition`: not published", body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/complete")]
async fn complete_event(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    move_event(state, user, &path, Transition::Complete).await
}

/// Replaces the event's partner organisations (staff) with the whole list given.
#[utoipa::path(put, path = "/api/v1/events/{id}/partners", tag = "dialogues",
    request_body = Vec<PartnerRequest>, security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, body = Vec<PartnerView>),
              (status = 422, description = "e.g. `[2].organization_id`: no such organisation", body = Problem, content_type = "application/problem+json")))]
#[put("/events/{id}/partners")]
async fn set_partners(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<Vec<PartnerRequest>>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let partners = partners::set_partners(
        &mut conn,
        &state.public_views,
        &user,
        &path,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(partners))
}

/// Adds an organizer or admin account to the event's staff (201; 200 when already staff).
#[utoipa::path(post, path = "/api/v1/events/{id}/staff", tag = "dialogues",
    request_body = StaffRequest, security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 201, body = StaffView),
              (status = 200, description = "Already staff", body = StaffView),
              (status = 422, description = "unknown, disabled or member account", body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/staff")]
async fn add_staff(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<StaffRequest>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let (staff, added) = staff::add_staff(&mut conn, &user, &path, body.into_inner()).await?;
    Ok(if added {
        HttpResponse::Created().json(staff)
    } else {
        HttpResponse::Ok().json(staff)
    })
}

/// Takes an account off the event's staff (staff). The last staff member cannot be removed.
#[utoipa::path(delete, path = "/api/v1/events/{id}/staff/{account_id}", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug"),
           ("account_id" = Uuid, Path, description = "The staff member's account")),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "not on the event's staff", body = Problem, content_type = "application/problem+json"),
              (status = 409, description = "`last_staff`: the event's only staff member", body = Problem, content_type = "application/problem+json")))]
#[delete("/events/{id}/staff/{account_id}")]
async fn remove_staff(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<(String, Uuid)>,
) -> AppResult<HttpResponse> {
    let (event, account_id) = path.into_inner();
    let mut conn = state.pool.get().await?;
    staff::remove_staff(&mut conn, &user, &event, account_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Sessions and speakers ------------------------------------------------------------------

/// Adds a session to the event (staff).
#[utoipa::path(post, path = "/api/v1/events/{id}/sessions", tag = "dialogues",
    request_body = SessionRequest, security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 201, body = SessionView),
              (status = 409, description = "`event_not_open`: the event was cancelled", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/sessions")]
async fn create_session(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<SessionRequest>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let session = sessions::create_session(
        &mut conn,
        &state.public_views,
        &user,
        &path,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(session))
}

/// Changes a session (staff). A higher capacity promotes from the waitlist at once.
#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "dialogues",
    request_body = SessionPatch, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses((status = 200, body = SessionView),
              (status = 409, description = "`capacity_below_confirmed` or `session_has_registrations` (access change)", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/sessions/{id}")]
async fn update_session(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<SessionPatch>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let session = sessions::update_session(
        &mut conn,
        &state.public_views,
        &user,
        path.into_inner(),
        body.into_inner(),
        &state.links,
    )
    .await?;
    Ok(HttpResponse::Ok().json(session))
}

/// Deletes a session nobody is registered for (staff).
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses((status = 204, description = "Deleted"),
              (status = 409, description = "`session_has_registrations`", body = Problem, content_type = "application/problem+json")))]
#[delete("/sessions/{id}")]
async fn delete_session(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    sessions::delete_session(&mut conn, &state.public_views, &user, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a speaker to a session (staff): a person, or a name with an affiliation.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/speakers", tag = "dialogues",
    request_body = SpeakerRequest, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session's id")),
    responses((status = 201, body = SpeakerView),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/sessions/{id}/speakers")]
async fn add_speaker(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<SpeakerRequest>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let speaker = sessions::add_speaker(
        &mut conn,
        &state.public_views,
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(speaker))
}

/// Removes a speaker (staff).
#[utoipa::path(delete, path = "/api/v1/speakers/{id}", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The speaker's id")),
    responses((status = 204, description = "Removed")))]
#[delete("/speakers/{id}")]
async fn delete_speaker(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    sessions::delete_speaker(&mut conn, &state.public_views, &user, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Moves a speaker one place earlier or later in the session's order of appearance (staff);
/// the session's speakers are then numbered 1, 2, 3… Answers them in order.
#[utoipa::path(post, path = "/api/v1/speakers/{id}/move", tag = "dialogues",
    request_body = SpeakerMove, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The speaker's id")),
    responses((status = 200, body = Vec<SpeakerView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/speakers/{id}/move")]
async fn move_speaker(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<SpeakerMove>,
) -> AppResult<HttpResponse> {
    let up = match body.into_inner().direction.as_deref().map(str::trim) {
        Some("up") => true,
        Some("down") => false,
        _ => {
            return Err(crate::error::AppError::invalid(
                "direction",
                "is required: up or down",
            ))
        }
    };
    let mut conn = state.pool.get().await?;
    let list = sessions::move_speaker(&mut conn, &state.public_views, &user, path.into_inner(), up)
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

// --- Outcomes -------------------------------------------------------------------------------

/// Writes an outcome of the event or of one of its sessions (staff); `publish` makes it public
/// at once.
#[utoipa::path(post, path = "/api/v1/events/{id}/outcomes", tag = "dialogues",
    request_body = OutcomeRequest, security(("bearer" = [])),
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 201, body = OutcomeView),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[post("/events/{id}/outcomes")]
async fn create_outcome(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<OutcomeRequest>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let outcome = outcomes::create_outcome(
        &mut conn,
        &state.public_views,
        &user,
        &path,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(outcome))
}

/// The event's outcomes: published ones for anyone, drafts too for staff. Outcomes of Chatham
/// House sessions carry no speakers.
#[utoipa::path(get, path = "/api/v1/events/{id}/outcomes", tag = "dialogues",
    params(("id" = String, Path, description = "The event's id or slug"), PageQuery),
    responses((status = 200, body = Page<OutcomeView>),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[get("/events/{id}/outcomes")]
async fn list_outcomes(
    state: web::Data<Context>,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::from_query(&query)?;
    let mut conn = state.pool.get().await?;
    let list = outcomes::list_outcomes(&mut conn, user.as_ref(), &path, &page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Publishes an outcome (staff); publishing it again changes nothing.
#[utoipa::path(post, path = "/api/v1/outcomes/{id}/publish", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The outcome's id")),
    responses((status = 200, body = OutcomeView)))]
#[post("/outcomes/{id}/publish")]
async fn publish_outcome(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let outcome =
        outcomes::publish_outcome(&mut conn, &state.public_views, &user, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Takes a published outcome down at once (staff): it becomes a draft again, gone from the
/// public pages and lists. Unpublishing a draft changes nothing. Audited.
#[utoipa::path(post, path = "/api/v1/outcomes/{id}/unpublish", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The outcome's id")),
    responses((status = 200, body = OutcomeView),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
#[post("/outcomes/{id}/unpublish")]
async fn unpublish_outcome(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let outcome =
        outcomes::unpublish_outcome(&mut conn, &state.public_views, &user, path.into_inner())
            .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Edits an outcome (staff): title, Markdown text, session (`null` for the whole event). A
/// published outcome stays published with the new text. Audited with the fields before and
/// after.
#[utoipa::path(patch, path = "/api/v1/outcomes/{id}", tag = "dialogues",
    request_body = outcomes::OutcomeEdit, security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The outcome's id")),
    responses((status = 200, body = OutcomeView),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
#[patch("/outcomes/{id}")]
async fn edit_outcome(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: Json<outcomes::OutcomeEdit>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let outcome = outcomes::edit_outcome(
        &mut conn,
        &state.public_views,
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Deletes an outcome for good (staff); the audit trail keeps what it said.
#[utoipa::path(delete, path = "/api/v1/outcomes/{id}", tag = "dialogues",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The outcome's id")),
    responses((status = 204, description = "Deleted"),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
#[delete("/outcomes/{id}")]
async fn delete_outcome(
    state: web::Data<Context>,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    outcomes::delete_outcome(&mut conn, &state.public_views, &user, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Calendar -------------------------------------------------------------------------------

/// The event's public sessions as an iCalendar feed in the event's time zone (VTIMEZONE and
/// TZID-qualified times). Anonymous: never an online link. Signed in: adds the sessions the
/// viewer holds a confirmed seat in, each with its own online link (staff see every link).
#[utoipa::path(get, path = "/api/v1/events/{id}/calendar.ics", tag = "dialogues",
    params(("id" = String, Path, description = "The event's id or slug")),
    responses((status = 200, description = "iCalendar (RFC 5545)", content_type = "text/calendar", body = String)))]
#[get("/events/{id}/calendar.ics")]
async fn calendar(
    state: web::Data<Context>,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let personal = user.is_some();
    let mut conn = state.pool.get().await?;
    let (ics, slug) =
        crate::events::calendar::calendar_feed(&mut conn, user.as_ref(), &path, &state.links)
            .await?;
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{slug}.ics\""),
        ));
    if personal {
        // A signed-in viewer's feed may carry their sessions' links: no shared cache keeps it.
        response.insert_header((header::CACHE_CONTROL, "private, no-store"));
    }
    Ok(response.body(ics))
}
