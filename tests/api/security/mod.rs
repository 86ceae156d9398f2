//! Issue 16: one file per threat; each test an attack that must fail, beside the legitimate use.

mod online_links;
