//! An event's partner organisations: listing them and replacing the list.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::schema::{event_partners, events, organizations};
use crate::error::{AppError, AppResult, Validator};
use crate::events::access::event_for_staff;
use crate::events::fields::parse_uuid;
use crate::events::model::PartnerRole;
use crate::events::types::{PartnerRequest, PartnerView};

/// The partners of each of `event_ids`: the lead organiser first, then co-organisers,
/// supporters and funders, by name within each role.
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
