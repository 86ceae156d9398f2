//! Delivers the outbox. Any number of workers, in any number of processes, claim due rows with
//! `FOR UPDATE SKIP LOCKED`; a failed send is retried with exponential backoff and jitter, a
//! permanent failure is kept with its error, and rows left in `sending` by a crashed worker are
//! claimed again after `stuck_after_secs`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use lettre::message::Mailbox;
use rand::Rng;
use tokio::sync::watch;
use tracing::Instrument;

use crate::config::WorkerSettings;
use crate::db::schema::emails;
use crate::db::DbPool;
use crate::mail::outbox::{Email, EmailStatus};
use crate::mail::transport::{build_message, Mailer, SendError};

pub struct Worker {
    pool: DbPool,
    mailer: Arc<Mailer>,
    from: Mailbox,
    settings: WorkerSettings,
}

impl Worker {
    pub fn new(
        pool: DbPool,
        mailer: Mailer,
        from: &str,
        settings: WorkerSettings,
    ) -> anyhow::Result<Worker> {
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("email.from `{from}` is not a mailbox: {e}"))?;
        Ok(Worker {
            pool,
            mailer: Arc::new(mailer),
            from,
            settings,
        })
    }

    /// Delivers until `shutdown` turns true, finishing the batch in hand first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("email worker started");
        let idle = Duration::from_millis(self.settings.poll_interval_ms);
        while !*shutdown.borrow() {
            let delivered = match self.run_batch().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "email worker could not claim mail; retrying");
                    0
                }
            };
            if delivered == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!("email worker stopped");
    }

    /// Claims one batch of due mail and sends it; returns how many rows it handled.
    pub async fn run_batch(&self) -> anyhow::Result<usize> {
        let batch = self.claim().await?;
        let count = batch.len();
        let sends = batch.into_iter().map(|email| {
            let span = tracing::info_span!("deliver_email", email_id = %email.id, kind = %email.kind, attempt = email.attempts);
            self.deliver(email).instrument(span)
        });
        futures_util::future::join_all(sends).await;
        Ok(count)
    }

    async fn claim(&self) -> anyhow::Result<Vec<Email>> {
        let mut conn = self.pool.get().await?;
        let claimed = diesel::sql_query(
            "UPDATE emails SET status = 'sending', locked_at = now(), attempts = attempts + 1 \
             WHERE id IN ( \
                 SELECT id FROM emails \
                 WHERE (status = 'queued' AND next_attempt_at <= now()) \
                    OR (status = 'sending' AND locked_at < now() - make_interval(secs => $2)) \
                 ORDER BY next_attempt_at, id \
                 LIMIT $1 \
                 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
        )
        .bind::<diesel::sql_types::BigInt, _>(self.settings.batch_size)
        .bind::<diesel::sql_types::Double, _>(self.settings.stuck_after_secs as f64)
        .load::<Email>(&mut conn)
        .await?;
        Ok(claimed)
    }

    async fn deliver(&self, email: Email) {
        let outcome = match build_message(&email, &self.from) {
            Ok(message) => self.mailer.send(message, &email).await,
            Err(e) => Err(e),
        };
        let result = match outcome {
            Ok(()) => {
                tracing::info!(to = %email.to_address, "email sent");
                self.mark_sent(&email).await
            }
            Err(SendError::Transient(error)) if email.attempts < self.settings.max_attempts => {
                let delay = self.backoff(email.attempts);
                tracing::warn!(%error, retry_in_secs = delay.num_seconds(), "email send failed; will retry");
                self.mark_retry(&email, &error, Utc::now() + delay).await
            }
            Err(e) => {
                tracing::error!(error = %e, attempts = email.attempts, "email failed permanently");
                self.mark_failed(&email, &e.to_string()).await
            }
        };
        if let Err(e) = result {
            // The row stays in `sending` and is rescued after stuck_after_secs.
            tracing::error!(error = %e, "could not record the email's delivery state");
        }
    }

    /// base × 2^(attempt-1), capped at a day, with ±25% jitter so retries do not stampede.
    fn backoff(&self, attempt: i32) -> chrono::Duration {
        let exponent = (attempt.max(1) - 1).min(20) as u32;
        let base = self.settings.backoff_base_secs.max(1) as f64;
        let secs = (base * 2f64.powi(exponent as i32)).min(86_400.0);
        let jitter = rand::thread_rng().gen_range(0.75..1.25);
        chrono::Duration::milliseconds((secs * jitter * 1000.0) as i64)
    }

    /// Only the claim that holds the row may record its outcome (`locked_at` fences a rescue).
    fn claimed_by_us(email: &Email) -> (Option<DateTime<Utc>>, uuid::Uuid) {
        (email.locked_at, email.id)
    }

    async fn mark_sent(&self, email: &Email) -> anyhow::Result<()> {
        let (locked_at, id) = Self::claimed_by_us(email);
        let mut conn = self.pool.get().await?;
        diesel::update(emails::table)
            .filter(emails::id.eq(id))
            .filter(emails::locked_at.eq(locked_at))
            .set((
                emails::status.eq(EmailStatus::Sent),
                emails::sent_at.eq(Utc::now()),
                emails::locked_at.eq(None::<DateTime<Utc>>),
                emails::last_error.eq(None::<String>),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    async fn mark_retry(
        &self,
        email: &Email,
        error: &str,
        next: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let (locked_at, id) = Self::claimed_by_us(email);
        let mut conn = self.pool.get().await?;
        diesel::update(emails::table)
            .filter(emails::id.eq(id))
            .filter(emails::locked_at.eq(locked_at))
            .set((
                emails::status.eq(EmailStatus::Queued),
                emails::next_attempt_at.eq(next),
                emails::locked_at.eq(None::<DateTime<Utc>>),
                emails::last_error.eq(Some(error)),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, email: &Email, error: &str) -> anyhow::Result<()> {
        let (locked_at, id) = Self::claimed_by_us(email);
        let mut conn = self.pool.get().await?;
        diesel::update(emails::table)
            .filter(emails::id.eq(id))
            .filter(emails::locked_at.eq(locked_at))
            .set((
                emails::status.eq(EmailStatus::Failed),
                emails::locked_at.eq(None::<DateTime<Utc>>),
                emails::last_error.eq(Some(error)),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}
