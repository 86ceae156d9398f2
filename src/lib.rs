//! Convene: the backend of the Asia-Pacific Partnership for Atrocity Prevention — member
//! organisations, national dialogues and their sessions, registrations and invitations.

pub mod app;
pub mod audit;
pub mod auth;
pub mod client_addr;
pub mod config;
pub mod console;
pub mod context;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod invitations;
pub mod json;
pub mod mail;
pub mod organizations;
pub mod pages;
pub mod patch;
pub mod people;
pub mod registrations;
pub mod runtime;
pub mod telemetry;
pub mod text;
