//! The connection pool, database creation and the embedded migrations.

pub mod locks;
pub mod page;
pub mod prepared;
pub mod retry;
pub mod schema;
pub mod text_enum;

use std::time::Duration;

use anyhow::Context;
use diesel::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::scoped_futures::ScopedBoxFuture;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;
use crate::error::AppResult;

/// A row after an update, and whether the update changed anything (an update that asks for
/// what is already there writes nothing: no new `updated_at`, no audit entry).
#[derive(Debug, Clone)]
pub struct Updated<T> {
    pub row: T,
    pub changed: bool,
}

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any number of processes may start at once: they take turns migrating under this lock.
const MIGRATION_LOCK_ID: i64 = 0x636f_6e76_656e_6501;

/// Builds the pool. Each connection bounds how long a statement waits for a row lock, so a
/// registration rush queues briefly on a session row instead of piling up indefinitely.
pub fn build_pool(settings: &DatabaseSettings) -> anyhow::Result<DbPool> {
    let lock_timeout_ms = settings.lock_timeout_ms;
    let mut manager_config = ManagerConfig::default();
    // No ping on every checkout: a connection that broke (a PostgreSQL restart) fails its next
    // query, answers 503, and is then dropped by the pool because diesel marks it broken.
    manager_config.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |url| {
        Box::pin(async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.batch_execute(&format!(
                "SET lock_timeout = {lock_timeout_ms}; SET TIME ZONE 'UTC'"
            ))
            .await
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        settings.url.expose_secret(),
        manager_config,
    );
    let timeout = Some(Duration::from_secs(settings.acquire_timeout_secs));
    Pool::builder(manager)
        .max_size(pool_size(settings.max_connections))
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Runs `body` in one transaction: committed when it answers `Ok`, rolled back otherwise, so
/// a refused request changes nothing. Every transaction of a service goes through here or, where
/// PostgreSQL may roll it back under concurrency and running it again is safe, through
/// [`retry::transaction`].
pub async fn transaction<'a, R, F>(conn: &mut AsyncPgConnection, body: F) -> AppResult<R>
where
    F: for<'r> FnOnce(&'r mut AsyncPgConnection) -> ScopedBoxFuture<'a, 'r, AppResult<R>>
        + Send
        + 'a,
    R: Send + 'a,
{
    conn.transaction(body).await
}

/// Whether `err` is a unique violation of this constraint or unique index (a race for a name
/// or a slug, answered as a 409 by the caller).
pub fn is_unique_violation(err: &diesel::result::Error, constraint: &str) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info
        ) if info.constraint_name() == Some(constraint)
    )
}

/// `database.max_connections`, or three per core when it is 0. More connections than that do
/// not make a CPU-bound database faster on a small machine; they only lengthen the tail
/// (measured on 2 cores: p99 of an event read 99 ms with 16 connections, 21 ms with 6).
pub fn pool_size(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        3 * std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// The database named in `url` and the URL of the server's maintenance database.
fn split_database_url(url: &str) -> anyhow::Result<(String, String)> {
    let mut parsed = url::Url::parse(url).context("database.url is not a URL")?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(!name.is_empty(), "database.url names no database");
    parsed.set_path("/postgres");
    Ok((name, parsed.to_string()))
}

/// Tells whether PostgreSQL answers at all, to explain a failed start-up in plain words.
pub async fn server_reachable(url: &str) -> bool {
    let Ok((_, admin_url)) = split_database_url(url) else {
        return false;
    };
    AsyncPgConnection::establish(&admin_url).await.is_ok()
}

/// Creates the database named in `url` when it does not exist yet.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let (name, admin_url) = split_database_url(url)?;
    let mut conn = AsyncPgConnection::establish(&admin_url)
        .await
        .context("connecting to the PostgreSQL server")?;
    let exists: i64 = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(&name)
        .get_result::<Count>(&mut conn)
        .await
        .context("looking for the database")?
        .n;
    if exists == 0 {
        let quoted = name.replace('"', "\"\"");
        match conn
            .batch_execute(&format!("CREATE DATABASE \"{quoted}\""))
            .await
        {
            Ok(()) => tracing::info!(database = %name, "created the database"),
            // Another process created it between our look and our create.
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("already exists") => {}
            Err(e) => return Err(e).context(format!("creating database {name}")),
        }
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs the pending embedded migrations, one process at a time.
pub async fn run_migrations(url: &str) -> anyhow::Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel::connection::SimpleConnection;
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                .context("connecting to run migrations")?;
        SimpleConnection::batch_execute(
            &mut conn,
            &format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"),
        )?;
        let result = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| {
                for version in versions {
                    tracing::info!(%version, "applied migration");
                }
            })
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        SimpleConnection::batch_execute(
            &mut conn,
            &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"),
        )?;
        result
    })
    .await
    .context("migration task panicked")?
}

/// Reverts every migration, then applies them all again (used by the schema test).
pub async fn redo_all_migrations(url: &str) -> anyhow::Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)?;
        conn.revert_all_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("re-applying migrations: {e}"))?;
        Ok(())
    })
    .await
    .context("migration task panicked")?
}

/// The version of the newest embedded migration, which a ready database must have applied.
pub fn latest_migration_version() -> String {
    use diesel::migration::MigrationSource;
    let migrations: Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>> =
        MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS).unwrap_or_default();
    migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .unwrap_or_default()
}

/// Ready means reachable and migrated to the newest embedded version.
pub async fn is_ready(pool: &DbPool, expected_version: &str) -> Result<(), String> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        version: Option<String>,
    }
    let mut conn = pool
        .get()
        .await
        .map_err(|e| format!("database unreachable: {e}"))?;
    let applied =
        diesel::sql_query("SELECT max(version) AS version FROM __diesel_schema_migrations")
            .get_result::<Version>(&mut conn)
            .await
            .map_err(|e| format!("database query failed: {e}"))?
            .version
            .unwrap_or_default();
    if applied.as_str() < expected_version {
        return Err(format!(
            "database is at migration {applied}, expected {expected_version}"
        ));
    }
    Ok(())
}
