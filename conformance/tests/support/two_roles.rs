//! The runner shared by the test binaries that are also a server
//! (`faults.rs`, `chaos.rs`; both `harness = false`).
//!
//! Run with `serve …` the binary is `stelgano-server` linked with this
//! crate's dev-dependency build of the server library (its
//! `fault-injection` feature on), so what is tested is this checkout's
//! server code whatever binary was built last. Otherwise it runs its cases
//! a few at a time, like libtest: positional arguments filter the cases by
//! name, flags such as `--nocapture` are accepted and ignored, and the
//! closing line is libtest's.

use std::process::ExitCode;
use std::sync::Mutex;

use clap::Parser;

/// The first argument that makes the binary a server.
pub const SERVE: &str = "serve";

/// Serves when asked to, else runs `cases` (`at_once` at a time) with
/// `run`, whose `Ok` text is printed under the case's passing line and
/// whose `Err` text under its failing one.
pub fn main<C: Sync>(
    cases: Vec<C>,
    name: fn(&C) -> &str,
    run: fn(&C) -> Result<String, String>,
    at_once: usize,
) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(SERVE) {
        return serve(&args[2..]);
    }
    let filters: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with('-')).collect();
    let total = cases.len();
    let cases: Vec<C> = cases
        .into_iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| name(c).contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", cases.len());
    let queue = Mutex::new(cases.iter());
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..at_once {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                    let Some(case) = next else { break };
                    let outcome = run(case);
                    match &outcome {
                        Ok(text) => println!("test {} ... ok\n{text}", name(case)),
                        Err(text) => println!("test {} ... FAILED\n{text}", name(case)),
                    }
                    if let Ok(mut o) = outcomes.lock() {
                        o.push(outcome.is_ok());
                    }
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap_or_default();
    let passed = outcomes.iter().filter(|ok| **ok).count();
    let failed = outcomes.len() - passed;
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out\n",
        if failed == 0 { "ok" } else { "FAILED" },
        total - outcomes.len()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The binary as `stelgano-server`, with `--inject-fault` honoured.
fn serve(args: &[String]) -> ExitCode {
    let config = stelgano_server::config::Config::parse_from(
        std::iter::once("stelgano-server".to_owned()).chain(args.iter().cloned()),
    );
    stelgano_server::run::init_tracing(config.log_format);
    if let Some(fault) = config.inject_fault {
        stelgano_server::faults::inject(fault);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(stelgano_server::run::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
