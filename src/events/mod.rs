//! Dialogues: series, events, sessions, speakers, partners, staff and outcomes.

pub mod access;
pub mod routes;
