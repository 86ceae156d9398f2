//! One integration-test binary (shared build): every module speaks HTTP to a real server.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod auth;
mod browser;
mod calendars;
mod concurrency;
mod console;
mod dialogues;
mod foundation;
mod fuzz;
mod hardening;
mod invitation_answers;
mod invitations;
mod mail_faults;
mod network;
mod openapi;
mod pages;
mod participant_emails;
mod people;
mod pg_restart;
mod public_cache;
mod registrations;
mod security;
mod two_instances;
