//! The WebSocket fuzz run against the reference server (issue 9): random
//! and mutated frames of every kind from four connections for twenty
//! seconds, every answer checked against the spec (`src/wsfuzz.rs`), and
//! afterwards the server still serving and the victim room unchanged, in
//! what its parties see and in its database rows.
//!
//! The seed is printed; `STELGANO_WSFUZZ_SEED=N` replays a failing run's
//! frames.

use std::time::Duration;

use stelgano_conformance::reference::{ReferenceServer, ReferenceSettings};
use stelgano_conformance::wsfuzz::{self, Options};

/// Whether the process exists and is not a zombie: a server that crashed
/// stays a zombie until the harness reaps it, when it is dropped.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The state follows the parenthesised command name.
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_frames_get_their_answers_and_change_no_other_room() {
    let seed = std::env::var("STELGANO_WSFUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| getrandom::u64().expect("randomness for the seed"));
    println!("wsfuzz seed {seed} (STELGANO_WSFUZZ_SEED={seed} replays it)");
    let settings = ReferenceSettings {
        // The victim room must outlive the run to be compared after it.
        room_ttl_seconds: 3600,
        // Thousands of frames: production's level keeps the log from
        // taking the cores the run needs.
        log_filter: "info".to_owned(),
        ..ReferenceSettings::default()
    };
    let server = ReferenceServer::start(&settings)
        .await
        .expect("the reference server starts");
    let options = Options {
        duration: Duration::from_secs(20),
        database_url: Some(server.database_url()),
        ..Options::new(seed)
    };
    let summary = wsfuzz::run(&server.url(), &options)
        .await
        .expect("the run can be set up");
    println!("{}", summary.render());
    // A close lost to a TCP reset is a violation too (STD1-WIRE-32).
    assert!(summary.passed(), "{}", summary.render());
    assert!(
        running(server.pid()),
        "the server process is no longer running"
    );

    // The run did what it claims: many frames, and every kind of answer
    // the transport and the decoder prescribe, and session answers, came
    // back at least once. A generator that stopped producing one of them
    // would otherwise pass unnoticed.
    assert!(summary.frames >= 500, "only {} frames", summary.frames);
    assert!(summary.fragmented > 0, "no fragmented message");
    for answer in [
        "close 1003",
        "close 1007",
        "close 1009",
        "error invalid_frame",
        "error unknown_event",
        "error invalid_payload",
        "error invalid_encoding",
        "error not_joined",
        "error already_joined",
        "error not_found",
        "ok create",
        "ok send_message",
    ] {
        assert!(
            summary.count(answer) > 0,
            "no {answer:?} in the run: {:?}",
            summary.answers
        );
    }
    // The rooms row, both access records and the message at least.
    assert!(
        summary.rows_compared.is_some_and(|n| n >= 4),
        "victim rows compared: {:?}",
        summary.rows_compared
    );
}
