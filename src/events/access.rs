//! Who may see and change an event: its staff and admins (checked per object).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::schema::{event_staff, events};
use crate::error::{AppError, AppResult, Code};
use crate::events::model::EventStatus;

/// Whether `user` runs this event (admins run every event).
pub async fn is_event_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<bool> {
    if user.is_admin() {
        return Ok(true);
    }
    let n: i64 = event_staff::table
        .filter(event_staff::event_id.eq(event_id))
        .filter(event_staff::account_id.eq(user.account.id))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// The events `user` runs: the ones they are staff of; admins run every event (the rule of
/// [`is_event_staff`], for a list).
pub async fn events_run_by(conn: &mut AsyncPgConnection, user: &AuthUser) -> AppResult<Vec<Uuid>> {
    if user.is_admin() {
        Ok(events::table.select(events::id).load(conn).await?)
    } else {
        Ok(event_staff::table
            .filter(event_staff::account_id.eq(user.account.id))
            .select(event_staff::event_id)
            .load(conn)
            .await?)
    }
}

/// Refuses non-staff. `visible` says whether the caller may know the event exists (a published
/// event): then the answer is 403, otherwise 404 so a draft's existence does not leak.
pub async fn require_event_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
    visible: bool,
) -> AppResult<()> {
    if is_event_staff(conn, user, event_id).await? {
        Ok(())
    } else if visible {
        Err(AppError::forbidden(
            Code::NotEventStaff,
            "only the event's staff and admins may do this",
        ))
    } else {
        Err(AppError::not_found("event"))
    }
}

/// `require_event_staff` for an event known by its id: 404 when there is no such event or the
/// caller may not know it exists (it was never published), 403 for others who are not staff.
pub async fn require_staff_of_event(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<()> {
    let (status, published_at): (EventStatus, Option<chrono::DateTime<chrono::Utc>>) =
        events::table
            .find(event_id)
            .select((events::status, events::published_at))
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::not_found("event"))?;
    require_event_staff(conn, user, event_id, status.is_public(published_at)).await
}
