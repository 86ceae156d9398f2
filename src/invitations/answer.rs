//! The invitee's side: what an invitation covers (by its token, or the signed-in person's own
//! invitations), and answering it by token: accept all or some of its sessions, or decline.
//!
//! Every answer locks the invitation's sessions, then its row, so of any number of concurrent
//! answers with one token exactly one is taken, and each finds the invitation as the one
//! before left it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::{hash_token, looks_like_token};
use crate::context::{Context, Links};
use crate::db::locks;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{
    invitation_link_tokens, invitation_sessions, invitations, organizations, people, registrations,
    sessions,
};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::event_facts;
use crate::events::calendar::CalendarMethod;
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::local_time::format_local;
use crate::invitations::emails::{self, AcceptedSession};
use crate::invitations::lookup::{
    event_closed_error, in_calendar, lock_invitation, offered_session_ids, offered_sessions,
    seats_of,
};
use crate::invitations::model::{Invitation, InvitationStatus};
use crate::invitations::types::{
    InvitationView, InvitedEventView, MyInvitationView, OfferedSessionView,
};
use crate::mail::enqueue;
use crate::mail::outbox::{withdraw, Withdraw};
use crate::people::model::Person;
use crate::registrations::emails::{
    calendar_removal_email, raise_sequences, schedule_session_reminder, sessions_calendar,
    sessions_cancel_calendar, CancelLink,
};
use crate::registrations::model::{
    Registration, RegistrationSource, RegistrationStatus, RegistrationView, SessionContext,
};
use crate::registrations::seats;
use crate::registrations::service::{admit, cancel, Admission};

/// The invitation behind a token, unlocked (see `lock_answerable` to act on it).
async fn find_by_token(conn: &mut AsyncPgConnection, token: &str) -> AppResult<Invitation> {
    if !looks_like_token(token) {
        return Err(AppError::not_found("invitation"));
    }
    let hash = hash_token(token);
    // The emailed token, or one a reminder carried (`reminders::mint_reminder_links`) while
    // it is of the invitation's current generation.
    let reminder_link = invitation_link_tokens::table
        .filter(invitation_link_tokens::token_hash.eq(hash.clone()))
        .filter(invitation_link_tokens::invitation_id.eq(invitations::id))
        .filter(invitation_link_tokens::generation.eq(invitations::generation));
    let found: Invitation = invitations::table
        .filter(
            invitations::token_hash
                .eq(hash)
                .or(diesel::dsl::exists(reminder_link)),
        )
        .select(Invitation::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("invitation"))?;
    Ok(found)
}

/// Locks what answering the invitation behind `token` decides on, in the order of
/// `db::locks`: its sessions by id, then the invitation, answered as it now is (404 when a
/// resend replaced the token meanwhile). The event's status, the sessions' times and the
/// invitation's state are read after this, never before (rule 12).
async fn lock_answerable(conn: &mut AsyncPgConnection, token: &str) -> AppResult<Invitation> {
    let found = find_by_token(conn, token).await?;
    let session_ids = offered_session_ids(conn, found.id).await?;
    locks::sessions(conn, &session_ids).await?;
    let invitation = lock_invitation(conn, found.id).await?;
    // Sessions are added to an invitation only with a new token (`add_sessions` reissues it):
    // an unchanged token means the sessions locked above are still all it offers.
    if invitation.token_hash != found.token_hash {
        return Err(AppError::not_found("invitation"));
    }
    Ok(invitation)
}

/// Records that a pending invitation has passed its expiry, and withdraws its reminder.
async fn mark_expired(conn: &mut AsyncPgConnection, invitation: &Invitation) -> AppResult<()> {
    diesel::update(invitations::table.find(invitation.id))
        .filter(invitations::status.eq(InvitationStatus::Pending))
        .set((
            invitations::status.eq(InvitationStatus::Expired),
            invitations::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    withdraw(conn, Withdraw::Cause(&invitation.reminder_key())).await?;
    Ok(())
}

fn expired_error(invitation: &Invitation, event: Option<&EventFacts>) -> AppError {
    let when = match event {
        Some(e) => format_local(invitation.expires_at, &e.zone()),
        None => invitation.expires_at.to_rfc3339(),
    };
    AppError::gone(
        Code::InvitationExpired,
        format!(
            "this invitation expired on {when}; ask the organisers to send you a new one if you \
             would still like to take part"
        ),
    )
}

fn revoked_error() -> AppError {
    AppError::gone(
        Code::InvitationRevoked,
        "the organisers have withdrawn this invitation; its link no longer works",
    )
}

/// What the invitation covers, for its token holder. Never acts (a mail scanner may call it);
/// it only records an expiry that has already happened.
pub async fn view_by_token(state: &Context, token: &str) -> AppResult<InvitationView> {
    let mut conn = state.pool.get().await?;
    let invitation = find_by_token(&mut conn, token).await?;
    let event = event_facts(&mut conn, invitation.event_id).await?;
    if !event.accepts_invitations() {
        return Err(event_closed_error(&event));
    }
    match invitation.effective_status(Utc::now()) {
        InvitationStatus::Revoked => return Err(revoked_error()),
        InvitationStatus::Expired => {
            if invitation.status == InvitationStatus::Pending {
                mark_expired(&mut conn, &invitation).await?;
            }
            return Err(expired_error(&invitation, Some(&event)));
        }
        _ => {}
    }
    let person: Person = people::table
        .find(invitation.person_id)
        .select(Person::as_select())
        .first(&mut conn)
        .await?;
    let offered = offered_sessions(&mut conn, invitation.id).await?;
    Ok(invitation_view(invitation, person.name, &event, offered))
}

/// What the invitation covers, in the event's time zone.
fn invitation_view(
    invitation: Invitation,
    invitee_name: String,
    event: &EventFacts,
    offered: Vec<(SessionFacts, Option<bool>)>,
) -> InvitationView {
    InvitationView {
        status: invitation.effective_status(Utc::now()),
        invitee_name,
        sessions: offered
            .into_iter()
            .map(|(s, accepted)| OfferedSessionView::new(event, s, accepted))
            .collect(),
        event: InvitedEventView::new(event),
        message: invitation.message,
        expires_local: format_local(invitation.expires_at, &event.zone()),
        expires_at: invitation.expires_at,
        answered_at: invitation.answered_at,
    }
}

/// The caller's own invitations, newest first (`GET /me/invitations`).
pub async fn list_mine(
    conn: &mut AsyncPgConnection,
    person_id: Uuid,
    page: &PageRequest<TimeAndId>,
) -> AppResult<Page<MyInvitationView>> {
    use crate::db::schema::events;
    let mut query = invitations::table
        .inner_join(events::table)
        .filter(invitations::person_id.eq(person_id))
        .select((Invitation::as_select(), EventFacts::as_select()))
        .order((invitations::created_at.desc(), invitations::id.desc()))
        .limit(page.fetch())
        .into_boxed();
    if let Some((at, id)) = page.after {
        query = query.filter(
            invitations::created_at
                .lt(at)
                .or(invitations::created_at.eq(at).and(invitations::id.lt(id))),
        );
    }
    let rows: Vec<(Invitation, EventFacts)> = query.load(conn).await?;
    let Page {
        items: rows,
        next_cursor,
    } = Page::from_rows(rows, page, |(i, _)| (i.created_at, i.id));
    let ids: Vec<Uuid> = rows.iter().map(|(i, _)| i.id).collect();
    let mut offered: HashMap<Uuid, Vec<(SessionFacts, Option<bool>)>> = HashMap::new();
    let links: Vec<(Uuid, SessionFacts, Option<bool>)> = invitation_sessions::table
        .inner_join(sessions::table)
        .filter(invitation_sessions::invitation_id.eq_any(&ids))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((
            invitation_sessions::invitation_id,
            SessionFacts::as_select(),
            invitation_sessions::accepted,
        ))
        .load(conn)
        .await?;
    for (invitation_id, session, accepted) in links {
        offered
            .entry(invitation_id)
            .or_default()
            .push((session, accepted));
    }
    let name: String = people::table
        .find(person_id)
        .select(people::name)
        .first(conn)
        .await?;
    let items = rows
        .into_iter()
        .map(|(invitation, event)| {
            let sessions = offered.remove(&invitation.id).unwrap_or_default();
            MyInvitationView {
                id: invitation.id,
                sent_at: invitation.sent_at,
                invitation: invitation_view(invitation, name.clone(), &event, sessions),
            }
        })
        .collect();
    Ok(Page { items, next_cursor })
}

/// An answer as the service takes it.
#[derive(Debug, Clone)]
pub enum Answer {
    /// All sessions (None) or these.
    Accept(Option<Vec<Uuid>>),
    Decline,
}

/// What answering did: the new status and, for an acceptance, the registrations with their
/// sessions (for the confirmation page).
pub struct AnswerOutcome {
    pub status: InvitationStatus,
    pub invitee_name: String,
    pub event: EventFacts,
    pub registrations: Vec<(SessionFacts, RegistrationView)>,
}

enum Step {
    Done(AnswerOutcome),
    /// Found expired: the status change is committed, then the caller answers 410.
    Expired(Invitation, EventFacts),
}

/// Answers an invitation. Its sessions, then its row, are locked first, so concurrent answers
/// queue and each one finds the invitation as the one before left it. Until the invitation's
/// deadline an answer may be changed: the new one replaces the old (DESIGN.md, invitation
/// answer); after it, 409 `answer_final`.
pub async fn respond(state: &Context, token: &str, answer: Answer) -> AppResult<AnswerOutcome> {
    let mut conn = state.pool.get().await?;
    let token = token.to_owned();
    let links = state.links.clone();
    let step = crate::db::retry::transaction(&mut conn, |conn| {
        let (token, links, answer) = (&token, &links, answer.clone());
        async move {
            let invitation = lock_answerable(conn, token).await?;
            let event = event_facts(conn, invitation.event_id).await?;
            if !event.accepts_invitations() {
                return Err(event_closed_error(&event));
            }
            let now = Utc::now();
            match invitation.effective_status(now) {
                InvitationStatus::Revoked => return Err(revoked_error()),
                InvitationStatus::Expired => {
                    if invitation.status == InvitationStatus::Pending {
                        mark_expired(conn, &invitation).await?;
                    }
                    return Ok(Step::Expired(invitation, event));
                }
                InvitationStatus::Accepted | InvitationStatus::Declined
                    if invitation.expires_at <= now =>
                {
                    return Err(answer_final_error(&invitation, &event))
                }
                _ => {}
            }
            let person: Person = people::table
                .find(invitation.person_id)
                .select(Person::as_select())
                .first(conn)
                .await?;
            let outcome = match answer {
                Answer::Accept(ids) => {
                    accept(conn, links, &invitation, &person, event, ids).await?
                }
                Answer::Decline => decline(conn, links, &invitation, &person, event).await?,
            };
            Ok(Step::Done(outcome))
        }
        .scope_boxed()
    })
    .await?;
    match step {
        Step::Done(outcome) => Ok(outcome),
        Step::Expired(invitation, event) => Err(expired_error(&invitation, Some(&event))),
    }
}

fn answer_final_error(invitation: &Invitation, event: &EventFacts) -> AppError {
    AppError::conflict(
        Code::AnswerFinal,
        format!(
            "this invitation was {} and its deadline to change the answer passed on {}; please \
             contact the organisers",
            invitation.status,
            format_local(invitation.expires_at, &event.zone())
        ),
    )
}

/// The sessions chosen among those offered: all of them (`None`), or exactly those named.
fn chosen_sessions(
    offered: &[SessionFacts],
    session_ids: Option<Vec<Uuid>>,
) -> AppResult<Vec<SessionFacts>> {
    let Some(ids) = session_ids else {
        return Ok(offered.to_vec());
    };
    let mut v = Validator::new();
    if ids.is_empty() {
        v.add("session_ids", "choose at least one session, or decline");
    }
    for (i, id) in ids.iter().enumerate() {
        if !offered.iter().any(|s| s.id == *id) {
            v.add(
                format!("session_ids[{i}]"),
                "is not a session this invitation offers",
            );
        }
    }
    v.finish()?;
    Ok(offered
        .iter()
        .filter(|s| ids.contains(&s.id))
        .cloned()
        .collect())
}

/// Raises the sequence of these offered sessions and queues the CANCEL that takes them out of
/// the invitee's calendar (`attach_to`: the answer's own message, else a message of its own).
async fn sessions_leave_calendar(
    conn: &mut AsyncPgConnection,
    event: &EventFacts,
    person: &Person,
    leaving: &[Uuid],
    key: String,
    why: &str,
) -> AppResult<()> {
    let raised = raise_sequences(conn, leaving).await?;
    if raised.is_empty() {
        return Ok(());
    }
    let refs: Vec<&SessionFacts> = raised.iter().collect();
    enqueue(
        conn,
        calendar_removal_email(event, key, &person.email, &person.name, &refs, why),
    )
    .await?;
    Ok(())
}

async fn accept(
    conn: &mut AsyncPgConnection,
    links: &Links,
    invitation: &Invitation,
    person: &Person,
    event: EventFacts,
    session_ids: Option<Vec<Uuid>>,
) -> AppResult<AnswerOutcome> {
    let now = Utc::now();
    let offered_with = offered_sessions(conn, invitation.id).await?;
    let offered: Vec<SessionFacts> = offered_with.iter().map(|(s, _)| s.clone()).collect();
    if offered.is_empty() {
        return Err(AppError::conflict(
            Code::NoSessions,
            "the sessions of this invitation have been removed; please contact the organisers",
        ));
    }
    let chosen = chosen_sessions(&offered, session_ids)?;
    let chosen_ids: Vec<Uuid> = chosen.iter().map(|s| s.id).collect();
    let held = seats_of(conn, invitation).await?;

    // The same answer again (a retried request) changes nothing and emails nobody.
    let unchanged = invitation.status == InvitationStatus::Accepted
        && offered_with
            .iter()
            .all(|(s, accepted)| *accepted == Some(chosen_ids.contains(&s.id)))
        && chosen_ids
            .iter()
            .all(|id| held.iter().any(|(_, session)| session == id));
    if unchanged {
        return current_outcome(conn, invitation, person, event, &chosen).await;
    }

    // Seats in sessions no longer named are given up: the waitlist promotes (`cancel`).
    for (registration_id, session_id) in &held {
        if !chosen_ids.contains(session_id) {
            cancel(conn, links, *registration_id).await?;
        }
    }
    let leaving: Vec<Uuid> = in_calendar(&offered_with)
        .into_iter()
        .filter(|id| !chosen_ids.contains(id))
        .collect();

    let organization: Option<(String, Option<String>)> = match invitation.organization_id {
        Some(id) => organizations::table
            .find(id)
            .select((organizations::name, organizations::country))
            .first(conn)
            .await
            .optional()?,
        None => None,
    };
    let mut registrations_made = Vec::new();
    for session in &chosen {
        let admitted = admit(
            conn,
            Admission {
                session_id: session.id,
                person_id: invitation.person_id,
                source: RegistrationSource::Invitation,
                invitation_id: Some(invitation.id),
                organization_id: invitation.organization_id,
                organization_name: organization.as_ref().map(|(name, _)| name.clone()),
                organization_kind: None,
                country: organization.as_ref().and_then(|(_, c)| c.clone()),
            },
        )
        .await?;
        registrations_made.push((session.clone(), admitted.registration));
    }
    diesel::update(invitation_sessions::table)
        .filter(invitation_sessions::invitation_id.eq(invitation.id))
        .set(
            invitation_sessions::accepted.eq(invitation_sessions::session_id
                .eq_any(&chosen_ids)
                .nullable()),
        )
        .execute(conn)
        .await?;
    diesel::update(invitations::table.find(invitation.id))
        .set((
            invitations::status.eq(InvitationStatus::Accepted),
            invitations::answered_at.eq(now),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    withdraw(conn, Withdraw::Cause(&invitation.reminder_key())).await?;
    sessions_leave_calendar(
        conn,
        &event,
        person,
        &leaving,
        format!("{}:calendar", answer_key(invitation.id, now)),
        "You did not choose the sessions below, so they are no longer in your programme.",
    )
    .await?;

    let mut views = Vec::with_capacity(registrations_made.len());
    for (_, r) in &registrations_made {
        let position = seats::waitlist_position(conn, r).await?;
        views.push(RegistrationView::new(r, position));
    }
    let cancel_links: Vec<Option<CancelLink>> = registrations_made
        .iter()
        .map(|(_, r)| CancelLink::issue(links, r))
        .collect();
    let accepted: Vec<AcceptedSession<'_>> = registrations_made
        .iter()
        .zip(&views)
        .zip(&cancel_links)
        .map(|(((session, _), view), link)| AcceptedSession {
            session,
            status: view.status,
            waitlist_position: view.waitlist_position,
            cancel_link: link.as_ref(),
        })
        .collect();
    // Read again: a promotion or an earlier CANCEL may have raised their sequence.
    let confirmed_ids: Vec<Uuid> = accepted
        .iter()
        .filter(|a| a.status == RegistrationStatus::Confirmed)
        .map(|a| a.session.id)
        .collect();
    let confirmed = locks::sessions(conn, &confirmed_ids).await?;
    let confirmed: Vec<&SessionFacts> = confirmed.iter().collect();
    let ics = (!confirmed.is_empty())
        .then(|| sessions_calendar(&event, &confirmed, CalendarMethod::Publish, true));
    let email = emails::acceptance_email(
        &event,
        &answer_key(invitation.id, now),
        &person.email,
        &person.name,
        &accepted,
        ics,
    );
    if enqueue(conn, email).await? {
        for link in cancel_links.into_iter().flatten() {
            link.keep(conn).await?;
        }
    }
    for (session, r) in &registrations_made {
        let ctx = SessionContext {
            session: session.clone(),
            event: event.clone(),
        };
        schedule_session_reminder(conn, &ctx, r, person).await?;
    }
    tracing::info!(invitation_id = %invitation.id, sessions = chosen.len(), "invitation accepted");
    Ok(AnswerOutcome {
        status: InvitationStatus::Accepted,
        invitee_name: person.name.clone(),
        event,
        registrations: registrations_made
            .into_iter()
            .map(|(session, _)| session)
            .zip(views)
            .collect(),
    })
}

/// The dedupe key of one answer's messages: each answer is its own cause.
fn answer_key(invitation_id: Uuid, answered_at: DateTime<Utc>) -> String {
    format!(
        "invitation-answer:{invitation_id}:{}",
        answered_at.timestamp_micros()
    )
}

/// The invitation's answer as it stands: the live registrations in `chosen`.
async fn current_outcome(
    conn: &mut AsyncPgConnection,
    invitation: &Invitation,
    person: &Person,
    event: EventFacts,
    chosen: &[SessionFacts],
) -> AppResult<AnswerOutcome> {
    let mut registrations_held = Vec::new();
    for session in chosen {
        let registration: Option<Registration> = registrations::table
            .filter(registrations::session_id.eq(session.id))
            .filter(registrations::person_id.eq(invitation.person_id))
            .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
            .select(Registration::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(r) = registration {
            let position = seats::waitlist_position(conn, &r).await?;
            registrations_held.push((session.clone(), RegistrationView::new(&r, position)));
        }
    }
    Ok(AnswerOutcome {
        status: invitation.status,
        invitee_name: person.name.clone(),
        event,
        registrations: registrations_held,
    })
}

async fn decline(
    conn: &mut AsyncPgConnection,
    links: &Links,
    invitation: &Invitation,
    person: &Person,
    event: EventFacts,
) -> AppResult<AnswerOutcome> {
    if invitation.status == InvitationStatus::Declined {
        // Declined again (a retried request): nothing to change.
        return current_outcome(conn, invitation, person, event, &[]).await;
    }
    let now = Utc::now();
    let offered = offered_sessions(conn, invitation.id).await?;
    // Every seat of the invitation is given up: the waitlists promote (`cancel`).
    let held = seats_of(conn, invitation).await?;
    for (registration_id, _) in &held {
        cancel(conn, links, *registration_id).await?;
    }
    diesel::update(invitation_sessions::table)
        .filter(invitation_sessions::invitation_id.eq(invitation.id))
        .set(invitation_sessions::accepted.eq(Some(false)))
        .execute(conn)
        .await?;
    diesel::update(invitations::table.find(invitation.id))
        .set((
            invitations::status.eq(InvitationStatus::Declined),
            invitations::answered_at.eq(now),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    withdraw(conn, Withdraw::Cause(&invitation.reminder_key())).await?;
    // The offered sessions still in the invitee's calendar leave it, in the decline's message.
    let leaving = raise_sequences(conn, &in_calendar(&offered)).await?;
    let leaving: Vec<&SessionFacts> = leaving.iter().collect();
    let mut email = emails::decline_email(
        &event,
        &answer_key(invitation.id, now),
        &person.email,
        &person.name,
    );
    if !leaving.is_empty() {
        email = email.with_ics(sessions_cancel_calendar(&event, &leaving));
    }
    enqueue(conn, email).await?;
    tracing::info!(invitation_id = %invitation.id, cancelled = held.len(), "invitation declined");
    Ok(AnswerOutcome {
        status: InvitationStatus::Declined,
        invitee_name: person.name.clone(),
        event,
        registrations: Vec::new(),
    })
}
