//! The harness can fail: it is run against reference servers with one
//! deliberate fault each (`server/src/faults.rs`), and each fault must be
//! reported as a failure of the requirement it breaks.
//!
//! The faulty servers are this test binary itself, started again with the
//! argument `serve`: it links the server library with its
//! `fault-injection` feature (this crate's dev-dependency), so the faults
//! run are the ones compiled here, whatever `stelgano-server` binary was
//! built last. Each run goes through the harness's command line, as an
//! implementer's would, with `--target` pointing at the faulty server.
//! No libtest harness (`harness = false`): the binary has two roles, and
//! prints a libtest-style closing line itself.

#[path = "support/two_roles.rs"]
mod two_roles;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};

use stelgano_conformance::reference::{ReferenceServer, ReferenceSettings};

/// Faulty servers checked at once: each runs a PostgreSQL and the harness
/// replays the whole corpus against it, on a machine of two cores.
const AT_ONCE: usize = 3;

fn main() -> ExitCode {
    two_roles::main(cases(), |c| c.name, check_indented, AT_ONCE)
}

/// `check`, its text indented under the case's line.
fn check_indented(case: &Case) -> Result<String, String> {
    let indent = |text: String| format!("    {text}");
    check(case).map(indent).map_err(indent)
}

/// A fault, the suites that must catch it, and the requirements their
/// failures must name: all of them, the first at least as often as any
/// other requirement.
struct Case {
    name: &'static str,
    fault: &'static str,
    suites: &'static str,
    requirements: &'static [&'static str],
    floor_ms: u64,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a_second_send_in_a_row_is_caught",
            fault: "no-sender-blocking",
            suites: "model",
            requirements: &["STD1-MSG-3"],
            floor_ms: 0,
        },
        Case {
            name: "a_read_receipt_from_the_author_is_caught",
            fault: "read-by-author",
            suites: "model",
            requirements: &["STD1-MSG-9"],
            floor_ms: 0,
        },
        Case {
            name: "an_edit_after_reading_is_caught",
            fault: "edit-after-read",
            suites: "model",
            requirements: &["STD1-MSG-12"],
            floor_ms: 0,
        },
        Case {
            name: "a_third_party_admitted_is_caught",
            fault: "third-access-record",
            suites: "model",
            requirements: &["STD1-JOIN-5"],
            floor_ms: 0,
        },
        Case {
            name: "a_lock_that_bars_every_origin_is_caught",
            fault: "hard-lock",
            suites: "model",
            requirements: &["STD1-JOIN-23"],
            floor_ms: 0,
        },
        // The server is configured with the production minimum floor and
        // ignores it.
        Case {
            name: "replies_before_the_floor_are_caught",
            fault: "no-time-floor",
            suites: "timing",
            requirements: &["STD1-JOIN-21"],
            floor_ms: stelgano_conformance::timing::PRODUCTION_MIN_FLOOR_MS,
        },
        // The model suite finds the number not reusable (STD1-LIFE-5); the
        // features' database dump finds the room still stored (STD1-LIFE-3).
        Case {
            name: "a_room_kept_after_expiry_is_caught",
            fault: "message-left-after-expiry",
            suites: "model,features",
            requirements: &["STD1-LIFE-5", "STD1-LIFE-3"],
            floor_ms: 0,
        },
    ]
}

/// Runs the harness against a server with the case's fault; on success,
/// what the failing checks named.
fn check(case: &Case) -> Result<String, String> {
    let named = failing_requirements(case)?;
    for requirement in case.requirements {
        if !named.contains_key(*requirement) {
            return Err(format!(
                "{} must be reported as a failure of {requirement}; failing checks named {named:?}",
                case.fault
            ));
        }
    }
    // The harness points at the cause, not only somewhere near it.
    let main = case.requirements[0];
    let count = named.get(main).copied().unwrap_or(0);
    if let Some((other, n)) = named.iter().find(|(_, n)| **n > count) {
        return Err(format!(
            "{main} is reported {count} times, but {other} more often ({n}): {named:?}"
        ));
    }
    Ok(format!("{}: failing checks named {named:?}", case.fault))
}

/// Runs the harness against a server with `case.fault` injected and
/// returns, for every requirement that failing checks name, how many
/// checks named it.
fn failing_requirements(case: &Case) -> Result<BTreeMap<String, usize>, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let this = std::env::current_exe().map_err(|e| e.to_string())?;
    let settings = ReferenceSettings {
        join_time_floor_ms: case.floor_ms,
        extra_args: vec!["--inject-fault".into(), case.fault.into()],
        program: Some((this, vec![two_roles::SERVE.into()])),
        ..ReferenceSettings::default()
    };
    let server = runtime
        .block_on(ReferenceServer::start(&settings))
        .map_err(|e| format!("the server with {} did not start: {e}", case.fault))?;
    let json = std::env::temp_dir().join(format!(
        "stelgano-fault-{}-{}.json",
        case.fault,
        std::process::id()
    ));
    let output = Command::new(env!("CARGO_BIN_EXE_stelgano-conformance"))
        .args(["run", "--target", &server.url(), "--suite", case.suites])
        .args(["--walks", "0", "--race-rooms", "0", "--concurrency", "64"])
        .args(["--join-floor-ms", &case.floor_ms.to_string()])
        .arg("--database-url")
        .arg(server.database_url())
        .arg("--server-log")
        .arg(server.log_path())
        .arg("--json")
        .arg(&json)
        .output()
        .map_err(|e| format!("the harness did not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.code() != Some(1) {
        return Err(format!(
            "the harness must fail the run against {} (exit code 1), it ended with {}:\n{stdout}\n{}",
            case.fault,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = std::fs::read_to_string(&json).map_err(|e| format!("the JSON report: {e}"))?;
    let _ = std::fs::remove_file(&json);
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("the JSON report: {e}"))?;
    let mut named = BTreeMap::new();
    for result in report["results"].as_array().into_iter().flatten() {
        if result["verdict"] != "fail" {
            continue;
        }
        // The failing step's requirements where the check says which
        // (model traces), otherwise all the check's.
        let failed = &result["failed_requirements"];
        let ids = if failed.is_array() {
            failed
        } else {
            &result["requirements"]
        };
        for id in ids.as_array().into_iter().flatten() {
            *named
                .entry(id.as_str().unwrap_or_default().to_owned())
                .or_insert(0) += 1;
        }
    }
    Ok(named)
}
