//! What other domains read of an event and its sessions to decide (registration and invitation
//! rules, their emails and pages): the events domain's facts, read straight from its tables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::events::model::{EventFormat, EventStatus, SessionAccess};

/// A session as other domains decide on it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::sessions)]
pub struct SessionFacts {
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
    /// Its own link; [`SessionFacts::online_link`] is the one its attendees get.
    pub online_url: Option<String>,
    /// The revision of its calendar entries (RFC 5545 SEQUENCE), see `events::calendar`.
    pub sequence: i32,
}

impl SessionFacts {
    pub fn is_public(&self) -> bool {
        self.access == SessionAccess::Public
    }

    /// The link that joins this session online, for someone holding a seat in it (rule 2):
    /// its own, else for a public session the event's (`events::model::session_link`).
    pub fn online_link<'a>(&'a self, event: &'a EventFacts) -> Option<&'a str> {
        crate::events::model::session_link(
            self.online_url.as_deref(),
            self.access,
            event.format,
            event.online_url.as_deref(),
        )
    }

    pub fn is_closed(&self) -> bool {
        self.access == SessionAccess::Closed
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::events)]
pub struct EventFacts {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub timezone: String,
    pub format: EventFormat,
    pub venue: Option<String>,
    pub online_url: Option<String>,
    pub status: EventStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

impl EventFacts {
    /// Whom participants write to about the event: the Reply-To and the closing line of its
    /// messages. Both a name and an address, or none.
    pub fn contact(&self) -> Option<crate::mail::Contact> {
        Some(crate::mail::Contact {
            name: self.contact_name.clone()?,
            email: self.contact_email.clone()?,
        })
    }

    pub fn is_published(&self) -> bool {
        self.status == EventStatus::Published
    }

    pub fn is_draft(&self) -> bool {
        self.status == EventStatus::Draft
    }

    /// Whether anyone may know the event exists (see `EventStatus::is_public`).
    pub fn is_public(&self) -> bool {
        self.status.is_public(self.published_at)
    }

    /// Invitations are sent and answered for dialogues still to come.
    pub fn accepts_invitations(&self) -> bool {
        matches!(self.status, EventStatus::Draft | EventStatus::Published)
    }

    pub fn zone(&self) -> chrono_tz::Tz {
        crate::events::local_time::zone(&self.timezone)
    }

    /// A session's time in this event's zone: "Fri 18 Feb 2022, 16:00–18:00 JST (Asia/Tokyo)".
    pub fn local_time(&self, session: &SessionFacts) -> String {
        crate::events::local_time::format_range(session.starts_at, session.ends_at, &self.zone())
    }
}
