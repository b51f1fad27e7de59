//! The server's life from a parsed configuration: start-up warnings, the
//! database (a private cluster when no `DATABASE_URL` is given), serving,
//! and an orderly stop. The `stelgano-server` binary is this plus argument
//! parsing; the conformance harness's fault tests run it too.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;
use tokio::net::TcpListener;

use crate::admin::AdminAuth;
use crate::app::{hsts_header, serve_with};
use crate::config::{Config, LogFormat, MIN_HSTS_MAX_AGE};
use crate::local_pg::{Durability, LocalCluster};
use crate::origins::FailedOrigins;
use crate::pepper::PepperSource;
use crate::rate_limit::RateLimits;
use crate::state::{AppState, ConnectionTimeouts};
use crate::store::keyed::{PepperCheck, StorageKeys, check_pepper};
use crate::telemetry::Telemetry;

/// Below this many characters the administration password draws a warning.
const MIN_ADMIN_PASSWORD_CHARS: usize = 16;

/// Database created in the private cluster.
const LOCAL_DATABASE: &str = "stelgano";

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    if config.floor_below_production() {
        // STD1-JOIN-21: a floor below 100 ms is for tests only.
        tracing::warn!(
            floor_ms = config.join_time_floor_ms,
            "join time floor below the production minimum of 100 ms"
        );
    }

    if !config.lockout().conforming() {
        // STD1-JOIN-18: shorter locks are for tests only.
        tracing::warn!(
            seconds = config.lockout_seconds,
            "lock duration shorter than the production minimum of 1800 seconds"
        );
    }
    if let Some(password) = &config.admin_password
        && (password.chars().count() < MIN_ADMIN_PASSWORD_CHARS
            || password.starts_with("change-me"))
    {
        // STD1-SRV-24: Basic authentication is only as good as the password.
        tracing::warn!(
            "the administration password is short or the example's placeholder; use a long random one"
        );
    }
    if config.client_ip_header.is_some() == config.trusted_proxies.is_empty() {
        // STD1-SRV-21: the header counts only with proxies to trust.
        tracing::warn!(
            "--client-ip-header and --trusted-proxy work only together; client addresses come from the connection"
        );
    }
    if config
        .hsts_max_age
        .is_some_and(|age| age < MIN_HSTS_MAX_AGE)
    {
        // STD1-SRV-15: at least a year.
        tracing::warn!("HSTS max-age shorter than the one year STD1-SRV-15 asks for");
    }

    let (options, mut cluster) = match &config.database_url {
        Some(url) => (
            url.parse::<PgConnectOptions>()
                .context("DATABASE_URL is not a PostgreSQL URL")?,
            None,
        ),
        None => {
            let cluster = tokio::task::spawn_blocking({
                let dir = config.data_dir.clone();
                let bin_dir = config.pg_bin_dir.clone();
                let max_connections = config.local_pg_max_connections;
                move || {
                    LocalCluster::start(
                        &dir,
                        bin_dir.as_deref(),
                        Durability::Durable,
                        max_connections,
                    )
                }
            })
            .await?
            .context("starting the private PostgreSQL cluster")?;
            tracing::info!(
                started = cluster.started_here(),
                "using the private PostgreSQL cluster"
            );
            ensure_database(&cluster).await?;
            (cluster.connect_options(LOCAL_DATABASE), Some(cluster))
        }
    };
    let pool = crate::db::connect(options, config.db_pool_size)
        .await
        .context("connecting to PostgreSQL")?;
    let keys = match storage_keys(&config, &pool).await {
        Ok(keys) => Arc::new(keys),
        Err(e) => {
            // A refused start leaves no cluster of ours running.
            pool.close().await;
            if let Some(cluster) = cluster.as_mut() {
                let _ = cluster.stop();
            }
            return Err(e);
        }
    };
    let state = AppState {
        join_time_floor: config.join_time_floor(),
        room_ttl: config.room_ttl(),
        allowed_origins: Arc::new(config.origins()),
        timeouts: ConnectionTimeouts::default(),
        lockout: config.lockout(),
        hsts: config.hsts_max_age.map(hsts_header),
        rate_limits: Arc::new(RateLimits::new(config.rate_settings())),
        client_address: Arc::new(config.client_address_source()),
        telemetry: Arc::new(Telemetry::new(config.telemetry)),
        failed_origins: Arc::new(FailedOrigins::new(
            keys.origins_key(),
            config.room_ttl(),
            crate::origins::DEFAULT_CAPACITY,
        )),
        admin: config
            .admin_password
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|password| Arc::new(AdminAuth::new(&config.admin_user, password))),
        ..AppState::new(pool.clone(), keys)
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let metrics = match config.metrics_listen {
        Some(address) => Some(start_metrics(address, state.clone(), stop.clone()).await?),
        None => None,
    };
    let limits = config.rate_settings();
    let per_minute = |n: Option<std::num::NonZeroU32>| n.map_or(0, |n| n.get());
    // STD1-SRV-20: the values in force, at start-up.
    tracing::info!(
        address = %listener.local_addr()?,
        join_time_floor_ms = config.join_time_floor_ms,
        room_ttl_seconds = config.room_ttl_seconds,
        upgrades_per_minute = per_minute(limits.upgrades_per_minute),
        joins_per_minute = per_minute(limits.joins_per_minute),
        creates_per_minute = per_minute(limits.creates_per_minute),
        claims_per_minute = per_minute(limits.claims_per_minute),
        frames_per_second = per_minute(limits.frames_per_second),
        client_ip_header = config.client_ip_header.as_ref().map(|h| h.as_str()),
        telemetry = config.telemetry,
        metrics = config.metrics_listen.is_some(),
        admin_page = state.admin.is_some(),
        "serving sTELgano-std-1"
    );
    let shutdown = async move {
        shutdown_signal().await;
        stop_tx.send_replace(true);
    };
    serve_with(
        listener,
        state,
        Duration::from_secs(config.sweep_seconds),
        Duration::from_secs(config.telemetry_flush_seconds),
        shutdown,
    )
    .await?;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    pool.close().await;
    if let Some(cluster) = cluster.as_mut() {
        cluster
            .stop()
            .context("stopping the private PostgreSQL cluster")?;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds the metrics listener and serves `/metrics` on it until `stop`
/// (STD1-SRV-23).
async fn start_metrics(
    address: std::net::SocketAddr,
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let handle = crate::metrics::install()
        .context("another metrics recorder is installed in this process")?;
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the metrics listener {address}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving metrics");
    Ok(tokio::spawn(crate::metrics::serve(
        listener,
        state,
        handle,
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    )))
}

/// Creates the server's database in the private cluster if it is missing.
/// The storage keys from this instance's pepper, once the store's check
/// value says they are the ones its rooms are keyed with (STD1-SRV-26).
async fn storage_keys(config: &Config, pool: &sqlx::PgPool) -> anyhow::Result<StorageKeys> {
    let (pepper, source) = crate::pepper::load(
        config.pepper.as_ref(),
        config.pepper_file.as_deref(),
        &config.data_dir,
    )?;
    let keys = StorageKeys::derive(&pepper);
    match &source {
        PepperSource::Environment => tracing::info!("pepper from STELGANO_PEPPER"),
        PepperSource::File(path) => tracing::info!(file = %path.display(), "pepper from a file"),
        PepperSource::Generated(path) => tracing::warn!(
            file = %path.display(),
            "generated a new pepper; keep this file, and keep it out of the database's backups (STD1-SRV-27)"
        ),
    }
    #[cfg(unix)]
    if let PepperSource::File(path) | PepperSource::Generated(path) = &source
        && crate::pepper::readable_by_others(path)
    {
        tracing::warn!(file = %path.display(), "the pepper file is readable by other users");
    }
    match check_pepper(pool, &keys)
        .await
        .map_err(|e| anyhow::anyhow!("checking the pepper: {}", e.loggable()))?
    {
        PepperCheck::Recorded => tracing::info!("recorded this pepper's check value in the store"),
        PepperCheck::Matches => {}
        PepperCheck::Differs => anyhow::bail!(
            "this database's rooms are keyed with another pepper: give every instance the same \
             STELGANO_PEPPER or --pepper-file (STD1-SRV-26)"
        ),
    }
    Ok(keys)
}

async fn ensure_database(cluster: &LocalCluster) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect_with(&cluster.connect_options("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(LOCAL_DATABASE)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query("CREATE DATABASE stelgano")
            .execute(&mut admin)
            .await?;
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Libraries whose debug and trace output can carry client data.
const LIBRARY_LOG_CAPS: &[&str] = &[
    "tungstenite=warn",
    "tokio_tungstenite=warn",
    "axum=warn",
    "hyper=warn",
    "hyper_util=warn",
    "tower=warn",
    "tower_http=warn",
    "sqlx=warn",
];

/// Logs to stderr at `RUST_LOG`'s levels (default `info`), with the
/// libraries that could log client data capped.
pub fn init_tracing(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // STD1-SRV-16: below `warn`, these libraries log frames, close reasons,
    // statements or client addresses; whatever RUST_LOG asks, they stay at
    // `warn`. (A directive for a target overrides a general one.)
    for directive in LIBRARY_LOG_CAPS {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
