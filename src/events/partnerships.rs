//! An organisation's part in dialogues: the events it is a partner of, with its role.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{event_partners, events, sessions};
use crate::error::AppResult;
use crate::events::model::{EventStatus, PartnerRole};

/// One event an organisation is a partner of.
#[derive(Debug, Clone)]
pub struct Partnership {
    pub event_id: Uuid,
    pub title: String,
    pub status: EventStatus,
    /// The event's IANA time zone, in which its times are shown.
    pub timezone: String,
    pub role: PartnerRole,
    /// When its first session starts; none for an event without sessions yet.
    pub starts_at: Option<DateTime<Utc>>,
}

/// The events `organization_id` is a partner of, every status included (the console is for
/// admins), the latest first; events without sessions come first, as the newest plans.
pub async fn of_organization(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> AppResult<Vec<Partnership>> {
    let rows: Vec<(Uuid, String, EventStatus, String, PartnerRole)> = event_partners::table
        .inner_join(events::table)
        .filter(event_partners::organization_id.eq(organization_id))
        .select((
            events::id,
            events::title,
            events::status,
            events::timezone,
            event_partners::role,
        ))
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let starts: HashMap<Uuid, Option<DateTime<Utc>>> = sessions::table
        .filter(sessions::event_id.eq_any(&ids))
        .group_by(sessions::event_id)
        .select((sessions::event_id, diesel::dsl::min(sessions::starts_at)))
        .load::<(Uuid, Option<DateTime<Utc>>)>(conn)
        .await?
        .into_iter()
        .collect();
    let mut list: Vec<Partnership> = rows
        .into_iter()
        .map(|(event_id, title, status, timezone, role)| Partnership {
            starts_at: starts.get(&event_id).copied().flatten(),
            event_id,
            title,
            status,
            timezone,
            role,
        })
        .collect();
    list.sort_by(|a, b| {
        let key = |p: &Partnership| p.starts_at.map_or(i64::MAX, |t| t.timestamp());
        key(b).cmp(&key(a)).then_with(|| a.title.cmp(&b.title))
    });
    Ok(list)
}
