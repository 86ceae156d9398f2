//! What an event's staff do with its registrations: see a session's list, approve, reject,
//! check in. Every function here decides who may act itself, so the API and the console call
//! the same rule: the event's staff and admins may; a registrant learns that an action on their
//! own registration is staff-only (403); anyone else is told nothing exists (404).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::schema::registrations;
use crate::error::{AppError, AppResult, Code};
use crate::events::access::{is_event_staff, require_event_staff, require_staff_of_event};
use crate::registrations::emails::{self, Notice};
use crate::registrations::lists;
use crate::registrations::model::{EventReport, Registration, RegistrationStatus, SessionContext};
use crate::registrations::seats;
use crate::registrations::service::{admission_of, admit, registration_context, session_context};

/// The registration and its context, for a caller who runs its event.
pub async fn registration_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<(Registration, SessionContext)> {
    let (registration, ctx) = registration_context(conn, registration_id).await?;
    if is_event_staff(conn, user, ctx.event.id).await? {
        Ok((registration, ctx))
    } else if user.is_person(registration.person_id) {
        Err(AppError::forbidden(
            Code::NotEventStaff,
            "only the event's staff and admins may do this",
        ))
    } else {
        Err(AppError::not_found("registration"))
    }
}

/// A session and its event, for a caller who runs the event (404 when the caller may not know
/// an unpublished event exists, 403 for others who are not staff).
pub async fn session_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    session_id: Uuid,
) -> AppResult<SessionContext> {
    let ctx = session_context(conn, session_id).await?;
    require_event_staff(conn, user, ctx.event.id, ctx.event.is_public()).await?;
    Ok(ctx)
}

/// The event's report, for a caller who runs the event.
pub async fn event_report(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<EventReport> {
    require_staff_of_event(conn, user, event_id).await?;
    lists::event_report(conn, event_id).await
}

/// Only a registration awaiting approval can be approved or rejected.
fn require_pending_approval(status: RegistrationStatus, action: &str) -> AppResult<()> {
    if status == RegistrationStatus::PendingApproval {
        Ok(())
    } else {
        Err(AppError::conflict(
            Code::InvalidTransition,
            format!("a {status} registration cannot be {action}; only pending_approval ones can"),
        ))
    }
}

/// The registration a member of staff is about to reject, refused as [`reject`] would refuse
/// it: for the page that asks to confirm.
pub async fn to_reject(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<(Registration, SessionContext)> {
    let (registration, ctx) = registration_for_staff(conn, user, registration_id).await?;
    require_pending_approval(registration.status, "rejected")?;
    Ok((registration, ctx))
}

/// Staff approval: the registration takes a seat or a waitlist place under the usual rules.
pub async fn approve(
    state: &Context,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<Registration> {
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    let (_, ctx) = registration_for_staff(&mut conn, user, registration_id).await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            seats::lock_session(conn, ctx.session.id).await?;
            let current: Registration = registrations::table
                .find(registration_id)
                .select(Registration::as_select())
                .first(conn)
                .await?;
            require_pending_approval(current.status, "approved")?;
            let admitted = admit(conn, admission_of(&current)).await?;
            emails::notify(conn, &links, &ctx, &admitted.registration, Notice::Approved).await?;
            Ok(admitted.registration)
        }
        .scope_boxed()
    })
    .await
}

/// Staff rejection of a registration awaiting approval. Like a cancellation, it withdraws any
/// session reminder.
pub async fn reject(
    state: &Context,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<Registration> {
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    let (_, ctx) = registration_for_staff(&mut conn, user, registration_id).await?;
    crate::db::transaction(&mut conn, |conn| {
        async move {
            seats::lock_session(conn, ctx.session.id).await?;
            let status: RegistrationStatus = registrations::table
                .find(registration_id)
                .select(registrations::status)
                .first(conn)
                .await?;
            require_pending_approval(status, "rejected")?;
            let r: Registration = diesel::update(registrations::table.find(registration_id))
                .set((
                    registrations::status.eq(RegistrationStatus::Rejected),
                    registrations::waitlist_seq.eq(None::<i64>),
                    registrations::updated_at.eq(Utc::now()),
                ))
                .returning(Registration::as_returning())
                .get_result(conn)
                .await?;
            emails::withdraw_session_reminder(conn, registration_id).await?;
            emails::notify(conn, &links, &ctx, &r, Notice::Rejected).await?;
            Ok(r)
        }
        .scope_boxed()
    })
    .await
}

/// Records attendance. Idempotent: a second check-in answers the first time. Only confirmed
/// registrations can be checked in.
pub async fn check_in(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<Registration> {
    registration_for_staff(conn, user, registration_id).await?;
    let updated: Option<Registration> = diesel::update(registrations::table.find(registration_id))
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .set(registrations::checked_in_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("COALESCE(checked_in_at, now())")))
        .returning(Registration::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match updated {
        Some(r) => Ok(r),
        None => {
            let status: RegistrationStatus = registrations::table
                .find(registration_id)
                .select(registrations::status)
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| AppError::not_found("registration"))?;
            Err(AppError::conflict(
                Code::NotConfirmed,
                format!("only confirmed registrations can be checked in; this one is {status}"),
            ))
        }
    }
}

/// Undoes a check-in (a tap on the wrong name at the door). Idempotent: a registration not
/// checked in is answered as it is.
pub async fn undo_check_in(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<Registration> {
    registration_for_staff(conn, user, registration_id).await?;
    diesel::update(registrations::table.find(registration_id))
        .set(registrations::checked_in_at.eq(None::<chrono::DateTime<chrono::Utc>>))
        .returning(Registration::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("registration"))
}
