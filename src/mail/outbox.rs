//! The outbox: an email is a row written in the transaction of its cause. Nothing is sent here;
//! the worker delivers it, so a rolled-back change never emails anyone and a crash loses nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::prepared::KeepPrepared;
use crate::db::schema::emails;
use crate::error::AppResult;
use crate::mail::compose::{Contact, EmailBody};
use crate::mail::EmailKind;

crate::text_enum! {
    pub enum EmailStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = emails)]
pub struct Email {
    pub id: Uuid,
    pub dedupe_key: Option<String>,
    /// As stored: an [`EmailKind`], or the kind of an older version, still readable.
    pub kind: String,
    pub event_id: Option<Uuid>,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub ics: Option<String>,
    pub status: EmailStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub locked_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The Reply-To mailbox ("Name <address>"), when the message has one.
    pub reply_to: Option<String>,
    /// The invitation whose reminder this is.
    pub invitation_id: Option<Uuid>,
    /// The registration whose reminder this is.
    pub registration_id: Option<Uuid>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = emails)]
struct NewEmail {
    id: Uuid,
    dedupe_key: Option<String>,
    kind: String,
    event_id: Option<Uuid>,
    to_address: String,
    to_name: Option<String>,
    subject: String,
    text_body: String,
    html_body: String,
    ics: Option<String>,
    next_attempt_at: DateTime<Utc>,
    reply_to: Option<String>,
    invitation_id: Option<Uuid>,
    registration_id: Option<Uuid>,
}

/// One message to one recipient (never a shared To list).
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    /// What caused it; shown to staff.
    pub kind: EmailKind,
    /// One cause, one email: a second enqueue with the same key is ignored.
    pub dedupe_key: Option<String>,
    pub event_id: Option<Uuid>,
    pub to_address: String,
    pub to_name: Option<String>,
    pub body: EmailBody,
    /// An iCalendar document attached as invite.ics.
    pub ics: Option<String>,
    /// Due time for scheduled mail (reminders); now when absent.
    pub send_at: Option<DateTime<Utc>>,
    /// Where replies go (the event's contact); the sender's address when absent.
    pub reply_to: Option<Contact>,
    /// The invitation or registration whose reminder this is: how its owner finds it.
    pub invitation_id: Option<Uuid>,
    pub registration_id: Option<Uuid>,
}

impl OutgoingEmail {
    pub fn new(kind: EmailKind, to_address: &str, to_name: Option<&str>, body: EmailBody) -> Self {
        OutgoingEmail {
            kind,
            dedupe_key: None,
            event_id: None,
            to_address: to_address.to_owned(),
            to_name: to_name.map(str::to_owned),
            body,
            ics: None,
            send_at: None,
            reply_to: None,
            invitation_id: None,
            registration_id: None,
        }
    }

    /// Whom the recipient may write to about the message's event: the Reply-To, and a line
    /// under the footer. Nothing changes without a contact.
    pub fn contact(mut self, contact: Option<Contact>) -> Self {
        self.body.contact.clone_from(&contact);
        self.reply_to = contact;
        self
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn for_event(mut self, event_id: Uuid) -> Self {
        self.event_id = Some(event_id);
        self
    }

    pub fn with_ics(mut self, ics: String) -> Self {
        self.ics = Some(ics);
        self
    }

    pub fn send_at(mut self, at: DateTime<Utc>) -> Self {
        self.send_at = Some(at);
        self
    }

    /// A reminder of this invitation.
    pub fn about_invitation(mut self, invitation_id: Uuid) -> Self {
        self.invitation_id = Some(invitation_id);
        self
    }

    /// A reminder of this registration.
    pub fn about_registration(mut self, registration_id: Uuid) -> Self {
        self.registration_id = Some(registration_id);
        self
    }

    fn into_row(self) -> AppResult<NewEmail> {
        let rendered = self.body.render()?;
        Ok(NewEmail {
            id: Uuid::now_v7(),
            dedupe_key: self.dedupe_key,
            kind: self.kind.as_str().to_owned(),
            event_id: self.event_id,
            to_address: self.to_address,
            to_name: self.to_name,
            subject: rendered.subject,
            text_body: rendered.text,
            html_body: rendered.html,
            ics: self.ics,
            next_attempt_at: self.send_at.unwrap_or_else(Utc::now),
            reply_to: self.reply_to.as_ref().and_then(Contact::mailbox),
            invitation_id: self.invitation_id,
            registration_id: self.registration_id,
        })
    }
}

/// Queues one email in the caller's transaction. Returns false when its dedupe key was
/// already used, i.e. this cause has already emailed.
pub async fn enqueue(conn: &mut AsyncPgConnection, email: OutgoingEmail) -> AppResult<bool> {
    Ok(enqueue_many(conn, vec![email]).await? == 1)
}

/// Emails rendered and inserted at once: a fan-out holds one chunk's bodies (and their insert's
/// copy of them) at a time, not all of them.
const RENDERED_AT_ONCE: usize = 100;

/// Queues many emails (an invitation fan-out), in statements of [`RENDERED_AT_ONCE`]; returns
/// how many were new.
///
/// Workers find the mail at their next poll (`worker.poll_interval_ms`). No NOTIFY is sent:
/// PostgreSQL serialises the commits of notifying transactions on one global lock, which would
/// slow a registration rush.
pub async fn enqueue_many(
    conn: &mut AsyncPgConnection,
    emails_to_send: Vec<OutgoingEmail>,
) -> AppResult<usize> {
    let mut inserted = 0;
    let mut emails = emails_to_send.into_iter();
    loop {
        let rows = emails
            .by_ref()
            .take(RENDERED_AT_ONCE)
            .map(OutgoingEmail::into_row)
            .collect::<AppResult<Vec<_>>>()?;
        inserted += match rows.as_slice() {
            [] => break,
            // One email, the common case (a confirmation, in a rush under the session's lock): a
            // statement of fixed shape, kept prepared.
            [row] => {
                KeepPrepared(
                    diesel::insert_into(emails::table)
                        .values(row)
                        .on_conflict(emails::dedupe_key)
                        .do_nothing(),
                )
                .execute(conn)
                .await?
            }
            rows => {
                diesel::insert_into(emails::table)
                    .values(rows)
                    .on_conflict(emails::dedupe_key)
                    .do_nothing()
                    .execute(conn)
                    .await?
            }
        };
    }
    Ok(inserted)
}

/// Re-renders scheduled mail that has not been tried yet, when what it says changed (a session
/// reminder after the session moved): the queued row with this email's dedupe key takes its
/// content and due time. Answers whether there was such a row.
pub async fn replace_pending(
    conn: &mut AsyncPgConnection,
    email: OutgoingEmail,
) -> AppResult<bool> {
    let row = email.into_row()?;
    let Some(key) = row.dedupe_key else {
        return Ok(false);
    };
    let replaced = diesel::update(emails::table)
        .filter(emails::dedupe_key.eq(key))
        .filter(emails::status.eq(EmailStatus::Queued))
        .filter(emails::attempts.eq(0))
        .set((
            emails::to_name.eq(row.to_name),
            emails::subject.eq(row.subject),
            emails::text_body.eq(row.text_body),
            emails::html_body.eq(row.html_body),
            emails::ics.eq(row.ics),
            emails::next_attempt_at.eq(row.next_attempt_at),
            emails::reply_to.eq(row.reply_to),
        ))
        .execute(conn)
        .await?;
    Ok(replaced > 0)
}

/// Which queued mail to withdraw.
#[derive(Debug, Clone, Copy)]
pub enum Withdraw<'a> {
    /// The message of one cause (its dedupe key): an answered invitation's reminder, a
    /// cancelled registration's session reminder.
    Cause(&'a str),
    /// The messages of several causes.
    Causes(&'a [String]),
    /// An event's messages that no worker has tried yet and whose time has not come
    /// (reminders): the event is off.
    ScheduledForEvent(Uuid),
}

/// The one way to withdraw mail: queued rows become `cancelled` with the tokens of their links
/// blanked (rule 5), so a withdrawn message keeps no usable link. Rows being sent, sent or
/// failed are left as they are. Outbox rows come last in the lock order.
pub async fn withdraw(conn: &mut AsyncPgConnection, what: Withdraw<'_>) -> AppResult<usize> {
    let queued = diesel::update(emails::table)
        .filter(emails::status.eq(EmailStatus::Queued))
        .into_boxed();
    let chosen = match what {
        Withdraw::Cause(key) => queued.filter(emails::dedupe_key.eq(key)),
        Withdraw::Causes(keys) => queued.filter(emails::dedupe_key.eq_any(keys)),
        Withdraw::ScheduledForEvent(event_id) => queued
            .filter(emails::event_id.eq(event_id))
            .filter(emails::attempts.eq(0))
            .filter(emails::next_attempt_at.gt(Utc::now())),
    };
    Ok(chosen
        .set((
            emails::status.eq(EmailStatus::Cancelled),
            emails::text_body.eq(redacted_in_sql(emails::text_body)),
            emails::html_body.eq(redacted_in_sql(emails::html_body)),
        ))
        .execute(conn)
        .await?)
}

/// Links that carry a secret token: `…?token=<43>` and `…/invitations/<43>`.
const TOKEN_LINK: &str = "(token=|/invitations/)[A-Za-z0-9_-]{43}";
/// The same link with its token blanked, in PostgreSQL's and in Rust's replacement syntax.
const TOKEN_LINK_REDACTED_SQL: &str = r"\1[redacted]";
const TOKEN_LINK_REDACTED: &str = "${1}[redacted]";

diesel::define_sql_function! {
    #[sql_name = "regexp_replace"]
    fn regexp_replace_all(text: Text, pattern: Text, replacement: Text, flags: Text) -> Text;
}

/// A body with the secret tokens of its links blanked out (rule 5: no token in clear in the
/// database). A message needs its links only until it is delivered, so the token is kept
/// while the row waits and blanked as soon as it is sent, failed or withdrawn; staff still see
/// every message, without live links.
pub fn redact_tokens(body: &str) -> std::borrow::Cow<'_, str> {
    static LINK: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(TOKEN_LINK).expect("TOKEN_LINK parses"));
    LINK.replace_all(body, TOKEN_LINK_REDACTED)
}

/// [`redact_tokens`] in SQL, for rows the caller has not loaded. Bound rather than spliced
/// in, so the statement stays prepared.
fn redacted_in_sql<C>(body: C) -> regexp_replace_all<C, &'static str, &'static str, &'static str>
where
    C: diesel::expression::AsExpression<Text> + diesel::Expression<SqlType = Text>,
{
    regexp_replace_all(body, TOKEN_LINK, TOKEN_LINK_REDACTED_SQL, "g")
}

// The delivery state machine. A worker claims due rows (queued -> sending, `locked_at` set to
// the claim's time, `attempts` + 1), then records each outcome. Every outcome is fenced by
// `status = 'sending' AND locked_at = <the claim's time>`: once a row stuck in `sending` has
// been rescued, its original worker, should it still be alive, can no longer change it.

/// Longest `last_error` kept: SMTP servers may answer with pages of text.
const MAX_ERROR_CHARS: usize = 1000;

fn clip(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

/// Claims up to `limit` due messages, oldest due first, skipping rows another worker holds.
/// The rows come back in due order, marked `sending` under one `locked_at`.
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Email>> {
    let mut claimed = diesel::sql_query(
        "WITH due AS MATERIALIZED ( \
             SELECT id FROM emails \
             WHERE status = 'queued' AND next_attempt_at <= now() \
             ORDER BY next_attempt_at, id \
             LIMIT $1 \
             FOR UPDATE SKIP LOCKED) \
         UPDATE emails SET status = 'sending', locked_at = now(), attempts = attempts + 1 \
         FROM due WHERE emails.id = due.id \
         RETURNING emails.*",
    )
    .bind::<BigInt, _>(limit.max(1))
    .load::<Email>(conn)
    .await?;
    claimed.sort_by_key(|e| (e.next_attempt_at, e.id));
    Ok(claimed)
}

/// What `rescue_stuck` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rescued {
    /// Put back in the queue, keeping their due time so they go out first.
    pub requeued: usize,
    /// Interrupted `max_attempts` times already: given up as `failed`, so a message that kills
    /// every worker that sends it cannot stop the queue.
    pub failed: usize,
}

/// Frees rows left in `sending` longer than `stuck_after_secs` (their worker crashed or was
/// killed). Such a message may or may not have reached the SMTP server: it is sent again.
pub async fn rescue_stuck(
    conn: &mut AsyncPgConnection,
    stuck_after_secs: i64,
    max_attempts: i32,
) -> QueryResult<Rescued> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        status: EmailStatus,
    }
    let rows = diesel::sql_query(
        "WITH stuck AS MATERIALIZED ( \
             SELECT id FROM emails \
             WHERE status = 'sending' AND locked_at < now() - make_interval(secs => $1) \
             FOR UPDATE SKIP LOCKED) \
         UPDATE emails SET \
             status = CASE WHEN attempts >= $2 THEN 'failed' ELSE 'queued' END, \
             locked_at = NULL, \
             last_error = CASE WHEN attempts >= $2 \
                 THEN 'gave up: the worker stopped while sending, ' || attempts || ' times' \
                 ELSE 'the worker stopped while sending; sending again' END \
         FROM stuck WHERE emails.id = stuck.id \
         RETURNING emails.status",
    )
    .bind::<Double, _>(stuck_after_secs.max(1) as f64)
    .bind::<Integer, _>(max_attempts)
    .load::<Row>(conn)
    .await?;
    let failed = rows
        .iter()
        .filter(|r| r.status == EmailStatus::Failed)
        .count();
    Ok(Rescued {
        requeued: rows.len() - failed,
        failed,
    })
}

/// Records a delivery. False when the claim had been lost (the row was rescued meanwhile).
/// Kept prepared: it is on the delivery's critical path, where the worker lets no other message
/// through (`mail::worker`). `last_error` is kept: staff see why a message went out only after
/// retries.
pub async fn mark_sent(conn: &mut AsyncPgConnection, claim: &Email) -> QueryResult<bool> {
    let n = KeepPrepared(
        diesel::update(emails::table)
            .filter(emails::id.eq(claim.id))
            .filter(emails::status.eq(EmailStatus::Sending))
            .filter(emails::locked_at.eq(claim.locked_at))
            .set((
                emails::status.eq(EmailStatus::Sent),
                emails::sent_at.eq(diesel::dsl::now),
                emails::locked_at.eq(None::<DateTime<Utc>>),
                emails::text_body.eq(redact_tokens(&claim.text_body)),
                emails::html_body.eq(redact_tokens(&claim.html_body)),
            )),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Puts the message back in the queue, due at `next`, with the error of this attempt.
/// Withdraws claimed rows whose cause went away while they waited (the reminder of an
/// invitation answered, revoked or resent meanwhile).
pub async fn cancel_claimed(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<usize> {
    diesel::update(emails::table)
        .filter(emails::id.eq_any(ids))
        .filter(emails::status.eq(EmailStatus::Sending))
        .set((
            emails::status.eq(EmailStatus::Cancelled),
            emails::locked_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await
}

pub async fn mark_retry(
    conn: &mut AsyncPgConnection,
    claim: &Email,
    error: &str,
    next: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(emails::table)
        .filter(emails::id.eq(claim.id))
        .filter(emails::status.eq(EmailStatus::Sending))
        .filter(emails::locked_at.eq(claim.locked_at))
        .set((
            emails::status.eq(EmailStatus::Queued),
            emails::next_attempt_at.eq(next),
            emails::locked_at.eq(None::<DateTime<Utc>>),
            emails::last_error.eq(Some(clip(error))),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Gives up on the message: it stays `failed` with the error, and is never tried again.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    claim: &Email,
    error: &str,
) -> QueryResult<bool> {
    let n = diesel::update(emails::table)
        .filter(emails::id.eq(claim.id))
        .filter(emails::status.eq(EmailStatus::Sending))
        .filter(emails::locked_at.eq(claim.locked_at))
        .set((
            emails::status.eq(EmailStatus::Failed),
            emails::locked_at.eq(None::<DateTime<Utc>>),
            emails::last_error.eq(Some(clip(error))),
            emails::text_body.eq(redact_tokens(&claim.text_body)),
            emails::html_body.eq(redact_tokens(&claim.html_body)),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Hands back claimed messages whose sending never started (the worker is stopping, or its
/// batch ran long): queued again at once, their attempt not counted.
pub async fn release(conn: &mut AsyncPgConnection, claims: &[Email]) -> QueryResult<usize> {
    let mut released = 0;
    for claim in claims {
        released += diesel::update(emails::table)
            .filter(emails::id.eq(claim.id))
            .filter(emails::status.eq(EmailStatus::Sending))
            .filter(emails::locked_at.eq(claim.locked_at))
            .set((
                emails::status.eq(EmailStatus::Queued),
                emails::locked_at.eq(None::<DateTime<Utc>>),
                emails::attempts.eq(emails::attempts - 1),
            ))
            .execute(conn)
            .await?;
    }
    Ok(released)
}

/// How staff see a message of their event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub id: Uuid,
    /// What caused it: one of [`EmailKind`]'s values (a message queued by an older version may
    /// carry a kind no longer written).
    #[schema(example = "invitation")]
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub status: EmailStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub scheduled_for: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Email> for EmailView {
    fn from(e: Email) -> Self {
        EmailView {
            id: e.id,
            kind: e.kind,
            to: e.to_address,
            subject: e.subject,
            status: e.status,
            attempts: e.attempts,
            last_error: e.last_error,
            created_at: e.created_at,
            scheduled_for: e.next_attempt_at,
            sent_at: e.sent_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_blanks_the_tokens_of_both_link_forms_only() {
        let token = "Ab_-0123456789abcdefghijklmnopqrstuvwxyzABC";
        let body = format!(
            "https://x.org/invitations/{token}\nhttps://x.org/verify-email?token={token}&a=1\n\
             https://x.org/events/japan-2022 token=short"
        );
        assert_eq!(
            redact_tokens(&body),
            "https://x.org/invitations/[redacted]\n\
             https://x.org/verify-email?token=[redacted]&a=1\n\
             https://x.org/events/japan-2022 token=short"
        );
        assert!(matches!(
            redact_tokens("no links here"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
