//! Invitation rows and enums (the API's shapes are in `types`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{invitation_sessions, invitations};

crate::text_enum! {
    /// Where an invitation stands. A pending invitation past its expiry counts as expired
    /// everywhere, even before its row is updated.
    pub enum InvitationStatus {
        Pending => "pending",
        Accepted => "accepted",
        Declined => "declined",
        Expired => "expired",
        Revoked => "revoked",
    }
}

crate::text_enum! {
    /// Why an invitee of a request got no new invitation.
    pub enum SkipReason {
        /// A live (pending or accepted) invitation already covers one of the sessions.
        AlreadyInvited => "already_invited",
        /// A live registration already exists for one of the sessions.
        AlreadyRegistered => "already_registered",
        /// The same person appears earlier in `invitees`.
        DuplicateInRequest => "duplicate_in_request",
    }
}

crate::text_enum! {
    pub enum InvitationAnswer {
        Accept => "accept",
        Decline => "decline",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub person_id: Uuid,
    pub token_hash: Vec<u8>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    pub sent_by: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
    pub reminders_sent: i32,
    pub last_reminded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub generation: i32,
    pub sent_at: DateTime<Utc>,
    pub organization_id: Option<Uuid>,
}

impl Invitation {
    /// The status as it stands at `now`: pending past the expiry is expired.
    pub fn effective_status(&self, now: DateTime<Utc>) -> InvitationStatus {
        effective_status(self.status, self.expires_at, now)
    }

    /// Dedupe key of the invitation email of the current token.
    pub fn email_key(&self) -> String {
        invitation_email_key(self.id, self.generation)
    }

    /// Dedupe key of the reminder scheduled for the current token.
    pub fn reminder_key(&self) -> String {
        invitation_reminder_key(self.id, self.generation)
    }
}

pub fn effective_status(
    status: InvitationStatus,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> InvitationStatus {
    if status == InvitationStatus::Pending && expires_at <= now {
        InvitationStatus::Expired
    } else {
        status
    }
}

pub fn invitation_email_key(id: Uuid, generation: i32) -> String {
    format!("invitation:{id}:{generation}")
}

pub fn invitation_reminder_key(id: Uuid, generation: i32) -> String {
    format!("invitation-reminder:{id}:{generation}")
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitation {
    pub id: Uuid,
    pub event_id: Uuid,
    pub person_id: Uuid,
    pub token_hash: Vec<u8>,
    pub message: Option<String>,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    pub sent_by: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub sent_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invitation_sessions)]
pub struct NewInvitationSession {
    pub invitation_id: Uuid,
    pub session_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn pending_past_expiry_is_expired() {
        let now = Utc::now();
        assert_eq!(
            effective_status(InvitationStatus::Pending, now - Duration::seconds(1), now),
            InvitationStatus::Expired
        );
        assert_eq!(
            effective_status(InvitationStatus::Pending, now + Duration::seconds(1), now),
            InvitationStatus::Pending
        );
        assert_eq!(
            effective_status(InvitationStatus::Accepted, now - Duration::days(1), now),
            InvitationStatus::Accepted
        );
    }

    #[test]
    fn dedupe_keys_carry_the_generation() {
        let id = Uuid::nil();
        assert_eq!(invitation_email_key(id, 2), format!("invitation:{id}:2"));
        assert_eq!(
            invitation_reminder_key(id, 3),
            format!("invitation-reminder:{id}:3")
        );
        assert_ne!(
            invitation_reminder_key(id, 1),
            invitation_reminder_key(id, 2)
        );
    }
}
