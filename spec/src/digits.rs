//! Folding of Unicode decimal digits to ASCII (STD1-DRV-1).
//!
//! Users type steg numbers and PINs on keyboards that produce Arabic-Indic,
//! Devanagari, full-width and other decimal digits. Without folding, the same
//! number typed on two keyboards would hash to two different rooms. The table
//! is normative data, not "whatever the runtime's Unicode says", so that a
//! JavaScript client and this crate fold exactly the same characters.

/// Unicode version the table was extracted from.
pub const UNICODE_VERSION: &str = "18.0.0";

/// First code point (the digit zero) of every run of ten consecutive
/// characters with General_Category `Nd` (77 runs, 770 characters).
/// In each run, the digit value is the offset from the run's start.
pub const DECIMAL_DIGIT_ZEROS: [u32; 77] = [
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450,
    0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
    0x11D50, 0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950,
    0x1FBF0,
];

/// The ASCII digit a character folds to, if it is a decimal digit (`Nd`).
pub fn fold_digit(c: char) -> Option<char> {
    let cp = u32::from(c);
    // The table is sorted; find the last run starting at or before `cp`.
    let idx = DECIMAL_DIGIT_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = *DECIMAL_DIGIT_ZEROS.get(idx.checked_sub(1)?)?;
    let value = cp - zero;
    if value < 10 {
        char::from_digit(value, 10)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_runs_do_not_overlap() {
        // STD1-DRV-1
        for pair in DECIMAL_DIGIT_ZEROS.windows(2) {
            assert!(pair[0] + 10 <= pair[1], "runs overlap at {:#x}", pair[0]);
        }
    }

    #[test]
    fn every_listed_character_is_numeric_and_folds_to_its_value() {
        // STD1-DRV-1
        for zero in DECIMAL_DIGIT_ZEROS {
            for value in 0..10u32 {
                let c = char::from_u32(zero + value).expect("table holds scalar values");
                assert!(c.is_numeric(), "{c:?} is not numeric");
                assert_eq!(fold_digit(c), char::from_digit(value, 10));
            }
        }
    }

    #[test]
    fn non_digits_do_not_fold() {
        // STD1-DRV-1: superscripts and fractions are numeric but not decimal digits.
        for c in [
            'a', '+', ' ', '\u{b2}', '\u{bd}', '\u{2160}', '/', ':', '\u{65f}', '\u{66a}',
        ] {
            assert_eq!(fold_digit(c), None, "{c:?}");
        }
    }

    #[test]
    fn examples_from_common_scripts() {
        assert_eq!(fold_digit('\u{0663}'), Some('3')); // ARABIC-INDIC DIGIT THREE
        assert_eq!(fold_digit('\u{06F7}'), Some('7')); // EXTENDED ARABIC-INDIC (Persian) SEVEN
        assert_eq!(fold_digit('\u{096B}'), Some('5')); // DEVANAGARI FIVE
        assert_eq!(fold_digit('\u{FF19}'), Some('9')); // FULLWIDTH NINE
        assert_eq!(fold_digit('\u{1D7CE}'), Some('0')); // MATHEMATICAL BOLD ZERO
    }
}
