//! Faults survived (issue 9): the reference server, under a workload of
//! racing replies in several rooms, has its PostgreSQL restarted, is
//! killed and restarted, has its clients' connections dropped, and loses
//! a second instance on its database; every room's history must pass the
//! chaos checks (`stelgano_conformance::chaos`) and the server must be
//! back in service on its own after each fault. A last case runs the
//! workload against a server with a deliberate fault, to show that the
//! checks can fail.
//!
//! The servers are this test binary itself, started again with the
//! argument `serve` (as in `tests/faults.rs`): it links the server
//! library as this crate's dev-dependency builds it, so what is tested is
//! the server code of this checkout, whatever `stelgano-server` binary
//! was built last. No libtest harness (`harness = false`): the binary has
//! two roles, and prints a libtest-style closing line itself. Positional
//! arguments filter the cases by name; `STELGANO_CHAOS_SEED` fixes the
//! seed (printed with every case).

#[path = "support/two_roles.rs"]
mod two_roles;

use std::process::ExitCode;
use std::time::Duration;

use stelgano_conformance::chaos::{self, ChaosOptions, ChaosReport, Fault};

/// Cases run at once: each runs a PostgreSQL, one or two servers and the
/// workload, on a machine of two cores.
const AT_ONCE: usize = 2;

/// Rooms of each case.
const ROOMS: usize = 8;

fn main() -> ExitCode {
    two_roles::main(cases(), |c| c.name, run_case, AT_ONCE)
}

/// What a case must find.
#[derive(Clone, Copy)]
enum Expect {
    /// No violation.
    Survived,
    /// Violations naming each of these requirements.
    Caught(&'static [&'static str]),
}

struct Case {
    name: &'static str,
    faults: &'static [Fault],
    /// Chance of a dropped connection per request (fault c).
    drop_chance: f64,
    /// With no process faults, how long the workload runs.
    duration: Duration,
    race_chance: f64,
    /// `--inject-fault` for the server.
    server_fault: Option<&'static str>,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    let base = Case {
        name: "",
        faults: &[],
        drop_chance: 0.0,
        duration: Duration::ZERO,
        race_chance: 0.3,
        server_fault: None,
        expect: Expect::Survived,
    };
    vec![
        // Every case checks STD1-SRV-28 (acknowledged sends survive, the
        // history stays linearizable) and STD1-SRV-29 (service returns
        // with no operator).
        // (a) STD1-WIRE-30, STD1-MSG-7: the feed's LISTEN connection and
        // the pool die with the database; sessions end and rejoin.
        Case {
            name: "postgres_restarts_are_survived",
            faults: &[Fault::Postgres, Fault::Postgres],
            ..base
        },
        // (b) The server is SIGKILLed and started again on its store.
        Case {
            name: "server_kills_are_survived",
            faults: &[Fault::Server, Fault::Server],
            ..base
        },
        // (c) Connections dropped before and after requests, about one
        // request in ten each way.
        Case {
            name: "dropped_connections_are_survived",
            drop_chance: 0.08,
            duration: Duration::from_secs(12),
            ..base
        },
        // (d) STD1-SRV-6: two instances on one database; the clients of
        // the one killed move to the other.
        Case {
            name: "a_killed_second_instance_is_survived",
            faults: &[Fault::Instance, Fault::Instance],
            ..base
        },
        // The checks can fail: a server that lets a party reply to its
        // own message is caught by the same workload and checks.
        Case {
            name: "a_second_message_in_a_row_is_caught",
            duration: Duration::from_secs(4),
            race_chance: 0.5,
            server_fault: Some("no-sender-blocking"),
            expect: Expect::Caught(&["STD1-MSG-3", "STD1-MSG-8"]),
            ..base
        },
    ]
}

fn seed() -> Result<u64, String> {
    match std::env::var("STELGANO_CHAOS_SEED") {
        Ok(text) => text
            .parse()
            .map_err(|_| format!("STELGANO_CHAOS_SEED={text:?} is not a number")),
        Err(_) => getrandom::u64().map_err(|e| format!("no randomness for the seed: {e}")),
    }
}

/// Runs a case; its report on success, why it failed otherwise.
fn run_case(case: &Case) -> Result<String, String> {
    let this = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut options = ChaosOptions::new(case.duration, seed()?);
    options.rooms = ROOMS;
    options.faults = case.faults.to_vec();
    options.drop_chance = case.drop_chance;
    options.race_chance = case.race_chance;
    options.server.program = Some((this, vec![two_roles::SERVE.into()]));
    if let Some(fault) = case.server_fault {
        // Its violations are expected; its logs are not worth keeping.
        options.keep_logs = false;
        options
            .server
            .extra_args
            .extend(["--inject-fault".to_owned(), fault.to_owned()]);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report: ChaosReport = runtime
        .block_on(chaos::run(&options))
        .map_err(|e| format!("the run could not be carried out: {e}"))?;
    let summary = report.summary();
    // A run that did next to nothing proves nothing.
    if report.counts.acknowledged < ROOMS * 4 {
        return Err(format!(
            "only {} replies were acknowledged\n{summary}",
            report.counts.acknowledged
        ));
    }
    match case.expect {
        Expect::Survived => {
            if report.injections.len() < case.faults.len() {
                return Err(format!("not every fault was injected\n{summary}"));
            }
            if case.drop_chance > 0.0 && report.socket_drops == 0 {
                return Err(format!("no connection was dropped\n{summary}"));
            }
            if report.passed() {
                Ok(summary)
            } else {
                Err(summary)
            }
        }
        Expect::Caught(requirements) => {
            let missing: Vec<&str> = requirements
                .iter()
                .copied()
                .filter(|r| !report.violations.iter().any(|v| v.starts_with(r)))
                .collect();
            if missing.is_empty() {
                let examples: Vec<&str> = requirements
                    .iter()
                    .filter_map(|r| report.violations.iter().find(|v| v.starts_with(r)))
                    .map(String::as_str)
                    .collect();
                Ok(format!(
                    "caught, as it must be: {} violations, among them
  {}",
                    report.violations.len(),
                    examples.join("\n  ")
                ))
            } else {
                Err(format!(
                    "the deliberate fault was not reported as {}\n{summary}",
                    missing.join(", ")
                ))
            }
        }
    }
}
