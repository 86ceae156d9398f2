//! One integration-test binary (shared build): every module speaks HTTP to a real server.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod auth;
mod browser;
mod dialogues;
mod foundation;
mod fuzz;
mod hardening;
mod hash_worker;
mod invitations;
mod mail_faults;
mod network;
mod pages;
mod pg_restart;
mod public_cache;
mod registrations;
mod security;
