//! Listing the events a viewer may see, filtered and keyset paginated.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::auth::model::Role;
use crate::auth::AuthUser;
use crate::context::Links;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{event_staff, events};
use crate::error::{AppResult, Validator};
use crate::events::fields::parse_uuid;
use crate::events::model::{Event, EventStatus};
use crate::events::types::EventView;
use crate::events::views::event_views;
use crate::organizations::CountryCode;

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
