//! The organisers' daily digest of registrations awaiting approval: once a day at most, to each
//! staff member of a dialogue that has registrations waiting for a decision, listing them per
//! session with a link to the console page where they are approved or rejected.
//!
//! It is checked on an interval (`worker.approval_digest_check_secs`) wherever mail is delivered.
//! A dialogue with nothing waiting sends nothing. "Once a day" is the outbox's dedupe key
//! `approval_digest:{event}:{account}:{UTC date}`: however many workers check, and however often,
//! a staff member gets at most one digest per dialogue per UTC day, the first check of the day
//! that finds something waiting. A digest lists what waits when it is written.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::schema::{accounts, event_staff, events, registrations, sessions};
use crate::db::DbPool;
use crate::error::AppResult;
use crate::events::facts::{EventFacts, SessionFacts};
use crate::mail::{enqueue, inert, EmailAction, EmailBody, EmailKind, OutgoingEmail};
use crate::registrations::model::RegistrationStatus;

pub const KIND: EmailKind = EmailKind::ApprovalDigest;

/// The dedupe key of one staff member's digest of one dialogue on one UTC day.
pub fn dedupe_key(event_id: Uuid, account_id: Uuid, now: DateTime<Utc>) -> String {
    format!(
        "{KIND}:{event_id}:{account_id}:{}",
        now.date_naive().format("%Y-%m-%d")
    )
}

/// Queues today's digest for every staff member of every dialogue (draft or published) with
/// registrations awaiting approval in sessions not yet over. Answers how many were new.
pub async fn queue_due(
    conn: &mut AsyncPgConnection,
    public_url: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let counts: Vec<(Uuid, i64)> = registrations::table
        .inner_join(sessions::table.inner_join(events::table))
        .filter(registrations::status.eq(RegistrationStatus::PendingApproval))
        .filter(sessions::ends_at.gt(now))
        .filter(events::status.eq_any(["draft", "published"]))
        .group_by(registrations::session_id)
        .select((registrations::session_id, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    if counts.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = counts.iter().map(|(id, _)| *id).collect();
    let found: Vec<(SessionFacts, EventFacts)> = sessions::table
        .inner_join(events::table)
        .filter(sessions::id.eq_any(&ids))
        .select((SessionFacts::as_select(), EventFacts::as_select()))
        .load(conn)
        .await?;
    let counts: std::collections::HashMap<Uuid, i64> = counts.into_iter().collect();
    let waiting = found.into_iter().map(|(session, event)| {
        let n = counts.get(&session.id).copied().unwrap_or(0);
        (session, event, n)
    });
    let mut by_event: BTreeMap<Uuid, (EventFacts, Vec<(SessionFacts, i64)>)> = BTreeMap::new();
    for (session, event, n) in waiting {
        by_event
            .entry(event.id)
            .or_insert_with(|| (event, Vec::new()))
            .1
            .push((session, n));
    }
    let mut queued = 0;
    for (event_id, (event, mut lines)) in by_event {
        lines.sort_by_key(|(s, _)| (s.starts_at, s.id));
        let staff: Vec<(Uuid, String, String)> = event_staff::table
            .inner_join(accounts::table)
            .filter(event_staff::event_id.eq(event_id))
            .filter(accounts::disabled_at.is_null())
            .select((accounts::id, accounts::email, accounts::name))
            .load(conn)
            .await?;
        for (account_id, email, name) in staff {
            let body = digest_email(&event, &lines, &name, public_url);
            let mail = OutgoingEmail::new(KIND, &email, Some(&name), body)
                .for_event(event_id)
                .dedupe(dedupe_key(event_id, account_id, now));
            if enqueue(conn, mail).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

fn digest_email(
    event: &EventFacts,
    lines: &[(SessionFacts, i64)],
    staff_name: &str,
    public_url: &str,
) -> EmailBody {
    let total: i64 = lines.iter().map(|(_, n)| n).sum();
    let subject = match total {
        1 => format!("1 registration awaits your approval: {}", event.title),
        n => format!("{n} registrations await your approval: {}", event.title),
    };
    let first = &lines[0].0;
    EmailBody {
        subject,
        greeting: format!("Dear {},", inert(staff_name)),
        paragraphs: vec![
            format!(
                "{} to {} {} waiting for your decision. Open a session's registrations in the console to approve or reject each one; the registrant is told either way.",
                match total {
                    1 => "One registration".to_owned(),
                    n => format!("{n} registrations"),
                },
                event.title,
                if total == 1 { "is" } else { "are" },
            ),
            "You receive this at most once a day, and only while registrations are waiting."
                .to_owned(),
        ],
        details: lines
            .iter()
            .map(|(session, n)| {
                (
                    session.title.clone(),
                    format!(
                        "{n} waiting ({}): {public_url}/manage/sessions/{}/registrations?status=pending_approval",
                        event.local_time(session),
                        session.id
                    ),
                )
            })
            .collect(),
        action: Some(EmailAction {
            label: "Review the registrations".to_owned(),
            url: format!(
                "{public_url}/manage/sessions/{}/registrations?status=pending_approval",
                first.id
            ),
        }),
        ..Default::default()
    }
}

/// Checks for digests to send every `interval` until `shutdown` turns true.
pub async fn run(
    pool: DbPool,
    public_url: String,
    interval: StdDuration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match pool.get().await {
            Ok(mut conn) => match queue_due(&mut conn, &public_url, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(queued = n, "approval digests queued"),
                Err(e) => tracing::warn!(error = %e, "approval digest failed; will retry"),
            },
            Err(e) => tracing::warn!(error = %e, "approval digest could not get a connection"),
        }
        crate::runtime::pause_unless_stopped(interval, &mut shutdown).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_digest_per_dialogue_staff_member_and_day() {
        let event = Uuid::nil();
        let account = Uuid::max();
        let morning = "2027-02-18T00:01:00Z".parse().expect("time");
        let evening = "2027-02-18T23:59:00Z".parse().expect("time");
        let next = "2027-02-19T00:00:00Z".parse().expect("time");
        assert_eq!(
            dedupe_key(event, account, morning),
            dedupe_key(event, account, evening)
        );
        assert_ne!(
            dedupe_key(event, account, evening),
            dedupe_key(event, account, next)
        );
    }
}
