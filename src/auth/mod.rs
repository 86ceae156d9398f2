//! Accounts, passwords, login sessions and the extractors that say who may call a handler.

pub mod csrf;
pub mod extract;
pub mod hash_worker;
mod hashing_threads;
pub mod model;
pub mod password;
mod preemption_pulse;
pub mod routes;
pub mod service;
pub mod token;

pub use extract::{Admin, AuthUser, MaybeUser, Organizer};
