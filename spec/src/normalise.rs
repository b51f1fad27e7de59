//! Normalisation of the two user secrets before they are hashed.
//!
//! The hashes are only useful if both parties (and every client
//! implementation) feed the same bytes into them, whatever keyboard, paste
//! buffer or formatting the user had. These functions define those bytes.

use unicode_normalization::UnicodeNormalization;

use crate::constants::{MAX_PHONE_DIGITS, MAX_PIN_CHARS, MIN_PHONE_DIGITS, MIN_PIN_CHARS};
use crate::digits::fold_digit;

/// Why a client must refuse a steg number or a PIN before deriving anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the number has fewer than {MIN_PHONE_DIGITS} digits")]
    PhoneTooShort,
    #[error("the number has more than {MAX_PHONE_DIGITS} digits")]
    PhoneTooLong,
    #[error("the number starts with 0, so it carries no country code")]
    PhoneNoCountryCode,
    #[error("the PIN has fewer than {MIN_PIN_CHARS} characters")]
    PinTooShort,
    #[error("the PIN has more than {MAX_PIN_CHARS} characters")]
    PinTooLong,
    #[error("the PIN contains a control character")]
    PinControlCharacter,
}

/// Digits-only form of a steg number (STD1-DRV-1, STD1-DRV-2).
///
/// Decimal digits of any script are folded to ASCII first, then everything
/// that is not an ASCII digit (`+`, spaces, dashes, dots, brackets, letters) is
/// dropped. The result is the E.164 number without its `+`. This function does
/// not validate; see [`validate_phone`].
pub fn normalise_phone(raw: &str) -> String {
    raw.chars()
        .map(|c| fold_digit(c).unwrap_or(c))
        .filter(char::is_ascii_digit)
        .collect()
}

/// Structural check of a normalised steg number (STD1-DRV-2).
///
/// Clients also check the number against numbering-plan data for its country
/// (STD1-CLI-2); this is the part every implementation must agree on.
pub fn validate_phone(normalised: &str) -> Result<(), InputError> {
    let digits = normalised.len();
    if digits < MIN_PHONE_DIGITS {
        return Err(InputError::PhoneTooShort);
    }
    if digits > MAX_PHONE_DIGITS {
        return Err(InputError::PhoneTooLong);
    }
    if normalised.starts_with('0') {
        return Err(InputError::PhoneNoCountryCode);
    }
    Ok(())
}

/// Whether `c` is stripped from either end of a PIN (STD1-DRV-3).
///
/// The Unicode White_Space property plus U+FEFF (a byte-order mark that
/// survives some copy and paste paths). Spelled out rather than taken from a
/// runtime so JavaScript's `trim` and Rust's `trim` differences cannot leak in.
pub fn is_pin_trim_char(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'..='\u{000D}'
            | '\u{0020}'
            | '\u{0085}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
            | '\u{FEFF}'
    )
}

/// Canonical form of a PIN (STD1-DRV-3): NFC, digits folded to ASCII, trimmed.
///
/// Inner spaces and every other character are kept: a PIN is a passphrase as
/// far as hashing is concerned. ASCII PINs without surrounding whitespace are
/// unchanged, which keeps access hashes compatible with upstream clients.
pub fn normalise_pin(raw: &str) -> String {
    let folded: String = raw.nfc().map(|c| fold_digit(c).unwrap_or(c)).collect();
    folded.trim_matches(is_pin_trim_char).to_owned()
}

/// Check of a normalised PIN (STD1-DRV-3).
pub fn validate_pin(normalised: &str) -> Result<(), InputError> {
    let chars = normalised.chars().count();
    if chars < MIN_PIN_CHARS {
        return Err(InputError::PinTooShort);
    }
    if chars > MAX_PIN_CHARS {
        return Err(InputError::PinTooLong);
    }
    if normalised.chars().any(char::is_control) {
        return Err(InputError::PinControlCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_numbers_reduce_to_digits() {
        // STD1-DRV-1
        assert_eq!(normalise_phone("+1 (555) 012-3456"), "15550123456");
        assert_eq!(normalise_phone(" +254 700 000 000 "), "254700000000");
        assert_eq!(normalise_phone("+44.20.7946.0958"), "442079460958");
        assert_eq!(normalise_phone("   "), "");
    }

    #[test]
    fn non_ascii_digits_fold_before_filtering() {
        // STD1-DRV-1
        assert_eq!(normalise_phone("+\u{661}\u{660}\u{660}"), "100");
        assert_eq!(normalise_phone("\u{FF11}\u{FF15}\u{FF15}\u{FF15}"), "1555");
        // Superscript two is numeric but not a decimal digit: it is dropped.
        assert_eq!(normalise_phone("1\u{B2}3"), "13");
    }

    #[test]
    fn phone_validation_bounds() {
        // STD1-DRV-2
        assert_eq!(validate_phone("123456"), Err(InputError::PhoneTooShort));
        assert_eq!(validate_phone("1234567"), Ok(()));
        assert_eq!(validate_phone("123456789012345"), Ok(()));
        assert_eq!(
            validate_phone("1234567890123456"),
            Err(InputError::PhoneTooLong)
        );
        assert_eq!(
            validate_phone("0015550123456"),
            Err(InputError::PhoneNoCountryCode)
        );
    }

    #[test]
    fn pin_normalisation() {
        // STD1-DRV-3
        assert_eq!(normalise_pin("1234"), "1234");
        assert_eq!(normalise_pin(" 1234\n"), "1234");
        assert_eq!(normalise_pin("\u{FEFF}12 34\u{3000}"), "12 34");
        assert_eq!(normalise_pin("\u{661}\u{662}\u{663}\u{664}"), "1234");
        // NFD e + combining acute becomes the precomposed character.
        assert_eq!(normalise_pin("cafe\u{301}"), "caf\u{E9}");
    }

    #[test]
    fn pin_validation_bounds() {
        // STD1-DRV-3
        assert_eq!(validate_pin("123"), Err(InputError::PinTooShort));
        assert_eq!(validate_pin("1234"), Ok(()));
        assert_eq!(validate_pin(&"9".repeat(64)), Ok(()));
        assert_eq!(validate_pin(&"9".repeat(65)), Err(InputError::PinTooLong));
        assert_eq!(
            validate_pin("12\u{0}34"),
            Err(InputError::PinControlCharacter)
        );
        // Length counts scalar values, not bytes.
        assert_eq!(validate_pin("\u{1F512}\u{1F512}\u{1F512}\u{1F512}"), Ok(()));
    }
}
