//! The audit trail: who did what to which record, when, with the record before and after.
//! Other domains call [`record`] inside the transaction of the change it describes, so an
//! entry exists exactly when its change does.

pub mod model;
pub mod routes;
pub mod service;

pub use service::record;
