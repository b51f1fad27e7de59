//! Fresh inputs for the checks: steg numbers, pairing codes and message
//! payloads. Every check plays in a room of its own, so numbers are random.

use stelgano_spec::derive::Phone;
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{Ciphertext, Iv};

/// A random valid steg number: +1 and ten digits, the first from 2 to 9
/// (STD1-DRV-2); collisions within a run are negligible.
pub fn steg_number() -> Result<Phone, String> {
    let n = getrandom::u64().map_err(|e| format!("no randomness: {e}"))?;
    let digits = format!("{}{:09}", 2 + n % 8, (n / 8) % 1_000_000_000);
    Phone::parse(&format!("+1{digits}")).map_err(|e| format!("steg number: {e}"))
}

/// A fresh pairing code.
pub fn pairing_code() -> Result<PairingCode, String> {
    PairingCode::generate().map_err(|e| format!("pairing code: {e}"))
}

/// A random 32-byte ciphertext and IV: the server never decrypts, so any
/// well-formed bytes do (STD1-ENC-5).
pub fn payload() -> Result<(Ciphertext, Iv), String> {
    let mut bytes = [0_u8; 44];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    let mut iv = [0_u8; 12];
    iv.copy_from_slice(&bytes[32..]);
    let ciphertext =
        Ciphertext::from_bytes(bytes[..32].to_vec()).map_err(|e| format!("ciphertext: {e:?}"))?;
    Ok((ciphertext, Iv::from_array(iv)))
}
