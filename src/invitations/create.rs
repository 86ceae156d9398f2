//! Inviting: many people at once, named or as an audience (organisation kinds and countries),
//! to closed sessions of an event. The whole request is checked before anything is written;
//! then the invitations, the people new to the partnership and every invitation email (with its
//! reminder) are written in a few statements whatever the number of invitees.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::scoped_futures::ScopedFutureExt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::auth::AuthUser;
use crate::context::{Context, Links};
use crate::db::locks;
use crate::db::schema::{
    affiliations, invitation_sessions, invitations, organizations, people, sessions,
};
use crate::error::{AppError, AppResult, Code, Validator};
use crate::events::calendar::CalendarMethod;
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::local_time::format_local;
use crate::invitations::emails::{self, InvitationMail, Invitee};
use crate::invitations::lookup::{event_for_staff, live_registrations};
use crate::invitations::model::{
    InvitationStatus, NewInvitation, NewInvitationSession, SkipReason,
};
use crate::invitations::types::{
    AudienceRequest, CreateInvitationsRequest, CreateInvitationsResponse, CreatedInvitation,
    InviteeRequest, SkippedInvitee,
};
use crate::mail::{enqueue_many, OutgoingEmail};
use crate::organizations::fields::parse_kind;
use crate::organizations::model::{MembershipStatus, OrganizationKind};
use crate::organizations::CountryCode;
use crate::people::service::parse_name;
use crate::people::EmailAddress;
use crate::registrations::emails::sessions_calendar;

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
    let sender = Sender::of(state, user);
    crate::db::transaction(&mut conn, |conn| {
        insert_invitations(conn, event, checked, sender).scope_boxed()
    })
    .await
}

/// Who sends, and the settings the emails need.
pub(super) struct Sender {
    pub(super) account_id: Uuid,
    pub(super) name: String,
    pub(super) links: Links,
    pub(super) reminder_days: i64,
}

impl Sender {
    pub(super) fn of(state: &Context, user: &AuthUser) -> Sender {
        Sender {
            account_id: user.account.id,
            name: user.name().to_owned(),
            links: state.links.clone(),
            reminder_days: state.settings.worker.invitation_reminder_days,
        }
    }
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
pub(super) async fn check_sessions(
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
