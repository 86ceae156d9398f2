//! Rows of the dialogue tables, what is inserted into them, and the JSON views the API answers.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::{event_partners, events, outcomes, series, sessions, speakers};

crate::text_enum! {
    /// `draft` → `published` → `completed`; `draft` or `published` → `cancelled`.
    pub enum EventStatus {
        Draft => "draft",
        Published => "published",
        Completed => "completed",
        Cancelled => "cancelled",
    }
}

impl EventStatus {
    /// Whether anyone may know an event in this status exists: it was published at some point
    /// (`published_at`). Drafts, and drafts cancelled before publication, are for their staff
    /// only: outsiders get 404, not 403.
    pub fn is_public(self, published_at: Option<DateTime<Utc>>) -> bool {
        match self {
            EventStatus::Published | EventStatus::Completed => true,
            EventStatus::Cancelled => published_at.is_some(),
            EventStatus::Draft => false,
        }
    }
}

crate::text_enum! {
    pub enum EventFormat {
        Online => "online",
        InPerson => "in_person",
        Hybrid => "hybrid",
    }
}

impl EventFormat {
    pub fn needs_venue(self) -> bool {
        matches!(self, EventFormat::InPerson | EventFormat::Hybrid)
    }

    /// Online and hybrid events: they need a link, the default of their public sessions.
    pub fn needs_online_url(self) -> bool {
        matches!(self, EventFormat::Online | EventFormat::Hybrid)
    }

    pub fn label(self) -> &'static str {
        match self {
            EventFormat::Online => "Online",
            EventFormat::InPerson => "In person",
            EventFormat::Hybrid => "Hybrid (in person and online)",
        }
    }
}

/// What the Chatham House rule asks of participants, as emails and pages explain it.
pub const CHATHAM_HOUSE_RULE: &str = "Sessions marked “Chatham House rule” are held under the \
    Chatham House rule: participants are free to use the information received, but neither the \
    identity nor the affiliation of the speakers, nor that of any other participant, may be \
    revealed.";

crate::text_enum! {
    /// Closed sessions are by invitation only; public ones take open registration.
    pub enum SessionAccess {
        Closed => "closed",
        Public => "public",
    }
}

crate::text_enum! {
    pub enum PartnerRole {
        Organizer => "organizer",
        CoOrganizer => "co_organizer",
        Supporter => "supporter",
        Funder => "funder",
    }
}

impl PartnerRole {
    pub fn label(self) -> &'static str {
        match self {
            PartnerRole::Organizer => "Organiser",
            PartnerRole::CoOrganizer => "Co-organiser",
            PartnerRole::Supporter => "Supporter",
            PartnerRole::Funder => "Funder",
        }
    }
}

crate::text_enum! {
    pub enum SpeakerRole {
        OpeningRemarks => "opening_remarks",
        Keynote => "keynote",
        Presenter => "presenter",
        Discussant => "discussant",
        Moderator => "moderator",
        Commentator => "commentator",
    }
}

impl SpeakerRole {
    pub fn label(self) -> &'static str {
        match self {
            SpeakerRole::OpeningRemarks => "Opening remarks",
            SpeakerRole::Keynote => "Keynote",
            SpeakerRole::Presenter => "Presenter",
            SpeakerRole::Discussant => "Discussant",
            SpeakerRole::Moderator => "Moderator",
            SpeakerRole::Commentator => "Commentator",
        }
    }
}

// --- Rows -------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = series)]
pub struct Series {
    pub id: Uuid,
    pub name: String,
    pub country: Option<String>,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = series)]
pub struct NewSeries {
    pub id: Uuid,
    pub name: String,
    pub country: Option<String>,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: Uuid,
    pub series_id: Option<Uuid>,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub country: Option<String>,
    pub timezone: String,
    pub format: EventFormat,
    pub venue: Option<String>,
    pub online_url: Option<String>,
    pub status: EventStatus,
    pub created_by: Option<Uuid>,
    pub published_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

impl Event {
    /// Whether anyone may know the event exists: it was published at some point. Drafts (and
    /// drafts cancelled before publication) are for their staff only.
    pub fn is_public(&self) -> bool {
        self.status.is_public(self.published_at)
    }

    pub fn zone(&self) -> chrono_tz::Tz {
        crate::events::local_time::zone(&self.timezone)
    }
}

/// The columns an organiser edits; inserted with the id and status, updated whole on PATCH.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = events)]
#[diesel(treat_none_as_null = true)]
pub struct EventFields {
    pub series_id: Option<Uuid>,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub country: Option<String>,
    pub timezone: String,
    pub format: EventFormat,
    pub venue: Option<String>,
    pub online_url: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

impl EventFields {
    pub fn of(event: &Event) -> EventFields {
        EventFields {
            series_id: event.series_id,
            slug: event.slug.clone(),
            title: event.title.clone(),
            summary: event.summary.clone(),
            country: event.country.clone(),
            timezone: event.timezone.clone(),
            format: event.format,
            venue: event.venue.clone(),
            online_url: event.online_url.clone(),
            contact_name: event.contact_name.clone(),
            contact_email: event.contact_email.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_partners)]
pub struct EventPartner {
    pub event_id: Uuid,
    pub organization_id: Uuid,
    pub role: PartnerRole,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: Uuid,
    pub event_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub access: SessionAccess,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: Option<i32>,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub requires_approval: bool,
    pub waitlist: bool,
    pub chatham_house: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The session's own link; see [`session_link`] for the one its attendees get.
    pub online_url: Option<String>,
    /// The revision of its calendar entries (RFC 5545 SEQUENCE).
    pub sequence: i32,
}

/// The link that joins a session online (rule 2): its own, else, for a public session, its
/// event's `online_url` (the default link of the event's public sessions; an in-person event
/// has none). A closed session's link is only its own, so a seat in the public seminar never
/// reveals it. Who may see the answer is the caller's decision.
pub fn session_link<'a>(
    own: Option<&'a str>,
    access: SessionAccess,
    event_format: EventFormat,
    event_default: Option<&'a str>,
) -> Option<&'a str> {
    own.or_else(|| {
        event_default.filter(|_| access == SessionAccess::Public && event_format.needs_online_url())
    })
}

impl Session {
    /// The link its attendees get (see [`session_link`]).
    pub fn online_link<'a>(&'a self, event: &'a Event) -> Option<&'a str> {
        session_link(
            self.online_url.as_deref(),
            self.access,
            event.format,
            event.online_url.as_deref(),
        )
    }

    /// Whether the public registration form takes entries at `now`.
    pub fn registration_state(&self, now: DateTime<Utc>) -> RegistrationWindow {
        if self.access == SessionAccess::Closed {
            RegistrationWindow::InvitationOnly
        } else if self.registration_opens_at.is_some_and(|at| now < at) {
            RegistrationWindow::NotYetOpen
        } else if now >= self.ends_at || self.registration_closes_at.is_some_and(|at| now >= at) {
            RegistrationWindow::Closed
        } else {
            RegistrationWindow::Open
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationWindow {
    InvitationOnly,
    NotYetOpen,
    Open,
    Closed,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = sessions)]
#[diesel(treat_none_as_null = true)]
pub struct SessionFields {
    pub title: String,
    pub description: Option<String>,
    pub access: SessionAccess,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: Option<i32>,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
    pub requires_approval: bool,
    pub waitlist: bool,
    pub chatham_house: bool,
    pub online_url: Option<String>,
}

impl SessionFields {
    pub fn of(session: &Session) -> SessionFields {
        SessionFields {
            title: session.title.clone(),
            description: session.description.clone(),
            access: session.access,
            starts_at: session.starts_at,
            ends_at: session.ends_at,
            capacity: session.capacity,
            registration_opens_at: session.registration_opens_at,
            registration_closes_at: session.registration_closes_at,
            requires_approval: session.requires_approval,
            waitlist: session.waitlist,
            chatham_house: session.chatham_house,
            online_url: session.online_url.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = speakers)]
pub struct Speaker {
    pub id: Uuid,
    pub session_id: Uuid,
    pub person_id: Option<Uuid>,
    pub name: String,
    pub organization: Option<String>,
    pub role: SpeakerRole,
    pub sort_order: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = speakers)]
pub struct NewSpeaker {
    pub id: Uuid,
    pub session_id: Uuid,
    pub person_id: Option<Uuid>,
    pub name: String,
    pub organization: Option<String>,
    pub role: SpeakerRole,
    pub sort_order: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = outcomes)]
pub struct Outcome {
    pub id: Uuid,
    pub event_id: Uuid,
    pub session_id: Option<Uuid>,
    pub title: String,
    pub body_markdown: String,
    pub published_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outcomes)]
pub struct NewOutcome {
    pub id: Uuid,
    pub event_id: Uuid,
    pub session_id: Option<Uuid>,
    pub title: String,
    pub body_markdown: String,
    pub published_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
}

// --- Views --------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesView {
    pub id: Uuid,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl From<Series> for SeriesView {
    fn from(s: Series) -> Self {
        SeriesView {
            id: s.id,
            name: s.name,
            country: s.country,
            description: s.description,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerView {
    pub organization_id: Uuid,
    pub name: String,
    pub short_name: Option<String>,
    pub role: PartnerRole,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpeakerView {
    pub id: Uuid,
    /// As shown, with the honorific: "Prof. Toshiya Hoshino".
    pub name: String,
    pub role: SpeakerRole,
    /// Affiliation as shown.
    pub organization: Option<String>,
    /// Order of appearance within the session.
    pub order: i32,
}

impl From<&Speaker> for SpeakerView {
    fn from(s: &Speaker) -> Self {
        SpeakerView {
            id: s.id,
            name: s.name.clone(),
            role: s.role,
            organization: s.organization.clone(),
            order: s.sort_order,
        }
    }
}

/// A session. The public and non-staff see a closed session's `id`, `title`, `access`,
/// `starts_at` and `ends_at` only: every other key is absent (rule 2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub access: SessionAccess,
    /// UTC.
    pub starts_at: DateTime<Utc>,
    /// UTC.
    pub ends_at: DateTime<Utc>,
    /// The start in the event's time zone, with its offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub starts_at_local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ends_at_local: Option<String>,
    /// Seats; null means unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i32>)]
    pub capacity: Option<Option<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_approval: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chatham_house: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<SpeakerView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_count: Option<i64>,
    /// The link that joins the session online: its own, else for a public session the event's
    /// `online_url`. Present only for the session's confirmed seat holders, its event's staff
    /// and admins (rule 2); null when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffView {
    pub account_id: Uuid,
    /// Null while the account's address is not verified.
    pub person_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    /// The account that created the event.
    pub lead: bool,
}

/// An event. `online_url`, the default link of its public sessions, is present only for staff,
/// admins and people holding a confirmed seat in one of its public sessions (each session's
/// own link is on the session); `staff` only for staff and admins.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub series_id: Option<Uuid>,
    pub country: Option<String>,
    /// IANA time zone; session times are UTC and shown in this zone.
    pub timezone: String,
    pub format: EventFormat,
    pub venue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
    /// Whom participants write to about the event (shown on its page, the Reply-To of its
    /// emails): both or neither.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub status: EventStatus,
    pub partners: Vec<PartnerView>,
    pub sessions: Vec<SessionView>,
    /// Start of the first session (UTC), if any.
    pub starts_at: Option<DateTime<Utc>>,
    /// End of the last session (UTC), if any.
    pub ends_at: Option<DateTime<Utc>>,
    /// The public page.
    pub page_url: String,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<Vec<StaffView>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeView {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The session it reports on; null for the whole event.
    pub session_id: Option<Uuid>,
    pub session_title: Option<String>,
    pub title: String,
    pub body_markdown: String,
    /// The Markdown rendered to sanitised HTML.
    pub body_html: String,
    pub published: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether the Chatham House rule covers it: then nothing is attributed.
    pub chatham_house: bool,
    /// The session's speakers, for outcomes of sessions on the record; absent for Chatham
    /// House sessions and for outcomes of the whole event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<SpeakerView>>,
}

// --- Requests -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SeriesRequest {
    pub name: Option<String>,
    pub country: Option<String>,
    pub description: Option<String>,
}

/// A new event. Required: `title`, `timezone`, `format`; `venue` for in-person and hybrid
/// events, `online_url` for online and hybrid ones. `slug` is made from the title when absent;
/// `country` defaults to the series' country.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct EventRequest {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub summary: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub series_id: Option<String>,
    pub country: Option<String>,
    #[schema(example = "Asia/Tokyo")]
    pub timezone: Option<String>,
    #[schema(value_type = Option<EventFormat>)]
    pub format: Option<String>,
    pub venue: Option<String>,
    pub online_url: Option<String>,
    /// Whom participants write to about the event; given together with `contact_email`.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

/// A partial update: absent keys stay as they are, `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EventPatch {
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub series_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<EventFormat>)]
    pub format: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub venue: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
}

/// A new session. Times are RFC 3339 (UTC or with an offset), or local wall-clock times
/// (`2022-02-18T09:30`) read in the event's time zone. `chatham_house` defaults to true for
/// closed sessions and false for public ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<SessionAccess>)]
    pub access: Option<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<String>,
    /// Null or absent: unlimited.
    pub capacity: Option<i64>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<String>,
    pub requires_approval: Option<bool>,
    pub waitlist: Option<bool>,
    pub chatham_house: Option<bool>,
    /// The session's own link (http or https). Absent or null: none of its own, so a public
    /// session uses the event's `online_url` and a closed one has no link.
    pub online_url: Option<String>,
}

/// A partial update of a session: absent keys stay, `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionPatch {
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<SessionAccess>)]
    pub access: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<i64>)]
    pub capacity: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<bool>)]
    pub requires_approval: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<bool>)]
    pub waitlist: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<bool>)]
    pub chatham_house: Option<Option<bool>>,
    /// `null` removes the session's own link.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
}

/// A speaker: a known person (`person_id`; name and affiliation are taken from their record
/// unless given), or a `name` with an optional `organization`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SpeakerRequest {
    #[schema(value_type = Option<Uuid>)]
    pub person_id: Option<String>,
    pub name: Option<String>,
    pub organization: Option<String>,
    #[schema(value_type = Option<SpeakerRole>)]
    pub role: Option<String>,
    /// Order of appearance; after the last speaker when absent.
    pub order: Option<i32>,
}

/// Which way a speaker moves in the order of appearance.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SpeakerMove {
    /// `up` (earlier) or `down` (later).
    #[schema(example = "up")]
    pub direction: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartnerRequest {
    #[schema(value_type = Option<Uuid>)]
    pub organization_id: Option<String>,
    #[schema(value_type = Option<PartnerRole>)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StaffRequest {
    #[schema(value_type = Option<Uuid>)]
    pub account_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OutcomeRequest {
    pub title: Option<String>,
    /// Markdown; rendered to sanitised HTML.
    pub body_markdown: Option<String>,
    /// The session it reports on (of this event); absent for the whole event.
    #[schema(value_type = Option<Uuid>)]
    pub session_id: Option<String>,
    /// Publish at once (default false: a draft only staff see).
    pub publish: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_sessions_link_is_only_its_own() {
        use EventFormat::*;
        use SessionAccess::*;
        let (own, event) = (Some("https://own.example/"), Some("https://event.example/"));
        assert_eq!(session_link(own, Closed, Online, event), own);
        assert_eq!(session_link(None, Closed, Online, event), None);
        assert_eq!(session_link(own, Public, Hybrid, event), own);
        assert_eq!(session_link(None, Public, Hybrid, event), event);
        // An in-person event's leftover link is nobody's default.
        assert_eq!(session_link(None, Public, InPerson, event), None);
        assert_eq!(session_link(own, Public, InPerson, event), own);
    }
}
