use std::fmt;
use std::sync::OnceLock;

use serde::Serialize;

/// An ISO 3166-1 alpha-2 country code (`JP`, `AU`), upper case: one of the officially assigned
/// codes or Kosovo's `XK`, which the partnership's members use and CLDR names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CountryCode(&'static str);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CountryCodeError {
    #[error("must not be empty")]
    Empty,
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code (two letters, e.g. JP)")]
    Unknown(String),
}

/// A country as people pick it from a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    pub code: &'static str,
    /// CLDR's English short name: "South Korea", "Côte d’Ivoire", "Taiwan".
    pub name: &'static str,
}

/// Every country, sorted by code; read once from `data/countries.tsv`.
fn by_code() -> &'static [Country] {
    static LIST: OnceLock<Vec<Country>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut list: Vec<Country> = include_str!("../../data/countries.tsv")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| line.split_once('\t'))
            .map(|(code, name)| Country { code, name })
            .collect();
        list.sort_by_key(|c| c.code);
        list
    })
}

/// Every country sorted by name as people expect: accents and case do not move a name
/// ("Åland Islands" under A, "Türkiye" under T).
pub fn countries_by_name() -> &'static [Country] {
    static LIST: OnceLock<Vec<Country>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut list = by_code().to_vec();
        list.sort_by_cached_key(|c| deunicode::deunicode(c.name).to_lowercase());
        list
    })
}

fn find(code: &str) -> Option<&'static Country> {
    let list = by_code();
    list.binary_search_by(|c| c.code.cmp(code))
        .ok()
        .map(|i| &list[i])
}

impl CountryCode {
    /// Accepts any case and surrounding spaces (`" jp "` is `JP`).
    pub fn parse(raw: &str) -> Result<CountryCode, CountryCodeError> {
        let code = raw.trim();
        if code.is_empty() {
            return Err(CountryCodeError::Empty);
        }
        find(&code.to_ascii_uppercase())
            .map(|c| CountryCode(c.code))
            .ok_or_else(|| CountryCodeError::Unknown(code.to_owned()))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The country's English short name, e.g. "Japan", for emails and pages.
    pub fn name(&self) -> String {
        Self::display_name(self.0)
    }

    /// The English name of a stored code ("Japan"); the code itself when it names no country.
    pub fn display_name(code: &str) -> String {
        find(code).map_or_else(|| code.to_owned(), |c| c.name.to_owned())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_assigned_codes_in_any_case() {
        assert_eq!(CountryCode::parse("JP").expect("JP").as_str(), "JP");
        assert_eq!(CountryCode::parse(" au ").expect("au").as_str(), "AU");
        assert_eq!(CountryCode::parse("Id").expect("Id").as_str(), "ID");
        assert_eq!(CountryCode::parse("TL").expect("TL").as_str(), "TL");
    }

    #[test]
    fn rejects_unassigned_and_malformed_codes() {
        for bad in [
            "", "  ", "J", "JPN", "ZZ", "XA", "UK", "EU", "1A", "J1", "日本",
        ] {
            assert!(
                CountryCode::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn accepts_kosovo() {
        assert_eq!(CountryCode::parse("xk").expect("XK").name(), "Kosovo");
    }

    #[test]
    fn every_assigned_code_is_listed_once() {
        assert_eq!(by_code().len(), 250, "249 ISO 3166-1 codes and XK");
        assert!(by_code().windows(2).all(|w| w[0].code < w[1].code));
        for country in celes::Country::get_countries() {
            assert!(
                find(country.alpha2).is_some(),
                "{} is missing",
                country.alpha2
            );
        }
    }

    #[test]
    fn names_are_the_short_ones_people_use() {
        for (code, name) in [
            ("KR", "South Korea"),
            ("KP", "North Korea"),
            ("CI", "Côte d’Ivoire"),
            ("TW", "Taiwan"),
            ("VN", "Vietnam"),
            ("GB", "United Kingdom"),
            ("HK", "Hong Kong"),
        ] {
            assert_eq!(CountryCode::display_name(code), name);
        }
    }

    #[test]
    fn the_list_sorts_as_people_expect() {
        let names: Vec<&str> = countries_by_name().iter().map(|c| c.name).collect();
        let position = |name: &str| names.iter().position(|n| *n == name).expect(name);
        assert!(position("Åland Islands") < position("Albania"));
        assert!(position("Côte d’Ivoire") < position("Croatia"));
        assert!(position("Taiwan") > position("Syria"));
        assert!(position("Türkiye") > position("Tunisia"));
    }

    #[test]
    fn names_the_country() {
        assert_eq!(CountryCode::parse("JP").expect("JP").name(), "Japan");
        assert_eq!(CountryCode::display_name("JP"), "Japan");
        assert_eq!(CountryCode::display_name("??"), "??");
    }
}
