//! Pairing codes: the one-time secret that gates a room's second slot
//! (STD1-JOIN-10 to STD1-JOIN-13).
//!
//! The creator's client makes a code, shows it once, and sends only its hash.
//! The second party types the code from a screen, a note or a voice call, so
//! input is forgiving: case, separators and the letters people confuse with
//! digits are all accepted, and every accepted spelling maps to one canonical
//! code before hashing.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::constants::{PAIRING_ALPHABET, PAIRING_CODE_LEN};
use crate::ids::PairingHash;

/// Why typed text is not a pairing code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PairingCodeError {
    #[error("{0:?} cannot appear in a pairing code")]
    InvalidCharacter(char),
    #[error("a pairing code has {PAIRING_CODE_LEN} symbols, this has {0}")]
    WrongLength(usize),
    #[error("the operating system's random number generator failed")]
    Randomness,
}

/// A canonical pairing code: eight symbols of [`PAIRING_ALPHABET`]. Debug is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(String);

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(<redacted>)")
    }
}

/// Maps one typed character to its canonical symbol (STD1-JOIN-12).
///
/// `Ok(None)` means the character is a separator and is skipped.
fn canonical_symbol(c: char) -> Result<Option<char>, PairingCodeError> {
    let upper = c.to_ascii_uppercase();
    let symbol = match upper {
        '-' | ' ' | '\t' | '\u{00A0}' | '\u{2010}'..='\u{2015}' | '\u{2212}' => return Ok(None),
        'I' | 'L' => '1',
        'O' => '0',
        'U' => 'V',
        _ if PAIRING_ALPHABET.contains(upper) && upper.is_ascii() => upper,
        _ => return Err(PairingCodeError::InvalidCharacter(c)),
    };
    Ok(Some(symbol))
}

impl PairingCode {
    /// A fresh code from the operating system's CSPRNG (STD1-JOIN-10).
    ///
    /// Each symbol takes the low five bits of one random byte; 256 is a
    /// multiple of 32, so every symbol is uniform.
    pub fn generate() -> Result<Self, PairingCodeError> {
        let mut bytes = [0u8; PAIRING_CODE_LEN];
        getrandom::fill(&mut bytes).map_err(|_| PairingCodeError::Randomness)?;
        Ok(Self::from_random_bytes(bytes))
    }

    /// The code that `generate` makes from these bytes (for vectors).
    pub fn from_random_bytes(bytes: [u8; PAIRING_CODE_LEN]) -> Self {
        let alphabet = PAIRING_ALPHABET.as_bytes();
        Self(
            bytes
                .iter()
                .map(|b| char::from(alphabet[usize::from(b & 31)]))
                .collect(),
        )
    }

    /// Canonicalises typed input (STD1-JOIN-12): upper-case; drop hyphens,
    /// dashes and spaces; read I and L as 1, O as 0, U as V; refuse anything
    /// else outside the alphabet; require exactly eight symbols.
    pub fn parse(typed: &str) -> Result<Self, PairingCodeError> {
        let mut code = String::with_capacity(PAIRING_CODE_LEN);
        for c in typed.chars() {
            if let Some(symbol) = canonical_symbol(c)? {
                code.push(symbol);
            }
        }
        let len = code.chars().count();
        if len != PAIRING_CODE_LEN {
            return Err(PairingCodeError::WrongLength(len));
        }
        Ok(Self(code))
    }

    /// The canonical eight symbols, which are what is hashed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Display form: two groups of four joined by a hyphen, e.g. `P2K4-9H7M` (STD1-JOIN-13).
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(PAIRING_CODE_LEN / 2);
        format!("{a}-{b}")
    }

    /// `pairing_hash = SHA-256(canonical code)` (STD1-JOIN-11).
    pub fn hash(&self) -> PairingHash {
        PairingHash::from_bytes(Sha256::digest(self.0.as_bytes()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_upstream_vector() {
        // STD1-JOIN-11
        let code = PairingCode::parse("P2K49H7M").expect("valid");
        assert_eq!(
            code.hash().to_hex(),
            "0dc598ee785bee1b860406516fe243b76c2e034619c918ad1c70cf074dace9d9"
        );
        assert_eq!(code.display(), "P2K4-9H7M");
    }

    #[test]
    fn forgiving_input_maps_to_one_code() {
        // STD1-JOIN-12
        for typed in [
            "p2k4-9h7m",
            "P2K4 9H7M",
            " p2k4 - 9h7m ",
            "P2K4\u{2013}9H7M",
        ] {
            assert_eq!(
                PairingCode::parse(typed).map(|c| c.0).as_deref(),
                Ok("P2K49H7M"),
                "{typed:?}"
            );
        }
        assert_eq!(
            PairingCode::parse("iLoU0000").map(|c| c.0).as_deref(),
            Ok("110V0000")
        );
    }

    #[test]
    fn invalid_input_is_refused_not_dropped() {
        // STD1-JOIN-12
        assert_eq!(
            PairingCode::parse("P2K4_9H7M"),
            Err(PairingCodeError::InvalidCharacter('_'))
        );
        assert_eq!(
            PairingCode::parse("P2K49H7"),
            Err(PairingCodeError::WrongLength(7))
        );
        assert_eq!(
            PairingCode::parse("P2K49H7MM"),
            Err(PairingCodeError::WrongLength(9))
        );
        assert_eq!(
            PairingCode::parse("P2K49H7\u{0130}"),
            Err(PairingCodeError::InvalidCharacter('\u{130}'))
        );
    }

    #[test]
    fn generated_codes_are_canonical() {
        // STD1-JOIN-10
        let code = PairingCode::generate().expect("OS randomness");
        assert_eq!(PairingCode::parse(code.as_str()), Ok(code.clone()));
        assert_eq!(
            PairingCode::from_random_bytes([0, 31, 32, 255, 1, 2, 3, 4]).as_str(),
            "0Z0Z1234"
        );
    }
}
