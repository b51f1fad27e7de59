//! The short human summary of a report, for stdout.

use std::fmt::Write;

use super::load::LoadPoint;
use super::report::Report;

/// The report as a few tables.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let m = &report.machine;
    let _ = writeln!(
        out,
        "\nmachine: {} ({} CPUs), {:.1} GiB, Linux {}\ndatabase: {}\ncommit: {}; builds: bench {}, server {}",
        m.cpu_model,
        m.cores,
        m.memory_kib as f64 / 1024.0 / 1024.0,
        m.kernel,
        m.postgresql,
        m.git_commit.as_deref().unwrap_or("unknown"),
        m.bench_profile,
        m.server_profile
    );
    match report.settings.join_time_floor_ms {
        Some(floor) => {
            let _ = writeln!(
                out,
                "join time floor: {floor} ms (OFF) on the servers started here, for every measurement"
            );
        }
        None => {
            let _ = writeln!(out, "join time floor: the target's own");
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "WARNING: {warning}");
    }

    if !report.ladder.is_empty() {
        let _ = writeln!(
            out,
            "\n(a) replies, closed loop: each room has one reply in flight, so throughput is\n    rooms / round trip; where it stops rising, the server is saturated and more\n    rooms only queue (their latency is then mostly waiting)."
        );
        let _ = writeln!(out, "{}", point_header());
        for p in &report.ladder {
            let _ = writeln!(out, "{}", point_row(p));
        }
    }
    if !report.open_loop.is_empty() {
        let shares: Vec<String> = report
            .settings
            .open_loop_shares
            .iter()
            .map(|s| format!("{:.0}%", s * 100.0))
            .collect();
        let _ = writeln!(
            out,
            "\n(a) open loop: each room paced, offering {} of the highest closed-loop\n    throughput; below saturation its latency is service time plus what queueing\n    that load causes, not a queue the bench itself keeps full.",
            shares.join(", ")
        );
        let _ = writeln!(out, "{}", point_header());
        for open in &report.open_loop {
            let _ = writeln!(out, "{}", point_row(open));
        }
    }
    for (i, pg) in report.pgbench.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}baseline: pgbench, one send's transaction{}{}, {} clients: {:.0} tps ({} in {:.0} s); latency p50 {:.2} / p99 {:.2} / max {:.2} ms",
            if i == 0 { "\n" } else { "" },
            if pg.notify { "" } else { " WITHOUT its NOTIFY" },
            pg.rate_per_s
                .map(|r| format!(", paced at {r:.0}/s"))
                .unwrap_or_default(),
            pg.clients,
            pg.tps,
            pg.transactions,
            pg.duration_s,
            pg.latency.p50_ms,
            pg.latency.p99_ms,
            pg.latency.max_ms
        );
    }
    if let Some(j) = &report.joins {
        let _ = writeln!(
            out,
            "\n(c) join storm, time floor OFF for this measurement: {} joins by {} clients over {} rooms in {:.1} s = {:.0} joins/s\n    join p50 {:.2} / p99 {:.2} ms; connect+upgrade p50 {:.2} / p99 {:.2} ms; cpu {}\n    with a floor F each connection gets at most 1/F joins/s: {:.0}/s at the {} ms default, {:.0}/s at the {} ms minimum",
            j.joins,
            j.clients,
            j.rooms,
            j.seconds,
            j.joins_per_s,
            j.join_latency.p50_ms,
            j.join_latency.p99_ms,
            j.connect_latency.p50_ms,
            j.connect_latency.p99_ms,
            cpu(&j.cpu),
            j.floor_limit_per_connection_default,
            stelgano_spec::constants::DEFAULT_JOIN_TIME_FLOOR.as_millis(),
            j.floor_limit_per_connection_minimum,
            stelgano_spec::constants::MIN_PRODUCTION_JOIN_TIME_FLOOR.as_millis(),
        );
    }
    if let Some(f) = &report.fanout {
        let _ = writeln!(
            out,
            "\n(d) two instances on one database, A on the first and B on the second:"
        );
        let _ = writeln!(out, "{}", point_header());
        let _ = writeln!(out, "{}", point_row(&f.closed));
        if let Some(open) = &f.open {
            let _ = writeln!(out, "{}", point_row(open));
        }
    }
    if let Some(i) = &report.idle {
        let _ = writeln!(
            out,
            "\n(b) idle joined connections: {} (set up in {:.1} s); server RSS {} -> {} KiB, {:.0} bytes each; {} server fds",
            i.connections,
            i.setup_seconds,
            i.rss_before_kib,
            i.rss_after_kib,
            i.per_connection_bytes,
            i.server_fds
        );
    }

    if !report.headlines.is_empty() {
        let _ = writeln!(out, "\nheadlines (ratio = value / baseline):");
        for h in &report.headlines {
            let met = match h.met {
                Some(true) => "MET",
                Some(false) => "MISSED",
                None => "-",
            };
            let _ = writeln!(
                out,
                "  {}\n      {:.2} {} vs {} {:.2}: ratio {}; goal {}: {met}",
                h.name,
                h.value,
                h.unit,
                h.baseline,
                h.baseline_value,
                h.ratio
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                h.goal
            );
        }
    }
    for e in &report.errors {
        let _ = writeln!(out, "ERROR: {e}");
    }
    let _ = writeln!(out, "\nbench time: {:.1} s", report.seconds);
    out
}

fn point_header() -> String {
    format!(
        "  {:>5} {:>6} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}  {}",
        "rooms",
        "mode",
        "offered/s",
        "replies/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "cpu cores: bench/server/postgres"
    )
}

fn point_row(p: &LoadPoint) -> String {
    let offered = p
        .offered_per_s
        .map_or_else(|| "-".to_owned(), |o| format!("{o:.0}"));
    let note = if p.sustained() {
        ""
    } else {
        "  (offered rate not sustained)"
    };
    format!(
        "  {:>5} {:>6} {:>10} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {}{note}",
        p.rooms,
        p.mode,
        offered,
        p.throughput_per_s,
        p.latency.p50_ms,
        p.latency.p95_ms,
        p.latency.p99_ms,
        p.latency.max_ms,
        cpu(&p.cpu)
    )
}

fn cpu(c: &super::cpu::CpuUsage) -> String {
    format!(
        "{:.2}/{:.2}/{:.2}",
        c.generator_cores, c.server_cores, c.postgres_cores
    )
}
