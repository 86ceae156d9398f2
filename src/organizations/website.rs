use std::fmt;

use serde::Serialize;

/// A web address: an absolute http or https URL with a host and no credentials, stored in its
/// normalised form (`https://Example.org` becomes `https://example.org/`). An organisation's
/// website and an event's online link are both this.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct WebsiteUrl(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebsiteUrlError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 2000 characters")]
    TooLong,
    #[error("is not a URL (expected e.g. https://www.example.org/)")]
    Malformed,
    #[error("must be an http or https URL")]
    Scheme,
}

impl WebsiteUrl {
    pub fn parse(raw: &str) -> Result<WebsiteUrl, WebsiteUrlError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(WebsiteUrlError::Empty);
        }
        if trimmed.len() > 2000 {
            return Err(WebsiteUrlError::TooLong);
        }
        let url = url::Url::parse(trimmed).map_err(|_| WebsiteUrlError::Malformed)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebsiteUrlError::Scheme);
        }
        // Credentials in a public directory link are a mistake or a trick, never a website.
        let has_host = url.host_str().is_some_and(|h| !h.is_empty());
        if !has_host || !url.username().is_empty() || url.password().is_some() {
            return Err(WebsiteUrlError::Malformed);
        }
        Ok(WebsiteUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for WebsiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https() {
        assert_eq!(
            WebsiteUrl::parse(" https://www.MOFA.go.jp ")
                .expect("valid")
                .as_str(),
            "https://www.mofa.go.jp/"
        );
        assert!(WebsiteUrl::parse("http://example.org/about?x=1").is_ok());
    }

    #[test]
    fn rejects_other_schemes_and_non_urls() {
        assert_eq!(WebsiteUrl::parse(""), Err(WebsiteUrlError::Empty));
        assert_eq!(
            WebsiteUrl::parse("ftp://example.org"),
            Err(WebsiteUrlError::Scheme)
        );
        assert_eq!(
            WebsiteUrl::parse("javascript:alert(1)"),
            Err(WebsiteUrlError::Scheme)
        );
        for bad in [
            "www.example.org",
            "example",
            "https://",
            "https://user:pw@example.org/",
        ] {
            assert!(
                WebsiteUrl::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
