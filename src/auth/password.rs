//! Argon2id hashing with OWASP parameters (m=19456 KiB, t=2, p=1), never on the async executor:
//! in the `convene hash-worker` child by default (`hash_worker`), or on this process's hashing
//! threads (`hashing_threads`), which keep the caller's tracing span.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::hash_worker::HashWorker;
use super::hashing_threads::{Deliver, HashJob, HashingThreads};
use crate::config::{AuthSettings, HashingPlace};
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
        hash_with_reused_memory(b"convene-dummy-password-for-timing").unwrap_or_default()
    })
}

/// Argon2's working memory (19 MiB a hash), kept between hashes while logins keep coming:
/// allocating it per hash costs page faults, and per-thread allocation once let glibc's arenas
/// grow by ~20 MiB a login. A second without any hash gives it all back (`release_idle_memory`),
/// so an idle server does not hold 2 × 19 MiB of scratch space.
static SPARE_MEMORY: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());

/// Capacity reserved for that memory, in blocks: just over 32 MiB, the most glibc's dynamic
/// mmap threshold grows to (mallopt(3)), so the allocation always gets a mapping of its own and
/// freeing it unmaps it. A 19 MiB block freed once would otherwise raise the threshold to 19 MiB,
/// and the next one would come from an arena that keeps it resident after the free. Only the
/// 19 MiB in use is ever touched, hence resident.
const ALWAYS_MAPPED_BLOCKS: usize = (32 << 20) / std::mem::size_of::<argon2::Block>() + 1;

fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    let spare = SPARE_MEMORY.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut memory = spare.unwrap_or_else(|| Vec::with_capacity(blocks.max(ALWAYS_MAPPED_BLOCKS)));
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let answer = f(&mut memory[..blocks]);
    SPARE_MEMORY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(memory);
    answer
}

/// Frees the kept memory.
pub(super) fn release_idle_memory() {
    let released = std::mem::take(&mut *SPARE_MEMORY.lock().unwrap_or_else(|e| e.into_inner()));
    drop(released);
}

/// The raw Argon2 output of `password` under `hasher`'s parameters.
fn compute(
    hasher: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    output_len: usize,
) -> Result<argon2::password_hash::Output, argon2::password_hash::Error> {
    let blocks = hasher.params().block_count();
    argon2::password_hash::Output::init_with(output_len, |out| {
        with_memory(blocks, |memory| {
            hasher.hash_password_into_with_memory(password, salt, out, memory)
        })
        .map_err(argon2::password_hash::Error::from)
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), as `PasswordHasher` would write.
fn hash_with_reused_memory(password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let hasher = argon2();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes)?;
    let output = compute(&hasher, password, raw_salt, Params::DEFAULT_OUTPUT_LEN)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(hasher.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored PHC string, with that string's own parameters.
fn matches_with_reused_memory(password: &[u8], stored: &str) -> bool {
    let check = || -> Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(stored)?;
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let mut salt_bytes = [0u8; 64];
        let raw_salt = salt.decode_b64(&mut salt_bytes)?;
        let hasher = Argon2::new(algorithm, version, params);
        // Output's equality is constant-time.
        Ok(compute(&hasher, password, raw_salt, expected.len())? == expected)
    };
    check().unwrap_or(false)
}

/// One Argon2 run, wherever it happens: in the `convene hash-worker` child (which receives it
/// as a line of JSON) or on this process's hashing threads.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Work {
    Hash {
        password: SecretString,
    },
    /// Against the stored hash, or the dummy one when there is no account (`stored` absent), so
    /// both cases cost one Argon2 run.
    Verify {
        stored: Option<String>,
        candidate: SecretString,
    },
    /// Computes the dummy hash ahead of the first unknown-email login, which would otherwise
    /// take one hash longer than the others.
    WarmUp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Outcome {
    Hashed(String),
    /// True only when an account exists and the password matches.
    Verified(bool),
    WarmedUp,
    Failed(String),
}

impl Work {
    pub(super) fn perform(self) -> Outcome {
        match self {
            Work::Hash { password } => {
                match hash_with_reused_memory(password.expose_secret().as_bytes()) {
                    Ok(phc) => Outcome::Hashed(phc),
                    Err(e) => Outcome::Failed(format!("hashing a password: {e}")),
                }
            }
            Work::Verify { stored, candidate } => {
                let exists = stored.is_some();
                let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
                let matches =
                    matches_with_reused_memory(candidate.expose_secret().as_bytes(), &hash);
                Outcome::Verified(exists && matches)
            }
            Work::WarmUp => {
                let _ = dummy_hash();
                Outcome::WarmedUp
            }
        }
    }
}

/// Where this process hashes: set once by `start_hashing`; a process that never calls it (the
/// `convene admin` commands) hashes on its own threads.
enum Hashing {
    ServerProcess,
    ChildProcess(HashWorker),
}

static HASHING: OnceLock<Hashing> = OnceLock::new();

fn hashing() -> &'static Hashing {
    HASHING.get_or_init(|| Hashing::ServerProcess)
}

/// Starts hashing where `settings` say, and warms the dummy hash there so that the first
/// unknown-email login is not faster. Only the first call in a process counts.
pub fn start_hashing(settings: &AuthSettings) {
    let hashing = HASHING.get_or_init(|| match settings.hash_passwords_in {
        HashingPlace::ServerProcess => Hashing::ServerProcess,
        HashingPlace::ChildProcess => Hashing::ChildProcess(HashWorker::start(settings)),
    });
    if let Hashing::ServerProcess = hashing {
        warm_up();
    }
}

/// Computes the dummy hash on a hashing thread, whose Argon2 memory is managed there, rather
/// than leaving 19 MiB behind on the caller's.
pub(super) fn warm_up() {
    HashingThreads::get().submit(HashJob {
        work: Work::WarmUp,
        deliver: Deliver::Nobody,
    });
}

async fn perform(work: Work) -> AppResult<Outcome> {
    match hashing() {
        Hashing::ChildProcess(worker) => worker.perform(work).await,
        Hashing::ServerProcess => {
            let (reply, answer) = oneshot::channel();
            let span = tracing::Span::current();
            HashingThreads::get().submit(HashJob {
                work,
                deliver: Deliver::Caller { reply, span },
            });
            answer
                .await
                .map_err(|_| AppError::internal("a password hashing job was dropped"))?
        }
    }
}

pub async fn hash_password(password: Password) -> AppResult<String> {
    match perform(Work::Hash {
        password: password.0,
    })
    .await?
    {
        Outcome::Hashed(phc) => Ok(phc),
        other => Err(unexpected(other)),
    }
}

/// Verifies `candidate` against `stored`, or against a dummy hash when there is no account, so
/// both cases cost one Argon2 run. True only when an account exists and the password matches.
pub async fn verify_password(stored: Option<String>, candidate: SecretString) -> AppResult<bool> {
    match perform(Work::Verify { stored, candidate }).await? {
        Outcome::Verified(matches) => Ok(matches),
        other => Err(unexpected(other)),
    }
}

fn unexpected(outcome: Outcome) -> AppError {
    match outcome {
        Outcome::Failed(e) => AppError::internal(e),
        other => AppError::internal(format!("unexpected password hashing outcome {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_verify_here_and_with_the_argon2_crate() {
        let phc = hash_with_reused_memory(b"correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(matches_with_reused_memory(b"correct horse", &phc));
        assert!(!matches_with_reused_memory(b"wrong horse", &phc));
        let parsed = PasswordHash::new(&phc).expect("PHC string");
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        // And hashes written by the crate itself still verify.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2()
            .hash_password(b"pw", &salt)
            .expect("hash")
            .to_string();
        assert!(matches_with_reused_memory(b"pw", &theirs));
    }
}
