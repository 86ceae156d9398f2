//! Invitations: personal, tokened invitations of people to an event's closed sessions, their
//! answers (accept all or some, decline), resends, revocations, expiry and reminders.
//!
//! An invitation is one row per person covering the chosen closed sessions of one event. Its
//! token is emailed once and stored hashed. The use cases: `create` (inviting, audiences),
//! `answer` (the invitee's side), `manage` (the staff's side: list, resend, add sessions,
//! revoke), what they share in `lookup`; `model` holds the rows and enums, `types` the API's
//! shapes.

pub mod answer;
pub mod create;
pub mod emails;
pub mod lookup;
pub mod manage;
pub mod model;
pub mod pages;
pub mod preview;
pub mod reminders;
pub mod routes;
pub mod staff;
pub mod types;
