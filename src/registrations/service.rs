//! What every way into and out of a registration shares: `admit` is the one way into a seat
//! (a public sign-up once its address is confirmed, staff approval, an accepted invitation),
//! `cancel` the one way out, giving the seat to the waitlist; and the reads each use case
//! starts from.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::context::Links;
use crate::db::schema::{events, people, registrations, sessions};
use crate::error::{AppError, AppResult, Code};
use crate::events::facts::{EventFacts, SessionFacts};
use crate::organizations::model::OrganizationKind;
use crate::people::model::Person;
use crate::registrations::emails::{self};
use crate::registrations::model::{
    Registration, RegistrationSource, RegistrationStatus, RegistrationView, SessionContext,
};
use crate::registrations::seats;

/// Who is admitted to which session, and why.
#[derive(Debug, Clone)]
pub struct Admission {
    pub session_id: Uuid,
    pub person_id: Uuid,
    pub source: RegistrationSource,
    pub invitation_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
    pub organization_kind: Option<OrganizationKind>,
    pub country: Option<String>,
}

/// The registration after admission, and whether this call changed it (false: it was already
/// confirmed or waitlisted, e.g. a double submission).
#[derive(Debug, Clone)]
pub struct Admitted {
    pub registration: Registration,
    pub changed: bool,
}

/// Seats a person in a session: confirmed while there is room, else waitlisted (or a 409
/// `session_full` when the waitlist is off). Reuses the person's live registration, so calling
/// it twice gives one registration. Must run inside a transaction; it locks the session row.
pub async fn admit(conn: &mut AsyncPgConnection, admission: Admission) -> AppResult<Admitted> {
    let session = seats::lock_session(conn, admission.session_id).await?;
    let mut existing = live_registration(conn, admission.session_id, admission.person_id).await?;
    // A seat held through the public form is now also the invitation's: revoking the
    // invitation then finds it by the invitation's id.
    if let (Some(r), Some(invitation_id)) = (&mut existing, admission.invitation_id) {
        if r.invitation_id.is_none() {
            *r = diesel::update(registrations::table.find(r.id))
                .set((
                    registrations::invitation_id.eq(invitation_id),
                    registrations::updated_at.eq(Utc::now()),
                ))
                .returning(Registration::as_returning())
                .get_result(conn)
                .await?;
        }
    }
    let registration_id = match existing {
        Some(r)
            if matches!(
                r.status,
                RegistrationStatus::Confirmed | RegistrationStatus::Waitlisted
            ) =>
        {
            return Ok(Admitted {
                registration: r,
                changed: false,
            });
        }
        Some(r) => r.id,
        None => {
            let id = Uuid::now_v7();
            let inserted = diesel::insert_into(registrations::table)
                .values((
                    registrations::id.eq(id),
                    registrations::session_id.eq(admission.session_id),
                    registrations::person_id.eq(admission.person_id),
                    // Provisional: take_seat decides right below, in this transaction.
                    registrations::status.eq(RegistrationStatus::PendingApproval),
                    registrations::source.eq(admission.source),
                    registrations::invitation_id.eq(admission.invitation_id),
                    registrations::organization_id.eq(admission.organization_id),
                    registrations::organization_name.eq(&admission.organization_name),
                    registrations::organization_kind.eq(admission.organization_kind),
                    registrations::country.eq(&admission.country),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                id
            } else {
                // A sign-up of the person committed meanwhile (sign-ups do not wait for this
                // lock): its `pending_confirmation` registration is the one to seat.
                live_registration(conn, admission.session_id, admission.person_id)
                    .await?
                    .ok_or_else(already_registered)?
                    .id
            }
        }
    };
    let registration = seats::take_seat(conn, &session, registration_id, None)
        .await?
        .ok_or_else(session_full)?
        .registration;
    Ok(Admitted {
        registration,
        changed: true,
    })
}

/// Cancels a registration and, when it held a seat, gives the seat to the waitlist in the same
/// transaction: every way of cancelling goes through here. The registration's session reminder
/// is withdrawn; each promoted registrant is emailed and gets one (the caller tells the
/// cancelled registrant, as its cause calls for). Returns the cancelled registration and the
/// promoted ones.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    links: &Links,
    registration_id: Uuid,
) -> AppResult<(Registration, Vec<Registration>)> {
    let session_id: Uuid = registrations::table
        .find(registration_id)
        .select(registrations::session_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("registration"))?;
    let session = seats::lock_session(conn, session_id).await?;
    // Re-read under the session lock: every status change of a registration holds that lock.
    let status: RegistrationStatus = registrations::table
        .find(registration_id)
        .select(registrations::status)
        .first(conn)
        .await?;
    if !status.is_live() {
        return Err(AppError::conflict(
            Code::RegistrationNotLive,
            format!("the registration is already {status}"),
        ));
    }
    let now = Utc::now();
    let cancelled: Registration = diesel::update(registrations::table.find(registration_id))
        .set((
            registrations::status.eq(RegistrationStatus::Cancelled),
            registrations::cancelled_at.eq(now),
            registrations::waitlist_seq.eq(None::<i64>),
            registrations::updated_at.eq(now),
        ))
        .returning(Registration::as_returning())
        .get_result(conn)
        .await?;
    emails::withdraw_session_reminder(conn, registration_id).await?;
    // The registrant's calendar is told with a CANCEL of a higher SEQUENCE.
    emails::raise_sequences(conn, &[session_id]).await?;
    let promoted = promote_from_waitlist(conn, links, &session).await?;
    Ok((cancelled, promoted))
}

/// Seats as many waitlisted registrations as the locked session has room for, in order, and
/// tells each (with a session reminder). The one way off the waitlist into a freed seat.
async fn promote_from_waitlist(
    conn: &mut AsyncPgConnection,
    links: &Links,
    session: &seats::LockedSession,
) -> AppResult<Vec<Registration>> {
    let promoted = seats::fill_from_waitlist(conn, session).await?;
    if !promoted.is_empty() {
        let ctx = session_context(conn, session.id).await?;
        for r in &promoted {
            emails::notify_promoted(conn, links, &ctx, r).await?;
        }
    }
    Ok(promoted)
}

/// The session with its event; 404 when there is no such session.
pub async fn session_context(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> AppResult<SessionContext> {
    let (session, event) = sessions::table
        .inner_join(events::table)
        .filter(sessions::id.eq(session_id))
        .select((SessionFacts::as_select(), EventFacts::as_select()))
        .first::<(SessionFacts, EventFacts)>(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("session"))?;
    Ok(SessionContext { session, event })
}

/// A registration with its session and event; 404 when there is no such registration.
pub async fn registration_context(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
) -> AppResult<(Registration, SessionContext)> {
    let registration: Registration = registrations::table
        .find(registration_id)
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("registration"))?;
    let ctx = session_context(conn, registration.session_id).await?;
    Ok((registration, ctx))
}

/// The registrant's view, with the waitlist position when waitlisted.
pub async fn view(
    conn: &mut AsyncPgConnection,
    registration: &Registration,
) -> AppResult<RegistrationView> {
    let position = seats::waitlist_position(conn, registration).await?;
    Ok(RegistrationView::new(registration, position))
}

/// 409 `event_not_open` unless the event is published.
pub(crate) fn check_event_open(ctx: &SessionContext) -> AppResult<()> {
    if ctx.event.is_published() {
        Ok(())
    } else {
        Err(AppError::conflict(
            Code::EventNotOpen,
            format!(
                "the event is {} and takes no registrations",
                ctx.event.status
            ),
        ))
    }
}

/// 409 `session_ended` once the session is over.
pub(crate) fn check_session_not_over(ctx: &SessionContext, now: DateTime<Utc>) -> AppResult<()> {
    if now >= ctx.session.ends_at {
        Err(AppError::conflict(
            Code::SessionEnded,
            "the session has already ended",
        ))
    } else {
        Ok(())
    }
}

/// The person's registration in the session that has not ended (there is at most one).
pub(crate) async fn live_registration(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    person_id: Uuid,
) -> AppResult<Option<Registration>> {
    Ok(registrations::table
        .filter(registrations::session_id.eq(session_id))
        .filter(registrations::person_id.eq(person_id))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?)
}

pub(crate) fn already_registered() -> AppError {
    AppError::conflict(
        Code::AlreadyRegistered,
        "this person is already registered for the session",
    )
}

pub fn session_full() -> AppError {
    AppError::conflict(Code::SessionFull, "the session is full and has no waitlist")
}

pub(crate) fn admission_of(registration: &Registration) -> Admission {
    Admission {
        session_id: registration.session_id,
        person_id: registration.person_id,
        source: registration.source,
        invitation_id: registration.invitation_id,
        organization_id: registration.organization_id,
        organization_name: registration.organization_name.clone(),
        organization_kind: registration.organization_kind,
        country: registration.country.clone(),
    }
}

/// 404 `invalid_token`: a link used, replaced or mistyped, told apart from none of those.
pub(crate) fn invalid_token() -> AppError {
    AppError::not_found_because(
        Code::InvalidToken,
        "this link is not valid: it was already used, replaced by a newer one, or mistyped",
    )
}

/// The registrant.
pub(crate) async fn person_of(
    conn: &mut AsyncPgConnection,
    registration: &Registration,
) -> AppResult<Person> {
    Ok(people::table
        .find(registration.person_id)
        .select(Person::as_select())
        .first(conn)
        .await?)
}

/// After a session's capacity was raised (in the caller's transaction, with the new capacity
/// already written), seats as many waitlisted registrations as now fit, in order, and emails
/// each. The events module calls this from `PATCH /sessions/{id}`.
pub async fn raise_capacity_promotions(
    conn: &mut AsyncPgConnection,
    links: &Links,
    session_id: Uuid,
) -> AppResult<Vec<Registration>> {
    let session = seats::lock_session(conn, session_id).await?;
    promote_from_waitlist(conn, links, &session).await
}
