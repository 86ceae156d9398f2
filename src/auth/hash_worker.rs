//! `convene hash-worker`: Argon2 in a child process with a scheduling group of its own.
//!
//! Why a process: on Linux the CPU is shared between scheduling groups (a session's autogroup,
//! a cgroup) before it is shared between threads. Hashing threads at SCHED_IDLE yield to the
//! server's own threads, but while a hash runs the server's group competes with PostgreSQL's
//! as an equal, and PostgreSQL's backends waited 150–314 ms for a CPU during a login storm: a
//! request needing the database took up to 1.4 s (docs/PERFORMANCE.md). The child starts a new
//! session, and so an autogroup of its own, and gives it the lowest weight (nice 19), so
//! hashes only take CPU that neither the server nor PostgreSQL wants. Under systemd or in a
//! container autogroups do not apply; there the child needs a cgroup of its own with
//! `cpu.idle = 1` (docs/operations.md, "Sharing a host with PostgreSQL").
//!
//! The protocol is one JSON object a line: requests `{"id":1,"work":{...}}` on the child's
//! stdin, answers `{"id":1,"outcome":{...}}` on its stdout, in any order. The server keeps the
//! queue (bounded: a full one answers 503) and hands the child only as many jobs as it has
//! hashing threads, so a job whose caller gave up while queued is dropped without a hash. The
//! child exits when its stdin closes, that is when the server exits however it dies. A child
//! that dies is started again, and the jobs it held are handed to the next one.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, ChildStdout, ExitCode, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::hashing_threads::{Deliver, HashJob, HashingThreads, Reply, HASHING_QUEUE};
use super::password::{Outcome, Work};
use crate::config::AuthSettings;
use crate::error::{AppError, AppResult};

/// The subcommand the server runs its child with.
pub const SUBCOMMAND: &str = "hash-worker";

/// How often the supervisor, waiting for a job, looks whether its child died or is stuck (the
/// jobs it held then go to the next child). While jobs wait for room it is woken at once.
const WATCH: Duration = Duration::from_secs(1);

/// A child that dies sooner than this after starting is started again only after this long, so
/// a worker that cannot run does not make the server fork in a loop.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// A request as written to the child: `Work` with its secrets borrowed, since `SecretString`
/// deliberately does not serialize.
#[derive(Serialize)]
struct Request<'a> {
    id: u64,
    work: WorkOnTheWire<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum WorkOnTheWire<'a> {
    Hash {
        password: &'a str,
    },
    Verify {
        stored: Option<&'a str>,
        candidate: &'a str,
    },
    WarmUp,
}

impl Work {
    fn on_the_wire(&self) -> WorkOnTheWire<'_> {
        match self {
            Work::Hash { password } => WorkOnTheWire::Hash {
                password: password.expose_secret(),
            },
            Work::Verify { stored, candidate } => WorkOnTheWire::Verify {
                stored: stored.as_deref(),
                candidate: candidate.expose_secret(),
            },
            Work::WarmUp => WorkOnTheWire::WarmUp,
        }
    }
}

/// A request as the child reads it.
#[derive(Deserialize)]
struct Received {
    id: u64,
    work: Work,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    id: u64,
    outcome: Outcome,
}

struct Job {
    work: Work,
    reply: Reply,
    /// The caller's, for the hash when it runs in this process after all.
    span: tracing::Span,
    /// Already handed to a child that died before answering.
    retried: bool,
}

/// The server's handle on its hash worker: a queue that a supervising thread feeds to the
/// child, starting it (again) as needed.
pub(super) struct HashWorker {
    jobs: SyncSender<Job>,
}

impl HashWorker {
    /// Starts the child, `<hash_worker_program> hash-worker` (absent: this executable).
    pub(super) fn start(settings: &AuthSettings) -> HashWorker {
        let program = settings.hash_worker_program.clone();
        let deadline = Duration::from_millis(settings.hash_worker_deadline_ms);
        let (jobs, queue) = std::sync::mpsc::sync_channel(HASHING_QUEUE);
        let supervisor = std::thread::Builder::new()
            .name("hash-worker-supervisor".to_owned())
            .spawn(move || supervise(program, deadline, queue));
        if let Err(e) = supervisor {
            // The queue's receiver is gone with the closure: every hash answers 500, loudly.
            tracing::error!(error = %e, "could not start the thread that runs the hash worker");
        }
        HashWorker { jobs }
    }

    pub(super) async fn perform(&self, work: Work) -> AppResult<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job {
                work,
                reply,
                span: tracing::Span::current(),
                retried: false,
            })
            .map_err(|e| match e {
                TrySendError::Full(_) => {
                    AppError::Unavailable("too many password checks queued".to_owned())
                }
                TrySendError::Disconnected(_) => {
                    AppError::internal("the password hash worker's supervisor is gone")
                }
            })?;
        answer
            .await
            .map_err(|_| AppError::internal("a password hashing job was dropped"))?
    }
}

/// Children in a row that die without answering anything, each within `BARREN_LIFETIME` of
/// starting, before the server stops starting them: a worker that cannot run at all (a wrong
/// `hash_worker_program`, say) must not cost a login. A child that lived longer may just have
/// had nothing to do (and been killed by an operator or the OOM killer).
const BARREN_CHILDREN: usize = 3;
const BARREN_LIFETIME: Duration = Duration::from_secs(10);

/// The server's own binary. On Linux `/proc/self/exe`, which stays this very binary after a
/// deploy replaced the file: a restarted child then still speaks this server's protocol.
fn this_executable() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        Some(PathBuf::from("/proc/self/exe"))
    } else {
        std::env::current_exe().ok()
    }
}

/// Runs children one after another for as long as the server holds its `HashWorker`.
fn supervise(program: Option<PathBuf>, deadline: Duration, queue: Receiver<Job>) {
    // Jobs a child took and did not answer before it died, for the next one.
    let mut carried = VecDeque::new();
    let Some(program) = program.or_else(this_executable) else {
        return hash_in_this_process("this executable's path is unknown", queue, carried);
    };
    let mut barren = 0;
    loop {
        let started = Instant::now();
        let child = match ChildWorker::spawn(&program) {
            Ok(child) => child,
            Err(e) => {
                let why = format!("cannot start {}: {e}", program.display());
                return hash_in_this_process(&why, queue, carried);
            }
        };
        let Fed::ChildGone { answered } = child.feed(&queue, &mut carried, deadline) else {
            return;
        };
        let lived = started.elapsed();
        barren = if answered || lived > BARREN_LIFETIME {
            0
        } else {
            barren + 1
        };
        if barren == BARREN_CHILDREN {
            let why = format!(
                "{} exited {barren} times without answering",
                program.display()
            );
            return hash_in_this_process(&why, queue, carried);
        }
        tracing::warn!("the password hash worker stopped; starting another");
        if lived < RESTART_PAUSE {
            std::thread::sleep(RESTART_PAUSE);
        }
    }
}

/// The fallback when no child can run: every job on this process's hashing threads.
fn hash_in_this_process(why: &str, queue: Receiver<Job>, carried: VecDeque<Job>) {
    tracing::error!(
        error = why,
        "the password hash worker cannot run; hashing on the server's own threads instead"
    );
    super::password::warm_up();
    for job in carried.into_iter().chain(queue) {
        // It was held by a child that died: it may be what kills them, and here it would kill
        // the server.
        if job.retried {
            let _ = job.reply.send(Err(interrupted_twice()));
            continue;
        }
        HashingThreads::get().submit(HashJob {
            work: job.work,
            deliver: Deliver::Caller {
                reply: job.reply,
                span: job.span,
            },
        });
    }
}

fn interrupted_twice() -> AppError {
    AppError::Unavailable("the password check was interrupted twice; try again".to_owned())
}

enum Fed {
    /// The server dropped its `HashWorker`: nothing more will come.
    QueueClosed,
    /// Whether it had answered anything before.
    ChildGone { answered: bool },
}

/// One running child and the replies it owes.
struct ChildWorker {
    process: std::process::Child,
    stdin: ChildStdin,
    owed: Arc<Owed>,
    reader: std::thread::JoinHandle<()>,
    next_id: u64,
}

/// Jobs the child holds, and whether it can still answer them.
struct Owed {
    state: Mutex<OwedState>,
    changed: Condvar,
}

struct OwedState {
    jobs: HashMap<u64, Held>,
    alive: bool,
    answered: bool,
}

/// A job the child holds, since when.
struct Held {
    since: Instant,
    job: Job,
}

impl OwedState {
    /// Whether the child has held a job longer than `deadline`: it is stuck (stopped, frozen,
    /// deadlocked), since a hash takes tens of milliseconds.
    fn overdue(&self, deadline: Duration) -> bool {
        let stuck = self
            .jobs
            .values()
            .any(|held| held.since.elapsed() > deadline);
        if stuck {
            tracing::error!(
                deadline_ms = deadline.as_millis(),
                "the password hash worker has not answered in time; starting another"
            );
        }
        stuck
    }
}

impl Owed {
    fn state(&self) -> MutexGuard<'_, OwedState> {
        // Every change under this lock is a single insert, remove or flag: a panic elsewhere
        // cannot leave it half done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ChildWorker {
    fn spawn(program: &std::path::Path) -> std::io::Result<ChildWorker> {
        let mut process = std::process::Command::new(program)
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (process.stdin.take(), process.stdout.take()) else {
            end(&mut process);
            return Err(std::io::Error::other("the child's pipes were not opened"));
        };
        let owed = Arc::new(Owed {
            state: Mutex::new(OwedState {
                jobs: HashMap::new(),
                alive: true,
                answered: false,
            }),
            changed: Condvar::new(),
        });
        let reader = {
            let owed = owed.clone();
            std::thread::Builder::new()
                .name("hash-worker-answers".to_owned())
                .spawn(move || read_answers(stdout, &owed))
        };
        let reader = match reader {
            Ok(reader) => reader,
            Err(e) => {
                end(&mut process);
                return Err(e);
            }
        };
        tracing::info!(pid = process.id(), "password hash worker started");
        Ok(ChildWorker {
            process,
            stdin,
            owed,
            reader,
            next_id: 0,
        })
    }

    /// Hands the child jobs, as many at a time as it has hashing threads, until it dies or the
    /// queue closes. Jobs a dead child held go back to `carried`, once: hashing is idempotent,
    /// and a job that kills every child it meets is answered 503 the second time. A child that
    /// never answered anything probably never ran, and does not use up its jobs' retry.
    ///
    /// A child that holds a job longer than `deadline` is stuck, and is treated as dead.
    fn feed(
        mut self,
        queue: &Receiver<Job>,
        carried: &mut VecDeque<Job>,
        deadline: Duration,
    ) -> Fed {
        let in_flight = HashingThreads::count();
        let queue_closed = loop {
            let job = match carried.pop_front() {
                Some(job) => job,
                None => match queue.recv_timeout(WATCH) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => {
                        let state = self.owed.state();
                        if !state.alive || state.overdue(deadline) {
                            break false;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break true,
                },
            };
            let mut state = self.owed.state();
            while state.alive && state.jobs.len() >= in_flight && !state.overdue(deadline) {
                state = match self.owed.changed.wait_timeout(state, WATCH) {
                    Ok((state, _)) => state,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            if !state.alive || state.jobs.len() >= in_flight {
                carried.push_front(job);
                break false;
            }
            // The caller gave up while queued (its client went away): under a storm, a hash
            // nobody waits for would only delay every job behind it.
            if job.reply.is_closed() {
                continue;
            }
            self.next_id += 1;
            let id = self.next_id;
            // Its copy of the password is wiped once written, as the `SecretString` will be.
            let line = serde_json::to_string(&Request {
                id,
                work: job.work.on_the_wire(),
            })
            .map(Zeroizing::new);
            let since = Instant::now();
            state.jobs.insert(id, Held { since, job });
            drop(state);
            let written = match line {
                Ok(line) => writeln!(self.stdin, "{}", *line).and_then(|()| self.stdin.flush()),
                Err(e) => Err(std::io::Error::other(e)),
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "could not write to the password hash worker");
                break false;
            }
        };
        // Closing stdin ends a live child; the reader then sees its stdout end.
        let ChildWorker {
            mut process,
            stdin,
            reader,
            owed,
            ..
        } = self;
        drop(stdin);
        if !queue_closed {
            end(&mut process);
        }
        let _ = process.wait();
        let _ = reader.join();
        let mut state = owed.state();
        let answered = state.answered;
        for (_, Held { mut job, .. }) in state.jobs.drain() {
            if job.retried {
                let _ = job.reply.send(Err(interrupted_twice()));
            } else {
                job.retried |= answered;
                carried.push_back(job);
            }
        }
        if queue_closed {
            Fed::QueueClosed
        } else {
            Fed::ChildGone { answered }
        }
    }
}

/// Passes each answer to its caller until the child's stdout ends.
fn read_answers(stdout: ChildStdout, owed: &Owed) {
    for line in BufReader::new(stdout).lines() {
        let answer = line
            .map_err(|e| e.to_string())
            .and_then(|line| serde_json::from_str::<Answer>(&line).map_err(|e| unreadable(&e)));
        match answer {
            Ok(Answer { id, outcome }) => {
                let job = {
                    let mut state = owed.state();
                    state.answered = true;
                    state.jobs.remove(&id)
                };
                owed.changed.notify_all();
                if let Some(Held { job, .. }) = job {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "unreadable answer from the password hash worker");
                break;
            }
        }
    }
    owed.state().alive = false;
    owed.changed.notify_all();
}

/// `convene hash-worker`: answers requests on stdin until it closes.
pub fn run_child() -> ExitCode {
    // stdout carries answers: anything the hashing threads log goes to stderr.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .try_init();
    leave_the_servers_scheduling_group();
    super::password::warm_up();
    for line in std::io::stdin().lock().lines() {
        let received = line.map_err(|e| e.to_string()).and_then(|line| {
            let line = Zeroizing::new(line);
            serde_json::from_str::<Received>(&line).map_err(|e| unreadable(&e))
        });
        let Received { id, work } = match received {
            Ok(received) => received,
            Err(e) => {
                eprintln!("convene hash-worker: unreadable request: {e}");
                return ExitCode::from(2);
            }
        };
        HashingThreads::get().submit(HashJob {
            work,
            deliver: Deliver::Server { id },
        });
    }
    ExitCode::SUCCESS
}

/// What is wrong with a line, without quoting it: serde_json's messages can quote a value, and
/// a request's values are passwords.
fn unreadable(e: &serde_json::Error) -> String {
    format!("{:?} error at column {}", e.classify(), e.column())
}

/// Kills a child and reaps it.
fn end(process: &mut std::process::Child) {
    let _ = process.kill();
    let _ = process.wait();
}

/// Writes one answer to the server (called on the child's hashing threads).
pub(super) fn answer(id: u64, outcome: Outcome) {
    let line = serde_json::to_string(&Answer { id, outcome })
        .unwrap_or_else(|e| format!(r#"{{"id":{id},"outcome":{{"failed":"{e}"}}}}"#));
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // The server is gone: nobody is left to answer.
        std::process::exit(0);
    }
}

/// A new session gets a new autogroup, which this process then gives the lowest weight.
fn leave_the_servers_scheduling_group() {
    #[cfg(target_os = "linux")]
    {
        if let Err(e) = nix::unistd::setsid() {
            tracing::warn!(error = %e, "hash worker: could not start a session of its own");
            return;
        }
        // Kernels without autogroups have no such file, and cgroups override them: not fatal.
        // Without CAP_SYS_ADMIN, Linux allows one such change every 100 ms on the whole machine
        // (EAGAIN meanwhile), so a few tries.
        let mut tries = 0;
        while let Err(e) = std::fs::write("/proc/self/autogroup", "19") {
            tries += 1;
            if e.kind() != std::io::ErrorKind::WouldBlock || tries == 20 {
                tracing::warn!(error = %e, "hash worker: could not lower its autogroup's weight");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
