//! Transactions that PostgreSQL may roll back under concurrency, run again.
//!
//! The lock order of `db::locks` keeps our own transactions from deadlocking one another, but a
//! deadlock (SQLSTATE 40P01) or a serialization failure (40001) can still come from what the
//! order does not cover (foreign-key checks, unique-index waits). PostgreSQL then rolled the
//! whole transaction back, so running it again is safe whenever its body has no effect outside
//! the database: every email of Convene is an outbox row written in the same transaction.
//! After the last attempt the error answers 503 with `Retry-After`.

use std::time::Duration;

use diesel_async::scoped_futures::ScopedBoxFuture;
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use rand::Rng;

use crate::error::{AppError, AppResult};

/// Attempts in all, the first included.
pub const ATTEMPTS: u32 = 3;

/// Runs `body` in a transaction, and again (up to [`ATTEMPTS`] in all, after a short jittered
/// pause) while PostgreSQL rolls it back for a deadlock or a serialization failure. `body` is
/// called once per attempt, so it must rebuild from its captures whatever it consumes.
pub async fn transaction<'a, R, F>(conn: &mut AsyncPgConnection, mut body: F) -> AppResult<R>
where
    F: for<'r> FnMut(&'r mut AsyncPgConnection) -> ScopedBoxFuture<'a, 'r, AppResult<R>>
        + Send
        + 'a,
    R: Send + 'a,
{
    let mut attempt = 1;
    loop {
        match once(conn, &mut body).await {
            Err(e) if e.is_rolled_back() && attempt < ATTEMPTS => {
                tracing::info!(
                    attempt,
                    "transaction rolled back by a concurrent one; retrying"
                );
                tokio::time::sleep(pause(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn once<'a, R, F>(conn: &mut AsyncPgConnection, body: &mut F) -> AppResult<R>
where
    F: for<'r> FnMut(&'r mut AsyncPgConnection) -> ScopedBoxFuture<'a, 'r, AppResult<R>>
        + Send
        + 'a,
    R: Send + 'a,
{
    AnsiTransactionManager::begin_transaction(conn).await?;
    match body(&mut *conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(error) => match AnsiTransactionManager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(AppError::from(rollback)),
        },
    }
}

/// 10–30 ms, then 20–60 ms: long enough for the transaction that won to commit, short
/// against a request's budget; the jitter keeps two losers from meeting again.
fn pause(attempt: u32) -> Duration {
    let base = 10 * u64::from(attempt);
    Duration::from_millis(base + rand::thread_rng().gen_range(0..=2 * base))
}
