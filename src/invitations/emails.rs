//! The messages of invitations: the invitation itself (with an `.ics` REQUEST of the sessions
//! offered), its reminder, the answer's confirmation and the withdrawal. Every time is in the
//! event's zone; the parts shared with registrations' messages (session times, place, `.ics`,
//! cancel links) come from [`crate::registrations::emails`]. A promotion from the waitlist and
//! the day-before reminder are registrations' messages.
//!
//! Each message is rendered when it is queued, so none depends on state that may change before
//! it is sent; scheduled ones are withdrawn (`mail::outbox::withdraw`) when their cause goes away.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::context::Links;
use crate::events::facts::{EventFacts, SessionFacts};
use crate::events::local_time::format_local;
use crate::invitations::model::{invitation_email_key, invitation_reminder_key};
use crate::mail::EmailKind;
use crate::mail::{EmailAction, EmailBody, OutgoingEmail};
use crate::registrations::emails::{place_line, session_when, CancelLink};
use crate::registrations::model::RegistrationStatus;

/// Named here too because the invitation pages reach it by this path.
pub use crate::events::model::CHATHAM_HOUSE_RULE;

/// What every message about one invitation shares.
pub struct InvitationMail<'a> {
    pub event: &'a EventFacts,
    /// The sessions offered, in start order.
    pub sessions: &'a [SessionFacts],
    pub links: &'a Links,
    /// Who sent the invitation, for "… invites you".
    pub inviter: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The `.ics` (METHOD:PUBLISH) of the sessions offered, made once for a whole batch.
    pub offer_ics: &'a str,
}

/// One invitee's link and expiry.
#[derive(Clone, Copy)]
pub struct Invitee<'a> {
    pub invitation_id: Uuid,
    pub generation: i32,
    pub email: &'a str,
    pub name: &'a str,
    pub token: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// A session's line: its title, and its time in the event's zone.
fn session_line(event: &EventFacts, session: &SessionFacts) -> (String, String) {
    (session.title.clone(), session_when(event, session))
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
        .map(|s| session_line(event, s))
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
            url: mail.links.invitation(invitee.token),
        }),
        footer: vec![
            "This link is personal: it answers for you, so please do not forward it.".to_owned(),
            format!("It stops working on {expiry}."),
        ],
        ..Default::default()
    }
}

/// The invitation of one invitee; sent again only for a new token generation.
pub fn invitation_email(mail: &InvitationMail<'_>, invitee: &Invitee<'_>) -> OutgoingEmail {
    OutgoingEmail::new(
        EmailKind::Invitation,
        invitee.email,
        Some(invitee.name),
        offer_body(mail, invitee, false),
    )
    .for_event(mail.event.id)
    .contact(mail.event.contact())
    .dedupe(invitation_email_key(
        invitee.invitation_id,
        invitee.generation,
    ))
    .with_ics(mail.offer_ics.to_owned())
}

/// What a queued reminder holds where its link's token goes: the worker mints the token when
/// it sends the reminder (`reminders::mint_reminder_links`), so the outbox never holds a
/// usable one while the reminder waits (days, sometimes weeks). Not token-shaped.
pub const LINK_TOKEN_PLACEHOLDER: &str = "LINK_TOKEN_MINTED_AT_SEND_TIME";

/// The outbox kind of an invitation's reminder.
pub const REMINDER_KIND: EmailKind = EmailKind::InvitationReminder;

/// The reminder of an unanswered invitation, due at `send_at`. Its link carries
/// [`LINK_TOKEN_PLACEHOLDER`], never `invitee.token`.
pub fn invitation_reminder_email(
    mail: &InvitationMail<'_>,
    invitee: &Invitee<'_>,
    send_at: DateTime<Utc>,
) -> OutgoingEmail {
    let invitee = Invitee {
        token: LINK_TOKEN_PLACEHOLDER,
        ..*invitee
    };
    OutgoingEmail::new(
        REMINDER_KIND,
        invitee.email,
        Some(invitee.name),
        offer_body(mail, &invitee, true),
    )
    .for_event(mail.event.id)
    .contact(mail.event.contact())
    .dedupe(invitation_reminder_key(
        invitee.invitation_id,
        invitee.generation,
    ))
    .about_invitation(invitee.invitation_id)
    .send_at(send_at)
}

/// A session the invitee accepted, with where they landed and the link that cancels it.
pub struct AcceptedSession<'a> {
    pub session: &'a SessionFacts,
    pub status: RegistrationStatus,
    pub waitlist_position: Option<i64>,
    pub cancel_link: Option<&'a CancelLink>,
}

/// How to join online: the link of each session the invitee holds a confirmed seat in, and of
/// no other (rule 2). One line when they share a link.
fn join_lines(event: &EventFacts, accepted: &[AcceptedSession<'_>]) -> Vec<EmailAction> {
    let links: Vec<(&str, &str)> = accepted
        .iter()
        .filter(|a| a.status == RegistrationStatus::Confirmed)
        .filter_map(|a| Some((a.session.title.as_str(), a.session.online_link(event)?)))
        .collect();
    match links.as_slice() {
        [] => Vec::new(),
        [(_, url), rest @ ..] if rest.iter().all(|(_, other)| other == url) => {
            vec![EmailAction {
                label: "To join online, use this link".to_owned(),
                url: (*url).to_owned(),
            }]
        }
        _ => links
            .iter()
            .map(|(title, url)| EmailAction {
                label: format!("To join “{title}” online, use this link"),
                url: (*url).to_owned(),
            })
            .collect(),
    }
}

/// The confirmation of an acceptance; `ics` is the calendar of the confirmed sessions (none
/// when every chosen session is full).
pub fn acceptance_email(
    event: &EventFacts,
    answer_key: &str,
    email: &str,
    name: &str,
    accepted: &[AcceptedSession<'_>],
    ics: Option<String>,
) -> OutgoingEmail {
    let confirmed = accepted
        .iter()
        .any(|a| a.status == RegistrationStatus::Confirmed);
    let mut paragraphs = vec![format!(
        "Thank you for accepting the invitation to {}.",
        event.title
    )];
    let mut details = Vec::new();
    for a in accepted {
        let (title, mut when) = session_line(event, a.session);
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
    let mut links = join_lines(event, accepted);
    if accepted.iter().any(|a| a.session.chatham_house) {
        paragraphs.push(CHATHAM_HOUSE_RULE.to_owned());
    }
    if confirmed {
        paragraphs.push("A calendar entry for your sessions is attached.".to_owned());
    }
    links.extend(accepted.iter().filter_map(|a| {
        let title = (accepted.len() > 1).then_some(a.session.title.as_str());
        a.cancel_link.map(|link| link.link(a.status, title))
    }));
    let body = EmailBody {
        subject: if confirmed {
            format!("You're registered: {}", event.title)
        } else {
            format!("You're on the waitlist: {}", event.title)
        },
        greeting: format!("Dear {name},"),
        paragraphs,
        details,
        links,
        ..Default::default()
    };
    let out = OutgoingEmail::new(EmailKind::InvitationAccepted, email, Some(name), body)
        .for_event(event.id)
        .contact(event.contact())
        .dedupe(answer_key.to_owned());
    match ics {
        Some(ics) => out.with_ics(ics),
        None => out,
    }
}

/// `answer_key`: each answer (a changed one too) is its own cause.
pub fn decline_email(
    event: &EventFacts,
    answer_key: &str,
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
    OutgoingEmail::new(EmailKind::InvitationDeclined, email, Some(name), body)
        .for_event(event.id)
        .contact(event.contact())
        .dedupe(answer_key.to_owned())
}

pub fn withdrawn_email(
    event: &EventFacts,
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
    paragraphs.push(match event.contact() {
        Some(contact) => format!(
            "If you think this is a mistake, please write to {} at {}.",
            contact.name, contact.email
        ),
        None => "If you think this is a mistake, please contact the organisers.".to_owned(),
    });
    let body = EmailBody {
        subject: format!("Invitation withdrawn: {}", event.title),
        greeting: format!("Dear {name},"),
        paragraphs,
        ..Default::default()
    };
    OutgoingEmail::new(EmailKind::InvitationRevoked, email, Some(name), body)
        .for_event(event.id)
        .contact(event.contact())
        .dedupe(format!("invitation-revoked:{invitation_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::calendar::CalendarMethod;
    use crate::registrations::emails::sessions_calendar;
    use chrono::TimeZone;

    fn event() -> EventFacts {
        EventFacts {
            id: Uuid::nil(),
            slug: "japan-2022".into(),
            title: "Japan National Dialogue 2022".into(),
            timezone: "Asia/Tokyo".into(),
            format: crate::events::model::EventFormat::Hybrid,
            venue: Some("Waseda University".into()),
            online_url: Some("https://zoom.example/j/1".into()),
            status: crate::events::model::EventStatus::Published,
            published_at: Some(Utc::now()),
            contact_name: Some("Dr Noel Morada".into()),
            contact_email: Some("morada@example.org".into()),
        }
    }

    fn session(chatham_house: bool) -> SessionFacts {
        SessionFacts {
            id: Uuid::now_v7(),
            event_id: Uuid::nil(),
            title: "Closed session I".into(),
            description: None,
            access: crate::events::model::SessionAccess::Closed,
            starts_at: Utc.with_ymd_and_hms(2022, 2, 18, 0, 30, 0).unwrap(),
            ends_at: Utc.with_ymd_and_hms(2022, 2, 18, 3, 0, 0).unwrap(),
            capacity: None,
            registration_opens_at: None,
            registration_closes_at: None,
            requires_approval: false,
            waitlist: true,
            chatham_house,
            created_at: Utc.with_ymd_and_hms(2022, 1, 10, 0, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2022, 1, 10, 0, 0, 0).unwrap(),
            online_url: None,
            sequence: 0,
        }
    }

    #[test]
    fn invitation_shows_local_times_the_rule_the_message_and_the_link() {
        let event = event();
        let sessions = vec![session(true)];
        let refs: Vec<&SessionFacts> = sessions.iter().collect();
        let ics = sessions_calendar(&event, &refs, CalendarMethod::Publish, false);
        let mail = InvitationMail {
            event: &event,
            sessions: &sessions,
            links: &Links::new("https://convene.example"),
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
        assert!(ics.contains("METHOD:PUBLISH"));
        assert!(!ics.contains("zoom.example"), "no online link in an offer");
    }
}
