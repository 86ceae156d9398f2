//! Delivers the outbox. Any number of workers, in any number of processes, claim due rows with
//! `FOR UPDATE SKIP LOCKED`; a failed send is retried with exponential backoff and jitter, a
//! permanent failure is kept with its error, and rows left in `sending` by a crashed worker are
//! claimed again after `stuck_after_secs`.
//!
//! A worker sends up to `email.smtp_pool_size` messages of its batch at once, one on each of
//! lettre's pooled connections, and records each message's outcome as soon as the server has
//! answered it, whatever the answer (a timeout may hide an acceptance). A message is sent twice
//! only when a worker dies between an acceptance and its record, so a killed worker duplicates
//! at most the messages it had in flight: `smtp_pool_size` of them. When an outcome cannot be
//! recorded (the database is gone), no further message starts; those already in flight finish
//! and are recorded if they can, and the rest of the batch goes back to the queue.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{FutureExt, StreamExt};
use lettre::message::Mailbox;
use rand::Rng;
use tokio::sync::watch;
use tracing::Instrument;

use crate::config::WorkerSettings;
use crate::db::DbPool;
use crate::mail::outbox::{self, Email};
use crate::mail::service;
use crate::mail::transport::{build_message, Mailer, SendError};

/// How often, at most, a worker logs the queue's depth and age while mail is waiting.
const SUMMARY_EVERY: Duration = Duration::from_secs(60);
/// Longest pause between claims while the database is unreachable.
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(30);

pub struct Worker {
    pool: DbPool,
    mailer: Mailer,
    from: Mailbox,
    settings: WorkerSettings,
    /// Messages sent at once: lettre's pool holds as many connections.
    concurrency: usize,
}

/// Until when a worker may still start sending a message of its batch.
struct SendWindow<'a> {
    until: Instant,
    shutdown: Option<&'a watch::Receiver<bool>>,
    /// Set when an outcome could not be recorded: nothing more starts.
    halted: AtomicBool,
}

impl SendWindow<'_> {
    fn is_open(&self) -> bool {
        Instant::now() < self.until
            && !self.shutdown.is_some_and(|s| *s.borrow())
            && !self.halted.load(Ordering::Relaxed)
    }
}

/// What to record for one message.
#[derive(Debug)]
enum Outcome {
    Sent,
    Retry {
        error: String,
        at: chrono::DateTime<Utc>,
    },
    Failed {
        error: String,
    },
}

/// Due mail claimed by one query: its rows are `sending` from `claimed_at`.
struct Batch {
    emails: Vec<Email>,
    claimed_at: Instant,
}

/// Why the worker waits before its next claim.
enum Pause {
    /// Nothing was due: until the next poll.
    Idle,
    /// The claim failed: longer each time, up to a bound.
    Backoff(Duration),
}

impl Worker {
    pub fn new(
        pool: DbPool,
        mailer: Mailer,
        from: &str,
        settings: WorkerSettings,
        concurrency: u32,
    ) -> anyhow::Result<Worker> {
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("email.from `{from}` is not a mailbox: {e}"))?;
        Ok(Worker {
            pool,
            mailer,
            from,
            settings,
            concurrency: concurrency.max(1) as usize,
        })
    }

    /// Delivers until `shutdown` turns true. The messages being sent are finished; the rest of
    /// the batch, and the batch claimed ahead, are handed back to the queue.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("email worker started");
        let idle = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let mut error_pause = idle;
        let mut last_summary: Option<Instant> = None;
        let mut ahead: Option<Batch> = None;
        while !*shutdown.borrow() {
            let claimed = match ahead.take() {
                Some(batch) => Ok(batch),
                None => self.claim().await,
            };
            let pause = match claimed {
                Ok(batch) => {
                    error_pause = idle;
                    if batch.emails.is_empty() {
                        Some(Pause::Idle)
                    } else {
                        // The next batch is claimed while this one goes out, so the SMTP
                        // connections do not wait on the database between batches.
                        let (_, next) =
                            tokio::join!(self.deliver(batch, Some(&shutdown)), self.claim());
                        match next {
                            Ok(next) => ahead = Some(next),
                            Err(e) => tracing::warn!(error = %e,
                                "email worker could not claim the next batch; retrying"),
                        }
                        // A full queue is worked through without pausing.
                        None
                    }
                }
                Err(e) => {
                    let pause = error_pause;
                    error_pause = (error_pause * 2).min(MAX_ERROR_PAUSE);
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64,
                        "email worker could not claim mail; retrying");
                    Some(Pause::Backoff(pause))
                }
            };
            self.log_summary(&mut last_summary).await;
            match pause {
                Some(Pause::Idle) => {
                    crate::runtime::pause_unless_stopped(idle, &mut shutdown).await
                }
                Some(Pause::Backoff(pause)) => {
                    crate::runtime::pause_unless_stopped(pause, &mut shutdown).await
                }
                None => {}
            }
        }
        if let Some(batch) = ahead {
            self.release(&batch.emails).await;
        }
        tracing::info!("email worker stopped");
    }

    /// Rescues stuck rows and claims one batch of due mail.
    async fn claim(&self) -> anyhow::Result<Batch> {
        let claimed_at = Instant::now();
        let mut conn = self.pool.get().await?;
        let rescued = outbox::rescue_stuck(
            &mut conn,
            self.settings.stuck_after_secs,
            self.settings.max_attempts,
        )
        .await?;
        if rescued.requeued > 0 || rescued.failed > 0 {
            tracing::warn!(
                requeued = rescued.requeued,
                failed = rescued.failed,
                "rescued emails left in `sending` by a stopped worker"
            );
        }
        let mut emails = outbox::claim_due(&mut conn, self.settings.batch_size).await?;
        // Links whose token is made at send time (no queued row holds a usable token).
        let stale =
            crate::invitations::reminders::mint_reminder_links(&mut conn, &mut emails).await?;
        if !stale.is_empty() {
            outbox::cancel_claimed(&mut conn, &stale).await?;
            emails.retain(|e| !stale.contains(&e.id));
        }
        Ok(Batch { emails, claimed_at })
    }

    /// Sends a claimed batch, up to `concurrency` messages at once, and hands back what it
    /// could not start before its window closed.
    async fn deliver(&self, batch: Batch, shutdown: Option<&watch::Receiver<bool>>) {
        let Batch { emails, claimed_at } = batch;
        // Never start a message so late that the row could be rescued as stuck while we hold
        // it, nor once the worker is stopping.
        let window = SendWindow {
            until: claimed_at
                + Duration::from_millis((self.settings.stuck_after_secs.max(1) * 500) as u64),
            shutdown,
            halted: AtomicBool::new(false),
        };
        let unsent = Mutex::new(Vec::new());
        // A message is taken from the batch only when a slot is free, so the window is looked
        // at just before each message starts: the in-flight messages (at most `concurrency`)
        // are the only ones a kill can leave sent but unrecorded. Messages to one address go
        // one after another in the order they were written (ids are time-ordered), so the last
        // to arrive is the newest: a resubmitted confirmation's link is the one that works.
        futures_util::stream::iter(by_recipient(emails))
            .for_each_concurrent(self.concurrency, |queue| {
                let (window, unsent) = (&window, &unsent);
                async move {
                    let mut queue = queue.into_iter();
                    while let Some(email) = queue.next() {
                        if !window.is_open() {
                            let mut unsent = unsent.lock().expect("unsent list");
                            unsent.push(email);
                            unsent.extend(queue);
                            return;
                        }
                        let span = tracing::info_span!("deliver_email", email_id = %email.id,
                            kind = %email.kind, attempt = email.attempts);
                        if !self.deliver_one(email).instrument(span).await {
                            window.halted.store(true, Ordering::Relaxed);
                        }
                    }
                }
            })
            .await;
        let unsent = unsent.into_inner().expect("unsent list");
        if !unsent.is_empty() {
            self.release(&unsent).await;
        }
    }

    /// Sends one message and records its outcome; false when the outcome could not be
    /// recorded, and the worker must send nothing more.
    async fn deliver_one(&self, email: Email) -> bool {
        let result = catch_panic(async {
            let message = build_message(&email, &self.from)?;
            self.mailer.send(message, &email).await
        })
        .await
        .and_then(|sent| sent);
        let outcome = match result {
            Ok(()) => {
                tracing::info!("email sent");
                Outcome::Sent
            }
            Err(SendError::Transient(error)) if email.attempts < self.settings.max_attempts => {
                let delay = self.backoff(email.attempts);
                tracing::warn!(%error, retry_in_ms = delay.num_milliseconds(),
                    "email send failed; will retry");
                Outcome::Retry {
                    error,
                    at: Utc::now() + delay,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, attempts = email.attempts, "email failed; giving up");
                Outcome::Failed {
                    error: match e {
                        SendError::Transient(error) => format!(
                            "gave up after {} attempts; last error: {error}",
                            email.attempts
                        ),
                        SendError::Permanent(error) => error,
                    },
                }
            }
        };
        self.record(&email, &outcome).await
    }

    /// Records the outcome, retrying briefly while the database is unreachable: a delivered
    /// message that stays unrecorded would be sent again once rescued.
    /// False when it gave up: the worker then starts no further message of its batch, since
    /// every further acceptance could be sent again after a rescue.
    async fn record(&self, email: &Email, outcome: &Outcome) -> bool {
        let mut wait = Duration::from_millis(100);
        for _ in 0..5 {
            match self.try_record(email, outcome).await {
                Ok(true) => return true,
                Ok(false) => {
                    tracing::warn!(
                        ?outcome,
                        "the email was rescued by another worker while this one held it; \
                         this outcome is not recorded and the message may go out twice"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not record the email's delivery; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 3;
                }
            }
        }
        tracing::error!(
            ?outcome,
            "could not record the email's delivery; it stays in `sending` and is rescued after \
             worker.stuck_after_secs"
        );
        false
    }

    async fn try_record(&self, email: &Email, outcome: &Outcome) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await?;
        Ok(match outcome {
            Outcome::Sent => outbox::mark_sent(&mut conn, email).await?,
            Outcome::Retry { error, at } => {
                outbox::mark_retry(&mut conn, email, error, *at).await?
            }
            Outcome::Failed { error } => outbox::mark_failed(&mut conn, email, error).await?,
        })
    }

    async fn release(&self, claims: &[Email]) {
        let released = match self.pool.get().await {
            Ok(mut conn) => outbox::release(&mut conn, claims)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e.into()),
        };
        match released {
            Ok(n) => tracing::debug!(released = n, "handed unsent emails back to the queue"),
            // They stay in `sending` and are rescued after stuck_after_secs.
            Err(e) => tracing::warn!(error = %e, "could not hand unsent emails back to the queue"),
        }
    }

    /// base × 2^(attempt-1), capped at a day, with ±25% jitter so retries do not stampede.
    fn backoff(&self, attempt: i32) -> chrono::Duration {
        backoff(self.settings.backoff_base_secs, attempt)
    }

    /// Logs the queue's depth and the age of its oldest message, at most once a minute and
    /// only while mail is waiting.
    async fn log_summary(&self, last: &mut Option<Instant>) {
        if last.is_some_and(|at| at.elapsed() < SUMMARY_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let Ok(mut conn) = self.pool.get().await else {
            return;
        };
        match service::queue_summary(&mut conn).await {
            Ok(s) if s.queued_due > 0 || s.sending > 0 => tracing::info!(
                queued_due = s.queued_due,
                sending = s.sending,
                oldest_unsent_age_seconds = s.oldest_unsent_age_seconds.round() as i64,
                "email queue"
            ),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "could not read the email queue's summary"),
        }
    }
}

/// base × 2^(attempt-1) seconds, capped at a day, with ±25% jitter.
fn backoff(base_secs: i64, attempt: i32) -> chrono::Duration {
    let exponent = (attempt.max(1) - 1).min(20);
    let base = base_secs.max(1) as f64;
    let secs = (base * 2f64.powi(exponent)).min(86_400.0);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    chrono::Duration::milliseconds((secs * jitter * 1000.0) as i64)
}

/// Turns a panic inside one send into a transient error of that message instead of the end
/// of the worker. In the worker's own task: a task per message put a wake-up across threads
/// between each acceptance and its record, on the path where no other message goes through.
async fn catch_panic<T>(send: impl Future<Output = T>) -> Result<T, SendError> {
    match std::panic::AssertUnwindSafe(send).catch_unwind().await {
        Ok(answer) => Ok(answer),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(SendError::Transient(format!("sending panicked: {what}")))
        }
    }
}

/// The batch as one queue per recipient (addresses compared without case), each in the order
/// its messages were written.
fn by_recipient(mut emails: Vec<Email>) -> Vec<Vec<Email>> {
    emails.sort_by_key(|e| e.id);
    let mut queues: Vec<Vec<Email>> = Vec::new();
    let mut queue_of: HashMap<String, usize> = HashMap::new();
    for email in emails {
        let key = email.to_address.to_lowercase();
        match queue_of.get(&key) {
            Some(&i) => queues[i].push(email),
            None => {
                queue_of.insert(key, queues.len());
                queues.push(vec![email]);
            }
        }
    }
    queues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_send_is_a_transient_error() {
        let outcome = catch_panic::<()>(async { panic!("boom") }).await;
        match outcome {
            Err(SendError::Transient(error)) => assert!(error.contains("boom"), "{error}"),
            other => panic!("expected a transient error, got {other:?}"),
        }
        assert!(catch_panic(async {}).await.is_ok());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempt in 1..=6 {
            let expected = 10.0 * 2f64.powi(attempt - 1);
            let got = backoff(10, attempt).num_milliseconds() as f64 / 1000.0;
            assert!(
                got >= expected * 0.75 && got <= expected * 1.25,
                "attempt {attempt}: {got}s, expected about {expected}s"
            );
        }
        assert!(backoff(30, 40).num_seconds() <= (86_400.0 * 1.25) as i64);
    }
}
