//! Accounts, passwords, login sessions and the extractors that say who may call a handler.

pub mod account_tokens;
pub mod accounts;
pub mod csrf;
pub mod extract;
pub mod login;
pub mod model;
pub mod password;
pub mod password_reset;
pub mod routes;
pub mod signup;
pub mod token;
pub mod verification;

pub use extract::{Admin, AuthUser, MaybeUser, Organizer};
