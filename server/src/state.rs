//! What every request handler shares: the server's configuration and
//! the handles of its shared parts. Kept apart from `app`, which wires the
//! routes, so that the handlers (`ws`, `admin`, `metrics`) depend on this
//! state and not on the module that depends on them.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use sqlx::PgPool;

use crate::admin::AdminAuth;
use crate::hub::Hub;
use crate::origins::FailedOrigins;
use crate::rate_limit::{ClientAddressSource, RateLimits, RateSettings};
use crate::store::Lockout;
use crate::store::keyed::StorageKeys;
use crate::telemetry::Telemetry;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub hub: Arc<Hub>,
    pub join_time_floor: Duration,
    pub room_ttl: Duration,
    pub allowed_origins: Arc<Vec<String>>,
    pub timeouts: ConnectionTimeouts,
    /// When failed joins lock a room (STD1-JOIN-18).
    pub lockout: Lockout,
    /// The `Strict-Transport-Security` value, when configured (STD1-SRV-15).
    pub hsts: Option<HeaderValue>,
    /// How often the event feed proves its connection (`feed`).
    pub feed_heartbeat: Duration,
    /// Per-address and per-connection limits (STD1-SRV-18).
    pub rate_limits: Arc<RateLimits>,
    /// Where a request's client address comes from (STD1-SRV-21).
    pub client_address: Arc<ClientAddressSource>,
    /// Aggregate counters (STD1-SRV-22).
    pub telemetry: Arc<Telemetry>,
    /// The administration page's credentials; `None` switches it off
    /// (STD1-SRV-24).
    pub admin: Option<Arc<AdminAuth>>,
    /// The keys the stored hashes are kept under (STD1-SRV-25).
    pub keys: Arc<StorageKeys>,
    /// The origins that failed against each room, which a lock bars
    /// (STD1-JOIN-22); sized for rooms of `room_ttl`.
    pub failed_origins: Arc<FailedOrigins>,
}

impl AppState {
    /// A state with the spec's defaults around `pool`: no time floor, a
    /// 7-day lifetime, no rate limits, counters on, no administration page.
    /// Servers and tests change what they need.
    pub fn new(pool: PgPool, keys: Arc<StorageKeys>) -> Self {
        Self {
            pool,
            hub: Arc::new(Hub::default()),
            join_time_floor: Duration::ZERO,
            room_ttl: stelgano_spec::constants::DEFAULT_ROOM_TTL,
            allowed_origins: Arc::new(Vec::new()),
            timeouts: ConnectionTimeouts::default(),
            lockout: Lockout::default(),
            hsts: None,
            feed_heartbeat: crate::feed::DEFAULT_HEARTBEAT,
            rate_limits: Arc::new(RateLimits::new(RateSettings::OFF)),
            client_address: Arc::new(ClientAddressSource::default()),
            telemetry: Arc::new(Telemetry::default()),
            admin: None,
            failed_origins: Arc::new(FailedOrigins::new(
                keys.origins_key(),
                stelgano_spec::constants::DEFAULT_ROOM_TTL,
                crate::origins::DEFAULT_CAPACITY,
            )),
            keys,
        }
    }
}

/// The silence and join deadlines of a connection (STD1-WIRE-24,
/// STD1-WIRE-25) and its send timeout; the spec's values by default,
/// shorter in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// Silence after which the server pings.
    pub ping_after: Duration,
    /// Silence after which the server closes (1008).
    pub idle_close: Duration,
    /// Time to open a session before the server closes (1008).
    pub join_deadline: Duration,
    /// Time a peer has to take one frame before it counts as gone.
    pub send: Duration,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        Self {
            ping_after: stelgano_spec::constants::PING_INTERVAL,
            idle_close: stelgano_spec::constants::IDLE_TIMEOUT,
            join_deadline: stelgano_spec::constants::JOIN_DEADLINE,
            send: Duration::from_secs(10),
        }
    }
}
