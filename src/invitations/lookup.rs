//! What the invitation use cases share: the event and sessions an invitation is about, the
//! locks an answer or a staff action takes, the seats an invitation holds, and the errors every
//! one of them gives for a closed event.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::locks;
use crate::db::schema::{invitation_sessions, registrations, sessions};
use crate::error::{AppError, AppResult, Code};
use crate::events::access::{event_facts, require_event_staff};
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::model::EventStatus;
use crate::invitations::model::{Invitation, InvitationStatus};
use crate::registrations::model::RegistrationStatus;

/// The event, when `user` is on its staff (403/404 otherwise, as the event's visibility says).
pub async fn event_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<EventFacts> {
    let event = event_facts(conn, event_id).await?;
    require_event_staff(conn, user, event.id, event.is_public()).await?;
    Ok(event)
}

/// The sessions an invitation offers, in start order (the order they are shown and emailed
/// in; they are locked in id order, `offered_session_ids`).
pub async fn offered_sessions(
    conn: &mut AsyncPgConnection,
    invitation_id: Uuid,
) -> AppResult<Vec<(SessionFacts, Option<bool>)>> {
    Ok(invitation_sessions::table
        .inner_join(sessions::table)
        .filter(invitation_sessions::invitation_id.eq(invitation_id))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((SessionFacts::as_select(), invitation_sessions::accepted))
        .load(conn)
        .await?)
}

pub(super) async fn lock_invitation(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> AppResult<Invitation> {
    locks::invitation(conn, id).await
}

/// The ids of the sessions an invitation offers, in id order (the order they are locked in).
pub(super) async fn offered_session_ids(
    conn: &mut AsyncPgConnection,
    invitation_id: Uuid,
) -> AppResult<Vec<Uuid>> {
    Ok(invitation_sessions::table
        .filter(invitation_sessions::invitation_id.eq(invitation_id))
        .order(invitation_sessions::session_id.asc())
        .select(invitation_sessions::session_id)
        .load(conn)
        .await?)
}

pub(super) fn event_closed_error(event: &EventFacts) -> AppError {
    let what = if event.status == EventStatus::Cancelled {
        "was cancelled"
    } else {
        "has ended"
    };
    AppError::gone(
        Code::EventNotOpen,
        format!(
            "{} {what}: its invitations can no longer be answered",
            event.title
        ),
    )
}

/// The live registrations an invitation holds (with their sessions), in session id order: those made through it, and
/// for an accepted invitation the invitee's live registrations in the sessions they accepted
/// (a seat the invitee had taken through the public form before accepting). Read with the
/// sessions locked.
pub(super) async fn seats_of(
    conn: &mut AsyncPgConnection,
    invitation: &Invitation,
) -> AppResult<Vec<(Uuid, Uuid)>> {
    let accepted: Vec<Uuid> = if invitation.status == InvitationStatus::Accepted {
        invitation_sessions::table
            .filter(invitation_sessions::invitation_id.eq(invitation.id))
            .filter(invitation_sessions::accepted.eq(true))
            .select(invitation_sessions::session_id)
            .load(conn)
            .await?
    } else {
        Vec::new()
    };
    Ok(registrations::table
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .filter(
            registrations::invitation_id
                .eq(invitation.id)
                .or(registrations::person_id
                    .eq(invitation.person_id)
                    .and(registrations::session_id.eq_any(accepted))),
        )
        .order(registrations::session_id.asc())
        .select((registrations::id, registrations::session_id))
        .load(conn)
        .await?)
}

/// The offered sessions that are in the invitee's calendar: every one not declined yet (the
/// offer put them there, an acceptance kept them). A declined one already had its CANCEL.
pub(super) fn in_calendar(offered: &[(SessionFacts, Option<bool>)]) -> Vec<Uuid> {
    offered
        .iter()
        .filter(|(_, accepted)| *accepted != Some(false))
        .map(|(s, _)| s.id)
        .collect()
}

/// Of these people, those with a live registration for any of these sessions.
pub(super) async fn live_registrations(
    conn: &mut AsyncPgConnection,
    person_ids: &[Uuid],
    session_ids: &[Uuid],
) -> AppResult<HashSet<Uuid>> {
    Ok(registrations::table
        .filter(registrations::person_id.eq_any(person_ids))
        .filter(registrations::session_id.eq_any(session_ids))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .select(registrations::person_id)
        .distinct()
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect())
}
