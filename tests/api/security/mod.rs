//! Issue 16: each file is one threat; each test an attack that must fail, beside the
//! legitimate use that must still work.

mod csrf;
mod hardening;
mod reminder_tokens;
mod token_logging;
