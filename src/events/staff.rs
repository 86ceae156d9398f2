//! Who runs an event besides its creator: the accounts that may join its staff, and taking
//! someone on or off it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::model::Role;
use crate::auth::AuthUser;
use crate::db::schema::{accounts, event_staff};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::event_for_staff;
use crate::events::fields::parse_uuid;
use crate::events::types::{StaffRequest, StaffView};

/// An account that could join an event's staff: an organiser or admin, not disabled.
pub struct StaffCandidate {
    pub account_id: Uuid,
    pub name: String,
    pub email: String,
}

/// The event's staff, the lead first.
pub async fn staff_of(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<Vec<StaffView>> {
    Ok(staff_by_event(conn, &[event_id])
        .await?
        .remove(&event_id)
        .unwrap_or_default())
}

/// Organiser and admin accounts, not disabled, not yet on the event's staff, by name.
pub async fn staff_candidates(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<Vec<StaffCandidate>> {
    let on_staff = event_staff::table
        .filter(event_staff::event_id.eq(event_id))
        .select(event_staff::account_id);
    let rows: Vec<(Uuid, String, String)> = accounts::table
        .filter(accounts::role.eq_any([Role::Organizer, Role::Admin]))
        .filter(accounts::disabled_at.is_null())
        .filter(accounts::id.ne_all(on_staff))
        .order((accounts::name.asc(), accounts::id.asc()))
        .limit(crate::db::page::MAX_LIMIT)
        .select((accounts::id, accounts::name, accounts::email))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(account_id, name, email)| StaffCandidate {
            account_id,
            name,
            email,
        })
        .collect())
}

/// Takes an account off the event's staff. An event always keeps someone to run it: removing
/// its last staff member is refused (409 `last_staff`). Decided under the event's lock, so
/// two removals at once cannot leave it with nobody.
pub async fn remove_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    id_or_slug: &str,
    account_id: Uuid,
) -> AppResult<()> {
    let event = event_for_staff(conn, user, id_or_slug).await?;
    let event_id = event.id;
    crate::db::transaction(conn, |conn| {
        async move {
            crate::db::locks::event(conn, event_id).await?;
            let staff: Vec<Uuid> = event_staff::table
                .filter(event_staff::event_id.eq(event_id))
                .select(event_staff::account_id)
                .load(conn)
                .await?;
            if !staff.contains(&account_id) {
                return Err(AppError::not_found("staff member"));
            }
            if staff.len() == 1 {
                return Err(AppError::conflict(
                    Code::LastStaff,
                    "this is the event's only staff member: add someone else before removing them",
                ));
            }
            diesel::delete(event_staff::table.find((event_id, account_id)))
                .execute(conn)
                .await?;
            Ok(())
        }
        .scope_boxed()
    })
    .await
}

/// The staff of each of `event_ids`, the lead first.
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

/// Role, disabled time, person id, name and email of an account to add to the staff.
type AccountToAdd = (Role, Option<DateTime<Utc>>, Option<Uuid>, String, String);

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
    let found: Option<AccountToAdd> = accounts::table
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
