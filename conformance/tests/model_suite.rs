//! The model suite against the reference server: every trace of the
//! corpus replayed over WebSocket (issue: the harness replays the model).

use std::time::Duration;

use stelgano_conformance::corpus::{Corpus, default_dir};
use stelgano_conformance::reference::{ReferenceServer, ReplaySettings};
use stelgano_conformance::replay::{Setup, replay_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_passes_every_trace() {
    let corpus = Corpus::load(&default_dir()).expect("the corpus");
    let settings = ReplaySettings {
        lockout_attempts: corpus.lockout_attempts,
        ..ReplaySettings::default()
    };
    let server = ReferenceServer::start(settings).await.expect("server");
    let setup = Setup {
        url: server.url(),
        pins: corpus.pins.clone(),
        frame_timeout: Duration::from_secs(10),
        expiry_grace: Duration::from_secs(5),
    };
    let started = std::time::Instant::now();
    let results = replay_all(&setup, &corpus.traces, 128).await;
    let failed: Vec<_> = results.iter().filter(|r| r.failure.is_some()).collect();
    println!(
        "model suite: {} traces, {} steps, {} failed, {:.1?}",
        results.len(),
        results.iter().map(|r| r.steps).sum::<usize>(),
        failed.len(),
        started.elapsed()
    );
    if let Some(shortest) = failed.iter().min_by_key(|r| r.steps) {
        let d = shortest.failure.as_ref().expect("failed");
        panic!(
            "{} of {} traces failed; shortest: {} at step {}: {}\n{}",
            failed.len(),
            results.len(),
            shortest.id,
            d.step,
            d.message,
            d.frames.join("\n")
        );
    }
}
