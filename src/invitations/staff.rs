//! What the console needs of invitations beyond the API's routes: one invitation as its
//! event's staff see it, and the invitation a message of the event was about.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::schema::{invitations, people};
use crate::error::AppResult;
use crate::events::facts::EventFacts;
use crate::invitations::manage::{invitation_for_staff, item};
use crate::invitations::model::Invitation;
use crate::invitations::types::InvitationItem;

/// The invitation with its event, for the event's staff and admins (404 for anyone else).
pub async fn for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    invitation_id: Uuid,
) -> AppResult<(InvitationItem, EventFacts)> {
    let (invitation, event) = invitation_for_staff(conn, user, invitation_id).await?;
    Ok((item(conn, invitation.id).await?, event))
}

/// The newest invitation of this event for the person with this address, if any.
pub async fn of_recipient(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    address: &str,
) -> AppResult<Option<Invitation>> {
    Ok(invitations::table
        .inner_join(people::table)
        .filter(invitations::event_id.eq(event_id))
        .filter(people::email.eq(address.to_lowercase()))
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .select(Invitation::as_select())
        .first(conn)
        .await
        .optional()?)
}
