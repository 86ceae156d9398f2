//! Who runs an event besides its creator: the accounts that may join its staff, and taking
//! someone off it. (Adding is `service::add_staff`.)

use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::model::Role;
use crate::auth::AuthUser;
use crate::db::schema::{accounts, event_staff};
use crate::error::{AppError, AppResult, Code};
use crate::events::model::StaffView;
use crate::events::service::{event_for_staff, staff_by_event};

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
