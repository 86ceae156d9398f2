//! Server-rendered HTML pages (askama, auto-escaped, no JavaScript build step).

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
