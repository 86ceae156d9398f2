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
//! Every row lock here is `FOR NO KEY UPDATE`: no key column of these rows ever changes, and
//! unlike `FOR UPDATE` it lets the `FOR KEY SHARE` that foreign-key checks take (an email
//! inserted for the event, a registration pointing at its invitation) through, so a referencing
//! insert never waits behind a lock of its parent row.
//!
//! A session is held in one of three ways ([`SessionLock`]), so that a sign-up that takes no
//! seat never queues behind the seat-takers of a rush, while a change of what a sign-up decides
//! on (the session's access, times, window; the event's cancellation) still waits for every
//! sign-up in flight, and every later sign-up sees it.
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
use crate::events::facts::{EventFacts, SessionFacts};
use crate::invitations::model::Invitation;

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

/// How a transaction holds a session (level 2). Each waits for the ones it conflicts with:
///
/// | held as | waits for | by |
/// | --- | --- | --- |
/// | `SignUp`: the gate, shared | `Change` | a registration that takes no seat yet: a `pending_confirmation` sign-up |
/// | `Seats`: the row | `Seats`, `Change` | every change into or out of a seat or the waitlist, and every other change of a registration's status |
/// | `Change`: the gate, then the row | all three | a change of what a registration decides on: the session's access, times, capacity or window, its deletion, the event's cancellation |
///
/// The gate is a transaction-scoped advisory lock keyed by the session, not a share lock of
/// the row: PostgreSQL queues an advisory request behind a waiting exclusive one, so a change
/// waits only for the sign-ups already in flight, whereas a row's share lockers would pass a
/// waiting `FOR UPDATE` for as long as a rush keeps sending them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLock {
    SignUp,
    Seats,
    Change,
}

/// The seating columns of one session, held (level 2) as `strength`.
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
        SessionLock::SignUp => {
            sign_up_gate(conn, session_id, Gate::Shared).await?;
            row.first(conn).await
        }
        SessionLock::Seats => row.for_no_key_update().first(conn).await,
        SessionLock::Change => {
            sign_up_gate(conn, session_id, Gate::Exclusive).await?;
            row.for_no_key_update().first(conn).await
        }
    };
    found
        .optional()?
        .ok_or_else(|| AppError::not_found("session"))
}

#[derive(Debug, Clone, Copy)]
enum Gate {
    Shared,
    Exclusive,
}

/// The session's sign-up gate (see [`SessionLock`]), until the end of the transaction.
async fn sign_up_gate(conn: &mut AsyncPgConnection, session_id: Uuid, gate: Gate) -> AppResult<()> {
    let key = format!("session-sign-ups:{session_id}");
    match gate {
        Gate::Shared => advisory_shared(conn, &key).await,
        Gate::Exclusive => advisory(conn, &key).await,
    }
}

/// An exclusive advisory lock on `key` until the end of the transaction: for what has no row
/// to lock (a rate limit's window, a digest being queued). Lock waits are bounded by the
/// connection's `lock_timeout`, like row locks.
pub async fn advisory(conn: &mut AsyncPgConnection, key: &str) -> AppResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
}

async fn advisory_shared(conn: &mut AsyncPgConnection, key: &str) -> AppResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .await?;
    Ok(())
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

/// Holds every session of the event (level 2) as [`SessionLock::Change`], in id order: the
/// event's cancellation, which no sign-up may cross. Take the event's lock first.
pub async fn event_sessions_for_change(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<SessionFacts>> {
    let ids: Vec<Uuid> = sessions::table
        .filter(sessions::event_id.eq(event_id))
        .order(sessions::id.asc())
        .select(sessions::id)
        .load(conn)
        .await?;
    for id in &ids {
        sign_up_gate(conn, *id, Gate::Exclusive).await?;
    }
    sessions(conn, &ids).await
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
