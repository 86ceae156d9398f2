//! A micro-cache of the anonymous view of events: during a registration rush thousands of
//! visitors read the same event every second, and every one of them sees the same JSON.
//!
//! Entries are fresh for `server.public_cache_ms` (1 s by default; 0 turns the cache off). When
//! one goes stale, the first reader refreshes it from the database while the others keep
//! getting the stale copy, for at most one more TTL: without that, every expiry sent all
//! concurrent readers to the database at once and their queue for pooled connections put the
//! p99 of a cached read near one second (docs/PERFORMANCE.md). So, while the database answers
//! within a TTL, a change shows everywhere within two TTLs, on this instance and any other
//! (a slower database stretches that: the stale copy is served until a refresh lands); a
//! successful change to an event's content
//! made through this instance empties the cache at once (a middleware in src/app.rs), and a
//! refresh that read the database before such a change is not stored. Seat counts follow
//! registrations within the same bound. Only the anonymous view is cached: staff and
//! registrants (who may see the online link) always read the database.
//!
//! Hand-written rather than a caching crate: it is one map with a deadline per entry, and the
//! stale-while-refreshing rule and the generation check are the whole point.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// More distinct keys than this in one TTL means something is scanning: start over.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct PublicCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Bumped by every `clear`: a refresh begun before it must not store what it read.
    generation: u64,
}

struct Entry {
    body: Bytes,
    stored: Instant,
    /// When a reader set out to refresh this stale entry; others serve it meanwhile.
    refreshing_since: Option<Instant>,
}

/// What a reader should do.
pub enum Lookup {
    /// Serve this body.
    Hit(Bytes),
    /// Read the database, then hand the result to [`PublicCache::put`] (or
    /// [`PublicCache::forget`] when there is nothing to show).
    Refresh(RefreshTicket),
}

/// Proof of which cache generation a refresh started in.
pub struct RefreshTicket {
    generation: u64,
}

impl PublicCache {
    pub fn lookup(&self, key: &str, ttl: Duration) -> Lookup {
        let Ok(mut inner) = self.inner.lock() else {
            return Lookup::Refresh(RefreshTicket { generation: 0 });
        };
        let generation = inner.generation;
        let refresh = Lookup::Refresh(RefreshTicket { generation });
        let Some(entry) = inner.entries.get_mut(key) else {
            return refresh;
        };
        if entry.stored.elapsed() < ttl {
            return Lookup::Hit(entry.body.clone());
        }
        // A refresher that failed or vanished without a word is replaced after one TTL.
        let being_refreshed = entry
            .refreshing_since
            .is_some_and(|since| since.elapsed() < ttl);
        if being_refreshed {
            Lookup::Hit(entry.body.clone())
        } else {
            entry.refreshing_since = Some(Instant::now());
            refresh
        }
    }

    /// Stores what a refresh read, unless the cache was emptied since it started.
    pub fn put(&self, key: String, body: Bytes, ticket: RefreshTicket) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != ticket.generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES && !inner.entries.contains_key(&key) {
            inner.entries.clear();
        }
        inner.entries.insert(
            key,
            Entry {
                body,
                stored: Instant::now(),
                refreshing_since: None,
            },
        );
    }

    /// Drops one entry: its event is gone or no longer public.
    pub fn forget(&self, key: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.entries.remove(key);
        }
    }

    /// Forgets everything: called after a change to an event's content made through this
    /// instance, so its own writes are read back at once.
    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.entries.clear();
            inner.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_millis(50);

    fn refresh(cache: &PublicCache, key: &str) -> RefreshTicket {
        match cache.lookup(key, TTL) {
            Lookup::Refresh(ticket) => ticket,
            Lookup::Hit(_) => panic!("expected a refresh for {key}"),
        }
    }

    fn hit(cache: &PublicCache, key: &str) -> Bytes {
        match cache.lookup(key, TTL) {
            Lookup::Hit(body) => body,
            Lookup::Refresh(_) => panic!("expected a hit for {key}"),
        }
    }

    #[test]
    fn one_reader_refreshes_a_stale_entry_while_the_others_get_the_stale_copy() {
        let cache = PublicCache::default();
        let ticket = refresh(&cache, "tokyo");
        cache.put("tokyo".into(), Bytes::from_static(b"v1"), ticket);
        assert_eq!(hit(&cache, "tokyo"), "v1");

        std::thread::sleep(TTL);
        let ticket = refresh(&cache, "tokyo");
        assert_eq!(hit(&cache, "tokyo"), "v1", "stale while being refreshed");
        cache.put("tokyo".into(), Bytes::from_static(b"v2"), ticket);
        assert_eq!(hit(&cache, "tokyo"), "v2");
    }

    #[test]
    fn a_refresher_that_never_returns_is_replaced_after_one_ttl() {
        let cache = PublicCache::default();
        let ticket = refresh(&cache, "tokyo");
        cache.put("tokyo".into(), Bytes::from_static(b"v1"), ticket);
        std::thread::sleep(TTL);
        let _abandoned = refresh(&cache, "tokyo");
        std::thread::sleep(TTL);
        refresh(&cache, "tokyo");
    }

    #[test]
    fn a_refresh_that_started_before_a_change_is_not_stored() {
        let cache = PublicCache::default();
        let before_the_change = refresh(&cache, "tokyo");
        cache.clear();
        cache.put(
            "tokyo".into(),
            Bytes::from_static(b"old"),
            before_the_change,
        );
        refresh(&cache, "tokyo");
    }

    #[test]
    fn forgetting_an_entry_sends_the_next_reader_to_the_database() {
        let cache = PublicCache::default();
        let ticket = refresh(&cache, "tokyo");
        cache.put("tokyo".into(), Bytes::from_static(b"v1"), ticket);
        cache.forget("tokyo");
        refresh(&cache, "tokyo");
    }
}
