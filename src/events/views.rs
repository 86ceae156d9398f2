//! What a viewer sees of events and their sessions (rule 2): the API views, built for many
//! events at once in a few queries.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::schema::{event_staff, registrations, sessions, speakers};
use crate::error::{AppError, AppResult};
use crate::events::local_time::local_rfc3339;
use crate::events::model::{Event, Session, SessionAccess, Speaker};
use crate::events::partners::partners_by_event;
use crate::events::staff::staff_by_event;
use crate::events::types::{EventView, SessionView, SpeakerView};
use crate::registrations::model::RegistrationStatus;

/// Which of `event_ids` the viewer runs, and which of their sessions they hold a confirmed
/// seat in (each seat shows that session's link, rule 2).
pub(crate) struct Privileges {
    pub staff: HashSet<Uuid>,
    pub seats: HashSet<Uuid>,
}

pub(crate) async fn privileges(
    conn: &mut AsyncPgConnection,
    viewer: Option<&AuthUser>,
    event_ids: &[Uuid],
) -> AppResult<Privileges> {
    let mut privileges = Privileges {
        staff: HashSet::new(),
        seats: HashSet::new(),
    };
    let Some(user) = viewer else {
        return Ok(privileges);
    };
    // One round trip for both (session ids of seats, event ids of staff): this runs on every
    // signed-in event read. An unverified account is nobody's person: it holds no seat (NULL
    // matches nothing).
    let confirmed = registrations::table
        .inner_join(sessions::table)
        .filter(
            registrations::person_id
                .nullable()
                .eq(user.person().map(|p| p.id)),
        )
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .filter(sessions::event_id.eq_any(event_ids))
        .select((sessions::id, false.into_sql::<Bool>()));
    let runs = event_staff::table
        .filter(event_staff::account_id.eq(user.account.id))
        .filter(event_staff::event_id.eq_any(event_ids))
        .select((event_staff::event_id, true.into_sql::<Bool>()));
    let rows: Vec<(Uuid, bool)> = if user.is_admin() {
        privileges.staff.extend(event_ids);
        confirmed.load(conn).await?
    } else {
        confirmed.union_all(runs).load(conn).await?
    };
    for (id, is_staff) in rows {
        if is_staff {
            privileges.staff.insert(id);
        } else {
            privileges.seats.insert(id);
        }
    }
    Ok(privileges)
}

/// Confirmed registrations per session (the same count as `registrations::seats::confirmed_count`,
/// taken for many sessions at once).
pub async fn confirmed_counts(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, i64>> {
    Ok(registrations::table
        .filter(registrations::session_id.eq_any(session_ids))
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .group_by(registrations::session_id)
        .select((registrations::session_id, diesel::dsl::count_star()))
        .load::<(Uuid, i64)>(conn)
        .await?
        .into_iter()
        .collect())
}

/// The speakers of each of `session_ids`, in their order of appearance.
pub async fn speakers_by_session(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Speaker>>> {
    let rows: Vec<Speaker> = speakers::table
        .filter(speakers::session_id.eq_any(session_ids))
        .order((
            speakers::sort_order.asc(),
            speakers::created_at.asc(),
            speakers::id.asc(),
        ))
        .select(Speaker::as_select())
        .load(conn)
        .await?;
    let mut map: HashMap<Uuid, Vec<Speaker>> = HashMap::new();
    for s in rows {
        map.entry(s.session_id).or_default().push(s);
    }
    Ok(map)
}

/// A session as this viewer may see it: everything for staff and for public sessions; a
/// closed session's id, title, access and times only for everyone else (rule 2). `link` is
/// the session's online link for a viewer who may see it (staff, a confirmed seat holder),
/// `None` for everyone else.
pub fn session_view(
    session: &Session,
    zone: chrono_tz::Tz,
    full: bool,
    speakers: &[Speaker],
    confirmed_count: i64,
    link: Option<Option<&str>>,
) -> SessionView {
    let online_url = link.map(|l| l.map(str::to_owned));
    if !full {
        return SessionView {
            id: session.id,
            event_id: None,
            title: session.title.clone(),
            description: None,
            access: session.access,
            starts_at: session.starts_at,
            ends_at: session.ends_at,
            starts_at_local: None,
            ends_at_local: None,
            capacity: None,
            registration_opens_at: None,
            registration_closes_at: None,
            requires_approval: None,
            waitlist: None,
            chatham_house: None,
            speakers: None,
            confirmed_count: None,
            online_url,
        };
    }
    SessionView {
        id: session.id,
        event_id: Some(session.event_id),
        title: session.title.clone(),
        description: Some(session.description.clone()),
        access: session.access,
        starts_at: session.starts_at,
        ends_at: session.ends_at,
        starts_at_local: Some(local_rfc3339(session.starts_at, zone)),
        ends_at_local: Some(local_rfc3339(session.ends_at, zone)),
        capacity: Some(session.capacity),
        registration_opens_at: Some(session.registration_opens_at),
        registration_closes_at: Some(session.registration_closes_at),
        requires_approval: Some(session.requires_approval),
        waitlist: Some(session.waitlist),
        chatham_house: Some(session.chatham_house),
        speakers: Some(speakers.iter().map(SpeakerView::from).collect()),
        confirmed_count: Some(confirmed_count),
        online_url,
    }
}

/// The views of `events` for `viewer`, loading what they show in a few queries.
pub async fn event_views(
    conn: &mut AsyncPgConnection,
    events: Vec<Event>,
    viewer: Option<&AuthUser>,
    links: &Links,
) -> AppResult<Vec<EventView>> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let privileges = privileges(conn, viewer, &ids).await?;
    let all_sessions: Vec<Session> = sessions::table
        .filter(sessions::event_id.eq_any(&ids))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select(Session::as_select())
        .load(conn)
        .await?;
    let session_ids: Vec<Uuid> = all_sessions.iter().map(|s| s.id).collect();
    let speakers = speakers_by_session(conn, &session_ids).await?;
    let counts = confirmed_counts(conn, &session_ids).await?;
    let mut partners = partners_by_event(conn, &ids).await?;
    let staff_ids: Vec<Uuid> = privileges.staff.iter().copied().collect();
    let mut staff = staff_by_event(conn, &staff_ids).await?;
    let mut by_event: HashMap<Uuid, Vec<&Session>> = HashMap::new();
    for s in &all_sessions {
        by_event.entry(s.event_id).or_default().push(s);
    }
    Ok(events
        .into_iter()
        .map(|event| {
            let is_staff = privileges.staff.contains(&event.id);
            let zone = event.zone();
            let sessions_of = by_event.remove(&event.id).unwrap_or_default();
            let holds_seat = |s: &Session| privileges.seats.contains(&s.id);
            // The event's link is its public sessions' default: shown to whoever sees one of
            // those sessions' links, never to a closed session's attendees as such.
            let sees_event_link = is_staff
                || sessions_of
                    .iter()
                    .any(|s| s.access == SessionAccess::Public && holds_seat(s));
            let starts_at = sessions_of.iter().map(|s| s.starts_at).min();
            let ends_at = sessions_of.iter().map(|s| s.ends_at).max();
            let sessions = sessions_of
                .iter()
                .map(|s| {
                    session_view(
                        s,
                        zone,
                        is_staff || s.access == SessionAccess::Public,
                        speakers.get(&s.id).map(Vec::as_slice).unwrap_or_default(),
                        counts.get(&s.id).copied().unwrap_or(0),
                        (is_staff || holds_seat(s)).then(|| s.online_link(&event)),
                    )
                })
                .collect();
            EventView {
                id: event.id,
                page_url: links.event_page(&event.slug),
                slug: event.slug,
                title: event.title,
                summary: event.summary,
                series_id: event.series_id,
                country: event.country,
                timezone: event.timezone,
                format: event.format,
                venue: event.venue,
                online_url: sees_event_link.then_some(event.online_url),
                contact_name: event.contact_name,
                contact_email: event.contact_email,
                status: event.status,
                partners: partners.remove(&event.id).unwrap_or_default(),
                sessions,
                starts_at,
                ends_at,
                published_at: event.published_at,
                created_at: event.created_at,
                staff: if is_staff {
                    Some(staff.remove(&event.id).unwrap_or_default())
                } else {
                    None
                },
            }
        })
        .collect())
}

pub async fn event_view(
    conn: &mut AsyncPgConnection,
    event: Event,
    viewer: Option<&AuthUser>,
    links: &Links,
) -> AppResult<EventView> {
    event_views(conn, vec![event], viewer, links)
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("event view missing"))
}
