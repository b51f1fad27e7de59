//! Reading the trace corpus.

use std::path::{Path, PathBuf};

use stelgano_model::trace::Trace;

/// The corpus: its description and its traces.
pub struct Corpus {
    /// The PINs of A, B and M.
    pub pins: [String; 3],
    /// The PIN B types when it slips (joins with `"pin": "typo"`).
    pub typo_pin: String,
    /// Failures that lock a room; the target must be configured with it.
    pub lockout_attempts: u64,
    pub traces: Vec<Trace>,
}

/// Why the corpus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Where the corpus lives in this repository.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

impl Corpus {
    pub fn load(dir: &Path) -> Result<Self, CorpusError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| CorpusError::Read { path, source })
        };
        let invalid = |name: &str, reason: String| CorpusError::Invalid {
            path: dir.join(name),
            reason,
        };
        let header: serde_json::Value = serde_json::from_str(&read("corpus.json")?)
            .map_err(|e| invalid("corpus.json", e.to_string()))?;
        // Format 2 added a network per party (STD1-JOIN-22), format 3
        // re-opened slots (STD1-JOIN-24); the replayer reads these two.
        if !stelgano_model::trace::READABLE_FORMATS
            .iter()
            .any(|f| header["format"] == *f)
        {
            return Err(invalid("corpus.json", "unknown format".into()));
        }
        let pin = |p: &str| {
            header["pins"][p]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid("corpus.json", format!("no PIN for {p}")))
        };
        let pins = [pin("A")?, pin("B")?, pin("M")?];
        // A format 2 corpus has no mistyped joins; any other PIN will do.
        let typo_pin = if header["pins"]["B_typo"].is_null() {
            format!("{}-typo", pins[1])
        } else {
            pin("B_typo")?
        };
        let lockout_attempts = header["lockout_attempts"]
            .as_u64()
            .ok_or_else(|| invalid("corpus.json", "no lockout_attempts".into()))?;
        let traces = read("traces.jsonl")?
            .lines()
            .enumerate()
            .map(|(n, line)| {
                serde_json::from_str(line)
                    .map_err(|e| invalid("traces.jsonl", format!("line {}: {e}", n + 1)))
            })
            .collect::<Result<Vec<Trace>, _>>()?;
        Ok(Self {
            pins,
            typo_pin,
            lockout_attempts,
            traces,
        })
    }
}
