//! One integration-test binary (shared build): every module speaks HTTP to a real server.

#[path = "../support/mod.rs"]
mod support;

mod dialogues;
mod foundation;
mod pages;
