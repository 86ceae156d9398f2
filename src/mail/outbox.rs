//! The outbox: an email is a row written in the transaction of its cause. Nothing is sent here;
//! the worker delivers it, so a rolled-back change never emails anyone and a crash loses nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::schema::emails;
use crate::error::AppResult;
use crate::mail::compose::EmailBody;

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
}

/// One message to one recipient (never a shared To list).
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    /// What caused it, e.g. `registration_confirmed`; shown to staff.
    pub kind: &'static str,
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
}

impl OutgoingEmail {
    pub fn new(
        kind: &'static str,
        to_address: &str,
        to_name: Option<&str>,
        body: EmailBody,
    ) -> Self {
        OutgoingEmail {
            kind,
            dedupe_key: None,
            event_id: None,
            to_address: to_address.to_owned(),
            to_name: to_name.map(str::to_owned),
            body,
            ics: None,
            send_at: None,
        }
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

    fn into_row(self) -> AppResult<NewEmail> {
        let rendered = self.body.render()?;
        Ok(NewEmail {
            id: Uuid::now_v7(),
            dedupe_key: self.dedupe_key,
            kind: self.kind.to_owned(),
            event_id: self.event_id,
            to_address: self.to_address,
            to_name: self.to_name,
            subject: rendered.subject,
            text_body: rendered.text,
            html_body: rendered.html,
            ics: self.ics,
            next_attempt_at: self.send_at.unwrap_or_else(Utc::now),
        })
    }
}

/// Queues one email in the caller's transaction. Returns false when its dedupe key was
/// already used, i.e. this cause has already emailed.
pub async fn enqueue(conn: &mut AsyncPgConnection, email: OutgoingEmail) -> AppResult<bool> {
    Ok(enqueue_many(conn, vec![email]).await? == 1)
}

/// Queues many emails in one statement (an invitation fan-out); returns how many were new.
pub async fn enqueue_many(
    conn: &mut AsyncPgConnection,
    emails_to_send: Vec<OutgoingEmail>,
) -> AppResult<usize> {
    if emails_to_send.is_empty() {
        return Ok(0);
    }
    let rows = emails_to_send
        .into_iter()
        .map(OutgoingEmail::into_row)
        .collect::<AppResult<Vec<_>>>()?;
    let mut inserted = 0;
    // PostgreSQL takes at most 65535 bind parameters per statement.
    for chunk in rows.chunks(2000) {
        inserted += diesel::insert_into(emails::table)
            .values(chunk)
            .on_conflict(emails::dedupe_key)
            .do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(inserted)
}

/// Withdraws scheduled, unsent mail whose cause no longer holds (an answered invitation's
/// reminder, a cancelled registration's session reminder).
pub async fn cancel_pending(conn: &mut AsyncPgConnection, dedupe_key: &str) -> AppResult<usize> {
    Ok(diesel::update(emails::table)
        .filter(emails::dedupe_key.eq(dedupe_key))
        .filter(emails::status.eq(EmailStatus::Queued))
        .set(emails::status.eq(EmailStatus::Cancelled))
        .execute(conn)
        .await?)
}

/// How staff see a message of their event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub id: Uuid,
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
