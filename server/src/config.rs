//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::num::NonZeroU32;

use axum::http::HeaderName;
use ipnet::IpNet;

use stelgano_spec::constants::{
    DEFAULT_JOIN_TIME_FLOOR, DEFAULT_ROOM_TTL, LOCKOUT_ATTEMPTS, LOCKOUT_DURATION, MAX_ROOM_TTL,
    MIN_PRODUCTION_JOIN_TIME_FLOOR,
};

use crate::rate_limit::{ClientAddressSource, RateSettings};
use crate::store::Lockout;

/// The shortest `Strict-Transport-Security` max-age STD1-SRV-15 allows: one year.
pub const MIN_HSTS_MAX_AGE: u64 = 365 * 24 * 3600;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The sTELgano-std-1 reference server.
///
/// Every option can also be set through the environment variable shown.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "stelgano-server", version, about, long_about = None)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "STELGANO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// PostgreSQL connection URL. Without it, the server runs a private
    /// PostgreSQL cluster in --data-dir (PostgreSQL's server binaries must
    /// be installed).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory of the private PostgreSQL cluster used without DATABASE_URL.
    #[arg(long, env = "STELGANO_DATA_DIR", default_value = "stelgano-data")]
    pub data_dir: PathBuf,

    /// The pepper (STD1-SRV-26): 64 hexadecimal digits, the secret every
    /// stored hash is keyed with. Give it in the environment, not on the
    /// command line, where other users can see it. Every instance sharing a
    /// database needs the same one. Without it (or --pepper-file), the
    /// server uses <data-dir>/pepper, generated on first start.
    #[arg(
        long,
        env = "STELGANO_PEPPER",
        hide_env_values = true,
        conflicts_with = "pepper_file"
    )]
    pub pepper: Option<crate::store::keyed::Pepper>,

    /// A file holding the pepper (64 hexadecimal digits), for example a
    /// systemd credential. Keep it out of the database's backups.
    #[arg(long, env = "STELGANO_PEPPER_FILE")]
    pub pepper_file: Option<PathBuf>,

    /// Directory of PostgreSQL's `initdb` and `pg_ctl` for the private
    /// cluster. By default they are looked up on PATH, then under
    /// /usr/lib/postgresql/<newest version>/bin.
    #[arg(long, env = "STELGANO_PG_BIN_DIR")]
    pub pg_bin_dir: Option<PathBuf>,

    /// Origin allowed to open WebSocket connections (repeat, or separate
    /// with commas in the environment). Defaults to http://<listen>.
    /// Requests without an Origin header (non-browser clients) are allowed.
    #[arg(
        long = "allowed-origin",
        env = "STELGANO_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Minimum time, in milliseconds, before any create or join reply
    /// (STD1-JOIN-21). Below 100 is for tests only.
    #[arg(long, env = "STELGANO_JOIN_TIME_FLOOR_MS", default_value_t = DEFAULT_JOIN_TIME_FLOOR.as_millis() as u64)]
    pub join_time_floor_ms: u64,

    /// Lifetime of a room from its creation, in seconds (STD1-LIFE-1; at
    /// most 365 days). Values under 60 are for conformance runs, which
    /// replay expiries.
    #[arg(long, env = "STELGANO_ROOM_TTL_SECONDS", default_value_t = DEFAULT_ROOM_TTL.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=MAX_ROOM_TTL.as_secs()))]
    pub room_ttl_seconds: u64,

    /// Seconds between sweeps for rooms past their lifetime (STD1-LIFE-4
    /// requires deletion within 60 seconds).
    #[arg(long, env = "STELGANO_SWEEP_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=55))]
    pub sweep_seconds: u64,

    /// Failed joins that lock a room, at most 10 (STD1-JOIN-18).
    #[arg(long, env = "STELGANO_LOCKOUT_ATTEMPTS", default_value_t = LOCKOUT_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..=LOCKOUT_ATTEMPTS as i64))]
    pub lockout_attempts: u32,

    /// How long a lock lasts, in seconds (STD1-JOIN-18). Less than 1800 is
    /// for tests only.
    #[arg(long, env = "STELGANO_LOCKOUT_SECONDS", default_value_t = LOCKOUT_DURATION.as_secs() as u32,
          value_parser = clap::value_parser!(u32).range(1..=7 * 24 * 3600))]
    pub lockout_seconds: u32,

    /// Send `Strict-Transport-Security: max-age=<this>` on every response.
    /// Set it when clients reach the server over HTTPS (through a TLS
    /// proxy); STD1-SRV-15 asks for at least 31536000 (one year).
    #[arg(long, env = "STELGANO_HSTS_MAX_AGE")]
    pub hsts_max_age: Option<u64>,

    /// Most connections the server keeps open to PostgreSQL.
    #[arg(long, env = "STELGANO_DB_POOL_SIZE", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,

    /// `max_connections` of the private PostgreSQL cluster the server
    /// starts when no DATABASE_URL is given (ignored with one, and when the
    /// cluster is already running). Every instance's pool, and any tool
    /// such as pgbench, shares it.
    #[arg(long, env = "STELGANO_LOCAL_PG_MAX_CONNECTIONS",
          default_value_t = crate::local_pg::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(u32).range(10..=10000))]
    pub local_pg_max_connections: u32,

    /// Log format.
    #[arg(long, env = "STELGANO_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// WebSocket upgrades allowed per client address per minute, as a
    /// burst and then a steady rate (STD1-SRV-18); 0 switches the limit off.
    #[arg(long, env = "STELGANO_RATE_UPGRADES_PER_MINUTE", default_value_t = 60)]
    pub rate_upgrades_per_minute: u32,

    /// `join` requests allowed per client address per minute; 0 is off.
    #[arg(long, env = "STELGANO_RATE_JOINS_PER_MINUTE", default_value_t = 30)]
    pub rate_joins_per_minute: u32,

    /// `create` requests allowed per client address per minute; 0 is off.
    #[arg(long, env = "STELGANO_RATE_CREATES_PER_MINUTE", default_value_t = 5)]
    pub rate_creates_per_minute: u32,

    /// Slot-2 claims (`join` with a pairing code) allowed per client
    /// address per minute; 0 is off.
    #[arg(long, env = "STELGANO_RATE_CLAIMS_PER_MINUTE", default_value_t = 5)]
    pub rate_claims_per_minute: u32,

    /// Administration page requests allowed per client address per
    /// minute; 0 is off.
    #[arg(long, env = "STELGANO_RATE_ADMIN_PER_MINUTE", default_value_t = 20)]
    pub rate_admin_per_minute: u32,

    /// Frames allowed per connection per second (with a burst of two
    /// seconds' worth); 0 is off.
    #[arg(long, env = "STELGANO_RATE_FRAMES_PER_SECOND", default_value_t = 20)]
    pub rate_frames_per_second: u32,

    /// Switch every rate limit off, for conformance runs (STD1-SRV-20).
    #[arg(long, env = "STELGANO_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,

    /// Request header a trusted proxy puts the client address in, such as
    /// X-Forwarded-For or X-Real-IP (STD1-SRV-21). Used only for requests
    /// from the addresses of --trusted-proxy.
    #[arg(long, env = "STELGANO_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<HeaderName>,

    /// Address or network (CIDR) of a proxy trusted to set
    /// --client-ip-header (repeat, or separate with commas in the
    /// environment).
    #[arg(long = "trusted-proxy", env = "STELGANO_TRUSTED_PROXIES", value_delimiter = ',',
          value_parser = parse_net)]
    pub trusted_proxies: Vec<IpNet>,

    /// Keep the aggregate counters of STD1-SRV-22 (per UTC day; countries
    /// as lifetime totals).
    #[arg(long, env = "STELGANO_TELEMETRY", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub telemetry: bool,

    /// Seconds between writes of counter increments to the database.
    #[arg(long, env = "STELGANO_TELEMETRY_FLUSH_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub telemetry_flush_seconds: u64,

    /// Address for a separate listener serving Prometheus metrics on
    /// /metrics (STD1-SRV-23). Off unless set; keep it off the public
    /// network.
    #[arg(long, env = "STELGANO_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// User name for the administration page.
    #[arg(long, env = "STELGANO_ADMIN_USER", default_value = "admin")]
    pub admin_user: String,

    /// Password for the administration page /admin; without it the page
    /// does not exist (STD1-SRV-24).
    #[arg(long, env = "STELGANO_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// A deliberate fault, for the conformance harness's own tests; only
    /// in builds with the `fault-injection` feature (`server/src/faults.rs`).
    #[cfg(feature = "fault-injection")]
    #[arg(long, value_enum, hide = true)]
    pub inject_fault: Option<crate::faults::Fault>,
}

impl Config {
    /// The join/create time floor.
    pub fn join_time_floor(&self) -> Duration {
        Duration::from_millis(self.join_time_floor_ms)
    }

    /// Whether the floor is below what production allows (STD1-JOIN-21).
    pub fn floor_below_production(&self) -> bool {
        self.join_time_floor() < MIN_PRODUCTION_JOIN_TIME_FLOOR
    }

    /// The lockout policy (STD1-JOIN-18).
    pub fn lockout(&self) -> Lockout {
        // clap has checked both ranges; the fallback is the spec's policy.
        NonZeroU32::new(self.lockout_attempts)
            .zip(NonZeroU32::new(self.lockout_seconds))
            .and_then(|(attempts, seconds)| Lockout::new(attempts, seconds))
            .unwrap_or_default()
    }

    /// The room lifetime.
    pub fn room_ttl(&self) -> Duration {
        Duration::from_secs(self.room_ttl_seconds)
    }

    /// The allowed WebSocket origins, defaulting to the listen address.
    pub fn origins(&self) -> Vec<String> {
        if self.allowed_origins.is_empty() {
            vec![format!("http://{}", self.listen)]
        } else {
            self.allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect()
        }
    }
}

impl Config {
    /// The rate limits in force (STD1-SRV-18, STD1-SRV-20).
    pub fn rate_settings(&self) -> RateSettings {
        if self.no_rate_limits {
            return RateSettings::OFF;
        }
        RateSettings {
            upgrades_per_minute: NonZeroU32::new(self.rate_upgrades_per_minute),
            joins_per_minute: NonZeroU32::new(self.rate_joins_per_minute),
            creates_per_minute: NonZeroU32::new(self.rate_creates_per_minute),
            claims_per_minute: NonZeroU32::new(self.rate_claims_per_minute),
            admin_per_minute: NonZeroU32::new(self.rate_admin_per_minute),
            frames_per_second: NonZeroU32::new(self.rate_frames_per_second),
        }
    }

    /// Where client addresses come from (STD1-SRV-21).
    pub fn client_address_source(&self) -> ClientAddressSource {
        ClientAddressSource {
            header: self.client_ip_header.clone(),
            trusted: self.trusted_proxies.clone(),
        }
    }
}

/// A proxy address: a network in CIDR form, or a single address.
fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an address nor a CIDR network"))
}
