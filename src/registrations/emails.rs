//! The emails a registration causes. Each is queued in the transaction of its cause, with one
//! dedupe key per cause, the session's local time, a cancel link while the registration is
//! live, and an `.ics` once a seat is held.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::auth::token::IssuedToken;
use crate::db::schema::{people, registrations};
use crate::error::AppResult;
use crate::events::calendar::{calendar_for_sessions, CalendarMethod, CalendarSession};
use crate::mail::{enqueue, EmailAction, EmailBody, OutgoingEmail};
use crate::people::model::Person;
use crate::registrations::model::{Registration, RegistrationStatus, SessionContext};
use crate::registrations::seats;

/// What happened to a registration, i.e. which email its registrant gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A seat was taken right after the email was confirmed (or for a verified account).
    Confirmed,
    /// The session was full: a place in the queue.
    Waitlisted,
    /// A freed seat (cancellation, more capacity) went to this waitlisted registration.
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
    fn kind(self) -> &'static str {
        match self {
            Notice::Confirmed => "registration_confirmed",
            Notice::Waitlisted => "registration_waitlisted",
            Notice::Promoted => "registration_promoted",
            Notice::AwaitingApproval => "registration_pending_approval",
            Notice::Approved => "registration_approved",
            Notice::Rejected => "registration_rejected",
            Notice::Cancelled { .. } => "registration_cancelled",
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

/// The email that asks a public registrant to confirm their address; `token` is the secret
/// whose hash the registration holds.
pub async fn send_confirmation_request(
    conn: &mut AsyncPgConnection,
    public_url: &str,
    ctx: &SessionContext,
    registration: &Registration,
    person: &Person,
    token: &IssuedToken,
) -> AppResult<()> {
    let body = EmailBody {
        subject: format!("Confirm your registration: {}", ctx.session.title),
        greeting: format!("Dear {},", person.name),
        paragraphs: vec![
            format!(
                "Thank you for registering for “{}” of {}.",
                ctx.session.title, ctx.event.title
            ),
            format!(
                "Please confirm your email address to complete the registration. The link is valid for {} hours.",
                super::service::CONFIRM_TOKEN_TTL_HOURS
            ),
        ],
        details: session_details(ctx, false),
        action: Some(EmailAction {
            label: "Confirm my registration".to_owned(),
            url: format!(
                "{public_url}/registrations/confirm?token={}",
                token.expose()
            ),
        }),
        footer: vec![
            "If you did not register, ignore this message: nothing happens unless the link is used."
                .to_owned(),
        ],
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
            "registration_confirm_request",
            &person.email,
            Some(&person.name),
            body,
        )
        .for_event(ctx.event.id)
        .dedupe(key),
    )
    .await?;
    Ok(())
}

/// Emails the registrant what happened to their registration. A message that carries a cancel
/// link issues a fresh cancel token (only the newest link works); nothing changes when this
/// cause has already been emailed. Answers whether the message was queued.
pub async fn notify(
    conn: &mut AsyncPgConnection,
    public_url: &str,
    ctx: &SessionContext,
    registration: &Registration,
    notice: Notice,
) -> AppResult<bool> {
    let person: Person = people::table
        .find(registration.person_id)
        .select(Person::as_select())
        .first(conn)
        .await?;
    let position = seats::waitlist_position(conn, registration).await?;
    notify_person(
        conn,
        public_url,
        ctx,
        registration,
        &person,
        position,
        notice,
    )
    .await
}

/// `notify` when the caller already holds the registrant and their waitlist position (the
/// confirmation path, which keeps its time under the session lock short).
pub async fn notify_person(
    conn: &mut AsyncPgConnection,
    public_url: &str,
    ctx: &SessionContext,
    registration: &Registration,
    person: &Person,
    position: Option<i64>,
    notice: Notice,
) -> AppResult<bool> {
    let holds_seat = registration.status == RegistrationStatus::Confirmed;
    let live = registration.status.is_live();
    let cancel_token = live.then(IssuedToken::generate);
    let cancel_url = cancel_token.as_ref().map(|t| {
        format!(
            "{public_url}/registrations/{}/cancel?token={}",
            registration.id,
            t.expose()
        )
    });

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
    let mut details = session_details(ctx, holds_seat);
    if let Some(position) = position {
        details.push(("Waitlist position".to_owned(), position.to_string()));
    }
    let mut footer = Vec::new();
    if let Some(url) = &cancel_url {
        let what = match registration.status {
            RegistrationStatus::Waitlisted => "leave the waitlist",
            RegistrationStatus::Confirmed => "free your seat for someone else",
            _ => "withdraw your registration",
        };
        footer.push(format!(
            "Can't come? Cancel here to {what} (the page asks before anything is cancelled): {url}"
        ));
    }
    let body = EmailBody {
        subject,
        greeting: format!("Dear {},", person.name),
        paragraphs,
        details,
        action: None,
        footer,
    };
    let mut email = OutgoingEmail::new(notice.kind(), &person.email, Some(&person.name), body)
        .for_event(ctx.event.id)
        .dedupe(notice.dedupe_key(registration));
    if holds_seat {
        email = email.with_ics(session_calendar(ctx));
    }
    let sent = enqueue(conn, email).await?;
    // Rotate the cancel token only when this message goes out, so the link of the last
    // message the registrant received keeps working.
    if let (true, Some(token)) = (sent, cancel_token) {
        diesel::update(registrations::table.find(registration.id))
            .set(registrations::cancel_token_hash.eq(Some(token.hash)))
            .execute(conn)
            .await?;
    }
    Ok(sent)
}

/// Event, session, time and place; the online link only for someone holding a seat (rule 2).
fn session_details(ctx: &SessionContext, holds_seat: bool) -> Vec<(String, String)> {
    let mut details = vec![
        ("Event".to_owned(), ctx.event.title.clone()),
        ("Session".to_owned(), ctx.session.title.clone()),
        ("When".to_owned(), ctx.local_time()),
    ];
    if ctx.event.format != "online" {
        if let Some(venue) = &ctx.event.venue {
            details.push(("Where".to_owned(), venue.clone()));
        }
    }
    if holds_seat && ctx.event.format != "in_person" {
        if let Some(url) = &ctx.event.online_url {
            details.push(("Online".to_owned(), url.clone()));
        }
    }
    details
}

/// The `.ics` of a held seat: the session in the event's zone, with the venue or online link.
pub fn session_calendar(ctx: &SessionContext) -> String {
    let online = (ctx.event.format != "in_person")
        .then(|| ctx.event.online_url.clone())
        .flatten();
    let venue = (ctx.event.format != "online")
        .then(|| ctx.event.venue.clone())
        .flatten();
    let session = CalendarSession {
        id: ctx.session.id,
        title: format!("{} — {}", ctx.event.title, ctx.session.title),
        description: ctx.session.description.clone(),
        starts_at: ctx.session.starts_at,
        ends_at: ctx.session.ends_at,
        location: venue.or_else(|| online.clone()),
        url: online,
    };
    calendar_for_sessions(
        &ctx.event.title,
        &ctx.event.timezone,
        &[session],
        CalendarMethod::Publish,
    )
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
