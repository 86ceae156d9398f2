//! The rules of series and events: creating and editing them, their lifecycle, partners and
//! staff, who sees what of them (rule 2), listing, and the public calendar feed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Timestamptz};
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::model::Role;
use crate::auth::AuthUser;
use crate::context::{Context, Links};
use crate::db::is_unique_violation;
use crate::db::page::{NameAndId, Page, PageRequest, TimeAndId};
use crate::db::schema::{
    accounts, event_partners, event_staff, events, invitations, organizations, people,
    registrations, series, sessions, speakers,
};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::require_event_staff;
use crate::events::calendar::{calendar_for_sessions, CalendarMethod, CalendarSession};
use crate::events::local_time::format_range;
use crate::events::model::*;
use crate::events::types::{Slug, TimeZone};
use crate::invitations::model::InvitationStatus;
use crate::mail::{EmailAction, EmailBody, OutgoingEmail};
use crate::organizations::{CountryCode, WebsiteUrl};
use crate::registrations::model::{RegistrationStatus, SessionFacts};
use crate::text::{check_characters, Lines};

// --- Small parsing helpers shared by the dialogue services ------------------------------------

/// A trimmed optional text: empty means absent; longer than `max` characters, or a control
/// character `lines` does not allow, is an error.
pub(crate) fn optional_text(
    v: &mut Validator,
    field: &str,
    raw: Option<String>,
    max: usize,
    lines: Lines,
) -> Option<String> {
    let text = raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())?;
    if text.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
        return None;
    }
    if let Err(message) = check_characters(&text, lines) {
        v.add(field, message);
        return None;
    }
    Some(text)
}

/// A trimmed required one-line text (a title, a name) of 1 to `max` characters.
pub(crate) fn required_text(
    v: &mut Validator,
    field: &str,
    raw: Option<String>,
    max: usize,
) -> Option<String> {
    match raw.map(|t| t.trim().to_owned()) {
        None => {
            v.add(field, "is required");
            None
        }
        Some(t) if t.is_empty() => {
            v.add(field, "must not be empty");
            None
        }
        Some(t) if t.chars().count() > max => {
            v.add(field, format!("must be at most {max} characters"));
            None
        }
        Some(t) => match check_characters(&t, Lines::Single) {
            Ok(()) => Some(t),
            Err(message) => {
                v.add(field, message);
                None
            }
        },
    }
}

pub(crate) fn parse_uuid(v: &mut Validator, field: &str, raw: &str) -> Option<Uuid> {
    v.check(
        field,
        Uuid::parse_str(raw.trim()).map_err(|_| format!("`{}` is not an id (a UUID)", raw.trim())),
    )
}

// --- Series ---------------------------------------------------------------------------------

pub async fn list_series(
    conn: &mut AsyncPgConnection,
    page: &PageRequest<NameAndId>,
) -> AppResult<Page<SeriesView>> {
    let mut query = series::table.into_boxed();
    if let Some((name, id)) = page.after.clone() {
        query = query.filter(
            series::name
                .gt(name.clone())
                .or(series::name.eq(name).and(series::id.gt(id))),
        );
    }
    let rows: Vec<Series> = query
        .order((series::name.asc(), series::id.asc()))
        .limit(page.fetch())
        .select(Series::as_select())
        .load(conn)
        .await?;
    Ok(Page::from_rows(rows, page, |s| (s.name.clone(), s.id)).map(SeriesView::from))
}

pub async fn create_series(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    req: SeriesRequest,
) -> AppResult<SeriesView> {
    let mut v = Validator::new();
    let name = required_text(&mut v, "name", req.name, 300);
    let country = req
        .country
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| v.check("country", CountryCode::parse(&c)));
    let description = optional_text(&mut v, "description", req.description, 5000, Lines::Multi);
    v.finish()?;
    let row = NewSeries {
        id: Uuid::now_v7(),
        name: name.unwrap_or_default(),
        country: country.map(|c| c.as_str().to_owned()),
        description,
        created_by: Some(user.account.id),
    };
    let created = diesel::insert_into(series::table)
        .values(&row)
        .returning(Series::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "series_name") {
                AppError::conflict(
                    Code::SeriesNameTaken,
                    "a series with this name already exists",
                )
            } else {
                e.into()
            }
        })?;
    Ok(created.into())
}

// --- Finding events and deciding what a viewer may see ------------------------------------

/// The event named by its id or its slug.
pub async fn find_event(
    conn: &mut AsyncPgConnection,
    id_or_slug: &str,
) -> AppResult<Option<Event>> {
    let query = events::table.select(Event::as_select()).into_boxed();
    let query = match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(events::id.eq(id)),
        Err(_) => query.filter(events::slug.eq(id_or_slug)),
    };
    Ok(query.first(conn).await.optional()?)
}

/// The event, if `viewer` may see it: anyone a public one, staff and admins any.
pub async fn visible_event(
    conn: &mut AsyncPgConnection,
    viewer: Option<&AuthUser>,
    id_or_slug: &str,
) -> AppResult<Event> {
    let event = find_event(conn, id_or_slug)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    if event.is_public() {
        return Ok(event);
    }
    match viewer {
        Some(user) if crate::events::access::is_event_staff(conn, user, event.id).await? => {
            Ok(event)
        }
        _ => Err(AppError::not_found("event")),
    }
}

/// Whether `viewer` may see more of the event `id_or_slug` than the public does: an admin, its
/// staff, or the holder of a seat in it (who sees that session's link). Everyone else sees exactly
/// the anonymous view, so the caller may serve the cached one. One round trip; false also when
/// there is no such event (the anonymous path then answers 404, as it would to them).
pub async fn sees_more_than_the_public(
    conn: &mut AsyncPgConnection,
    viewer: &AuthUser,
    id_or_slug: &str,
) -> AppResult<bool> {
    if viewer.is_admin() {
        return Ok(true);
    }
    let the_event = || {
        let event = events::table.select(events::id).into_boxed();
        match Uuid::parse_str(id_or_slug) {
            Ok(id) => event.filter(events::id.eq(id)),
            Err(_) => event.filter(events::slug.eq(id_or_slug)),
        }
    };
    let runs_it = event_staff::table
        .filter(event_staff::account_id.eq(viewer.account.id))
        .filter(event_staff::event_id.eq_any(the_event()));
    // An unverified account is nobody's person: it holds no seat (its person id matches none).
    let holds_a_seat = registrations::table
        .inner_join(sessions::table)
        .filter(
            registrations::person_id
                .nullable()
                .eq(viewer.person().map(|p| p.id)),
        )
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .filter(sessions::event_id.eq_any(the_event()));
    Ok(
        diesel::select(diesel::dsl::exists(runs_it).or(diesel::dsl::exists(holds_a_seat)))
            .get_result(conn)
            .await?,
    )
}

/// The event for a change only its staff may make: 404 when missing or when the caller may
/// not know it exists (a draft), 403 when they may know it but do not run it.
pub async fn event_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id_or_slug: &str,
) -> AppResult<Event> {
    let event = find_event(conn, id_or_slug)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    require_event_staff(conn, user, event.id, event.is_public()).await?;
    Ok(event)
}

/// Which of `event_ids` the viewer runs, and which of their sessions they hold a confirmed
/// seat in (each seat shows that session's link, rule 2).
struct Privileges {
    staff: HashSet<Uuid>,
    seats: HashSet<Uuid>,
}

async fn privileges(
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

pub async fn partners_by_event(
    conn: &mut AsyncPgConnection,
    event_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<PartnerView>>> {
    let rows: Vec<(Uuid, Uuid, String, Option<String>, PartnerRole)> = event_partners::table
        .inner_join(organizations::table)
        .filter(event_partners::event_id.eq_any(event_ids))
        .order(organizations::name.asc())
        .select((
            event_partners::event_id,
            organizations::id,
            organizations::name,
            organizations::short_name,
            event_partners::role,
        ))
        .load(conn)
        .await?;
    let mut map: HashMap<Uuid, Vec<PartnerView>> = HashMap::new();
    for (event_id, organization_id, name, short_name, role) in rows {
        map.entry(event_id).or_default().push(PartnerView {
            organization_id,
            name,
            short_name,
            role,
        });
    }
    for list in map.values_mut() {
        // Lead organiser first, then co-organisers, supporters, funders.
        list.sort_by_key(|p| PartnerRole::ALL.iter().position(|r| *r == p.role));
    }
    Ok(map)
}

pub(crate) async fn staff_by_event(
    conn: &mut AsyncPgConnection,
    event_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<StaffView>>> {
    if event_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, Uuid, Option<Uuid>, String, String, bool)> = event_staff::table
        .inner_join(accounts::table)
        .filter(event_staff::event_id.eq_any(event_ids))
        .order((event_staff::lead.desc(), event_staff::created_at.asc()))
        .select((
            event_staff::event_id,
            accounts::id,
            accounts::person_id,
            accounts::name,
            accounts::email,
            event_staff::lead,
        ))
        .load(conn)
        .await?;
    let mut map: HashMap<Uuid, Vec<StaffView>> = HashMap::new();
    for (event_id, account_id, person_id, name, email, lead) in rows {
        map.entry(event_id).or_default().push(StaffView {
            account_id,
            person_id,
            name,
            email,
            lead,
        });
    }
    Ok(map)
}

pub fn local_rfc3339(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
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

// --- Creating and editing events ------------------------------------------------------------

/// Checks the combined fields of an event (after a PATCH is laid over the stored ones).
fn check_event_fields(v: &mut Validator, fields: &EventFields) {
    if fields.format.needs_venue() && fields.venue.is_none() {
        v.add(
            "venue",
            format!("is required for a {} event", fields.format.as_str()),
        );
    }
    if fields.format.needs_online_url() && fields.online_url.is_none() {
        v.add(
            "online_url",
            format!("is required for a {} event", fields.format.as_str()),
        );
    }
    // A contact is someone to write to: a name alone, or an address nobody signs, is not one.
    match (&fields.contact_name, &fields.contact_email) {
        (Some(_), None) => v.add("contact_email", "is required with contact_name"),
        (None, Some(_)) => v.add("contact_name", "is required with contact_email"),
        _ => {}
    }
}

/// Whom participants write to about the event, when it has a contact.
pub fn event_contact(event: &Event) -> Option<crate::mail::Contact> {
    Some(crate::mail::Contact {
        name: event.contact_name.clone()?,
        email: event.contact_email.clone()?,
    })
}

/// An event's contact name, checked like a person's name.
fn contact_name(v: &mut Validator, raw: Option<String>) -> Option<String> {
    raw.filter(|n| !n.trim().is_empty())
        .and_then(|n| v.check("contact_name", crate::people::service::parse_name(&n)))
}

/// An event's contact address, checked like any email address.
fn contact_email(v: &mut Validator, raw: Option<String>) -> Option<String> {
    raw.filter(|e| !e.trim().is_empty())
        .and_then(|e| v.check("contact_email", crate::people::EmailAddress::parse(&e)))
        .map(|e| e.as_str().to_owned())
}

async fn series_exists(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Option<Series>> {
    Ok(series::table
        .find(id)
        .select(Series::as_select())
        .first(conn)
        .await
        .optional()?)
}

async fn slug_in_use(
    conn: &mut AsyncPgConnection,
    slug: &Slug,
    except: Option<Uuid>,
) -> AppResult<bool> {
    let mut query = events::table
        .filter(events::slug.eq(slug.as_str()))
        .select(events::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(events::id.ne(id));
    }
    Ok(query.first::<Uuid>(conn).await.optional()?.is_some())
}

/// The first of `base`, `base-2`, `base-3`, ... that no event uses.
async fn free_slug(conn: &mut AsyncPgConnection, base: &Slug) -> AppResult<Slug> {
    let taken: HashSet<String> = events::table
        .filter(
            events::slug
                .eq(base.as_str())
                .or(events::slug.like(format!("{}-%", base.as_str()))),
        )
        .select(events::slug)
        .load::<String>(conn)
        .await?
        .into_iter()
        .collect();
    if !taken.contains(base.as_str()) {
        return Ok(base.clone());
    }
    let mut n = 2;
    loop {
        let candidate = base.with_suffix(n);
        if !taken.contains(candidate.as_str()) {
            return Ok(candidate);
        }
        n += 1;
    }
}

fn slug_taken() -> AppError {
    AppError::conflict(Code::SlugTaken, "another event already uses this slug")
}

pub async fn create_event(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    req: EventRequest,
    links: &Links,
) -> AppResult<EventView> {
    let mut v = Validator::new();
    let title = required_text(&mut v, "title", req.title, 300);
    let slug = req
        .slug
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| v.check("slug", Slug::parse(&s)));
    let summary = optional_text(&mut v, "summary", req.summary, 5000, Lines::Multi);
    let series_id = req
        .series_id
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_uuid(&mut v, "series_id", &s));
    let country = req
        .country
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| v.check("country", CountryCode::parse(&c)));
    let timezone = match req.timezone {
        None => {
            v.add(
                "timezone",
                "is required (an IANA time zone such as Asia/Tokyo)",
            );
            None
        }
        Some(tz) => v.check("timezone", TimeZone::parse(&tz)),
    };
    let format = match req.format {
        None => {
            v.add("format", "is required: online, in_person or hybrid");
            None
        }
        Some(f) => v.check("format", f.trim().parse::<EventFormat>()),
    };
    let venue = optional_text(&mut v, "venue", req.venue, 500, Lines::Multi);
    let contact_name = contact_name(&mut v, req.contact_name);
    let contact_email = contact_email(&mut v, req.contact_email);
    let online_url = req
        .online_url
        .filter(|u| !u.trim().is_empty())
        .and_then(|u| v.check("online_url", WebsiteUrl::parse(&u)));
    let series = match series_id {
        Some(id) => {
            let found = series_exists(conn, id).await?;
            if found.is_none() {
                v.add("series_id", "no such series");
            }
            found
        }
        None => None,
    };
    let (Some(title), Some(timezone), Some(format)) = (title, timezone, format) else {
        return Err(v
            .finish()
            .err()
            .unwrap_or_else(|| AppError::internal("validation")));
    };
    let mut fields = EventFields {
        series_id,
        slug: String::new(),
        // A series' country is the default for its editions.
        country: country
            .map(|c| c.as_str().to_owned())
            .or_else(|| series.and_then(|s| s.country)),
        timezone: timezone.name().to_owned(),
        format,
        venue,
        online_url: online_url.map(WebsiteUrl::into_string),
        contact_name,
        contact_email,
        summary,
        title,
    };
    // "Required for this format" only when the field itself was fine.
    if v.is_ok() {
        check_event_fields(&mut v, &fields);
    }
    v.finish()?;

    let given_slug = slug.is_some();
    let base = slug.unwrap_or_else(|| Slug::from_title(&fields.title));
    // A generated slug retries on a race for the same name; a given one is the client's to
    // change.
    for _ in 0..10 {
        let candidate = if given_slug {
            if slug_in_use(conn, &base, None).await? {
                return Err(slug_taken());
            }
            base.clone()
        } else {
            free_slug(conn, &base).await?
        };
        fields.slug = candidate.as_str().to_owned();
        let id = Uuid::now_v7();
        let inserted = conn
            .transaction::<_, diesel::result::Error, _>(|conn| {
                let fields = fields.clone();
                async move {
                    diesel::insert_into(events::table)
                        .values((
                            events::id.eq(id),
                            &fields,
                            events::status.eq(EventStatus::Draft),
                            events::created_by.eq(user.account.id),
                        ))
                        .execute(conn)
                        .await?;
                    diesel::insert_into(event_staff::table)
                        .values((
                            event_staff::event_id.eq(id),
                            event_staff::account_id.eq(user.account.id),
                            event_staff::lead.eq(true),
                        ))
                        .execute(conn)
                        .await?;
                    events::table
                        .find(id)
                        .select(Event::as_select())
                        .get_result(conn)
                        .await
                }
                .scope_boxed()
            })
            .await;
        match inserted {
            Ok(event) => return event_view(conn, event, Some(user), links).await,
            Err(e) if is_unique_violation(&e, "events_slug_key") => {
                if given_slug {
                    return Err(slug_taken());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::conflict(
        Code::SlugTaken,
        "could not find a free slug for this title; give one",
    ))
}

/// A PATCH field that may be cleared: `Some(None)` (explicit null) or empty text clears it.
fn patch_optional_text(
    v: &mut Validator,
    field: &str,
    patch: Option<Option<String>>,
    current: Option<String>,
    max: usize,
    lines: Lines,
) -> Option<String> {
    match patch {
        None => current,
        Some(value) => optional_text(v, field, value, max, lines),
    }
}

pub async fn update_event(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    id_or_slug: &str,
    patch: EventPatch,
    links: &Links,
) -> AppResult<EventView> {
    let event = event_for_staff(conn, user, id_or_slug).await?;
    let mut fields = EventFields::of(&event);
    let mut v = Validator::new();
    if let Some(title) = patch.title {
        if let Some(t) = required_text(&mut v, "title", title, 300) {
            fields.title = t;
        }
    }
    let mut new_slug = None;
    if let Some(slug) = patch.slug {
        match slug {
            None => v.add("slug", "may not be null"),
            Some(s) => {
                if let Some(slug) = v.check("slug", Slug::parse(&s)) {
                    fields.slug = slug.as_str().to_owned();
                    new_slug = Some(slug);
                }
            }
        }
    }
    fields.summary = patch_optional_text(
        &mut v,
        "summary",
        patch.summary,
        fields.summary,
        5000,
        Lines::Multi,
    );
    if let Some(series_id) = patch.series_id {
        fields.series_id = match series_id.filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(raw) => match parse_uuid(&mut v, "series_id", &raw) {
                Some(id) if series_exists(conn, id).await?.is_some() => Some(id),
                Some(_) => {
                    v.add("series_id", "no such series");
                    None
                }
                None => None,
            },
        };
    }
    if let Some(country) = patch.country {
        fields.country = country
            .filter(|c| !c.trim().is_empty())
            .and_then(|c| v.check("country", CountryCode::parse(&c)))
            .map(|c| c.as_str().to_owned());
    }
    if let Some(tz) = patch.timezone {
        match tz {
            None => v.add("timezone", "may not be null"),
            Some(tz) => {
                if let Some(tz) = v.check("timezone", TimeZone::parse(&tz)) {
                    fields.timezone = tz.name().to_owned();
                }
            }
        }
    }
    if let Some(format) = patch.format {
        match format {
            None => v.add("format", "may not be null"),
            Some(f) => {
                if let Some(f) = v.check("format", f.trim().parse::<EventFormat>()) {
                    fields.format = f;
                }
            }
        }
    }
    fields.venue = patch_optional_text(
        &mut v,
        "venue",
        patch.venue,
        fields.venue,
        500,
        Lines::Multi,
    );
    if let Some(url) = patch.online_url {
        fields.online_url = url
            .filter(|u| !u.trim().is_empty())
            .and_then(|u| v.check("online_url", WebsiteUrl::parse(&u)))
            .map(WebsiteUrl::into_string);
    }
    if let Some(name) = patch.contact_name {
        fields.contact_name = contact_name(&mut v, name);
    }
    if let Some(email) = patch.contact_email {
        fields.contact_email = contact_email(&mut v, email);
    }
    if v.is_ok() {
        check_event_fields(&mut v, &fields);
    }
    v.finish()?;
    if let Some(slug) = &new_slug {
        if slug_in_use(conn, slug, Some(event.id)).await? {
            return Err(slug_taken());
        }
    }
    let updated: Event = diesel::update(events::table.find(event.id))
        .set((&fields, events::updated_at.eq(Utc::now())))
        .returning(Event::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e, "events_slug_key") {
                slug_taken()
            } else {
                e.into()
            }
        })?;
    // Every session's calendar entry shows the event's title, place, link and zone.
    if (
        &updated.title,
        &updated.venue,
        updated.format,
        &updated.online_url,
        &updated.timezone,
    ) != (
        &event.title,
        &event.venue,
        event.format,
        &event.online_url,
        &event.timezone,
    ) {
        diesel::update(sessions::table.filter(sessions::event_id.eq(event.id)))
            .set(sessions::sequence.eq(sessions::sequence + 1))
            .execute(conn)
            .await?;
    }
    views.forget_event(updated.id);
    event_view(conn, updated, Some(user), links).await
}

// --- Lifecycle --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Publish,
    Cancel,
    Complete,
}

impl Transition {
    fn verb(self) -> &'static str {
        match self {
            Transition::Publish => "publish",
            Transition::Cancel => "cancel",
            Transition::Complete => "complete",
        }
    }

    /// The status the event moves to from `current`, if the move is allowed.
    pub fn target(self, current: EventStatus) -> Option<EventStatus> {
        use EventStatus::*;
        match (self, current) {
            (Transition::Publish, Draft) => Some(Published),
            (Transition::Cancel, Draft | Published) => Some(Cancelled),
            (Transition::Complete, Published) => Some(Completed),
            _ => None,
        }
    }

    fn allowed_from(self) -> &'static str {
        match self {
            Transition::Publish => "a draft",
            Transition::Cancel => "a draft or a published event",
            Transition::Complete => "a published event",
        }
    }
}

/// Moves the event through its lifecycle. Cancelling cancels every live registration of its
/// sessions and withdraws (`revoked`) every pending or accepted invitation, emails each of those
/// people once, all in the same transaction, and withdraws the event's scheduled mail
/// (reminders) that has not gone out.
pub async fn transition(
    state: &Context,
    user: &AuthUser,
    id_or_slug: &str,
    transition: Transition,
) -> AppResult<EventView> {
    let mut conn = state.pool.get().await?;
    let event = event_for_staff(&mut conn, user, id_or_slug).await?;
    let links = state.links.clone();
    let updated = crate::db::retry::transaction(&mut conn, |conn| {
        let (event, links) = (&event, &links);
        async move {
            // Under the row lock, two concurrent transitions see each other's result.
            crate::db::locks::event(conn, event.id).await?;
            let current: Event = events::table
                .find(event.id)
                .select(Event::as_select())
                .get_result(conn)
                .await?;
            let Some(target) = transition.target(current.status) else {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "cannot {} an event that is {}: only {} can be",
                        transition.verb(),
                        current.status,
                        transition.allowed_from()
                    ),
                ));
            };
            let now = Utc::now();
            // Cancelling decides on every registration and invitation of the event: with
            // its sessions locked too, no registration, confirmation or acceptance is
            // taken meanwhile, and those committed before are all seen below.
            if target == EventStatus::Cancelled {
                crate::db::locks::event_sessions(conn, event.id).await?;
            }
            let updated: Event = diesel::update(events::table.find(event.id))
                .set((
                    events::status.eq(target),
                    events::updated_at.eq(now),
                    events::published_at.eq(if target == EventStatus::Published {
                        Some(current.published_at.unwrap_or(now))
                    } else {
                        current.published_at
                    }),
                    events::cancelled_at.eq(if target == EventStatus::Cancelled {
                        Some(now)
                    } else {
                        current.cancelled_at
                    }),
                ))
                .returning(Event::as_returning())
                .get_result(conn)
                .await?;
            if target == EventStatus::Cancelled {
                queue_cancellation_emails(conn, &updated, links).await?;
            }
            Ok(updated)
        }
        .scope_boxed()
    })
    .await?;
    tracing::info!(event_id = %updated.id, status = %updated.status, "event status changed");
    state.public_views.forget_event(updated.id);
    event_view(&mut conn, updated, Some(user), &links).await
}

async fn queue_cancellation_emails(
    conn: &mut AsyncPgConnection,
    event: &Event,
    links: &Links,
) -> AppResult<()> {
    let (registrant_ids, invitee_ids) = told_of_cancellation(conn, event.id).await?;
    let mut ids: Vec<Uuid> = registrant_ids;
    ids.extend(invitee_ids);
    ids.sort_unstable();
    ids.dedup();
    withdraw_places(conn, event.id).await?;
    // Scheduled mail never tried yet (reminders) is moot once the event is off.
    crate::mail::outbox::withdraw(
        conn,
        crate::mail::outbox::Withdraw::ScheduledForEvent(event.id),
    )
    .await?;
    if ids.is_empty() {
        return Ok(());
    }
    // Every session leaves the calendars it is in: a CANCEL of each, of a higher SEQUENCE (the
    // caller holds the sessions' locks).
    let session_ids: Vec<Uuid> = sessions::table
        .filter(sessions::event_id.eq(event.id))
        .select(sessions::id)
        .load(conn)
        .await?;
    let raised = crate::registrations::emails::raise_sequences(conn, &session_ids).await?;
    let facts = crate::invitations::lookup::load_event(conn, event.id).await?;
    let refs: Vec<&SessionFacts> = raised.iter().collect();
    let cancel_ics = (!refs.is_empty())
        .then(|| crate::registrations::emails::sessions_cancel_calendar(&facts, &refs));
    let recipients: Vec<(Uuid, String, String, Option<String>)> = people::table
        .filter(people::id.eq_any(&ids))
        .select((people::id, people::email, people::name, people::honorific))
        .load(conn)
        .await?;
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sessions::table
        .filter(sessions::event_id.eq(event.id))
        .select((
            diesel::dsl::min(sessions::starts_at),
            diesel::dsl::max(sessions::ends_at),
        ))
        .get_result(conn)
        .await?;
    let when = match (first, last) {
        (Some(start), Some(end)) => Some(format_range(start, end, &event.zone())),
        _ => None,
    };
    let emails_to_send = recipients
        .into_iter()
        .map(|(person_id, email, name, honorific)| {
            let addressee = match honorific {
                Some(h) if !h.is_empty() => format!("{h} {name}"),
                _ => name.clone(),
            };
            let mut details = vec![("Event".to_owned(), event.title.clone())];
            if let Some(when) = &when {
                details.push(("Was to be held".to_owned(), when.clone()));
            }
            let body = EmailBody {
                subject: format!("Cancelled: {}", event.title),
                greeting: format!("Dear {addressee},"),
                paragraphs: vec![
                    format!(
                        "We are sorry to tell you that {} has been cancelled.",
                        event.title
                    ),
                    "Your registration or invitation for its sessions no longer holds; there \
                     is nothing you need to do. Thank you for your interest."
                        .to_owned(),
                ],
                details,
                action: Some(EmailAction {
                    label: "See the event page".to_owned(),
                    url: links.event_page(&event.slug),
                }),
                footer: vec![
                    "You receive this email because you registered for or were invited to \
                     this dialogue."
                        .to_owned(),
                ],
                ..Default::default()
            };
            let out = OutgoingEmail::new("event_cancelled", &email, Some(&name), body)
                .for_event(event.id)
                .contact(event_contact(event))
                .dedupe(format!("event-cancelled:{}:{person_id}", event.id));
            match &cancel_ics {
                Some(ics) => out.with_ics(ics.clone()),
                None => out,
            }
        })
        .collect();
    crate::mail::enqueue_many(conn, emails_to_send).await?;
    Ok(())
}

/// Whom cancelling the event emails: the people with a live registration in its sessions,
/// and those with a pending or accepted invitation (each list distinct; a person may be in
/// both, and is emailed once). Read under the event's and sessions' locks when cancelling,
/// and without them for the confirmation page that says who will be told.
pub async fn told_of_cancellation(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<(Vec<Uuid>, Vec<Uuid>)> {
    let registrant_ids: Vec<Uuid> = registrations::table
        .inner_join(sessions::table)
        .filter(sessions::event_id.eq(event_id))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .select(registrations::person_id)
        .distinct()
        .load(conn)
        .await?;
    let invitee_ids: Vec<Uuid> = invitations::table
        .filter(invitations::event_id.eq(event_id))
        .filter(invitations::status.eq_any([InvitationStatus::Pending, InvitationStatus::Accepted]))
        .select(invitations::person_id)
        .distinct()
        .load(conn)
        .await?;
    Ok((registrant_ids, invitee_ids))
}

/// Cancels every live registration of the event's sessions and withdraws every pending or
/// accepted invitation (as `revoked`: its link answers that the event was cancelled). The
/// caller holds the event's and its sessions' locks, and emails each person once itself: no
/// per-registration notice, and no promotion from a waitlist that is cancelled too.
async fn withdraw_places(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<()> {
    let now = Utc::now();
    let event_sessions = sessions::table
        .filter(sessions::event_id.eq(event_id))
        .select(sessions::id);
    diesel::update(registrations::table)
        .filter(registrations::session_id.eq_any(event_sessions))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .set((
            registrations::status.eq(RegistrationStatus::Cancelled),
            registrations::cancelled_at.eq(now),
            registrations::waitlist_seq.eq(None::<i64>),
            registrations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    diesel::update(invitations::table)
        .filter(invitations::event_id.eq(event_id))
        .filter(invitations::status.eq_any([InvitationStatus::Pending, InvitationStatus::Accepted]))
        .set((
            invitations::status.eq(InvitationStatus::Revoked),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

// --- Listing ----------------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct EventFilter {
    pub country: Option<String>,
    pub series_id: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// `2022-02-18` (the start of that day, UTC) or an RFC 3339 time; `end_of_day` moves a bare
/// date to the start of the next day so that `to=2022-02-18` includes that day.
fn parse_bound(
    v: &mut Validator,
    field: &str,
    raw: &str,
    end_of_day: bool,
) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return v.check(
            field,
            crate::events::types::supported(at.with_timezone(&Utc)),
        );
    }
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(date) => {
            let start = if end_of_day {
                date.succ_opt()
            } else {
                Some(date)
            };
            let at = start
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|at| at.and_utc())
                .ok_or_else(|| "is out of range".to_owned())
                .and_then(crate::events::types::supported);
            v.check(field, at)
        }
        Err(_) => {
            v.add(
                field,
                format!("`{raw}` is not a date (YYYY-MM-DD) or an RFC 3339 time"),
            );
            None
        }
    }
}

/// First session's start, or the creation time of an event without sessions: the list's order.
fn sort_key() -> diesel::expression::SqlLiteral<Timestamptz> {
    diesel::dsl::sql::<Timestamptz>(
        "coalesce((SELECT min(s.starts_at) FROM sessions s WHERE s.event_id = events.id), events.created_at)",
    )
}

fn first_start() -> diesel::expression::SqlLiteral<Nullable<Timestamptz>> {
    diesel::dsl::sql::<Nullable<Timestamptz>>(
        "(SELECT min(s.starts_at) FROM sessions s WHERE s.event_id = events.id)",
    )
}

fn last_end() -> diesel::expression::SqlLiteral<Nullable<Timestamptz>> {
    diesel::dsl::sql::<Nullable<Timestamptz>>(
        "(SELECT max(s.ends_at) FROM sessions s WHERE s.event_id = events.id)",
    )
}

/// Events the viewer may see, oldest first by their first session (keyset paginated). Anyone
/// sees published, completed and (once published) cancelled events; staff also their own
/// drafts; admins everything. `from`/`to` keep events with a session in that period.
pub async fn list_events(
    conn: &mut AsyncPgConnection,
    viewer: Option<&AuthUser>,
    filter: EventFilter,
    links: &Links,
) -> AppResult<Page<EventView>> {
    let mut v = Validator::new();
    let country = filter
        .country
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| v.check("country", CountryCode::parse(&c)));
    let series_id = filter
        .series_id
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_uuid(&mut v, "series_id", &s));
    let status = filter
        .status
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| v.check("status", s.trim().parse::<EventStatus>()));
    let from = filter
        .from
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_bound(&mut v, "from", s, false));
    let to = filter
        .to
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| parse_bound(&mut v, "to", s, true));
    let page: PageRequest<TimeAndId> =
        PageRequest::parse(&mut v, filter.limit, filter.cursor.as_deref());
    v.finish()?;

    let mut query = events::table.into_boxed();
    let public = events::status
        .eq_any([EventStatus::Published, EventStatus::Completed])
        .or(events::status
            .eq(EventStatus::Cancelled)
            .and(events::published_at.is_not_null()));
    match viewer {
        Some(user) if user.account.role == Role::Admin => {}
        Some(user) => {
            let theirs = event_staff::table
                .filter(event_staff::account_id.eq(user.account.id))
                .select(event_staff::event_id);
            query = query.filter(public.or(events::id.eq_any(theirs)));
        }
        None => query = query.filter(public),
    }
    if let Some(country) = country {
        query = query.filter(events::country.eq(country.as_str().to_owned()));
    }
    if let Some(series_id) = series_id {
        query = query.filter(events::series_id.eq(series_id));
    }
    if let Some(status) = status {
        query = query.filter(events::status.eq(status));
    }
    if let Some(from) = from {
        query = query.filter(last_end().ge(from));
    }
    if let Some(to) = to {
        query = query.filter(first_start().lt(to));
    }
    if let Some((at, id)) = page.after {
        query = query.filter(
            sort_key()
                .gt(at)
                .or(sort_key().eq(at).and(events::id.gt(id))),
        );
    }
    let rows: Vec<(Event, DateTime<Utc>)> = query
        .order((sort_key().asc(), events::id.asc()))
        .limit(page.fetch())
        .select((Event::as_select(), sort_key()))
        .load(conn)
        .await?;
    let Page { items, next_cursor } =
        Page::from_rows(rows, &page, |(e, at)| (*at, e.id)).map(|(e, _)| e);
    Ok(Page {
        items: event_views(conn, items, viewer, links).await?,
        next_cursor,
    })
}

// --- Partners and staff -----------------------------------------------------------------------

/// Replaces the event's partner organisations with `list` (all or nothing).
pub async fn set_partners(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    id_or_slug: &str,
    list: Vec<PartnerRequest>,
) -> AppResult<Vec<PartnerView>> {
    let event = event_for_staff(conn, user, id_or_slug).await?;
    let mut v = Validator::new();
    if list.len() > 100 {
        v.add("body", "lists more than 100 partners");
        return Err(v
            .finish()
            .err()
            .unwrap_or_else(|| AppError::internal("validation")));
    }
    let mut parsed: Vec<(usize, Uuid, PartnerRole)> = Vec::new();
    for (i, item) in list.into_iter().enumerate() {
        let id = match item.organization_id {
            None => {
                v.add(format!("[{i}].organization_id"), "is required");
                None
            }
            Some(raw) => parse_uuid(&mut v, &format!("[{i}].organization_id"), &raw),
        };
        let role = match item.role {
            None => {
                v.add(
                    format!("[{i}].role"),
                    "is required: organizer, co_organizer, supporter or funder",
                );
                None
            }
            Some(r) => v.check(format!("[{i}].role"), r.trim().parse::<PartnerRole>()),
        };
        if let (Some(id), Some(role)) = (id, role) {
            if parsed.iter().any(|(_, other, _)| *other == id) {
                v.add(format!("[{i}].organization_id"), "is listed twice");
            } else {
                parsed.push((i, id, role));
            }
        }
    }
    let ids: Vec<Uuid> = parsed.iter().map(|(_, id, _)| *id).collect();
    let known: HashSet<Uuid> = organizations::table
        .filter(organizations::id.eq_any(&ids))
        .select(organizations::id)
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect();
    for (i, id, _) in &parsed {
        if !known.contains(id) {
            v.add(format!("[{i}].organization_id"), "no such organisation");
        }
    }
    v.finish()?;
    let event_id = event.id;
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            diesel::delete(event_partners::table.filter(event_partners::event_id.eq(event_id)))
                .execute(conn)
                .await?;
            let rows: Vec<_> = parsed
                .iter()
                .map(|(_, id, role)| {
                    (
                        event_partners::event_id.eq(event_id),
                        event_partners::organization_id.eq(*id),
                        event_partners::role.eq(*role),
                    )
                })
                .collect();
            if !rows.is_empty() {
                diesel::insert_into(event_partners::table)
                    .values(rows)
                    .execute(conn)
                    .await?;
            }
            diesel::update(events::table.find(event_id))
                .set(events::updated_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event_id);
    Ok(partners_by_event(conn, &[event_id])
        .await?
        .remove(&event_id)
        .unwrap_or_default())
}

/// Role, disabled time, person id, name and email of an account to add to the staff.
type StaffCandidate = (Role, Option<DateTime<Utc>>, Option<Uuid>, String, String);

/// Adds an organizer or admin account to the event's staff. Answers the entry and whether it
/// is new.
pub async fn add_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id_or_slug: &str,
    req: StaffRequest,
) -> AppResult<(StaffView, bool)> {
    let event = event_for_staff(conn, user, id_or_slug).await?;
    let mut v = Validator::new();
    let account_id = match req.account_id {
        None => {
            v.add("account_id", "is required");
            None
        }
        Some(raw) => parse_uuid(&mut v, "account_id", &raw),
    };
    v.finish()?;
    let account_id = account_id.ok_or_else(|| AppError::internal("validation"))?;
    let found: Option<StaffCandidate> = accounts::table
        .filter(accounts::id.eq(account_id))
        .select((
            accounts::role,
            accounts::disabled_at,
            accounts::person_id,
            accounts::name,
            accounts::email,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((role, disabled_at, person_id, name, email)) = found else {
        return Err(AppError::invalid("account_id", "no such account"));
    };
    if disabled_at.is_some() {
        return Err(AppError::invalid("account_id", "the account is disabled"));
    }
    if role == Role::Member {
        return Err(AppError::invalid(
            "account_id",
            "only organizer and admin accounts can run an event; this is a member account",
        ));
    }
    let added = diesel::insert_into(event_staff::table)
        .values((
            event_staff::event_id.eq(event.id),
            event_staff::account_id.eq(account_id),
            event_staff::lead.eq(false),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?
        == 1;
    let lead: bool = event_staff::table
        .find((event.id, account_id))
        .select(event_staff::lead)
        .first(conn)
        .await?;
    Ok((
        StaffView {
            account_id,
            person_id,
            name,
            email,
            lead,
        },
        added,
    ))
}

// --- The calendar feed ------------------------------------------------------------------------

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
    let rows: Vec<Session> = if event.status == EventStatus::Cancelled {
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
                sequence: crate::events::calendar::revision(s.sequence),
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

    #[test]
    fn lifecycle_moves() {
        use EventStatus::*;
        assert_eq!(Transition::Publish.target(Draft), Some(Published));
        assert_eq!(Transition::Publish.target(Published), None);
        assert_eq!(Transition::Cancel.target(Draft), Some(Cancelled));
        assert_eq!(Transition::Cancel.target(Published), Some(Cancelled));
        assert_eq!(Transition::Cancel.target(Completed), None);
        assert_eq!(Transition::Cancel.target(Cancelled), None);
        assert_eq!(Transition::Complete.target(Published), Some(Completed));
        assert_eq!(Transition::Complete.target(Draft), None);
    }

    #[test]
    fn local_times_carry_the_offset() {
        let at = DateTime::parse_from_rfc3339("2022-02-18T00:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            local_rfc3339(at, chrono_tz::Asia::Tokyo),
            "2022-02-18T09:30:00+09:00"
        );
    }
}
