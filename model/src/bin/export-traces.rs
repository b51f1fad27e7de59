//! Writes the conformance corpus of the room model to
//! `conformance/traces/` (`corpus.json`, `traces.jsonl`).
//!
//! ```text
//! cargo run -p stelgano-model --release --bin export-traces            # write
//! cargo run -p stelgano-model --release --bin export-traces -- --check # compare
//! ```

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use stelgano_model::RoomModel;
use stelgano_model::trace::render;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces");
    let (corpus, traces) = render(&RoomModel::standard());
    let files = [("corpus.json", corpus), ("traces.jsonl", traces)];
    if check {
        let stale: Vec<&str> = files
            .iter()
            .filter(|(name, text)| {
                std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str())
            })
            .map(|(name, _)| *name)
            .collect();
        if stale.is_empty() {
            println!("conformance/traces is up to date");
            return ExitCode::SUCCESS;
        }
        eprintln!("stale: {} (run export-traces to rewrite)", stale.join(", "));
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("creating {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, text) in &files {
        if let Err(e) = std::fs::write(dir.join(name), text) {
            eprintln!("writing {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("wrote {}", dir.display());
    ExitCode::SUCCESS
}
