//! The emailed confirmation link: what it covers, and its single use, which takes the seat
//! (or the place in the approval queue) in the same transaction.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::auth::token::{hash_token, looks_like_token};
use crate::context::{Context, Links};
use crate::db::schema::{people, registrations};
use crate::error::{AppError, AppResult, Code};
use crate::people::model::Person;
use crate::registrations::emails::{self, Notice};
use crate::registrations::model::{
    Registration, RegistrationSource, RegistrationStatus, RegistrationView, SessionContext,
};
use crate::registrations::seats;
use crate::registrations::service::{
    check_event_open, check_session_not_over, invalid_token, session_context, session_full,
};

/// The step after a registrant proved their address: into the approval queue, or a seat
/// (or waitlist place) right away. The session must be locked in this transaction. Answers the
/// registration; its waitlist position is counted after commit (see below).
///
/// `confirm_token_hash` is the confirmation link's token when that is the proof: it is used up
/// here, and a token used meanwhile (a second click) is refused as invalid. `None` when the
/// registrant proved their address otherwise (logged in with it).
pub(crate) async fn after_confirmation(
    conn: &mut AsyncPgConnection,
    links: &Links,
    ctx: &SessionContext,
    session: &seats::LockedSession,
    registration: Registration,
    person: &Person,
    confirm_token_hash: Option<&[u8]>,
) -> AppResult<seats::Placed> {
    if ctx.session.requires_approval {
        let queued: Option<Registration> = diesel::update(registrations::table.filter(
            seats::registration_holding(registration.id, confirm_token_hash),
        ))
        .set((
            registrations::status.eq(RegistrationStatus::PendingApproval),
            registrations::updated_at.eq(Utc::now()),
            seats::without_confirm_link(),
        ))
        .returning(Registration::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let r = queued.ok_or_else(invalid_token)?;
        emails::notify_person(conn, links, ctx, &r, person, None, Notice::AwaitingApproval).await?;
        return Ok(seats::Placed {
            registration: r,
            waitlist_position: None,
        });
    }
    let Some(placed) = seats::take_seat(conn, session, registration.id, confirm_token_hash).await?
    else {
        return Err(match confirm_token_hash {
            Some(hash) if !seats::holds_confirm_token(conn, registration.id, hash).await? => {
                invalid_token()
            }
            _ => session_full(),
        });
    };
    emails::notify_person(
        conn,
        links,
        ctx,
        &placed.registration,
        person,
        placed.waitlist_position,
        Notice::for_seat(placed.registration.status),
    )
    .await?;
    Ok(placed)
}

/// What an emailed confirmation link covers, without using it (for the page behind the link).
pub async fn peek_confirmation(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> AppResult<(Registration, SessionContext, Person)> {
    let (registration, person) = pending_with_token(conn, &hash_of_link(token)?).await?;
    let ctx = session_context(conn, registration.session_id).await?;
    Ok((registration, ctx, person))
}

/// The hash a link's token is stored as; 404 `invalid_token` for what cannot be a token.
fn hash_of_link(token: &str) -> AppResult<Vec<u8>> {
    if looks_like_token(token) {
        Ok(hash_token(token))
    } else {
        Err(invalid_token())
    }
}

/// The registration still awaiting the confirmation whose token hashes to `hash`, with its
/// registrant: 404 `invalid_token` when none does, 410 `token_expired` when the link expired.
async fn pending_with_token(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> AppResult<(Registration, Person)> {
    let (registration, person): (Registration, Person) = registrations::table
        .inner_join(people::table)
        .filter(registrations::confirm_token_hash.eq(hash))
        .filter(registrations::status.eq(RegistrationStatus::PendingConfirmation))
        .select((Registration::as_select(), Person::as_select()))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(invalid_token)?;
    if registration
        .confirm_token_expires_at
        .is_some_and(|at| at <= Utc::now())
    {
        return Err(token_expired());
    }
    Ok((registration, person))
}

fn token_expired() -> AppError {
    AppError::gone(
        Code::TokenExpired,
        "this confirmation link has expired; register again to get a new one",
    )
}

/// Uses a confirmation token: single-use, and the seat (or approval queue) is decided in the
/// same transaction. Of many concurrent uses of one token exactly one succeeds.
pub async fn confirm(state: &Context, token: &str) -> AppResult<RegistrationView> {
    let hash = hash_of_link(token)?;
    let links = state.links.clone();
    let mut conn = state.pool.get().await?;
    // Everything that needs no lock is read first, so the time under the session lock (the
    // queue of a registration rush) stays short.
    let (found, person) = pending_with_token(&mut conn, &hash).await?;
    let ctx = session_context(&mut conn, found.session_id).await?;
    check_still_open(&ctx, &found)?;
    let placed = crate::db::retry::transaction(&mut conn, |conn| {
        let (found, links, person, hash) = (&found, &links, &person, &hash);
        async move {
            let locked = seats::lock_session(conn, found.session_id).await?;
            // Decided again under the lock: the event may have been cancelled, the session
            // closed to the public, since the read above.
            let ctx = session_context(conn, found.session_id).await?;
            check_still_open(&ctx, found)?;
            // The token is used up in the statement that takes the seat (or queues for
            // approval): a concurrent or replayed use finds it gone and changes nothing.
            after_confirmation(
                conn,
                links,
                &ctx,
                &locked,
                found.clone(),
                person,
                Some(hash),
            )
            .await
        }
        .scope_boxed()
    })
    .await?;
    Ok(RegistrationView::new(
        &placed.registration,
        placed.waitlist_position,
    ))
}

/// Whether a pending registration may still be confirmed: the event open, the session not
/// over and, for a registration made through the public form, the session still public.
fn check_still_open(ctx: &SessionContext, registration: &Registration) -> AppResult<()> {
    check_event_open(ctx)?;
    check_session_not_over(ctx, Utc::now())?;
    if registration.source == RegistrationSource::PublicForm && !ctx.session.is_public() {
        return Err(AppError::forbidden(
            Code::InvitationRequired,
            "this session is now closed: only invited people may take part",
        ));
    }
    Ok(())
}
