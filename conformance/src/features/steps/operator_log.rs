//! What the curious operator reads in the server's log (STD1-SRV-16).
//! Only for targets that expose their log file; the reference server
//! writes JSON lines at debug level to it.

use std::time::Duration;

use stelgano_spec::b64;
use tokio::time::Instant;

use super::Args;
use crate::features::world::{FeatureWorld, StepFailure, expected, hex};

type Outcome = Result<(), StepFailure>;

/// How long a log write may lag the reply it belongs to.
const LOG_LAG: Duration = Duration::from_secs(5);

fn log_path(world: &FeatureWorld) -> Result<std::path::PathBuf, StepFailure> {
    world
        .target
        .log_path
        .clone()
        .ok_or_else(|| StepFailure::Setup("the target has no operator log".into()))
}

pub async fn watching(world: &mut FeatureWorld, _: Args) -> Outcome {
    let size = tokio::fs::metadata(log_path(world)?).await?.len();
    world.log_start = Some(size);
    Ok(())
}

/// The scenario's values no log may hold: every hash, room and message
/// id, ciphertext and IV, every other value a client sent, and the
/// client's address (STD1-SRV-16).
fn forbidden(world: &FeatureWorld) -> Vec<(&'static str, String)> {
    let s = &world.secrets;
    let digits = world.phone.digits().to_owned();
    let mut needles = vec![
        ("the steg number", digits.clone()),
        ("the steg number", format!("+{digits}")),
    ];
    needles.extend(s.pins.iter().map(|p| ("a PIN", p.clone())));
    needles.extend(
        s.pairing_codes
            .iter()
            .map(|c| ("a pairing code", c.clone())),
    );
    needles.extend(s.plaintexts.iter().map(|p| ("a plaintext", p.clone())));
    for key in &s.keys {
        needles.push(("the message key", hex(key)));
        needles.push(("the message key", b64::encode(key)));
    }
    needles.extend(s.hashes.iter().map(|h| ("a hash", hex(h))));
    needles.extend(s.room_ids.iter().map(|r| ("a room id", r.to_string())));
    needles.extend(
        s.message_ids
            .iter()
            .map(|m| ("a message id", m.to_string())),
    );
    for blob in &s.blobs {
        needles.push(("a ciphertext or IV", b64::encode(blob)));
        needles.push(("a ciphertext or IV", hex(blob)));
    }
    needles.extend(
        s.addresses
            .iter()
            .map(|a| ("a client's address", a.clone())),
    );
    needles
}

pub async fn holds_nothing(world: &mut FeatureWorld, _: Args) -> Outcome {
    let path = log_path(world)?;
    let start = world
        .log_start
        .ok_or_else(|| StepFailure::Setup("nobody was watching the log".into()))?;
    // Log writes may lag the replies: re-read until the file has grown
    // past where the scenario began, or the lag is out.
    let deadline = Instant::now() + LOG_LAG;
    let text = loop {
        let bytes = tokio::fs::read(&path).await?;
        if bytes.len() as u64 > start || Instant::now() >= deadline {
            break String::from_utf8_lossy(&bytes).into_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Positive control: the log is the server's, and it wrote during the
    // scenario, so an absence below means something.
    if text.len() as u64 <= start || text.lines().next().is_none() {
        return Err(expected(format!(
            "the log at {} did not grow during the scenario: is it the target's?",
            path.display()
        )));
    }
    for (what, needle) in forbidden(world) {
        if let Some((n, _)) = text.lines().enumerate().find(|(_, l)| l.contains(&needle)) {
            return Err(expected(format!("line {} of the log holds {what}", n + 1)));
        }
    }
    Ok(())
}
