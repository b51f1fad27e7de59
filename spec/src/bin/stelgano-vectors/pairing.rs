//! `pairing.json`: pairing-code generation, canonicalisation, display and
//! hashing (STD1-JOIN-10 to STD1-JOIN-13).

use serde_json::{Value, json};

use stelgano_spec::pairing::{PairingCode, PairingCodeError};

/// (comment, random bytes, expected code)
const GENERATION: &[(&str, [u8; 8], &str)] = &[
    ("all zero bytes", [0; 8], "00000000"),
    (
        "the low five bits select the symbol",
        [0, 1, 2, 3, 28, 29, 30, 31],
        "0123WXYZ",
    ),
    (
        "the high three bits are ignored",
        [32, 33, 64, 96, 128, 160, 224, 255],
        "0100000Z",
    ),
    (
        "every letter position",
        [10, 11, 12, 13, 14, 15, 16, 17],
        "ABCDEFGH",
    ),
    (
        "the letters after H skip I, L, O and U",
        [18, 19, 20, 21, 22, 23, 24, 25],
        "JKMNPQRS",
    ),
    (
        "the upstream example code",
        [0x16, 0x02, 0x13, 0x04, 0x09, 0x11, 0x07, 0x14],
        "P2K49H7M",
    ),
];

/// (comment, typed input, expected canonical code or error)
const TYPED: &[(&str, &str, Result<&str, &str>)] = &[
    ("canonical", "P2K49H7M", Ok("P2K49H7M")),
    ("display form with hyphen", "P2K4-9H7M", Ok("P2K49H7M")),
    ("lower case", "p2k4-9h7m", Ok("P2K49H7M")),
    ("spaces", "P2K4 9H7M", Ok("P2K49H7M")),
    (
        "surrounding spaces and a spaced hyphen",
        "  p2k4 - 9h7m  ",
        Ok("P2K49H7M"),
    ),
    (
        "en dash from a word processor",
        "P2K4\u{2013}9H7M",
        Ok("P2K49H7M"),
    ),
    ("no-break space", "P2K4\u{A0}9H7M", Ok("P2K49H7M")),
    ("minus sign", "P2K4\u{2212}9H7M", Ok("P2K49H7M")),
    ("Unicode hyphen", "P2K4\u{2010}9H7M", Ok("P2K49H7M")),
    ("tab", "P2K4\t9H7M", Ok("P2K49H7M")),
    ("I and L read as 1", "IL000000", Ok("11000000")),
    ("O read as 0", "O0o00000", Ok("00000000")),
    ("U read as V", "uUvV0000", Ok("VVVV0000")),
    (
        "Crockford letters keep their value",
        "abcdefgh",
        Ok("ABCDEFGH"),
    ),
    ("seven symbols", "P2K49H7", Err("wrong_length")),
    ("nine symbols", "P2K49H7MM", Err("wrong_length")),
    ("empty", "", Err("wrong_length")),
    ("only separators", "- -", Err("wrong_length")),
    (
        "underscore is not a separator",
        "P2K4_9H7M",
        Err("invalid_character"),
    ),
    (
        "dot is not a separator",
        "P2K4.9H7M",
        Err("invalid_character"),
    ),
    (
        "non-ASCII letter",
        "P2K49H7\u{C9}",
        Err("invalid_character"),
    ),
    (
        "dotless i is not case-mapped to I",
        "P2K49H7\u{131}",
        Err("invalid_character"),
    ),
    (
        "full-width digit is refused, not folded",
        "P2K49H7\u{FF10}",
        Err("invalid_character"),
    ),
];

fn error_name(e: PairingCodeError) -> &'static str {
    match e {
        PairingCodeError::InvalidCharacter(_) => "invalid_character",
        PairingCodeError::WrongLength(_) => "wrong_length",
        PairingCodeError::Randomness => "randomness",
    }
}

pub(super) fn file() -> Value {
    let generation: Vec<Value> = GENERATION
        .iter()
        .enumerate()
        .map(|(i, (comment, bytes, expected))| {
            let code = PairingCode::from_random_bytes(*bytes);
            assert_eq!(code.as_str(), *expected, "{comment}");
            json!({
                "tcId": i + 1,
                "comment": comment,
                "random_bytes": hex::encode(bytes),
                "code": code.as_str(),
                "display": code.display(),
                "pairing_hash": code.hash().to_hex(),
            })
        })
        .collect();

    let typed: Vec<Value> = TYPED
        .iter()
        .enumerate()
        .map(|(i, (comment, input, expected))| {
            let actual = PairingCode::parse(input);
            match (expected, &actual) {
                (Ok(code), Ok(parsed)) => assert_eq!(parsed.as_str(), *code, "{comment}"),
                (Err(name), Err(e)) => assert_eq!(error_name(*e), *name, "{comment}"),
                _ => panic!("pairing vector {comment}: expected {expected:?}, got {actual:?}"),
            }
            json!({
                "tcId": i + 1,
                "comment": comment,
                "input": input,
                "result": if expected.is_ok() { "valid" } else { "invalid" },
                "code": expected.ok(),
                "pairing_hash": actual.as_ref().ok().map(|c| c.hash().to_hex()),
                "error": expected.err(),
            })
        })
        .collect();

    let mut map = super::header(
        "Pairing codes",
        "pairing.schema.json",
        &[
            "STD1-JOIN-10",
            "STD1-JOIN-11",
            "STD1-JOIN-12",
            "STD1-JOIN-13",
        ],
        "generation: the code a client makes from 8 random bytes (symbol = alphabet[byte & 31]), its display \
         form and its pairing_hash (SHA-256 of the canonical code, lowercase hex). typed: how typed input \
         canonicalises; invalid input is refused by the client and never sent.",
    );
    map.insert(
        "alphabet".into(),
        stelgano_spec::constants::PAIRING_ALPHABET.into(),
    );
    map.insert(
        "numberOfTests".into(),
        (generation.len() + typed.len()).into(),
    );
    map.insert("generation".into(), generation.into());
    map.insert("typed".into(), typed.into());
    Value::Object(map)
}
