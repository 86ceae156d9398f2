//! Issue 16: one file per threat; each test an attack that must fail, beside the legitimate use
//! that must still work.

mod identity;
mod registration_privacy;
