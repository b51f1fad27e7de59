//! The std-1 derivations: three SHA-256 identifiers and one PBKDF2 key.
//!
//! Everything a client sends the server is derived here from two secrets the
//! server never sees: the steg number and the PIN. The formulas, salts and
//! separators are fixed by STD1-DRV-4 to STD1-DRV-7 and are byte-compatible
//! with the published std-1 clients for ASCII input.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::constants::{
    ACCESS_SALT, ENC_KEY_BYTES, ENC_SALT, PBKDF2_ITERATIONS, ROOM_SALT, SENDER_SALT,
};
use crate::ids::{AccessHash, RoomHash, RoomId, SenderHash};
use crate::normalise::{InputError, normalise_phone, normalise_pin, validate_phone, validate_pin};

/// A normalised, structurally valid steg number: ASCII digits only (STD1-DRV-1, STD1-DRV-2).
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Normalises and validates user input.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let digits = normalise_phone(raw);
        validate_phone(&digits)?;
        Ok(Self(digits))
    }

    /// The digits that are hashed.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

/// Redacted: the steg number is the shared secret (STD1-SRV-16).
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

/// A normalised, valid PIN (STD1-DRV-3).
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// Normalises and validates user input.
    pub fn parse(raw: &str) -> Result<Self, InputError> {
        let pin = normalise_pin(raw);
        validate_pin(&pin)?;
        Ok(Self(pin))
    }

    /// The exact string that is hashed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Redacted: the PIN is a secret (STD1-SRV-16).
impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// SHA-256 over the concatenation of `parts`, as the 32 raw digest bytes.
fn sha256_concat(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// `room_hash = SHA-256(phone ":" ROOM_SALT)` (STD1-DRV-4).
pub fn room_hash(phone: &Phone) -> RoomHash {
    RoomHash::from_bytes(sha256_concat(&[phone.digits(), ":", ROOM_SALT]))
}

/// `access_hash = SHA-256(phone ":" pin ":" ACCESS_SALT)` (STD1-DRV-5).
pub fn access_hash(phone: &Phone, pin: &Pin) -> AccessHash {
    AccessHash::from_bytes(sha256_concat(&[
        phone.digits(),
        ":",
        pin.as_str(),
        ":",
        ACCESS_SALT,
    ]))
}

/// `sender_hash = SHA-256(phone ":" hex(access_hash) ":" hex(room_hash) ":" SENDER_SALT)` (STD1-DRV-6).
pub fn sender_hash(phone: &Phone, access: &AccessHash, room: &RoomHash) -> SenderHash {
    SenderHash::from_bytes(sha256_concat(&[
        phone.digits(),
        ":",
        &access.to_hex(),
        ":",
        &room.to_hex(),
        ":",
        SENDER_SALT,
    ]))
}

/// The three identifiers a party presents when it creates or joins a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartyHashes {
    pub room_hash: RoomHash,
    pub access_hash: AccessHash,
    pub sender_hash: SenderHash,
}

impl PartyHashes {
    /// Derives all three identifiers (STD1-DRV-4, STD1-DRV-5, STD1-DRV-6).
    pub fn derive(phone: &Phone, pin: &Pin) -> Self {
        let room_hash = room_hash(phone);
        let access_hash = access_hash(phone, pin);
        let sender_hash = sender_hash(phone, &access_hash, &room_hash);
        Self {
            room_hash,
            access_hash,
            sender_hash,
        }
    }
}

/// The AES-256-GCM message key of one room (STD1-DRV-7).
///
/// Debug is redacted, the bytes are wiped when the key is dropped, and there
/// is deliberately no `PartialEq`: comparing keys is not something protocol
/// code should do (tests compare [`EncKey::as_bytes`]).
#[derive(Clone)]
pub struct EncKey([u8; ENC_KEY_BYTES]);

impl Drop for EncKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl EncKey {
    /// Wraps raw key bytes (for test vectors and the conformance harness).
    pub const fn from_bytes(bytes: [u8; ENC_KEY_BYTES]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    pub const fn as_bytes(&self) -> &[u8; ENC_KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for EncKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncKey(<redacted>)")
    }
}

/// `enc_key = PBKDF2-HMAC-SHA-256(phone, room_id ‖ ENC_SALT, 600000, 32)` (STD1-DRV-7).
///
/// `room_id` is the server-issued UUID in its canonical lowercase text form
/// and is concatenated with the salt without a separator. The PIN is not an
/// input: both parties, with different PINs, must arrive at the same key.
pub fn enc_key(phone: &Phone, room_id: &RoomId) -> EncKey {
    let salt = format!("{room_id}{ENC_SALT}");
    EncKey(pbkdf2::pbkdf2_hmac_array::<Sha256, ENC_KEY_BYTES>(
        phone.digits().as_bytes(),
        salt.as_bytes(),
        PBKDF2_ITERATIONS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Compatibility vectors of the published std-1 (see spec/vectors/derivation.json).
    const ROOM_15550123456: &str =
        "183961933c251543088257984b33a7ce9dabc2be9b7a571bd93d727a920ff133";

    fn phone(raw: &str) -> Phone {
        Phone::parse(raw).expect("valid test number")
    }

    fn pin(raw: &str) -> Pin {
        Pin::parse(raw).expect("valid test PIN")
    }

    #[test]
    fn room_hash_matches_upstream_and_ignores_formatting() {
        // STD1-DRV-4, STD1-DRV-9 (the fixed salts reproduce upstream's hashes)
        assert_eq!(room_hash(&phone("15550123456")).to_hex(), ROOM_15550123456);
        assert_eq!(
            room_hash(&phone("+1 (555) 012-3456")).to_hex(),
            ROOM_15550123456
        );
    }

    #[test]
    fn access_and_sender_hash_match_upstream() {
        // STD1-DRV-5, STD1-DRV-6
        let ids = PartyHashes::derive(&phone("15550123456"), &pin("1234"));
        assert_eq!(
            ids.access_hash.to_hex(),
            "8f61a01d389dbc1081f2f662689e74f5b1a7a0bf54e51349c57520a0b98c89bf"
        );
        assert_eq!(
            ids.sender_hash.to_hex(),
            "1ce37b2a69c126e32cf3b494e2fe5244dcdcac40f8d05ca7ec10543a63d9bcdd"
        );
    }

    #[test]
    fn enc_key_uses_the_server_room_id() {
        // STD1-DRV-7
        let room_id: RoomId = "00000000-0000-0000-0000-000000000000"
            .parse()
            .expect("uuid");
        assert_eq!(
            hex::encode(enc_key(&phone("15550123456"), &room_id).as_bytes()),
            "93306d8367183dc50b146ada6ba20b554667ed8af0658af40a491ce774048863"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        // STD1-SRV-16
        let p = phone("15550123456");
        assert_eq!(format!("{p:?}"), "Phone(<redacted>)");
        assert_eq!(format!("{:?}", pin("1234")), "Pin(<redacted>)");
    }
}
