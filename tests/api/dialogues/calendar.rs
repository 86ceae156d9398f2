//! The calendar feed: public sessions in the event's time zone.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{expect_json, expect_problem, TestApp};

use super::*;

#[tokio::test]
async fn the_calendar_feed_lists_public_sessions_in_the_event_zone() {
    let app = TestApp::spawn().await;
    let lead = app.user("organizer").await;
    let (event_id, _closed_id, public_id) = published_dialogue(&app, &lead).await;
    let res = app
        .get(&format!("/events/{event_id}/calendar.ics"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = res.text().await.unwrap();
    assert!(
        !ics.contains("meet.example.org"),
        "the feed never carries the online link"
    );
    assert!(
        !ics.contains("Closed session"),
        "closed sessions stay out of the feed"
    );

    // Parsed back by a real iCalendar parser.
    let calendar: icalendar::Calendar = ics.parse().expect("a valid iCalendar document");
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1);
    use icalendar::{Component, EventLike};
    let event = events[0];
    assert_eq!(
        event.get_summary(),
        Some("Public seminar: What can Japan do?")
    );
    assert_eq!(
        event.get_uid(),
        Some(format!("{public_id}@convene").as_str())
    );
    match event.get_start() {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => {
            assert_eq!(tzid, "Asia/Tokyo");
            assert_eq!(date_time.to_string(), "2027-02-19 14:00:00");
        }
        other => panic!("start should be local Tokyo time, got {other:?}"),
    }
    let start_utc = match event.get_start() {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
            date_time,
            tzid,
        })) => {
            use chrono::TimeZone;
            let zone: chrono_tz::Tz = tzid.parse().expect("an IANA TZID");
            zone.from_local_datetime(&date_time)
                .single()
                .expect("one instant")
                .with_timezone(&chrono::Utc)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(start_utc.to_rfc3339(), "2027-02-19T05:00:00+00:00");
    assert!(event
        .get_location()
        .is_some_and(|l| l.contains("Sophia University")));
    let raw = icalendar::parser::unfold(&ics);
    let parsed = icalendar::parser::read_calendar(&raw).expect("parses");
    let kinds: Vec<String> = parsed
        .components
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert!(kinds.contains(&"VTIMEZONE".to_owned()), "{kinds:?}");
    assert!(ics.contains("TZOFFSETTO:+0900"));
    assert!(ics.contains("METHOD:PUBLISH"));

    // By slug too; drafts are not found; a cancelled event's feed empties.
    let res = app
        .get("/events/japan-national-dialogue-2027/calendar.ics", None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let draft = new_event(&app, &lead, "Draft").await;
    let res = app
        .get(
            &format!("/events/{}/calendar.ics", draft["id"].as_str().unwrap()),
            None,
        )
        .await;
    expect_problem(res, StatusCode::NOT_FOUND, "not_found").await;
    expect_json(
        app.post(
            &format!("/events/{event_id}/cancel"),
            lead.token(),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let ics = app
        .get(&format!("/events/{event_id}/calendar.ics"), None)
        .await
        .text()
        .await
        .unwrap();
    let calendar: icalendar::Calendar = ics.parse().expect("valid");
    assert_eq!(
        calendar
            .components
            .iter()
            .filter(|c| c.as_event().is_some())
            .count(),
        0
    );
}
