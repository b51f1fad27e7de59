//! The stored forms of the hashes clients send (spec §11.5, STD1-SRV-25,
//! STD1-SRV-26).
//!
//! Every client hash is a function of a phone number with public salts, so
//! a store holding them as sent would give its rooms' steg numbers to an
//! offline search. Here each is stored under a key derived from the
//! *pepper*, a secret the store never holds:
//!
//! - `room_hash`, `access_hash` and `pairing_hash`, which the server only
//!   looks up or compares, as HMAC-SHA-256 under a key per kind of value;
//! - `sender_hash`, which clients are given back (STD1-MSG-4), sealed with
//!   AES-256-GCM under its own key, a random nonce, and the record's room
//!   and slot as associated data, beside an HMAC of it that carries the
//!   schema's uniqueness constraint (STD1-SRV-5).
//!
//! The store holds one more value, the pepper's check value, so that an
//! instance started with another pepper refuses to serve instead of finding
//! no room (STD1-SRV-26).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use stelgano_spec::ids::{AccessHash, PairingHash, RoomHash, RoomId, SenderHash};
use subtle::ConstantTimeEq;

use super::{Slot, StoreError};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the pepper (STD1-SRV-26: at least 256 bits).
pub const PEPPER_BYTES: usize = 32;

/// Bytes of a sealed sender hash: nonce, ciphertext, tag.
pub const SEALED_SENDER_BYTES: usize = NONCE_BYTES + 32 + TAG_BYTES;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// The server's secret, kept outside the store. Its `Debug` shows nothing
/// of it (STD1-SRV-26: never logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Pepper([u8; PEPPER_BYTES]);

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(..)")
    }
}

/// A pepper that is not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a pepper is {expected} hexadecimal digits (256 bits); this one is not", expected = PEPPER_BYTES * 2)]
pub struct MalformedPepper;

impl Pepper {
    /// 256 bits from the operating system's secure source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; PEPPER_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Reads 64 hexadecimal digits, either case, surrounding whitespace
    /// allowed (a file's final newline).
    pub fn from_hex(text: &str) -> Result<Self, MalformedPepper> {
        let digits = text.trim().as_bytes();
        if digits.len() != PEPPER_BYTES * 2 {
            return Err(MalformedPepper);
        }
        let mut bytes = [0_u8; PEPPER_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or(MalformedPepper)?;
            let low = hex_value(pair[1]).ok_or(MalformedPepper)?;
            *byte = (high << 4) | low;
        }
        Ok(Self(bytes))
    }

    /// The form [`Pepper::from_hex`] reads: 64 lowercase digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::str::FromStr for Pepper {
    type Err = MalformedPepper;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The keys derived from one pepper, one per use, so that no stored value
/// of one kind can be tested against another kind.
#[derive(Clone)]
pub struct StorageKeys {
    room: [u8; 32],
    access: [u8; 32],
    pairing: [u8; 32],
    sender_index: [u8; 32],
    sender_seal: Aes256Gcm,
    check: [u8; 32],
    origins: [u8; 32],
}

impl fmt::Debug for StorageKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKeys(..)")
    }
}

/// Labels of the derived keys; changing one makes every stored value of
/// its kind unreachable.
const LABELS: [&str; 7] = [
    "stelgano-std1 store room_hash",
    "stelgano-std1 store access_hash",
    "stelgano-std1 store pairing_hash",
    "stelgano-std1 store sender_hash index",
    "stelgano-std1 store sender_hash seal",
    "stelgano-std1 store pepper check",
    "stelgano-std1 memory failed origins",
];

impl StorageKeys {
    /// Derives each key as HMAC-SHA-256(pepper, label).
    pub fn derive(pepper: &Pepper) -> Self {
        let [room, access, pairing, sender_index, seal, check, origins] =
            LABELS.map(|label| mac(&pepper.0, &[label.as_bytes()]));
        Self {
            room,
            access,
            pairing,
            sender_index,
            sender_seal: Aes256Gcm::new(&seal.into()),
            check,
            origins,
        }
    }

    /// The key of the in-memory digests of rooms and failed origins
    /// (`crate::origins`); never used for anything stored.
    pub fn origins_key(&self) -> [u8; 32] {
        self.origins
    }

    /// The stored form of a `room_hash`.
    pub fn room(&self, hash: &RoomHash) -> [u8; 32] {
        mac(&self.room, &[hash.as_bytes()])
    }

    /// The stored form of an `access_hash`.
    pub fn access(&self, hash: &AccessHash) -> [u8; 32] {
        mac(&self.access, &[hash.as_bytes()])
    }

    /// The stored form of a `pairing_hash`.
    pub fn pairing(&self, hash: &PairingHash) -> [u8; 32] {
        mac(&self.pairing, &[hash.as_bytes()])
    }

    /// The keyed form of a `sender_hash` the uniqueness constraint is on.
    pub fn sender_index(&self, hash: &SenderHash) -> [u8; 32] {
        mac(&self.sender_index, &[hash.as_bytes()])
    }

    /// Seals the sender hash of the access record at (`room`, `slot`).
    pub fn seal_sender(
        &self,
        room: RoomId,
        slot: Slot,
        hash: &SenderHash,
    ) -> Result<[u8; SEALED_SENDER_BYTES], StoreError> {
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
        let aad = record_binding(room, slot);
        let sealed = self
            .sender_seal
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: hash.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Corrupt("sealing a sender hash failed".into()))?;
        if sealed.len() != SEALED_SENDER_BYTES - NONCE_BYTES {
            return Err(StoreError::Corrupt(
                "a sealed sender hash of the wrong size".into(),
            ));
        }
        let mut out = [0_u8; SEALED_SENDER_BYTES];
        out[..NONCE_BYTES].copy_from_slice(&nonce);
        out[NONCE_BYTES..].copy_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed sender hash of the record at (`room`, `slot`); a
    /// value sealed under another pepper, altered, or moved from another
    /// record does not open.
    pub fn open_sender(
        &self,
        room: RoomId,
        slot: Slot,
        sealed: &[u8],
    ) -> Result<SenderHash, StoreError> {
        let unopenable = || StoreError::Corrupt("a stored sender hash does not open".into());
        if sealed.len() != SEALED_SENDER_BYTES {
            return Err(unopenable());
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| unopenable())?;
        let aad = record_binding(room, slot);
        let plain = self
            .sender_seal
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| unopenable())?;
        SenderHash::try_from(plain.as_slice()).map_err(|_| unopenable())
    }

    /// The pepper's check value (STD1-SRV-26).
    pub fn check_value(&self) -> [u8; 32] {
        self.check
    }
}

/// The associated data that binds a sealed sender hash to its record.
fn record_binding(room: RoomId, slot: Slot) -> [u8; 17] {
    let mut aad = [0_u8; 17];
    aad[..16].copy_from_slice(room.as_uuid().as_bytes());
    aad[16] = slot.to_db() as u8;
    aad
}

pub(crate) fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of every length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// What the store's check value said of this instance's pepper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PepperCheck {
    /// The store had none: this pepper's is written now.
    Recorded,
    /// The store's check value is this pepper's.
    Matches,
    /// The store's rooms were keyed with another pepper.
    Differs,
}

/// Compares the store's check value with `keys`', writing it when the store
/// has none (STD1-SRV-26). Racing first starts are settled by the table's
/// single row: the loser reads the winner's value.
pub async fn check_pepper(pool: &PgPool, keys: &StorageKeys) -> Result<PepperCheck, StoreError> {
    let ours = keys.check_value();
    let inserted = sqlx::query(
        "INSERT INTO pepper_check (check_value) VALUES ($1) ON CONFLICT (only_row) DO NOTHING",
    )
    .bind(ours.as_slice())
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(PepperCheck::Recorded);
    }
    let stored: Vec<u8> = sqlx::query_scalar("SELECT check_value FROM pepper_check")
        .fetch_one(pool)
        .await?;
    Ok(if bool::from(stored.as_slice().ct_eq(ours.as_slice())) {
        PepperCheck::Matches
    } else {
        PepperCheck::Differs
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> StorageKeys {
        StorageKeys::derive(&Pepper([byte; PEPPER_BYTES]))
    }

    fn room() -> RoomId {
        "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"
            .parse()
            .expect("uuid")
    }

    #[test]
    fn pepper_hex_round_trips_and_refuses_anything_else() {
        let pepper = Pepper::generate().expect("randomness");
        assert_eq!(Pepper::from_hex(&pepper.to_hex()), Ok(pepper.clone()));
        assert_eq!(
            Pepper::from_hex(&format!("  {}\n", pepper.to_hex().to_uppercase())),
            Ok(pepper)
        );
        for bad in ["", "00", &"0".repeat(63), &"0".repeat(65), &"g".repeat(64)] {
            assert_eq!(Pepper::from_hex(bad), Err(MalformedPepper), "{bad:?}");
        }
        assert_eq!(format!("{:?}", Pepper([7; 32])), "Pepper(..)");
    }

    #[test]
    fn each_kind_of_value_has_its_own_key() {
        // STD1-SRV-25: the same 32 bytes stored as two kinds of value give
        // unrelated forms, and neither is the value itself.
        let k = keys(1);
        let bytes = [0x5a_u8; 32];
        let forms = [
            k.room(&RoomHash::from_bytes(bytes)),
            k.access(&AccessHash::from_bytes(bytes)),
            k.pairing(&PairingHash::from_bytes(bytes)),
            k.sender_index(&SenderHash::from_bytes(bytes)),
            k.check_value(),
        ];
        for (i, a) in forms.iter().enumerate() {
            assert_ne!(a, &bytes);
            for b in &forms[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Another pepper, other forms.
        assert_ne!(keys(2).room(&RoomHash::from_bytes(bytes)), forms[0]);
    }

    #[test]
    fn the_keys_debug_form_shows_nothing_of_them() {
        // STD1-SRV-26: nothing derived from the pepper is logged.
        assert_eq!(format!("{:?}", keys(1)), "StorageKeys(..)");
    }

    #[test]
    fn the_origins_key_is_the_pepper_s_and_its_own() {
        // STD1-JOIN-22: the in-memory table of failed origins is keyed
        // under a secret derived from the pepper, so its digests cannot be
        // matched to rooms and addresses without it; and under a key of
        // its own, no other derived key.
        let k = keys(1);
        let key = k.origins_key();
        assert_eq!(key, keys(1).origins_key());
        assert_ne!(key, keys(2).origins_key());
        for other in [k.room, k.access, k.pairing, k.sender_index, k.check] {
            assert_ne!(key, other);
        }
    }

    #[test]
    fn a_sealed_sender_opens_only_in_its_own_record_under_its_own_pepper() {
        // STD1-SRV-25
        let k = keys(3);
        let sender = SenderHash::from_bytes([0x42; 32]);
        let sealed = k
            .seal_sender(room(), Slot::Creator, &sender)
            .expect("seals");
        assert_eq!(sealed.len(), SEALED_SENDER_BYTES);
        assert!(!sealed.windows(32).any(|w| w == sender.as_bytes()));
        assert_eq!(
            k.open_sender(room(), Slot::Creator, &sealed)
                .expect("opens"),
            sender
        );
        // Fresh nonce per seal.
        assert_ne!(
            k.seal_sender(room(), Slot::Creator, &sender)
                .expect("seals"),
            sealed
        );
        assert!(k.open_sender(room(), Slot::Second, &sealed).is_err());
        let other_room = RoomId::random().expect("randomness");
        assert!(k.open_sender(other_room, Slot::Creator, &sealed).is_err());
        assert!(keys(4).open_sender(room(), Slot::Creator, &sealed).is_err());
        let mut altered = sealed;
        altered[20] ^= 1;
        assert!(k.open_sender(room(), Slot::Creator, &altered).is_err());
        assert!(k.open_sender(room(), Slot::Creator, &sealed[..59]).is_err());
    }
}
