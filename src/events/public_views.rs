//! The public views of events — the JSON view of `GET /api/v1/events/{id}` and the HTML page
//! `/events/{slug}`, as they are for a visitor nobody knows — kept in memory a short while, so
//! that a rush of readers costs the database one read per view and per `server.public_cache_ms`.
//!
//! What holds:
//! - A kept view was computed for nobody: no online link, no closed session's details (rule 2).
//!   Callers keep only what they computed without a viewer.
//! - A view is served at most `ttl` after its read began, on this instance as on any other: a
//!   change committed anywhere shows everywhere within `ttl`.
//! - An edit made through this instance shows here at once: the service that commits it calls
//!   [`PublicViews::forget_event`] (or [`PublicViews::forget_all`]) after its commit, and no view
//!   whose read began before that call is served again, even one still being read then.
//! - Seat counts are not edits: a registration taken, confirmed, approved or cancelled shows
//!   within `ttl`, as a change made on another instance does. A rush changes them many times a
//!   second, and forgetting the views at each would send nearly every reader to the database.
//!   A signed-in registrant sees their own seat at once: a seat holder's view is never kept.
//! - One read per view at a time (moka's `try_get_with`): readers who come meanwhile wait for
//!   it and share its answer. Failures (an event not found or not public, a busy pool) are not
//!   kept.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;
use moka::Expiry;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The memory all kept views may take: far more than the published events of a network.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Which rendering of an event a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewKind {
    /// The anonymous `EventView` as JSON.
    Json,
    /// The anonymous HTML page, its forms without a CSRF token.
    Page,
}

/// A view as computed for nobody, and the event it shows.
pub struct Rendered {
    pub event_id: Uuid,
    pub body: Bytes,
}

/// The handle services and handlers share; cheap to clone. Disabled (every read goes to the
/// database) when the freshness bound is zero.
#[derive(Clone)]
pub struct PublicViews {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    views: Cache<Key, View>,
    changes: Changes,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: ViewKind,
    id_or_slug: String,
}

#[derive(Clone)]
struct View {
    event_id: Uuid,
    /// When the read that produced it began: the view shows the database as of then or later.
    read_at: Instant,
    body: Bytes,
}

impl PublicViews {
    /// Views fresh for `ttl`; none kept when it is zero.
    pub fn new(ttl: Duration) -> PublicViews {
        if ttl.is_zero() {
            return PublicViews { inner: None };
        }
        let views = Cache::builder()
            .max_capacity(MAX_BYTES)
            .weigher(|_: &Key, view: &View| u32::try_from(view.body.len()).unwrap_or(u32::MAX))
            .expire_after(AgeFromRead(ttl))
            .build();
        PublicViews {
            inner: Some(Arc::new(Inner {
                views,
                changes: Changes::new(ttl),
            })),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The `kind` view of the event named `id_or_slug`: the kept one while fresh, else what
    /// `load` computes (for nobody), kept for the next readers. `load` runs at most twice.
    pub async fn get_or_load<F, Fut>(
        &self,
        kind: ViewKind,
        id_or_slug: &str,
        load: F,
    ) -> AppResult<Bytes>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = AppResult<Rendered>>,
    {
        let Some(inner) = &self.inner else {
            return Ok(load().await?.body);
        };
        let key = Key {
            kind,
            id_or_slug: id_or_slug.to_owned(),
        };
        let view = inner.get(&key, &load).await?;
        if inner.changes.is_current(&view) {
            return Ok(view.body);
        }
        // Read before a change made here: read again. A change during that read is newer than
        // this request, whose answer the new read is.
        inner.views.invalidate(&key).await;
        Ok(inner.get(&key, &load).await?.body)
    }

    /// Forgets the event's views: a change to what they show has just committed. Call it after
    /// the commit: a view read between this call and the commit would keep the old state.
    pub fn forget_event(&self, event_id: Uuid) {
        if let Some(inner) = &self.inner {
            inner.changes.record(Some(event_id));
        }
    }

    /// Forgets every event's views, for a change that shows on events it cannot name (an
    /// organisation's name, shown on each event it is a partner of). After the commit, as
    /// `forget_event`.
    pub fn forget_all(&self) {
        if let Some(inner) = &self.inner {
            inner.changes.record(None);
        }
    }
}

impl Inner {
    async fn get<F, Fut>(&self, key: &Key, load: &F) -> AppResult<View>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = AppResult<Rendered>>,
    {
        let read = async {
            let read_at = Instant::now();
            let rendered = load().await?;
            Ok::<_, AppError>(View {
                event_id: rendered.event_id,
                read_at,
                body: rendered.body,
            })
        };
        self.views
            .try_get_with(key.clone(), read)
            .await
            .map_err(|shared| copy_error(&shared))
    }
}

/// A view expires `ttl` after its read began, not after it was stored: a slow read is fresh
/// for that much less.
struct AgeFromRead(Duration);

impl Expiry<Key, View> for AgeFromRead {
    fn expire_after_create(&self, _: &Key, view: &View, created_at: Instant) -> Option<Duration> {
        Some(
            self.0
                .saturating_sub(created_at.saturating_duration_since(view.read_at)),
        )
    }
}

/// When each event's views last went stale through a change made here, so that no view read
/// before it is served.
struct Changes {
    ttl: Duration,
    epoch: Instant,
    /// Nanoseconds from `epoch` to the latest change: a view read after it is current without
    /// taking the lock (every read while nothing changes).
    latest: AtomicU64,
    marks: Mutex<Marks>,
}

#[derive(Default)]
struct Marks {
    all: Option<Instant>,
    events: HashMap<Uuid, Instant>,
}

impl Changes {
    fn new(ttl: Duration) -> Changes {
        Changes {
            ttl,
            epoch: Instant::now(),
            latest: AtomicU64::new(0),
            marks: Mutex::default(),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn record(&self, event_id: Option<Uuid>) {
        let now = Instant::now();
        let mut marks = self.marks.lock().unwrap_or_else(PoisonError::into_inner);
        match event_id {
            Some(id) => {
                marks.events.insert(id, now);
            }
            None => marks.all = Some(now),
        }
        // A mark older than a TTL concerns no view still kept: those read before it expired.
        marks
            .events
            .retain(|_, at| now.saturating_duration_since(*at) < self.ttl);
        self.latest.store(self.nanos(now), Ordering::Release);
    }

    fn is_current(&self, view: &View) -> bool {
        if self.nanos(view.read_at) > self.latest.load(Ordering::Acquire) {
            return true;
        }
        let marks = self.marks.lock().unwrap_or_else(PoisonError::into_inner);
        let after = |mark: Option<&Instant>| mark.is_none_or(|at| view.read_at > *at);
        after(marks.all.as_ref()) && after(marks.events.get(&view.event_id))
    }
}

/// The readers who waited for a failed read each answer its error.
fn copy_error(e: &AppError) -> AppError {
    match e {
        AppError::Problem {
            status,
            code,
            detail,
            retry_after_secs,
        } => AppError::Problem {
            status: *status,
            code: *code,
            detail: detail.clone(),
            retry_after_secs: *retry_after_secs,
        },
        AppError::Validation(errors) => AppError::Validation(errors.clone()),
        AppError::Unavailable(why) => AppError::Unavailable(why.clone()),
        AppError::Internal(cause) => AppError::Internal(anyhow::anyhow!("{cause:#}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    const TTL: Duration = Duration::from_millis(200);

    /// A view of `event` whose body counts the reads.
    async fn read(views: &PublicViews, event: Uuid, reads: &AtomicUsize) -> AppResult<Bytes> {
        views
            .get_or_load(ViewKind::Json, "tokyo", || async {
                let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Rendered {
                    event_id: event,
                    body: Bytes::from(format!("read {n}")),
                })
            })
            .await
    }

    #[tokio::test]
    async fn a_view_is_read_once_per_ttl_and_again_after_it() {
        let views = PublicViews::new(TTL);
        let (event, reads) = (Uuid::now_v7(), AtomicUsize::new(0));
        assert_eq!(read(&views, event, &reads).await.unwrap(), "read 1");
        assert_eq!(read(&views, event, &reads).await.unwrap(), "read 1");
        tokio::time::sleep(TTL + Duration::from_millis(20)).await;
        assert_eq!(read(&views, event, &reads).await.unwrap(), "read 2");
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_read() {
        let views = PublicViews::new(TTL);
        let (event, reads) = (Uuid::now_v7(), AtomicUsize::new(0));
        let slow = || async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(Rendered {
                event_id: event,
                body: Bytes::from_static(b"view"),
            })
        };
        let all = futures_util::future::join_all(
            (0..20).map(|_| views.get_or_load(ViewKind::Json, "tokyo", slow)),
        )
        .await;
        assert!(all.iter().all(|r| r.as_ref().is_ok_and(|b| b == "view")));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn forgetting_an_event_sends_its_next_reader_to_the_database_and_no_other() {
        let views = PublicViews::new(Duration::from_secs(60));
        let (tokyo, reads) = (Uuid::now_v7(), AtomicUsize::new(0));
        let other_reads = AtomicUsize::new(0);
        let other = || async {
            other_reads.fetch_add(1, Ordering::SeqCst);
            Ok(Rendered {
                event_id: Uuid::now_v7(),
                body: Bytes::from_static(b"seoul"),
            })
        };
        read(&views, tokyo, &reads).await.unwrap();
        views
            .get_or_load(ViewKind::Json, "seoul", other)
            .await
            .unwrap();
        views.forget_event(tokyo);
        assert_eq!(read(&views, tokyo, &reads).await.unwrap(), "read 2");
        assert_eq!(read(&views, tokyo, &reads).await.unwrap(), "read 2");
        views
            .get_or_load(ViewKind::Json, "seoul", other)
            .await
            .unwrap();
        assert_eq!(other_reads.load(Ordering::SeqCst), 1);

        views.forget_all();
        assert_eq!(read(&views, tokyo, &reads).await.unwrap(), "read 3");
    }

    /// A read that began before a change and ends after the change was forgotten is served to
    /// nobody: its reader reads again, and so the readers after it get the change.
    #[tokio::test]
    async fn a_read_begun_before_a_change_is_not_served_after_it() {
        let views = PublicViews::new(Duration::from_secs(60));
        let event = Uuid::now_v7();
        let reads = AtomicUsize::new(0);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let started = Mutex::new(Some(started_tx));
        let finish = tokio::sync::Mutex::new(Some(finish_rx));
        let overlapping = views.get_or_load(ViewKind::Json, "tokyo", || async {
            let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(tx) = started.lock().unwrap().take() {
                let _ = tx.send(());
            }
            if let Some(rx) = finish.lock().await.take() {
                let _ = rx.await;
            }
            Ok(Rendered {
                event_id: event,
                body: Bytes::from(format!("read {n}")),
            })
        });
        let change = async {
            let _ = started_rx.await;
            views.forget_event(event);
            let _ = finish_tx.send(());
        };
        let (answer, ()) = tokio::join!(overlapping, change);
        assert_eq!(answer.unwrap(), "read 2", "read again after the change");
        assert_eq!(read(&views, event, &reads).await.unwrap(), "read 2");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let views = PublicViews::new(Duration::from_secs(60));
        let gone = views
            .get_or_load(ViewKind::Page, "tokyo", || async {
                Err(AppError::not_found("event"))
            })
            .await;
        assert!(gone.is_err_and(|e| e.is_not_found()));
        let (event, reads) = (Uuid::now_v7(), AtomicUsize::new(0));
        let found = views
            .get_or_load(ViewKind::Page, "tokyo", || read_page(event, &reads))
            .await;
        assert_eq!(found.unwrap(), "page");
    }

    async fn read_page(event: Uuid, reads: &AtomicUsize) -> AppResult<Rendered> {
        reads.fetch_add(1, Ordering::SeqCst);
        Ok(Rendered {
            event_id: event,
            body: Bytes::from_static(b"page"),
        })
    }

    #[tokio::test]
    async fn a_zero_ttl_keeps_nothing() {
        let views = PublicViews::new(Duration::ZERO);
        assert!(!views.is_enabled());
        let (event, reads) = (Uuid::now_v7(), AtomicUsize::new(0));
        read(&views, event, &reads).await.unwrap();
        read(&views, event, &reads).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
