//! Scenario (a): rooms whose two parties reply to each other as fast as
//! the protocol allows, and the send→delivery latency of every reply.
//!
//! A room holds one message and nobody sends twice in a row (STD1-MSG-3),
//! so a room has at most one reply in flight: the other party answers
//! (`replaces` = the id it just received) the moment its `new_message`
//! arrives. In the *closed* loop that is all, and throughput is rooms ÷
//! round trip: past the point where the server, the database or the cores
//! are saturated, more rooms only add queueing to the latency. The *open*
//! loop paces each room to a fixed rate with a random phase, so the load
//! is set by the bench, not by the server's speed, and below saturation
//! the latency is the service time and not the queue.
//!
//! Latency runs from just before the sender writes its frame to the moment
//! the other party has read `new_message`: the server's transaction, its
//! NOTIFY fan-out and both WebSocket hops. Only deliveries inside the
//! measurement window count; the warm-up before it fills the pool and the
//! caches.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::cpu::{CpuUsage, CpuWatch};
use super::progress::Progress;
use super::room::Room;
use super::stats::LatencySummary;

/// How each room is driven.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Each reply as soon as the previous one is delivered.
    Closed,
    /// Replies at this many per second in each room (both parties
    /// together), or as soon as the previous one is delivered if that is
    /// later.
    Open { per_room_per_s: f64 },
}

/// The measurement's timing.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub warmup: Duration,
    pub measure: Duration,
}

/// One measured load.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadPoint {
    pub rooms: usize,
    /// `closed` (as fast as allowed) or `open` (paced).
    pub mode: &'static str,
    /// The open loop's offered replies per second, over all rooms.
    pub offered_per_s: Option<f64>,
    /// Deliveries inside the window.
    pub sends: u64,
    pub seconds: f64,
    /// Deliveries per second: replies sent, stored and received.
    pub throughput_per_s: f64,
    /// Send→delivery.
    pub latency: LatencySummary,
    pub cpu: CpuUsage,
}

impl LoadPoint {
    /// Whether an open loop delivered (nearly) what it offered; a closed
    /// loop always does.
    pub fn sustained(&self) -> bool {
        self.offered_per_s
            .is_none_or(|offered| self.throughput_per_s >= 0.95 * offered)
    }
}

/// Drives every room in `rooms` for the warm-up and the window, then lets
/// each finish its reply in flight; returns the rooms, at rest, for the
/// next measurement.
pub async fn run(
    rooms: Vec<Room>,
    pace: Pace,
    window: Window,
    watch: &CpuWatch,
    progress: &Progress,
    label: &str,
) -> Result<(Vec<Room>, LoadPoint), String> {
    let count = rooms.len();
    let started = Instant::now();
    let from = started + window.warmup;
    let until = from + window.measure;
    let delivered = Arc::new(AtomicU64::new(0));
    let _ticker = progress.ticker(label.to_owned(), delivered.clone(), "replies");
    let interval = match pace {
        Pace::Closed => None,
        Pace::Open { per_room_per_s } if per_room_per_s > 0.0 => {
            Some(Duration::from_secs_f64(1.0 / per_room_per_s))
        }
        Pace::Open { .. } => return Err("an open loop needs a positive rate".into()),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (index, room) in rooms.into_iter().enumerate() {
        let delivered = delivered.clone();
        let phase = random_fraction()?;
        tasks.spawn(drive(
            index,
            room,
            interval.map(|every| {
                (
                    tokio::time::Instant::from_std(started) + every.mul_f64(phase),
                    every,
                )
            }),
            (from, until),
            delivered,
        ));
    }
    // The CPU samples bracket the window; the rooms do not wait on them.
    tokio::time::sleep_until(tokio::time::Instant::from_std(from)).await;
    let cpu_from = watch.sample();
    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
    let cpu = watch.sample().since(&cpu_from);

    let mut back: Vec<Option<Room>> = (0..count).map(|_| None).collect();
    let mut samples = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (index, room, mut latencies) =
            joined.map_err(|e| format!("a room's task failed: {e}"))??;
        samples.append(&mut latencies);
        back[index] = Some(room);
    }
    let rooms: Vec<Room> = back.into_iter().flatten().collect();
    let sends = samples.len() as u64;
    let seconds = window.measure.as_secs_f64();
    let point = LoadPoint {
        rooms: count,
        mode: match pace {
            Pace::Closed => "closed",
            Pace::Open { .. } => "open",
        },
        offered_per_s: match pace {
            Pace::Closed => None,
            Pace::Open { per_room_per_s } => Some(per_room_per_s * count as f64),
        },
        sends,
        seconds,
        throughput_per_s: sends as f64 / seconds,
        latency: LatencySummary::of(&mut samples),
        cpu,
    };
    Ok((rooms, point))
}

/// One room's loop: replies until the window ends, the latencies of those
/// delivered inside it.
async fn drive(
    index: usize,
    mut room: Room,
    schedule: Option<(tokio::time::Instant, Duration)>,
    (from, until): (Instant, Instant),
    delivered: Arc<AtomicU64>,
) -> Result<(usize, Room, Vec<Duration>), String> {
    let mut latencies = Vec::new();
    let mut next = schedule.map(|(first, _)| first);
    loop {
        let due = next.map_or_else(Instant::now, tokio::time::Instant::into_std);
        if due >= until {
            break;
        }
        let delivery = room.exchange(next).await?;
        if delivery.at >= from && delivery.at < until {
            latencies.push(delivery.latency);
            delivered.fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(at), Some((_, every))) = (next.as_mut(), schedule) {
            *at += every;
        }
    }
    room.settle().await?;
    Ok((index, room, latencies))
}

/// A uniform fraction in [0, 1), for a room's phase in the open loop: rooms
/// that start in step would send in bursts.
fn random_fraction() -> Result<f64, String> {
    let n = getrandom::u64().map_err(|e| format!("no randomness: {e}"))?;
    Ok((n >> 11) as f64 / (1_u64 << 53) as f64)
}

/// Opens `count` paired rooms, party A on `url_a` and B on `url_b`, a
/// bounded number at a time.
pub async fn open_rooms(
    url_a: &str,
    url_b: &str,
    count: usize,
    progress: &Progress,
) -> Result<Vec<Room>, String> {
    const AT_ONCE: usize = 32;
    let mut rooms = Vec::with_capacity(count);
    let mut tasks = tokio::task::JoinSet::new();
    let mut started = 0;
    while rooms.len() < count {
        while started < count && tasks.len() < AT_ONCE {
            let (a, b) = (url_a.to_owned(), url_b.to_owned());
            tasks.spawn(async move { Room::pair(&a, &b).await });
            started += 1;
        }
        match tasks.join_next().await {
            Some(joined) => {
                rooms.push(joined.map_err(|e| format!("opening a room: {e}"))??);
                progress.update(&format!("opening rooms: {} of {count}", rooms.len()));
            }
            None => break,
        }
    }
    Ok(rooms)
}
