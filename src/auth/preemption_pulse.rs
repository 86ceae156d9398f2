//! Makes every CPU's scheduler choose again every 250 µs while a password hash runs.
//!
//! The hashing threads run at SCHED_IDLE so that requests go first. Linux only guarantees that
//! on *wake-up*: a normal thread that is preempted while runnable (the server's worker thread
//! when the PostgreSQL backend it just woke takes the CPU, say) is then "ineligible" under
//! EEVDF, having just run ahead of its share, and the scheduler picks the idle-priority hash
//! instead. Nothing takes the CPU back from the hash before the next tick, 4 ms at HZ=250, so
//! a read that costs 0.3 ms waited up to 4 ms during a login storm (docs/PERFORMANCE.md).
//!
//! One thread pinned to each CPU sleeps 250 µs at a time while any hash runs. Its wake-up
//! preempts the hash (a normal thread waking over a SCHED_IDLE one always does), and that
//! reschedule lets whatever normal thread waited run first. It costs two context switches per
//! CPU per period: measured, 4% of each core during a login storm on a slow day (0.42 s of CPU
//! per pulse thread while each hashing thread ran 9.2 s), with no fewer logins a second. While
//! no hash runs it costs nothing: the pulse threads wait on a condition variable.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Under the 0.3–0.4 ms an unloaded read takes end to end on a quiet day. 500 µs halves the
/// pulse's cost and left a reader's p99 during a storm 10–20% higher.
const PERIOD: Duration = Duration::from_micros(250);

#[derive(Clone)]
pub(super) struct PreemptionPulse(Arc<Hashes>);

/// How many hashes are running, and a condition variable the pulse threads wait on while none.
#[derive(Default)]
struct Hashes {
    running: Mutex<usize>,
    started: Condvar,
}

impl Hashes {
    fn running(&self) -> MutexGuard<'_, usize> {
        // The count is only ever incremented or decremented whole: a panic elsewhere while
        // holding the lock leaves it consistent.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_for_a_hash(&self) {
        let mut running = self.running();
        while *running == 0 {
            running = self
                .started
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl PreemptionPulse {
    /// Starts one pulse thread per CPU this process may run on (Linux only: the problem is
    /// Linux's scheduler). They wait until a hash runs.
    pub(super) fn start() -> PreemptionPulse {
        let hashes = Arc::new(Hashes::default());
        #[cfg(target_os = "linux")]
        for core in core_affinity::get_core_ids().unwrap_or_default() {
            let hashes = hashes.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-pulse-{}", core.id))
                .spawn(move || {
                    if !core_affinity::set_for_current(core) {
                        tracing::warn!(core = core.id, "could not pin a preemption pulse thread");
                        return;
                    }
                    loop {
                        hashes.wait_for_a_hash();
                        std::thread::sleep(PERIOD);
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "could not start a preemption pulse thread");
            }
        }
        PreemptionPulse(hashes)
    }

    /// Runs `hash` with the pulse beating.
    pub(super) fn during<T>(&self, hash: impl FnOnce() -> T) -> T {
        let _running = Running::new(&self.0);
        hash()
    }
}

/// One running hash, counted until dropped (also when the hash panics).
struct Running<'a>(&'a Hashes);

impl<'a> Running<'a> {
    fn new(hashes: &'a Hashes) -> Running<'a> {
        let mut running = hashes.running();
        *running += 1;
        if *running == 1 {
            hashes.started.notify_all();
        }
        Running(hashes)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *self.0.running() -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_counted_while_it_runs_and_not_after_even_when_it_panics() {
        let pulse = PreemptionPulse::start();
        let inside = pulse.during(|| *pulse.0.running());
        assert_eq!(inside, 1);
        assert_eq!(*pulse.0.running(), 0);

        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pulse.during(|| panic!("a hash that fails"))
        }));
        assert!(panicked.is_err());
        assert_eq!(*pulse.0.running(), 0);
    }
}
