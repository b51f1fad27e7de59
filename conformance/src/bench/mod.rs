//! `stelgano-conformance bench`: a load generator that speaks the real
//! std-1 protocol, with its baselines measured in the same run (issue 8).
//!
//! Scenarios: (a) rooms whose parties reply to each other as fast as
//! allowed, at a ladder of room counts (closed loop), and paced below
//! saturation (open loop) — [`load`]; (b) idle joined connections —
//! [`idle`]; (c) a join storm — [`joins`]; (d) two instances on one
//! database — [`fanout`]. Baseline: pgbench running one send's
//! transaction at the same client count — [`pgbench`]. The report
//! ([`report`]) gives every headline figure with its baseline and ratio,
//! as JSON, a short table ([`table`]) and two SVG charts ([`chart`]).
//!
//! Without a target the bench starts the reference server itself, with the
//! join time floor off (it holds back `create` and `join`, and the storm
//! would measure the floor, not the server), rate limits off (the harness
//! always does) and a room lifetime longer than any run.
//!
//! Benches are not part of `cargo test`; `.ci/run` runs `bench --smoke`
//! so that this code cannot rot.

pub mod chart;
pub mod charts;
pub mod cpu;
pub mod fanout;
pub mod idle;
pub mod joins;
pub mod load;
pub mod machine;
pub mod pgbench;
pub mod progress;
pub mod report;
pub mod room;
pub mod stats;
pub mod table;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::reference::{ReferenceServer, ReferenceSettings};
use cpu::CpuWatch;
use load::{LoadPoint, Pace, Window};
use pgbench::PgbenchRun;
use progress::Progress;
use report::{Report, Settings};
use room::Room;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub smoke: bool,
    /// The headline room count; always part of the ladder.
    pub rooms: usize,
    /// Room counts of the closed-loop ladder.
    pub ladder: Vec<usize>,
    pub measure: Duration,
    pub warmup: Duration,
    /// The open loop's rates, as shares of the highest closed-loop
    /// throughput: a latency-against-load curve below saturation.
    pub open_loop_shares: Vec<f64>,
    /// Joins of the storm; 0 skips it.
    pub joins: u64,
    pub join_clients: usize,
    /// Idle connections; 0 skips scenario (b).
    pub idle: usize,
    pub pgbench: bool,
    pub fanout: bool,
    /// A server to measure instead of starting the reference server.
    pub target: Option<String>,
    /// A second instance of the target on the same database, for (d).
    pub target_b: Option<String>,
    /// The target's database, for the pgbench baseline and the version.
    pub database_url: Option<String>,
    /// The target's process, for its CPU time and scenario (b).
    pub server_pid: Option<u32>,
    /// More arguments for the servers the bench starts.
    pub server_args: Vec<String>,
    pub json: Option<PathBuf>,
    pub charts: Option<PathBuf>,
}

impl Options {
    /// A full run's sizes.
    pub fn full() -> Self {
        Self {
            smoke: false,
            rooms: 200,
            ladder: vec![1, 10, 50, 100, 200, 400],
            measure: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            open_loop_shares: vec![0.15, 0.25, 0.5, 0.75],
            joins: 20_000,
            join_clients: 64,
            idle: 20_000,
            pgbench: true,
            fanout: true,
            target: None,
            target_b: None,
            database_url: None,
            server_pid: None,
            server_args: Vec::new(),
            json: None,
            charts: None,
        }
    }

    /// The CI smoke run's sizes: every scenario, small, about twenty
    /// seconds in all.
    pub fn smoke() -> Self {
        Self {
            smoke: true,
            rooms: 8,
            ladder: vec![1, 8],
            measure: Duration::from_millis(1500),
            warmup: Duration::from_millis(500),
            open_loop_shares: vec![0.75],
            joins: 300,
            join_clients: 8,
            idle: 200,
            ..Self::full()
        }
    }
}

/// The servers the bench measures.
struct Servers {
    url: String,
    database_url: Option<String>,
    /// The processes whose CPU time each measurement reports.
    watch: CpuWatch,
    /// Kept so they run until the end (dropping one stops it).
    started: Option<(ReferenceServer, ReferenceSettings)>,
}

/// Runs the bench; `Err` only when it could not start at all. Scenario
/// failures are in the report's `errors`.
pub async fn run(options: &Options) -> Result<Report, String> {
    let progress = Progress::new();
    let began = Instant::now();
    let mut ladder = options.ladder.clone();
    if options.rooms > 0 && !ladder.contains(&options.rooms) {
        ladder.push(options.rooms);
    }
    ladder.sort_unstable();
    ladder.dedup();
    ladder.retain(|r| *r > 0);
    let mut shares: Vec<f64> = options
        .open_loop_shares
        .iter()
        .copied()
        .filter(|s| *s > 0.0 && s.is_finite())
        .collect();
    shares.sort_by(f64::total_cmp);
    shares.dedup();

    let mut warnings = Vec::new();
    if options.idle > 0 && options.target.is_none() {
        // Before any server starts: a child inherits the limit at spawn.
        // Each process needs one descriptor per idle connection besides
        // those it holds anyway, which the idle scenario checks with some
        // spare (`idle::idle_connections`): this process holds dozens
        // (about 77 by the time of that check), the server its database
        // pool and a few more.
        let held = idle::open_fds(std::process::id()).unwrap_or(0);
        let pool = server_pool_size(&options.server_args);
        let wanted = (options.idle + held + pool) as u64 + IDLE_FD_HEADROOM;
        match idle::raise_open_file_limit(wanted) {
            Ok(limit) if limit < wanted => warnings.push(format!(
                "open file limit {limit}, below the {wanted} asked for {} idle connections",
                options.idle
            )),
            Ok(_) => {}
            Err(e) => warnings.push(format!("raising the open file limit: {e}")),
        }
    }
    let servers = start_servers(options, &progress).await?;
    let postgresql = match &servers.database_url {
        Some(url) => machine::database_version(url).await.ok(),
        None => None,
    };
    let server_binary = match options.target {
        Some(_) => None,
        None => machine::reference_server_binary(),
    };
    let machine = machine::Machine::describe(postgresql, server_binary.as_deref());
    if machine.server_profile == "debug" {
        warnings.push(
            "THE SERVER IS A DEBUG BUILD: its numbers say nothing about performance (build with --release)".into(),
        );
    }
    if machine.bench_profile == "debug" {
        warnings.push(
            "the load generator is a debug build: it takes CPU from the server on a shared machine"
                .into(),
        );
    }
    for w in &warnings {
        progress.step(&format!("WARNING: {w}"));
    }
    let mut report = Report {
        machine,
        settings: Settings {
            smoke: options.smoke,
            rooms: options.rooms,
            ladder: ladder.clone(),
            measure_seconds: options.measure.as_secs_f64(),
            warmup_seconds: options.warmup.as_secs_f64(),
            open_loop_shares: shares.clone(),
            joins: options.joins,
            join_clients: options.join_clients,
            idle: options.idle,
            target: options.target.clone(),
            join_time_floor_ms: servers.started.as_ref().map(|(_, s)| s.join_time_floor_ms),
            server_args: options.server_args.clone(),
        },
        warnings,
        headlines: Vec::new(),
        ladder: Vec::new(),
        open_loop: Vec::new(),
        pgbench: Vec::new(),
        joins: None,
        fanout: None,
        idle: None,
        errors: Vec::new(),
        seconds: 0.0,
    };
    let window = Window {
        warmup: options.warmup,
        measure: options.measure,
    };

    // (a), then (c) on the same rooms.
    let most = ladder.last().copied().unwrap_or(0);
    if most > 0 {
        progress.step(&format!("opening {most} rooms"));
        match load::open_rooms(&servers.url, &servers.url, most, &progress).await {
            Ok(rooms) => {
                let rooms =
                    scenario_a(&mut report, rooms, &ladder, window, &servers, &progress).await;
                if options.joins > 0 {
                    let logins: Vec<joins::Login> = rooms.iter().map(login_a).collect();
                    progress.step(&format!("join storm: {} joins", options.joins));
                    match joins::run(
                        &servers.url,
                        &logins,
                        options.joins,
                        options.join_clients,
                        &servers.watch,
                        &progress,
                    )
                    .await
                    {
                        Ok(storm) => report.joins = Some(storm),
                        Err(e) => report.errors.push(format!("join storm: {e}")),
                    }
                }
                room::close_all(rooms).await;
            }
            Err(e) => report.errors.push(format!("opening rooms: {e}")),
        }
    }

    // The baselines: the send transaction at scenario (a)'s client count,
    // at the server's pool size (the concurrency the database sees from
    // the server), at the pool size without its notification, and paced at
    // each of the open loop's offered rates (the database's own latency
    // at the load the server was given).
    if options.pgbench && options.rooms > 0 {
        match &servers.database_url {
            Some(url) => {
                let pool = server_pool_size(&options.server_args);
                let flat_out = |clients, notify| PgbenchRun {
                    clients,
                    duration: options.measure,
                    notify,
                    rate_per_s: None,
                };
                let mut runs = vec![flat_out(options.rooms, true)];
                if pool != options.rooms {
                    runs.push(flat_out(pool, true));
                }
                runs.push(flat_out(pool, false));
                runs.extend(report.open_loop.iter().filter_map(|p| {
                    Some(PgbenchRun {
                        rate_per_s: Some(p.offered_per_s?),
                        ..flat_out(pool, true)
                    })
                }));
                for run in runs {
                    progress.step(&format!(
                        "pgbench baseline: {} clients{}{}, {} s",
                        run.clients,
                        if run.notify { "" } else { ", without NOTIFY" },
                        run.rate_per_s
                            .map(|r| format!(", paced at {r:.0}/s"))
                            .unwrap_or_default(),
                        run.duration.as_secs()
                    ));
                    match pgbench::send_ceiling(url, run).await {
                        Ok(result) => report.pgbench.push(result),
                        Err(e) => report.errors.push(format!("pgbench baseline: {e}")),
                    }
                }
            }
            None => report
                .warnings
                .push("pgbench baseline skipped: no --database-url for the target".into()),
        }
    }

    if options.fanout && options.rooms > 0 {
        scenario_d(&mut report, options, window, &servers, &progress).await;
    }
    if options.idle > 0 {
        scenario_b(&mut report, options, &servers, &progress).await;
    }
    drop(servers);
    progress.finish();

    report.compute_headlines();
    report.seconds = began.elapsed().as_secs_f64();
    if let Some(path) = &options.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    if let Some(dir) = &options.charts {
        charts::write(&report, dir)?;
    }
    Ok(report)
}

/// Starts the reference server, or describes the target.
async fn start_servers(options: &Options, progress: &Progress) -> Result<Servers, String> {
    if let Some(url) = &options.target {
        let postmaster = match &options.database_url {
            Some(db) => cpu::postmaster_of(db).await,
            None => None,
        };
        return Ok(Servers {
            url: url.clone(),
            database_url: options.database_url.clone(),
            watch: CpuWatch {
                servers: options.server_pid.into_iter().collect(),
                postmaster,
            },
            started: None,
        });
    }
    let settings = bench_settings(options);
    progress.step("starting the reference server");
    let server = ReferenceServer::start(&settings)
        .await
        .map_err(|e| format!("starting the reference server: {e}"))?;
    let database_url = server.database_url();
    Ok(Servers {
        url: server.url(),
        watch: CpuWatch {
            servers: vec![server.pid()],
            postmaster: cpu::postmaster_of(&database_url).await,
        },
        database_url: Some(database_url),
        started: Some((server, settings)),
    })
}

/// The reference server's settings for a bench: no join time floor, a
/// lifetime no run outlives, production's lockout (no bench fails a
/// join), the sweep at its default, production's log level, and a private
/// cluster with connections for pgbench's clients beside the server's pool.
fn bench_settings(options: &Options) -> ReferenceSettings {
    let mut extra_args = vec![
        "--local-pg-max-connections".to_owned(),
        PGBENCH_CLUSTER_CONNECTIONS.to_string(),
    ];
    extra_args.extend(options.server_args.iter().cloned());
    ReferenceSettings {
        lockout_attempts: 10,
        lockout_seconds: 1800,
        room_ttl_seconds: 24 * 3600,
        sweep_seconds: 20,
        join_time_floor_ms: 0,
        extra_args,
        log_filter: "info".to_owned(),
        ..ReferenceSettings::default()
    }
}

/// Open descriptors allowed for the idle scenario beyond its connections,
/// this process's descriptors before the servers start and the server's
/// database pool: what either process opens meanwhile (the servers' pipes
/// and runtime, the other scenarios' connections, the feed's own database
/// connections) and the spare the scenario's checks keep (32 here, 64 in
/// the server). The soft limit is only a ceiling, so this is generous.
const IDLE_FD_HEADROOM: u64 = 256;

/// The pool size the servers run with: `--db-pool-size` among the extra
/// arguments, else the server's default.
fn server_pool_size(server_args: &[String]) -> usize {
    let mut size = DEFAULT_POOL_SIZE;
    let mut args = server_args.iter();
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--db-pool-size") {
            Some("") => args.next().map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(n) = value.and_then(|v| v.parse().ok()) {
            size = n;
        }
    }
    size
}

/// The server's default `--db-pool-size` (server/src/config.rs).
const DEFAULT_POOL_SIZE: usize = 16;

/// `max_connections` of the bench's private cluster: pgbench runs one
/// client per room, up to the ladder's 400, beside the server's pool.
const PGBENCH_CLUSTER_CONNECTIONS: u32 = 450;

/// Scenario (a): the closed-loop ladder, then the open loop at the
/// headline room count, at each share of the highest closed-loop
/// throughput. Returns the rooms for the join storm.
async fn scenario_a(
    report: &mut Report,
    mut rooms: Vec<Room>,
    ladder: &[usize],
    window: Window,
    servers: &Servers,
    progress: &Progress,
) -> Vec<Room> {
    for &count in ladder {
        let label = format!("(a) {count} rooms, closed loop");
        rooms = match measure(
            rooms,
            count,
            Pace::Closed,
            window,
            servers,
            progress,
            &label,
        )
        .await
        {
            Ok((rooms, point)) => {
                report.ladder.push(point);
                rooms
            }
            Err((rooms, e)) => {
                report.errors.push(format!("{label}: {e}"));
                return rooms;
            }
        };
    }
    let best = report
        .ladder
        .iter()
        .map(|p| p.throughput_per_s)
        .fold(0.0, f64::max);
    let count = report.settings.rooms;
    if best <= 0.0 || count == 0 {
        return rooms;
    }
    for share in report.settings.open_loop_shares.clone() {
        let offered = best * share;
        let pace = Pace::Open {
            per_room_per_s: offered / count as f64,
        };
        let label = format!(
            "(a) {count} rooms, open loop at {offered:.0}/s ({:.0}% of the highest)",
            share * 100.0
        );
        rooms = match measure(rooms, count, pace, window, servers, progress, &label).await {
            Ok((rooms, point)) => {
                report.open_loop.push(point);
                rooms
            }
            Err((rooms, e)) => {
                report.errors.push(format!("{label}: {e}"));
                return rooms;
            }
        };
    }
    rooms
}

/// One load measurement on the first `count` of `rooms`; gives back the
/// rooms still usable either way (a failed measurement loses its own).
async fn measure(
    mut rooms: Vec<Room>,
    count: usize,
    pace: Pace,
    window: Window,
    servers: &Servers,
    progress: &Progress,
    label: &str,
) -> Result<(Vec<Room>, LoadPoint), (Vec<Room>, String)> {
    progress.step(label);
    let rest = rooms.split_off(count.min(rooms.len()));
    match load::run(rooms, pace, window, &servers.watch, progress, label).await {
        Ok((mut used, point)) => {
            used.extend(rest);
            Ok((used, point))
        }
        Err(e) => Err((rest, e)),
    }
}

/// Party A's credentials, for the join storm.
fn login_a(room: &Room) -> joins::Login {
    joins::Login {
        room_hash: room.room_hash,
        access: room.parties[0].access,
        sender: room.parties[0].sender,
    }
}

/// Scenario (d): a second instance on the same database (started here,
/// or `--target-b`), compared with one instance.
async fn scenario_d(
    report: &mut Report,
    options: &Options,
    window: Window,
    servers: &Servers,
    progress: &Progress,
) {
    let Some(single) = report.headline_closed().cloned() else {
        report
            .warnings
            .push("fan-out skipped: no single-instance figure to compare with".into());
        return;
    };
    let second;
    let (url_b, watch) = match (&options.target_b, &servers.started) {
        (Some(url), _) => (url.clone(), servers.watch.clone()),
        (None, Some((first, settings))) => {
            progress.step("(d) starting a second instance on the same database");
            second = match fanout::second_instance(first, settings).await {
                Ok(s) => s,
                Err(e) => {
                    report.errors.push(format!("fan-out: {e}"));
                    return;
                }
            };
            let mut watch = servers.watch.clone();
            watch.servers.push(second.pid());
            (second.url(), watch)
        }
        (None, None) => {
            report
                .warnings
                .push("fan-out skipped: a --target needs --target-b, a second instance".into());
            return;
        }
    };
    match fanout::run(
        (&servers.url, &url_b),
        options.rooms,
        window,
        (&single, report.headline_open()),
        &watch,
        progress,
    )
    .await
    {
        Ok(f) => report.fanout = Some(f),
        Err(e) => report.errors.push(format!("fan-out: {e}")),
    }
}

/// Scenario (b): idle joined connections on a fresh reference server (so
/// that its memory holds nothing but them and a clean start), or on the
/// target with `--server-pid`.
async fn scenario_b(
    report: &mut Report,
    options: &Options,
    servers: &Servers,
    progress: &Progress,
) {
    let fresh;
    let (url, pid) = match (&servers.started, options.server_pid) {
        (Some((_, settings)), _) => {
            progress.step("(b) starting a fresh reference server for idle connections");
            fresh = match ReferenceServer::start(settings).await {
                Ok(s) => s,
                Err(e) => {
                    report
                        .errors
                        .push(format!("idle connections: starting a server: {e}"));
                    return;
                }
            };
            (fresh.url(), fresh.pid())
        }
        (None, Some(pid)) => (servers.url.clone(), pid),
        (None, None) => {
            report
                .warnings
                .push("idle connections skipped: a --target needs --server-pid".into());
            return;
        }
    };
    progress.step(&format!("(b) {} idle connections", options.idle));
    let show =
        |n: usize| progress.update(&format!("(b) idle connections: {n} of {}", options.idle));
    match idle::idle_connections(&url, pid, options.idle, &show).await {
        Ok(r) => report.idle = Some(r),
        Err(e) => report.errors.push(format!("idle connections: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_comes_from_the_server_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(server_pool_size(&[]), DEFAULT_POOL_SIZE);
        assert_eq!(server_pool_size(&args(&["--db-pool-size=32"])), 32);
        assert_eq!(server_pool_size(&args(&["--db-pool-size", "8"])), 8);
        assert_eq!(
            server_pool_size(&args(&["--db-pool-size-x=8", "--telemetry", "false"])),
            DEFAULT_POOL_SIZE
        );
    }
}
