//! Registrations: a person in a session, with seats, the waitlist, approval and attendance.

pub mod cancellation;
pub mod confirmation;
pub mod digest;
pub mod emails;
pub mod lists;
pub mod model;
pub mod pages;
pub mod routes;
pub mod seats;
pub mod service;
pub mod sign_up;
pub mod staff;
