//! Argon2id hashing with OWASP parameters (m=19456 KiB, t=2, p=1), off the async executor on
//! tokio's blocking threads, at most `auth.hashing_concurrency` at once so that a login storm
//! queues instead of taking every core from the requests that need none (and 19 MiB each).

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::config::AuthSettings;
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
    DUMMY.get_or_init(|| hash_now(b"convene-dummy-password-for-timing").unwrap_or_default())
}

fn hash_now(password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2().hash_password(password, &salt)?.to_string())
}

/// Checks `password` against a stored PHC string, with that string's own parameters.
fn matches_now(password: &[u8], stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| argon2().verify_password(password, &parsed).is_ok())
        .unwrap_or(false)
}

/// How many hashes may run at once: set by `start_hashing`; a process that never calls it (the
/// `convene admin` commands) runs one at a time.
static PERMITS: OnceLock<Semaphore> = OnceLock::new();

fn permits() -> &'static Semaphore {
    PERMITS.get_or_init(|| Semaphore::new(1))
}

/// `auth.hashing_concurrency`, where 0 means one less than the cores, and at least one.
pub fn hashing_concurrency(settings: &AuthSettings) -> usize {
    match settings.hashing_concurrency {
        0 => std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1),
        n => n,
    }
}

/// Bounds concurrent hashes as `settings` say, and computes the dummy hash in the background so
/// that the first unknown-email login is not faster than the others. Only the first call in a
/// process counts.
pub fn start_hashing(settings: &AuthSettings) {
    let _ = PERMITS.set(Semaphore::new(hashing_concurrency(settings)));
    std::thread::spawn(|| {
        let _ = dummy_hash();
    });
}

/// Runs `work` on a blocking thread once a permit is free, inside the caller's tracing span.
async fn run_bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|_| AppError::internal("the password hashing semaphore is closed"))?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

pub async fn hash_password(password: Password) -> AppResult<String> {
    run_bounded(move || hash_now(password.0.expose_secret().as_bytes()))
        .await?
        .map_err(|e| AppError::internal(format!("hashing a password: {e}")))
}

/// Verifies `candidate` against `stored`, or against a dummy hash when there is no account, so
/// both cases cost one Argon2 run. True only when an account exists and the password matches.
pub async fn verify_password(stored: Option<String>, candidate: SecretString) -> AppResult<bool> {
    run_bounded(move || {
        let exists = stored.is_some();
        let hash = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let matches = matches_now(candidate.expose_secret().as_bytes(), hash);
        exists && matches
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let phc = hash_now(b"correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(matches_now(b"correct horse", &phc));
        assert!(!matches_now(b"wrong horse", &phc));
        assert!(!matches_now(b"correct horse", "not a phc string"));
    }
}
