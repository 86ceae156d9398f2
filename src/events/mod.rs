//! Dialogues: series, events, sessions, speakers, partners, staff and outcomes.

pub mod access;
pub mod calendar;
pub mod local_time;
pub mod public_views;
pub mod routes;

pub mod model;
pub mod outcomes;
pub mod partnerships;
pub mod service;
pub mod sessions;
pub mod staff;
pub mod types;

pub use public_views::PublicViews;
