//! Argon2id hashing with OWASP parameters (m=19456 KiB, t=2, p=1), always on a blocking thread
//! that keeps the caller's tracing span, never on the async executor.

use std::sync::mpsc::RecvTimeoutError;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use super::preemption_pulse::PreemptionPulse;
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

/// How long the hashing threads wait without a job before giving their memory back.
const KEEP_MEMORY_WHILE_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

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
fn release_idle_memory() {
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

/// Argon2 runs on a fixed set of idle-priority threads, one per core and kept to it, fed by a
/// bounded queue.
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

/// SCHED_IDLE on Linux: a request thread waking up preempts a hashing thread at once. Nice 19
/// alone is not enough under EEVDF, which lets the running hash finish its slice (~3 ms) first;
/// that put a reader's p99 at 8 ms during a login storm (docs/PERFORMANCE.md). A thread that is
/// preempted while runnable needs the `PreemptionPulse` besides.
fn lower_hashing_thread_priority() {
    #[cfg(target_os = "linux")]
    let lowered = thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        thread_priority::ThreadPriority::Min,
        thread_priority::ThreadSchedulePolicy::Normal(
            thread_priority::NormalThreadSchedulePolicy::Idle,
        ),
    );
    #[cfg(not(target_os = "linux"))]
    let lowered: Result<(), thread_priority::Error> =
        Err(thread_priority::Error::Priority("SCHED_IDLE is Linux's"));
    // Where SCHED_IDLE is refused (a seccomp profile, another OS): nice 19 at least.
    let lowered = lowered.or_else(|_| {
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    });
    if let Err(e) = lowered {
        tracing::warn!(error = ?e, "could not lower the hashing thread's priority");
    }
}

/// The `i`th hashing thread keeps to the `i`th CPU, beside that CPU's pulse thread. Left to
/// move, the two hashes were sometimes stacked on one CPU or moved onto the one a request had
/// just woken on: alternating binaries, the reader's p99 during a login storm was 0.59–0.78 ms
/// pinned against 0.67–1.06 unpinned, with as many logins a second (docs/PERFORMANCE.md).
///
/// Only when there is a hashing thread for every CPU the process may run on: under a cgroup's
/// CPU quota there are fewer threads than CPUs, and pinning them would put every process's
/// hashes on the same first CPUs.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn keep_to_cpu(i: usize, threads: usize) {
    #[cfg(target_os = "linux")]
    if let Some(cpus) = core_affinity::get_core_ids().filter(|cpus| cpus.len() == threads) {
        let cpu = cpus[i];
        if !core_affinity::set_for_current(cpu) {
            tracing::warn!(cpu = cpu.id, "could not keep a hashing thread to its CPU");
        }
    }
}

fn hashing_pool() -> &'static HashingPool {
    static POOL: OnceLock<HashingPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) =
            std::sync::mpsc::sync_channel::<Box<dyn FnOnce() + Send>>(HASHING_QUEUE);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pulse = PreemptionPulse::start();
        for i in 0..threads {
            let queue = queue.clone();
            let pulse = pulse.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    keep_to_cpu(i, threads);
                    lower_hashing_thread_priority();
                    loop {
                        // Whichever thread holds the queue notices the pool idle (the other
                        // waits for the queue meanwhile); it wakes once a second to check.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv_timeout(KEEP_MEMORY_WHILE_IDLE),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job drops its reply (the caller gets an error); the
                            // thread lives on for the next one.
                            Ok(job) => {
                                let _ = pulse.during(|| {
                                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                                });
                            }
                            Err(RecvTimeoutError::Timeout) => release_idle_memory(),
                            Err(RecvTimeoutError::Disconnected) => return,
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
        // The caller gave up (its client went away): under a storm, a hash nobody waits for
        // would only delay every job queued behind it.
        if reply.is_closed() {
            return;
        }
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
        hash_with_reused_memory(password.0.expose_secret().as_bytes())
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
        let matches = matches_with_reused_memory(candidate.expose_secret().as_bytes(), &hash);
        exists && matches
    })
    .await
}

/// Warms the dummy hash at start-up so the first unknown-email login is not faster.
/// It runs on a hashing thread, whose Argon2 memory is managed there, rather than leaving
/// 19 MiB behind on the caller's.
pub fn warm_up() {
    let _ = hashing_pool().jobs.try_send(Box::new(|| {
        let _ = dummy_hash();
    }));
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
