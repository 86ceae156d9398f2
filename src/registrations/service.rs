//! The rules of registrations. `admit` is the one way into a seat, shared by public
//! registration (after the email is confirmed), staff approval and accepted invitations.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::registrations;
use crate::error::{AppError, AppResult};
use crate::registrations::model::{Registration, RegistrationSource, RegistrationStatus};
use crate::registrations::seats::{self, SeatOutcome};

/// Who is admitted to which session, and why.
#[derive(Debug, Clone)]
pub struct Admission {
    pub session_id: Uuid,
    pub person_id: Uuid,
    pub source: RegistrationSource,
    pub invitation_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
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
    let existing: Option<Registration> = registrations::table
        .filter(registrations::session_id.eq(admission.session_id))
        .filter(registrations::person_id.eq(admission.person_id))
        .filter(
            registrations::status
                .ne_all([RegistrationStatus::Cancelled, RegistrationStatus::Rejected]),
        )
        .select(Registration::as_select())
        .first(conn)
        .await
        .optional()?;
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
            diesel::insert_into(registrations::table)
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
                    registrations::country.eq(&admission.country),
                ))
                .execute(conn)
                .await?;
            id
        }
    };
    match seats::take_seat(conn, &session, registration_id).await? {
        SeatOutcome::Full => Err(AppError::conflict(
            "session_full",
            "the session is full and has no waitlist",
        )),
        SeatOutcome::Confirmed | SeatOutcome::Waitlisted => {
            let registration = registrations::table
                .find(registration_id)
                .select(Registration::as_select())
                .first(conn)
                .await?;
            Ok(Admitted {
                registration,
                changed: true,
            })
        }
    }
}

/// Cancels a registration and, when it held a seat, gives the seat to the waitlist in the same
/// transaction. Returns the cancelled registration and the promoted ones (to be emailed).
pub async fn cancel(
    conn: &mut AsyncPgConnection,
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
            "registration_not_live",
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
    let promoted = seats::fill_from_waitlist(conn, &session).await?;
    Ok((cancelled, promoted))
}
