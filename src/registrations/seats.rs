//! Seats: the one place that decides whether a registration is confirmed or waitlisted.
//!
//! Rule 1 (capacity is never exceeded, whatever the concurrency) holds because every change
//! into or out of `confirmed` happens in a transaction that first locks the session row
//! (`SessionLock::Seats` or stronger, bounded by the connection's `lock_timeout`). Under READ COMMITTED
//! the count taken after the lock sees every earlier seat-taker's committed row, so seats are
//! handed out one at a time in lock order, which is also the waitlist's arrival order.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::locks::{self, SessionLock};
use crate::db::prepared::KeepPrepared;
use crate::db::schema::{registrations, waitlist_counts};
use crate::error::AppResult;
use crate::events::facts::SessionFacts;
use crate::registrations::model::{Registration, RegistrationStatus};

/// The session's seating rules, read under its row lock.
#[derive(Debug, Clone, Copy)]
pub struct LockedSession {
    pub id: Uuid,
    pub capacity: Option<i32>,
    pub waitlist: bool,
}

/// Locks the session row until the end of the transaction for a change of seats
/// ([`SessionLock::Seats`], level 2 of `db::locks`). Call inside a transaction.
pub async fn lock_session(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> AppResult<LockedSession> {
    lock_session_as(conn, session_id, SessionLock::Seats).await
}

/// Locks the session row until the end of the transaction as `strength`.
pub async fn lock_session_as(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    strength: SessionLock,
) -> AppResult<LockedSession> {
    let (id, capacity, waitlist) = locks::session_seating(conn, session_id, strength).await?;
    Ok(LockedSession {
        id,
        capacity,
        waitlist,
    })
}

impl LockedSession {
    /// The seating rules of a session row read under its lock (`db::locks::session_seating`).
    pub fn of(session: &SessionFacts) -> Self {
        LockedSession {
            id: session.id,
            capacity: session.capacity,
            waitlist: session.waitlist,
        }
    }
}

pub async fn confirmed_count(conn: &mut AsyncPgConnection, session_id: Uuid) -> AppResult<i64> {
    Ok(registrations::table
        .filter(registrations::session_id.eq(session_id))
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .count()
        .get_result(conn)
        .await?)
}

/// A registration just given a seat or a waitlist place.
#[derive(Debug, Clone)]
pub struct Placed {
    pub registration: Registration,
    /// Its place in the queue, counting from 1, when it was waitlisted.
    pub waitlist_position: Option<i64>,
}

/// Gives `registration_id` a seat or a waitlist place, and answers the registration as it now
/// is, with its waitlist position. The session must have been locked with `lock_session` in
/// this transaction. Any confirmation link the registration still had stops working.
///
/// With `confirm_token_hash` (a registrant using their confirmation link), only while the
/// registration still holds that token: the link's single use is this same statement.
///
/// `None` when nothing changed: the session is full and has no waitlist, or the registration
/// no longer holds the token (see [`holds_confirm_token`] to tell which). It is also `None` for
/// a registration that is no longer pending, which callers rule out under the lock first (a
/// guard, not a path: they would report it as a full session).
///
/// One statement uses the token, counts the seats taken and updates the registration: under a
/// registration rush every seat-taker waits for the session lock, so each round trip made while
/// holding it is paid once per registrant (a claim, a count, an update and a reload were four;
/// diesel would also prepare each update afresh, two more). The position comes from
/// `waitlist_counts`, which triggers keep, rather than from counting the queue.
pub async fn take_seat(
    conn: &mut AsyncPgConnection,
    session: &LockedSession,
    registration_id: Uuid,
    confirm_token_hash: Option<&[u8]>,
) -> AppResult<Option<Placed>> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{BigInt, Text, Timestamptz};

    let now = Utc::now();
    // The session's confirmed registrations, under an alias: the UPDATE's own table is
    // `registrations` too.
    let seated = diesel::alias!(registrations as seated);
    let seats_taken = seated
        .filter(seated.field(registrations::session_id).eq(session.id))
        .filter(
            seated
                .field(registrations::status)
                .eq(RegistrationStatus::Confirmed),
        )
        .count()
        .single_value();
    let has_room = seats_taken.lt(session.capacity.map_or(i64::MAX, i64::from));
    // Without a waitlist, only a registration with room changes; with one, every registration
    // does, and PostgreSQL evaluates only the branch a CASE takes: `nextval` runs for waitlisted
    // ones only. One statement shape for both kinds of session.
    let which = registration_holding(registration_id, confirm_token_hash)
        .and(has_room.or(session.waitlist.into_sql::<Bool>()));
    let next_place = diesel::dsl::sql::<BigInt>("nextval('registration_waitlist_seq')").nullable();
    // RETURNING sees the statement's snapshot, taken before the trigger counts this place: the
    // places that were already waiting. Under the session lock a new place is the last one.
    let already_waiting = waitlist_counts::table
        .find(session.id)
        .select(waitlist_counts::waitlisted)
        .single_value();
    let given = KeepPrepared(
        diesel::update(registrations::table.filter(which))
            .set((
                registrations::status.eq(case_when(
                    has_room,
                    RegistrationStatus::Confirmed.into_sql::<Text>(),
                )
                .otherwise(RegistrationStatus::Waitlisted.into_sql::<Text>())),
                registrations::confirmed_at.eq(case_when(
                    has_room,
                    Some(now).into_sql::<Nullable<Timestamptz>>(),
                )
                .otherwise(registrations::confirmed_at)),
                registrations::waitlist_seq.eq(case_when(
                    has_room,
                    None::<i64>.into_sql::<Nullable<BigInt>>(),
                )
                .otherwise(next_place)),
                registrations::updated_at.eq(now),
                without_confirm_link(),
            ))
            .returning((Registration::as_returning(), already_waiting)),
    )
    .get_result::<(Registration, Option<i32>)>(conn)
    .await
    .optional()?;
    Ok(given.map(|(registration, already_waiting)| {
        let waitlist_position = (registration.status == RegistrationStatus::Waitlisted)
            .then(|| i64::from(already_waiting.unwrap_or(0)) + 1);
        Placed {
            registration,
            waitlist_position,
        }
    }))
}

/// The registration `registration_id` while it is still pending (awaiting its confirmation or
/// an approval), so that no seat or place already given, and nothing ended, is decided again.
/// With `confirm_token_hash`, only while it still holds that confirmation token (its link
/// unused), so that an UPDATE filtered by it is the link's single use: of concurrent uses,
/// exactly one finds it.
pub fn registration_holding(
    registration_id: Uuid,
    confirm_token_hash: Option<&[u8]>,
) -> Box<dyn BoxableExpression<registrations::table, Pg, SqlType = Nullable<Bool>>> {
    let which = registrations::id.eq(registration_id).nullable();
    match confirm_token_hash {
        None => Box::new(which.and(registrations::status.eq_any([
            RegistrationStatus::PendingConfirmation,
            RegistrationStatus::PendingApproval,
        ]))),
        Some(hash) => Box::new(
            which
                .and(registrations::confirm_token_hash.eq(hash.to_vec()))
                .and(registrations::status.eq(RegistrationStatus::PendingConfirmation)),
        ),
    }
}

/// Assignments that take a registration's confirmation link away.
pub type WithoutConfirmLink = (
    diesel::dsl::Eq<registrations::confirm_token_hash, Option<Vec<u8>>>,
    diesel::dsl::Eq<registrations::confirm_token_expires_at, Option<DateTime<Utc>>>,
);

/// Once a registration is confirmed or queued for approval, no link confirms it again.
pub fn without_confirm_link() -> WithoutConfirmLink {
    (
        registrations::confirm_token_hash.eq(None),
        registrations::confirm_token_expires_at.eq(None),
    )
}

/// Whether the registration still holds this confirmation token (its link is unused).
pub async fn holds_confirm_token(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
    confirm_token_hash: &[u8],
) -> AppResult<bool> {
    Ok(
        diesel::select(diesel::dsl::exists(registrations::table.filter(
            registration_holding(registration_id, Some(confirm_token_hash)),
        )))
        .get_result(conn)
        .await?,
    )
}

/// Moves the first waitlisted registrations into free seats, in arrival order, and returns
/// them (the caller emails each). Call after a seat is freed or the capacity raised, with the
/// session locked in this transaction.
pub async fn fill_from_waitlist(
    conn: &mut AsyncPgConnection,
    session: &LockedSession,
) -> AppResult<Vec<Registration>> {
    let free = match session.capacity {
        None => i64::MAX,
        Some(cap) => i64::from(cap) - confirmed_count(conn, session.id).await?,
    };
    if free <= 0 {
        return Ok(Vec::new());
    }
    let next: Vec<Uuid> = registrations::table
        .filter(registrations::session_id.eq(session.id))
        .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
        .order(registrations::waitlist_seq.asc())
        .limit(free)
        .select(registrations::id)
        .load(conn)
        .await?;
    if next.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut promoted: Vec<Registration> = diesel::update(registrations::table)
        .filter(registrations::id.eq_any(&next))
        .set((
            registrations::status.eq(RegistrationStatus::Confirmed),
            registrations::confirmed_at.eq(now),
            registrations::waitlist_seq.eq(None::<i64>),
            registrations::updated_at.eq(now),
        ))
        .returning(Registration::as_returning())
        .get_results(conn)
        .await?;
    promoted.sort_by_key(|r| next.iter().position(|id| *id == r.id));
    Ok(promoted)
}

/// A waitlisted registration's place in the queue, counting from 1: the session's kept count
/// of waiting places (`waitlist_counts`) less the places behind this one. A place just taken,
/// the case under the session lock, has none behind it, so this reads a handful of rows where
/// counting the places ahead read the whole queue.
pub async fn waitlist_position(
    conn: &mut AsyncPgConnection,
    registration: &Registration,
) -> AppResult<Option<i64>> {
    let Some(seq) = registration.waitlist_seq else {
        return Ok(None);
    };
    let behind = registrations::table
        .filter(registrations::session_id.eq(registration.session_id))
        .filter(registrations::status.eq(RegistrationStatus::Waitlisted))
        .filter(registrations::waitlist_seq.gt(seq))
        .count()
        .single_value();
    let (waiting, behind): (i32, Option<i64>) = waitlist_counts::table
        .find(registration.session_id)
        .select((waitlist_counts::waitlisted, behind))
        .first(conn)
        .await?;
    Ok(Some(i64::from(waiting) - behind.unwrap_or(0)))
}
