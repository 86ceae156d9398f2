use std::fmt;

use serde::Serialize;

/// An email address, parsed once at the edge and lower-cased so that uniqueness is
/// case-insensitive everywhere behind it. Requests carry plain strings that handlers parse
/// through a `Validator`, so a bad address is a 422 naming its field, not a JSON syntax error.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailAddressError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 254 characters")]
    TooLong,
    #[error("is not an email address (expected name@domain.tld)")]
    Malformed,
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<EmailAddress, EmailAddressError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailAddressError::TooLong);
        }
        // lettre's parser follows RFC 5321/5322; reusing it means whatever we accept, we can send.
        let parsed: lettre::Address = trimmed.parse().map_err(|_| EmailAddressError::Malformed)?;
        if !parsed.domain().contains('.') || trimmed.contains(char::is_whitespace) {
            return Err(EmailAddressError::Malformed);
        }
        // Quoted local parts (`"x@evil"@example.org`) are valid RFC 5322 that no person needs,
        // and they make an address read as another one (in logs, in a greeting, to a filter
        // that splits at the first `@`): only dot-atom local parts are accepted.
        if parsed.user().contains(['"', '\\', '@']) {
            return Err(EmailAddressError::Malformed);
        }
        Ok(EmailAddress(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For values read back from the database, which only ever holds parsed addresses.
    pub fn from_trusted(stored: String) -> EmailAddress {
        EmailAddress(stored)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let email = EmailAddress::parse("  Hoshino@Example.ORG ").expect("valid");
        assert_eq!(email.as_str(), "hoshino@example.org");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a b@example.org",
            "@example.org",
            "a@",
            "\"x@evil\"@example.org",
            "\"x\"@example.org",
            "\"a b\"@example.org",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
