//! A micro-cache of the anonymous view of events: during a registration rush thousands of
//! visitors read the same event every second, and every one of them sees the same JSON.
//!
//! Entries live `server.public_cache_ms` (1 s by default; 0 turns the cache off), so a change
//! shows everywhere within that time, on this instance and any other; a successful change to an
//! event's content made through this instance empties the cache at once (a middleware in
//! src/app.rs). Seat counts follow registrations within the TTL. Only the anonymous view is cached: staff and
//! registrants (who may see the online link) always read the database. Hand-written rather than
//! a caching crate: it is one map with a deadline per entry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// More distinct keys than this in one TTL means something is scanning: start over.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct PublicCache {
    entries: Mutex<HashMap<String, (Instant, Bytes)>>,
}

impl PublicCache {
    pub fn get(&self, key: &str, ttl: Duration) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(stored, _)| stored.elapsed() < ttl)
            .map(|(_, body)| body.clone())
    }

    pub fn put(&self, key: String, body: Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (Instant::now(), body));
        }
    }

    /// Forgets everything: called after a change to an event's content made through this
    /// instance, so its own writes are read back at once.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
