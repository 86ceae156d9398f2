//! The public pages of the dialogues: `/` (upcoming and past dialogues) and `/events/{slug}`
//! (the programme in the event's local time, partners, public speakers, outcomes and a
//! registration form per public session). Closed sessions show their title and time only.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::context::Context;
use crate::db::schema::{events, sessions};
use crate::error::{AppError, AppResult};
use crate::events::access::find_event;
use crate::events::local_time::{format_local, format_range};
use crate::events::model::*;
use crate::events::outcomes::published_outcomes;
use crate::events::partners::partners_by_event;
use crate::events::public_views::{Rendered, ViewKind};
use crate::events::types::CountryCode;
use crate::events::views::{confirmed_counts, speakers_by_session};

/// A dialogue in the lists of the front page.
pub struct EventCard {
    pub title: String,
    pub url: String,
    pub when: String,
    pub country: String,
    pub format: &'static str,
}

#[derive(Template)]
#[template(path = "pages/index.html")]
pub struct IndexPage {
    pub upcoming: Vec<EventCard>,
    pub past: Vec<EventCard>,
}

pub struct PartnerGroup {
    pub role: &'static str,
    pub names: Vec<String>,
}

pub struct SpeakerLine {
    pub name: String,
    pub organization: Option<String>,
    pub role: &'static str,
}

pub struct ProgrammeItem {
    pub id: Uuid,
    pub title: String,
    pub start_iso: String,
    pub time_range: String,
    pub closed: bool,
    pub closed_note: &'static str,
    pub description: Option<String>,
    pub speakers: Vec<SpeakerLine>,
    pub registration_note: Option<String>,
    /// "Register for this session", "Full — join the waitlist" or "Full" (no form): what the
    /// visitor can do, said before they type anything; None when registration is not open.
    pub form_heading: Option<&'static str>,
    pub form: Option<super::RegisterFields>,
}

pub struct OutcomeItem {
    pub title: String,
    pub session_title: Option<String>,
    pub unattributed: bool,
    pub speakers_line: Option<String>,
    /// Sanitised by ammonia when rendered from Markdown.
    pub body_html: String,
}

#[derive(Template)]
#[template(path = "pages/event.html")]
pub struct EventPage {
    pub title: String,
    pub status_note: Option<String>,
    pub when: Option<String>,
    pub format: &'static str,
    pub venue: Option<String>,
    pub country: Option<String>,
    pub timezone: String,
    pub calendar_url: String,
    pub summary: Option<String>,
    /// Whom to write to: (name, email).
    pub contact: Option<(String, String)>,
    pub partners: Vec<PartnerGroup>,
    pub sessions: Vec<ProgrammeItem>,
    pub outcomes: Vec<OutcomeItem>,
}

/// The note of a full session without a waitlist, whose page offers no form.
const NO_SEAT_LEFT: &str = "There are no seats left and the session has no waitlist.";

/// Whether a public session has a seat for whoever registers now: a full one takes them onto
/// its waitlist, or no one. Seats are counted when the page is made; registering decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seats {
    Available,
    FullWithWaitlist,
    Full,
}

impl Seats {
    /// `confirmed` of the session's registrations hold a seat.
    pub fn of(session: &Session, confirmed: i64) -> Seats {
        Self::counted(session.capacity, session.waitlist, confirmed)
    }

    pub fn counted(capacity: Option<i32>, waitlist: bool, confirmed: i64) -> Seats {
        match capacity {
            Some(capacity) if confirmed >= i64::from(capacity) => {
                if waitlist {
                    Seats::FullWithWaitlist
                } else {
                    Seats::Full
                }
            }
            _ => Seats::Available,
        }
    }
}

fn error_page(e: AppError) -> HttpResponse {
    tracing::error!(error = %e, "a page failed");
    super::unavailable(actix_web::ResponseError::status_code(&e))
}

/// First start and last end of an event's sessions.
type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// When a dialogue takes place, in its own time zone.
fn when(zone: chrono_tz::Tz, first: Option<DateTime<Utc>>, last: Option<DateTime<Utc>>) -> String {
    match (first, last) {
        (Some(start), Some(end)) => format_range(start, end, &zone),
        _ => "Dates to be announced".to_owned(),
    }
}

pub async fn index(state: web::Data<Context>) -> HttpResponse {
    match load_index(&state).await {
        Ok(page) => super::html(StatusCode::OK, &page),
        Err(e) => error_page(e),
    }
}

async fn load_index(state: &web::Data<Context>) -> AppResult<IndexPage> {
    let mut conn = state.pool.get().await?;
    let rows: Vec<Event> = events::table
        .filter(events::status.eq_any([EventStatus::Published, EventStatus::Completed]))
        .order(events::created_at.desc())
        .limit(500)
        .select(Event::as_select())
        .load(&mut conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|e| e.id).collect();
    let spans: HashMap<Uuid, Span> = sessions::table
        .filter(sessions::event_id.eq_any(&ids))
        .group_by(sessions::event_id)
        .select((
            sessions::event_id,
            diesel::dsl::min(sessions::starts_at),
            diesel::dsl::max(sessions::ends_at),
        ))
        .load::<(Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>(&mut conn)
        .await?
        .into_iter()
        .map(|(id, first, last)| (id, (first, last)))
        .collect();
    let now = Utc::now();
    let mut upcoming = Vec::new();
    let mut past = Vec::new();
    for event in rows {
        let (first, last) = spans.get(&event.id).copied().unwrap_or((None, None));
        let card = (
            first,
            EventCard {
                url: format!("/events/{}", event.slug),
                when: when(event.zone(), first, last),
                country: event
                    .country
                    .as_deref()
                    .map(CountryCode::display_name)
                    .unwrap_or_else(|| "Regional".to_owned()),
                format: event.format.label(),
                title: event.title,
            },
        );
        let is_past = event.status == EventStatus::Completed || last.is_some_and(|l| l < now);
        if is_past {
            past.push(card);
        } else {
            upcoming.push(card);
        }
    }
    // Soonest first; the most recent past dialogue first.
    upcoming.sort_by_key(|(first, _)| first.unwrap_or(DateTime::<Utc>::MAX_UTC));
    past.sort_by_key(|(first, _)| std::cmp::Reverse(*first));
    Ok(IndexPage {
        upcoming: upcoming.into_iter().map(|(_, c)| c).collect(),
        past: past.into_iter().take(20).map(|(_, c)| c).collect(),
    })
}

/// The public page of a dialogue. A visitor without a session cookie gets the page as nobody
/// sees it, kept in the public views like the JSON view; a visitor with one gets forms that
/// carry their session's CSRF token, rendered for them.
pub async fn event_page(
    state: web::Data<Context>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
) -> HttpResponse {
    let answer = match crate::auth::csrf::form_token(&req) {
        None => {
            state
                .public_views
                .get_or_load(ViewKind::Page, &path, || public_page(&state, &path))
                .await
        }
        Some(csrf) => visitors_page(&state, &path, csrf).await,
    };
    match answer {
        Ok(body) => super::html_body(StatusCode::OK, body),
        Err(e) if e.is_not_found() => {
            super::not_found("There is no public dialogue at this address.")
        }
        Err(e) => error_page(e),
    }
}

/// The page as nobody sees it: its forms carry no CSRF token (a form posted without the session
/// cookie acts for no one).
async fn public_page(state: &web::Data<Context>, slug: &str) -> AppResult<Rendered> {
    let mut conn = state.pool.get().await?;
    let (event_id, page) = load_event_page(&mut conn, slug)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    Ok(Rendered {
        event_id,
        body: super::render(&page)?,
    })
}

/// The page for a visitor with a session cookie: a signed-in visitor's form acts as them, so
/// it carries their session's CSRF token.
async fn visitors_page(state: &web::Data<Context>, slug: &str, csrf: String) -> AppResult<Bytes> {
    let mut conn = state.pool.get().await?;
    let (_, mut page) = load_event_page(&mut conn, slug)
        .await?
        .ok_or_else(|| AppError::not_found("event"))?;
    for form in page.sessions.iter_mut().filter_map(|s| s.form.as_mut()) {
        form.csrf_token = Some(csrf.clone());
    }
    super::render(&page)
}

async fn load_event_page(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> AppResult<Option<(Uuid, EventPage)>> {
    // Drafts do not exist for the public.
    let Some(event) = find_event(conn, slug).await?.filter(Event::is_public) else {
        return Ok(None);
    };
    let zone = event.zone();
    let rows: Vec<Session> = sessions::table
        .filter(sessions::event_id.eq(event.id))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select(Session::as_select())
        .load(conn)
        .await?;
    // Only public sessions' speakers are ever loaded for this page (rule 2).
    let public_ids: Vec<Uuid> = rows
        .iter()
        .filter(|s| s.access == SessionAccess::Public)
        .map(|s| s.id)
        .collect();
    let speakers = speakers_by_session(conn, &public_ids).await?;
    let seated = confirmed_counts(conn, &public_ids).await?;
    let partners = partners_by_event(conn, &[event.id])
        .await?
        .remove(&event.id)
        .unwrap_or_default();
    let outcomes = published_outcomes(conn, event.id).await?;
    let now = Utc::now();
    let takes_registrations = event.status == EventStatus::Published;
    let members = if takes_registrations && !public_ids.is_empty() {
        super::members(conn).await?
    } else {
        Vec::new().into()
    };

    let mut groups: Vec<PartnerGroup> = Vec::new();
    for p in partners {
        let label = p.role.label();
        match groups.iter_mut().find(|g| g.role == label) {
            Some(g) => g.names.push(p.name),
            None => groups.push(PartnerGroup {
                role: label,
                names: vec![p.name],
            }),
        }
    }

    let programme = rows
        .iter()
        .map(|s| {
            let closed = s.access == SessionAccess::Closed;
            let seats = Seats::of(s, seated.get(&s.id).copied().unwrap_or(0));
            let (registration_note, form) = if closed || !takes_registrations {
                (None, None)
            } else {
                match s.registration_state(now) {
                    RegistrationWindow::Open if seats == Seats::Full => {
                        (Some(NO_SEAT_LEFT.to_owned()), None)
                    }
                    RegistrationWindow::Open => (
                        (seats == Seats::FullWithWaitlist).then(|| {
                            "There are no seats left: if one becomes free, it goes to the first \
                             person on the waitlist, who is emailed at once."
                                .to_owned()
                        }),
                        Some(super::RegisterFields {
                            full: seats == Seats::FullWithWaitlist,
                            ..super::RegisterFields::new(
                                format!("/events/{}/sessions/{}/register", event.slug, s.id),
                                format!("-{}", s.id),
                                members.clone(),
                            )
                        }),
                    ),
                    RegistrationWindow::NotYetOpen => (
                        Some(match s.registration_opens_at {
                            Some(at) => format!(
                                "Registration opens soon: from {}.",
                                format_local(at, &zone)
                            ),
                            None => "Registration opens soon.".to_owned(),
                        }),
                        None,
                    ),
                    RegistrationWindow::Closed => {
                        (Some("Registration is closed.".to_owned()), None)
                    }
                    RegistrationWindow::InvitationOnly => (None, None),
                }
            };
            let takes_entries = !closed
                && takes_registrations
                && s.registration_state(now) == RegistrationWindow::Open;
            let form_heading = takes_entries.then_some(match seats {
                Seats::Available => "Register for this session",
                Seats::FullWithWaitlist => "Full — join the waitlist",
                Seats::Full => "Full",
            });
            ProgrammeItem {
                id: s.id,
                title: s.title.clone(),
                start_iso: crate::events::local_time::local_rfc3339(s.starts_at, zone),
                time_range: format_range(s.starts_at, s.ends_at, &zone),
                closed,
                closed_note: if s.chatham_house {
                    "Closed session — by invitation (Chatham House rule)"
                } else {
                    "Closed session — by invitation"
                },
                description: if closed { None } else { s.description.clone() },
                speakers: if closed {
                    Vec::new()
                } else {
                    speakers
                        .get(&s.id)
                        .map(|list| {
                            list.iter()
                                .map(|sp| SpeakerLine {
                                    name: sp.name.clone(),
                                    organization: sp.organization.clone(),
                                    role: sp.role.label(),
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                },
                registration_note,
                form_heading,
                form,
            }
        })
        .collect();

    let outcome_items = outcomes
        .into_iter()
        .map(|o| OutcomeItem {
            unattributed: o.chatham_house,
            speakers_line: o.speakers.filter(|list| !list.is_empty()).map(|list| {
                list.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            session_title: o.session_title,
            title: o.title,
            body_html: o.body_html,
        })
        .collect();

    let status_note = match event.status {
        EventStatus::Cancelled => Some("This dialogue has been cancelled.".to_owned()),
        EventStatus::Completed => Some("This dialogue has taken place.".to_owned()),
        _ => None,
    };
    let page = EventPage {
        when: Some(when(
            zone,
            rows.iter().map(|s| s.starts_at).min(),
            rows.iter().map(|s| s.ends_at).max(),
        )),
        status_note,
        format: event.format.label(),
        venue: event.venue.clone(),
        country: event.country.as_deref().map(CountryCode::display_name),
        timezone: event.timezone.clone(),
        calendar_url: format!("/api/v1/events/{}/calendar.ics", event.slug),
        summary: event.summary.clone(),
        contact: event.contact_name.clone().zip(event.contact_email.clone()),
        partners: groups,
        sessions: programme,
        outcomes: outcome_items,
        title: event.title,
    };
    Ok(Some((event.id, page)))
}
