//! `stelgano-vectors`: writes the test-vector files of `spec/vectors/`, or
//! with `--check` verifies that the committed files are current.
//!
//! The vectors are data for other implementations: a JavaScript client, a
//! server in another language, or the conformance harness. Each file is
//! produced here, deterministically, and a test fails when the committed file
//! differs from what this module produces (regenerate with
//! `cargo run -p stelgano-spec --bin stelgano-vectors`).
//!
//! Expected outcomes are written down by the case that builds them ("a
//! missing `room_hash` is `invalid_payload`"), not read back from the code
//! under test; generation then asserts that the reference implementation
//! agrees, so a vector can never silently encode a bug.

#![forbid(unsafe_code)]

mod derivation;
mod encryption;
mod frames;
mod pairing;

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

/// The command that regenerates every file, recorded in each file.
const GENERATOR: &str = "cargo run -p stelgano-spec --bin stelgano-vectors";

/// One vector file: its name under `spec/vectors/` and its JSON content.
struct VectorFile {
    name: &'static str,
    content: Value,
}

impl VectorFile {
    /// The exact bytes committed: pretty-printed JSON and a final newline.
    fn text(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(&self.content).expect("a JSON value always serialises");
        text.push('\n');
        text
    }
}

/// Every vector file, in a fixed order.
fn all() -> Vec<VectorFile> {
    vec![
        VectorFile {
            name: "derivation.json",
            content: derivation::file(),
        },
        VectorFile {
            name: "encryption.json",
            content: encryption::file(),
        },
        VectorFile {
            name: "pairing.json",
            content: pairing::file(),
        },
        VectorFile {
            name: "frames.json",
            content: frames::file(),
        },
    ]
}

/// The common header of a vector file (Wycheproof's layout: a description,
/// the schema, a count, then the cases).
fn header(
    title: &str,
    schema: &str,
    requirements: &[&str],
    notes: &str,
) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("title".into(), title.into());
    map.insert(
        "specification".into(),
        "sTELgano-std-1 (spec/std-1.md)".into(),
    );
    map.insert("schema".into(), format!("schema/{schema}").into());
    map.insert("generator".into(), GENERATOR.into());
    map.insert(
        "requirements".into(),
        requirements.iter().map(|r| Value::from(*r)).collect(),
    );
    map.insert("notes".into(), notes.into());
    map
}

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut stale = 0;
    for file in all() {
        let path = dir.join(file.name);
        let text = file.text();
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                eprintln!("stale: {}", path.display());
                stale += 1;
            }
        } else if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        } else {
            println!("wrote {}", path.display());
        }
    }
    if stale > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
