//! The dialogue's types at the API's edge: its own value types, parsed once (an IANA time
//! zone, a slug and a point in time), the request bodies the API reads and the views it
//! answers. Each `parse` answers a message that the caller files under the field's path in a
//! 422. Country codes and web addresses are the partnership's
//! ([`crate::organizations::CountryCode`], [`crate::organizations::WebsiteUrl`]). Table rows
//! are in [`crate::events::model`].

use std::fmt;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::events::model::{
    EventFormat, EventStatus, PartnerRole, Series, SessionAccess, Speaker, SpeakerRole,
};

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

// --- Views --------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesView {
    pub id: Uuid,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl From<Series> for SeriesView {
    fn from(s: Series) -> Self {
        SeriesView {
            id: s.id,
            name: s.name,
            country: s.country,
            description: s.description,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerView {
    pub organization_id: Uuid,
    pub name: String,
    pub short_name: Option<String>,
    pub role: PartnerRole,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpeakerView {
    pub id: Uuid,
    /// As shown, with the honorific: "Prof. Toshiya Hoshino".
    pub name: String,
    pub role: SpeakerRole,
    /// Affiliation as shown.
    pub organization: Option<String>,
    /// Order of appearance within the session.
    pub order: i32,
}

impl From<&Speaker> for SpeakerView {
    fn from(s: &Speaker) -> Self {
        SpeakerView {
            id: s.id,
            name: s.name.clone(),
            role: s.role,
            organization: s.organization.clone(),
            order: s.sort_order,
        }
    }
}

/// A session. The public and non-staff see a closed session's `id`, `title`, `access`,
/// `starts_at` and `ends_at` only: every other key is absent (rule 2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub access: SessionAccess,
    /// UTC.
    pub starts_at: DateTime<Utc>,
    /// UTC.
    pub ends_at: DateTime<Utc>,
    /// The start in the event's time zone, with its offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub starts_at_local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub ends_at_local: Option<String>,
    /// Seats; null means unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i32>)]
    pub capacity: Option<Option<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<Option<DateTime<Utc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_approval: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chatham_house: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<SpeakerView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_count: Option<i64>,
    /// The link that joins the session online: its own, else for a public session the event's
    /// `online_url`. Present only for the session's confirmed seat holders, its event's staff
    /// and admins (rule 2); null when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffView {
    pub account_id: Uuid,
    /// Null while the account's address is not verified.
    pub person_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    /// The account that created the event.
    pub lead: bool,
}

/// An event. `online_url`, the default link of its public sessions, is present only for staff,
/// admins and people holding a confirmed seat in one of its public sessions (each session's
/// own link is on the session); `staff` only for staff and admins.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub series_id: Option<Uuid>,
    pub country: Option<String>,
    /// IANA time zone; session times are UTC and shown in this zone.
    pub timezone: String,
    pub format: EventFormat,
    pub venue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
    /// Whom participants write to about the event (shown on its page, the Reply-To of its
    /// emails): both or neither.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub status: EventStatus,
    pub partners: Vec<PartnerView>,
    pub sessions: Vec<SessionView>,
    /// Start of the first session (UTC), if any.
    pub starts_at: Option<DateTime<Utc>>,
    /// End of the last session (UTC), if any.
    pub ends_at: Option<DateTime<Utc>>,
    /// The public page.
    pub page_url: String,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<Vec<StaffView>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeView {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The session it reports on; null for the whole event.
    pub session_id: Option<Uuid>,
    pub session_title: Option<String>,
    pub title: String,
    pub body_markdown: String,
    /// The Markdown rendered to sanitised HTML.
    pub body_html: String,
    pub published: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether the Chatham House rule covers it: then nothing is attributed.
    pub chatham_house: bool,
    /// The session's speakers, for outcomes of sessions on the record; absent for Chatham
    /// House sessions and for outcomes of the whole event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speakers: Option<Vec<SpeakerView>>,
}

// --- Requests -----------------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SeriesRequest {
    pub name: Option<String>,
    pub country: Option<String>,
    pub description: Option<String>,
}

/// A new event. Required: `title`, `timezone`, `format`; `venue` for in-person and hybrid
/// events, `online_url` for online and hybrid ones. `slug` is made from the title when absent;
/// `country` defaults to the series' country.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct EventRequest {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub summary: Option<String>,
    #[schema(value_type = Option<Uuid>)]
    pub series_id: Option<String>,
    pub country: Option<String>,
    #[schema(example = "Asia/Tokyo")]
    pub timezone: Option<String>,
    #[schema(value_type = Option<EventFormat>)]
    pub format: Option<String>,
    pub venue: Option<String>,
    pub online_url: Option<String>,
    /// Whom participants write to about the event; given together with `contact_email`.
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
}

/// A partial update: absent keys stay as they are, `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct EventPatch {
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub slug: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub series_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<EventFormat>)]
    pub format: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub venue: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub contact_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
}

/// A new session. Times are RFC 3339 (UTC or with an offset), or local wall-clock times
/// (`2022-02-18T09:30`) read in the event's time zone. `chatham_house` defaults to true for
/// closed sessions and false for public ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<SessionAccess>)]
    pub access: Option<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<String>,
    /// Null or absent: unlimited.
    pub capacity: Option<i64>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<String>,
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<String>,
    pub requires_approval: Option<bool>,
    pub waitlist: Option<bool>,
    pub chatham_house: Option<bool>,
    /// The session's own link (http or https). Absent or null: none of its own, so a public
    /// session uses the event's `online_url` and a closed one has no link.
    pub online_url: Option<String>,
}

/// A partial update of a session: absent keys stay, `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SessionPatch {
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<SessionAccess>)]
    pub access: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<i64>)]
    pub capacity: Option<Option<i64>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_opens_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub registration_closes_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<bool>)]
    pub requires_approval: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<bool>)]
    pub waitlist: Option<Option<bool>>,
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<bool>)]
    pub chatham_house: Option<Option<bool>>,
    /// `null` removes the session's own link.
    #[serde(default, deserialize_with = "crate::patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub online_url: Option<Option<String>>,
}

/// A speaker: a known person (`person_id`; name and affiliation are taken from their record
/// unless given), or a `name` with an optional `organization`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SpeakerRequest {
    #[schema(value_type = Option<Uuid>)]
    pub person_id: Option<String>,
    pub name: Option<String>,
    pub organization: Option<String>,
    #[schema(value_type = Option<SpeakerRole>)]
    pub role: Option<String>,
    /// Order of appearance; after the last speaker when absent.
    pub order: Option<i32>,
}

/// Which way a speaker moves in the order of appearance.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SpeakerMove {
    /// `up` (earlier) or `down` (later).
    #[schema(example = "up")]
    pub direction: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PartnerRequest {
    #[schema(value_type = Option<Uuid>)]
    pub organization_id: Option<String>,
    #[schema(value_type = Option<PartnerRole>)]
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StaffRequest {
    #[schema(value_type = Option<Uuid>)]
    pub account_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OutcomeRequest {
    pub title: Option<String>,
    /// Markdown; rendered to sanitised HTML.
    pub body_markdown: Option<String>,
    /// The session it reports on (of this event); absent for the whole event.
    #[schema(value_type = Option<Uuid>)]
    pub session_id: Option<String>,
    /// Publish at once (default false: a draft only staff see).
    pub publish: Option<bool>,
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
