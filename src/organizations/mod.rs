//! The partnership: member organisations, their membership lifecycle, applications to join,
//! their people (affiliations, focal points) and the CSV import.

pub mod country;
pub mod digest;
pub mod fields;
pub mod import;
pub mod members;
pub mod membership;
pub mod model;
pub mod routes;
pub mod service;
pub mod website;

pub use country::CountryCode;
pub use website::WebsiteUrl;
