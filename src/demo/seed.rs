//! The demo data of `data/demo.toml`, read with serde: the first Japan National Dialogue on
//! R2P and Atrocities Prevention (18 February 2022) as APR2P's report tells it, a fictional
//! upcoming edition and a few demo people. The file says what its values mean; the tests below
//! hold it to the domain's rules.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::events::model::{EventFormat, EventStatus, PartnerRole, SessionAccess, SpeakerRole};
use crate::organizations::model::OrganizationKind;

/// Honorifics used by the seed people and speakers.
pub const HONORIFICS: &[&str] = &["Prof.", "Dr", "Mr.", "Ms."];

/// Everything `data/demo.toml` holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub series: SeedSeries,
    pub organizations: Vec<SeedOrganization>,
    pub people: Vec<SeedPerson>,
    pub events: Vec<SeedEvent>,
}

/// A member (or named) organisation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrganization {
    pub name: String,
    /// Acronym or usual short form; `None` when the name is used as is.
    pub short_name: Option<String>,
    pub kind: OrganizationKind,
    /// ISO 3166-1 alpha-2; `None` only for bodies without a single country.
    pub country: Option<String>,
    /// Official website; `None` where not known with confidence.
    pub website: Option<String>,
}

/// A recurring dialogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSeries {
    pub name: String,
    pub country: String,
    pub description: String,
}

/// An organisation's part in an event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPartner {
    /// Short name, or name when it has none, of an organisation of the seed.
    pub organization: String,
    pub role: PartnerRole,
}

/// A speaker of a session.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSpeaker {
    /// One of [`HONORIFICS`].
    pub honorific: String,
    /// Full name; the same person is among the seed's people under this name.
    pub name: String,
    /// Name or short name of an organisation of the seed, as the report gives the affiliation.
    pub organization: String,
    /// Position and affiliation in full, as the report gives them.
    pub position: String,
    pub role: SpeakerRole,
    /// 1-based order of appearance within the session.
    pub order: i32,
}

/// A session of an event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSession {
    pub title: String,
    pub description: String,
    pub access: SessionAccess,
    /// Local time in the event's time zone, `YYYY-MM-DDTHH:MM`.
    pub starts_at: String,
    /// Local time in the event's time zone, `YYYY-MM-DDTHH:MM`.
    pub ends_at: String,
    /// `None` = unlimited.
    pub capacity: Option<i32>,
    pub chatham_house: bool,
    #[serde(default)]
    pub speakers: Vec<SeedSpeaker>,
    /// Outcomes, one short paragraph each; unattributed for closed sessions.
    #[serde(default)]
    pub highlights: Vec<String>,
}

/// Whom participants write to about an event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedContact {
    pub name: String,
    pub email: String,
}

/// One edition of the series.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEvent {
    pub title: String,
    pub slug: String,
    pub summary: String,
    pub country: String,
    /// IANA time zone of the event; session times are local to it.
    pub timezone: String,
    pub format: EventFormat,
    pub venue: Option<String>,
    pub online_url: Option<String>,
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    /// "completed" for a past edition, "published" for an upcoming one.
    pub status: EventStatus,
    pub partners: Vec<SeedPartner>,
    pub sessions: Vec<SeedSession>,
    pub contact: SeedContact,
}

/// A contact, for invitations and speaker records.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPerson {
    /// One of [`HONORIFICS`].
    pub honorific: String,
    pub name: String,
    /// Unique, lower case, always at example.org.
    pub email: String,
    pub position: String,
    /// Short name, or name when it has none, of an organisation of the seed.
    pub organization: String,
    /// Whether the person is the organisation's focal point (demo assumption).
    pub focal_point: bool,
}

/// The seed, parsed once. The file is compiled in, so a release binary carries it; the tests
/// below parse it, so a mistake in it fails the build's tests, never a `convene demo`.
pub fn seed() -> &'static Seed {
    static SEED: LazyLock<Seed> = LazyLock::new(|| {
        toml::from_str(include_str!("../../data/demo.toml")).expect("data/demo.toml parses")
    });
    &SEED
}

/// The organisation whose short name or name is `key`.
pub fn find_organization(key: &str) -> Option<&'static SeedOrganization> {
    seed()
        .organizations
        .iter()
        .find(|o| o.name == key || o.short_name.as_deref() == Some(key))
}

/// The seed person named `name`.
pub fn find_person(name: &str) -> Option<&'static SeedPerson> {
    seed().people.iter().find(|p| p.name == name)
}

/// The seed event with this slug.
pub fn find_event(slug: &str) -> Option<&'static SeedEvent> {
    seed().events.iter().find(|e| e.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations::CountryCode;

    const JAPAN_2022: &str = "japan-national-dialogue-2022";
    const JAPAN_2027: &str = "japan-national-dialogue-2027";

    fn is_country(code: &str) -> bool {
        CountryCode::parse(code).is_ok_and(|c| c.as_str() == code)
    }

    fn number(s: &str) -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    /// `YYYY-MM-DD`, roughly valid.
    fn is_date(s: &str) -> bool {
        let b = s.as_bytes();
        s.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && number(&s[0..4]).is_some()
            && number(&s[5..7]).is_some_and(|m| (1..=12).contains(&m))
            && number(&s[8..10]).is_some_and(|d| (1..=31).contains(&d))
    }

    /// `YYYY-MM-DDTHH:MM`, roughly valid.
    fn is_local_time(s: &str) -> bool {
        let b = s.as_bytes();
        s.len() == 16
            && is_date(&s[0..10])
            && b[10] == b'T'
            && b[13] == b':'
            && number(&s[11..13]).is_some_and(|h| h < 24)
            && number(&s[14..16]).is_some_and(|m| m < 60)
    }

    #[test]
    fn organisations_are_well_formed() {
        for o in &seed().organizations {
            match o.country.as_deref() {
                Some(c) => assert!(is_country(c), "country of {}", o.name),
                None => assert!(
                    matches!(
                        o.kind,
                        OrganizationKind::RegionalOrganization
                            | OrganizationKind::InternationalOrganization
                            | OrganizationKind::Other
                    ),
                    "{} has no country but is {}",
                    o.name,
                    o.kind
                ),
            }
            if let Some(w) = &o.website {
                assert!(w.starts_with("https://") && w.ends_with('/'), "{w}");
            }
            assert!(!o.name.trim().is_empty());
        }
        assert!(seed()
            .organizations
            .iter()
            .any(|o| o.kind == OrganizationKind::RegionalOrganization && o.country.is_none()));
    }

    #[test]
    fn organisation_keys_are_unambiguous() {
        let mut keys: Vec<&str> = seed()
            .organizations
            .iter()
            .flat_map(|o| std::iter::once(o.name.as_str()).chain(o.short_name.as_deref()))
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "a name or short name is used twice");
    }

    #[test]
    fn required_organisations_are_present() {
        for key in [
            "MOFA",
            "NIDS",
            "JICA",
            "JICA Ogata Research Institute",
            "IDE-JETRO",
            "JIIA",
            "JICS",
            "GPAJ",
            "SIIR",
            "APR2P",
            "R2P Network of Japan",
            "AHC",
            "DFAT",
            "Australian Embassy in Tokyo",
            "ASEAN",
            "APPAP",
            "Osaka University",
            "Sophia University",
            "Waseda University",
            "Kyoto University of the Arts",
            "J. F. Oberlin University",
            "The University of Queensland",
        ] {
            assert!(find_organization(key).is_some(), "missing {key}");
        }
        assert_eq!(
            find_organization("JIIA").unwrap().kind.as_str(),
            "think_tank"
        );
        assert_eq!(
            find_organization("JICA").unwrap().kind.as_str(),
            "government"
        );
        assert_eq!(find_organization("AHC").unwrap().kind.as_str(), "academia");
        assert_eq!(
            find_organization("DFAT").unwrap().country.as_deref(),
            Some("AU")
        );
        assert_eq!(
            find_organization("APR2P").unwrap().country.as_deref(),
            Some("AU")
        );
    }

    #[test]
    fn series_is_well_formed() {
        assert!(is_country(&seed().series.country));
        assert!(!seed().series.description.is_empty());
    }

    #[test]
    fn events_are_well_formed() {
        for e in &seed().events {
            assert!(is_country(&e.country));
            assert_eq!(e.country, seed().series.country);
            assert_eq!(e.timezone, "Asia/Tokyo");
            assert!(is_date(&e.date), "{}", e.date);
            assert!(matches!(
                e.status,
                EventStatus::Completed | EventStatus::Published
            ));
            assert!(e
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(!e.summary.is_empty() && !e.title.is_empty());
            match e.format {
                EventFormat::Online => assert!(e.venue.is_none() && e.online_url.is_some()),
                EventFormat::Hybrid => assert!(e.venue.is_some() && e.online_url.is_some()),
                _ => assert!(e.venue.is_some()),
            }
            assert!(!e.partners.is_empty());
            for p in &e.partners {
                assert!(
                    find_organization(&p.organization).is_some(),
                    "{}",
                    p.organization
                );
            }
            assert_eq!(
                e.partners
                    .iter()
                    .filter(|p| p.role == PartnerRole::Organizer)
                    .count(),
                1
            );
            assert!(!e.sessions.is_empty());
            for s in &e.sessions {
                assert!(!s.title.is_empty() && !s.description.is_empty());
                assert!(is_local_time(&s.starts_at), "{}", s.starts_at);
                assert!(is_local_time(&s.ends_at), "{}", s.ends_at);
                // Same format, so the strings order like the times.
                assert!(s.starts_at < s.ends_at, "{}", s.title);
                assert!(s.starts_at.starts_with(e.date.as_str()));
                assert!(s.capacity.is_none_or(|c| c > 0));
                if s.access == SessionAccess::Closed {
                    assert!(s.chatham_house, "closed session without Chatham House");
                }
                let mut orders: Vec<i32> = s.speakers.iter().map(|sp| sp.order).collect();
                let n = orders.len();
                orders.sort_unstable();
                orders.dedup();
                assert_eq!(orders.len(), n, "duplicate speaker order in {}", s.title);
                for sp in &s.speakers {
                    assert!(
                        HONORIFICS.contains(&sp.honorific.as_str()),
                        "{}",
                        sp.honorific
                    );
                    assert!(sp.order >= 1);
                    assert!(
                        find_organization(&sp.organization).is_some(),
                        "{}",
                        sp.organization
                    );
                    assert!(find_person(&sp.name).is_some(), "{} not in PEOPLE", sp.name);
                }
            }
            // Sessions in chronological order, not overlapping.
            for w in e.sessions.windows(2) {
                assert!(w[0].ends_at <= w[1].starts_at);
            }
        }
    }

    #[test]
    fn japan_2022_matches_the_report() {
        let e = find_event(JAPAN_2022).expect("Japan 2022");
        assert_eq!(e.format, EventFormat::Online);
        assert_eq!(e.date, "2022-02-18");
        let closed = e
            .sessions
            .iter()
            .filter(|s| s.access == SessionAccess::Closed)
            .count();
        let public = e
            .sessions
            .iter()
            .filter(|s| s.access == SessionAccess::Public)
            .count();
        assert_eq!((closed, public), (2, 1));
        for s in &e.sessions {
            assert!(!s.highlights.is_empty(), "{} has no highlights", s.title);
        }
        let role_of = |surname: &str| -> Vec<&str> {
            e.sessions
                .iter()
                .flat_map(|s| s.speakers.iter())
                .filter(|sp| sp.name.ends_with(surname))
                .map(|sp| sp.role.as_str())
                .collect()
        };
        for name in ["Hoshino", "Ralph", "Morada", "Hasegawa"] {
            assert!(role_of(name).contains(&"opening_remarks"), "{name}");
        }
        assert_eq!(role_of("Higashi"), ["presenter"]);
        assert_eq!(role_of("Takizawa"), ["presenter"]);
        assert_eq!(role_of("Ueki"), ["commentator"]);
        let partner = |key: &str| {
            e.partners
                .iter()
                .find(|p| p.organization == key)
                .unwrap()
                .role
                .as_str()
        };
        assert_eq!(partner("APR2P"), "organizer");
        assert_eq!(partner("SIIR"), "co_organizer");
        assert_eq!(partner("R2P Network of Japan"), "co_organizer");
        assert_eq!(partner("AHC"), "supporter");
        assert_eq!(partner("DFAT"), "funder");
    }

    #[test]
    fn closed_highlights_attribute_nobody() {
        let names: Vec<&str> = seed()
            .events
            .iter()
            .flat_map(|e| e.sessions.iter())
            .flat_map(|s| s.speakers.iter())
            .filter_map(|sp| sp.name.rsplit(' ').next())
            .chain(["APR2P", "Prof.", "Professor", "Dr ", "Mr.", "Ms."])
            .collect();
        for s in seed().events.iter().flat_map(|e| e.sessions.iter()) {
            if s.access != SessionAccess::Closed {
                continue;
            }
            for h in &s.highlights {
                for n in &names {
                    assert!(!h.contains(n), "closed highlight names {n}: {h}");
                }
            }
        }
    }

    #[test]
    fn japan_2027_is_upcoming_and_hybrid() {
        let e = find_event(JAPAN_2027).expect("Japan 2027");
        assert!(e.date.starts_with("2027-"));
        assert_eq!(e.format, EventFormat::Hybrid);
        assert!(e.sessions.iter().any(|s| s.access == SessionAccess::Closed));
        assert!(e.sessions.iter().any(|s| s.access == SessionAccess::Public));
        assert!(e.sessions.iter().all(|s| s.highlights.is_empty()));
        assert_ne!(e.slug, JAPAN_2022);
    }

    #[test]
    fn people_are_well_formed() {
        let mut emails: Vec<&str> = seed().people.iter().map(|p| p.email.as_str()).collect();
        let n = emails.len();
        emails.sort_unstable();
        emails.dedup();
        assert_eq!(emails.len(), n, "duplicate email");
        let mut names: Vec<&str> = seed().people.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate name");
        for p in &seed().people {
            assert!(
                HONORIFICS.contains(&p.honorific.as_str()),
                "{}",
                p.honorific
            );
            assert!(p.email.ends_with("@example.org"), "{}", p.email);
            assert_eq!(p.email, p.email.to_lowercase());
            assert!(
                find_organization(&p.organization).is_some(),
                "{}",
                p.organization
            );
            assert!(!p.position.is_empty());
        }
    }
}
