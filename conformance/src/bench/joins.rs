//! Scenario (c): a join storm. Many clients at once each open a fresh
//! connection, join an existing room as its returning party A (the path
//! of every login after the first), read `Joined`, and close; again, until
//! the storm's joins are done.
//!
//! Measured with the join time floor (STD1-JOIN-21) off, so the figure is
//! the server's and the database's cost of a join. In production the
//! floor holds every `join` reply back at least `F`: one connection
//! manages at most 1/F joins per second however fast the server is, which
//! the report states beside the measured rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stelgano_spec::constants::{DEFAULT_JOIN_TIME_FLOOR, MIN_PRODUCTION_JOIN_TIME_FLOOR};
use stelgano_spec::ids::{AccessHash, RoomHash, SenderHash};
use stelgano_spec::wire::{ClientEvent, JoinRoom, ReplyBody, ServerFrame};

use super::cpu::{CpuUsage, CpuWatch};
use super::progress::Progress;
use super::room::FRAME_TIMEOUT;
use super::stats::LatencySummary;
use crate::client::{Connection, Incoming};

/// A returning party's credentials for a room.
#[derive(Debug, Clone, Copy)]
pub struct Login {
    pub room_hash: RoomHash,
    pub access: AccessHash,
    pub sender: SenderHash,
}

/// What the storm measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JoinStorm {
    pub joins: u64,
    /// Clients joining at once.
    pub clients: usize,
    /// Rooms joined, round robin.
    pub rooms: usize,
    pub seconds: f64,
    /// Completed joins per second, connection set-up included.
    pub joins_per_s: f64,
    /// From writing `join` to reading `Joined`.
    pub join_latency: LatencySummary,
    /// TCP connect and WebSocket upgrade before it.
    pub connect_latency: LatencySummary,
    /// The floor during this measurement: off.
    pub time_floor_ms: u64,
    /// What the default and the smallest production floor would allow one
    /// connection: 1/F joins per second.
    pub floor_limit_per_connection_default: f64,
    pub floor_limit_per_connection_minimum: f64,
    pub cpu: CpuUsage,
}

/// Runs `joins` joins with `clients` at once against `logins`, round robin.
pub async fn run(
    url: &str,
    logins: &[Login],
    joins: u64,
    clients: usize,
    watch: &CpuWatch,
    progress: &Progress,
) -> Result<JoinStorm, String> {
    if logins.is_empty() || clients == 0 {
        return Err("a join storm needs rooms and clients".into());
    }
    let logins: Arc<[Login]> = logins.into();
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let _ticker = progress.ticker("join storm".into(), done.clone(), "joins");
    let cpu_from = watch.sample();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (url, logins, issued, done) =
            (url.to_owned(), logins.clone(), issued.clone(), done.clone());
        tasks.spawn(async move {
            let (mut joined, mut connected) = (Vec::new(), Vec::new());
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= joins {
                    return Ok::<_, String>((joined, connected));
                }
                let login = logins[(n % logins.len() as u64) as usize];
                let (connect, join) = one_join(&url, login).await?;
                connected.push(connect);
                joined.push(join);
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let (mut join_samples, mut connect_samples) = (Vec::new(), Vec::new());
    while let Some(result) = tasks.join_next().await {
        let (mut joined, mut connected) =
            result.map_err(|e| format!("a join client failed: {e}"))??;
        join_samples.append(&mut joined);
        connect_samples.append(&mut connected);
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = watch.sample().since(&cpu_from);
    let per_second = |floor: Duration| 1.0 / floor.as_secs_f64();
    Ok(JoinStorm {
        joins: join_samples.len() as u64,
        clients,
        rooms: logins.len(),
        seconds,
        joins_per_s: join_samples.len() as f64 / seconds,
        join_latency: LatencySummary::of(&mut join_samples),
        connect_latency: LatencySummary::of(&mut connect_samples),
        time_floor_ms: 0,
        floor_limit_per_connection_default: per_second(DEFAULT_JOIN_TIME_FLOOR),
        floor_limit_per_connection_minimum: per_second(MIN_PRODUCTION_JOIN_TIME_FLOOR),
        cpu,
    })
}

/// One fresh connection's join: the connect time and the join's.
async fn one_join(url: &str, login: Login) -> Result<(Duration, Duration), String> {
    let started = Instant::now();
    let mut connection = Connection::open_for_load(url, "J")
        .await
        .map_err(|e| e.to_string())?;
    let connected = started.elapsed();
    let sent = Instant::now();
    connection
        .send(ClientEvent::Join(JoinRoom {
            room_hash: login.room_hash,
            access_hash: login.access,
            sender_hash: login.sender,
            pairing_hash: None,
        }))
        .await
        .map_err(|e| format!("join: {e}"))?;
    match connection.next(FRAME_TIMEOUT).await {
        Ok(Incoming::Frame(ServerFrame::Ok(reply))) if matches!(reply.ok, ReplyBody::Joined(_)) => {
        }
        other => return Err(format!("join: expected Joined, got {other:?}")),
    }
    let joined = sent.elapsed();
    connection.close().await;
    Ok((connected, joined))
}
