//! The database: embedded migrations and connection pools.

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The schema of `migrations/`, embedded at build time. `run` takes a
/// PostgreSQL advisory lock, so several instances starting at once apply
/// each migration exactly once.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Connects a pool and brings the schema up to date.
pub async fn connect(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}
