//! Starting the pieces: the database (created and migrated), the HTTP server, the email worker.

use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::app::{Application, WORKER_SHUTDOWN_GRACE};
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::mail::transport::Mailer;
use crate::mail::worker::Worker;

/// Said in one paragraph, instead of a stack of pool errors, when PostgreSQL cannot be reached.
pub fn database_unreachable_help(settings: &Settings) -> String {
    let mut url = url::Url::parse(settings.database.url.expose_secret())
        .map(|u| u.to_string())
        .unwrap_or_default();
    if let Ok(mut parsed) = url::Url::parse(&url) {
        if parsed.password().is_some() {
            let _ = parsed.set_password(Some("***"));
        }
        url = parsed.to_string();
    }
    format!(
        "Convene cannot reach PostgreSQL at {url}. Start a local server (Debian/Ubuntu: \
         `sudo apt-get install postgresql` then `sudo pg_ctlcluster 15 main start`; macOS: \
         `brew services start postgresql`), or run one in Docker with `docker compose up -d db`, \
         or point Convene at another server with CONVENE__DATABASE__URL=postgres://user:password@host:5432/convene."
    )
}

/// Creates the database if missing, applies the migrations and builds the pool.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<DbPool> {
    let url = settings.database.url.expose_secret();
    if !db::server_reachable(url).await {
        anyhow::bail!(database_unreachable_help(settings));
    }
    db::create_database_if_missing(url).await?;
    db::run_migrations(url).await?;
    db::build_pool(&settings.database)
}

/// Waits `pause`, or less when `shutdown` changes. When its sender is gone nobody can stop the
/// loop any more, and it keeps its pace instead of spinning.
pub async fn pause_unless_stopped(
    pause: std::time::Duration,
    shutdown: &mut watch::Receiver<bool>,
) {
    tokio::select! {
        _ = tokio::time::sleep(pause) => {}
        changed = shutdown.changed() => {
            if changed.is_err() {
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Starts an email worker on this runtime; send `true` to stop it. It claims mail every
/// `worker.poll_interval_ms`.
pub fn spawn_worker(
    pool: DbPool,
    settings: &Settings,
) -> anyhow::Result<(watch::Sender<bool>, JoinHandle<()>)> {
    let mailer = Mailer::from_settings(&settings.email)?;
    let pool_for_sweeper = pool.clone();
    let pool_for_digest = pool.clone();
    let worker = Worker::new(
        pool,
        mailer,
        &settings.email.from,
        settings.worker.clone(),
        settings.email.smtp_pool_size,
    )?;
    let (stop, stopped) = watch::channel(false);
    // Expiring invitations and counting reminders is background work of the same kind: it runs
    // wherever mail is delivered, and stops with it.
    tokio::spawn(
        crate::invitations::reminders::run_sweeper(
            pool_for_sweeper.clone(),
            std::time::Duration::from_secs(60),
            stopped.clone(),
        )
        .instrument(tracing::info_span!("invitation_sweeper")),
    );
    tokio::spawn(
        run_upkeep(
            pool_for_sweeper,
            chrono::Duration::seconds(settings.auth.failed_login_window_secs),
            std::time::Duration::from_secs(3600),
            stopped.clone(),
        )
        .instrument(tracing::info_span!("upkeep")),
    );
    tokio::spawn(
        crate::registrations::digest::run(
            pool_for_digest,
            settings.app.public_url.clone(),
            std::time::Duration::from_secs(settings.worker.approval_digest_check_secs.max(1)),
            stopped.clone(),
        )
        .instrument(tracing::info_span!("approval_digest")),
    );
    let handle = tokio::spawn(worker.run(stopped));
    Ok((stop, handle))
}

/// Forgets, every `interval` until `shutdown` turns true, what counts for nothing any more:
/// idempotency keys past their day, failed logins older than the throttle's window (which would
/// otherwise pile up from every address that ever mistyped a password), mail requests older than
/// the mail limits' hour. Started with the email worker: background upkeep runs wherever mail is
/// delivered.
async fn run_upkeep(
    pool: DbPool,
    login_window: chrono::Duration,
    interval: std::time::Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match pool.get().await {
            Ok(mut conn) => {
                report_pruned(
                    "idempotency keys",
                    crate::idempotency::prune(&mut conn).await,
                );
                let before = chrono::Utc::now() - login_window;
                report_pruned(
                    "failed logins",
                    crate::auth::login::prune_login_failures(&mut conn, before).await,
                );
                report_pruned(
                    "anonymous mail requests",
                    crate::mail::limits::prune(&mut conn).await,
                );
            }
            Err(e) => tracing::warn!(error = %e, "upkeep could not reach the database; will retry"),
        }
        pause_unless_stopped(interval, &mut shutdown).await;
    }
}

fn report_pruned(what: &str, pruned: crate::error::AppResult<usize>) {
    match pruned {
        Ok(0) => {}
        Ok(n) => tracing::info!(pruned = n, what, "pruned"),
        Err(e) => tracing::warn!(error = %e, what, "could not prune; will retry"),
    }
}

/// `convene serve`: HTTP and, unless `worker.enabled = false`, the email worker, until a
/// SIGINT/SIGTERM; requests in flight and the worker's batch finish first.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let pool = prepare_database(&settings).await?;
    let worker = if settings.worker.enabled {
        Some(spawn_worker(pool.clone(), &settings)?)
    } else {
        None
    };
    let app = Application::build(settings.clone(), pool)?;
    tracing::info!(
        address = %format!("http://{}:{}", settings.server.host, app.port()),
        environment = ?settings.app.environment,
        "Convene is serving"
    );
    app.run_until_stopped().await?;
    if let Some((stop, handle)) = worker {
        let _ = stop.send(true);
        let _ = tokio::time::timeout(WORKER_SHUTDOWN_GRACE, handle).await;
    }
    Ok(())
}

/// `convene worker`: only the email worker, until SIGINT/SIGTERM.
pub async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    let pool = prepare_database(&settings).await?;
    let (stop, mut handle) = spawn_worker(pool, &settings)?;
    tokio::select! {
        _ = shutdown_signal() => {
            let _ = stop.send(true);
            let _ = tokio::time::timeout(WORKER_SHUTDOWN_GRACE, handle).await;
            Ok(())
        }
        // The worker only returns when told to stop: anything else is a crash, and an
        // orchestrator should restart the process (nothing is lost: see `mail::worker`).
        ended = &mut handle => match ended {
            Ok(()) => anyhow::bail!("the email worker stopped unexpectedly"),
            Err(e) => anyhow::bail!("the email worker crashed: {e}"),
        },
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
