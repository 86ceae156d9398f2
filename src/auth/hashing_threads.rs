//! The threads Argon2 runs on: one per core and kept to it, at idle priority, fed by a bounded
//! queue. They live in the `convene hash-worker` child (`hash_worker`), or in the server itself
//! when hashing is configured in-process.
//!
//! Why not `spawn_blocking`: a login storm would start one 19 MiB hash per request on as many
//! threads, each keeping its allocator arena (seen: 6 GiB resident after 64 concurrent
//! logins), and starve every other request of CPU. Here memory is bounded by the thread
//! count, the hashing threads run at the lowest priority so reads stay fast while logins
//! queue, and a full queue answers 503 instead of growing without bound.

use std::sync::mpsc::{RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::oneshot;

use super::password::{Outcome, Work};
use super::preemption_pulse::PreemptionPulse;
use crate::error::{AppError, AppResult};

pub(super) type Reply = oneshot::Sender<AppResult<Outcome>>;

/// A hash to run and who gets its outcome.
pub(super) struct HashJob {
    pub(super) work: Work,
    pub(super) deliver: Deliver,
}

pub(super) enum Deliver {
    /// A request of this process, whose tracing span the hash runs in.
    Caller { reply: Reply, span: tracing::Span },
    /// The server, when this process is its hash worker.
    Server { id: u64 },
    /// Nobody: a warm-up.
    Nobody,
}

impl Deliver {
    /// The caller gave up (its client went away): under a storm, a hash nobody waits for would
    /// only delay every job queued behind it.
    fn abandoned(&self) -> bool {
        matches!(self, Deliver::Caller { reply, .. } if reply.is_closed())
    }

    fn send(self, outcome: Result<Outcome, AppError>) {
        match self {
            Deliver::Caller { reply, .. } => {
                let _ = reply.send(outcome);
            }
            Deliver::Server { id } => super::hash_worker::answer(
                id,
                outcome.unwrap_or_else(|e| Outcome::Failed(e.to_string())),
            ),
            Deliver::Nobody => {}
        }
    }
}

impl HashJob {
    fn run(self) {
        if self.deliver.abandoned() {
            return;
        }
        let work = self.work;
        let perform = std::panic::AssertUnwindSafe(|| work.perform());
        let outcome = match &self.deliver {
            Deliver::Caller { span, .. } => span.in_scope(|| std::panic::catch_unwind(perform)),
            _ => std::panic::catch_unwind(perform),
        };
        // A hash that panics is still answered: the server waits for every id it handed out.
        self.deliver
            .send(outcome.map_err(|_| AppError::internal("the password hash panicked")));
    }
}

/// Jobs waiting for a hashing thread, at most.
pub(super) const HASHING_QUEUE: usize = 1024;

/// How long the hashing threads wait without a job before giving their memory back.
const KEEP_MEMORY_WHILE_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

pub(super) struct HashingThreads {
    jobs: SyncSender<HashJob>,
}

impl HashingThreads {
    /// This process's hashing threads, started on first use.
    pub(super) fn get() -> &'static HashingThreads {
        static THREADS: OnceLock<HashingThreads> = OnceLock::new();
        THREADS.get_or_init(HashingThreads::start)
    }

    /// How many hashes run at once: one per CPU this process may use.
    pub(super) fn count() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Queues `job`, or refuses it at once (503) when the queue is full.
    pub(super) fn submit(&self, job: HashJob) {
        let (refused, why) = match self.jobs.try_send(job) {
            Ok(()) => return,
            Err(TrySendError::Full(job)) => (
                job,
                AppError::Unavailable("too many password checks queued".to_owned()),
            ),
            Err(TrySendError::Disconnected(job)) => (
                job,
                AppError::internal("the password hashing threads are gone"),
            ),
        };
        refused.deliver.send(Err(why));
    }

    fn start() -> HashingThreads {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<HashJob>(HASHING_QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let threads = HashingThreads::count();
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
                            Ok(job) => pulse.during(|| job.run()),
                            Err(RecvTimeoutError::Timeout) => {
                                super::password::release_idle_memory()
                            }
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        HashingThreads { jobs }
    }
}

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
