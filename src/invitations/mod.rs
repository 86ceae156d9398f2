//! Invitations: personal, tokened invitations of people to an event's closed sessions, their
//! answers (accept all or some, decline), resends, revocations, expiry and reminders.

pub mod emails;
pub mod model;
pub mod pages;
pub mod preview;
pub mod reminders;
pub mod routes;
pub mod service;
pub mod staff;
