//! The messages of invitations: the invitation itself (with an `.ics` REQUEST of the sessions
//! offered), its reminder, the answer's confirmation, the withdrawal, the promotion from the
//! waitlist and the day-before reminder of a session. Every time is in the event's zone.
//!
//! Each message is rendered when it is queued, so none depends on state that may change before
//! it is sent; scheduled ones are withdrawn (`cancel_pending`) when their cause goes away.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::events::calendar::{calendar_for_sessions, CalendarMethod, CalendarSession};
use crate::events::local_time::{format_local, format_range};
use crate::invitations::model::{
    invitation_email_key, invitation_reminder_key, session_reminder_key, InvitationEvent,
    OfferedSession,
};
use crate::mail::{EmailAction, EmailBody, OutgoingEmail};
use crate::registrations::model::RegistrationStatus;

pub const CHATHAM_HOUSE_RULE: &str = "Sessions marked “Chatham House rule” are held under the \
    Chatham House rule: participants are free to use the information received, but neither the \
    identity nor the affiliation of the speakers, nor that of any other participant, may be \
    revealed.";

/// What every message about one invitation shares.
pub struct InvitationMail<'a> {
    pub event: &'a InvitationEvent,
    /// The sessions offered, in start order.
    pub sessions: &'a [OfferedSession],
    pub public_url: &'a str,
    /// Who sent the invitation, for "… invites you".
    pub inviter: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The `.ics` (METHOD:REQUEST) of the sessions offered, made once for a whole batch.
    pub offer_ics: &'a str,
}

/// One invitee's link and expiry.
pub struct Invitee<'a> {
    pub invitation_id: Uuid,
    pub generation: i32,
    pub email: &'a str,
    pub name: &'a str,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub fn invitation_link(public_url: &str, token: &str) -> String {
    format!("{public_url}/invitations/{token}")
}

fn session_line(session: &OfferedSession, event: &InvitationEvent) -> (String, String) {
    let mut when = format_range(session.starts_at, session.ends_at, &event.zone());
    if session.chatham_house {
        when.push_str(" · Chatham House rule");
    }
    (session.title.clone(), when)
}

fn place_line(event: &InvitationEvent) -> Option<(String, String)> {
    match (event.format.as_str(), &event.venue) {
        ("online", _) => Some(("Where".to_owned(), "Online".to_owned())),
        ("hybrid", Some(venue)) => Some(("Where".to_owned(), format!("{venue}, and online"))),
        (_, Some(venue)) => Some(("Where".to_owned(), venue.clone())),
        _ => None,
    }
}

/// The `.ics` of an offer (METHOD:REQUEST) or of confirmed sessions (METHOD:PUBLISH).
pub fn sessions_calendar(
    event: &InvitationEvent,
    sessions: &[&OfferedSession],
    method: CalendarMethod,
    online_url: Option<&str>,
) -> String {
    let entries: Vec<CalendarSession> = sessions
        .iter()
        .map(|s| {
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
                location: event
                    .venue
                    .clone()
                    .or_else(|| online_url.map(str::to_owned)),
                url: online_url.map(str::to_owned),
            }
        })
        .collect();
    calendar_for_sessions(&event.title, &event.timezone, &entries, method)
}

fn offer_body(mail: &InvitationMail<'_>, invitee: &Invitee<'_>, reminder: bool) -> EmailBody {
    let event = mail.event;
    let tz = event.zone();
    let expiry = format_local(invitee.expires_at, &tz);
    let count = mail.sessions.len();
    let sessions_phrase = if count == 1 {
        "the closed session below".to_owned()
    } else {
        format!("the {count} closed sessions below")
    };
    let mut paragraphs = Vec::new();
    if reminder {
        paragraphs.push(format!(
            "This is a reminder of your invitation to {sessions_phrase} of {}. We have not yet \
             received your answer; the invitation expires on {expiry}.",
            event.title
        ));
    } else {
        let who = mail.inviter.map_or_else(
            || "The organisers".to_owned(),
            |n| format!("{n}, for the organisers,"),
        );
        paragraphs.push(format!(
            "{who} invites you to take part in {sessions_phrase} of {}. Attendance is by \
             invitation only.",
            event.title
        ));
    }
    if let Some(message) = mail.message {
        paragraphs.push(format!("A message from the organisers: “{message}”"));
    }
    if mail.sessions.iter().any(|s| s.chatham_house) {
        paragraphs.push(CHATHAM_HOUSE_RULE.to_owned());
    }
    paragraphs.push(format!(
        "Please accept (all or some of the sessions) or decline by {expiry}. A calendar entry \
         for the sessions is attached."
    ));
    let mut details: Vec<(String, String)> = mail
        .sessions
        .iter()
        .map(|s| session_line(s, event))
        .collect();
    details.extend(place_line(event));
    details.push(("Answer by".to_owned(), expiry.clone()));
    EmailBody {
        subject: if reminder {
            format!(
                "Reminder: your invitation to {} expires {}",
                event.title, expiry
            )
        } else {
            format!("Invitation: {}", event.title)
        },
        greeting: format!("Dear {},", invitee.name),
        paragraphs,
        details,
        action: Some(EmailAction {
            label: "Answer the invitation".to_owned(),
            url: invitation_link(mail.public_url, invitee.token),
        }),
        footer: vec![
            "This link is personal: it answers for you, so please do not forward it.".to_owned(),
            format!("It stops working on {expiry}."),
        ],
    }
}

/// The invitation of one invitee; sent again only for a new token generation.
pub fn invitation_email(mail: &InvitationMail<'_>, invitee: &Invitee<'_>) -> OutgoingEmail {
    OutgoingEmail::new(
        "invitation",
        invitee.email,
        Some(invitee.name),
        offer_body(mail, invitee, false),
    )
    .for_event(mail.event.id)
    .dedupe(invitation_email_key(
        invitee.invitation_id,
        invitee.generation,
    ))
    .with_ics(mail.offer_ics.to_owned())
}

/// The reminder of an unanswered invitation, due at `send_at`.
pub fn invitation_reminder_email(
    mail: &InvitationMail<'_>,
    invitee: &Invitee<'_>,
    send_at: DateTime<Utc>,
) -> OutgoingEmail {
    OutgoingEmail::new(
        "invitation_reminder",
        invitee.email,
        Some(invitee.name),
        offer_body(mail, invitee, true),
    )
    .for_event(mail.event.id)
    .dedupe(invitation_reminder_key(
        invitee.invitation_id,
        invitee.generation,
    ))
    .send_at(send_at)
}

/// A session the invitee accepted, with where they landed.
pub struct AcceptedSession<'a> {
    pub session: &'a OfferedSession,
    pub status: RegistrationStatus,
    pub waitlist_position: Option<i64>,
}

pub fn acceptance_email(
    event: &InvitationEvent,
    invitation_id: Uuid,
    email: &str,
    name: &str,
    accepted: &[AcceptedSession<'_>],
) -> OutgoingEmail {
    let confirmed: Vec<&OfferedSession> = accepted
        .iter()
        .filter(|a| a.status == RegistrationStatus::Confirmed)
        .map(|a| a.session)
        .collect();
    let online_url = event
        .online_url
        .as_deref()
        .filter(|_| !confirmed.is_empty());
    let mut paragraphs = vec![format!(
        "Thank you for accepting the invitation to {}.",
        event.title
    )];
    let mut details = Vec::new();
    for a in accepted {
        let (title, mut when) = session_line(a.session, event);
        match a.status {
            RegistrationStatus::Confirmed => when.push_str(" — registered"),
            RegistrationStatus::Waitlisted => when.push_str(&format!(
                " — on the waitlist{}",
                a.waitlist_position
                    .map(|p| format!(" (number {p})"))
                    .unwrap_or_default()
            )),
            other => when.push_str(&format!(" — {other}")),
        }
        details.push((title, when));
    }
    details.extend(place_line(event));
    if accepted
        .iter()
        .any(|a| a.status == RegistrationStatus::Waitlisted)
    {
        paragraphs.push(
            "A session you chose is full, so you are on its waitlist: we will email you as soon \
             as a place opens."
                .to_owned(),
        );
    }
    if let Some(url) = online_url {
        paragraphs.push(format!("To join online, use this link: {url}"));
    }
    if accepted.iter().any(|a| a.session.chatham_house) {
        paragraphs.push(CHATHAM_HOUSE_RULE.to_owned());
    }
    let mut body = EmailBody {
        subject: format!("You're registered: {}", event.title),
        greeting: format!("Dear {name},"),
        paragraphs,
        details,
        footer: vec!["If you can no longer attend, please let the organisers know.".to_owned()],
        ..Default::default()
    };
    if confirmed.is_empty() {
        body.subject = format!("You're on the waitlist: {}", event.title);
    } else {
        body.paragraphs
            .push("A calendar entry for your sessions is attached.".to_owned());
    }
    let mut out = OutgoingEmail::new("invitation_accepted", email, Some(name), body)
        .for_event(event.id)
        .dedupe(format!("invitation-answer:{invitation_id}"));
    if !confirmed.is_empty() {
        out = out.with_ics(sessions_calendar(
            event,
            &confirmed,
            CalendarMethod::Publish,
            online_url,
        ));
    }
    out
}

pub fn decline_email(
    event: &InvitationEvent,
    invitation_id: Uuid,
    email: &str,
    name: &str,
) -> OutgoingEmail {
    let body = EmailBody {
        subject: format!("Thank you for your answer: {}", event.title),
        greeting: format!("Dear {name},"),
        paragraphs: vec![
            format!(
                "Thank you for letting us know that you cannot take part in {}.",
                event.title
            ),
            "We hope to welcome you at a future dialogue of the partnership.".to_owned(),
        ],
        ..Default::default()
    };
    OutgoingEmail::new("invitation_declined", email, Some(name), body)
        .for_event(event.id)
        .dedupe(format!("invitation-answer:{invitation_id}"))
}

pub fn withdrawn_email(
    event: &InvitationEvent,
    invitation_id: Uuid,
    email: &str,
    name: &str,
    had_registrations: bool,
) -> OutgoingEmail {
    let mut paragraphs = vec![format!(
        "The organisers of {} have withdrawn their invitation to you; its link no longer works.",
        event.title
    )];
    if had_registrations {
        paragraphs.push(
            "Your registrations for the sessions of this invitation have been cancelled."
                .to_owned(),
        );
    }
    paragraphs.push("If you think this is a mistake, please contact the organisers.".to_owned());
    let body = EmailBody {
        subject: format!("Invitation withdrawn: {}", event.title),
        greeting: format!("Dear {name},"),
        paragraphs,
        ..Default::default()
    };
    OutgoingEmail::new("invitation_revoked", email, Some(name), body)
        .for_event(event.id)
        .dedupe(format!("invitation-revoked:{invitation_id}"))
}

/// "Your session is tomorrow", due 24 hours before it starts.
pub fn session_reminder_email(
    event: &InvitationEvent,
    session: &OfferedSession,
    registration_id: Uuid,
    email: &str,
    name: &str,
    send_at: DateTime<Utc>,
) -> OutgoingEmail {
    let mut paragraphs = vec![format!(
        "This is a reminder that you are registered for {} of {}, which starts tomorrow.",
        session.title, event.title
    )];
    if let Some(url) = &event.online_url {
        paragraphs.push(format!("To join online, use this link: {url}"));
    }
    if session.chatham_house {
        paragraphs.push(CHATHAM_HOUSE_RULE.to_owned());
    }
    let mut details = vec![session_line(session, event)];
    details.extend(place_line(event));
    let body = EmailBody {
        subject: format!("Tomorrow: {} — {}", session.title, event.title),
        greeting: format!("Dear {name},"),
        paragraphs,
        details,
        footer: vec!["If you can no longer attend, please let the organisers know.".to_owned()],
        ..Default::default()
    };
    OutgoingEmail::new("session_reminder", email, Some(name), body)
        .for_event(event.id)
        .dedupe(session_reminder_key(registration_id))
        .send_at(send_at)
}

/// A waitlisted registrant got the seat a revoked invitation freed.
pub fn promoted_email(
    event: &InvitationEvent,
    session: &OfferedSession,
    registration_id: Uuid,
    email: &str,
    name: &str,
) -> OutgoingEmail {
    let mut paragraphs = vec![format!(
        "Good news: a place has opened in {} of {}, and your registration is now confirmed.",
        session.title, event.title
    )];
    if let Some(url) = &event.online_url {
        paragraphs.push(format!("To join online, use this link: {url}"));
    }
    let mut details = vec![session_line(session, event)];
    details.extend(place_line(event));
    let body = EmailBody {
        subject: format!(
            "Your place is confirmed: {} — {}",
            session.title, event.title
        ),
        greeting: format!("Dear {name},"),
        paragraphs,
        details,
        ..Default::default()
    };
    OutgoingEmail::new("registration_promoted", email, Some(name), body)
        .for_event(event.id)
        .dedupe(format!("registration-promoted:{registration_id}"))
        .with_ics(sessions_calendar(
            event,
            &[session],
            CalendarMethod::Publish,
            event.online_url.as_deref(),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event() -> InvitationEvent {
        InvitationEvent {
            id: Uuid::nil(),
            slug: "japan-2022".into(),
            title: "Japan National Dialogue 2022".into(),
            timezone: "Asia/Tokyo".into(),
            format: "hybrid".into(),
            venue: Some("Waseda University".into()),
            online_url: Some("https://zoom.example/j/1".into()),
            status: "published".into(),
        }
    }

    fn session(chatham_house: bool) -> OfferedSession {
        OfferedSession {
            id: Uuid::now_v7(),
            event_id: Uuid::nil(),
            title: "Closed session I".into(),
            description: None,
            access: "closed".into(),
            starts_at: Utc.with_ymd_and_hms(2022, 2, 18, 0, 30, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2022, 2, 18, 3, 0, 0).unwrap(),
            chatham_house,
        }
    }

    #[test]
    fn invitation_shows_local_times_the_rule_the_message_and_the_link() {
        let event = event();
        let sessions = vec![session(true)];
        let refs: Vec<&OfferedSession> = sessions.iter().collect();
        let ics = sessions_calendar(&event, &refs, CalendarMethod::Request, None);
        let mail = InvitationMail {
            event: &event,
            sessions: &sessions,
            public_url: "https://convene.example",
            inviter: Some("Dr Noel Morada"),
            message: Some("We would value your voice."),
            offer_ics: &ics,
        };
        let invitee = Invitee {
            invitation_id: Uuid::nil(),
            generation: 1,
            email: "hoshino@example.org",
            name: "Prof. Hoshino",
            token: "T0K3N",
            expires_at: Utc.with_ymd_and_hms(2022, 2, 17, 9, 0, 0).unwrap(),
        };
        let rendered = invitation_email(&mail, &invitee)
            .body
            .render()
            .expect("renders");
        assert!(rendered
            .text
            .contains("Fri 18 Feb 2022, 09:30–12:00 JST (Asia/Tokyo)"));
        assert!(rendered.text.contains("Chatham House rule"));
        assert!(rendered.text.contains("We would value your voice."));
        assert!(rendered
            .text
            .contains("https://convene.example/invitations/T0K3N"));
        assert!(rendered.text.contains("Thu 17 Feb 2022, 18:00 JST"));
        assert!(ics.contains("METHOD:REQUEST"));
    }
}
