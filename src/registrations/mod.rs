//! Registrations: a person in a session, with seats, the waitlist, approval and attendance.

pub mod model;
pub mod routes;
pub mod seats;
pub mod service;
