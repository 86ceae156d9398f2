//! Wakes this process's email worker as soon as a request has queued mail, instead of at its
//! next poll (`worker.poll_interval_ms`): a confirmation or a thousand invitations leave the
//! moment they are committed. Workers in other processes (`convene worker`) still poll.
//!
//! The outbox notes, in the request's task, that it wrote mail; a middleware (src/app.rs)
//! rings once the handler has answered, so after its transaction committed: a worker woken
//! before the commit would find nothing. Not PostgreSQL's NOTIFY, which would reach other
//! processes too: it makes every notifying commit take one global lock (see
//! `outbox::enqueue_many`), and a registration rush queues mail with every seat.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Notify;

/// Shared by the HTTP server and the email worker of one process.
#[derive(Clone, Default)]
pub struct Doorbell(Arc<Notify>);

impl Doorbell {
    pub fn ring(&self) {
        // One stored permit at most: rings while the worker is busy wake it once afterwards.
        self.0.notify_one();
    }

    /// Resolves at the next ring, or at once when it rang since the last wait.
    pub async fn rung(&self) {
        self.0.notified().await;
    }
}

tokio::task_local! {
    static MAIL_QUEUED: Cell<bool>;
}

/// Called by the outbox whenever it writes mail that is due. Outside a request (background
/// jobs, the command line) it does nothing: the worker's poll finds that mail.
pub(crate) fn note_mail_queued() {
    let _ = MAIL_QUEUED.try_with(|queued| queued.set(true));
}

/// Runs `request` and answers, with its output, whether it queued mail.
pub async fn watch_for_mail<F: Future>(request: F) -> (F::Output, bool) {
    MAIL_QUEUED
        .scope(Cell::new(false), async move {
            let output = request.await;
            (output, MAIL_QUEUED.with(Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_that_queued_mail_is_told_apart_from_one_that_did_not() {
        let ((), queued) = watch_for_mail(async { note_mail_queued() }).await;
        assert!(queued);
        let ((), queued) = watch_for_mail(async {}).await;
        assert!(!queued);
        note_mail_queued(); // outside any request: no effect, no panic
    }

    #[tokio::test]
    async fn a_ring_while_nobody_waits_is_kept_for_the_next_wait() {
        let bell = Doorbell::default();
        bell.ring();
        bell.ring();
        tokio::time::timeout(std::time::Duration::from_secs(1), bell.rung())
            .await
            .expect("the stored ring");
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), bell.rung()).await;
        assert!(second.is_err(), "two rings before a wait wake it once");
    }
}
