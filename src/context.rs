//! What services need from the running process, and nothing of HTTP: the pool, the settings,
//! the public views of events, and the links emails carry.
//!
//! What lives in one process only is a shortcut, never the truth, so any number of instances
//! can serve one database: the public views are kept for `server.public_cache_ms` at most.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::config::Settings;
use crate::db::DbPool;
use crate::events::PublicViews;

pub struct Context {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub public_views: PublicViews,
    pub links: Links,
}

impl Context {
    pub fn new(pool: DbPool, settings: Arc<Settings>) -> Context {
        let ttl = Duration::from_millis(settings.server.public_cache_ms);
        let links = Links::new(settings.public_url());
        Context {
            pool,
            settings,
            public_views: PublicViews::new(ttl),
            links,
        }
    }
}

/// The URLs Convene puts in emails and answers, all under `app.public_url`. Each page an email
/// links to is named here once, so a service says which page, never how its URL is spelled.
#[derive(Debug, Clone)]
pub struct Links {
    /// `app.public_url` without a trailing slash.
    base: Arc<str>,
}

impl Links {
    pub fn new(public_url: &str) -> Links {
        Links {
            base: Arc::from(public_url.trim_end_matches('/')),
        }
    }

    /// `app.public_url` without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Any page: `path` starts with `/`.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn event_page(&self, slug: &str) -> String {
        self.page(&format!("/events/{slug}"))
    }

    pub fn verify_email(&self, token: &str) -> String {
        self.page(&format!("/verify-email?token={token}"))
    }

    pub fn password_reset(&self, token: &str) -> String {
        self.page(&format!("/password-reset?token={token}"))
    }

    pub fn confirm_registration(&self, token: &str) -> String {
        self.page(&format!("/registrations/confirm?token={token}"))
    }

    pub fn cancel_registration(&self, registration_id: Uuid, token: &str) -> String {
        self.page(&format!(
            "/registrations/{registration_id}/cancel?token={token}"
        ))
    }

    pub fn invitation(&self, token: &str) -> String {
        self.page(&format!("/invitations/{token}"))
    }

    pub fn applications(&self) -> String {
        self.page("/manage/applications")
    }

    pub fn organization(&self, organization_id: Uuid) -> String {
        self.page(&format!("/manage/organizations/{organization_id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_never_double_the_slash() {
        let links = Links::new("https://convene.example.org/");
        assert_eq!(
            links.event_page("japan-2022"),
            "https://convene.example.org/events/japan-2022"
        );
    }
}
