//! Creating and editing events: their fields, checked together, and their slugs.

use std::collections::HashSet;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::is_unique_violation;
use crate::db::schema::{event_staff, events, series, sessions};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::event_for_staff;
use crate::events::fields::{optional_text, parse_uuid, required_text};
use crate::events::model::{Event, EventFields, EventFormat, EventStatus, Series};
use crate::events::types::{EventPatch, EventRequest, EventView};
use crate::events::types::{Slug, TimeZone};
use crate::events::views::event_view;
use crate::organizations::{CountryCode, WebsiteUrl};
use crate::text::Lines;

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
