//! Strict standard base64, the only binary encoding on the wire (STD1-WIRE-18).
//!
//! RFC 4648 §4 alphabet (`+` and `/`), `=` padding required, no whitespace,
//! no line breaks, and the unused bits of the last symbol must be zero. With
//! these rules every byte string has exactly one encoding, so a server can
//! store bytes and re-encode them without changing what the client sent.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Encodes bytes in canonical padded standard base64.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes canonical padded standard base64; anything else is `None`.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    // The STANDARD engine requires canonical padding and rejects non-zero
    // trailing bits, which is exactly the canonical form.
    STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_round_trip() {
        // STD1-WIRE-18
        assert_eq!(decode("AAEC"), Some(vec![0, 1, 2]));
        assert_eq!(decode("AAECAwQFBgcICQoL").map(|v| v.len()), Some(12));
        assert_eq!(encode(&[0, 1, 127, 128, 255, 42, 100]), "AAF/gP8qZA==");
        assert_eq!(decode(""), Some(vec![]));
    }

    #[test]
    fn non_canonical_forms_are_rejected() {
        // STD1-WIRE-18
        for bad in [
            "AAF/gP8qZA",     // missing padding
            "AAF/gP8qZA=",    // short padding
            "AAF/gP8qZB==",   // non-zero trailing bits
            "AAF_gP8qZA==",   // URL-safe alphabet
            "AAF/ gP8qZA==",  // inner space
            "AAF/gP8qZA==\n", // trailing newline
            "====",
            "A",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
