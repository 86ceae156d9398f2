//! Every calendar Convene produces, read back with a strict RFC 5545 reader: one PRODID, only
//! standard properties, METHOD PUBLISH or CANCEL (never a REQUEST without organiser), the same
//! UID per session everywhere, a SEQUENCE that counts changes, times in the event's zone, and a
//! CANCEL each time a session leaves someone's calendar.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::fixtures::{self as fx, wait_for_mail, Dialogue};
use crate::support::smtp::ReceivedMail;
use crate::support::{expect_json, TestApp};

/// One VEVENT as read back.
#[derive(Debug, Clone)]
pub struct Entry {
    pub uid: String,
    pub sequence: u32,
    pub status: Option<String>,
    pub summary: String,
    /// (TZID, value) of DTSTART and DTEND.
    pub start: (Option<String>, String),
    pub end: (Option<String>, String),
}

#[derive(Debug)]
pub struct Ics {
    pub method: String,
    pub entries: Vec<Entry>,
}

impl Ics {
    pub fn entry(&self, session: Uuid) -> &Entry {
        let uid = format!("{session}@convene");
        self.entries
            .iter()
            .find(|e| e.uid == uid)
            .unwrap_or_else(|| panic!("no entry {uid} in {self:?}"))
    }

    pub fn uids(&self) -> Vec<String> {
        let mut uids: Vec<String> = self.entries.iter().map(|e| e.uid.clone()).collect();
        uids.sort();
        uids
    }
}

const CALENDAR_PROPS: &[&str] = &["VERSION", "PRODID", "CALSCALE", "METHOD", "NAME"];
const EVENT_PROPS: &[&str] = &[
    "UID",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "DESCRIPTION",
    "LOCATION",
    "URL",
    "SEQUENCE",
    "STATUS",
];
const TIMEZONE_PROPS: &[&str] = &["TZID", "DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME"];

/// Reads a calendar strictly (RFC 5545 §3.1, §3.4, §3.6, §3.8; RFC 5546 for METHOD), panicking
/// on anything a strict reader refuses; the `icalendar` crate's reader must take it too.
pub fn strict(text: &str) -> Ics {
    // §3.1: lines end in CRLF and are at most 75 octets; a fold starts with a space or tab.
    assert!(text.ends_with("\r\n"), "the last line ends in CRLF");
    let raw: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    for line in &raw {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare LF/CR in {line:?}"
        );
        assert!(line.len() <= 75, "line longer than 75 octets: {line:?}");
    }
    let mut lines: Vec<String> = Vec::new();
    for line in raw {
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            lines
                .last_mut()
                .expect("a fold follows a line")
                .push_str(rest);
        } else {
            lines.push(line.to_owned());
        }
    }
    icalendar::parser::read_calendar(&icalendar::parser::unfold(text))
        .expect("the icalendar crate reads it");

    struct Component {
        name: String,
        props: Vec<(String, HashMap<String, String>, String)>,
    }
    let mut stack: Vec<Component> = Vec::new();
    let mut done: Vec<Component> = Vec::new();
    let mut calendars = 0;
    for line in &lines {
        let colon = line
            .find(':')
            .unwrap_or_else(|| panic!("no ':' in {line:?}"));
        let (head, value) = (&line[..colon], &line[colon + 1..]);
        let mut parts = head.split(';');
        let name = parts.next().unwrap().to_owned();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
            "property name {name:?}"
        );
        assert!(!name.starts_with("X-"), "non-standard property {name}");
        let params: HashMap<String, String> = parts
            .map(|p| {
                let (k, v) = p
                    .split_once('=')
                    .unwrap_or_else(|| panic!("parameter {p:?}"));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        match name.as_str() {
            "BEGIN" => {
                if value == "VCALENDAR" {
                    assert!(stack.is_empty(), "VCALENDAR nested");
                    calendars += 1;
                } else {
                    assert!(!stack.is_empty(), "{value} outside VCALENDAR");
                }
                stack.push(Component {
                    name: value.to_owned(),
                    props: Vec::new(),
                });
            }
            "END" => {
                let c = stack.pop().expect("END without BEGIN");
                assert_eq!(c.name, value, "END does not match BEGIN");
                done.push(c);
            }
            _ => stack
                .last_mut()
                .expect("a property outside any component")
                .props
                .push((name, params, value.to_owned())),
        }
    }
    assert!(stack.is_empty(), "unclosed components");
    assert_eq!(calendars, 1, "one VCALENDAR");

    let once = |c: &Component, name: &str| -> String {
        let found: Vec<&String> = c
            .props
            .iter()
            .filter(|p| p.0 == name)
            .map(|p| &p.2)
            .collect();
        assert_eq!(found.len(), 1, "{name} exactly once in {}", c.name);
        found[0].clone()
    };
    let at_most_once = |c: &Component, name: &str| {
        assert!(
            c.props.iter().filter(|p| p.0 == name).count() <= 1,
            "{name} more than once in {}",
            c.name
        );
    };
    let calendar = done.iter().find(|c| c.name == "VCALENDAR").unwrap();
    for (name, _, _) in &calendar.props {
        assert!(
            CALENDAR_PROPS.contains(&name.as_str()),
            "calendar property {name}"
        );
    }
    assert_eq!(once(calendar, "VERSION"), "2.0");
    assert_eq!(once(calendar, "PRODID"), "-//APPAP//Convene//EN");
    let method = once(calendar, "METHOD");
    assert!(
        ["PUBLISH", "CANCEL"].contains(&method.as_str()),
        "METHOD {method}: a REQUEST needs ORGANIZER and ATTENDEE"
    );
    at_most_once(calendar, "CALSCALE");

    let zones: Vec<String> = done
        .iter()
        .filter(|c| c.name == "VTIMEZONE")
        .map(|z| once(z, "TZID"))
        .collect();
    for c in &done {
        match c.name.as_str() {
            "VCALENDAR" | "VEVENT" | "VTIMEZONE" => {}
            "STANDARD" | "DAYLIGHT" => {
                for (name, _, _) in &c.props {
                    assert!(
                        TIMEZONE_PROPS.contains(&name.as_str()),
                        "{name} in {}",
                        c.name
                    );
                }
                once(c, "DTSTART");
                once(c, "TZOFFSETFROM");
                once(c, "TZOFFSETTO");
            }
            other => panic!("unexpected component {other}"),
        }
    }

    let time = |c: &Component, name: &str| -> (Option<String>, String) {
        once(c, name);
        let (_, params, value) = c.props.iter().find(|p| p.0 == name).unwrap();
        let tzid = params.get("TZID").cloned();
        let digits = value.trim_end_matches('Z');
        assert!(
            digits.len() == 15 && digits.as_bytes()[8] == b'T',
            "{name} is a DATE-TIME: {value}"
        );
        match &tzid {
            Some(tz) => {
                assert!(!value.ends_with('Z'), "{name} with TZID is local");
                assert!(zones.contains(tz), "{name}'s TZID {tz} has a VTIMEZONE");
            }
            None => assert!(value.ends_with('Z'), "{name} without TZID is UTC"),
        }
        (tzid, value.clone())
    };
    let entries = done
        .iter()
        .filter(|c| c.name == "VEVENT")
        .map(|c| {
            for (name, _, _) in &c.props {
                assert!(
                    EVENT_PROPS.contains(&name.as_str()),
                    "event property {name}"
                );
            }
            for name in [
                "SEQUENCE",
                "STATUS",
                "SUMMARY",
                "DESCRIPTION",
                "LOCATION",
                "URL",
            ] {
                at_most_once(c, name);
            }
            once(c, "DTSTAMP");
            let prop = |name: &str| c.props.iter().find(|p| p.0 == name).map(|p| p.2.clone());
            Entry {
                uid: once(c, "UID"),
                sequence: prop("SEQUENCE")
                    .map_or(0, |s| s.parse().expect("SEQUENCE is an integer")),
                status: prop("STATUS"),
                summary: prop("SUMMARY").unwrap_or_default(),
                start: time(c, "DTSTART"),
                end: time(c, "DTEND"),
            }
        })
        .collect::<Vec<_>>();
    if method == "CANCEL" {
        for e in &entries {
            assert_eq!(e.status.as_deref(), Some("CANCELLED"), "a CANCEL's entries");
        }
    }
    Ics { method, entries }
}

/// The calendar attached to a message, read strictly.
pub fn ics_of(mail: &ReceivedMail) -> Ics {
    let text = mail
        .attachments()
        .into_iter()
        .find(|(content_type, _)| content_type == "text/calendar")
        .map(|(_, content)| content)
        .unwrap_or_else(|| panic!("no text/calendar attachment in {}", mail.subject()));
    strict(&text)
}

/// `at` in Tokyo, as a DATE-TIME with TZID=Asia/Tokyo says it.
pub fn tokyo(at: DateTime<Utc>) -> (Option<String>, String) {
    (
        Some("Asia/Tokyo".to_owned()),
        at.with_timezone(&chrono_tz::Asia::Tokyo)
            .format("%Y%m%dT%H%M%S")
            .to_string(),
    )
}

pub async fn invite(app: &TestApp, d: &Dialogue, sessions: &[Uuid], email: &str) -> Uuid {
    let body = expect_json(
        app.post(
            &format!("/events/{}/invitations", d.event_id),
            d.staff.token(),
            json!({"session_ids": sessions, "invitees": [{"email": email, "name": "Dr Invitee"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    body["invitations"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The token of the newest invitation link emailed to `to`.
pub async fn token_for(app: &TestApp, to: &str) -> String {
    let mail = wait_for_mail(app, to, "Invitation:").await;
    let prefix = format!("{}/invitations/", app.settings.public_url());
    let link = mail.first_link(&prefix).expect("an invitation link");
    link[prefix.len()..].to_owned()
}

pub async fn respond(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post(
        &format!("/invitations/by-token/{token}/respond"),
        None,
        body,
    )
    .await
}

async fn feed(app: &TestApp, d: &Dialogue) -> Ics {
    let res = app
        .get(&format!("/events/{}/calendar.ics", d.event_id), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    strict(&res.text().await.unwrap())
}

// -------------------------------------------------------------------------------------------

#[tokio::test]
async fn offers_confirmations_and_the_feed_are_strict_publish_calendars_in_the_events_zone() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let to = "strict@example.org";
    invite(&app, &d, &d.closed, to).await;
    let offer = ics_of(&wait_for_mail(&app, to, "Invitation:").await);
    assert_eq!(
        offer.method, "PUBLISH",
        "answers come through Convene's link"
    );
    assert_eq!(offer.entries.len(), 2);
    for (i, session) in d.closed.iter().enumerate() {
        let entry = offer.entry(*session);
        assert_eq!(entry.start, tokyo(d.starts[i]), "local time in Tokyo");
        assert_eq!(entry.end, tokyo(d.starts[i] + chrono::Duration::hours(2)));
        assert_eq!(entry.sequence, 0);
        assert!(entry.summary.starts_with("Closed session"), "{entry:?}");
    }

    let token = token_for(&app, to).await;
    expect_json(
        respond(&app, &token, json!({"response": "accept"})).await,
        StatusCode::OK,
    )
    .await;
    let seats = ics_of(&wait_for_mail(&app, to, "You're registered").await);
    assert_eq!(seats.method, "PUBLISH");
    assert_eq!(
        seats.uids(),
        offer.uids(),
        "the same UIDs replace the offer's entries"
    );

    let public = feed(&app, &d).await;
    assert_eq!(public.method, "PUBLISH");
    assert_eq!(public.entries.len(), 1, "the public session only");
    assert_eq!(public.entries[0].uid, format!("{}@convene", d.public));
}

#[tokio::test]
async fn sequence_counts_every_change_calendars_show_even_within_one_second() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    assert_eq!(feed(&app, &d).await.entry(d.public).sequence, 0);
    for title in ["Public seminar: moved", "Public seminar: renamed"] {
        expect_json(
            app.patch(
                &format!("/sessions/{}", d.public),
                d.staff.token(),
                json!({"title": title}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    assert_eq!(feed(&app, &d).await.entry(d.public).sequence, 2);
    // A change calendars do not show (the capacity) leaves it.
    expect_json(
        app.patch(
            &format!("/sessions/{}", d.public),
            d.staff.token(),
            json!({"capacity": 500}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(feed(&app, &d).await.entry(d.public).sequence, 2);
}

#[tokio::test]
async fn declining_sends_a_cancel_of_the_offered_sessions_with_a_higher_sequence() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let to = "decliner@example.org";
    invite(&app, &d, &d.closed, to).await;
    let offer = ics_of(&wait_for_mail(&app, to, "Invitation:").await);
    let token = token_for(&app, to).await;
    expect_json(
        respond(&app, &token, json!({"response": "decline"})).await,
        StatusCode::OK,
    )
    .await;
    let cancel = ics_of(&wait_for_mail(&app, to, "Thank you for your answer").await);
    assert_eq!(cancel.method, "CANCEL");
    assert_eq!(cancel.uids(), offer.uids());
    for (i, session) in d.closed.iter().enumerate() {
        let entry = cancel.entry(*session);
        assert!(entry.sequence > offer.entry(*session).sequence);
        assert_eq!(entry.start, tokyo(d.starts[i]));
    }
}

#[tokio::test]
async fn a_revoked_invitation_and_a_cancelled_registration_leave_the_calendar() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let (revoked, cancelled) = ("revoked@example.org", "cancelled@example.org");
    let invitation = invite(&app, &d, &d.closed, revoked).await;
    invite(&app, &d, &d.closed, cancelled).await;
    for to in [revoked, cancelled] {
        let token = token_for(&app, to).await;
        expect_json(
            respond(&app, &token, json!({"response": "accept"})).await,
            StatusCode::OK,
        )
        .await;
    }
    let held = ics_of(&wait_for_mail(&app, revoked, "You're registered").await);

    expect_json(
        app.post(
            &format!("/invitations/{invitation}/revoke"),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let cancel = ics_of(&wait_for_mail(&app, revoked, "Invitation withdrawn").await);
    assert_eq!(cancel.method, "CANCEL");
    assert_eq!(cancel.uids(), held.uids());
    for e in &cancel.entries {
        let before = held.entries.iter().find(|h| h.uid == e.uid).unwrap();
        assert!(e.sequence > before.sequence, "{e:?} after {before:?}");
    }

    let registration = fx::text(
        &app,
        &format!(
            "SELECT r.id::text AS v FROM registrations r JOIN people p ON p.id = r.person_id \
             WHERE p.email = '{cancelled}' AND r.session_id = '{}'",
            d.closed[0]
        ),
    )
    .await
    .unwrap();
    let res = app
        .delete(&format!("/registrations/{registration}"), d.staff.token())
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let cancel = ics_of(&wait_for_mail(&app, cancelled, "Your registration was cancelled").await);
    assert_eq!(cancel.method, "CANCEL");
    assert_eq!(cancel.uids(), vec![format!("{}@convene", d.closed[0])]);
    assert!(cancel.entries[0].sequence > held.entry(d.closed[0]).sequence);
}

#[tokio::test]
async fn a_cancelled_event_and_a_deleted_session_leave_the_calendar() {
    let app = TestApp::spawn().await;
    let d = fx::dialogue(&app).await;
    let (pending, accepted) = ("pending@example.org", "accepted@example.org");
    invite(&app, &d, &d.closed, pending).await;
    invite(&app, &d, &d.closed, accepted).await;
    let token = token_for(&app, accepted).await;
    expect_json(
        respond(
            &app,
            &token,
            json!({"response": "accept", "session_ids": [d.closed[0]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // Accepting only some: the others leave, in a message of their own.
    let narrowed = ics_of(&wait_for_mail(&app, accepted, "Calendar update").await);
    assert_eq!(narrowed.method, "CANCEL");
    assert_eq!(narrowed.uids(), vec![format!("{}@convene", d.closed[1])]);

    // The second session is deleted (nobody holds a seat): the pending invitee is told.
    let res = app
        .delete(&format!("/sessions/{}", d.closed[1]), d.staff.token())
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let deleted = ics_of(&wait_for_mail(&app, pending, "Calendar update").await);
    assert_eq!(deleted.method, "CANCEL");
    assert_eq!(deleted.uids(), vec![format!("{}@convene", d.closed[1])]);

    expect_json(
        app.post(
            &format!("/events/{}/cancel", d.event_id),
            d.staff.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for to in [pending, accepted] {
        let cancel = ics_of(&wait_for_mail(&app, to, "Cancelled:").await);
        assert_eq!(cancel.method, "CANCEL");
        assert!(cancel.uids().contains(&format!("{}@convene", d.closed[0])));
        assert!(cancel.entry(d.closed[0]).sequence > 0);
    }
}
