//! Accounts, passwords, login sessions and the extractors that say who may call a handler.

pub mod csrf;
pub mod extract;
pub mod model;
pub mod password;
pub mod routes;
pub mod service;
pub mod token;

pub use extract::{Admin, AuthUser, MaybeUser, Organizer};
