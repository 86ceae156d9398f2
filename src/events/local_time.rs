//! Times are stored in UTC and shown in the event's own time zone (rule 7).

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

/// "Fri 18 Feb 2022, 09:30 JST"
pub fn format_local(at: DateTime<Utc>, tz: &Tz) -> String {
    at.with_timezone(tz)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// "Fri 18 Feb 2022, 09:30–12:00 JST (Asia/Tokyo)"; the end carries its date when it differs.
/// Each time is labelled with the abbreviation in force on its own date: across a clock change
/// the start gets its own ("Sat 4 Oct 2025, 10:00 AEST–Mon 6 Oct 2025, 12:00 AEDT").
pub fn format_range(start: DateTime<Utc>, end: DateTime<Utc>, tz: &Tz) -> String {
    let (s, e) = (start.with_timezone(tz), end.with_timezone(tz));
    let end_part = if s.date_naive() == e.date_naive() {
        e.format("%H:%M %Z").to_string()
    } else {
        e.format("%a %-d %b %Y, %H:%M %Z").to_string()
    };
    let start_part = if s.offset() == e.offset() {
        s.format("%a %-d %b %Y, %H:%M").to_string()
    } else {
        s.format("%a %-d %b %Y, %H:%M %Z").to_string()
    };
    format!("{start_part}–{end_part} ({})", tz.name())
}

/// `at` in `zone`, as RFC 3339 with the zone's offset: "2022-02-18T09:30:00+09:00".
pub fn local_rfc3339(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Parses a stored IANA zone name; stored names were checked on the way in, so an unknown one
/// falls back to UTC rather than failing a page or an email.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn each_time_carries_the_abbreviation_of_its_own_date() {
        let sydney = chrono_tz::Australia::Sydney;
        // Daylight saving starts in Sydney on Sunday 5 October 2025.
        let start = sydney.with_ymd_and_hms(2025, 10, 4, 10, 0, 0).unwrap();
        let end = sydney.with_ymd_and_hms(2025, 10, 6, 12, 0, 0).unwrap();
        assert_eq!(
            format_range(start.to_utc(), end.to_utc(), &sydney),
            "Sat 4 Oct 2025, 10:00 AEST–Mon 6 Oct 2025, 12:00 AEDT (Australia/Sydney)"
        );
        let summer = sydney.with_ymd_and_hms(2025, 12, 1, 10, 0, 0).unwrap();
        assert_eq!(
            format_local(summer.to_utc(), &sydney),
            "Mon 1 Dec 2025, 10:00 AEDT"
        );
        let summer_end = sydney.with_ymd_and_hms(2025, 12, 1, 12, 0, 0).unwrap();
        assert_eq!(
            format_range(summer.to_utc(), summer_end.to_utc(), &sydney),
            "Mon 1 Dec 2025, 10:00–12:00 AEDT (Australia/Sydney)"
        );
    }

    #[test]
    fn shows_tokyo_time() {
        let start = Utc.with_ymd_and_hms(2022, 2, 18, 0, 30, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2022, 2, 18, 3, 0, 0).unwrap();
        assert_eq!(
            format_range(start, end, &chrono_tz::Asia::Tokyo),
            "Fri 18 Feb 2022, 09:30–12:00 JST (Asia/Tokyo)"
        );
        assert_eq!(
            format_local(start, &chrono_tz::Asia::Tokyo),
            "Fri 18 Feb 2022, 09:30 JST"
        );
    }

    #[test]
    fn local_times_carry_the_offset() {
        let at = DateTime::parse_from_rfc3339("2022-02-18T00:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            local_rfc3339(at, chrono_tz::Asia::Tokyo),
            "2022-02-18T09:30:00+09:00"
        );
    }
}
