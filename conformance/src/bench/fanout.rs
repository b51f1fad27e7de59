//! Scenario (d): two server instances on one database. Party A of every
//! room is on the first instance and party B on the second, so every
//! reply crosses instances: committed by one, carried by PostgreSQL's
//! NOTIFY to the other's listener, and forwarded there (the README's
//! account of how order is kept across instances). Compared with the
//! single-instance run at the same rooms and, for the open loop, the same
//! offered rate.

use super::cpu::CpuWatch;
use super::load::{self, LoadPoint, Pace, Window};
use super::progress::Progress;
use crate::reference::{ReferenceServer, ReferenceSettings};

/// The fan-out measurements and their ratios to one instance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fanout {
    pub closed: LoadPoint,
    pub open: Option<LoadPoint>,
    /// Closed-loop throughput over the single instance's at the same rooms.
    pub throughput_ratio: f64,
    /// Open-loop p99 over the single instance's at the same offered rate.
    pub open_p99_ratio: Option<f64>,
}

/// Starts a second reference server on `first`'s database: the same
/// settings, with `--database-url` (which takes precedence over the
/// private cluster the harness would otherwise give it).
pub async fn second_instance(
    first: &ReferenceServer,
    settings: &ReferenceSettings,
) -> Result<ReferenceServer, String> {
    let mut settings = settings.clone();
    settings
        .extra_args
        .extend(["--database-url".to_owned(), first.database_url()]);
    ReferenceServer::start(&settings)
        .await
        .map_err(|e| format!("starting the second instance: {e}"))
}

/// Runs the closed loop, and the open loop when `single_open` is given
/// (at its offered rate), with `rooms` rooms spanning `url_a` and `url_b`.
pub async fn run(
    (url_a, url_b): (&str, &str),
    rooms: usize,
    window: Window,
    (single_closed, single_open): (&LoadPoint, Option<&LoadPoint>),
    watch: &CpuWatch,
    progress: &Progress,
) -> Result<Fanout, String> {
    progress.step(&format!(
        "fan-out: opening {rooms} rooms across two instances"
    ));
    let opened = load::open_rooms(url_a, url_b, rooms, progress).await?;
    let label = format!("fan-out, {rooms} rooms, closed loop");
    progress.step(&label);
    let (opened, closed) = load::run(opened, Pace::Closed, window, watch, progress, &label).await?;
    let mut open = None;
    let mut open_p99_ratio = None;
    let mut opened = opened;
    if let Some(single) = single_open
        && let Some(offered) = single.offered_per_s
    {
        let label = format!("fan-out, {rooms} rooms, open loop at {offered:.0}/s");
        progress.step(&label);
        let pace = Pace::Open {
            per_room_per_s: offered / rooms as f64,
        };
        let (rest, point) = load::run(opened, pace, window, watch, progress, &label).await?;
        opened = rest;
        open_p99_ratio = ratio(point.latency.p99_ms, single.latency.p99_ms);
        open = Some(point);
    }
    super::room::close_all(opened).await;
    Ok(Fanout {
        throughput_ratio: ratio(closed.throughput_per_s, single_closed.throughput_per_s)
            .unwrap_or(0.0),
        closed,
        open,
        open_p99_ratio,
    })
}

/// `a / b`, when `b` is a positive number.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && b.is_finite()).then(|| a / b)
}
