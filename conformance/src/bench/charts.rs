//! The run's charts: reply throughput and latency against active rooms
//! (closed loop), and latency against offered load (open loop), with the
//! pgbench ceiling and the goals drawn in.

use std::path::Path;

use super::chart::{Chart, Level, Series};
use super::load::LoadPoint;
use super::report::{P99_GOAL_MS, Report, THROUGHPUT_GOAL};

/// `throughput.svg` and `latency.svg` against rooms, and
/// `latency-load.svg` against the open loop's load, in `dir`.
pub fn write(report: &Report, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let closed = |f: fn(&LoadPoint) -> f64| -> Vec<(f64, f64)> {
        report
            .ladder
            .iter()
            .map(|p| (p.rooms as f64, f(p)))
            .collect()
    };
    let mut series = vec![Series {
        name: "one instance, closed loop",
        colour: "#1f77b4",
        points: closed(|p| p.throughput_per_s),
        line: true,
    }];
    let marker = |p: &LoadPoint, f: fn(&LoadPoint) -> f64| vec![(p.rooms as f64, f(p))];
    if let Some(open) = report.headline_open() {
        series.push(Series {
            name: "one instance, open loop (paced)",
            colour: "#2ca02c",
            points: marker(open, |p| p.throughput_per_s),
            line: false,
        });
    }
    if let Some(f) = &report.fanout {
        series.push(Series {
            name: "two instances, closed loop",
            colour: "#d62728",
            points: marker(&f.closed, |p| p.throughput_per_s),
            line: false,
        });
    }
    let mut levels = Vec::new();
    if let Some(pg) = report.pgbench_ceiling() {
        levels.push(Level {
            name: format!("pgbench ceiling, {} clients", pg.clients),
            colour: "#555",
            y: pg.tps,
        });
        levels.push(Level {
            name: format!("goal: {} × ceiling", THROUGHPUT_GOAL),
            colour: "#ff7f0e",
            y: pg.tps * THROUGHPUT_GOAL,
        });
    }
    let throughput = Chart {
        title: "Reply throughput against active rooms",
        x_label: "active rooms (log scale)",
        x_log: true,
        y_label: "replies delivered per second",
        y_log: false,
        series,
        levels,
    };
    let mut series = vec![
        Series {
            name: "p50, closed loop",
            colour: "#1f77b4",
            points: closed(|p| p.latency.p50_ms),
            line: true,
        },
        Series {
            name: "p99, closed loop",
            colour: "#9467bd",
            points: closed(|p| p.latency.p99_ms),
            line: true,
        },
    ];
    if let Some(open) = report.headline_open() {
        series.push(Series {
            name: "p99, open loop (below saturation)",
            colour: "#2ca02c",
            points: marker(open, |p| p.latency.p99_ms),
            line: false,
        });
    }
    let latency = Chart {
        title: "Send→delivery latency against active rooms",
        x_label: "active rooms (log scale)",
        x_log: true,
        y_label: "milliseconds (log scale)",
        y_log: true,
        series,
        levels: vec![Level {
            name: format!("goal: p99 ≤ {} ms", P99_GOAL_MS),
            colour: "#ff7f0e",
            y: P99_GOAL_MS,
        }],
    };
    let open = |f: fn(&LoadPoint) -> f64| -> Vec<(f64, f64)> {
        report
            .open_loop
            .iter()
            .map(|p| (p.throughput_per_s, f(p)))
            .collect()
    };
    let mut series = vec![
        Series {
            name: "p50, one instance",
            colour: "#1f77b4",
            points: open(|p| p.latency.p50_ms),
            line: true,
        },
        Series {
            name: "p99, one instance",
            colour: "#9467bd",
            points: open(|p| p.latency.p99_ms),
            line: true,
        },
    ];
    let alone: Vec<(f64, f64)> = report
        .pgbench
        .iter()
        .filter(|p| p.notify && p.rate_per_s.is_some())
        .map(|p| (p.tps, p.latency.p99_ms))
        .collect();
    if !alone.is_empty() {
        series.push(Series {
            name: "p99, the database alone (pgbench, same rates)",
            colour: "#555",
            points: alone,
            line: true,
        });
    }
    if let Some(f) = &report.fanout
        && let Some(p) = &f.open
    {
        series.push(Series {
            name: "p99, two instances",
            colour: "#d62728",
            points: vec![(p.throughput_per_s, p.latency.p99_ms)],
            line: false,
        });
    }
    let load_latency = Chart {
        title: &format!(
            "Send→delivery latency against load, {} rooms, open loop",
            report.settings.rooms
        ),
        x_label: "replies delivered per second",
        x_log: false,
        y_label: "milliseconds (log scale)",
        y_log: true,
        series,
        levels: vec![Level {
            name: format!("goal: p99 ≤ {} ms", P99_GOAL_MS),
            colour: "#ff7f0e",
            y: P99_GOAL_MS,
        }],
    };
    for (name, chart) in [
        ("throughput.svg", throughput),
        ("latency.svg", latency),
        ("latency-load.svg", load_latency),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, chart.svg())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}
