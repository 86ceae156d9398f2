//! The admins' digest of organisation applications: at most one email an hour per admin, listing
//! the applications still waiting, instead of one email per application (which let anyone fill
//! every admin's inbox by applying again and again).
//!
//! Coalescing rule, per admin, run in the transaction that records an application: the admin's
//! digest that is queued and not yet tried is re-rendered with the current list, keeping its due
//! time; otherwise a new digest is queued, due an hour after the previous one was due (at once,
//! when that is longer ago). The first application of a quiet hour is therefore told at once, the
//! next ones together an hour later. A transaction-scoped advisory lock makes concurrent
//! applications take turns, so each sees the digest the other queued and lists the other.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::model::Role;
use crate::context::Links;
use crate::db::schema::{accounts, organizations};
use crate::error::AppResult;
use crate::mail::outbox::replace_pending;
use crate::mail::status::latest_of_kind_to;
use crate::mail::{enqueue, inert, EmailAction, EmailBody, EmailKind, OutgoingEmail};
use crate::organizations::model::{MembershipStatus, Organization};
use crate::organizations::CountryCode;

pub const KIND: EmailKind = EmailKind::OrganizationApplications;
/// A digest lists at most this many applications, the oldest first, and counts the rest.
const LISTED: i64 = 30;

fn interval() -> Duration {
    Duration::hours(1)
}

/// Queues or refreshes every enabled admin's digest of the applications waiting.
/// Each application links to its page in the console.
pub async fn queue(conn: &mut AsyncPgConnection, links: &Links) -> AppResult<()> {
    crate::db::locks::advisory(conn, "organization-applications-digest").await?;
    let waiting: Vec<Organization> = organizations::table
        .filter(organizations::status.eq(MembershipStatus::Applicant))
        .order((organizations::created_at.asc(), organizations::id.asc()))
        .limit(LISTED)
        .select(Organization::as_select())
        .load(conn)
        .await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let total: i64 = organizations::table
        .filter(organizations::status.eq(MembershipStatus::Applicant))
        .count()
        .get_result(conn)
        .await?;
    let admins: Vec<(Uuid, String, String)> = accounts::table
        .filter(accounts::role.eq(Role::Admin))
        .filter(accounts::disabled_at.is_null())
        .select((accounts::id, accounts::email, accounts::name))
        .load(conn)
        .await?;
    let now = Utc::now();
    for (account_id, email, name) in admins {
        let digest = |due: DateTime<Utc>, key: String| {
            OutgoingEmail::new(
                KIND,
                &email,
                Some(&name),
                digest_email(&waiting, total, &name, links),
            )
            .dedupe(key)
            .send_at(due)
        };
        let latest = latest_of_kind_to(conn, KIND, &email).await?;
        if let Some((Some(key), due)) = &latest {
            if replace_pending(conn, digest(*due, key.clone())).await? {
                continue;
            }
        }
        let due = latest
            .map(|(_, due)| due + interval())
            .filter(|due| *due > now)
            .unwrap_or(now);
        let key = format!("{KIND}:{account_id}:{}", due.timestamp_micros());
        enqueue(conn, digest(due, key)).await?;
    }
    Ok(())
}

fn digest_email(
    waiting: &[Organization],
    total: i64,
    admin_name: &str,
    links: &Links,
) -> EmailBody {
    // Everything about an application was typed by an anonymous applicant: shown inert.
    let subject = match waiting {
        [one] if total == 1 => format!("Application to join the partnership: {}", inert(&one.name)),
        _ => format!("{total} applications to join the partnership are waiting"),
    };
    let mut paragraphs = vec![format!(
        "{} waiting for a decision on joining the Asia-Pacific Partnership for Atrocity Prevention.",
        match total {
            1 => "One organisation is".to_owned(),
            n => format!("{n} organisations are"),
        }
    )];
    if total > waiting.len() as i64 {
        paragraphs.push(format!(
            "The {} oldest are listed below; the console's list of applications has them all.",
            waiting.len()
        ));
    }
    paragraphs.push(
        "Open an application's page in the console to approve it or to decline it with a reason; the applicant's contact is emailed either way. You receive at most one such message an hour.".to_owned(),
    );
    EmailBody {
        subject,
        greeting: format!("Dear {admin_name},"),
        paragraphs,
        details: waiting
            .iter()
            .map(|org| application_line(org, links))
            .collect(),
        action: Some(EmailAction {
            label: "Review the applications".to_owned(),
            url: links.applications(),
        }),
        ..Default::default()
    }
}

/// One application as a label (its name) and a value (all else it says, and its console page).
fn application_line(org: &Organization, links: &Links) -> (String, String) {
    let mut facts = vec![org.kind.as_str().replace('_', " ")];
    if let Some(short) = &org.short_name {
        facts.push(format!("short name {}", inert(short)));
    }
    if let Some(country) = org
        .country
        .as_deref()
        .and_then(|c| CountryCode::parse(c).ok())
    {
        facts.push(format!("{} ({country})", country.name()));
    }
    if let Some(website) = &org.website {
        facts.push(format!("website {}", inert(website)));
    }
    let contact = match (&org.contact_name, &org.contact_email) {
        (Some(name), Some(email)) => format!("{} <{}>", inert(name), inert(email)),
        (None, Some(email)) => inert(email),
        _ => "none given".to_owned(),
    };
    facts.push(format!("contact {contact}"));
    if let Some(note) = &org.application_note {
        facts.push(format!("note: {}", inert(note)));
    }
    facts.push(format!(
        "applied {}; its page: {}",
        org.created_at.format("%Y-%m-%d %H:%M UTC"),
        links.organization(org.id)
    ));
    (inert(&org.name), facts.join("; "))
}
