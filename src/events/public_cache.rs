//! A micro-cache of the anonymous view of events: during a registration rush thousands of
//! visitors read the same event every second, and every one of them sees the same JSON. So do
//! signed-in members who neither run the event nor hold a seat in it (`get_event` asks that in
//! one query); staff, admins and seat holders always read the database.
//!
//! Entries are fresh for `server.public_cache_ms` (1 s by default; 0 turns the cache off). After
//! that an entry is stale: readers are still served it, and the first of them starts a refresh
//! from the database in the background, so no reader waits for the database while there is a
//! copy to serve. Before, that first reader refreshed it itself: it then waited behind whatever
//! else held the pooled connections (a login storm's queries), and being one request a second
//! per event it set the reader's p99 (docs/PERFORMANCE.md). One refresh runs at a time per
//! entry, however long it takes, and after one fails the next waits a TTL: a slow or failing
//! database is asked once a TTL, not once a reader. Without that single flight, every expiry
//! sent all concurrent readers to the database at once and their queue for pooled connections
//! put the p99 of a cached read near one second.
//!
//! An entry's age counts from the moment the refresh that read it *started*, and a refresh never
//! replaces an entry read by one that started later: a slow refresh landing after a quicker,
//! newer one does not bring back the older view, and a view that took long to read is fresh for
//! that much less. An event a refresh found gone or not public leaves a mark (an entry without
//! a body, which readers do not see), so that a slower read begun earlier cannot bring it back.
//! An entry nobody read for two TTLs, with no refresh struggling, is read afresh by its next
//! reader rather than served.
//!
//! An entry [`STALE_LIMIT_TTLS`] TTLs old is dropped, whatever refresh is under way (one that
//! panicked never reports back; this is where its entry is rebuilt): its readers read the
//! database and wait. That limit used to be two TTLs, and when PostgreSQL's
//! backends were starved of CPU by a saturating load (their wake-ups delayed by up to 380 ms), a
//! refresh took longer than a TTL, and the reader sent to the database waited over 2 s: a few
//! such requests in every 10 s of wrk's load.
//!
//! So, while the database answers within a TTL, a change shows everywhere within two TTLs, on
//! this instance and any other; when it is slower, within [`STALE_LIMIT_TTLS`] TTLs. A
//! successful change to an event's content made through this instance empties the cache at
//! once (a middleware in src/app.rs), and a refresh that read the database before such a change
//! is not stored. Seat counts follow registrations within the same bound. Only the anonymous
//! view is cached: staff and registrants (who may see the online link) always read the
//! database.
//!
//! Hand-written rather than a caching crate: it is one map with a deadline per entry, and the
//! stale-while-refreshing rule and the generation check are the whole point.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// More distinct keys than this means something is scanning. The marks of events found gone go
/// first (a scan of unknown slugs leaves one each, and must not evict the views being served);
/// if that is not enough, start over, as `clear` does.
const MAX_ENTRIES: usize = 4096;

/// How many TTLs old an entry may be and still be served while a refresh is due.
const STALE_LIMIT_TTLS: u32 = 10;

#[derive(Default)]
pub struct PublicCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Bumped by every `clear`: a refresh begun before it must not store what it read.
    generation: u64,
    /// Numbers the refreshes started from stale entries, so that a report names its own.
    refreshes: u64,
}

struct Entry {
    /// The view, or `None` where a refresh found the event gone or not public: kept so that a
    /// slower refresh begun earlier cannot bring the event back.
    body: Option<Bytes>,
    /// When the refresh that read `body` started: the view is at least this old.
    read_from: Instant,
    /// When it was stored.
    landed: Instant,
    refresh: Refresh,
}

/// Where the refresh of a stale entry stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Refresh {
    Idle,
    /// The refresh with this number is reading the database; the others serve the old copy
    /// meanwhile.
    Running(u64),
    /// The last refresh failed at this instant: the next one waits a TTL.
    FailedAt(Instant),
}

/// What a reader should do.
pub enum Lookup {
    /// Serve this body: it is fresh.
    Fresh(Bytes),
    /// Serve this body, and when a ticket comes with it, refresh the entry in the background
    /// (read the database, then [`PublicCache::put`], [`PublicCache::forget`] or
    /// [`PublicCache::failed`]).
    Stale(Bytes, Option<RefreshTicket>),
    /// Nothing that may be served: read the database, answer from that, and hand it to
    /// [`PublicCache::put`] (or [`PublicCache::forget`] when there is nothing to show).
    Missing(RefreshTicket),
}

/// Which cache generation a refresh started in, and when: hand it back with what was read.
pub struct RefreshTicket {
    generation: u64,
    started: Instant,
    /// The refresh's number when it refreshes a stale entry; none for a reader that found
    /// nothing to serve, which holds up no other reader.
    refresh: Option<u64>,
}

impl PublicCache {
    pub fn lookup(&self, key: &str, ttl: Duration) -> Lookup {
        self.lookup_at(key, ttl, Instant::now())
    }

    fn lookup_at(&self, key: &str, ttl: Duration, now: Instant) -> Lookup {
        let Ok(mut inner) = self.inner.lock() else {
            return Lookup::Missing(RefreshTicket {
                generation: 0,
                started: now,
                refresh: None,
            });
        };
        let mut ticket = RefreshTicket {
            generation: inner.generation,
            started: now,
            refresh: None,
        };
        let Inner {
            entries, refreshes, ..
        } = &mut *inner;
        let Some(entry) = entries.get_mut(key) else {
            return Lookup::Missing(ticket);
        };
        let age = now.saturating_duration_since(entry.read_from);
        // A hard bound, whatever refresh is under way: an event unpublished, or a session
        // closed, on another instance stops showing here within it even while refreshes fail.
        if age >= ttl * STALE_LIMIT_TTLS {
            entries.remove(key);
            return Lookup::Missing(ticket);
        }
        let Some(body) = entry.body.clone() else {
            return Lookup::Missing(ticket);
        };
        if age < ttl {
            return Lookup::Fresh(body);
        }
        // Stored over a TTL ago and still not refreshed: nobody read it since. Its first reader
        // reads the database rather than be served a copy older than two TTLs. (An entry that a
        // slow refresh just stored, over two TTLs old already, is served while the next runs.)
        let quiet = now.saturating_duration_since(entry.landed) >= ttl;
        let refresh_due = match entry.refresh {
            Refresh::Idle if age >= ttl * 2 && quiet => return Lookup::Missing(ticket),
            Refresh::Idle => true,
            Refresh::Running(_) => false,
            Refresh::FailedAt(at) => now.saturating_duration_since(at) >= ttl,
        };
        if !refresh_due {
            return Lookup::Stale(body, None);
        }
        *refreshes += 1;
        entry.refresh = Refresh::Running(*refreshes);
        ticket.refresh = Some(*refreshes);
        Lookup::Stale(body, Some(ticket))
    }

    /// Stores what a refresh read, unless the cache was emptied since it started or holds a
    /// view read by a refresh that started later.
    pub fn put(&self, key: String, body: Bytes, ticket: RefreshTicket) {
        self.store_at(key, Some(body), ticket, Instant::now());
    }

    /// The refresh found the event gone or not public: nobody is served the old copy, and no
    /// refresh begun before this one stores it again.
    pub fn forget(&self, key: String, ticket: RefreshTicket) {
        self.store_at(key, None, ticket, Instant::now());
    }

    fn store_at(&self, key: String, body: Option<Bytes>, ticket: RefreshTicket, now: Instant) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != ticket.generation {
            return;
        }
        match inner.entries.get(&key) {
            Some(newer) if newer.read_from > ticket.started => return,
            Some(_) => {}
            None if inner.entries.len() >= MAX_ENTRIES => {
                // A mark dropped protects nothing more against a slower, earlier read of its
                // key: a small loss, and only under a scan.
                inner.entries.retain(|_, entry| entry.body.is_some());
                if inner.entries.len() >= MAX_ENTRIES {
                    // As `clear`: refreshes under way were begun before and may not store.
                    inner.entries.clear();
                    inner.generation += 1;
                }
            }
            None => {}
        }
        inner.entries.insert(
            key,
            Entry {
                body,
                read_from: ticket.started,
                landed: now,
                refresh: Refresh::Idle,
            },
        );
    }

    /// The refresh of `key` failed (not for want of the event: see [`PublicCache::forget`]).
    /// Its readers keep the old copy, and the next refresh starts a TTL from now.
    pub fn failed(&self, key: &str, ticket: RefreshTicket) {
        self.failed_at(key, ticket, Instant::now());
    }

    fn failed_at(&self, key: &str, ticket: RefreshTicket, now: Instant) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let Some(number) = ticket.refresh else {
            return;
        };
        if let Some(entry) = inner.entries.get_mut(key) {
            if entry.refresh == Refresh::Running(number) {
                entry.refresh = Refresh::FailedAt(now);
            }
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

    const TTL: Duration = Duration::from_secs(1);

    /// A reader `secs` after now (the clock is passed in, so no test sleeps).
    fn read(cache: &PublicCache, key: &str, secs: f64, start: Instant) -> Lookup {
        cache.lookup_at(key, TTL, start + Duration::from_secs_f64(secs))
    }

    fn missing(lookup: Lookup) -> RefreshTicket {
        match lookup {
            Lookup::Missing(ticket) => ticket,
            _ => panic!("expected the reader to go to the database"),
        }
    }

    fn fresh(lookup: Lookup) -> Bytes {
        match lookup {
            Lookup::Fresh(body) => body,
            _ => panic!("expected a fresh copy"),
        }
    }

    fn stale(lookup: Lookup) -> (Bytes, Option<RefreshTicket>) {
        match lookup {
            Lookup::Stale(body, ticket) => (body, ticket),
            _ => panic!("expected a stale copy"),
        }
    }

    fn cached(key: &str, body: &'static [u8]) -> (PublicCache, Instant) {
        let cache = PublicCache::default();
        let start = Instant::now();
        let ticket = missing(cache.lookup_at(key, TTL, start));
        cache.put(key.into(), Bytes::from_static(body), ticket);
        (cache, start)
    }

    #[test]
    fn a_stale_entry_is_served_while_one_reader_refreshes_it_in_the_background() {
        let (cache, start) = cached("tokyo", b"v1");
        assert_eq!(fresh(read(&cache, "tokyo", 0.5, start)), "v1");

        let (body, ticket) = stale(read(&cache, "tokyo", 1.2, start));
        assert_eq!(body, "v1");
        let ticket = ticket.expect("the first stale reader starts the refresh");
        let (body, second) = stale(read(&cache, "tokyo", 1.3, start));
        assert_eq!(body, "v1");
        assert!(second.is_none(), "one refresh at a time");

        cache.put("tokyo".into(), Bytes::from_static(b"v2"), ticket);
        assert_eq!(fresh(read(&cache, "tokyo", 1.4, start)), "v2");
    }

    #[test]
    fn an_entry_past_the_stale_limit_is_never_served_even_while_a_refresh_is_under_way() {
        let (cache, start) = cached("tokyo", b"v1");
        let (_, slow) = stale(read(&cache, "tokyo", 1.1, start));
        assert!(slow.is_some(), "a refresh that will not land in time");
        let limit = f64::from(STALE_LIMIT_TTLS);
        let (body, _) = stale(read(&cache, "tokyo", limit - 0.5, start));
        assert_eq!(body, "v1", "within the limit");
        missing(read(&cache, "tokyo", limit + 0.1, start));
        missing(read(&cache, "tokyo", limit + 0.2, start));
    }

    #[test]
    fn a_slow_refresh_is_never_doubled_and_a_failed_one_is_retried_a_ttl_later() {
        let (cache, start) = cached("tokyo", b"v1");
        let (_, slow) = stale(read(&cache, "tokyo", 1.1, start));
        let slow = slow.expect("the first stale reader refreshes");
        // A slow database: nobody waits for it, and nobody asks it twice.
        let (body, second) = stale(read(&cache, "tokyo", 4.0, start));
        assert_eq!(body, "v1");
        assert!(
            second.is_none(),
            "one refresh at a time, however long it takes"
        );

        cache.failed_at("tokyo", slow, start + Duration::from_secs_f64(4.5));
        let (body, too_soon) = stale(read(&cache, "tokyo", 5.0, start));
        assert_eq!(body, "v1", "a failed refresh keeps the old copy");
        assert!(too_soon.is_none(), "a failing database is asked once a TTL");
        let (_, again) = stale(read(&cache, "tokyo", 5.6, start));
        let again = again.expect("a TTL after the failure, the next reader refreshes");
        cache.put("tokyo".into(), Bytes::from_static(b"v2"), again);
        assert_eq!(fresh(read(&cache, "tokyo", 5.7, start)), "v2");
    }

    #[test]
    fn a_slow_refresh_landing_after_a_newer_one_does_not_bring_back_the_older_view() {
        let cache = PublicCache::default();
        let start = Instant::now();
        let slow = missing(read(&cache, "tokyo", 0.0, start));
        let quick = missing(read(&cache, "tokyo", 0.3, start));
        cache.put("tokyo".into(), Bytes::from_static(b"newer"), quick);
        cache.put("tokyo".into(), Bytes::from_static(b"older"), slow);
        assert_eq!(fresh(read(&cache, "tokyo", 0.5, start)), "newer");
    }

    #[test]
    fn a_view_is_as_old_as_the_moment_its_refresh_started() {
        let cache = PublicCache::default();
        let Some(start) = Instant::now().checked_sub(Duration::from_millis(600)) else {
            return;
        };
        // Begun 0.6 s ago, stored now: stale at one TTL from its start, not from now.
        let took_long = missing(read(&cache, "tokyo", 0.0, start));
        cache.put("tokyo".into(), Bytes::from_static(b"v1"), took_long);
        let (body, ticket) = stale(read(&cache, "tokyo", 1.0, start));
        assert_eq!(body, "v1");
        assert!(ticket.is_some());
    }

    #[test]
    fn an_entry_nobody_read_for_two_ttls_is_read_again_rather_than_served() {
        let (cache, start) = cached("tokyo", b"v1");
        let (body, _) = stale(read(&cache, "tokyo", 1.5, start));
        assert_eq!(body, "v1", "within two TTLs, while its refresh runs");
        let (cache, start) = cached("tokyo", b"v1");
        missing(read(&cache, "tokyo", 2.5, start));
    }

    #[test]
    fn an_entry_a_slow_refresh_just_stored_is_served_while_the_next_refresh_runs() {
        let (cache, start) = cached("tokyo", b"v1");
        let (_, slow) = stale(read(&cache, "tokyo", 1.0, start));
        let slow = slow.expect("the first stale reader refreshes");
        // Read from 1.0, stored at 3.5: already 2.5 TTLs old, and readers keep coming.
        cache.store_at(
            "tokyo".into(),
            Some(Bytes::from_static(b"v2")),
            slow,
            start + Duration::from_secs_f64(3.5),
        );
        let (body, next) = stale(read(&cache, "tokyo", 3.6, start));
        assert_eq!(body, "v2");
        assert!(next.is_some(), "and the next refresh starts");
    }

    #[test]
    fn a_reader_that_found_nothing_cannot_report_another_readers_refresh_failed() {
        let cache = PublicCache::default();
        let start = Instant::now();
        let found_nothing = missing(read(&cache, "tokyo", 0.0, start));
        let first = missing(read(&cache, "tokyo", 0.0, start));
        cache.put("tokyo".into(), Bytes::from_static(b"v1"), first);
        let (_, refreshing) = stale(read(&cache, "tokyo", 1.0, start));
        assert!(refreshing.is_some());
        cache.failed_at("tokyo", found_nothing, start + Duration::from_secs_f64(1.1));
        let (_, second) = stale(read(&cache, "tokyo", 1.2, start));
        assert!(second.is_none(), "the refresh under way still runs alone");
    }

    #[test]
    fn a_scan_of_unknown_slugs_does_not_evict_the_views_being_served() {
        let (cache, start) = cached("tokyo", b"v1");
        for i in 0..MAX_ENTRIES * 2 {
            let key = format!("no-such-event-{i}");
            let gone = missing(read(&cache, &key, 0.1, start));
            cache.forget(key, gone);
        }
        assert_eq!(fresh(read(&cache, "tokyo", 0.5, start)), "v1");
    }

    #[test]
    fn an_event_found_gone_does_not_come_back_with_a_slower_earlier_read() {
        let cache = PublicCache::default();
        let start = Instant::now();
        let slow = missing(read(&cache, "tokyo", 0.0, start));
        let found_gone = missing(read(&cache, "tokyo", 0.3, start));
        cache.forget("tokyo".into(), found_gone);
        cache.put("tokyo".into(), Bytes::from_static(b"still public"), slow);
        missing(read(&cache, "tokyo", 0.5, start));
        // A read begun after the event was found gone is stored (it was published again).
        let later = missing(read(&cache, "tokyo", 0.6, start));
        cache.put("tokyo".into(), Bytes::from_static(b"public again"), later);
        assert_eq!(fresh(read(&cache, "tokyo", 0.7, start)), "public again");
    }

    #[test]
    fn a_refresh_that_started_before_a_change_is_not_stored() {
        let cache = PublicCache::default();
        let before_the_change = missing(cache.lookup("tokyo", TTL));
        cache.clear();
        cache.put(
            "tokyo".into(),
            Bytes::from_static(b"old"),
            before_the_change,
        );
        missing(cache.lookup("tokyo", TTL));
    }

    #[test]
    fn forgetting_an_entry_sends_the_next_reader_to_the_database() {
        let (cache, start) = cached("tokyo", b"v1");
        let (_, refresh) = stale(read(&cache, "tokyo", 1.1, start));
        let refresh = refresh.expect("the first stale reader refreshes");
        cache.forget("tokyo".into(), refresh);
        missing(read(&cache, "tokyo", 1.2, start));
    }
}
