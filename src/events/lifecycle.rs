//! An event's lifecycle: publishing, completing and cancelling it; cancelling withdraws its
//! places and its unsent mail and tells everyone who held one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::context::{Context, Links};
use crate::db::schema::{events, invitations, people, registrations, sessions};
use crate::error::{AppError, AppResult, Code};
use crate::events::access::event_for_staff;
use crate::events::facts::SessionFacts;
use crate::events::local_time::format_range;
use crate::events::model::{Event, EventStatus};
use crate::events::types::EventView;
use crate::events::views::event_view;
use crate::invitations::model::InvitationStatus;
use crate::mail::EmailKind;
use crate::mail::{EmailAction, EmailBody, OutgoingEmail};
use crate::registrations::model::RegistrationStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Publish,
    Cancel,
    Complete,
}

impl Transition {
    fn verb(self) -> &'static str {
        match self {
            Transition::Publish => "publish",
            Transition::Cancel => "cancel",
            Transition::Complete => "complete",
        }
    }

    /// The status the event moves to from `current`, if the move is allowed.
    pub fn target(self, current: EventStatus) -> Option<EventStatus> {
        use EventStatus::*;
        match (self, current) {
            (Transition::Publish, Draft) => Some(Published),
            (Transition::Cancel, Draft | Published) => Some(Cancelled),
            (Transition::Complete, Published) => Some(Completed),
            _ => None,
        }
    }

    fn allowed_from(self) -> &'static str {
        match self {
            Transition::Publish => "a draft",
            Transition::Cancel => "a draft or a published event",
            Transition::Complete => "a published event",
        }
    }
}

/// Moves the event through its lifecycle. Cancelling cancels every live registration of its
/// sessions and withdraws (`revoked`) every pending or accepted invitation, emails each of those
/// people once, all in the same transaction, and withdraws the event's scheduled mail
/// (reminders) that has not gone out.
pub async fn transition(
    state: &Context,
    user: &AuthUser,
    id_or_slug: &str,
    transition: Transition,
) -> AppResult<EventView> {
    let mut conn = state.pool.get().await?;
    let event = event_for_staff(&mut conn, user, id_or_slug).await?;
    let links = state.links.clone();
    let updated = crate::db::retry::transaction(&mut conn, |conn| {
        let (event, links) = (&event, &links);
        async move {
            // Under the row lock, two concurrent transitions see each other's result.
            crate::db::locks::event(conn, event.id).await?;
            let current: Event = events::table
                .find(event.id)
                .select(Event::as_select())
                .get_result(conn)
                .await?;
            let Some(target) = transition.target(current.status) else {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "cannot {} an event that is {}: only {} can be",
                        transition.verb(),
                        current.status,
                        transition.allowed_from()
                    ),
                ));
            };
            let now = Utc::now();
            // Cancelling decides on every registration and invitation of the event: with
            // its sessions locked too, no registration, confirmation or acceptance is
            // taken meanwhile, and those committed before are all seen below.
            if target == EventStatus::Cancelled {
                crate::db::locks::event_sessions_for_change(conn, event.id).await?;
            }
            let updated: Event = diesel::update(events::table.find(event.id))
                .set((
                    events::status.eq(target),
                    events::updated_at.eq(now),
                    events::published_at.eq(if target == EventStatus::Published {
                        Some(current.published_at.unwrap_or(now))
                    } else {
                        current.published_at
                    }),
                    events::cancelled_at.eq(if target == EventStatus::Cancelled {
                        Some(now)
                    } else {
                        current.cancelled_at
                    }),
                ))
                .returning(Event::as_returning())
                .get_result(conn)
                .await?;
            if target == EventStatus::Cancelled {
                queue_cancellation_emails(conn, &updated, links).await?;
            }
            Ok(updated)
        }
        .scope_boxed()
    })
    .await?;
    tracing::info!(event_id = %updated.id, status = %updated.status, "event status changed");
    state.public_views.forget_event(updated.id);
    event_view(&mut conn, updated, Some(user), &links).await
}

async fn queue_cancellation_emails(
    conn: &mut AsyncPgConnection,
    event: &Event,
    links: &Links,
) -> AppResult<()> {
    let (registrant_ids, invitee_ids) = told_of_cancellation(conn, event.id).await?;
    let mut ids: Vec<Uuid> = registrant_ids;
    ids.extend(invitee_ids);
    ids.sort_unstable();
    ids.dedup();
    withdraw_places(conn, event.id).await?;
    // Scheduled mail never tried yet (reminders) is moot once the event is off.
    crate::mail::outbox::withdraw(
        conn,
        crate::mail::outbox::Withdraw::ScheduledForEvent(event.id),
    )
    .await?;
    if ids.is_empty() {
        return Ok(());
    }
    // Every session leaves the calendars it is in: a CANCEL of each, of a higher SEQUENCE (the
    // caller holds the sessions' locks).
    let session_ids: Vec<Uuid> = sessions::table
        .filter(sessions::event_id.eq(event.id))
        .select(sessions::id)
        .load(conn)
        .await?;
    let raised = crate::registrations::emails::raise_sequences(conn, &session_ids).await?;
    let facts = crate::events::access::event_facts(conn, event.id).await?;
    let refs: Vec<&SessionFacts> = raised.iter().collect();
    let cancel_ics = (!refs.is_empty())
        .then(|| crate::registrations::emails::sessions_cancel_calendar(&facts, &refs));
    let recipients: Vec<(Uuid, String, String, Option<String>)> = people::table
        .filter(people::id.eq_any(&ids))
        .select((people::id, people::email, people::name, people::honorific))
        .load(conn)
        .await?;
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sessions::table
        .filter(sessions::event_id.eq(event.id))
        .select((
            diesel::dsl::min(sessions::starts_at),
            diesel::dsl::max(sessions::ends_at),
        ))
        .get_result(conn)
        .await?;
    let when = match (first, last) {
        (Some(start), Some(end)) => Some(format_range(start, end, &event.zone())),
        _ => None,
    };
    let emails_to_send = recipients
        .into_iter()
        .map(|(person_id, email, name, honorific)| {
            let addressee = match honorific {
                Some(h) if !h.is_empty() => format!("{h} {name}"),
                _ => name.clone(),
            };
            let mut details = vec![("Event".to_owned(), event.title.clone())];
            if let Some(when) = &when {
                details.push(("Was to be held".to_owned(), when.clone()));
            }
            let body = EmailBody {
                subject: format!("Cancelled: {}", event.title),
                greeting: format!("Dear {addressee},"),
                paragraphs: vec![
                    format!(
                        "We are sorry to tell you that {} has been cancelled.",
                        event.title
                    ),
                    "Your registration or invitation for its sessions no longer holds; there \
                     is nothing you need to do. Thank you for your interest."
                        .to_owned(),
                ],
                details,
                action: Some(EmailAction {
                    label: "See the event page".to_owned(),
                    url: links.event_page(&event.slug),
                }),
                footer: vec![
                    "You receive this email because you registered for or were invited to \
                     this dialogue."
                        .to_owned(),
                ],
                ..Default::default()
            };
            let out = OutgoingEmail::new(EmailKind::EventCancelled, &email, Some(&name), body)
                .for_event(event.id)
                .contact(event_contact(event))
                .dedupe(format!("event-cancelled:{}:{person_id}", event.id));
            match &cancel_ics {
                Some(ics) => out.with_ics(ics.clone()),
                None => out,
            }
        })
        .collect();
    crate::mail::enqueue_many(conn, emails_to_send).await?;
    Ok(())
}

/// Whom cancelling the event emails: the people with a live registration in its sessions,
/// and those with a pending or accepted invitation (each list distinct; a person may be in
/// both, and is emailed once). Read under the event's and sessions' locks when cancelling,
/// and without them for the confirmation page that says who will be told.
pub async fn told_of_cancellation(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
) -> AppResult<(Vec<Uuid>, Vec<Uuid>)> {
    let registrant_ids: Vec<Uuid> = registrations::table
        .inner_join(sessions::table)
        .filter(sessions::event_id.eq(event_id))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .select(registrations::person_id)
        .distinct()
        .load(conn)
        .await?;
    let invitee_ids: Vec<Uuid> = invitations::table
        .filter(invitations::event_id.eq(event_id))
        .filter(invitations::status.eq_any([InvitationStatus::Pending, InvitationStatus::Accepted]))
        .select(invitations::person_id)
        .distinct()
        .load(conn)
        .await?;
    Ok((registrant_ids, invitee_ids))
}

/// Cancels every live registration of the event's sessions and withdraws every pending or
/// accepted invitation (as `revoked`: its link answers that the event was cancelled). The
/// caller holds the event's and its sessions' locks, and emails each person once itself: no
/// per-registration notice, and no promotion from a waitlist that is cancelled too.
async fn withdraw_places(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<()> {
    let now = Utc::now();
    let event_sessions = sessions::table
        .filter(sessions::event_id.eq(event_id))
        .select(sessions::id);
    diesel::update(registrations::table)
        .filter(registrations::session_id.eq_any(event_sessions))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .set((
            registrations::status.eq(RegistrationStatus::Cancelled),
            registrations::cancelled_at.eq(now),
            registrations::waitlist_seq.eq(None::<i64>),
            registrations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    diesel::update(invitations::table)
        .filter(invitations::event_id.eq(event_id))
        .filter(invitations::status.eq_any([InvitationStatus::Pending, InvitationStatus::Accepted]))
        .set((
            invitations::status.eq(InvitationStatus::Revoked),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Whom participants write to about the event, when it has a contact.
pub fn event_contact(event: &Event) -> Option<crate::mail::Contact> {
    Some(crate::mail::Contact {
        name: event.contact_name.clone()?,
        email: event.contact_email.clone()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_moves() {
        use EventStatus::*;
        assert_eq!(Transition::Publish.target(Draft), Some(Published));
        assert_eq!(Transition::Publish.target(Published), None);
        assert_eq!(Transition::Cancel.target(Draft), Some(Cancelled));
        assert_eq!(Transition::Cancel.target(Published), Some(Cancelled));
        assert_eq!(Transition::Cancel.target(Completed), None);
        assert_eq!(Transition::Cancel.target(Cancelled), None);
        assert_eq!(Transition::Complete.target(Published), Some(Completed));
        assert_eq!(Transition::Complete.target(Draft), None);
    }
}
