//! Secret tokens (login sessions, emailed links): 256 random bits written as base64url without
//! padding (43 characters). Only their SHA-256 is ever stored, so a database dump opens nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A freshly made token: the secret goes to its holder once, the hash to the database.
pub struct IssuedToken {
    pub secret: SecretString,
    pub hash: Vec<u8>,
}

impl IssuedToken {
    pub fn generate() -> IssuedToken {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_token(&secret);
        IssuedToken {
            secret: SecretString::from(secret),
            hash,
        }
    }

    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// The stored form of a token presented by a client. A malformed token simply matches nothing.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// Whether a presented string has the shape of one of our tokens (cheap check before a query).
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_chars_and_unique() {
        let a = IssuedToken::generate();
        let b = IssuedToken::generate();
        assert_eq!(a.expose().len(), 43);
        assert!(looks_like_token(a.expose()));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(hash_token(a.expose()), a.hash);
    }
}
