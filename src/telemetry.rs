//! Logging: pretty lines locally, JSON in production; `RUST_LOG` filters either.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,lettre=warn"));
    let builder = fmt().with_env_filter(filter).with_target(true);
    // A second init (tests start several apps in one process) is harmless.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}
