//! Retrying a failed message of an event after its staff corrected the recipient's address.
//!
//! A failed message keeps its text, but the secret tokens of its links were blanked when it
//! failed (rule 5: no token in clear in the database), so it is sent again as it was only when
//! it carried no personal link. An invitation's message is different: the invitation is sent
//! again with a new link (`invitations::manage::resend`). Any other message that carried a
//! personal link cannot be retried; the page says so.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::schema::emails;
use crate::error::{AppError, AppResult, Code};
use crate::events::access::require_staff_of_event;
use crate::invitations::lookup::offered_sessions;
use crate::invitations::manage;
use crate::invitations::model::InvitationStatus;
use crate::invitations::staff as invitation_staff;
use crate::invitations::types::ResendRequest;
use crate::mail::outbox::{Email, EmailStatus};
use crate::mail::EmailKind;
use crate::people::service::{self as people, PersonUpdate};
use crate::people::EmailAddress;

/// What retrying a failed message does.
#[derive(Debug, Clone, PartialEq)]
pub enum RetryPlan {
    /// Queued again as it was, to the (corrected) address.
    Requeue,
    /// The invitation is sent again with a new link; this message stays as the record of the
    /// failure, marked cancelled.
    ResendInvitation(Uuid),
    /// It cannot be retried, for this reason (a sentence).
    Impossible(String),
}

/// A failed message of an event its staff may retry, and what retrying would do.
pub struct FailedEmail {
    pub email: Email,
    pub plan: RetryPlan,
}

/// The message, for its event's staff and admins, with what a retry would do. 404 for a
/// message of no event or of an event the user may not know; 409 `not_failed` unless failed.
pub async fn failed_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    email_id: Uuid,
) -> AppResult<FailedEmail> {
    let email: Email = emails::table
        .find(email_id)
        .select(Email::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("email"))?;
    let event_id = email.event_id.ok_or_else(|| AppError::not_found("email"))?;
    require_staff_of_event(conn, user, event_id).await?;
    if email.status != EmailStatus::Failed {
        return Err(AppError::conflict(
            Code::NotFailed,
            format!(
                "this message is {}: only a failed message can be retried",
                email.status
            ),
        ));
    }
    let plan = plan(conn, &email, event_id).await?;
    Ok(FailedEmail { email, plan })
}

async fn plan(conn: &mut AsyncPgConnection, email: &Email, event_id: Uuid) -> AppResult<RetryPlan> {
    let blanked_link =
        email.text_body.contains("[redacted]") || email.html_body.contains("[redacted]");
    if email.kind == EmailKind::Invitation.as_str() {
        let Some(invitation) =
            invitation_staff::of_recipient(conn, event_id, &email.to_address).await?
        else {
            return Ok(RetryPlan::Impossible(
                "The invitation this message carried is no longer found for this address."
                    .to_owned(),
            ));
        };
        let now = Utc::now();
        let first_start = offered_sessions(conn, invitation.id)
            .await?
            .iter()
            .map(|(s, _)| s.starts_at)
            .min();
        return Ok(match invitation.effective_status(now) {
            // A resend keeps the deadline, or moves it to the first session's start: neither
            // is left once both have passed.
            _ if invitation.expires_at <= now && first_start.is_none_or(|at| at <= now) => {
                RetryPlan::Impossible(
                    "The invitation's deadline has passed and its first session has started:                      it can no longer be answered, so there is nothing to send again."
                        .to_owned(),
                )
            }
            InvitationStatus::Pending | InvitationStatus::Expired | InvitationStatus::Declined => {
                RetryPlan::ResendInvitation(invitation.id)
            }
            status => RetryPlan::Impossible(format!(
                "The invitation is {status}: there is nothing to send again."
            )),
        });
    }
    if blanked_link {
        return Ok(RetryPlan::Impossible(
            "This message carried a personal link, which is blanked when delivery fails, so it \
             cannot be sent again as it was."
                .to_owned(),
        ));
    }
    Ok(RetryPlan::Requeue)
}

/// What a retry did.
pub struct Retried {
    pub event_id: Uuid,
    pub to: String,
}

/// Corrects the recipient's address (the person who has the old one, through
/// `people::service::update`: refused for an account's address or one another person has; an
/// address nobody has is simply replaced) and sends the message again as its
/// [`RetryPlan`] says. Nothing changes when the address is invalid, refused, or the message
/// cannot be retried.
pub async fn retry_failed(
    state: &Context,
    user: &AuthUser,
    email_id: Uuid,
    address: &str,
) -> AppResult<Retried> {
    let new =
        EmailAddress::parse(address).map_err(|e| AppError::invalid("email", e.to_string()))?;
    let mut conn = state.pool.get().await?;
    let found = failed_for_staff(&mut conn, user, email_id).await?;
    if let RetryPlan::Impossible(why) = &found.plan {
        return Err(AppError::conflict(Code::CannotRetry, why.clone()));
    }
    let event_id = found.email.event_id.unwrap_or_default();
    let actor = user.account.id;
    let views = &state.public_views;
    let plan = crate::db::retry::transaction(&mut conn, |conn| {
        let new = new.clone();
        async move {
            // The row under its lock: a concurrent retry finds it no longer failed.
            let email: Email = emails::table
                .find(email_id)
                .select(Email::as_select())
                .for_update()
                .first(conn)
                .await?;
            if email.status != EmailStatus::Failed {
                return Err(AppError::conflict(
                    Code::NotFailed,
                    "this message was retried meanwhile",
                ));
            }
            // Decided before the correction: the invitation is found by the old address.
            let plan = plan(conn, &email, event_id).await?;
            let old = EmailAddress::from_trusted(email.to_address.to_lowercase());
            if let Some(person) = people::find_by_email(conn, &old).await? {
                // The people's own rules: unique, and never the address of an account.
                let change = PersonUpdate {
                    email: Some(new.clone()),
                    ..PersonUpdate::default()
                };
                people::update(conn, views, actor, person.id, change).await?;
            }
            match &plan {
                RetryPlan::Requeue => {
                    diesel::update(emails::table.find(email_id))
                        .set((
                            emails::to_address.eq(new.as_str()),
                            emails::status.eq(EmailStatus::Queued),
                            emails::attempts.eq(0),
                            emails::next_attempt_at.eq(Utc::now()),
                            emails::locked_at.eq(None::<chrono::DateTime<Utc>>),
                            emails::last_error.eq(None::<String>),
                        ))
                        .execute(conn)
                        .await?;
                }
                RetryPlan::ResendInvitation(_) => {
                    let note = format!(
                        "{} Sent again with a new link to {}.",
                        email.last_error.as_deref().unwrap_or("Not delivered."),
                        new.as_str()
                    );
                    diesel::update(emails::table.find(email_id))
                        .set((
                            emails::status.eq(EmailStatus::Cancelled),
                            emails::last_error.eq(Some(note)),
                        ))
                        .execute(conn)
                        .await?;
                }
                RetryPlan::Impossible(why) => {
                    return Err(AppError::conflict(Code::CannotRetry, why.clone()))
                }
            }
            Ok(plan)
        }
        .scope_boxed()
    })
    .await?;
    if let RetryPlan::ResendInvitation(invitation_id) = plan {
        manage::resend(state, user, invitation_id, ResendRequest::default()).await?;
    }
    Ok(Retried {
        event_id,
        to: new.as_str().to_owned(),
    })
}
