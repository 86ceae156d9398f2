//! Layered configuration: `config/default.toml`, then `config/{environment}.toml`, then
//! `CONVENE__SECTION__KEY` environment variables. Unknown keys are errors, so a typo in a file
//! or a variable fails at start-up instead of silently falling back to a default.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub app: AppSettings,
    pub auth: AuthSettings,
    pub email: EmailSettings,
    pub worker: WorkerSettings,
    pub limits: LimitSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub body_limit: usize,
    pub shutdown_timeout_secs: u64,
    pub public_cache_ms: u64,
    /// Peers whose forwarded-for header is believed (src/client_addr.rs); none by default.
    pub trusted_proxies: TrustedProxies,
    /// Which header those proxies append the client's address to.
    pub forwarded_header: ForwardedHeader,
    /// The bearer token `/metrics` asks for. Unset: `/metrics` is open in development and
    /// test, and answers 404 in production.
    #[serde(default)]
    pub metrics_token: Option<SecretString>,
}

/// Addresses and CIDR blocks (`10.0.0.0/8`, `::1`), parsed when the settings load.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = String;

    fn try_from(entries: Vec<String>) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!(
                            "server.trusted_proxies: `{entry}` is not an IP address or CIDR block"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`
    Forwarded,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password: kept secret so it never reaches a log line.
    pub url: SecretString,
    pub max_connections: usize,
    pub acquire_timeout_secs: u64,
    pub lock_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSettings {
    pub environment: Environment,
    /// Base of every link in emails, without a trailing slash.
    pub public_url: String,
    pub session_ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Failed logins within the window for one submitted address from one client address.
    pub max_failed_logins_per_account_and_client: i64,
    /// Failed logins within the window from one client address, whatever the accounts.
    pub max_failed_logins_per_client: i64,
    /// Failed logins within the window for one submitted address from all clients: high, so
    /// one attacker (held by the two limits above) cannot lock its owner out.
    pub max_failed_logins_per_account: i64,
    pub failed_login_window_secs: i64,
    /// Password hashes run at once at most (each ~20 ms of one core and 19 MiB); 0: one less
    /// than the cores, at least one.
    pub hashing_concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTransportKind {
    Smtp,
    File,
    Log,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub transport: EmailTransportKind,
    /// lettre's URL form, e.g. `smtp://127.0.0.1:1025`; may carry credentials.
    pub smtp_url: SecretString,
    pub from: String,
    pub file_dir: PathBuf,
    pub smtp_pool_size: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub enabled: bool,
    pub poll_interval_ms: u64,
    pub batch_size: i64,
    pub max_attempts: i32,
    pub backoff_base_secs: i64,
    pub stuck_after_secs: i64,
    pub invitation_reminder_days: i64,
    /// How often to look for dialogues with registrations awaiting approval, whose staff get
    /// one digest a day (src/registrations/digest.rs).
    #[serde(default = "default_approval_digest_check_secs")]
    pub approval_digest_check_secs: u64,
}

fn default_approval_digest_check_secs() -> u64 {
    300
}

/// What anonymous requests may make Convene send (src/mail/limits.rs); 0 is no limit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Emails that anonymous requests may cause to one recipient address in an hour.
    pub emails_per_recipient_per_hour: i64,
    /// Anonymous requests causing email that one client address may make in an hour.
    pub anonymous_emails_per_client_per_hour: i64,
}

impl Settings {
    /// Loads the settings from `config/` beside the working directory (or `CONVENE_CONFIG_DIR`).
    pub fn load() -> anyhow::Result<Settings> {
        let dir = std::env::var_os("CONVENE_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"));
        Self::load_from(&dir)
    }

    pub fn load_from(dir: &Path) -> anyhow::Result<Settings> {
        let environment =
            std::env::var("CONVENE__APP__ENVIRONMENT").unwrap_or_else(|_| "development".to_owned());
        Self::load_environment(dir, &environment)
    }

    /// Loads `default.toml` with `{environment}.toml` laid over it, then the environment.
    pub fn load_environment(dir: &Path, environment: &str) -> anyhow::Result<Settings> {
        let settings = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(config::File::from(dir.join(format!("{environment}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("CONVENE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies"),
            )
            .build()
            .map_err(|e| anyhow::anyhow!("reading configuration from {}: {e}", dir.display()))?;
        let settings: Settings = settings
            .try_deserialize()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.app.environment == Environment::Production
            && self.email.transport != EmailTransportKind::Smtp
        {
            anyhow::bail!(
                "email.transport must be `smtp` in production: nothing would be delivered"
            );
        }
        url::Url::parse(&self.app.public_url)
            .map_err(|e| anyhow::anyhow!("app.public_url is not a URL: {e}"))?;
        url::Url::parse(self.database.url.expose_secret())
            .map_err(|e| anyhow::anyhow!("database.url is not a URL: {e}"))?;
        Ok(())
    }

    /// The public base URL without a trailing slash, for building links.
    pub fn public_url(&self) -> &str {
        self.app.public_url.trim_end_matches('/')
    }

    pub fn is_production(&self) -> bool {
        self.app.environment == Environment::Production
    }
}
