//! What another domain may read of its own messages in the outbox: when the message of a cause
//! is due, how many messages of a kind were delivered about each invitation, the newest message
//! of a kind to an address, and how many of an event's messages failed. With
//! `outbox::{enqueue, withdraw}` these are the only ways in: no code outside `mail` reads or
//! writes the `emails` table.

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::emails;
use crate::error::{AppError, AppResult};
use crate::mail::outbox::EmailStatus;
use crate::mail::EmailKind;

/// The latest time a message of one of these causes (dedupe keys) is or was due, among those
/// that are queued, being sent or sent (withdrawn and failed ones never reached anyone).
pub async fn latest_due(
    conn: &mut AsyncPgConnection,
    causes: &[String],
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(emails::table
        .filter(emails::dedupe_key.eq_any(causes))
        .filter(emails::status.ne_all([EmailStatus::Cancelled, EmailStatus::Failed]))
        .select(diesel::dsl::max(emails::next_attempt_at))
        .first(conn)
        .await?)
}

/// How many messages of one kind were delivered about one invitation, and when the last was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentAbout {
    pub invitation_id: Uuid,
    pub count: i32,
    pub last_sent_at: Option<DateTime<Utc>>,
}

/// The delivered messages of `kind` per invitation they are about; `event_id` limits them to
/// one event's.
pub async fn sent_per_invitation(
    conn: &mut AsyncPgConnection,
    kind: EmailKind,
    event_id: Option<Uuid>,
) -> AppResult<Vec<SentAbout>> {
    let mut query = emails::table
        .filter(emails::kind.eq(kind.as_str()))
        .filter(emails::status.eq(EmailStatus::Sent))
        .filter(emails::invitation_id.is_not_null())
        .group_by(emails::invitation_id)
        .select((
            emails::invitation_id,
            count_star(),
            diesel::dsl::max(emails::sent_at),
        ))
        .into_boxed();
    if let Some(event_id) = event_id {
        query = query.filter(emails::event_id.eq(event_id));
    }
    let rows: Vec<(Option<Uuid>, i64, Option<DateTime<Utc>>)> = query.load(conn).await?;
    rows.into_iter()
        .filter_map(|(id, count, last_sent_at)| Some((id?, count, last_sent_at)))
        .map(|(invitation_id, count, last_sent_at)| {
            let count = i32::try_from(count)
                .map_err(|_| AppError::internal("more messages than an int counts"))?;
            Ok(SentAbout {
                invitation_id,
                count,
                last_sent_at,
            })
        })
        .collect()
}

/// The newest message of `kind` to this address (its cause and when it is or was due), if any.
pub async fn latest_of_kind_to(
    conn: &mut AsyncPgConnection,
    kind: EmailKind,
    address: &str,
) -> AppResult<Option<(Option<String>, DateTime<Utc>)>> {
    Ok(emails::table
        .filter(emails::kind.eq(kind.as_str()))
        .filter(emails::to_address.eq(address))
        .order(emails::next_attempt_at.desc())
        .select((emails::dedupe_key, emails::next_attempt_at))
        .first(conn)
        .await
        .optional()?)
}

/// How many of an event's messages failed for good.
pub async fn failed_for_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<i64> {
    Ok(emails::table
        .filter(emails::event_id.eq(event_id))
        .filter(emails::status.eq(EmailStatus::Failed))
        .count()
        .get_result(conn)
        .await?)
}
