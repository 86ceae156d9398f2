//! Dialogues: series, events, sessions, speakers, partners, staff and outcomes.

pub mod access;
pub mod calendar;
pub mod facts;
pub mod local_time;
pub mod public_views;
pub mod routes;

pub mod editing;
pub mod fields;
pub mod lifecycle;
pub mod listing;
pub mod model;
pub mod outcomes;
pub mod partners;
pub mod partnerships;
pub mod series;
pub mod sessions;
pub mod staff;
pub mod types;
pub mod views;

pub use public_views::PublicViews;
