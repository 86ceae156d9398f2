//! Server-rendered HTML pages (askama, auto-escaped, no JavaScript build step).

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::invitations::pages::page_routes);
    cfg.configure(crate::registrations::pages::page_routes);
}
