//! The threat model's scenarios (`features/*.feature`) against a freshly
//! started reference server, with its database and log, so that every
//! scenario runs, `@database` and `@operator-log` included.
//!
//! A `harness = false` test: cucumber drives its own scenarios, so this is
//! a plain `main` that prints libtest's closing line (`test result: …`),
//! which CI sums with the other test binaries'.

use std::process::ExitCode;

use stelgano_conformance::features::{self, FeatureTarget};
use stelgano_conformance::reference::{ReferenceServer, ReferenceSettings};
use stelgano_conformance::report::Verdict;

/// Fewer passing scenarios than this means scenarios went missing (a
/// feature file not found or not parsed), not that the target is good.
const MIN_PASSED: usize = 30;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start a Tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let settings = ReferenceSettings::default();
    let server = match ReferenceServer::start(&settings).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("the reference server did not start: {e}");
            println!(
                "test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out"
            );
            return ExitCode::FAILURE;
        }
    };
    let target = FeatureTarget {
        url: server.url(),
        database_url: Some(server.database_url()),
        log_path: Some(server.log_path().to_path_buf()),
        lockout_attempts: settings.lockout_attempts,
        networks: true,
    };
    let started = std::time::Instant::now();
    let results = features::run(target, &features::default_dir()).await;
    let took = started.elapsed();
    drop(server);

    let mut passed = 0;
    let mut failed = 0;
    let mut ignored = 0;
    for result in &results {
        match &result.verdict {
            Verdict::Pass => passed += 1,
            Verdict::Fail(why) => {
                failed += 1;
                println!(
                    "FAIL {} [{}]\n     {why}",
                    result.id,
                    result.requirements.join(", ")
                );
            }
            Verdict::Skipped(why) | Verdict::Unimplemented(why) => {
                ignored += 1;
                println!("SKIP {}: {why}", result.id);
            }
        }
    }
    let too_few = passed < MIN_PASSED;
    if too_few {
        println!("only {passed} scenarios passed; at least {MIN_PASSED} are expected");
    }
    let ok = failed == 0 && !too_few;
    println!(
        "\n{} scenarios in {:.1} s",
        results.len(),
        took.as_secs_f64()
    );
    println!(
        "test result: {}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; 0 filtered out",
        if ok { "ok" } else { "FAILED" }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
