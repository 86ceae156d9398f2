//! Rows of the dialogue tables, what is inserted into them, and the enums their columns hold.
//! The API's request bodies and views are in [`crate::events::types`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
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
