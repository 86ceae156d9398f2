use std::fmt;

use serde::Serialize;

/// An ISO 3166-1 alpha-2 country code (`JP`, `AU`), upper case, checked against the officially
/// assigned codes (the `celes` crate's list, without the user-assigned `XK`).
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

impl CountryCode {
    /// Accepts any case and surrounding spaces (`" jp "` is `JP`).
    pub fn parse(raw: &str) -> Result<CountryCode, CountryCodeError> {
        let code = raw.trim();
        if code.is_empty() {
            return Err(CountryCodeError::Empty);
        }
        let unknown = || CountryCodeError::Unknown(code.to_owned());
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(unknown());
        }
        let country = celes::Country::from_alpha2(code).map_err(|_| unknown())?;
        // Kosovo's XK is a user-assigned code that celes lists; ISO 3166-1 does not.
        if country.alpha2 == "XK" {
            return Err(unknown());
        }
        Ok(CountryCode(country.alpha2))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// The country's common English name, e.g. "Japan", for emails and pages.
    pub fn name(&self) -> String {
        Self::display_name(self.0)
    }

    /// The English name of a stored code ("Japan"); the code itself when it names no country.
    pub fn display_name(code: &str) -> String {
        celes::Country::from_alpha2(code)
            .map(|c| c.long_name.to_owned())
            .unwrap_or_else(|_| code.to_owned())
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
            "", "  ", "J", "JPN", "ZZ", "XK", "UK", "EU", "1A", "J1", "日本",
        ] {
            assert!(
                CountryCode::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn names_the_country() {
        assert_eq!(CountryCode::parse("JP").expect("JP").name(), "Japan");
        assert_eq!(CountryCode::display_name("JP"), "Japan");
        assert_eq!(CountryCode::display_name("??"), "??");
    }
}
