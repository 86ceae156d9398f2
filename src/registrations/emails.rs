//! The emails a registration causes, and the parts every message about sessions shares (the
//! invitations' too): each session's time in the event's zone, where it takes place, the
//! `.ics`, the cancel link and the "your session is tomorrow" reminder. Each message is queued
//! in the transaction of its cause, with one dedupe key per cause.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::token::IssuedToken;
use crate::context::Links;
use crate::db::prepared::KeepPrepared;
use crate::db::schema::{registrations, sessions};
use crate::error::AppResult;
use crate::events::calendar::{
    calendar_for_sessions, cancel_calendar, CalendarMethod, CalendarSession,
};
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::model::{EventFormat, CHATHAM_HOUSE_RULE};
use crate::mail::outbox::{replace_pending, withdraw, Withdraw};
use crate::mail::EmailKind;
use crate::mail::{
    enqueue, enqueue_many, EmailAction, EmailBody, OutgoingEmail, UNPROVED_GREETING,
};
use crate::people::model::Person;
use crate::registrations::model::{Registration, RegistrationStatus, SessionContext};
use crate::registrations::seats;
use crate::registrations::service::person_of;

/// What happened to a registration, i.e. which email its registrant gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A seat was taken right after the email was confirmed (or for a verified account).
    Confirmed,
    /// The session was full: a place in the queue.
    Waitlisted,
    /// A freed seat (cancellation, revocation, more capacity) went to this waitlisted
    /// registration.
    Promoted,
    /// Staff must approve before a seat is taken.
    AwaitingApproval,
    /// Staff approved: the registration is now confirmed or waitlisted.
    Approved,
    Rejected,
    Cancelled {
        by_staff: bool,
    },
}

impl Notice {
    fn kind(self) -> EmailKind {
        match self {
            Notice::Confirmed => EmailKind::RegistrationConfirmed,
            Notice::Waitlisted => EmailKind::RegistrationWaitlisted,
            Notice::Promoted => EmailKind::RegistrationPromoted,
            Notice::AwaitingApproval => EmailKind::RegistrationPendingApproval,
            Notice::Approved => EmailKind::RegistrationApproved,
            Notice::Rejected => EmailKind::RegistrationRejected,
            Notice::Cancelled { .. } => EmailKind::RegistrationCancelled,
        }
    }

    fn dedupe_key(self, registration: &Registration) -> String {
        let cause = match self {
            Notice::Confirmed => "registration-confirmed",
            Notice::Waitlisted => "registration-waitlisted",
            Notice::Promoted => "registration-promoted",
            Notice::AwaitingApproval => "registration-pending-approval",
            Notice::Approved => "registration-approved",
            Notice::Rejected => "registration-rejected",
            Notice::Cancelled { .. } => "registration-cancelled",
        };
        format!("{cause}:{}", registration.id)
    }

    /// The notice for where `admit` (or an approval) left a registration.
    pub fn for_seat(status: RegistrationStatus) -> Notice {
        if status == RegistrationStatus::Waitlisted {
            Notice::Waitlisted
        } else {
            Notice::Confirmed
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What every message about sessions shares

/// A session's time in the event's zone, marked when the Chatham House rule covers it.
pub fn session_when(event: &EventFacts, session: &SessionFacts) -> String {
    let mut when = event.local_time(session);
    if session.chatham_house {
        when.push_str(" · Chatham House rule");
    }
    when
}

/// Where the event takes place, as anyone may know it (never the online link).
pub fn place_line(event: &EventFacts) -> Option<(String, String)> {
    match (event.format, &event.venue) {
        (EventFormat::Online, _) => Some(("Where".to_owned(), "Online".to_owned())),
        (EventFormat::Hybrid, Some(venue)) => {
            Some(("Where".to_owned(), format!("{venue}, and online")))
        }
        (_, Some(venue)) => Some(("Where".to_owned(), venue.clone())),
        _ => None,
    }
}

/// An `.ics` (PUBLISH) of sessions of one event in its zone: an offer (invitations) or held
/// seats. Each session's online link is in it only when `holds_seat` says
/// the recipient holds a confirmed seat in every session listed (rule 2).
pub fn sessions_calendar(
    event: &EventFacts,
    sessions: &[&SessionFacts],
    method: CalendarMethod,
    holds_seat: bool,
) -> String {
    let venue = event
        .venue
        .as_deref()
        .filter(|_| event.format != EventFormat::Online);
    let entries: Vec<CalendarSession> = sessions
        .iter()
        .map(|s| {
            let online = s.online_link(event).filter(|_| holds_seat);
            let mut description = s.description.clone().unwrap_or_default();
            if s.chatham_house {
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str("Held under the Chatham House rule.");
            }
            CalendarSession {
                id: s.id,
                title: format!("{} — {}", s.title, event.title),
                description: (!description.is_empty()).then_some(description),
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                location: venue.or(online).map(str::to_owned),
                url: online.map(str::to_owned),
                sequence: crate::events::calendar::revision(s.sequence),
            }
        })
        .collect();
    calendar_for_sessions(&event.title, &event.timezone, &entries, method)
}

/// Raises the calendar revision (SEQUENCE) of these sessions, whose locks the caller holds, and
/// answers them as they now are, in id order: every `.ics` sent for a change or a removal
/// carries a number higher than any sent before it.
pub async fn raise_sequences(
    conn: &mut AsyncPgConnection,
    session_ids: &[Uuid],
) -> AppResult<Vec<SessionFacts>> {
    if session_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut raised: Vec<SessionFacts> = diesel::update(sessions::table)
        .filter(sessions::id.eq_any(session_ids))
        .set(sessions::sequence.eq(sessions::sequence + 1))
        .returning(SessionFacts::as_returning())
        .get_results(conn)
        .await?;
    raised.sort_by_key(|s| s.id);
    Ok(raised)
}

/// A METHOD:CANCEL of these sessions (same UIDs, each at its current, already raised,
/// sequence): they leave the recipient's calendar.
pub fn sessions_cancel_calendar(event: &EventFacts, sessions: &[&SessionFacts]) -> String {
    let entries: Vec<CalendarSession> = sessions
        .iter()
        .map(|s| CalendarSession {
            id: s.id,
            title: format!("{} — {}", s.title, event.title),
            description: None,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            location: None,
            url: None,
            sequence: crate::events::calendar::revision(s.sequence),
        })
        .collect();
    cancel_calendar(&event.title, &event.timezone, &entries)
}

/// Tells someone that sessions leave their calendar, with the CANCEL attached, when the
/// message of its cause carries another calendar (an acceptance of some sessions carries the
/// seats held) or there is no such message (a session deleted). `key`: the cause's dedupe key.
pub fn calendar_removal_email(
    event: &EventFacts,
    key: String,
    email: &str,
    name: &str,
    sessions: &[&SessionFacts],
    why: &str,
) -> OutgoingEmail {
    let details = sessions
        .iter()
        .map(|s| (s.title.clone(), session_when(event, s)))
        .collect();
    let body = EmailBody {
        subject: format!("Calendar update: {}", event.title),
        greeting: format!("Dear {name},"),
        paragraphs: vec![
            why.to_owned(),
            "The attached calendar update removes them from your calendar.".to_owned(),
        ],
        details,
        ..Default::default()
    };
    OutgoingEmail::new(EmailKind::CalendarCancel, email, Some(name), body)
        .for_event(event.id)
        .dedupe(key)
        .with_ics(sessions_cancel_calendar(event, sessions))
}

/// A fresh cancel link for a live registration. Its token replaces the stored one only once
/// the message carrying it is queued ([`CancelLink::keep`]), so the link of the last message
/// the registrant received keeps working.
pub struct CancelLink {
    registration_id: Uuid,
    token: IssuedToken,
    pub url: String,
}

impl CancelLink {
    /// None for a registration that is no longer live.
    pub fn issue(links: &Links, registration: &Registration) -> Option<CancelLink> {
        if !registration.status.is_live() {
            return None;
        }
        let token = IssuedToken::generate();
        let url = links.cancel_registration(registration.id, token.expose());
        Some(CancelLink {
            registration_id: registration.id,
            token,
            url,
        })
    }

    /// The line offering the link (a link in HTML); `session` names the session when the
    /// message covers several.
    pub fn link(&self, status: RegistrationStatus, session: Option<&str>) -> EmailAction {
        let what = match status {
            RegistrationStatus::Waitlisted => "leave the waitlist",
            RegistrationStatus::Confirmed => "free your seat for someone else",
            _ => "withdraw your registration",
        };
        let which = session.map(|s| format!(" “{s}”")).unwrap_or_default();
        EmailAction {
            label: format!(
                "Can't come{which}? Cancel here to {what} (the page asks before anything is cancelled)"
            ),
            url: self.url.clone(),
        }
    }

    /// Stores the token's hash: from now on this link, and no earlier one, cancels. Kept
    /// prepared: it runs under the session's lock when a confirmation takes a seat.
    pub async fn keep(self, conn: &mut AsyncPgConnection) -> AppResult<()> {
        KeepPrepared(
            diesel::update(registrations::table.find(self.registration_id))
                .set(registrations::cancel_token_hash.eq(Some(self.token.hash))),
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// "Your session is tomorrow"

/// A session reminder goes out this long before the session starts.
pub const SESSION_REMINDER_BEFORE_HOURS: i64 = 24;

pub fn session_reminder_key(registration_id: Uuid) -> String {
    format!("session-reminder:{registration_id}")
}

/// Schedules "your session is tomorrow" for a confirmed registration, due 24 hours before the
/// session (nothing when that moment has passed). Every way into a seat calls it: confirming,
/// approval, accepting an invitation, a promotion from the waitlist. `cancel` and `reject`
/// withdraw it.
pub async fn schedule_session_reminder(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
    registration: &Registration,
    person: &Person,
) -> AppResult<()> {
    let at = ctx.session.starts_at - Duration::hours(SESSION_REMINDER_BEFORE_HOURS);
    if registration.status == RegistrationStatus::Confirmed && at > Utc::now() {
        enqueue(
            conn,
            session_reminder_email(ctx, registration.id, person, at),
        )
        .await?;
    }
    Ok(())
}

/// After a session moved, was renamed or got another link (in the caller's transaction, the
/// change written), brings its scheduled reminders up to date: each re-rendered with the new
/// time and link and due 24 hours before the new start, or withdrawn when that moment has
/// passed.
pub async fn refresh_session_reminders(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
) -> AppResult<()> {
    let confirmed: Vec<(Uuid, Person)> = registrations::table
        .inner_join(crate::db::schema::people::table)
        .filter(registrations::session_id.eq(ctx.session.id))
        .filter(registrations::status.eq(RegistrationStatus::Confirmed))
        .select((registrations::id, Person::as_select()))
        .load(conn)
        .await?;
    let at = ctx.session.starts_at - Duration::hours(SESSION_REMINDER_BEFORE_HOURS);
    for (registration_id, person) in confirmed {
        if at > Utc::now() {
            replace_pending(
                conn,
                session_reminder_email(ctx, registration_id, &person, at),
            )
            .await?;
        } else {
            withdraw_session_reminder(conn, registration_id).await?;
        }
    }
    Ok(())
}

/// After a session moved (in the caller's transaction, the change written), tells everyone
/// whose registration is live (confirmed, waitlisted or awaiting approval) the old and the new
/// time, with an updated `.ics` for seat holders. `change` (the session's new `updated_at`) is in
/// the dedupe key, so each move is its own cause and moving it twice sends two messages.
/// `except`: registrations the same change already wrote to (those it promoted).
/// Who is emailed when the session moves: its confirmed, waitlisted and awaiting-approval
/// registrants (registration id, status, person), by name. Nobody when the event is not
/// published (a cancelled or completed event's registrants are not told that their seat is
/// kept) or the session is over (a correction of the record, not news).
pub async fn told_of_a_move(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
) -> AppResult<Vec<(Uuid, RegistrationStatus, Person)>> {
    if !ctx.event.is_published() || ctx.session.ends_at <= Utc::now() {
        return Ok(Vec::new());
    }
    Ok(registrations::table
        .inner_join(crate::db::schema::people::table)
        .filter(registrations::session_id.eq(ctx.session.id))
        .filter(registrations::status.eq_any([
            RegistrationStatus::Confirmed,
            RegistrationStatus::Waitlisted,
            RegistrationStatus::PendingApproval,
        ]))
        .order((
            crate::db::schema::people::name.asc(),
            registrations::id.asc(),
        ))
        .select((
            registrations::id,
            registrations::status,
            Person::as_select(),
        ))
        .load(conn)
        .await?)
}

pub async fn notify_session_moved(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
    was: &str,
    change: DateTime<Utc>,
    except: &[Uuid],
) -> AppResult<usize> {
    let live: Vec<(Uuid, RegistrationStatus, Person)> = told_of_a_move(conn, ctx)
        .await?
        .into_iter()
        .filter(|(id, ..)| !except.contains(id))
        .collect();
    if live.is_empty() {
        return Ok(0);
    }
    let (event, session) = (&ctx.event, &ctx.session);
    let now = session_when(event, session);
    let emails = live
        .into_iter()
        .map(|(registration_id, status, person)| {
            let holds_seat = status == RegistrationStatus::Confirmed;
            let standing = match status {
                RegistrationStatus::Confirmed => "Your seat is kept at the new time.",
                RegistrationStatus::Waitlisted => "You keep your place on the waitlist.",
                _ => "Your registration is still awaiting the organisers' approval.",
            };
            let body = EmailBody {
                subject: format!("New time: {} — {}", session.title, event.title),
                greeting: format!("Dear {},", person.name),
                paragraphs: vec![
                    format!(
                        "The organisers have moved “{}” of {}. It now takes place {now}.",
                        session.title, event.title
                    ),
                    standing.to_owned(),
                ],
                details: {
                    let mut details = session_details(ctx);
                    details.push(("Previously".to_owned(), was.to_owned()));
                    details
                },
                links: join_link(ctx, holds_seat).into_iter().collect(),
                footer: vec![
                    "If you can no longer attend, cancel with the link in your confirmation \
                     email, or let the organisers know."
                        .to_owned(),
                ],
                ..Default::default()
            };
            let email = OutgoingEmail::new(
                EmailKind::SessionMoved,
                &person.email,
                Some(&person.name),
                body,
            )
            .for_event(event.id)
            .contact(event.contact())
            .dedupe(format!(
                "session-moved:{registration_id}:{}",
                change.timestamp_micros()
            ));
            if holds_seat {
                email.with_ics(session_calendar(ctx))
            } else {
                email
            }
        })
        .collect();
    enqueue_many(conn, emails).await
}

/// Withdraws the reminder of a registration that no longer holds a seat.
pub async fn withdraw_session_reminder(
    conn: &mut AsyncPgConnection,
    registration_id: Uuid,
) -> AppResult<()> {
    withdraw(
        conn,
        Withdraw::Cause(&session_reminder_key(registration_id)),
    )
    .await?;
    Ok(())
}

fn session_reminder_email(
    ctx: &SessionContext,
    registration_id: Uuid,
    person: &Person,
    send_at: DateTime<Utc>,
) -> OutgoingEmail {
    let (event, session) = (&ctx.event, &ctx.session);
    let mut paragraphs = vec![format!(
        "This is a reminder that you are registered for {} of {}, which starts tomorrow.",
        session.title, event.title
    )];
    if session.chatham_house {
        paragraphs.push(CHATHAM_HOUSE_RULE.to_owned());
    }
    let mut details = vec![(session.title.clone(), session_when(event, session))];
    details.extend(place_line(event));
    let body = EmailBody {
        subject: format!("Tomorrow: {} — {}", session.title, event.title),
        greeting: format!("Dear {},", person.name),
        paragraphs,
        details,
        // Only confirmed registrations are reminded: the link of their session is theirs.
        links: join_link(ctx, true).into_iter().collect(),
        footer: vec!["If you can no longer attend, please let the organisers know.".to_owned()],
        ..Default::default()
    };
    OutgoingEmail::new(
        EmailKind::SessionReminder,
        &person.email,
        Some(&person.name),
        body,
    )
    .for_event(event.id)
    .contact(event.contact())
    .dedupe(session_reminder_key(registration_id))
    .about_registration(registration_id)
    .send_at(send_at)
}

// ---------------------------------------------------------------------------------------------
// The registrant's messages

/// The email that asks a public registrant to confirm their address; `token` is the secret
/// whose hash the registration holds.
pub async fn send_confirmation_request(
    conn: &mut AsyncPgConnection,
    links: &Links,
    ctx: &SessionContext,
    registration: &Registration,
    person: &Person,
    token: &IssuedToken,
) -> AppResult<()> {
    // Nobody has proved this address yet, and the name beside it may be anyone's words.
    let body = EmailBody {
        subject: format!("Confirm your registration: {}", ctx.session.title),
        greeting: UNPROVED_GREETING.to_owned(),
        paragraphs: vec![
            format!(
                "Thank you for registering for “{}” of {}.",
                ctx.session.title, ctx.event.title
            ),
            format!(
                "Please confirm your email address to complete the registration. The link is valid for {} hours.",
                super::sign_up::CONFIRM_TOKEN_TTL_HOURS
            ),
        ],
        details: session_details(ctx),
        action: Some(EmailAction {
            label: "Confirm my registration".to_owned(),
            url: links.confirm_registration(token.expose()),
        }),
        footer: vec![
            "If you did not register, ignore this message: nothing happens unless the link is used."
                .to_owned(),
        ],
        ..Default::default()
    };
    // Each request of a confirmation is its own cause (a re-sent link replaces the old one).
    let key = format!(
        "registration-confirm-request:{}:{}",
        registration.id,
        hex_prefix(&token.hash)
    );
    enqueue(
        conn,
        OutgoingEmail::new(
            EmailKind::RegistrationConfirmRequest,
            &person.email,
            None,
            body,
        )
        .for_event(ctx.event.id)
        .contact(ctx.event.contact())
        .dedupe(key),
    )
    .await?;
    Ok(())
}

/// Tells the registrant that a registration request for their address found their live
/// registration, and where it stands: the truth goes to the address, never to the requester
/// (who may be anyone). No online link and no new cancel link: their earlier emails have them,
/// and a stranger's request must not replace what they hold.
pub async fn send_already_registered(
    conn: &mut AsyncPgConnection,
    ctx: &SessionContext,
    registration: &Registration,
    person: &Person,
    position: Option<i64>,
) -> AppResult<()> {
    let (session, event) = (&ctx.session.title, &ctx.event.title);
    let standing = match registration.status {
        RegistrationStatus::Confirmed => format!(
            "You are already registered for “{session}” of {event}, and your seat is confirmed: there is nothing more to do."
        ),
        RegistrationStatus::Waitlisted => format!(
            "You are already on the waitlist of “{session}” of {event}, at place {}. If a seat becomes free, it is given to the first person on the list and we will email you at once.",
            position.unwrap_or(1)
        ),
        _ => format!(
            "You are already registered for “{session}” of {event}; the organisers are reviewing your registration and will email you when they have decided."
        ),
    };
    let body = EmailBody {
        subject: format!("You are already registered: {session}"),
        greeting: format!("Dear {},", person.name),
        paragraphs: vec![
            "We received a new registration request for this email address.".to_owned(),
            standing,
        ],
        details: session_details(ctx),
        footer: vec![
            "To cancel, use the link in the email that confirmed your registration. If you did not ask for this, ignore this message: nothing has changed.".to_owned(),
        ],
        ..Default::default()
    };
    enqueue(
        conn,
        OutgoingEmail::new(
            EmailKind::RegistrationAlreadyRegistered,
            &person.email,
            Some(&person.name),
            body,
        )
        .for_event(ctx.event.id)
        .contact(ctx.event.contact()),
    )
    .await?;
    Ok(())
}

/// Emails the registrant what happened to their registration. A message that carries a cancel
/// link issues a fresh cancel token (only the newest link works); nothing changes when this
/// cause has already been emailed. Answers whether the message was queued.
pub async fn notify(
    conn: &mut AsyncPgConnection,
    links: &Links,
    ctx: &SessionContext,
    registration: &Registration,
    notice: Notice,
) -> AppResult<bool> {
    let person = person_of(conn, registration).await?;
    let position = seats::waitlist_position(conn, registration).await?;
    notify_person(conn, links, ctx, registration, &person, position, notice).await
}

/// A seat freed (cancellation, revocation, more capacity) went to this waitlisted
/// registration: its registrant is told and their session reminder scheduled.
pub async fn notify_promoted(
    conn: &mut AsyncPgConnection,
    links: &Links,
    ctx: &SessionContext,
    registration: &Registration,
) -> AppResult<()> {
    let person = person_of(conn, registration).await?;
    notify_person(
        conn,
        links,
        ctx,
        registration,
        &person,
        None,
        Notice::Promoted,
    )
    .await?;
    schedule_session_reminder(conn, ctx, registration, &person).await
}

/// `notify` when the caller already holds the registrant and their waitlist position (the
/// confirmation path, which keeps its time under the session lock short).
pub async fn notify_person(
    conn: &mut AsyncPgConnection,
    links: &Links,
    ctx: &SessionContext,
    registration: &Registration,
    person: &Person,
    position: Option<i64>,
    notice: Notice,
) -> AppResult<bool> {
    let holds_seat = registration.status == RegistrationStatus::Confirmed;
    // Whoever takes a seat by confirming or by approval is reminded the day before, like those
    // who accepted an invitation or were promoted (`notify_promoted`).
    let remind = holds_seat && matches!(notice, Notice::Confirmed | Notice::Approved);
    let cancel_link = CancelLink::issue(links, registration);

    let session = &ctx.session.title;
    let event = &ctx.event.title;
    let (subject, paragraphs) = match notice {
        Notice::Confirmed => (
            format!("You're registered: {session}"),
            vec![format!("Your registration for “{session}” of {event} is confirmed. We look forward to seeing you.")],
        ),
        Notice::Waitlisted => (
            format!("You're on the waitlist: {session}"),
            vec![format!("“{session}” of {event} is full, so you are on its waitlist. If a seat becomes free, it is given to the first person on the list and we will email you at once.")],
        ),
        Notice::Promoted => (
            format!("A seat is yours: {session}"),
            vec![format!("Good news: a seat has become free in “{session}” of {event}, and it is yours. Your registration is now confirmed.")],
        ),
        Notice::AwaitingApproval => (
            format!("Your registration is awaiting approval: {session}"),
            vec![format!("Thank you for registering for “{session}” of {event}. The organisers review each registration for this session; we will email you as soon as they have decided.")],
        ),
        Notice::Approved if holds_seat => (
            format!("Your registration is approved: {session}"),
            vec![format!("The organisers have approved your registration for “{session}” of {event}. Your seat is confirmed.")],
        ),
        Notice::Approved => (
            format!("Your registration is approved: {session}"),
            vec![format!("The organisers have approved your registration for “{session}” of {event}. The session is full, so you are on its waitlist; if a seat becomes free it is given to the first person on the list and we will email you at once.")],
        ),
        Notice::Rejected => (
            format!("Your registration was not accepted: {session}"),
            vec![format!("We are sorry: the organisers could not accept your registration for “{session}” of {event}.")],
        ),
        Notice::Cancelled { by_staff: true } => (
            format!("Your registration was cancelled: {session}"),
            vec![format!("The organisers have cancelled your registration for “{session}” of {event}.")],
        ),
        Notice::Cancelled { by_staff: false } => (
            format!("Your registration is cancelled: {session}"),
            vec![format!("As you asked, your registration for “{session}” of {event} is cancelled. Thank you for letting us know.")],
        ),
    };
    let mut details = session_details(ctx);
    if let Some(position) = position {
        details.push(("Waitlist position".to_owned(), position.to_string()));
    }
    let links = join_link(ctx, holds_seat)
        .into_iter()
        .chain(
            cancel_link
                .iter()
                .map(|link| link.link(registration.status, None)),
        )
        .collect();
    let body = EmailBody {
        subject,
        greeting: format!("Dear {},", person.name),
        paragraphs,
        details,
        links,
        ..Default::default()
    };
    let mut email = OutgoingEmail::new(notice.kind(), &person.email, Some(&person.name), body)
        .for_event(ctx.event.id)
        .contact(ctx.event.contact())
        .dedupe(notice.dedupe_key(registration));
    if holds_seat {
        email = email.with_ics(session_calendar(ctx));
    } else if matches!(notice, Notice::Cancelled { .. }) {
        // `cancel` raised the session's sequence; `ctx` was read after it.
        email = email.with_ics(sessions_cancel_calendar(&ctx.event, &[&ctx.session]));
    }
    let sent = enqueue(conn, email).await?;
    if remind {
        schedule_session_reminder(conn, ctx, registration, person).await?;
    }
    if let (true, Some(link)) = (sent, cancel_link) {
        link.keep(conn).await?;
    }
    Ok(sent)
}

/// Event, session, time and place.
fn session_details(ctx: &SessionContext) -> Vec<(String, String)> {
    let mut details = vec![
        ("Event".to_owned(), ctx.event.title.clone()),
        ("Session".to_owned(), ctx.session.title.clone()),
        ("When".to_owned(), session_when(&ctx.event, &ctx.session)),
    ];
    details.extend(place_line(&ctx.event));
    details
}

/// The link that joins the session online, only for someone holding a seat in it (rule 2).
fn join_link(ctx: &SessionContext, holds_seat: bool) -> Option<EmailAction> {
    let url = ctx.session.online_link(&ctx.event).filter(|_| holds_seat)?;
    Some(EmailAction {
        label: "To join online, use this link".to_owned(),
        url: url.to_owned(),
    })
}

/// The `.ics` of a held seat.
pub fn session_calendar(ctx: &SessionContext) -> String {
    sessions_calendar(&ctx.event, &[&ctx.session], CalendarMethod::Publish, true)
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
