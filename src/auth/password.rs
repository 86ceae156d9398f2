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

/// Argon2 runs on a fixed set of low-priority threads, one per core, fed by a bounded queue.
///
/// Why not `spawn_blocking`: a login storm would start one 19 MiB hash per request on as many
/// threads, each keeping its allocator arena (seen: 6 GiB resident after 64 concurrent
/// logins), and starve every other request of CPU. Here memory is bounded by the thread
/// count, the hashing threads run at the lowest priority so reads stay fast while logins
/// queue, and a full queue answers 503 instead of growing without bound.
struct HashingPool {
    jobs: std::sync::mpsc::SyncSender<Box<dyn FnOnce() + Send>>,
}

const HASHING_QUEUE: usize = 1024;

fn hashing_pool() -> &'static HashingPool {
    static POOL: OnceLock<HashingPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Box<dyn FnOnce() + Send>>(HASHING_QUEUE);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    if let Err(e) = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    ) {
                        tracing::debug!(error = ?e, "could not lower the hashing thread's priority");
                    }
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job drops its reply (the caller gets an error); the
                            // thread lives on for the next one.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        HashingPool { jobs }
    })
}

async fn on_hashing_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let span = tracing::Span::current();
    let (reply, answer) = tokio::sync::oneshot::channel();
    let job = Box::new(move || {
        let _ = reply.send(span.in_scope(f));
    });
    hashing_pool().jobs.try_send(job).map_err(|e| match e {
        std::sync::mpsc::TrySendError::Full(_) => {
            AppError::Unavailable("too many password checks queued".to_owned())
        }
        std::sync::mpsc::TrySendError::Disconnected(_) => {
            AppError::internal("the password hashing threads are gone")
        }
    })?;
    answer
        .await
        .map_err(|_| AppError::internal("a password hashing job was dropped"))
}

pub async fn hash_password(password: Password) -> AppResult<String> {
    on_hashing_thread(move || {
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
    on_hashing_thread(move || {
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
