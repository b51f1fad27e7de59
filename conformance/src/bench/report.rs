//! The bench's report: every measurement, and the headline figures each
//! with its baseline, ratio and goal (issue 8: every headline number is
//! reported as a ratio to its baseline).

use super::fanout::{Fanout, ratio};
use super::idle::IdleReport;
use super::joins::JoinStorm;
use super::load::LoadPoint;
use super::machine::Machine;
use super::pgbench::PgbenchResult;

/// Goal: reply throughput at least this share of the pgbench ceiling.
pub const THROUGHPUT_GOAL: f64 = 0.6;
/// Goal: send→delivery p99 below saturation, in milliseconds.
pub const P99_GOAL_MS: f64 = 10.0;
/// Goal: server memory per idle joined connection, in bytes.
pub const IDLE_GOAL_BYTES: f64 = 16.0 * 1024.0;

/// How the run was set up.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Settings {
    pub smoke: bool,
    /// The headline room count (scenario a's "200 active rooms").
    pub rooms: usize,
    pub ladder: Vec<usize>,
    pub measure_seconds: f64,
    pub warmup_seconds: f64,
    /// The open loop's rates, as shares of the highest closed-loop
    /// throughput.
    pub open_loop_shares: Vec<f64>,
    pub joins: u64,
    pub join_clients: usize,
    pub idle: usize,
    /// `None` when the bench started the reference server itself.
    pub target: Option<String>,
    /// The join time floor of the servers the bench started: 0, off, for
    /// every measurement (the floor holds back `create` and `join` only).
    pub join_time_floor_ms: Option<u64>,
    /// Arguments given to the servers the bench started, beyond its own.
    pub server_args: Vec<String>,
}

/// A headline figure against its baseline.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Headline {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    pub baseline: String,
    pub baseline_value: f64,
    /// `value / baseline_value`.
    pub ratio: Option<f64>,
    pub goal: String,
    /// Whether the goal holds; `None` for a figure without one.
    pub met: Option<bool>,
}

/// Everything a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    /// Read these first: a debug build, a skipped scenario.
    pub warnings: Vec<String>,
    pub headlines: Vec<Headline>,
    /// Scenario (a), closed loop, at each room count of the ladder.
    pub ladder: Vec<LoadPoint>,
    /// Scenario (a), open loop at the headline room count, by rising
    /// offered rate.
    pub open_loop: Vec<LoadPoint>,
    /// The baseline runs: at the headline room count, at the server's pool
    /// size, and at the pool size without notifications.
    pub pgbench: Vec<PgbenchResult>,
    pub joins: Option<JoinStorm>,
    pub fanout: Option<Fanout>,
    pub idle: Option<IdleReport>,
    /// Scenarios that failed; the command exits with 1 when there are any.
    pub errors: Vec<String>,
    pub seconds: f64,
}

impl Report {
    /// The closed-loop point at the headline room count.
    pub fn headline_closed(&self) -> Option<&LoadPoint> {
        self.ladder.iter().find(|p| p.rooms == self.settings.rooms)
    }

    /// The open loop at the highest offered rate: the headline "below
    /// saturation" figure.
    pub fn headline_open(&self) -> Option<&LoadPoint> {
        self.open_loop.last()
    }

    /// The database's ceiling for the send transaction: the best pgbench
    /// run that publishes its events, whatever its client count (more
    /// clients than the server's pool can be slower, as they queue on the
    /// commit-time notification lock).
    pub fn pgbench_ceiling(&self) -> Option<&PgbenchResult> {
        self.pgbench
            .iter()
            .filter(|p| p.notify && p.rate_per_s.is_none())
            .max_by(|a, b| a.tps.total_cmp(&b.tps))
    }

    /// The unloaded point: one room.
    fn unloaded(&self) -> Option<&LoadPoint> {
        self.ladder.iter().min_by_key(|p| p.rooms)
    }

    /// Fills `headlines` from the measurements.
    pub fn compute_headlines(&mut self) {
        let mut lines = Vec::new();
        let rooms = self.settings.rooms;
        if let (Some(closed), Some(pg)) = (self.headline_closed(), self.pgbench_ceiling()) {
            let r = ratio(closed.throughput_per_s, pg.tps);
            lines.push(Headline {
                name: format!("reply throughput, {rooms} rooms, closed loop"),
                value: closed.throughput_per_s,
                unit: "replies/s",
                baseline: format!("pgbench send transaction, {} clients", pg.clients),
                baseline_value: pg.tps,
                ratio: r,
                goal: format!("≥ {THROUGHPUT_GOAL} × baseline"),
                met: r.map(|r| r >= THROUGHPUT_GOAL),
            });
        }
        if let (Some(open), Some(unloaded)) = (self.headline_open(), self.unloaded()) {
            lines.push(Headline {
                name: format!(
                    "send→delivery p99, {rooms} rooms, open loop at {:.0}/s (below saturation)",
                    open.offered_per_s.unwrap_or(0.0)
                ),
                value: open.latency.p99_ms,
                unit: "ms",
                baseline: format!("p99 unloaded ({} room, closed loop)", unloaded.rooms),
                baseline_value: unloaded.latency.p99_ms,
                ratio: ratio(open.latency.p99_ms, unloaded.latency.p99_ms),
                goal: format!("≤ {P99_GOAL_MS} ms"),
                met: Some(open.latency.p99_ms <= P99_GOAL_MS && open.sustained()),
            });
        }
        let best = self
            .ladder
            .iter()
            .map(|p| p.throughput_per_s)
            .fold(0.0, f64::max);
        let within_goal = self
            .open_loop
            .iter()
            .filter(|p| p.latency.p99_ms <= P99_GOAL_MS && p.sustained())
            .map(|p| p.throughput_per_s)
            .fold(None, |most: Option<f64>, t| {
                Some(most.map_or(t, |m| m.max(t)))
            });
        if !self.open_loop.is_empty() && best > 0.0 {
            let value = within_goal.unwrap_or(0.0);
            lines.push(Headline {
                name: format!(
                    "highest open-loop rate measured with p99 ≤ {P99_GOAL_MS} ms, {rooms} rooms"
                ),
                value,
                unit: "replies/s",
                baseline: "highest closed-loop throughput".into(),
                baseline_value: best,
                ratio: ratio(value, best),
                goal: "none (0 when no measured rate meets it)".into(),
                met: None,
            });
        }
        if let (Some(closed), Some(unloaded)) = (self.headline_closed(), self.unloaded()) {
            lines.push(Headline {
                name: format!("send→delivery p99, {rooms} rooms, closed loop (as fast as allowed)"),
                value: closed.latency.p99_ms,
                unit: "ms",
                baseline: format!("p99 unloaded ({} room, closed loop)", unloaded.rooms),
                baseline_value: unloaded.latency.p99_ms,
                ratio: ratio(closed.latency.p99_ms, unloaded.latency.p99_ms),
                goal: "none (includes queueing at saturation)".into(),
                met: None,
            });
        }
        if let (Some(joins), Some(pg)) = (&self.joins, self.pgbench_ceiling()) {
            lines.push(Headline {
                name: format!(
                    "join storm, {} clients, time floor OFF (a {} ms floor allows ≤ {:.0} joins/s per connection)",
                    joins.clients,
                    stelgano_spec::constants::MIN_PRODUCTION_JOIN_TIME_FLOOR.as_millis(),
                    joins.floor_limit_per_connection_minimum
                ),
                value: joins.joins_per_s,
                unit: "joins/s",
                baseline: format!("pgbench send transaction, {} clients", pg.clients),
                baseline_value: pg.tps,
                ratio: ratio(joins.joins_per_s, pg.tps),
                goal: "none".into(),
                met: None,
            });
        }
        if let Some(open) = self.headline_open()
            && let Some(alone) = self
                .pgbench
                .iter()
                .find(|p| p.rate_per_s.is_some() && p.rate_per_s == open.offered_per_s)
        {
            lines.push(Headline {
                name: format!(
                    "send→delivery p99, {rooms} rooms, open loop at {:.0}/s",
                    open.offered_per_s.unwrap_or(0.0)
                ),
                value: open.latency.p99_ms,
                unit: "ms",
                baseline: format!(
                    "the database alone: pgbench send transaction p99, {} clients, same rate",
                    alone.clients
                ),
                baseline_value: alone.latency.p99_ms,
                ratio: ratio(open.latency.p99_ms, alone.latency.p99_ms),
                goal: "none (the database's share of the latency)".into(),
                met: None,
            });
        }
        let with = self
            .pgbench
            .iter()
            .filter(|p| p.notify && p.rate_per_s.is_none());
        if let Some((on, off)) = with
            .filter_map(|on| {
                let off = self
                    .pgbench
                    .iter()
                    .find(|p| !p.notify && p.rate_per_s.is_none() && p.clients == on.clients)?;
                Some((on, off))
            })
            .next()
        {
            lines.push(Headline {
                name: format!(
                    "pgbench send transaction with its NOTIFY, {} clients",
                    on.clients
                ),
                value: on.tps,
                unit: "tps",
                baseline: format!("the same without NOTIFY, {} clients", off.clients),
                baseline_value: off.tps,
                ratio: ratio(on.tps, off.tps),
                goal: "none (what publishing the event costs the database)".into(),
                met: None,
            });
        }
        if let (Some(fanout), Some(single)) = (&self.fanout, self.headline_closed()) {
            lines.push(Headline {
                name: format!("two instances, {rooms} rooms, closed loop"),
                value: fanout.closed.throughput_per_s,
                unit: "replies/s",
                baseline: "one instance, same rooms".into(),
                baseline_value: single.throughput_per_s,
                ratio: Some(fanout.throughput_ratio),
                goal: "none".into(),
                met: None,
            });
        }
        if let (Some(fanout), Some(single)) = (&self.fanout, self.headline_open())
            && let Some(open) = &fanout.open
        {
            lines.push(Headline {
                name: format!(
                    "two instances, send→delivery p99, open loop at {:.0}/s",
                    open.offered_per_s.unwrap_or(0.0)
                ),
                value: open.latency.p99_ms,
                unit: "ms",
                baseline: "one instance, same offered rate".into(),
                baseline_value: single.latency.p99_ms,
                ratio: fanout.open_p99_ratio,
                goal: format!("≤ {P99_GOAL_MS} ms"),
                met: Some(open.latency.p99_ms <= P99_GOAL_MS && open.sustained()),
            });
        }
        if let Some(idle) = &self.idle {
            lines.push(Headline {
                name: format!(
                    "server RSS per idle joined connection, {}",
                    idle.connections
                ),
                value: idle.per_connection_bytes,
                unit: "bytes",
                baseline: "goal, 16 KiB".into(),
                baseline_value: IDLE_GOAL_BYTES,
                ratio: ratio(idle.per_connection_bytes, IDLE_GOAL_BYTES),
                goal: "≤ 16 KiB".into(),
                met: Some(idle.per_connection_bytes <= IDLE_GOAL_BYTES),
            });
        }
        self.headlines = lines;
    }
}
