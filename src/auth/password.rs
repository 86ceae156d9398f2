//! Argon2id hashing with OWASP parameters (m=19456 KiB, t=2, p=1), off the async executor on
//! tokio's blocking threads, at most `auth.hashing_concurrency` at once so that a login storm
//! queues instead of taking every core from the requests that need none.
//!
//! Each run works in a 19 MiB buffer taken from [`MEMORY`] while its permit is held: never more
//! buffers than permits, each allocated once for the life of the process. Allocated and freed
//! per run, that memory would stay with whichever blocking thread ran it (the allocator keeps an
//! arena per thread), and a login storm would leave the process holding a copy per thread.

use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// The parameters of every new hash.
fn params() -> Params {
    Params::new(19_456, 2, 1, None).unwrap_or_default()
}

/// A hash, with the parameters above, of a password nobody knows: verified against when the
/// account does not exist, so that unknown and known emails cost one Argon2 run alike.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Kq0PpKHrhaRxUNiz978Xtw$\
                          VKiVfWVW9F5ZBuwF0GBZD2Gkl3/CROJhaas/O252maM";

/// Argon2's working memory for [`params`], one buffer per run in progress.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs Argon2 in a buffer from [`MEMORY`], put back afterwards; a hash stored with other
/// parameters (a past default) gets a buffer of its own size, freed after the run.
fn with_memory<T>(argon2: &Argon2<'_>, run: impl FnOnce(&mut [Block]) -> T) -> T {
    let blocks = argon2.params().block_count();
    if blocks != params().block_count() {
        return run(&mut vec![Block::default(); blocks]);
    }
    let taken = MEMORY.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut memory = taken.unwrap_or_else(|| vec![Block::default(); blocks]);
    let result = run(&mut memory);
    MEMORY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(memory);
    result
}

/// Argon2's output for `password` and `salt` (raw bytes), `len` bytes long.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    len: usize,
) -> password_hash::Result<Output> {
    Output::init_with(len, |out| {
        with_memory(argon2, |memory| {
            argon2.hash_password_into_with_memory(password, salt, out, memory)
        })
        .map_err(password_hash::Error::from)
    })
}

/// A new PHC string for `password`, with a fresh salt and [`params`].
fn hash_now(password: &[u8]) -> password_hash::Result<String> {
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes)?;
    let output = compute(&argon2, password, raw_salt, Params::DEFAULT_OUTPUT_LEN)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored PHC string, with that string's own algorithm, version and
/// parameters.
fn matches_now(password: &[u8], stored: &str) -> bool {
    recompute(password, stored).is_ok_and(|(computed, expected)| computed == expected)
}

/// `password`'s output as `stored` was made, and `stored`'s own: `Output`'s equality takes
/// the same time wherever they differ.
fn recompute(password: &[u8], stored: &str) -> password_hash::Result<(Output, Output)> {
    let parsed = PasswordHash::new(stored)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(password_hash::Error::PhcStringField);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = Version::try_from(parsed.version.unwrap_or(Version::V0x13.into()))?;
    let argon2 = Argon2::new(algorithm, version, Params::try_from(&parsed)?);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes)?;
    let computed = compute(&argon2, password, raw_salt, expected.len())?;
    Ok((computed, expected))
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

/// Bounds concurrent hashes as `settings` say. Only the first call in a process counts.
pub fn start_hashing(settings: &AuthSettings) {
    let _ = PERMITS.set(Semaphore::new(hashing_concurrency(settings)));
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
        let hash = stored.as_deref().unwrap_or(DUMMY_HASH);
        let matches = matches_now(candidate.expose_secret().as_bytes(), hash);
        exists && matches
    })
    .await
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let phc = hash_now(b"correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(matches_now(b"correct horse", &phc));
        assert!(!matches_now(b"wrong horse", &phc));
        assert!(!matches_now(b"correct horse", "not a phc string"));
    }

    #[test]
    fn a_hash_made_here_verifies_with_the_argon2_crate() {
        let phc = hash_now(b"correct horse").expect("hash");
        let parsed = PasswordHash::new(&phc).expect("a PHC string");
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong horse", &parsed)
            .is_err());
    }

    #[test]
    fn a_hash_made_by_the_argon2_crate_verifies_here_whatever_its_parameters() {
        let salt = SaltString::generate(&mut OsRng);
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let phc = standard
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert!(matches_now(b"correct horse", &phc));
        assert!(!matches_now(b"wrong horse", &phc));

        // Other parameters, algorithm and output length than ours: computed as stored.
        let other = Params::new(8_192, 3, 2, Some(24)).expect("params");
        let phc = Argon2::new(Algorithm::Argon2i, Version::V0x13, other)
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert!(phc.starts_with("$argon2i$v=19$m=8192,t=3,p=2$"), "{phc}");
        assert!(matches_now(b"correct horse", &phc));
        assert!(!matches_now(b"wrong horse", &phc));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        assert_eq!(parsed.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(
            Params::try_from(&parsed).expect("params").block_count(),
            params().block_count()
        );
        assert!(!matches_now(b"", DUMMY_HASH));
    }
}
