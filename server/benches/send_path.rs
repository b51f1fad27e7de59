//! The cost of the aggregate counters (`telemetry`, STD1-SRV-22) on the send
//! path (`cargo bench -p stelgano-server --bench send_path`).
//!
//! An absolute time means little on a shared, noisy machine, so the run
//! measures the same operation against two servers in the same process and
//! the figure to read is a ratio:
//!
//! - `send_with_telemetry`: one `send_message` round trip against a server
//!   whose counters count (`Telemetry::new(true)`, the default);
//! - `send_without_telemetry`: the same code against a server whose
//!   counters ignore every increment (`Telemetry::new(false)`);
//! - `count_one_event`: `Telemetry::count(Counter::MessagesSent)` alone,
//!   counting, uncontended, which is what a successful send adds (`ws.rs`),
//!   to put the per-event cost beside the round trip.
//!
//! Setup, once per run and only when a send benchmark runs: a private
//! PostgreSQL cluster in a fresh directory of the system's temporary folder
//! (`local_pg`, `Durability::Throwaway`: `initdb --no-sync`, `fsync=off`,
//! `synchronous_commit=off`, `full_page_writes=off`, the fastest the module
//! offers), one tokio multi-thread runtime, and two in-process servers on
//! loopback that share the cluster's database, each with its own pool and
//! the defaults of `AppState::new` (no join time floor, rate limits off).
//! On each server, one paired room: party A creates it with a pairing code,
//! party B joins with the code, each over its own WebSocket (no `Origin`
//! header, as a non-browser client). Only the silence timeouts are raised,
//! so that a pair left idle while the other benchmark runs is neither pinged
//! nor closed; that is the same for both servers and off the send path.
//!
//! One measured iteration: the party whose turn it is sends a 32-byte
//! ciphertext with `replaces` naming the current message (N=1 turn rule,
//! STD1-MSG-2), reads its own connection until the reply with the frame's
//! `ref` (its own `new_message` broadcast comes first, STD1-WIRE-30), then
//! reads the other party's `new_message` so that no queue grows; the turn
//! then passes to the other party. So the time is "stored, broadcast to
//! both parties, and acknowledged".
//!
//! Nagle's algorithm. The server writes the sender's `new_message` and then
//! its reply as two frames. Before the server set `TCP_NODELAY` on its
//! accepted sockets, the second write waited for the client's delayed
//! acknowledgement of the first (40 ms on Linux): every round trip took
//! about 45 ms, nearly all of it that timer. The server now sets it; the
//! benchmark's clients set it too, as browsers do for WebSockets.
//!
//! The counters are flushed to PostgreSQL by the server's own background
//! task every `TELEMETRY_FLUSH_EVERY` (60 s), off the send path; a flush may
//! fall inside the measurement of the enabled server, as in production.
//!
//! Divan runs the benchmarks one after the other, not interleaved; both send
//! benchmarks take the same sample count and size. A machine whose load
//! changes over seconds moves the ratio of their medians by more than the
//! counters could, so after divan's table the run (under `cargo bench`)
//! also does a paired comparison: blocks of round trips on the two servers
//! back to back, the order alternating, and the median of the per-round
//! ratios. It then checks that the enabled server counted every send and
//! the disabled one none.
//!
//! The cluster is stopped and its directory removed at the end, also when a
//! benchmark panics; a run killed by a signal leaves a `stelgano-bench-pg-*`
//! directory (and possibly a running cluster) in the temporary folder.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use divan::{Bencher, black_box};
use futures_util::{SinkExt, StreamExt};
use sqlx::{ConnectOptions, PgPool};
use stelgano_server::local_pg::{DEFAULT_MAX_CONNECTIONS, Durability, LocalCluster};
use stelgano_server::state::{AppState, ConnectionTimeouts};
use stelgano_server::store::keyed::{Pepper, StorageKeys};
use stelgano_server::telemetry::{Counter, Telemetry};
use stelgano_spec::derive::{PartyHashes, Phone, Pin};
use stelgano_spec::ids::{MessageId, PairingHash, SenderHash};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, ClientFrame, CreateRoom, Iv, JoinRoom, OkReply, ReplyBody,
    SendMessage, ServerFrame,
};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Samples of each send benchmark, and round trips per sample. Equal for
/// both servers; about 2 x 3000 round trips in all.
const SEND_SAMPLES: u32 = 300;
const SEND_SAMPLE_SIZE: u32 = 10;

/// How long a reply or broadcast may take before the run gives up.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// Silence timeouts far beyond the run's length (see the module comment).
const QUIET: Duration = Duration::from_secs(24 * 3600);

/// The database both servers use: the cluster is fresh, so its default one.
const DATABASE: &str = "postgres";

// ---------------------------------------------------------------------------
// The environment: cluster, runtime, two servers and their rooms.

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One party's connection.
struct Party {
    ws: Ws,
    sender_hash: SenderHash,
}

/// A paired room and the state the turn rule needs.
struct Pair {
    parties: [Party; 2],
    /// Index of the party whose turn it is.
    turn: usize,
    /// The room's current message, which the next send replaces.
    current: Option<MessageId>,
    next_ref: u64,
}

/// One in-process server and its room.
struct Server {
    telemetry: Arc<Telemetry>,
    pool: PgPool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    pair: Pair,
}

/// The private cluster, stopped and its directory removed when dropped.
struct Cluster {
    cluster: LocalCluster,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let dir = self.dir.display();
        match self.cluster.stop() {
            Err(e) => eprintln!("send_path: stopping the cluster in {dir} failed: {e}"),
            Ok(()) => {
                if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                    eprintln!("send_path: removing {dir} failed: {e}");
                }
            }
        }
    }
}

/// Fields drop in this order after `Env::drop`: the runtime (and any task
/// left) before the cluster.
struct Env {
    runtime: Runtime,
    pg_version: String,
    setup_time: Duration,
    with: Server,
    without: Server,
    /// Held to be dropped last.
    _cluster: Cluster,
}

static ENV: Mutex<Option<Env>> = Mutex::new(None);

fn env_lock() -> MutexGuard<'static, Option<Env>> {
    ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The environment, set up on first use.
fn env() -> MutexGuard<'static, Option<Env>> {
    let mut guard = env_lock();
    if guard.is_none() {
        *guard = Some(Env::start());
    }
    guard
}

impl Env {
    fn start() -> Self {
        let began = Instant::now();
        // A directory the `postgres` user can reach when we run as root
        // (`local_pg` then runs PostgreSQL as that user).
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("stelgano-bench-pg-{}-{stamp}", std::process::id()));
        let cluster =
            match LocalCluster::start(&dir, None, Durability::Throwaway, DEFAULT_MAX_CONNECTIONS) {
                Ok(cluster) => Cluster { cluster, dir },
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    panic!("the private PostgreSQL cluster for the benchmark starts: {e}")
                }
            };
        let options = cluster
            .cluster
            .connect_options(DATABASE)
            .disable_statement_logging();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (pg_version, with, without) = runtime.block_on(async {
            let with = Server::start(options.clone(), true, "+1 555 010 0001").await;
            let without = Server::start(options.clone(), false, "+1 555 010 0002").await;
            let version: String = sqlx::query_scalar("SHOW server_version")
                .fetch_one(&with.pool)
                .await
                .expect("the server version");
            (version, with, without)
        });
        Self {
            _cluster: cluster,
            runtime,
            pg_version,
            setup_time: began.elapsed(),
            with,
            without,
        }
    }

    /// The server with (`true`) or without its counters, and the runtime.
    fn server(&mut self, telemetry: bool) -> (&Runtime, &mut Server) {
        let server = if telemetry {
            &mut self.with
        } else {
            &mut self.without
        };
        (&self.runtime, server)
    }
}

impl Drop for Env {
    /// Closes the connections and stops both servers; the cluster follows.
    /// Reports problems without panicking (this also runs while a panic
    /// unwinds).
    fn drop(&mut self) {
        let Env {
            runtime,
            with,
            without,
            ..
        } = self;
        runtime.block_on(async {
            for server in [with, without] {
                for party in &mut server.pair.parties {
                    let _ = party.ws.close(None).await;
                }
                server.stop.take();
                match tokio::time::timeout(Duration::from_secs(15), &mut server.served).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(other) => eprintln!("send_path: a server stopped badly: {other:?}"),
                    Err(_) => eprintln!("send_path: a server did not stop within 15 s"),
                }
                server.pool.close().await;
            }
        });
    }
}

impl Server {
    async fn start(
        options: sqlx::postgres::PgConnectOptions,
        telemetry: bool,
        phone: &str,
    ) -> Self {
        let pool = stelgano_server::db::connect(options, 8)
            .await
            .expect("connecting to and migrating the benchmark database");
        let telemetry = Arc::new(Telemetry::new(telemetry));
        let state = AppState {
            telemetry: Arc::clone(&telemetry),
            timeouts: ConnectionTimeouts {
                ping_after: QUIET,
                idle_close: QUIET,
                ..ConnectionTimeouts::default()
            },
            ..AppState::new(
                pool.clone(),
                Arc::new(StorageKeys::derive(
                    &Pepper::generate().expect("randomness for the bench's pepper"),
                )),
            )
        };
        assert_eq!(state.join_time_floor, Duration::ZERO);
        let listener = listen().expect("listen on a loopback port");
        let addr = listener.local_addr().expect("the bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(stelgano_server::app::serve(
            listener,
            state,
            Duration::from_secs(60),
            async move {
                let _ = stopped.await;
            },
        ));
        let pair = Pair::open(addr, phone).await;
        Self {
            telemetry,
            pool,
            stop: Some(stop),
            served,
            pair,
        }
    }
}

fn party_hashes(phone: &str, pin: &str) -> PartyHashes {
    PartyHashes::derive(
        &Phone::parse(phone).expect("valid number"),
        &Pin::parse(pin).expect("valid PIN"),
    )
}

/// A loopback listener for one benchmark server.
fn listen() -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((std::net::Ipv4Addr::LOCALHOST, 0).into())?;
    socket.listen(128)
}

async fn connect(addr: std::net::SocketAddr) -> Ws {
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/ws"), None, true)
            .await
            .expect("a WebSocket to the benchmark server");
    ws
}

/// The next std-1 frame on `ws`, skipping control frames.
async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let message = tokio::time::timeout(REPLY_WAIT, ws.next())
            .await
            .expect("the server answers in time")
            .expect("the connection is open")
            .expect("a message");
        match message {
            Message::Text(text) => {
                return ServerFrame::from_json(text.as_str())
                    .unwrap_or_else(|| panic!("not a std-1 frame: {text}"));
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Sends `event` with `reference` and returns the reply with that ref,
/// skipping broadcasts before it.
async fn request(ws: &mut Ws, reference: &str, event: ClientEvent) -> ReplyBody {
    let frame = ClientFrame {
        reference: reference.parse().expect("a valid ref"),
        event,
    };
    ws.send(Message::text(frame.to_json()))
        .await
        .expect("send a frame");
    loop {
        match next_frame(ws).await {
            ServerFrame::Broadcast(_) => {}
            ServerFrame::Ok(OkReply { reference: r, ok }) if r.as_str() == reference => {
                return ok;
            }
            other => panic!("expected the reply to {reference}, got {other:?}"),
        }
    }
}

impl Pair {
    /// Creates a room with a pairing code on one connection and joins it
    /// with the code on another.
    async fn open(addr: std::net::SocketAddr, phone: &str) -> Self {
        let (a, b) = (party_hashes(phone, "1234"), party_hashes(phone, "9876"));
        let code: PairingHash = PairingCode::generate()
            .expect("randomness for a pairing code")
            .hash();
        let mut ws_a = connect(addr).await;
        let mut ws_b = connect(addr).await;
        let created = request(
            &mut ws_a,
            "create",
            ClientEvent::Create(CreateRoom {
                room_hash: a.room_hash,
                access_hash: a.access_hash,
                sender_hash: a.sender_hash,
                pairing_hash: code,
                country_iso: None,
            }),
        )
        .await;
        let ReplyBody::Joined(created) = created else {
            panic!("create answered {created:?}");
        };
        assert!(created.awaiting_party && created.current_message.is_none());
        let joined = request(
            &mut ws_b,
            "join",
            ClientEvent::Join(JoinRoom {
                room_hash: b.room_hash,
                access_hash: b.access_hash,
                sender_hash: b.sender_hash,
                pairing_hash: Some(code),
            }),
        )
        .await;
        let ReplyBody::Joined(joined) = joined else {
            panic!("join answered {joined:?}");
        };
        assert!(!joined.awaiting_party && joined.room_id == created.room_id);
        // The creator is told that the room is paired.
        assert_eq!(
            next_frame(&mut ws_a).await,
            ServerFrame::Broadcast(Broadcast::PartyPaired {})
        );
        Self {
            parties: [
                Party {
                    ws: ws_a,
                    sender_hash: a.sender_hash,
                },
                Party {
                    ws: ws_b,
                    sender_hash: b.sender_hash,
                },
            ],
            turn: 0,
            current: None,
            next_ref: 0,
        }
    }

    /// One `send_message` by the party whose turn it is, acknowledged to it
    /// and delivered to the other party.
    async fn round_trip(&mut self) {
        let (sender, receiver) = (self.turn, 1 - self.turn);
        self.next_ref += 1;
        let reference = self.next_ref.to_string();
        let fill = self.next_ref as u8;
        let event = ClientEvent::SendMessage(SendMessage {
            ciphertext: Ciphertext::from_bytes(vec![fill; 32]).expect("a valid ciphertext"),
            iv: Iv::from_array([fill; 12]),
            replaces: self.current,
        });
        let sender_hash = self.parties[sender].sender_hash;
        let ReplyBody::Sent(sent) = request(&mut self.parties[sender].ws, &reference, event).await
        else {
            panic!("send_message was not accepted");
        };
        let id = sent.message_id;
        match next_frame(&mut self.parties[receiver].ws).await {
            ServerFrame::Broadcast(Broadcast::NewMessage(m))
                if m.id == id && m.sender_hash == sender_hash => {}
            other => panic!("expected the other party's new_message, got {other:?}"),
        }
        self.current = Some(id);
        self.turn = receiver;
    }
}

// ---------------------------------------------------------------------------
// Divan benchmarks.

fn bench_send(bencher: Bencher, telemetry: bool) {
    let mut guard = env();
    let env = guard.as_mut().expect("set up by env()");
    let (runtime, server) = env.server(telemetry);
    assert_eq!(server.telemetry.enabled(), telemetry);
    let pair = &mut server.pair;
    bencher.bench_local(|| runtime.block_on(pair.round_trip()));
}

/// One `send_message` round trip, counters on.
#[divan::bench(sample_count = SEND_SAMPLES, sample_size = SEND_SAMPLE_SIZE)]
fn send_with_telemetry(bencher: Bencher) {
    bench_send(bencher, true);
}

/// The same round trip against the server whose counters are off.
#[divan::bench(sample_count = SEND_SAMPLES, sample_size = SEND_SAMPLE_SIZE)]
fn send_without_telemetry(bencher: Bencher) {
    bench_send(bencher, false);
}

/// What a successful send adds when counting: one `Telemetry::count`.
#[divan::bench(sample_count = SEND_SAMPLES, sample_size = 1000)]
fn count_one_event(bencher: Bencher) {
    let telemetry = Telemetry::new(true);
    bencher.bench(|| telemetry.count(black_box(Counter::MessagesSent)));
}

// ---------------------------------------------------------------------------
// The summary and the paired comparison.

/// Rounds of the paired comparison; each times one block on each server.
const PAIRED_ROUNDS: usize = 300;
/// Round trips per block.
const PAIRED_BLOCK: u32 = 5;

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// `messages_sent` as the enabled server's counters know it: stored plus
/// pending. Both servers write to one database, but only the enabled one
/// ever adds to it.
fn counted_sends(env: &Env) -> u64 {
    let today = time::OffsetDateTime::now_utc().date();
    let stored: i64 = env
        .runtime
        .block_on(
            sqlx::query_scalar(
                "SELECT COALESCE(sum(count), 0)::bigint FROM telemetry_daily
                  WHERE counter = $1 AND day = $2",
            )
            .bind(Counter::MessagesSent.name())
            .bind(today)
            .fetch_one(&env.with.pool),
        )
        .unwrap_or(0);
    u64::try_from(stored).unwrap_or(0)
        + env
            .with
            .telemetry
            .pending_for(today)
            .get(Counter::MessagesSent)
}

/// Microseconds per round trip of one block of `PAIRED_BLOCK` round trips.
fn time_block(runtime: &Runtime, server: &mut Server) -> f64 {
    let start = Instant::now();
    runtime.block_on(async {
        for _ in 0..PAIRED_BLOCK {
            server.pair.round_trip().await;
        }
    });
    start.elapsed().as_secs_f64() * 1e6 / f64::from(PAIRED_BLOCK)
}

/// Blocks on the two servers back to back, the order alternating between
/// rounds, so that both see the same machine; the median of the per-round
/// ratios is far less sensitive to load that changes over seconds than the
/// ratio of two medians taken one after the other.
fn paired_comparison(env: &mut Env) {
    let Env {
        runtime,
        with,
        without,
        ..
    } = env;
    let (mut on, mut off, mut ratios) = (vec![], vec![], vec![]);
    for round in 0..PAIRED_ROUNDS {
        let (a, b) = if round % 2 == 0 {
            let a = time_block(runtime, with);
            (a, time_block(runtime, without))
        } else {
            let b = time_block(runtime, without);
            (time_block(runtime, with), b)
        };
        on.push(a);
        off.push(b);
        ratios.push(a / b);
    }
    let (mut sorted, n) = (ratios.clone(), ratios.len());
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "send_path: paired comparison, {PAIRED_ROUNDS} rounds of {PAIRED_BLOCK} round trips \
         on each server, alternating order:"
    );
    eprintln!(
        "send_path:   median round trip with telemetry {:.1} us, without {:.1} us",
        median(&on),
        median(&off)
    );
    eprintln!(
        "send_path:   with/without: median of per-round ratios {:.3} \
         (quartiles {:.3} to {:.3}), ratio of medians {:.3}",
        median(&ratios),
        sorted[n / 4],
        sorted[3 * n / 4],
        median(&on) / median(&off)
    );
}

fn summary(env: &mut Env, benchmarking: bool) {
    if benchmarking {
        eprintln!();
        paired_comparison(env);
    }
    eprintln!(
        "send_path: PostgreSQL {} (private cluster, Durability::Throwaway: fsync, \
         synchronous_commit and full_page_writes off), setup {:.1} s",
        env.pg_version,
        env.setup_time.as_secs_f64(),
    );
    let counted = counted_sends(env);
    let counted_off = env
        .without
        .telemetry
        .pending_for(time::OffsetDateTime::now_utc().date())
        .get(Counter::MessagesSent);
    eprintln!(
        "send_path: sends with telemetry {} (messages_sent counted: {counted}), \
         without {} (counted: {counted_off})",
        env.with.pair.next_ref, env.without.pair.next_ref
    );
    if counted != env.with.pair.next_ref || counted_off != 0 {
        eprintln!("send_path: WARNING: the counters do not match the sends");
    }
}

/// Tears the environment down when dropped, also while a panic unwinds.
struct Teardown {
    benchmarking: bool,
}

impl Drop for Teardown {
    fn drop(&mut self) {
        let Some(mut env) = env_lock().take() else {
            return;
        };
        if !std::thread::panicking() {
            summary(&mut env, self.benchmarking);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    // `cargo bench` passes `--bench`; without it (or with `--test`) divan
    // only checks that each benchmark runs once.
    let teardown = Teardown {
        benchmarking: has("--bench") && !has("--test"),
    };
    divan::main();
    drop(teardown);
}
