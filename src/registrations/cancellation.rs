//! Cancelling a registration: by its registrant or the event's staff when signed in, or through
//! the emailed cancel link. The seat freed goes to the waitlist (`service::cancel`).

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::{hash_token, looks_like_token};
use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::schema::registrations;
use crate::error::{AppError, AppResult, Code};
use crate::events::access::is_event_staff;
use crate::people::model::Person;
use crate::registrations::emails::{self, Notice};
use crate::registrations::model::{
    Registration, RegistrationStatus, RegistrationView, SessionContext,
};
use crate::registrations::service::{
    cancel, check_session_not_over, invalid_token, person_of, registration_context,
    session_context, view,
};

/// Cancels a registration for a signed-in caller: its registrant, or the event's staff (the
/// registrant is then told staff cancelled it). Anyone else is told nothing exists (404).
pub async fn cancel_for(
    state: &Context,
    user: &AuthUser,
    registration_id: Uuid,
) -> AppResult<RegistrationView> {
    let by_staff = {
        let mut conn = state.pool.get().await?;
        let (registration, ctx) = registration_context(&mut conn, registration_id).await?;
        let own = user.is_person(registration.person_id);
        if !own && !is_event_staff(&mut conn, user, ctx.event.id).await? {
            return Err(AppError::not_found("registration"));
        }
        !own
    };
    cancel_and_notify(state, registration_id, by_staff).await
}

/// Cancels a registration and emails its registrant (and, through `cancel`, everyone promoted
/// off the waitlist), all in one transaction.
pub async fn cancel_and_notify(
    state: &Context,
    registration_id: Uuid,
    by_staff: bool,
) -> AppResult<RegistrationView> {
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    let (_, ctx) = registration_context(&mut conn, registration_id).await?;
    check_session_not_over(&ctx, Utc::now())?;
    crate::db::retry::transaction(&mut conn, |conn| {
        let (links, ctx) = (&links, &ctx);
        async move {
            let (cancelled, _) = cancel(conn, links, registration_id).await?;
            // Read again: `cancel` raised the session's calendar sequence.
            let ctx = &session_context(conn, ctx.session.id).await?;
            emails::notify(conn, links, ctx, &cancelled, Notice::Cancelled { by_staff }).await?;
            view(conn, &cancelled).await
        }
        .scope_boxed()
    })
    .await
}

/// The registration an emailed cancel link covers; 404 `invalid_token` when the link does not
/// match it.
pub async fn peek_cancellation(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
    token: &str,
) -> AppResult<(Registration, SessionContext, Person)> {
    if !looks_like_token(token) {
        return Err(invalid_token());
    }
    let registration: Registration = registrations::table
        .find(registration_id)
        .filter(registrations::cancel_token_hash.eq(hash_token(token)))
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(invalid_token)?;
    let ctx = session_context(conn, registration.session_id).await?;
    let person = person_of(conn, &registration).await?;
    Ok((registration, ctx, person))
}

/// Cancels through the emailed link. A registration already cancelled answers 410
/// `already_cancelled`, so of many concurrent uses exactly one cancels.
pub async fn cancel_with_token(
    state: &Context,
    registration_id: Uuid,
    token: &str,
) -> AppResult<RegistrationView> {
    {
        let mut conn = state.pool.get().await?;
        let (registration, _, _) = peek_cancellation(&mut conn, registration_id, token).await?;
        if !registration.status.is_live() {
            return Err(already_cancelled(registration.status));
        }
    }
    match cancel_and_notify(state, registration_id, false).await {
        Err(e) if e.code() == Code::RegistrationNotLive => {
            Err(already_cancelled(RegistrationStatus::Cancelled))
        }
        other => other,
    }
}

fn already_cancelled(status: RegistrationStatus) -> AppError {
    AppError::gone(
        Code::AlreadyCancelled,
        format!("this registration is already {status}"),
    )
}
