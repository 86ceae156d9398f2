//! The rules of invitations: inviting many at once, answering by token, resending, revoking.
//!
//! An invitation is one row per person covering the chosen closed sessions of one event. Its
//! token is emailed once and stored hashed; a resend replaces the hash (the old link stops
//! working) and bumps `generation`, which keys the emails so that a resend mails again while a
//! retried request does not. Every answer locks the invitation's sessions, then its row, so of
//! any number of concurrent answers with one token exactly one is taken.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::{hash_token, looks_like_token, IssuedToken};
use crate::auth::AuthUser;
use crate::context::{Context, Links};
use crate::db::locks;
use crate::db::page::{Page, PageRequest, TimeAndId};
use crate::db::schema::{
    affiliations, invitation_link_tokens, invitation_sessions, invitations, organizations, people,
    registrations, sessions,
};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::access::{is_event_staff, require_event_staff};
use crate::events::calendar::CalendarMethod;
use crate::events::local_time::format_local;
use crate::events::model::EventStatus;
use crate::invitations::emails::{self, AcceptedSession, InvitationMail, Invitee};
use crate::invitations::model::*;
use crate::invitations::reminders;
use crate::mail::outbox::{withdraw, Withdraw};
use crate::mail::{enqueue, enqueue_many, OutgoingEmail};
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::organizations::service::parse_kind;
use crate::organizations::CountryCode;
use crate::people::model::Person;
use crate::people::service::parse_name;
use crate::people::EmailAddress;
use crate::registrations::emails::{
    calendar_removal_email, raise_sequences, schedule_session_reminder, sessions_calendar,
    sessions_cancel_calendar, CancelLink,
};
use crate::registrations::model::{
    EventFacts, RegistrationSource, RegistrationStatus, RegistrationView, SessionContext,
    SessionFacts,
};
use crate::registrations::seats;
use crate::registrations::service::{admit, cancel, Admission};
use crate::text::{check_characters, Lines};

/// Most invitees one request may name (an audience may add more).
pub const MAX_INVITEES: usize = 5000;
/// Most sessions one invitation may offer.
pub const MAX_SESSIONS: usize = 50;
pub const MAX_MESSAGE_CHARS: usize = 4000;

pub fn parse_message(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(message) = raw.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok(None);
    };
    if message.chars().count() > MAX_MESSAGE_CHARS {
        return Err(format!("must be at most {MAX_MESSAGE_CHARS} characters"));
    }
    check_characters(message, Lines::Multi)?;
    Ok(Some(message.to_owned()))
}

// ---------------------------------------------------------------------------------------------
// Loading

pub async fn load_event(conn: &mut AsyncPgConnection, event_id: Uuid) -> AppResult<EventFacts> {
    use crate::db::schema::events;
    events::table
        .find(event_id)
        .select(EventFacts::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("event"))
}

/// The event, when `user` is on its staff (403/404 otherwise, as the event's visibility says).
pub async fn event_for_staff(
    conn: &mut AsyncPgConnection,
    user: &AuthUser,
    event_id: Uuid,
) -> AppResult<EventFacts> {
    let event = load_event(conn, event_id).await?;
    require_event_staff(conn, user, event.id, event.is_public()).await?;
    Ok(event)
}

/// The sessions an invitation offers, in start order (also the order seats are taken in, so
/// concurrent acceptances lock sessions in one order and cannot deadlock).
pub async fn offered_sessions(
    conn: &mut AsyncPgConnection,
    invitation_id: Uuid,
) -> AppResult<Vec<(SessionFacts, Option<bool>)>> {
    Ok(invitation_sessions::table
        .inner_join(sessions::table)
        .filter(invitation_sessions::invitation_id.eq(invitation_id))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((SessionFacts::as_select(), invitation_sessions::accepted))
        .load(conn)
        .await?)
}

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

async fn lock_invitation(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Invitation> {
    locks::invitation(conn, id).await
}

/// The ids of the sessions an invitation offers, in id order (the order they are locked in).
async fn offered_session_ids(
    conn: &mut AsyncPgConnection,
    invitation_id: Uuid,
) -> AppResult<Vec<Uuid>> {
    Ok(invitation_sessions::table
        .filter(invitation_sessions::invitation_id.eq(invitation_id))
        .order(invitation_sessions::session_id.asc())
        .select(invitation_sessions::session_id)
        .load(conn)
        .await?)
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

fn event_closed_error(event: &EventFacts) -> AppError {
    let what = if event.status == EventStatus::Cancelled {
        "was cancelled"
    } else {
        "has ended"
    };
    AppError::gone(
        Code::EventNotOpen,
        format!(
            "{} {what}: its invitations can no longer be answered",
            event.title
        ),
    )
}

fn revoked_error() -> AppError {
    AppError::gone(
        Code::InvitationRevoked,
        "the organisers have withdrawn this invitation; its link no longer works",
    )
}

// ---------------------------------------------------------------------------------------------
// Creating

/// One invitee of a request, once its fields parsed.
enum ParsedInvitee {
    Known {
        person_id: Uuid,
    },
    ByEmail {
        email: EmailAddress,
        name: Option<String>,
    },
}

/// Someone to invite, resolved to an address (and a person when already known).
pub(super) struct Candidate {
    pub(super) email: String,
    pub(super) name: String,
    pub(super) person_id: Option<Uuid>,
    pub(super) organization_id: Option<Uuid>,
}

/// A request that passed validation: who to invite to what, until when.
pub(super) struct CheckedRequest {
    pub(super) sessions: Vec<SessionFacts>,
    pub(super) message: Option<String>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) candidates: Vec<Candidate>,
    pub(super) skipped: Vec<SkippedInvitee>,
    /// The audience's organisation kinds and countries, when the request has one.
    pub(super) audience: Option<(Vec<OrganizationKind>, Vec<CountryCode>)>,
}

/// Invites many people at once to closed sessions of an event. The whole request is checked
/// before anything is written: one invalid entry is a 422 listing every bad field.
pub async fn create_invitations(
    state: &Context,
    user: &AuthUser,
    event_id: Uuid,
    request: CreateInvitationsRequest,
) -> AppResult<CreateInvitationsResponse> {
    let mut conn = state.pool.get().await?;
    let event = event_for_staff(&mut conn, user, event_id).await?;
    if !event.accepts_invitations() {
        return Err(AppError::conflict(
            Code::EventNotOpen,
            format!("the event is {}: it takes no new invitations", event.status),
        ));
    }
    let checked = check_request(&mut conn, &event, &request, Utc::now()).await?;
    let sender = Sender {
        account_id: user.account.id,
        name: user.name().to_owned(),
        links: state.links.clone(),
        reminder_days: state.settings.worker.invitation_reminder_days,
    };
    crate::db::transaction(&mut conn, |conn| {
        insert_invitations(conn, event, checked, sender).scope_boxed()
    })
    .await
}

/// Who sends, and the settings the emails need.
struct Sender {
    account_id: Uuid,
    name: String,
    links: Links,
    reminder_days: i64,
}

pub(super) async fn check_request(
    conn: &mut AsyncPgConnection,
    event: &EventFacts,
    request: &CreateInvitationsRequest,
    now: DateTime<Utc>,
) -> AppResult<CheckedRequest> {
    let mut v = Validator::new();
    let sessions = check_sessions(conn, &mut v, event, &request.session_ids, now).await?;
    let invitees = check_invitees(conn, &mut v, &request.invitees).await?;
    let audience = request.audience.as_ref().map(|a| check_audience(&mut v, a));
    if request.invitees.is_empty() && request.audience.is_none() {
        v.add(
            "invitees",
            "invite at least one person, by invitees or by audience",
        );
    }
    let message = v
        .check("message", parse_message(request.message.as_deref()))
        .flatten();
    let first_start = sessions.iter().map(|s| s.starts_at).min();
    let expires_at = match (request.expires_at, first_start) {
        (Some(at), _) if at <= now => {
            v.add("expires_at", "is in the past");
            None
        }
        (Some(at), Some(first)) if at > first => {
            v.add(
                "expires_at",
                format!(
                    "is after the first session starts ({}); invitees must answer before",
                    format_local(first, &event.zone())
                ),
            );
            None
        }
        (Some(at), _) => Some(at),
        (None, first) => first,
    };
    v.finish()?;
    let expires_at =
        expires_at.ok_or_else(|| AppError::internal("expiry missing after validation"))?;

    // Everyone to invite, explicit invitees first; a person is invited once.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut skipped: Vec<SkippedInvitee> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for candidate in invitees {
        if seen.insert(candidate.email.clone()) {
            candidates.push(candidate);
        } else {
            skipped.push(SkippedInvitee {
                email: candidate.email,
                reason: SkipReason::DuplicateInRequest,
            });
        }
    }
    if let Some((kinds, countries)) = &audience {
        for (person_id, email, name, organization_id) in
            audience_members(conn, kinds, countries).await?
        {
            // Someone already named, or affiliated with several matching organisations, is
            // one invitee.
            if seen.insert(email.clone()) {
                candidates.push(Candidate {
                    email,
                    name,
                    person_id: Some(person_id),
                    organization_id: Some(organization_id),
                });
            }
        }
    }
    Ok(CheckedRequest {
        sessions,
        message,
        expires_at,
        candidates,
        skipped,
        audience,
    })
}

/// Closed sessions of this event, still to come, each named once; in start order.
async fn check_sessions(
    conn: &mut AsyncPgConnection,
    v: &mut Validator,
    event: &EventFacts,
    session_ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<Vec<SessionFacts>> {
    if session_ids.is_empty() {
        v.add(
            "session_ids",
            "name at least one closed session of the event",
        );
    } else if session_ids.len() > MAX_SESSIONS {
        v.add("session_ids", format!("at most {MAX_SESSIONS} sessions"));
    }
    let found: HashMap<Uuid, SessionFacts> = sessions::table
        .filter(sessions::id.eq_any(session_ids))
        .select(SessionFacts::as_select())
        .load::<SessionFacts>(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut chosen: Vec<SessionFacts> = Vec::new();
    let mut seen = HashSet::new();
    for (i, id) in session_ids.iter().enumerate() {
        let field = format!("session_ids[{i}]");
        match found.get(id) {
            Some(s) if s.event_id == event.id => {
                if !s.is_closed() {
                    v.add(
                        field,
                        "is a public session: invitations are for closed sessions",
                    );
                } else if s.starts_at <= now {
                    v.add(field, "has already started");
                } else if !seen.insert(*id) {
                    v.add(field, "is listed twice");
                } else {
                    chosen.push(s.clone());
                }
            }
            _ => v.add(field, "is not a session of this event"),
        }
    }
    chosen.sort_by_key(|s| (s.starts_at, s.id));
    Ok(chosen)
}

/// Each invitee is a known person, or an email (with a name for someone new), with an
/// optional organisation of the partnership. Four queries whatever the number of invitees.
async fn check_invitees(
    conn: &mut AsyncPgConnection,
    v: &mut Validator,
    invitees: &[InviteeRequest],
) -> AppResult<Vec<Candidate>> {
    if invitees.len() > MAX_INVITEES {
        v.add(
            "invitees",
            format!("at most {MAX_INVITEES} invitees per request"),
        );
    }
    let mut parsed: Vec<Option<ParsedInvitee>> = Vec::with_capacity(invitees.len());
    for (i, invitee) in invitees.iter().enumerate() {
        parsed.push(match (&invitee.person_id, &invitee.email) {
            (Some(_), Some(_)) => {
                v.add(
                    format!("invitees[{i}]"),
                    "give either person_id or email, not both",
                );
                None
            }
            (None, None) => {
                v.add(format!("invitees[{i}].email"), "is required");
                None
            }
            (Some(person_id), None) => Some(ParsedInvitee::Known {
                person_id: *person_id,
            }),
            (None, Some(email)) => {
                let email = v.check(format!("invitees[{i}].email"), EmailAddress::parse(email));
                let name = invitee
                    .name
                    .as_deref()
                    .and_then(|name| v.check(format!("invitees[{i}].name"), parse_name(name)));
                email.map(|email| ParsedInvitee::ByEmail { email, name })
            }
        });
    }
    let person_ids: Vec<Uuid> = invitees.iter().filter_map(|i| i.person_id).collect();
    let by_id: HashMap<Uuid, (String, String)> = people::table
        .filter(people::id.eq_any(&person_ids))
        .select((people::id, people::email, people::name))
        .load::<(Uuid, String, String)>(conn)
        .await?
        .into_iter()
        .map(|(id, email, name)| (id, (email, name)))
        .collect();
    let emails: Vec<&str> = parsed
        .iter()
        .filter_map(|p| match p {
            Some(ParsedInvitee::ByEmail { email, .. }) => Some(email.as_str()),
            _ => None,
        })
        .collect();
    let by_email: HashMap<String, (Uuid, String)> = people::table
        .filter(people::email.eq_any(&emails))
        .select((people::email, people::id, people::name))
        .load::<(String, Uuid, String)>(conn)
        .await?
        .into_iter()
        .map(|(email, id, name)| (email, (id, name)))
        .collect();
    let org_ids: Vec<Uuid> = invitees.iter().filter_map(|i| i.organization_id).collect();
    let known_orgs: HashSet<Uuid> = organizations::table
        .filter(organizations::id.eq_any(&org_ids))
        .filter(organizations::status.ne(MembershipStatus::Withdrawn))
        .select(organizations::id)
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect();

    let mut candidates = Vec::with_capacity(invitees.len());
    for (i, (invitee, entry)) in invitees.iter().zip(parsed).enumerate() {
        let organization_id = invitee.organization_id;
        if organization_id.is_some_and(|org| !known_orgs.contains(&org)) {
            v.add(
                format!("invitees[{i}].organization_id"),
                "is not an organisation of the partnership",
            );
        }
        match entry {
            Some(ParsedInvitee::Known { person_id }) => match by_id.get(&person_id) {
                Some((email, name)) => candidates.push(Candidate {
                    email: email.clone(),
                    name: name.clone(),
                    person_id: Some(person_id),
                    organization_id,
                }),
                None => v.add(format!("invitees[{i}].person_id"), "is not a known person"),
            },
            Some(ParsedInvitee::ByEmail { email, name }) => {
                let known = by_email.get(email.as_str());
                // The partnership's record of a known person's name wins, so every email
                // and page greets them alike.
                match known.map(|(_, n)| n.clone()).or(name) {
                    Some(name) => candidates.push(Candidate {
                        email: email.as_str().to_owned(),
                        name,
                        person_id: known.map(|(id, _)| *id),
                        organization_id,
                    }),
                    None if invitee.name.is_none() => v.add(
                        format!("invitees[{i}].name"),
                        "is required for someone the partnership does not know yet",
                    ),
                    // The name was given but invalid: already reported.
                    None => {}
                }
            }
            None => {}
        }
    }
    Ok(candidates)
}

/// The organisation kinds and countries of an audience, checked; at least one of them.
fn check_audience(
    v: &mut Validator,
    audience: &AudienceRequest,
) -> (Vec<OrganizationKind>, Vec<CountryCode>) {
    let kinds = audience
        .organization_kinds
        .iter()
        .enumerate()
        .filter_map(|(i, kind)| {
            v.check(
                format!("audience.organization_kinds[{i}]"),
                parse_kind(kind),
            )
        })
        .collect();
    let countries = audience
        .countries
        .iter()
        .enumerate()
        .filter_map(|(i, country)| {
            v.check(
                format!("audience.countries[{i}]"),
                CountryCode::parse(country),
            )
        })
        .collect();
    if audience.organization_kinds.is_empty() && audience.countries.is_empty() {
        v.add(
            "audience",
            "name at least one organisation kind or country (an empty audience would be the \
             whole partnership)",
        );
    }
    (kinds, countries)
}

/// Writes the invitations of a checked request and queues their emails, in batches: a few
/// statements whatever the number of invitees.
async fn insert_invitations(
    conn: &mut AsyncPgConnection,
    event: EventFacts,
    checked: CheckedRequest,
    sender: Sender,
) -> AppResult<CreateInvitationsResponse> {
    let now = Utc::now();
    let CheckedRequest {
        sessions: chosen,
        message,
        expires_at,
        mut candidates,
        mut skipped,
        audience: _,
    } = checked;
    // One creation at a time per event, so two concurrent requests cannot both invite the
    // same person to the same session; and under the event's lock, so an event cancelled
    // since the check before the transaction takes no new invitation.
    let locked = locks::event(conn, event.id).await?;
    if !locked.accepts_invitations() {
        return Err(AppError::conflict(
            Code::EventNotOpen,
            format!(
                "the event is {}: it takes no new invitations",
                locked.status
            ),
        ));
    }
    resolve_people(conn, &mut candidates).await?;
    let person_ids: Vec<Uuid> = candidates.iter().filter_map(|c| c.person_id).collect();
    let session_ids: Vec<Uuid> = chosen.iter().map(|s| s.id).collect();
    let invited = live_invitations(conn, event.id, &person_ids, &session_ids, now).await?;
    let registered = live_registrations(conn, &person_ids, &session_ids).await?;

    let offer: Vec<&SessionFacts> = chosen.iter().collect();
    let offer_ics = sessions_calendar(&event, &offer, CalendarMethod::Publish, false);
    let mail = InvitationMail {
        event: &event,
        sessions: &chosen,
        links: &sender.links,
        inviter: Some(&sender.name),
        message: message.as_deref(),
        offer_ics: &offer_ics,
    };
    let reminder_at = expires_at - Duration::days(sender.reminder_days);
    let mut rows = Vec::new();
    let mut links = Vec::new();
    let mut outgoing: Vec<OutgoingEmail> = Vec::new();
    let mut created = Vec::new();
    for candidate in &candidates {
        let person_id = candidate
            .person_id
            .ok_or_else(|| AppError::internal("invitee has no person"))?;
        let reason = if invited.contains(&person_id) {
            Some(SkipReason::AlreadyInvited)
        } else if registered.contains(&person_id) {
            Some(SkipReason::AlreadyRegistered)
        } else {
            None
        };
        if let Some(reason) = reason {
            skipped.push(SkippedInvitee {
                email: candidate.email.clone(),
                reason,
            });
            continue;
        }
        let id = Uuid::now_v7();
        let token = IssuedToken::generate();
        links.extend(chosen.iter().map(|s| NewInvitationSession {
            invitation_id: id,
            session_id: s.id,
        }));
        let invitee = Invitee {
            invitation_id: id,
            generation: 1,
            email: &candidate.email,
            name: &candidate.name,
            token: token.expose(),
            expires_at,
        };
        outgoing.push(emails::invitation_email(&mail, &invitee));
        if reminder_at > now && reminder_at < expires_at {
            outgoing.push(emails::invitation_reminder_email(
                &mail,
                &invitee,
                reminder_at,
            ));
        }
        rows.push(NewInvitation {
            id,
            event_id: event.id,
            person_id,
            token_hash: token.hash.clone(),
            message: message.clone(),
            status: InvitationStatus::Pending,
            expires_at,
            sent_by: Some(sender.account_id),
            organization_id: candidate.organization_id,
            sent_at: now,
        });
        created.push(CreatedInvitation {
            id,
            email: candidate.email.clone(),
            status: InvitationStatus::Pending,
        });
    }
    // Bind parameters per statement stay well under PostgreSQL's 65535.
    for chunk in rows.chunks(1000) {
        diesel::insert_into(invitations::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in links.chunks(10_000) {
        diesel::insert_into(invitation_sessions::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    enqueue_many(conn, outgoing).await?;
    tracing::info!(
        event_id = %event.id,
        created = created.len(),
        skipped = skipped.len(),
        "invitations created"
    );
    Ok(CreateInvitationsResponse {
        created: created.len(),
        skipped,
        invitations: created,
    })
}

/// Of these people, those with a live invitation (accepted, or pending and unexpired) to any
/// of these sessions.
pub(super) async fn live_invitations(
    conn: &mut AsyncPgConnection,
    event_id: Uuid,
    person_ids: &[Uuid],
    session_ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<HashSet<Uuid>> {
    Ok(invitations::table
        .inner_join(invitation_sessions::table)
        .filter(invitations::event_id.eq(event_id))
        .filter(invitations::person_id.eq_any(person_ids))
        .filter(invitation_sessions::session_id.eq_any(session_ids))
        .filter(
            invitations::status
                .eq(InvitationStatus::Accepted)
                .or(invitations::status
                    .eq(InvitationStatus::Pending)
                    .and(invitations::expires_at.gt(now))),
        )
        .select(invitations::person_id)
        .distinct()
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect())
}

/// Of these people, those with a live registration for any of these sessions.
pub(super) async fn live_registrations(
    conn: &mut AsyncPgConnection,
    person_ids: &[Uuid],
    session_ids: &[Uuid],
) -> AppResult<HashSet<Uuid>> {
    Ok(registrations::table
        .filter(registrations::person_id.eq_any(person_ids))
        .filter(registrations::session_id.eq_any(session_ids))
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .select(registrations::person_id)
        .distinct()
        .load::<Uuid>(conn)
        .await?
        .into_iter()
        .collect())
}

/// (person, email, name, organisation) of everyone affiliated with an active organisation of
/// these kinds and countries, focal points first.
async fn audience_members(
    conn: &mut AsyncPgConnection,
    kinds: &[OrganizationKind],
    countries: &[CountryCode],
) -> AppResult<Vec<(Uuid, String, String, Uuid)>> {
    let mut query = affiliations::table
        .inner_join(organizations::table)
        .inner_join(people::table)
        .filter(organizations::status.eq(MembershipStatus::Active))
        .into_boxed();
    if !kinds.is_empty() {
        query = query.filter(organizations::kind.eq_any(kinds));
    }
    if !countries.is_empty() {
        let codes: Vec<&str> = countries.iter().map(CountryCode::as_str).collect();
        query = query.filter(organizations::country.eq_any(codes));
    }
    Ok(query
        .order((
            affiliations::focal_point.desc(),
            organizations::name.asc(),
            people::name.asc(),
        ))
        .select((people::id, people::email, people::name, organizations::id))
        .load(conn)
        .await?)
}

/// Gives every candidate a person: the ones the partnership does not know yet are created in
/// one statement (someone created them meanwhile: theirs is used).
async fn resolve_people(
    conn: &mut AsyncPgConnection,
    candidates: &mut [Candidate],
) -> AppResult<()> {
    let mut new: Vec<(Uuid, String, String)> = candidates
        .iter()
        .filter(|c| c.person_id.is_none())
        .map(|c| (Uuid::now_v7(), c.email.clone(), c.name.clone()))
        .collect();
    // Inserted in one order (by address) whatever the request's: two requests naming the same
    // new people wait on the email index in the same direction and cannot deadlock.
    new.sort_by_cached_key(|(_, email, _)| email.to_lowercase());
    if new.is_empty() {
        return Ok(());
    }
    for chunk in new.chunks(5000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, email, name)| {
                (
                    people::id.eq(*id),
                    people::email.eq(email.as_str()),
                    people::name.eq(name.as_str()),
                )
            })
            .collect();
        diesel::insert_into(people::table)
            .values(rows)
            .on_conflict(people::email)
            .do_nothing()
            .execute(conn)
            .await?;
    }
    let emails: Vec<&str> = new.iter().map(|(_, e, _)| e.as_str()).collect();
    let ids: HashMap<String, Uuid> = people::table
        .filter(people::email.eq_any(&emails))
        .select((people::email, people::id))
        .load::<(String, Uuid)>(conn)
        .await?
        .into_iter()
        .collect();
    for candidate in candidates.iter_mut().filter(|c| c.person_id.is_none()) {
        candidate.person_id = ids.get(&candidate.email).copied();
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The token holder's side

/// What the invitation covers, for its token holder. Never acts (a mail scanner may call it);
/// it only records an expiry that has already happened.
pub async fn view_by_token(state: &Context, token: &str) -> AppResult<InvitationView> {
    let mut conn = state.pool.get().await?;
    let invitation = find_by_token(&mut conn, token).await?;
    let event = load_event(&mut conn, invitation.event_id).await?;
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
            let event = load_event(conn, invitation.event_id).await?;
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

/// The offered sessions that are in the invitee's calendar: every one not declined yet (the
/// offer put them there, an acceptance kept them). A declined one already had its CANCEL.
fn in_calendar(offered: &[(SessionFacts, Option<bool>)]) -> Vec<Uuid> {
    offered
        .iter()
        .filter(|(_, accepted)| *accepted != Some(false))
        .map(|(s, _)| s.id)
        .collect()
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
        let registration: Option<crate::registrations::model::Registration> = registrations::table
            .filter(registrations::session_id.eq(session.id))
            .filter(registrations::person_id.eq(invitation.person_id))
            .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
            .select(crate::registrations::model::Registration::as_select())
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

// ---------------------------------------------------------------------------------------------
// Staff: list, resend, revoke

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
    let event = load_event(conn, invitation.event_id).await?;
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
    let sender = sender_of(state, user);
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

fn sender_of(state: &Context, user: &AuthUser) -> Sender {
    Sender {
        account_id: user.account.id,
        name: user.name().to_owned(),
        links: state.links.clone(),
        reminder_days: state.settings.worker.invitation_reminder_days,
    }
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
    let sender = sender_of(state, user);
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

/// The live registrations an invitation holds (with their sessions), in session id order: those made through it, and
/// for an accepted invitation the invitee's live registrations in the sessions they accepted
/// (a seat the invitee had taken through the public form before accepting). Read with the
/// sessions locked.
async fn seats_of(
    conn: &mut AsyncPgConnection,
    invitation: &Invitation,
) -> AppResult<Vec<(Uuid, Uuid)>> {
    let accepted: Vec<Uuid> = if invitation.status == InvitationStatus::Accepted {
        invitation_sessions::table
            .filter(invitation_sessions::invitation_id.eq(invitation.id))
            .filter(invitation_sessions::accepted.eq(true))
            .select(invitation_sessions::session_id)
            .load(conn)
            .await?
    } else {
        Vec::new()
    };
    Ok(registrations::table
        .filter(registrations::status.ne_all(RegistrationStatus::ENDED))
        .filter(
            registrations::invitation_id
                .eq(invitation.id)
                .or(registrations::person_id
                    .eq(invitation.person_id)
                    .and(registrations::session_id.eq_any(accepted))),
        )
        .order(registrations::session_id.asc())
        .select((registrations::id, registrations::session_id))
        .load(conn)
        .await?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_trimmed_and_bounded() {
        assert_eq!(parse_message(Some("  ")), Ok(None));
        assert_eq!(parse_message(Some(" hi ")), Ok(Some("hi".to_owned())));
        assert!(parse_message(Some(&"x".repeat(MAX_MESSAGE_CHARS + 1))).is_err());
    }
}
