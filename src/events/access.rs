//! Who may see and change an event: anyone a public one, its staff and admins any (checked per
//! object), and finding the event a request names under those rules.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::schema::{event_staff, events, registrations, sessions};
use crate::error::{AppError, AppResult, Code};
use crate::events::facts::EventFacts;
use crate::events::model::{Event, EventStatus};
use crate::registrations::model::RegistrationStatus;

/// What other domains decide on about an event (its status, time zone, visibility); 404 when
/// there is no such event.
pub async fn event_facts(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<EventFacts> {
    events::table
        .find(event_id)
        .select(EventFacts::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("event"))
}

/// Whether `user` runs this event (admins run every event).
pub async fn is_event_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<bool> {
    if user.is_admin() {
        return Ok(true);
    }
    let n: i64 = event_staff::table
        .filter(event_staff::event_id.eq(event_id))
        .filter(event_staff::account_id.eq(user.account.id))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// The events `user` runs: the ones they are staff of; admins run every event (the rule of
/// [`is_event_staff`], for a list).
pub async fn events_run_by(conn: &mut AsyncPgConnection, user: &AuthUser) -> AppResult<Vec<Uuid>> {
    if user.is_admin() {
        Ok(events::table.select(events::id).load(conn).await?)
    } else {
        Ok(event_staff::table
            .filter(event_staff::account_id.eq(user.account.id))
            .select(event_staff::event_id)
            .load(conn)
            .await?)
    }
}

/// Refuses non-staff. `visible` says whether the caller may know the event exists (a published
/// event): then the answer is 403, otherwise 404 so a draft's existence does not leak.
pub async fn require_event_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
    visible: bool,
) -> AppResult<()> {
    if is_event_staff(conn, user, event_id).await? {
        Ok(())
    } else if visible {
        Err(AppError::forbidden(
            Code::NotEventStaff,
            "only the event's staff and admins may do this",
        ))
    } else {
        Err(AppError::not_found("event"))
    }
}

/// `require_event_staff` for an event known by its id: 404 when there is no such event or the
/// caller may not know it exists (it was never published), 403 for others who are not staff.
pub async fn require_staff_of_event(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<()> {
    let (status, published_at): (EventStatus, Option<chrono::DateTime<chrono::Utc>>) =
        events::table
            .find(event_id)
            .select((events::status, events::published_at))
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::not_found("event"))?;
    require_event_staff(conn, user, event_id, status.is_public(published_at)).await
}

/// The event named by its id or its slug.
pub async fn find_event(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> AppResult<Option<Event>> {
    let query = events::table.select(Event::as_select()).into_boxed();
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(events::id.eq(id)),
        Err(_) => query.filter(events::slug.eq(id_or_slug)),
    };
    Ok(query.first(conn).await.optional()?)
}

/// The event, if `viewer` may see it: anyone a public one, staff and admins any.
pub async fn visible_event(
    conn: &mut AsyncPgConnection,
    viewer: Option<&AuthUser>,
    id_or_slug: &str,
) -> AppResult<Event> {
    let event = find_event(conn, id_or_slug)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    if event.is_public() {
        return Ok(event);
    }
    match viewer {
        Some(user) if is_event_staff(conn, user, event.id).await? => Ok(event),
        _ => Err(AppError::not_found("event")),
    }
}

/// Whether `viewer` may see more of the event `id_or_slug` than the public does: an admin, its
/// staff, or the holder of a seat in it (who sees that session's link). Everyone else sees exactly
/// the anonymous view, so the caller may serve the cached one. One round trip; false also when
/// there is no such event (the anonymous path then answers 404, as it would to them).
pub async fn sees_more_than_the_public(
    conn: &mut AsyncPgConnection,
    viewer: &AuthUser,
    id_or_slug: &str,
) -> AppResult<bool> {
    if viewer.is_admin() {
        return Ok(true);
    }
    let the_event = || {
        let event = events::table.select(events::id).into_boxed();
        match Uuid::parse_str(id_or_slug) {
            Ok(id) => event.filter(events::id.eq(id)),
            Err(_) => event.filter(events::slug.eq(id_or_slug)),
        }
    };
    let runs_it = event_staff::table
        .filter(event_staff::account_id.eq(viewer.account.id))
        .filter(event_staff::event_id.eq_any(the_event()));
    // An unverified account is nobody's person: it holds no seat (its person id matches none).
    let holds_a_seat = registrations::table
        .inner_join(sessions::table)
        .filter(
            registrations::person_id
                .nullable()
                .eq(viewer.person().map(|p| p.id)),
        )
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .filter(sessions::event_id.eq_any(the_event()));
    Ok(
        diesel::select(diesel::dsl::exists(runs_it).or(diesel::dsl::exists(holds_a_seat)))
            .get_result(conn)
            .await?,
    )
}

/// The event for a change only its staff may make: 404 when missing or when the caller may
/// not know it exists (a draft), 403 when they may know it but do not run it.
pub async fn event_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id_or_slug: &str,
) -> AppResult<Event> {
    let event = find_event(conn, id_or_slug)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    require_event_staff(conn, user, event.id, event.is_public()).await?;
    Ok(event)
}
