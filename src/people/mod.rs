//! People: everyone the partnership knows, with or without an account, and their affiliations
//! with organisations.

pub mod email_address;
pub mod model;
pub mod routes;
pub mod service;

pub use email_address::EmailAddress;
