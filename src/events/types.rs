//! The dialogue's own value types, parsed once at the edge: an IANA time zone, a slug and a
//! point in time. Each `parse` answers a message that the caller files under the field's path
//! in a 422. Country codes and web addresses are the partnership's
//! ([`crate::organizations::CountryCode`], [`crate::organizations::WebsiteUrl`]).

use std::fmt;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;

/// Named here too because the server-rendered pages reach it by this path.
pub use crate::organizations::CountryCode;

/// An IANA time zone name known to chrono-tz (e.g. `Asia/Tokyo`), spelled exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<TimeZone, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("is required (an IANA time zone such as Asia/Tokyo)".to_owned());
        }
        name.parse::<Tz>().map(TimeZone).map_err(|_| {
            format!("`{name}` is not an IANA time zone name (e.g. Asia/Tokyo, Europe/Paris)")
        })
    }

    pub fn tz(&self) -> Tz {
        self.0
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The URL name of an event: lower-case ASCII letters and digits in words joined by single
/// hyphens, at most [`Slug::MAX_LEN`] characters, and never shaped like a UUID (so
/// `/events/{id_or_slug}` is never ambiguous).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Slug, String> {
        let slug = raw.trim();
        if slug.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if slug.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        let words_ok = slug.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !words_ok {
            return Err(
                "may hold only lower-case letters a-z, digits and single hyphens between words"
                    .to_owned(),
            );
        }
        if uuid::Uuid::parse_str(slug).is_ok() {
            return Err("may not look like an id (a UUID)".to_owned());
        }
        Ok(Slug(slug.to_owned()))
    }

    /// The slug a title suggests: transliterated to ASCII (deunicode), lower-cased, words
    /// joined by hyphens, cut at a word boundary. Never empty.
    pub fn from_title(title: &str) -> Slug {
        let ascii = deunicode::deunicode(title).to_lowercase();
        let mut slug = String::new();
        for word in ascii
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            // Leave room for a "-NN" suffix that makes it unique.
            if slug.len() + word.len() + 1 > Self::MAX_LEN - 6 {
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(word);
        }
        if slug.is_empty() || uuid::Uuid::parse_str(&slug).is_ok() {
            slug = if slug.is_empty() {
                "event".to_owned()
            } else {
                format!("event-{slug}")
            };
        }
        Slug(slug)
    }

    /// `base-n`, for the n-th event wanting the same slug.
    pub fn with_suffix(&self, n: u32) -> Slug {
        Slug(format!("{}-{n}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The years a time from a request may fall in. chrono reads signed, many-digit years
/// (`-4714-01-01`) that PostgreSQL cannot store or compare (a 500); no dialogue needs them.
pub const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// `at`, or why it is outside [`SUPPORTED_YEARS`].
pub fn supported(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike as _;
    if SUPPORTED_YEARS.contains(&at.year()) {
        Ok(at)
    } else {
        Err(format!(
            "must be between the years {} and {}",
            SUPPORTED_YEARS.start(),
            SUPPORTED_YEARS.end()
        ))
    }
}

/// A point in time from a request: RFC 3339 with an offset (`2022-02-18T09:30:00+09:00`), or
/// a local wall-clock time without one (`2022-02-18T09:30`), read in the event's time zone.
pub fn parse_instant(raw: &str, zone: Tz) -> Result<DateTime<Utc>, String> {
    let text = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return supported(at.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .ok_or_else(|| format!("`{text}` is not an RFC 3339 time (e.g. 2022-02-18T09:30:00+09:00)"))?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => supported(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(_, _) => Err(format!(
            "`{text}` happens twice in {} (a clock change); give the UTC offset",
            zone.name()
        )),
        LocalResult::None => Err(format!(
            "`{text}` does not exist in {} (a clock change)",
            zone.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZone::parse("Asia/Tokyo").unwrap().name(), "Asia/Tokyo");
        assert_eq!(TimeZone::parse(" UTC ").unwrap().name(), "UTC");
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZone::parse("JST").is_err());
        assert!(TimeZone::parse("+09:00").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn slugs_come_from_titles() {
        assert_eq!(
            Slug::from_title("Japan: First National Dialogue on R2P").as_str(),
            "japan-first-national-dialogue-on-r2p"
        );
        assert_eq!(
            Slug::from_title("Đối thoại quốc gia — Việt Nam 2026").as_str(),
            "doi-thoai-quoc-gia-viet-nam-2026"
        );
        assert_eq!(Slug::from_title("東京").as_str(), "dong-jing");
        assert_eq!(Slug::from_title("!!!").as_str(), "event");
        let long = Slug::from_title(&"word ".repeat(100));
        assert!(long.as_str().len() <= Slug::MAX_LEN - 6);
        assert!(Slug::parse(long.with_suffix(99).as_str()).is_ok());
        assert_eq!(Slug::from_title("a").with_suffix(2).as_str(), "a-2");
    }

    #[test]
    fn slugs_are_checked() {
        assert!(Slug::parse("japan-2022").is_ok());
        for bad in [
            "",
            "Japan",
            "japan--2022",
            "-japan",
            "japan-",
            "japan 2022",
            "ja_pan",
            "0190f3a2-7c4e-7d1a-9b2c-123456789abc",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert!(Slug::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn instants_take_an_offset_or_the_event_zone() {
        let tokyo = chrono_tz::Asia::Tokyo;
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_instant("2022-02-18T09:30:00+09:00", tokyo).unwrap(),
            utc("2022-02-18T00:30:00Z")
        );
        assert_eq!(
            parse_instant("2022-02-18T09:30", tokyo).unwrap(),
            utc("2022-02-18T00:30:00Z")
        );
        assert!(parse_instant("18/02/2022", tokyo).is_err());
        assert!(parse_instant("-4714-01-01T09:30", tokyo).is_err());
        assert!(parse_instant("+262143-01-01T09:30", tokyo).is_err());
        // 02:30 on 29 March 2026 does not exist in Paris.
        assert!(parse_instant("2026-03-29T02:30", chrono_tz::Europe::Paris).is_err());
    }
}
