//! People: everyone the partnership knows, with or without an account.

pub mod email_address;
pub mod model;
pub mod routes;

pub use email_address::EmailAddress;
