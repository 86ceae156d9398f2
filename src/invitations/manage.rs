//! The event staff's side: listing an event's invitations, sending one again with a new link,
//! offering it more sessions, and withdrawing it.
//!
//! A resend replaces the token's hash (the old link stops working) and bumps `generation`,
//! which keys the emails, so that a resend mails again while a retried request does not.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::auth::AuthUser;
use crate::context::Context;
use crate::db::locks;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{invitation_sessions, invitations, people, sessions};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::event_facts;
use crate::events::access::is_event_staff;
use crate::events::calendar::CalendarMethod;
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::local_time::format_local;
use crate::invitations::create::{check_sessions, Sender, MAX_SESSIONS};
use crate::invitations::emails::{self, InvitationMail, Invitee};
use crate::invitations::lookup::{
    event_closed_error, event_for_staff, in_calendar, live_registrations, lock_invitation,
    offered_session_ids, offered_sessions, seats_of,
};
use crate::invitations::model::{Invitation, InvitationStatus, NewInvitationSession};
use crate::invitations::reminders;
use crate::invitations::types::{
    AddSessionsRequest, InvitationItem, InvitationSessionItem, ListInvitationsQuery, ResendRequest,
};
use crate::mail::outbox::{withdraw, Withdraw};
use crate::mail::{enqueue, enqueue_many};
use crate::people::model::Person;
use crate::registrations::emails::{raise_sequences, sessions_calendar, sessions_cancel_calendar};

use crate::registrations::service::cancel;

/// The invitation and its event, when `user` is on the event's staff. Anyone else gets a 404:
/// an invitation's existence is not theirs to know.
pub(super) async fn invitation_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    invitation_id: Uuid,
) -> AppResult<(Invitation, EventFacts)> {
    let invitation: Invitation = invitations::table
        .find(invitation_id)
        .select(Invitation::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("invitation"))?;
    if !is_event_staff(conn, user, invitation.event_id).await? {
        return Err(AppError::not_found("invitation"));
    }
    let event = event_facts(conn, invitation.event_id).await?;
    Ok((invitation, event))
}

fn invalid_transition(from: InvitationStatus, action: &str) -> AppError {
    AppError::conflict(
        Code::InvalidTransition,
        format!("an invitation that is {from} cannot be {action}"),
    )
}

/// Sends the invitation again with a new token (the old link stops working at once). Pending,
/// expired and declined invitations; each becomes pending (an expired one with a new expiry,
/// a declined one with its sessions offered afresh).
pub async fn resend(
    state: &Context,
    user: &AuthUser,
    invitation_id: Uuid,
    request: ResendRequest,
) -> AppResult<InvitationItem> {
    let mut conn = state.pool.get().await?;
    let (_, event) = invitation_for_staff(&mut conn, user, invitation_id).await?;
    let sender = Sender::of(state, user);
    crate::db::transaction(&mut conn, |conn| {
        let sender = &sender;
        async move {
            let now = Utc::now();
            // The event first (lock order): a cancelled event's invitations stay withdrawn.
            let event = locks::event(conn, event.id).await?;
            if !event.accepts_invitations() {
                return Err(event_closed_error(&event));
            }
            let invitation = lock_invitation(conn, invitation_id).await?;
            let status = invitation.effective_status(now);
            if !matches!(
                status,
                InvitationStatus::Pending | InvitationStatus::Expired | InvitationStatus::Declined
            ) {
                return Err(invalid_transition(status, "resent"));
            }
            let first_start = offered_sessions(conn, invitation.id)
                .await?
                .iter()
                .map(|(s, _)| s.starts_at)
                .min()
                .ok_or_else(|| {
                    AppError::conflict(Code::NoSessions, "the invitation's sessions were deleted")
                })?;
            let expires_at =
                match request.expires_at {
                    Some(at) if at <= now => {
                        return Err(AppError::invalid("expires_at", "is in the past"))
                    }
                    Some(at) if at > first_start => {
                        return Err(AppError::invalid(
                            "expires_at",
                            format!(
                                "is after the first session starts ({})",
                                format_local(first_start, &event.zone())
                            ),
                        ))
                    }
                    Some(at) => at,
                    None if invitation.expires_at > now => invitation.expires_at,
                    None if first_start > now => first_start,
                    None => return Err(AppError::invalid(
                        "expires_at",
                        "the first session has started: the invitation can no longer be answered",
                    )),
                };
            if status == InvitationStatus::Declined {
                // Offered afresh: every session is unanswered (and in the new offer's calendar).
                diesel::update(invitation_sessions::table)
                    .filter(invitation_sessions::invitation_id.eq(invitation.id))
                    .set(invitation_sessions::accepted.eq(None::<bool>))
                    .execute(conn)
                    .await?;
            }
            reissue(
                conn,
                &event,
                &invitation,
                InvitationStatus::Pending,
                expires_at,
                sender,
            )
            .await?;
            item(conn, invitation.id).await
        }
        .scope_boxed()
    })
    .await
}

/// Mails the invitation again with a new token (the old link stops working), listing every
/// session offered, with the calendar (PUBLISH) of those not answered yet, and, while the
/// invitation is unanswered, a reminder. The caller holds the invitation's lock.
async fn reissue(
    conn: &mut AsyncPgConnection,
    event: &EventFacts,
    invitation: &Invitation,
    status: InvitationStatus,
    expires_at: DateTime<Utc>,
    sender: &Sender,
) -> AppResult<()> {
    let now = Utc::now();
    let person: Person = people::table
        .find(invitation.person_id)
        .select(Person::as_select())
        .first(conn)
        .await?;
    let token = IssuedToken::generate();
    let generation = invitation.generation + 1;
    diesel::update(invitations::table.find(invitation.id))
        .set((
            invitations::token_hash.eq(&token.hash),
            invitations::generation.eq(generation),
            invitations::status.eq(status),
            invitations::expires_at.eq(expires_at),
            invitations::sent_at.eq(now),
            invitations::sent_by.eq(Some(sender.account_id)),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    withdraw(conn, Withdraw::Cause(&invitation.reminder_key())).await?;
    let offered = offered_sessions(conn, invitation.id).await?;
    // Sessions already accepted keep the calendar entry (with its link) of the acceptance.
    let unanswered: Vec<&SessionFacts> = offered
        .iter()
        .filter(|(_, accepted)| accepted.is_none())
        .map(|(s, _)| s)
        .collect();
    let offer_ics = sessions_calendar(event, &unanswered, CalendarMethod::Publish, false);
    let sessions: Vec<SessionFacts> = offered.into_iter().map(|(s, _)| s).collect();
    let mail = InvitationMail {
        event,
        sessions: &sessions,
        links: &sender.links,
        inviter: Some(&sender.name),
        message: invitation.message.as_deref(),
        offer_ics: &offer_ics,
    };
    let invitee = Invitee {
        invitation_id: invitation.id,
        generation,
        email: &person.email,
        name: &person.name,
        token: token.expose(),
        expires_at,
    };
    let mut outgoing = vec![emails::invitation_email(&mail, &invitee)];
    if status == InvitationStatus::Pending {
        if let Some(at) = reminders::invitation_reminder_time(
            conn,
            invitation,
            expires_at,
            sender.reminder_days,
            now,
        )
        .await?
        {
            outgoing.push(emails::invitation_reminder_email(&mail, &invitee, at));
        }
    }
    enqueue_many(conn, outgoing).await?;
    tracing::info!(invitation_id = %invitation.id, generation, "invitation sent again");
    Ok(())
}

/// Offers more sessions in an existing invitation (pending or accepted: the invitee keeps
/// their answer for the others and answers for these from a new link, which the invitation
/// is mailed again with). The expiry moves before the first new session when needed.
pub async fn add_sessions(
    state: &Context,
    user: &AuthUser,
    invitation_id: Uuid,
    request: AddSessionsRequest,
) -> AppResult<InvitationItem> {
    let mut conn = state.pool.get().await?;
    let (_, event) = invitation_for_staff(&mut conn, user, invitation_id).await?;
    let sender = Sender::of(state, user);
    crate::db::retry::transaction(&mut conn, |conn| {
        let (sender, session_ids, event_id) = (&sender, request.session_ids.clone(), event.id);
        async move {
            let now = Utc::now();
            // Lock order: the event, the sessions (those offered and those added) by id, then
            // the invitation; an answer or a revocation running meanwhile waits, or is waited
            // for, in the same direction.
            let event = locks::event(conn, event_id).await?;
            if !event.accepts_invitations() {
                return Err(event_closed_error(&event));
            }
            let mut lock_ids = offered_session_ids(conn, invitation_id).await?;
            lock_ids.extend(session_ids.iter().copied());
            locks::sessions(conn, &lock_ids).await?;
            let invitation = lock_invitation(conn, invitation_id).await?;
            let status = invitation.effective_status(now);
            if !matches!(
                status,
                InvitationStatus::Pending | InvitationStatus::Accepted
            ) {
                return Err(invalid_transition(status, "given more sessions"));
            }
            let offered = offered_session_ids(conn, invitation.id).await?;
            let mut v = Validator::new();
            let added = check_sessions(conn, &mut v, &event, &session_ids, now).await?;
            for (i, id) in session_ids.iter().enumerate() {
                if offered.contains(id) {
                    v.add(format!("session_ids[{i}]"), "is already offered");
                }
            }
            if offered.len() + session_ids.len() > MAX_SESSIONS {
                v.add(
                    "session_ids",
                    format!("an invitation offers at most {MAX_SESSIONS} sessions"),
                );
            }
            let added_ids: Vec<Uuid> = added.iter().map(|s| s.id).collect();
            if !live_registrations(conn, &[invitation.person_id], &added_ids)
                .await?
                .is_empty()
            {
                v.add("session_ids", "the invitee already holds a place in one of them");
            }
            v.finish()?;
            let rows: Vec<NewInvitationSession> = added
                .iter()
                .map(|s| NewInvitationSession {
                    invitation_id: invitation.id,
                    session_id: s.id,
                })
                .collect();
            diesel::insert_into(invitation_sessions::table)
                .values(&rows)
                .execute(conn)
                .await?;
            // Answers are taken before the first session starts.
            let first_new = added.iter().map(|s| s.starts_at).min();
            let expires_at = match first_new {
                Some(first) if first < invitation.expires_at => first,
                _ => invitation.expires_at,
            };
            reissue(conn, &event, &invitation, status, expires_at, sender).await?;
            tracing::info!(invitation_id = %invitation.id, added = added.len(), "sessions added to an invitation");
            item(conn, invitation.id).await
        }
        .scope_boxed()
    })
    .await
}

/// Withdraws an invitation (in any state but revoked): its link answers 410; its registrations
/// are cancelled (the waitlist promotes, and the promoted are emailed by `cancel`); the invitee is
/// told.
pub async fn revoke(
    state: &Context,
    user: &AuthUser,
    invitation_id: Uuid,
) -> AppResult<InvitationItem> {
    let mut conn = state.pool.get().await?;
    let (_, event) = invitation_for_staff(&mut conn, user, invitation_id).await?;
    let links = state.links.clone();
    crate::db::retry::transaction(&mut conn, |conn| {
        let (event, links) = (&event, &links);
        async move {
            let now = Utc::now();
            // Lock order: the invitation's sessions by id, then the invitation. Every status
            // change of a registration holds its session's lock, so the live registrations
            // listed below stay live until they are cancelled here.
            let session_ids = offered_session_ids(conn, invitation_id).await?;
            locks::sessions(conn, &session_ids).await?;
            let invitation = lock_invitation(conn, invitation_id).await?;
            let status = invitation.effective_status(now);
            // A declined invitation may still be answered again until its deadline: it too
            // can be withdrawn.
            if status == InvitationStatus::Revoked {
                return Err(invalid_transition(status, "revoked"));
            }
            let live = seats_of(conn, &invitation).await?;
            let mut promoted = 0;
            for (registration_id, _) in &live {
                let (_, moved_up) = cancel(conn, links, *registration_id).await?;
                promoted += moved_up.len();
            }
            diesel::update(invitations::table.find(invitation.id))
                .set((
                    invitations::status.eq(InvitationStatus::Revoked),
                    invitations::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            withdraw(conn, Withdraw::Cause(&invitation.reminder_key())).await?;

            // An expired invitation could no longer be used: nothing to tell its invitee.
            if status != InvitationStatus::Expired {
                let person: Person = people::table
                    .find(invitation.person_id)
                    .select(Person::as_select())
                    .first(conn)
                    .await?;
                // What the offer or the acceptance put in their calendar leaves it.
                let offered = offered_sessions(conn, invitation.id).await?;
                let leaving = raise_sequences(conn, &in_calendar(&offered)).await?;
                let leaving: Vec<&SessionFacts> = leaving.iter().collect();
                let mut email = emails::withdrawn_email(
                    event,
                    invitation.id,
                    &person.email,
                    &person.name,
                    !live.is_empty(),
                );
                if !leaving.is_empty() {
                    email = email.with_ics(sessions_cancel_calendar(event, &leaving));
                }
                enqueue(conn, email).await?;
            }
            tracing::info!(invitation_id = %invitation.id, cancelled = live.len(), promoted, "invitation revoked");
            item(conn, invitation.id).await
        }
        .scope_boxed()
    })
    .await
}

/// One invitation as staff see it.
pub(super) async fn item(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<InvitationItem> {
    let invitation: Invitation = invitations::table
        .find(id)
        .select(Invitation::as_select())
        .first(conn)
        .await?;
    items(conn, vec![invitation])
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("invitation item missing"))
}

/// (invitation, session, title, start, accepted)
type SessionLink = (Uuid, Uuid, String, DateTime<Utc>, Option<bool>);

async fn items(
    conn: &mut AsyncPgConnection,
    rows: Vec<Invitation>,
) -> AppResult<Vec<InvitationItem>> {
    let person_ids: Vec<Uuid> = rows.iter().map(|i| i.person_id).collect();
    let ids: Vec<Uuid> = rows.iter().map(|i| i.id).collect();
    let persons: HashMap<Uuid, (String, String)> = people::table
        .filter(people::id.eq_any(&person_ids))
        .select((people::id, people::email, people::name))
        .load::<(Uuid, String, String)>(conn)
        .await?
        .into_iter()
        .map(|(id, email, name)| (id, (email, name)))
        .collect();
    let mut by_invitation: HashMap<Uuid, Vec<InvitationSessionItem>> = HashMap::new();
    let links: Vec<SessionLink> = invitation_sessions::table
        .inner_join(sessions::table)
        .filter(invitation_sessions::invitation_id.eq_any(&ids))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((
            invitation_sessions::invitation_id,
            sessions::id,
            sessions::title,
            sessions::starts_at,
            invitation_sessions::accepted,
        ))
        .load(conn)
        .await?;
    for (invitation_id, session_id, title, starts_at, accepted) in links {
        by_invitation
            .entry(invitation_id)
            .or_default()
            .push(InvitationSessionItem {
                session_id,
                title,
                starts_at,
                accepted,
            });
    }
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|i| {
            let (email, name) = persons.get(&i.person_id).cloned().unwrap_or_default();
            InvitationItem {
                id: i.id,
                person_id: i.person_id,
                email,
                name,
                organization_id: i.organization_id,
                status: i.effective_status(now),
                sessions: by_invitation.remove(&i.id).unwrap_or_default(),
                message: i.message,
                sent_by: i.sent_by,
                sent_at: i.sent_at,
                created_at: i.created_at,
                answered_at: i.answered_at,
                expires_at: i.expires_at,
                reminders_sent: i.reminders_sent,
                last_reminded_at: i.last_reminded_at,
                generation: i.generation,
            }
        })
        .collect())
}

/// The event's invitations, newest first, with keyset pagination on (created_at, id).
pub async fn list(
    state: &Context,
    user: &AuthUser,
    event_id: Uuid,
    query: ListInvitationsQuery,
) -> AppResult<Page<InvitationItem>> {
    let mut v = Validator::new();
    let status = match &query.status {
        Some(s) => v.check("status", s.parse::<InvitationStatus>()),
        None => None,
    };
    let page: PageRequest<TimeAndId> =
        PageRequest::parse(&mut v, query.limit, query.cursor.as_deref());
    let mut conn = state.pool.get().await?;
    let event = event_for_staff(&mut conn, user, event_id).await?;
    v.finish()?;
    // Statuses shown are current: expiries that have passed and reminders that went out.
    reminders::sweep(&mut conn, Some(event.id)).await?;

    let mut q = invitations::table
        .filter(invitations::event_id.eq(event.id))
        .select(Invitation::as_select())
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .limit(page.fetch())
        .into_boxed();
    if let Some(status) = status {
        q = q.filter(invitations::status.eq(status));
    }
    if let Some((at, id)) = page.after {
        q = q.filter(
            invitations::created_at
                .lt(at)
                .or(invitations::created_at.eq(at).and(invitations::id.lt(id))),
        );
    }
    let rows: Vec<Invitation> = q.load(&mut conn).await?;
    let Page {
        items: rows,
        next_cursor,
    } = Page::from_rows(rows, &page, |i| (i.created_at, i.id));
    Ok(Page {
        items: items(&mut conn, rows).await?,
        next_cursor,
    })
}
