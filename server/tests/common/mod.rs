//! Throwaway PostgreSQL databases for tests.
//!
//! With `DATABASE_URL` set, each test gets a new database on that server.
//! Without it, the test binary starts (once) the same private cluster the
//! server uses when it has no `DATABASE_URL`, in a directory of the system's
//! temporary folder, and leaves it running for the next run. Databases are
//! named after the test process, and those of processes that no longer exist
//! are dropped on first use, so aborted runs do not pile up.

#![allow(dead_code)] // each test binary uses part of this module

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use stelgano_server::local_pg::{DEFAULT_MAX_CONNECTIONS, Durability, LocalCluster};

const PREFIX: &str = "stelgano_t_";

/// Where the server to test against lives.
enum Backend {
    Url(Box<PgConnectOptions>),
    Local(LocalCluster),
}

fn backend() -> &'static Backend {
    static BACKEND: OnceLock<Backend> = OnceLock::new();
    BACKEND.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) => Backend::Url(Box::new(
            url.parse().expect("DATABASE_URL is a valid PostgreSQL URL"),
        )),
        Err(_) => Backend::Local(
            LocalCluster::start(
                &test_cluster_dir(),
                None,
                Durability::Throwaway,
                DEFAULT_MAX_CONNECTIONS,
            )
            .expect("the private test cluster starts"),
        ),
    })
}

/// A directory the `postgres` user can reach even when the checkout is in
/// a private (0700) folder: the system temporary folder, one per checkout.
fn test_cluster_dir() -> PathBuf {
    let checkout = env!("CARGO_MANIFEST_DIR");
    let hash = checkout.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    std::env::temp_dir().join(format!("stelgano-test-pg-{hash:016x}"))
}

fn options(database: &str) -> PgConnectOptions {
    match backend() {
        Backend::Url(base) => (**base).clone().database(database),
        Backend::Local(cluster) => cluster.connect_options(database),
    }
    .disable_statement_logging()
}

async fn admin() -> PgConnection {
    PgConnection::connect_with(&options("postgres"))
        .await
        .expect("the admin database accepts connections")
}

/// Drops the databases of test processes that have exited.
async fn drop_orphans(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut *admin)
            .await
            .expect("listing test databases");
    for name in names {
        let pid = name
            .trim_start_matches(PREFIX)
            .split('_')
            .next()
            .unwrap_or_default();
        if !PathBuf::from("/proc").join(pid).exists() {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Creates an empty database and returns its name.
pub async fn empty_database() -> String {
    static CLEANED: OnceLock<()> = OnceLock::new();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut admin = admin().await;
    if CLEANED.set(()).is_ok() {
        drop_orphans(&mut admin).await;
    }
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    // The name is built from two integers; nothing user-supplied reaches SQL.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("creating a test database");
    name
}

/// A pool on a fresh database with the schema applied.
pub async fn fresh_pool() -> PgPool {
    let name = empty_database().await;
    stelgano_server::db::connect(options(&name), 8)
        .await
        .expect("connecting and migrating the test database")
}

/// A pool on an existing database, without migrating it.
pub async fn pool_for(database: &str, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options(database))
        .await
        .expect("connecting")
}

/// A fresh, migrated database behind a pool of a single connection: the
/// smallest pool the server can be configured with.
pub async fn single_connection_pool() -> PgPool {
    let pool = pool_for(&empty_database().await, 1).await;
    stelgano_server::db::MIGRATOR
        .run(&pool)
        .await
        .expect("migrate");
    pool
}

/// A `postgres://` URL for `database`, for server processes under test.
pub fn database_url(database: &str) -> String {
    match backend() {
        Backend::Url(_) => {
            let mut url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set");
            // Replace the database part of the URL (the path before any query).
            let query = url.find('?').map(|i| url.split_off(i)).unwrap_or_default();
            let base = url
                .rsplit_once('/')
                .map_or(url.as_str(), |(base, _)| base)
                .to_owned();
            format!("{base}/{database}{query}")
        }
        Backend::Local(cluster) => cluster.url(database),
    }
}

/// An in-process server instance, stopped when dropped.
pub struct Instance {
    pub addr: std::net::SocketAddr,
    pub pool: PgPool,
    /// The instance's session registry, to observe its connections.
    pub hub: std::sync::Arc<stelgano_server::hub::Hub>,
    /// The serving task; it ends after a shutdown.
    pub served: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Instance {
    /// Starts the instance's graceful shutdown.
    pub fn shut_down(&mut self) {
        self.stop.take();
    }
}

/// Origin the test instances accept on WebSocket upgrades.
pub const ALLOWED_ORIGIN: &str = "https://stelgano.example";

/// Serves the protocol on a loopback port with `pool`, a 7-day room
/// lifetime and the given time floor; several instances may share a pool's
/// database, as several servers share one in production.
pub async fn instance(pool: PgPool, floor: std::time::Duration) -> Instance {
    instance_with(pool, floor, |_| {}).await
}

/// As [`instance`], with settings changed by `configure` (connection
/// timeouts, lockout, HSTS).
pub async fn instance_with(
    pool: PgPool,
    floor: std::time::Duration,
    configure: impl FnOnce(&mut stelgano_server::state::AppState),
) -> Instance {
    use std::sync::Arc;
    let mut state = stelgano_server::state::AppState {
        join_time_floor: floor,
        room_ttl: std::time::Duration::from_secs(7 * 24 * 3600),
        allowed_origins: Arc::new(vec![ALLOWED_ORIGIN.into()]),
        ..stelgano_server::state::AppState::new(pool.clone(), Arc::new(keys().clone()))
    };
    configure(&mut state);
    let hub = Arc::clone(&state.hub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(stelgano_server::app::serve(
        listener,
        state,
        std::time::Duration::from_secs(1),
        async move {
            let _ = stopped.await;
        },
    ));
    Instance {
        addr,
        pool,
        hub,
        served,
        stop: Some(stop),
    }
}

/// The identifiers of a party with this number and PIN.
pub fn party(phone: &str, pin: &str) -> stelgano_spec::derive::PartyHashes {
    use stelgano_spec::derive::{PartyHashes, Phone, Pin};
    PartyHashes::derive(
        &Phone::parse(phone).expect("valid number"),
        &Pin::parse(pin).expect("valid PIN"),
    )
}

/// The hash of a typed pairing code.
pub fn code(text: &str) -> stelgano_spec::ids::PairingHash {
    stelgano_spec::pairing::PairingCode::parse(text)
        .expect("valid code")
        .hash()
}

/// Moves every room's expiry time to now, which counts as past
/// (STD1-SRV-7), keeping its creation time earlier as the schema requires.
pub async fn age_all_rooms(pool: &PgPool) {
    sqlx::query(
        "UPDATE rooms SET created_at = date_trunc('second', now()) - interval '8 days',
                          ttl_expires_at = date_trunc('second', now())",
    )
    .execute(pool)
    .await
    .expect("age the rooms");
}

/// A `create` for this party.
pub fn create_request(
    p: &stelgano_spec::derive::PartyHashes,
    pairing_hash: stelgano_spec::ids::PairingHash,
) -> stelgano_spec::wire::CreateRoom {
    stelgano_spec::wire::CreateRoom {
        room_hash: p.room_hash,
        access_hash: p.access_hash,
        sender_hash: p.sender_hash,
        pairing_hash,
        country_iso: None,
    }
}

/// A `join` for this party.
pub fn join_request(
    p: &stelgano_spec::derive::PartyHashes,
    pairing_hash: Option<stelgano_spec::ids::PairingHash>,
) -> stelgano_spec::wire::JoinRoom {
    stelgano_spec::wire::JoinRoom {
        room_hash: p.room_hash,
        access_hash: p.access_hash,
        sender_hash: p.sender_hash,
        pairing_hash,
    }
}

/// A raw HTTP/1.1 request without a body: status, headers (names
/// lower-cased, in order) and body. Raw, so that tests see exactly what the
/// server sends.
pub async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("the server answers")
    .expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The storage keys of every test server and store call: one fixed test
/// pepper, so that rows one test writes are found by the code it tests
/// (STD1-SRV-25).
pub fn keys() -> &'static stelgano_server::store::keyed::StorageKeys {
    static KEYS: OnceLock<stelgano_server::store::keyed::StorageKeys> = OnceLock::new();
    KEYS.get_or_init(|| stelgano_server::store::keyed::StorageKeys::derive(&test_pepper()))
}

/// The tests' pepper: fixed, so that a failure reproduces.
pub fn test_pepper() -> stelgano_server::store::keyed::Pepper {
    stelgano_server::store::keyed::Pepper::from_hex(&"7e".repeat(32)).expect("64 hex digits")
}

/// The room events published on the store's channel, in commit order.
pub struct Published {
    listener: sqlx::postgres::PgListener,
    reassembler: stelgano_server::store::events::Reassembler,
}

impl Published {
    pub async fn listen(pool: &PgPool) -> Self {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool)
            .await
            .expect("listener");
        listener
            .listen(stelgano_server::store::events::CHANNEL)
            .await
            .expect("listen");
        Self {
            listener,
            reassembler: Default::default(),
        }
    }

    /// The next complete event; a missing event fails the test after 10 s
    /// instead of hanging it.
    pub async fn next(&mut self) -> stelgano_server::store::events::RoomEvent {
        loop {
            let notification =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.listener.recv())
                    .await
                    .expect("an event arrives")
                    .expect("listener");
            if let Some(event) = self
                .reassembler
                .push(notification.payload())
                .expect("well-formed payload")
            {
                return event;
            }
        }
    }
}
