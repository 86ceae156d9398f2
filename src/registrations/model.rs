use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::registrations;

crate::text_enum! {
    pub enum RegistrationStatus {
        /// A public registrant has not yet confirmed their email address.
        PendingConfirmation => "pending_confirmation",
        /// Staff must approve before a seat is taken.
        PendingApproval => "pending_approval",
        Confirmed => "confirmed",
        Waitlisted => "waitlisted",
        Cancelled => "cancelled",
        Rejected => "rejected",
    }
}

impl RegistrationStatus {
    /// Whether the registration still counts (one live registration per person and session).
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            RegistrationStatus::Cancelled | RegistrationStatus::Rejected
        )
    }
}

crate::text_enum! {
    pub enum RegistrationSource {
        PublicForm => "public_form",
        Invitation => "invitation",
        Organizer => "organizer",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = registrations)]
pub struct Registration {
    pub id: Uuid,
    pub session_id: Uuid,
    pub person_id: Uuid,
    pub status: RegistrationStatus,
    pub source: RegistrationSource,
    pub invitation_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub organization_name: Option<String>,
    pub country: Option<String>,
    pub waitlist_seq: Option<i64>,
    pub confirm_token_hash: Option<Vec<u8>>,
    pub confirm_token_expires_at: Option<DateTime<Utc>>,
    pub cancel_token_hash: Option<Vec<u8>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
