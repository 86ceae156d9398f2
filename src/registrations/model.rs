use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::registrations;
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::model::SessionAccess;
use crate::organizations::model::OrganizationKind;

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
    /// The statuses a registration ends in; every other one is live.
    pub const ENDED: [RegistrationStatus; 2] =
        [RegistrationStatus::Cancelled, RegistrationStatus::Rejected];

    /// Whether the registration still counts (one live registration per person and session).
    pub fn is_live(self) -> bool {
        !Self::ENDED.contains(&self)
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
    /// The kind of `organization_name`, an organisation not in the directory.
    pub organization_kind: Option<OrganizationKind>,
}

/// A session with its event.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub session: SessionFacts,
    pub event: EventFacts,
}

impl SessionContext {
    /// "Fri 18 Feb 2022, 16:00–18:00 JST (Asia/Tokyo)"
    pub fn local_time(&self) -> String {
        self.event.local_time(&self.session)
    }
}

/// A registration as its registrant sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub status: RegistrationStatus,
    /// Place in the queue, counting from 1; only for waitlisted registrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
}

impl RegistrationView {
    /// `waitlist_position` as `seats::waitlist_position` answers it for this registration.
    pub fn new(registration: &Registration, waitlist_position: Option<i64>) -> Self {
        RegistrationView {
            id: registration.id,
            session_id: registration.session_id,
            status: registration.status,
            waitlist_position,
        }
    }
}

/// The answer to an anonymous or unverified registration request: always the same, whether or
/// not the address was registered already (the email to the address says what applies).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PendingView {
    /// Always `pending_confirmation`.
    pub status: RegistrationStatus,
}

impl Default for PendingView {
    fn default() -> Self {
        PendingView {
            status: RegistrationStatus::PendingConfirmation,
        }
    }
}

/// A registration as the event's staff see it in lists.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffRegistrationView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub person_id: Uuid,
    pub status: RegistrationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    pub source: RegistrationSource,
    pub email: String,
    pub name: String,
    /// The partnership organisation's name, or what the registrant typed.
    pub organization: Option<String>,
    pub organization_id: Option<Uuid>,
    /// The organisation's kind when it is one of the partnership's.
    pub organization_kind: Option<String>,
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// One of the caller's own registrations, with what it is for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyRegistrationView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub status: RegistrationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
    pub session_title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The session's time in the event's zone, e.g. "Fri 18 Feb 2022, 16:00–18:00 (Asia/Tokyo)".
    pub local_time: String,
    pub event_id: Uuid,
    pub event_title: String,
    pub event_slug: String,
    pub timezone: String,
    /// The session's online link (its own, else for a public session the event's), only for
    /// confirmed registrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// How many registrations of a session are in each status.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct StatusCounts {
    pub pending_confirmation: i64,
    pub pending_approval: i64,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    pub rejected: i64,
}

impl StatusCounts {
    pub fn add(&mut self, status: RegistrationStatus, n: i64) {
        let slot = match status {
            RegistrationStatus::PendingConfirmation => &mut self.pending_confirmation,
            RegistrationStatus::PendingApproval => &mut self.pending_approval,
            RegistrationStatus::Confirmed => &mut self.confirmed,
            RegistrationStatus::Waitlisted => &mut self.waitlisted,
            RegistrationStatus::Cancelled => &mut self.cancelled,
            RegistrationStatus::Rejected => &mut self.rejected,
        };
        *slot += n;
    }
}

/// The stakeholder balance of one session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionReport {
    pub session_id: Uuid,
    pub title: String,
    pub access: SessionAccess,
    pub starts_at: DateTime<Utc>,
    pub capacity: Option<i32>,
    pub counts: StatusCounts,
    /// Confirmed registrations by the kind of their organisation (`unspecified` when the
    /// registrant named none of the partnership's organisations).
    pub confirmed_by_organization_kind: BTreeMap<String, i64>,
    /// Confirmed registrations by country (the registrant's, else their organisation's, else
    /// `unspecified`).
    pub confirmed_by_country: BTreeMap<String, i64>,
    pub checked_in: i64,
    /// Checked in ÷ confirmed; null while nobody is confirmed.
    pub attendance_rate: Option<f64>,
}

/// Where the event's invitations stand.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct InvitationFunnel {
    pub sent: i64,
    pub accepted: i64,
    pub declined: i64,
    pub pending: i64,
    pub expired: i64,
    pub revoked: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventReport {
    pub event_id: Uuid,
    pub generated_at: DateTime<Utc>,
    pub sessions: Vec<SessionReport>,
    pub invitations: InvitationFunnel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_statuses() {
        assert!(RegistrationStatus::Waitlisted.is_live());
        assert!(!RegistrationStatus::Cancelled.is_live());
        assert!(!RegistrationStatus::Rejected.is_live());
    }
}

/// `POST /sessions/{id}/registrations`. Email and name may be left out when logged in.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize, ToSchema)]
pub struct RegistrationRequest {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// One of the partnership's organisations.
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    /// The registrant's organisation when it is not one of the partnership's.
    #[serde(default)]
    pub organization_name: Option<String>,
    /// The kind of `organization_name` (so the stakeholder report counts it); only with
    /// `organization_name` and without `organization_id`, whose kind is the directory's.
    #[serde(default)]
    #[schema(value_type = Option<OrganizationKind>)]
    pub organization_kind: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `JP`.
    #[serde(default)]
    #[schema(example = "JP")]
    pub country: Option<String>,
}
