//! Reminders are scheduled rows of the outbox, not a job of their own: an unanswered
//! invitation's reminder is queued with the invitation (due `invitation_reminder_days` before
//! it expires); a confirmed registrant's "your session is tomorrow" is the registrations'
//! (`registrations::emails::schedule_session_reminder`). When their cause goes away (an answer,
//! a revocation, a resend, a cancellation) they are withdrawn with `cancel_pending`, so the
//! worker never needs to know about invitations.
//!
//! The sweep keeps the invitation rows truthful about what time and the worker did: it marks
//! pending invitations past their expiry `expired` (withdrawing any reminder still queued, e.g.
//! when the worker was down) and copies the count of delivered reminders into
//! `reminders_sent` / `last_reminded_at`. The staff list runs it for its event; `run_sweeper`
//! runs it for all events on an interval.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::schema::{emails, invitations};
use crate::db::DbPool;
use crate::error::AppResult;
use crate::invitations::model::{invitation_reminder_key, Invitation, InvitationStatus};
use crate::mail::outbox::EmailStatus;

/// Reminders of one invitation are at least this far apart (a resend schedules a new one).
pub const MIN_HOURS_BETWEEN_REMINDERS: i64 = 24;

/// When the reminder of an invitation expiring at `expires_at` is due: `days` before, but not
/// within a day of a reminder already sent or scheduled for it (at most one a day), and only
/// while that moment is still ahead and before the expiry.
pub async fn invitation_reminder_time(
    conn: &mut AsyncPgConnection,
    invitation: &Invitation,
    expires_at: DateTime<Utc>,
    days: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<DateTime<Utc>>> {
    let mut at = expires_at - Duration::days(days);
    let earlier: Vec<String> = (1..=invitation.generation)
        .map(|g| invitation_reminder_key(invitation.id, g))
        .collect();
    let last: Option<DateTime<Utc>> = emails::table
        .filter(emails::dedupe_key.eq_any(&earlier))
        .filter(emails::status.ne_all([EmailStatus::Cancelled, EmailStatus::Failed]))
        .select(diesel::dsl::max(emails::next_attempt_at))
        .first(conn)
        .await?;
    if let Some(last) = last {
        at = at.max(last + Duration::hours(MIN_HOURS_BETWEEN_REMINDERS));
    }
    Ok((at > now && at < expires_at).then_some(at))
}

/// What one sweep changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct SweepReport {
    pub expired: usize,
    pub reminder_counts_updated: usize,
}

/// Brings invitation rows up to date: expiries that have passed, reminders that went out.
/// `event_id` limits it to one event.
pub async fn sweep(conn: &mut AsyncPgConnection, event_id: Option<Uuid>) -> AppResult<SweepReport> {
    let now = Utc::now();
    let mut expire = diesel::update(invitations::table)
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .filter(invitations::expires_at.le(now))
        .set((
            invitations::status.eq(InvitationStatus::Expired),
            invitations::updated_at.eq(now),
        ))
        .into_boxed();
    if let Some(event_id) = event_id {
        expire = expire.filter(invitations::event_id.eq(event_id));
    }
    let expired: Vec<(Uuid, i32)> = expire
        .returning((invitations::id, invitations::generation))
        .get_results(conn)
        .await?;
    if !expired.is_empty() {
        let keys: Vec<String> = expired
            .iter()
            .map(|(id, generation)| invitation_reminder_key(*id, *generation))
            .collect();
        diesel::update(emails::table)
            .filter(emails::dedupe_key.eq_any(&keys))
            .filter(emails::status.eq(EmailStatus::Queued))
            .set(emails::status.eq(EmailStatus::Cancelled))
            .execute(conn)
            .await?;
    }
    // Reminder keys are `invitation-reminder:{invitation id}:{generation}`.
    let counted = diesel::sql_query(
        "UPDATE invitations i SET reminders_sent = s.n, last_reminded_at = s.last \
         FROM (SELECT split_part(dedupe_key, ':', 2)::uuid AS invitation_id, \
                      count(*)::int AS n, max(sent_at) AS last \
               FROM emails \
               WHERE kind = 'invitation_reminder' AND status = 'sent' \
                 AND ($1::uuid IS NULL OR event_id = $1) \
               GROUP BY 1) s \
         WHERE i.id = s.invitation_id \
           AND (i.reminders_sent <> s.n OR i.last_reminded_at IS DISTINCT FROM s.last)",
    )
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(event_id)
    .execute(conn)
    .await?;
    Ok(SweepReport {
        expired: expired.len(),
        reminder_counts_updated: counted,
    })
}

/// Sweeps every `interval` until `shutdown` turns true. Safe to run in several processes at
/// once (each statement is idempotent).
pub async fn run_sweeper(pool: DbPool, interval: StdDuration, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match pool.get().await {
            Ok(mut conn) => match sweep(&mut conn, None).await {
                Ok(report) if report.expired > 0 || report.reminder_counts_updated > 0 => {
                    tracing::info!(
                        expired = report.expired,
                        reminder_counts_updated = report.reminder_counts_updated,
                        "invitation sweep"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "invitation sweep failed; will retry"),
            },
            Err(e) => tracing::warn!(error = %e, "invitation sweep could not get a connection"),
        }
        crate::runtime::pause_unless_stopped(interval, &mut shutdown).await;
    }
}
