//! The API's shapes of invitations: request bodies and the views answered (the table rows and
//! enums are in `model`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::events::facts::{EventFacts, SessionFacts};
use crate::invitations::model::{InvitationAnswer, InvitationStatus, SkipReason};
use crate::registrations::model::RegistrationView;

/// One person to invite: someone known by `person_id`, or by `email` (and `name` when the
/// partnership does not know them yet).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct InviteeRequest {
    pub email: Option<String>,
    pub name: Option<String>,
    /// The organisation the invitee is invited as; carried into their registrations.
    pub organization_id: Option<Uuid>,
    /// A person already known (instead of `email`).
    pub person_id: Option<Uuid>,
}

/// The focal points and affiliated people of active member organisations of these kinds and
/// countries (a list left empty does not filter).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct AudienceRequest {
    #[serde(default)]
    pub organization_kinds: Vec<String>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct CreateInvitationsRequest {
    /// Closed sessions of this event that every invitation offers.
    pub session_ids: Vec<Uuid>,
    #[serde(default)]
    pub invitees: Vec<InviteeRequest>,
    pub audience: Option<AudienceRequest>,
    /// A personal message from the organisers, shown in the email and on the page.
    pub message: Option<String>,
    /// Default: the start of the first chosen session.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SkippedInvitee {
    pub email: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedInvitation {
    pub id: Uuid,
    pub email: String,
    pub status: InvitationStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateInvitationsResponse {
    pub created: usize,
    pub skipped: Vec<SkippedInvitee>,
    pub invitations: Vec<CreatedInvitation>,
}

/// The event, as the invitee sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitedEventView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub timezone: String,
    pub format: crate::events::model::EventFormat,
    pub venue: Option<String>,
    /// Whom to write to about the event (both or neither).
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

/// A session the invitation offers, with its local time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferedSessionView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// In the event's time zone, e.g. "Fri 18 Feb 2022, 09:30–12:00 JST (Asia/Tokyo)".
    pub local_time: String,
    pub chatham_house: bool,
    /// The invitee's choice once answered; null while pending.
    pub accepted: Option<bool>,
}

impl InvitedEventView {
    pub fn new(event: &EventFacts) -> Self {
        InvitedEventView {
            id: event.id,
            slug: event.slug.clone(),
            title: event.title.clone(),
            timezone: event.timezone.clone(),
            format: event.format,
            venue: event.venue.clone(),
            contact_name: event.contact_name.clone(),
            contact_email: event.contact_email.clone(),
        }
    }
}

impl OfferedSessionView {
    pub fn new(event: &EventFacts, session: SessionFacts, accepted: Option<bool>) -> Self {
        OfferedSessionView {
            local_time: event.local_time(&session),
            id: session.id,
            title: session.title,
            description: session.description,
            starts_at: session.starts_at,
            ends_at: session.ends_at,
            chatham_house: session.chatham_house,
            accepted,
        }
    }
}

/// What an invitation covers, for its token holder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationView {
    /// A pending invitation past its expiry is `expired`.
    pub status: InvitationStatus,
    pub invitee_name: String,
    pub event: InvitedEventView,
    pub sessions: Vec<OfferedSessionView>,
    pub message: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// The expiry in the event's time zone.
    pub expires_local: String,
    pub answered_at: Option<DateTime<Utc>>,
}

/// One of the caller's own invitations: what its token holder sees, with its id. It is
/// answered through the personal link emailed to them; its token is never shown again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyInvitationView {
    pub id: Uuid,
    /// When the current link was emailed.
    pub sent_at: DateTime<Utc>,
    #[serde(flatten)]
    pub invitation: InvitationView,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RespondRequest {
    pub response: InvitationAnswer,
    /// Accept only these sessions (a subset of those offered); all when absent.
    pub session_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RespondResponse {
    pub status: InvitationStatus,
    /// The registrations made by accepting: confirmed, or waitlisted when a session is full.
    pub registrations: Vec<RegistrationView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationSessionItem {
    pub session_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// The invitee's choice once answered; null while pending.
    pub accepted: Option<bool>,
}

/// An invitation as the event's staff see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvitationItem {
    pub id: Uuid,
    pub person_id: Uuid,
    pub email: String,
    pub name: String,
    pub organization_id: Option<Uuid>,
    pub status: InvitationStatus,
    pub sessions: Vec<InvitationSessionItem>,
    pub message: Option<String>,
    pub sent_by: Option<Uuid>,
    /// When the current link was emailed (creation, or the last resend).
    pub sent_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub reminders_sent: i32,
    pub last_reminded_at: Option<DateTime<Utc>>,
    /// How many times the link was (re)sent: 1 at creation, +1 per resend.
    pub generation: i32,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListInvitationsQuery {
    /// Only invitations in this status (`pending`, `accepted`, `declined`, `expired`, `revoked`).
    pub status: Option<String>,
    /// Page size: default 50, at most 200 (larger values are clamped).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct ResendRequest {
    /// A new expiry; needed when the old one has passed and the default (the first session's
    /// start) no longer fits.
    pub expires_at: Option<DateTime<Utc>>,
}

/// More sessions for an existing invitation.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct AddSessionsRequest {
    /// Closed sessions of the event, still to come, not offered yet.
    pub session_ids: Vec<Uuid>,
}
