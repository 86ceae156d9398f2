//! Anonymous requests cannot turn Convene into a mail cannon. Every request that makes Convene
//! email someone who has not proved anything (public registration and its re-submission, signup,
//! verification resend, password reset, organisation applications) asks `MailQuota::permit`
//! first, inside the transaction that would queue the email:
//!
//! * per client address (`limits.anonymous_emails_per_client_per_hour`): every such request
//!   counts, whether or not it led to an email, so the count tells the client nothing about
//!   the addresses it asked for; over the limit the request is refused with 429 + Retry-After;
//! * per recipient address (`limits.emails_per_recipient_per_hour`): the emails let through
//!   count; over the limit the request answers as usual and no email is queued.
//!
//! The counts are rows of `mail_requests` in PostgreSQL, so every instance shares them; a
//! transaction-scoped advisory lock per client and per recipient (taken in that order, and
//! after any row lock of the caller) makes concurrent requests count one after another.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::client_addr::ClientAddr;
use crate::config::LimitSettings;
use crate::db::schema::mail_requests;
use crate::error::{AppError, AppResult, Code};

/// The limits count the last hour.
const WINDOW_SECS: i64 = 3600;

/// What one request may cause: the configured limits and the client asking.
#[derive(Debug, Clone, Copy)]
pub struct MailQuota {
    limits: LimitSettings,
    client: ClientAddr,
}

/// Whether the email may be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    Granted,
    /// The recipient had its share this hour; the next email may go in this many seconds.
    Withheld {
        retry_after_secs: u64,
    },
}

impl Permit {
    pub fn granted(self) -> bool {
        self == Permit::Granted
    }

    /// For a caller who may learn about their own address (a logged-in account asking for its
    /// own email): a withheld email is a 429 with Retry-After.
    pub fn or_too_many(self) -> AppResult<()> {
        match self {
            Permit::Granted => Ok(()),
            Permit::Withheld { retry_after_secs } => Err(too_many(retry_after_secs)),
        }
    }
}

impl MailQuota {
    pub fn new(limits: LimitSettings, client: ClientAddr) -> MailQuota {
        MailQuota { limits, client }
    }

    pub fn client(&self) -> ClientAddr {
        self.client
    }

    /// Records one request that would email `recipient` (`None`: mail whose recipients are
    /// bounded otherwise, such as the admins' hourly digest) and answers whether the email may
    /// be queued. Over the client's limit: a 429, nothing recorded. Call it inside the
    /// transaction that queues the email, and before learning anything the answer could
    /// betray (whether the address has an account), so both cases do the same work.
    pub async fn permit(
        &self,
        conn: &mut AsyncPgConnection,
        recipient: Option<&str>,
    ) -> AppResult<Permit> {
        let per_client = self.limits.anonymous_emails_per_client_per_hour;
        let per_recipient = self.limits.emails_per_recipient_per_hour;
        if per_client <= 0 && per_recipient <= 0 {
            return Ok(Permit::Granted);
        }
        let since = Utc::now() - Duration::seconds(WINDOW_SECS);
        let client = self.client.key();
        if per_client > 0 {
            crate::db::locks::advisory(conn, &format!("mail-limit:client:{client}")).await?;
            let (count, oldest) = window(
                conn,
                mail_requests::table
                    .filter(mail_requests::client.eq(&client))
                    .filter(mail_requests::requested_at.gt(since))
                    .into_boxed(),
            )
            .await?;
            if count >= per_client {
                return Err(too_many(retry_after(oldest)));
            }
        }
        let recipient = recipient.map(str::to_lowercase);
        let mut permit = Permit::Granted;
        if let (Some(recipient), true) = (&recipient, per_recipient > 0) {
            crate::db::locks::advisory(conn, &format!("mail-limit:recipient:{recipient}")).await?;
            let (count, oldest) = window(
                conn,
                mail_requests::table
                    .filter(mail_requests::recipient.eq(recipient))
                    .filter(mail_requests::admitted)
                    .filter(mail_requests::requested_at.gt(since))
                    .into_boxed(),
            )
            .await?;
            if count >= per_recipient {
                permit = Permit::Withheld {
                    retry_after_secs: retry_after(oldest),
                };
            }
        }
        diesel::insert_into(mail_requests::table)
            .values((
                mail_requests::recipient.eq(recipient),
                mail_requests::client.eq(client),
                mail_requests::admitted.eq(permit.granted()),
            ))
            .execute(conn)
            .await?;
        if !permit.granted() {
            tracing::info!(client = %self.client, "email withheld: the recipient had its share this hour");
        }
        Ok(permit)
    }
}

/// Deletes the requests that count for nothing any more; answers how many.
pub async fn prune(conn: &mut AsyncPgConnection) -> AppResult<usize> {
    let before = Utc::now() - Duration::seconds(WINDOW_SECS);
    Ok(
        diesel::delete(mail_requests::table.filter(mail_requests::requested_at.lt(before)))
            .execute(conn)
            .await?,
    )
}

/// How many rows the query matches, and the oldest's time.
async fn window(
    conn: &mut AsyncPgConnection,
    query: mail_requests::BoxedQuery<'_, diesel::pg::Pg>,
) -> AppResult<(i64, Option<DateTime<Utc>>)> {
    Ok(query
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(mail_requests::requested_at),
        ))
        .first(conn)
        .await?)
}

/// Seconds until the oldest counted request leaves the window.
fn retry_after(oldest: Option<DateTime<Utc>>) -> u64 {
    oldest
        .map(|t| (t + Duration::seconds(WINDOW_SECS) - Utc::now()).num_seconds())
        .unwrap_or(WINDOW_SECS)
        .max(1) as u64
}

fn too_many(retry_after_secs: u64) -> AppError {
    AppError::slow_down(
        Code::TooManyRequests,
        format!("too many requests that send email; try again in {retry_after_secs} seconds"),
        retry_after_secs,
    )
}
