//! Generation of the test-vector files in `spec/vectors/`.
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

mod derivation;
mod encryption;
mod frames;
mod pairing;

use serde_json::Value;

/// The command that regenerates every file, recorded in each file.
pub const GENERATOR: &str = "cargo run -p stelgano-spec --bin stelgano-vectors";

/// One vector file: its name under `spec/vectors/` and its JSON content.
pub struct VectorFile {
    pub name: &'static str,
    pub content: Value,
}

impl VectorFile {
    /// The exact bytes committed: pretty-printed JSON and a final newline.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.content).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Every vector file, in a fixed order.
pub fn all() -> Vec<VectorFile> {
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
