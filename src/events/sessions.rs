//! The rules of sessions and their speakers.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::locks::SessionLock;
use crate::db::schema::{
    affiliations, events, organizations, people, registrations, sessions, speakers,
};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::{event_for_staff, require_event_staff};
use crate::events::facts::SessionFacts;
use crate::events::fields::{optional_text, parse_uuid, required_text};
use crate::events::local_time::format_range;
use crate::events::model::*;
use crate::events::types::parse_instant;
use crate::events::types::{
    SessionPatch, SessionRequest, SessionView, SpeakerRequest, SpeakerView,
};
use crate::events::views::{session_view, speakers_by_session};
use crate::organizations::WebsiteUrl;
use crate::registrations::model::RegistrationStatus;
use crate::registrations::seats;
use crate::text::Lines;

/// A session longer than this is surely a typing slip (a dialogue's sessions last hours).
const MAX_SESSION_DAYS: i64 = 7;

/// The session and its event, for a change only the event's staff may make (404 when the
/// caller may not know the session exists, 403 when they may but do not run the event).
pub async fn session_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    session_id: Uuid,
) -> AppResult<(Session, Event)> {
    let found: Option<(Session, Event)> = sessions::table
        .inner_join(events::table)
        .filter(sessions::id.eq(session_id))
        .select((Session::as_select(), Event::as_select()))
        .first(conn)
        .await
        .optional()?;
    let (session, event) = found.ok_or_else(|| AppError::not_found("session"))?;
    require_event_staff(conn, user, event.id, event.is_public())
        .await
        .map_err(|e| match e.code() {
            Code::NotFound => AppError::not_found("session"),
            _ => e,
        })?;
    Ok((session, event))
}

fn parse_time(
    v: &mut Validator,
    field: &str,
    raw: Option<String>,
    zone: chrono_tz::Tz,
) -> Option<DateTime<Utc>> {
    let raw = raw.filter(|r| !r.trim().is_empty())?;
    v.check(field, parse_instant(&raw, zone))
}

fn parse_capacity(v: &mut Validator, raw: Option<i64>) -> Option<i32> {
    let raw = raw?;
    match i32::try_from(raw) {
        Ok(c) if c >= 0 => Some(c),
        Ok(_) => {
            v.add("capacity", "must be 0 or more (or null for unlimited)");
            None
        }
        Err(_) => {
            v.add("capacity", "is too large");
            None
        }
    }
}

/// Checks the combined fields of a session: times in sensible bounds, the end after the start,
/// the registration window inside the session.
fn check_session(v: &mut Validator, s: &SessionFields) {
    let earliest = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
    let latest = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single();
    if earliest.is_some_and(|e| s.starts_at < e) || latest.is_some_and(|l| s.starts_at >= l) {
        v.add("starts_at", "must be between the years 2000 and 2099");
    }
    if s.ends_at <= s.starts_at {
        v.add("ends_at", "must be after starts_at");
    } else if s.ends_at - s.starts_at > Duration::days(MAX_SESSION_DAYS) {
        v.add(
            "ends_at",
            format!("must be within {MAX_SESSION_DAYS} days of starts_at"),
        );
    }
    if let Some(closes) = s.registration_closes_at {
        if closes > s.ends_at {
            v.add(
                "registration_closes_at",
                "must be before or at the end of the session",
            );
        }
    }
    if let Some(opens) = s.registration_opens_at {
        match s.registration_closes_at {
            Some(closes) if opens >= closes => v.add(
                "registration_opens_at",
                "must be before registration_closes_at",
            ),
            None if opens >= s.ends_at => v.add(
                "registration_opens_at",
                "must be before the end of the session",
            ),
            _ => {}
        }
    }
}

pub async fn create_session(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    event_id_or_slug: &str,
    req: SessionRequest,
) -> AppResult<SessionView> {
    let event = event_for_staff(conn, user, event_id_or_slug).await?;
    let zone = event.zone();
    let mut v = Validator::new();
    let title = required_text(&mut v, "title", req.title, 300);
    let description = optional_text(&mut v, "description", req.description, 10_000, Lines::Multi);
    let access = match req.access {
        None => {
            v.add("access", "is required: closed or public");
            None
        }
        Some(a) => v.check("access", a.trim().parse::<SessionAccess>()),
    };
    if req.starts_at.as_deref().is_none_or(|s| s.trim().is_empty()) {
        v.add("starts_at", "is required");
    }
    if req.ends_at.as_deref().is_none_or(|s| s.trim().is_empty()) {
        v.add("ends_at", "is required");
    }
    let starts_at = parse_time(&mut v, "starts_at", req.starts_at, zone);
    let ends_at = parse_time(&mut v, "ends_at", req.ends_at, zone);
    let capacity = parse_capacity(&mut v, req.capacity);
    let opens = parse_time(
        &mut v,
        "registration_opens_at",
        req.registration_opens_at,
        zone,
    );
    let closes = parse_time(
        &mut v,
        "registration_closes_at",
        req.registration_closes_at,
        zone,
    );
    let online_url = parse_link(&mut v, req.online_url);
    let (Some(title), Some(access), Some(starts_at), Some(ends_at), true) =
        (title, access, starts_at, ends_at, v.is_ok())
    else {
        return Err(v
            .finish()
            .err()
            .unwrap_or_else(|| AppError::internal("validation")));
    };
    let fields = SessionFields {
        title,
        description,
        access,
        starts_at,
        ends_at,
        capacity,
        registration_opens_at: opens,
        registration_closes_at: closes,
        requires_approval: req.requires_approval.unwrap_or(false),
        waitlist: req.waitlist.unwrap_or(true),
        // Closed rooms are under the Chatham House rule unless said otherwise.
        chatham_house: req.chatham_house.unwrap_or(access == SessionAccess::Closed),
        online_url,
    };
    check_session(&mut v, &fields);
    v.finish()?;
    let event_id = event.id;
    let session: Session = crate::db::transaction(&mut *conn, |conn| {
        async move {
            // Under the event's lock, which a cancellation holds while it ends every
            // registration of the event's sessions: a session added meanwhile would escape it.
            let locked = crate::db::locks::event(conn, event_id).await?;
            if locked.status == EventStatus::Cancelled {
                return Err(AppError::conflict(
                    Code::EventNotOpen,
                    "the dialogue was cancelled: it takes no new sessions",
                ));
            }
            let session = diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(Uuid::now_v7()),
                    sessions::event_id.eq(event_id),
                    &fields,
                ))
                .returning(Session::as_returning())
                .get_result(conn)
                .await?;
            touch_event(conn, event_id).await?;
            Ok(session)
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event.id);
    let link = session.online_link(&event);
    Ok(session_view(&session, zone, true, &[], 0, Some(link)))
}

/// A session's own online link, validated like the event's (an http or https URL); empty
/// means none.
fn parse_link(v: &mut Validator, raw: Option<String>) -> Option<String> {
    raw.filter(|u| !u.trim().is_empty())
        .and_then(|u| v.check("online_url", WebsiteUrl::parse(&u)))
        .map(WebsiteUrl::into_string)
}

async fn touch_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<()> {
    diesel::update(events::table.find(event_id))
        .set(events::updated_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

fn patch_time(
    v: &mut Validator,
    field: &str,
    patch: Option<Option<String>>,
    current: Option<DateTime<Utc>>,
    zone: chrono_tz::Tz,
) -> Option<DateTime<Utc>> {
    match patch {
        None => current,
        Some(value) => parse_time(v, field, value, zone),
    }
}

fn required_time(
    v: &mut Validator,
    field: &str,
    patch: Option<Option<String>>,
    current: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> DateTime<Utc> {
    match patch {
        None => current,
        Some(None) => {
            v.add(field, "may not be null");
            current
        }
        Some(Some(raw)) => v.check(field, parse_instant(&raw, zone)).unwrap_or(current),
    }
}

fn required_flag(
    v: &mut Validator,
    field: &str,
    patch: Option<Option<bool>>,
    current: bool,
) -> bool {
    match patch {
        None => current,
        Some(None) => {
            v.add(field, "may not be null");
            current
        }
        Some(Some(b)) => b,
    }
}

/// The session's live registrations (pending, confirmed or waitlisted): while there are any
/// it can neither be deleted nor change its access.
pub async fn live_registrations(conn: &mut AsyncPgConnection, session_id: Uuid) -> AppResult<i64> {
    Ok(registrations::table
        .filter(registrations::session_id.eq(session_id))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .count()
        .get_result(conn)
        .await?)
}

/// Updates a session. Raising the capacity (or lifting it) gives the new seats to the waitlist
/// in the same transaction; lowering it below the confirmed registrations is refused.
pub async fn update_session(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    session_id: Uuid,
    patch: SessionPatch,
    links: &Links,
) -> AppResult<SessionView> {
    let (_, event) = session_for_staff(conn, user, session_id).await?;
    let zone = event.zone();
    let updated = crate::db::transaction(&mut *conn, |conn| {
        async move {
            // The event first (lock order): the session's change touches the event row.
            // Held for a change, the session's lock waits for every registration in flight,
            // sign-ups too: the counts below stay true until commit, and a sign-up after it
            // reads the new access, times and window.
            crate::db::locks::event(conn, event.id).await?;
            seats::lock_session_as(conn, session_id, SessionLock::Change).await?;
            let current: Session = sessions::table
                .find(session_id)
                .select(Session::as_select())
                .first(conn)
                .await?;
            let mut f = SessionFields::of(&current);
            let mut v = Validator::new();
            if let Some(title) = patch.title {
                if let Some(t) = required_text(&mut v, "title", title, 300) {
                    f.title = t;
                }
            }
            if let Some(description) = patch.description {
                f.description =
                    optional_text(&mut v, "description", description, 10_000, Lines::Multi);
            }
            match patch.access {
                None => {}
                Some(None) => v.add("access", "may not be null"),
                Some(Some(a)) => {
                    if let Some(a) = v.check("access", a.trim().parse::<SessionAccess>()) {
                        f.access = a;
                    }
                }
            }
            f.starts_at = required_time(&mut v, "starts_at", patch.starts_at, f.starts_at, zone);
            f.ends_at = required_time(&mut v, "ends_at", patch.ends_at, f.ends_at, zone);
            if let Some(capacity) = patch.capacity {
                f.capacity = parse_capacity(&mut v, capacity);
            }
            f.registration_opens_at = patch_time(
                &mut v,
                "registration_opens_at",
                patch.registration_opens_at,
                f.registration_opens_at,
                zone,
            );
            f.registration_closes_at = patch_time(
                &mut v,
                "registration_closes_at",
                patch.registration_closes_at,
                f.registration_closes_at,
                zone,
            );
            f.requires_approval = required_flag(
                &mut v,
                "requires_approval",
                patch.requires_approval,
                f.requires_approval,
            );
            f.waitlist = required_flag(&mut v, "waitlist", patch.waitlist, f.waitlist);
            f.chatham_house = required_flag(
                &mut v,
                "chatham_house",
                patch.chatham_house,
                f.chatham_house,
            );
            if let Some(url) = patch.online_url {
                f.online_url = parse_link(&mut v, url);
            }
            if v.is_ok() {
                check_session(&mut v, &f);
            }
            v.finish()?;

            if f.access != current.access && live_registrations(conn, session_id).await? > 0 {
                return Err(AppError::conflict(
                    Code::SessionHasRegistrations,
                    "the session has registrations: its access cannot change",
                ));
            }
            let confirmed = seats::confirmed_count(conn, session_id).await?;
            if let Some(cap) = f.capacity {
                if i64::from(cap) < confirmed {
                    return Err(AppError::conflict(
                        Code::CapacityBelowConfirmed,
                        format!(
                            "{confirmed} registrations are confirmed: the capacity cannot be \
                                 lower"
                        ),
                    ));
                }
            }
            // What calendars show changed: its entries get a higher SEQUENCE.
            let shown = f.title != current.title
                || f.description != current.description
                || (f.starts_at, f.ends_at) != (current.starts_at, current.ends_at)
                || f.online_url != current.online_url
                || f.chatham_house != current.chatham_house;
            let session: Session = diesel::update(sessions::table.find(session_id))
                .set((
                    &f,
                    sessions::updated_at.eq(Utc::now()),
                    sessions::sequence.eq(sessions::sequence + i32::from(shown)),
                ))
                .returning(Session::as_returning())
                .get_result(conn)
                .await?;
            let more_room = match (current.capacity, session.capacity) {
                (_, None) => current.capacity.is_some(),
                (Some(old), Some(new)) => new > old,
                (None, Some(_)) => false,
            };
            // Seats the first waitlisted (still under the session lock) and emails them.
            let promoted: Vec<Uuid> = if more_room {
                crate::registrations::service::raise_capacity_promotions(conn, links, session_id)
                    .await?
                    .iter()
                    .map(|r| r.id)
                    .collect()
            } else {
                Vec::new()
            };
            let moved =
                (session.starts_at, session.ends_at) != (current.starts_at, current.ends_at);
            if moved || session.title != current.title || session.online_url != current.online_url {
                // Reminders already scheduled say the old time (or link) and are due by it.
                let ctx = crate::registrations::service::session_context(conn, session_id).await?;
                crate::registrations::emails::refresh_session_reminders(conn, &ctx).await?;
                if moved {
                    let was = format_range(current.starts_at, current.ends_at, &zone);
                    // The promoted were just sent their seat at the new time: one
                    // email, not a second saying their seat is "kept".
                    crate::registrations::emails::notify_session_moved(
                        conn,
                        &ctx,
                        &was,
                        session.updated_at,
                        &promoted,
                    )
                    .await?;
                }
            }
            touch_event(conn, session.event_id).await?;
            Ok(session)
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event.id);
    let speakers = speakers_by_session(conn, &[session_id])
        .await?
        .remove(&session_id)
        .unwrap_or_default();
    let confirmed = seats::confirmed_count(conn, session_id).await?;
    let link = updated.online_link(&event);
    Ok(session_view(
        &updated,
        zone,
        true,
        &speakers,
        confirmed,
        Some(link),
    ))
}

/// Deletes a session that nobody is registered for.
pub async fn delete_session(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    session_id: Uuid,
) -> AppResult<()> {
    let (_, event) = session_for_staff(conn, user, session_id).await?;
    crate::db::transaction(&mut *conn, |conn| {
        async move {
            crate::db::locks::event(conn, event.id).await?;
            seats::lock_session_as(conn, session_id, SessionLock::Change).await?;
            let live = live_registrations(conn, session_id).await?;
            if live > 0 {
                return Err(AppError::conflict(
                    Code::SessionHasRegistrations,
                    format!(
                        "{live} live registrations hold this session: cancel them before \
                         deleting it"
                    ),
                ));
            }
            tell_invitees_of_deletion(conn, event.id, session_id).await?;
            diesel::delete(sessions::table.find(session_id))
                .execute(conn)
                .await?;
            touch_event(conn, event.id).await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await?;
    views.forget_event(event.id);
    Ok(())
}

/// Whom deleting the session emails (invitation id, email, name): the invitees it was offered
/// to who have not answered for it, by name.
pub async fn told_of_deletion(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> AppResult<Vec<(Uuid, String, String)>> {
    use crate::db::schema::{invitation_sessions, invitations, people};
    use crate::invitations::model::InvitationStatus;
    Ok(invitation_sessions::table
        .inner_join(invitations::table.inner_join(people::table))
        .filter(invitation_sessions::session_id.eq(session_id))
        .filter(invitation_sessions::accepted.is_null())
        .filter(invitations::status.eq_any([InvitationStatus::Pending, InvitationStatus::Accepted]))
        .order((people::name.asc(), invitations::id.asc()))
        .select((invitations::id, people::email, people::name))
        .load(conn)
        .await?)
}

/// Before a session is deleted (its lock held, nobody registered): the invitees it was
/// offered to and who have not answered for it have it in their calendar from the offer; a
/// CANCEL (of a higher SEQUENCE) takes it out.
async fn tell_invitees_of_deletion(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    session_id: Uuid,
) -> AppResult<()> {
    let invitees = told_of_deletion(conn, session_id).await?;
    if invitees.is_empty() {
        return Ok(());
    }
    let raised = crate::registrations::emails::raise_sequences(conn, &[session_id]).await?;
    let event = crate::events::access::event_facts(conn, event_id).await?;
    let refs: Vec<&SessionFacts> = raised.iter().collect();
    let emails = invitees
        .iter()
        .map(|(invitation_id, email, name)| {
            crate::registrations::emails::calendar_removal_email(
                &event,
                format!("session-deleted:{session_id}:{invitation_id}"),
                email,
                name,
                &refs,
                "The organisers have removed the session below from the programme, so it is no \
                 longer part of your invitation.",
            )
        })
        .collect();
    crate::mail::enqueue_many(conn, emails).await?;
    Ok(())
}

/// Adds a speaker to a session.
pub async fn add_speaker(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    session_id: Uuid,
    req: SpeakerRequest,
) -> AppResult<SpeakerView> {
    let (session, _) = session_for_staff(conn, user, session_id).await?;
    let mut v = Validator::new();
    let person_id = req
        .person_id
        .filter(|p| !p.trim().is_empty())
        .and_then(|p| parse_uuid(&mut v, "person_id", &p));
    let name = optional_text(&mut v, "name", req.name, 200, Lines::Single);
    let organization = optional_text(&mut v, "organization", req.organization, 300, Lines::Single);
    let role = match req.role {
        None => {
            v.add(
                "role",
                "is required: opening_remarks, keynote, presenter, discussant, moderator or \
                 commentator",
            );
            None
        }
        Some(r) => v.check("role", r.trim().parse::<SpeakerRole>()),
    };
    if req.order.is_some_and(|o| !(0..=10_000).contains(&o)) {
        v.add("order", "must be between 0 and 10000");
    }
    if person_id.is_none() && name.is_none() && v.is_ok() {
        v.add("name", "give a person_id or a name");
    }
    let person = match person_id {
        Some(id) => {
            let found: Option<(String, Option<String>)> = people::table
                .find(id)
                .select((people::name, people::honorific))
                .first(conn)
                .await
                .optional()?;
            if found.is_none() {
                v.add("person_id", "no such person");
            }
            found
        }
        None => None,
    };
    v.finish()?;
    let role = role.ok_or_else(|| AppError::internal("validation"))?;
    let shown_name = match (name, person) {
        (Some(name), _) => name,
        (None, Some((name, Some(h)))) if !h.is_empty() => format!("{h} {name}"),
        (None, Some((name, _))) => name,
        (None, None) => return Err(AppError::invalid("name", "give a person_id or a name")),
    };
    let organization = match (organization, person_id) {
        (Some(o), _) => Some(o),
        (None, Some(pid)) => affiliations::table
            .inner_join(organizations::table)
            .filter(affiliations::person_id.eq(pid))
            .order((
                affiliations::focal_point.desc(),
                affiliations::created_at.asc(),
            ))
            .select(organizations::name)
            .first::<String>(conn)
            .await
            .optional()?,
        (None, None) => None,
    };
    let order = match req.order {
        Some(o) => o,
        None => {
            let max: Option<i32> = speakers::table
                .filter(speakers::session_id.eq(session.id))
                .select(diesel::dsl::max(speakers::sort_order))
                .first(conn)
                .await?;
            max.map_or(1, |m| m + 1)
        }
    };
    let speaker: Speaker = diesel::insert_into(speakers::table)
        .values(NewSpeaker {
            id: Uuid::now_v7(),
            session_id: session.id,
            person_id,
            name: shown_name,
            organization,
            role,
            sort_order: order,
        })
        .returning(Speaker::as_returning())
        .get_result(conn)
        .await?;
    touch_event(conn, session.event_id).await?;
    views.forget_event(session.event_id);
    Ok(SpeakerView::from(&speaker))
}

/// The speaker's session and event, for a change only the event's staff may make.
async fn speaker_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    speaker_id: Uuid,
) -> AppResult<(Session, Event)> {
    let found: Option<(Session, Event)> = speakers::table
        .inner_join(sessions::table.inner_join(events::table))
        .filter(speakers::id.eq(speaker_id))
        .select((Session::as_select(), Event::as_select()))
        .first(conn)
        .await
        .optional()?;
    let (session, event) = found.ok_or_else(|| AppError::not_found("speaker"))?;
    // A closed session's speakers are secret: outsiders learn nothing, not even a 403.
    let visible = event.is_public() && session.access == SessionAccess::Public;
    require_event_staff(conn, user, event.id, visible)
        .await
        .map_err(|e| match e.code() {
            Code::NotFound => AppError::not_found("speaker"),
            _ => e,
        })?;
    Ok((session, event))
}

/// Removes a speaker from a session.
pub async fn delete_speaker(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    speaker_id: Uuid,
) -> AppResult<()> {
    let (session, _) = speaker_for_staff(conn, user, speaker_id).await?;
    diesel::delete(speakers::table.find(speaker_id))
        .execute(conn)
        .await?;
    touch_event(conn, session.event_id).await?;
    views.forget_event(session.event_id);
    Ok(())
}

/// Moves a speaker one place earlier (`up`) or later in the session's order of appearance,
/// and numbers the session's speakers 1, 2, 3… in their new order. At the top (or bottom)
/// already, nothing changes. Answers the session's speakers in order.
pub async fn move_speaker(
    conn: &mut AsyncPgConnection,
    views: &super::PublicViews,
    user: &AuthUser,
    speaker_id: Uuid,
    up: bool,
) -> AppResult<Vec<SpeakerView>> {
    let (session, _) = speaker_for_staff(conn, user, speaker_id).await?;
    let session_id = session.id;
    let ordered = crate::db::transaction(conn, |conn| {
        async move {
            // Two reorderings of one session at once: the second waits and reads the
            // first's order (the session's row lock, as a seat change would take).
            seats::lock_session(conn, session_id).await?;
            let mut list: Vec<Speaker> = speakers_by_session(conn, &[session_id])
                .await?
                .remove(&session_id)
                .unwrap_or_default();
            let Some(at) = list.iter().position(|s| s.id == speaker_id) else {
                return Err(AppError::not_found("speaker"));
            };
            let to = if up { at.checked_sub(1) } else { Some(at + 1) };
            if let Some(to) = to.filter(|&to| to < list.len()) {
                list.swap(at, to);
            }
            for (i, speaker) in list.iter_mut().enumerate() {
                let order = i32::try_from(i + 1).unwrap_or(i32::MAX);
                if speaker.sort_order != order {
                    diesel::update(speakers::table.find(speaker.id))
                        .set(speakers::sort_order.eq(order))
                        .execute(conn)
                        .await?;
                    speaker.sort_order = order;
                }
            }
            Ok(list)
        }
        .scope_boxed()
    })
    .await?;
    touch_event(conn, session.event_id).await?;
    views.forget_event(session.event_id);
    Ok(ordered.iter().map(SpeakerView::from).collect())
}
