//! Argon2id hashing with OWASP parameters (m=19456 KiB, t=2, p=1), always on a blocking thread
//! that keeps the caller's tracing span, never on the async executor.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{AppError, AppResult};

/// A password as a client sent it: 8 to 128 characters, no composition rules (NIST 800-63B).
pub struct Password(SecretString);

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least 8 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
}

impl Password {
    pub fn parse(raw: SecretString) -> Result<Password, PasswordError> {
        let length = raw.expose_secret().chars().count();
        if length < 8 {
            Err(PasswordError::TooShort)
        } else if length > 128 {
            Err(PasswordError::TooLong)
        } else {
            Ok(Password(raw))
        }
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a password nobody knows, verified against when the account does not exist so that
/// unknown and known emails take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"convene-dummy-password-for-timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

async fn spawn_blocking_in_span<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|e| AppError::internal(format!("password task failed: {e}")))
}

pub async fn hash_password(password: Password) -> AppResult<String> {
    spawn_blocking_in_span(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.0.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(format!("hashing a password: {e}")))
    })
    .await?
}

/// Verifies `candidate` against `stored`, or against a dummy hash when there is no account, so
/// both cases cost one Argon2 run. True only when an account exists and the password matches.
pub async fn verify_password(stored: Option<String>, candidate: SecretString) -> AppResult<bool> {
    spawn_blocking_in_span(move || {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| {
                argon2()
                    .verify_password(candidate.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        exists && matches
    })
    .await
}

/// Warms the dummy hash at start-up so the first unknown-email login is not faster.
pub fn warm_up() {
    let _ = dummy_hash();
}
