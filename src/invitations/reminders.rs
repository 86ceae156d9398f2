//! Reminders are scheduled rows of the outbox, not a job of their own: an unanswered
//! invitation's reminder is queued with the invitation (due `invitation_reminder_days` before
//! it expires); a confirmed registrant's "your session is tomorrow" is the registrations'
//! (`registrations::emails::schedule_session_reminder`). When their cause goes away (an answer,
//! a revocation, a resend, a cancellation) they are withdrawn with `mail::outbox::withdraw`, so the
//! worker never needs to know about invitations.
//!
//! A reminder waits in the outbox without a usable link: its link's token is minted by the
//! worker when it sends it ([`mint_reminder_links`]).
//!
//! The sweep keeps the invitation rows truthful about what time and the worker did: it marks
//! pending invitations past their expiry `expired` (withdrawing any reminder still queued, e.g.
//! when the worker was down) and copies the count of delivered reminders into
//! `reminders_sent` / `last_reminded_at`. The staff list runs it for its event; `run_sweeper`
//! runs it for all events on an interval.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::watch;
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::db::schema::invitations;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::invitations::emails::{LINK_TOKEN_PLACEHOLDER, REMINDER_KIND};
use crate::invitations::model::{invitation_reminder_key, Invitation, InvitationStatus};
use crate::mail::outbox::{withdraw, Email, Withdraw};
use crate::mail::status::{latest_due, sent_per_invitation};

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
    if let Some(last) = latest_due(conn, &earlier).await? {
        at = at.max(last + Duration::hours(MIN_HOURS_BETWEEN_REMINDERS));
    }
    Ok((at > now && at < expires_at).then_some(at))
}

/// Fills in the link of each claimed invitation reminder with a token minted now, for the
/// invitation its row names (`invitation_id`) at the generation it was queued for, and stored
/// hashed in
/// `invitation_link_tokens` (the invitation's own token, emailed once and stored hashed,
/// cannot be recovered, and replacing it would break the first email's link). The token
/// exists only in the message in memory and in the email sent; the row keeps the placeholder
/// until `mark_sent` stores the body with its tokens blanked. Answers the ids of reminders
/// whose invitation is no longer pending at that generation: the caller withdraws them.
pub async fn mint_reminder_links(
    conn: &mut AsyncPgConnection,
    claimed: &mut [Email],
) -> AppResult<Vec<Uuid>> {
    let mut stale = Vec::new();
    for email in claimed.iter_mut() {
        let holds_placeholder = email.text_body.contains(LINK_TOKEN_PLACEHOLDER)
            || email.html_body.contains(LINK_TOKEN_PLACEHOLDER);
        if email.kind != REMINDER_KIND.as_str() || !holds_placeholder {
            continue;
        }
        // Stale unless the invitation it names is pending at the generation it was queued
        // for: a resend queues a reminder of its own.
        let Some(invitation_id) = email.invitation_id else {
            stale.push(email.id);
            continue;
        };
        let current: Option<i32> = invitations::table
            .find(invitation_id)
            .filter(invitations::status.eq(InvitationStatus::Pending))
            .filter(invitations::expires_at.gt(Utc::now()))
            .select(invitations::generation)
            .first(conn)
            .await
            .optional()?;
        let Some(generation) = current.filter(|g| {
            email.dedupe_key.as_deref() == Some(invitation_reminder_key(invitation_id, *g).as_str())
        }) else {
            stale.push(email.id);
            continue;
        };
        let token = IssuedToken::generate();
        let minted = diesel::sql_query(
            "INSERT INTO invitation_link_tokens (token_hash, invitation_id, generation) \
             SELECT $1, id, generation FROM invitations \
             WHERE id = $2 AND generation = $3 AND status = 'pending' AND expires_at > now()",
        )
        .bind::<diesel::sql_types::Bytea, _>(&token.hash)
        .bind::<diesel::sql_types::Uuid, _>(invitation_id)
        .bind::<diesel::sql_types::Integer, _>(generation)
        .execute(conn)
        .await?;
        if minted == 1 {
            email.text_body = email
                .text_body
                .replace(LINK_TOKEN_PLACEHOLDER, token.expose());
            email.html_body = email
                .html_body
                .replace(LINK_TOKEN_PLACEHOLDER, token.expose());
        } else {
            stale.push(email.id);
        }
    }
    Ok(stale)
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
        withdraw(conn, Withdraw::Causes(&keys)).await?;
    }
    let counted = copy_reminder_counts(conn, event_id).await?;
    Ok(SweepReport {
        expired: expired.len(),
        reminder_counts_updated: counted,
    })
}

/// Copies the count of delivered reminders, and the time of the last, into the invitations
/// whose copy differs; answers how many changed.
async fn copy_reminder_counts(
    conn: &mut AsyncPgConnection,
    event_id: Option<Uuid>,
) -> AppResult<usize> {
    let sent = sent_per_invitation(conn, REMINDER_KIND, event_id).await?;
    if sent.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = sent.iter().map(|s| s.invitation_id).collect();
    let counts: Vec<i32> = sent.iter().map(|s| s.count).collect();
    let lasts: Vec<Option<DateTime<Utc>>> = sent.iter().map(|s| s.last_sent_at).collect();
    Ok(diesel::sql_query(
        "UPDATE invitations i SET reminders_sent = s.n, last_reminded_at = s.last \
         FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS s(invitation_id, n, last) \
         WHERE i.id = s.invitation_id \
           AND (i.reminders_sent <> s.n OR i.last_reminded_at IS DISTINCT FROM s.last)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Integer>, _>(counts)
    .bind::<Array<Nullable<Timestamptz>>, _>(lasts)
    .execute(conn)
    .await?)
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
