//! iCalendar documents: the public feed of an event and the `.ics` attached to emails.
//!
//! Sessions carry `DTSTART;TZID=<the event's zone>` with a VTIMEZONE describing the zone's
//! offset, so calendar clients show the event's local time. When sessions fall on both sides of
//! a daylight-saving change, one fixed-offset VTIMEZONE would be wrong, so times are written
//! in UTC instead (always valid; clients convert to the viewer's zone).

use chrono::{DateTime, Offset, Utc};
use chrono_tz::{OffsetName, Tz};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use icalendar::{Calendar, CalendarDateTime, Component, EventLike, EventStatus};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::schema::sessions;
use crate::error::AppResult;
use crate::events::access::visible_event;
use crate::events::model::{self, Event, EventFormat, Session, SessionAccess};
use crate::events::views::privileges;

/// Convene's one product identifier: every calendar carries it, and no other.
pub const PRODID: &str = "-//APPAP//Convene//EN";

/// The iTIP method of a calendar (RFC 5546). Convene never sends `REQUEST`: a request needs
/// an ORGANIZER whose mailbox takes the attendee's REPLY, and answers are taken only through
/// Convene's own link (docs/decisions/0012-calendar-method.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarMethod {
    /// The feed, offers and held seats: entries to show (or update, by SEQUENCE).
    Publish,
    /// Entries to remove: the recipient no longer holds (or is offered) these sessions.
    Cancel,
}

impl CalendarMethod {
    fn as_str(self) -> &'static str {
        match self {
            CalendarMethod::Publish => "PUBLISH",
            CalendarMethod::Cancel => "CANCEL",
        }
    }
}

/// One session as a calendar entry.
#[derive(Debug, Clone)]
pub struct CalendarSession {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Venue or online link, as the viewer may see it.
    pub location: Option<String>,
    pub url: Option<String>,
    /// The session's `sequence` column: raised by every change calendars show and by every
    /// cancellation sent, so clients replace (or remove) the entry they hold (RFC 5545).
    pub sequence: u32,
}

/// The SEQUENCE of a session's revision counter (never negative in the database).
pub fn revision(sequence: i32) -> u32 {
    u32::try_from(sequence).unwrap_or(0)
}

/// The UID of a session's entries, the same in every calendar Convene sends.
pub fn session_uid(session_id: Uuid) -> String {
    format!("{session_id}@convene")
}

/// A VCALENDAR with one VEVENT per session. `Cancel` marks each entry cancelled and leaves out
/// what a removal does not need (description, place, links).
pub fn calendar_for_sessions(
    event_title: &str,
    timezone: &str,
    sessions: &[CalendarSession],
    method: CalendarMethod,
) -> String {
    let tz: Tz = timezone.parse().unwrap_or(Tz::UTC);
    let fixed_offset = single_offset(&tz, sessions);
    // `empty`, not `new`: `new` adds the crate's own PRODID beside ours.
    let mut calendar = Calendar::empty();
    calendar
        .append_property(("VERSION", "2.0"))
        .append_property(("PRODID", PRODID))
        .append_property(("CALSCALE", "GREGORIAN"))
        .append_property(("METHOD", method.as_str()))
        // RFC 7986 NAME: the calendar's name, a standard property (unlike X-WR-CALNAME).
        .append_property(("NAME", event_title));
    for session in sessions {
        let mut event = session_event(session, &tz, fixed_offset.is_some());
        if method == CalendarMethod::Cancel {
            event.status(EventStatus::Cancelled);
        }
        calendar.push(event);
    }
    let text = calendar.done().to_string();
    match fixed_offset {
        Some((offset_secs, abbreviation)) => {
            insert_vtimezone(&text, tz.name(), offset_secs, &abbreviation)
        }
        None => text,
    }
}

/// A CANCEL of these sessions: the entries as they stand, to be removed. The caller gives each
/// session's sequence after raising it.
pub fn cancel_calendar(event_title: &str, timezone: &str, sessions: &[CalendarSession]) -> String {
    let bare: Vec<CalendarSession> = sessions
        .iter()
        .map(|s| CalendarSession {
            description: None,
            location: None,
            url: None,
            ..s.clone()
        })
        .collect();
    calendar_for_sessions(event_title, timezone, &bare, CalendarMethod::Cancel)
}

/// One VEVENT; `local` writes TZID-qualified local times, otherwise UTC.
pub fn session_event(session: &CalendarSession, tz: &Tz, local: bool) -> icalendar::Event {
    let when = |at: DateTime<Utc>| -> CalendarDateTime {
        if local {
            CalendarDateTime::WithTimezone {
                date_time: at.with_timezone(tz).naive_local(),
                tzid: tz.name().to_owned(),
            }
        } else {
            CalendarDateTime::Utc(at)
        }
    };
    let mut event = icalendar::Event::new();
    event
        .uid(&session_uid(session.id))
        .summary(&session.title)
        .timestamp(Utc::now())
        .sequence(session.sequence)
        .starts(when(session.starts_at))
        .ends(when(session.ends_at));
    if let Some(description) = &session.description {
        event.description(description);
    }
    if let Some(location) = &session.location {
        event.location(location);
    }
    if let Some(url) = &session.url {
        event.url(url);
    }
    event.done()
}

/// The zone's offset when every session shares it (no DST change between them).
fn single_offset(tz: &Tz, sessions: &[CalendarSession]) -> Option<(i32, String)> {
    let mut found: Option<(i32, String)> = None;
    for at in sessions.iter().flat_map(|s| [s.starts_at, s.ends_at]) {
        let offset = tz.offset_from_utc_datetime(&at.naive_utc());
        let secs = offset.fix().local_minus_utc();
        let abbreviation = offset.abbreviation().unwrap_or("").to_owned();
        match &found {
            None => found = Some((secs, abbreviation)),
            Some((s, _)) if *s == secs => {}
            Some(_) => return None,
        }
    }
    found
        .or(Some((0, "UTC".to_owned())))
        .filter(|_| !sessions.is_empty())
}

use chrono::TimeZone;

fn insert_vtimezone(text: &str, tzid: &str, offset_secs: i32, abbreviation: &str) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.abs();
    let offset = format!("{sign}{:02}{:02}", abs / 3600, (abs % 3600) / 60);
    let name = if abbreviation.is_empty() || abbreviation.starts_with(['+', '-']) {
        String::new()
    } else {
        format!("TZNAME:{abbreviation}\r\n")
    };
    let vtimezone = format!(
        "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
         TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\n{name}END:STANDARD\r\nEND:VTIMEZONE\r\n"
    );
    match text.find("BEGIN:VEVENT") {
        Some(at) => format!("{}{}{}", &text[..at], vtimezone, &text[at..]),
        None => text.to_owned(),
    }
}

// --- The public feed of an event ----------------------------------------------------------

/// Where a session takes place as the public may know it: never the online link.
pub fn public_location(event: &Event) -> Option<String> {
    match event.format {
        EventFormat::Online => Some("Online".to_owned()),
        EventFormat::InPerson => event.venue.clone(),
        EventFormat::Hybrid => event
            .venue
            .as_ref()
            .map(|v| format!("{v} (and online)"))
            .or_else(|| Some("Online".to_owned())),
    }
}

/// The event's public sessions as an iCalendar feed, in the event's time zone; a signed-in
/// viewer's feed adds the sessions they hold a confirmed seat in, with those sessions' online
/// links (staff: every listed session's link). A cancelled event's feed is empty, so
/// subscribed calendars drop its sessions.
pub async fn calendar_feed(
    conn: &mut AsyncPgConnection,
    viewer: Option<&AuthUser>,
    id_or_slug: &str,
    links: &Links,
) -> AppResult<(String, String)> {
    let event = visible_event(conn, viewer, id_or_slug).await?;
    let privileges = privileges(conn, viewer, &[event.id]).await?;
    let is_staff = privileges.staff.contains(&event.id);
    let rows: Vec<Session> = if event.status == model::EventStatus::Cancelled {
        Vec::new()
    } else {
        sessions::table
            .filter(sessions::event_id.eq(event.id))
            .order((sessions::starts_at.asc(), sessions::id.asc()))
            .select(Session::as_select())
            .load(conn)
            .await?
    };
    let url = links.event_page(&event.slug);
    let location = public_location(&event);
    let entries: Vec<CalendarSession> = rows
        .iter()
        // The public sessions, and the viewer's own seats (a closed session's too).
        .filter(|s| s.access == SessionAccess::Public || privileges.seats.contains(&s.id))
        .map(|s| {
            // Rule 2: a session's link only with a confirmed seat in it, or for staff.
            let link = s
                .online_link(&event)
                .filter(|_| is_staff || privileges.seats.contains(&s.id));
            let mut description = match &s.description {
                Some(d) => format!("{d}\n\n{}\n{url}", event.title),
                None => format!("{}\n{url}", event.title),
            };
            if let Some(link) = link {
                description.push_str(&format!("\n\nTo join online: {link}"));
            }
            CalendarSession {
                id: s.id,
                title: s.title.clone(),
                description: Some(description),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                location: match (event.format, link) {
                    (EventFormat::Online, Some(link)) => Some(link.to_owned()),
                    _ => location.clone(),
                },
                url: Some(url.clone()),
                sequence: revision(s.sequence),
            }
        })
        .collect();
    let ics = calendar_for_sessions(
        &event.title,
        &event.timezone,
        &entries,
        CalendarMethod::Publish,
    );
    Ok((ics, event.slug))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn tokyo_sessions_use_local_time_and_a_vtimezone() {
        let session = CalendarSession {
            id: Uuid::nil(),
            title: "Public seminar".into(),
            description: Some("R2P, Japan and atrocity prevention".into()),
            starts_at: Utc.with_ymd_and_hms(2022, 2, 18, 7, 0, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2022, 2, 18, 9, 0, 0).unwrap(),
            location: None,
            url: None,
            sequence: 0,
        };
        let ics = calendar_for_sessions("Japan", "Asia/Tokyo", &[session], CalendarMethod::Publish);
        assert!(ics.contains("METHOD:PUBLISH"));
        assert_eq!(ics.matches("PRODID").count(), 1);
        assert!(!ics.contains("TIMEZONE-ID"));
        assert!(!ics.contains("X-"));
        assert!(ics.contains("BEGIN:VTIMEZONE"));
        assert!(ics.contains("TZOFFSETTO:+0900"));
        assert!(ics.contains("DTSTART;TZID=Asia/Tokyo:20220218T160000"));
    }
}
