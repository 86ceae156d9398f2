//! Row locks, taken in one order by every transaction (DESIGN.md rule 12, docs/locking.md):
//!
//! 1. the **event** row;
//! 2. its **sessions**, several at once always in id order;
//! 3. **registrations**;
//! 4. **invitations**;
//! 5. the **outbox** rows (emails) a transaction updates, last.
//!
//! A transaction may skip a level (a registration takes its session, not the event) but never
//! takes a lock of an earlier level after one of a later level: two transactions then always
//! wait for each other in the same direction and cannot deadlock.
//!
//! A lock here is `FOR NO KEY UPDATE` unless said otherwise: no key column of these rows ever
//! changes, and unlike `FOR UPDATE` it lets the `FOR KEY SHARE` that foreign-key checks take
//! (an email inserted for the event, a registration pointing at its invitation) through, so a
//! referencing insert never waits behind a lock of its parent row.
//!
//! A session row is held in one of three strengths ([`SessionLock`]), so that a sign-up that
//! takes no seat never queues behind the seat-takers of a rush, while a change of what a
//! sign-up decides on (the session's access, times, window; the event's cancellation) still
//! waits for every sign-up in flight, and every later sign-up sees it.
//!
//! A decision (the event is open, the session is public, its times, the invitation's state) is
//! taken on the rows these functions return, or on reads made after them: under READ COMMITTED
//! a row read by a locking statement is its newest committed version, and every later
//! statement sees what the transactions before us committed.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{events, invitations, sessions};
use crate::error::{AppError, AppResult};
use crate::invitations::model::Invitation;
use crate::registrations::model::{EventFacts, SessionFacts};

/// Locks the event row (level 1) and answers it as it now stands.
pub async fn event(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<EventFacts> {
    events::table
        .find(event_id)
        .select(EventFacts::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("event"))
}

/// How strongly a transaction holds a session row (level 2). Each waits for the ones it
/// conflicts with:
///
/// | held as | waits for | by |
/// | --- | --- | --- |
/// | `SignUp` (`FOR KEY SHARE`) | `Change` | a registration that takes no seat yet: a `pending_confirmation` sign-up |
/// | `Seats` (`FOR NO KEY UPDATE`) | `Seats`, `Change` | every change into or out of a seat or the waitlist, and every other change of a registration's status |
/// | `Change` (`FOR UPDATE`) | all three | a change of what a registration decides on: the session's access, times, capacity or window, its deletion, the event's cancellation |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLock {
    SignUp,
    Seats,
    Change,
}

/// The seating columns of one session, locked (level 2) as `strength`.
pub async fn session_seating(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    strength: SessionLock,
) -> AppResult<(Uuid, Option<i32>, bool)> {
    let row = sessions::table.find(session_id).select((
        sessions::id,
        sessions::capacity,
        sessions::waitlist,
    ));
    let found = match strength {
        SessionLock::SignUp => row.for_key_share().first(conn).await,
        SessionLock::Seats => row.for_no_key_update().first(conn).await,
        SessionLock::Change => row.for_update().first(conn).await,
    };
    found
        .optional()?
        .ok_or_else(|| AppError::not_found("session"))
}

/// Locks these sessions (level 2) in id order, whatever order they are named in, and answers
/// those that exist, in id order. The sort happens below the lock, so rows are locked in it.
pub async fn sessions(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> AppResult<Vec<SessionFacts>> {
    Ok(sessions::table
        .filter(sessions::id.eq_any(session_ids))
        .order(sessions::id.asc())
        .select(SessionFacts::as_select())
        .for_no_key_update()
        .load(conn)
        .await?)
}

/// Locks every session of the event (level 2) as [`SessionLock::Change`], in id order: the
/// event's cancellation, which no sign-up may cross. Take the event's lock first.
pub async fn event_sessions_for_change(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<SessionFacts>> {
    Ok(sessions::table
        .filter(sessions::event_id.eq(event_id))
        .order(sessions::id.asc())
        .select(SessionFacts::as_select())
        .for_update()
        .load(conn)
        .await?)
}

/// Locks one invitation row (level 4) and answers it as it now stands. Take the locks of its
/// sessions first when the answer may seat someone or free a seat.
pub async fn invitation(
    conn: &mut AsyncPgConnection,
    invitation_id: Uuid,
) -> AppResult<Invitation> {
    invitations::table
        .find(invitation_id)
        .select(Invitation::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("invitation"))
}
