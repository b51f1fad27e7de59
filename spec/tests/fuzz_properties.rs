//! Fuzz-style properties that run in `cargo test` (issue 9): the same
//! properties as the cargo-fuzz targets in `spec/fuzz/`, over the same
//! generators and oracles (`tests/support/`), at a size that finishes in a
//! few seconds in a debug build.
//!
//! `tests/properties.rs` already checks that the decoder survives arbitrary
//! bytes, token soup and byte- and member-level mutations of valid frames,
//! answering with *some* decoder reason. This file checks *which* answer:
//! structurally faulted frames against an independent model of spec §7.3
//! and §7.4 (reason, `ref` and event, or the exact decoded frame), that no
//! spelling of a frame (whitespace, escapes) changes its meaning, and every
//! field parser against an oracle written from the specification's text,
//! on arbitrary and near-miss strings.
//!
//! `PROPTEST_CASES=N` scales every test, as in `tests/properties.rs`.

mod support;

use proptest::prelude::*;
use proptest::sample::Index;
use stelgano_spec::ErrorReason;
use stelgano_spec::b64;
use stelgano_spec::ids::{
    AccessHash, CountryCode, MessageId, PairingHash, Ref, RoomHash, RoomId, SenderHash,
};
use stelgano_spec::wire::{Ciphertext, Iv, Timestamp, decode_client_frame};
use support::choices::Choices;
use support::frames::{self, J};
use support::syntax;

/// `cases` test cases, or `$PROPTEST_CASES` when set.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::with_cases(cases)
    }
}

/// Decision bytes for the frame generator: long enough for a frame with
/// three faults and its near-miss values.
fn recipe() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=400)
}

// ---------------------------------------------------------------------------
// The decoder against the model
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn decoder_gives_the_answer_the_model_assigns(tree in recipe(), style in recipe()) {
        // STD1-WIRE-10 (one I-JSON object, depth <= 32), STD1-WIRE-11 (ref
        // first, null ref before it), STD1-WIRE-12 (exactly three members),
        // STD1-WIRE-13 (unknown_event), STD1-WIRE-14 (unknown members first,
        // then fields in table order), STD1-WIRE-15 to STD1-WIRE-18 (the
        // field reasons), STD1-ENC-2 and STD1-ENC-5 (decoded sizes).
        let tree = frames::build(&mut Choices::new(&tree));
        let text = frames::render(&tree, &mut Choices::new(&style));
        let expected = frames::expected(&tree);
        let got = frames::observed(decode_client_frame(&text));
        prop_assert_eq!(got, expected, "frame: {}", text);
    }

    #[test]
    fn spelling_does_not_change_the_answer(tree in recipe(), a in recipe(), b in recipe()) {
        // STD1-WIRE-10: a frame is a JSON value, so whitespace between
        // tokens and around the object, and the escaped or literal spelling
        // of any character, are not part of its meaning. Checked without
        // the model, so that a mistake shared by model and decoder cannot
        // hide a spelling-dependent answer.
        let tree = frames::build(&mut Choices::new(&tree));
        let one = frames::render(&tree, &mut Choices::new(&a));
        let other = frames::render(&tree, &mut Choices::new(&b));
        prop_assert_eq!(
            decode_client_frame(&one),
            decode_client_frame(&other),
            "{} vs {}", one, other
        );
    }

    #[test]
    fn accepted_frames_have_one_canonical_text(tree in recipe(), style in recipe()) {
        // STD1-WIRE-7, STD1-WIRE-18: whatever spelling was accepted, the
        // re-encoded frame is a fixed point and means the same frame, so a
        // server that stores and re-sends values sends the client's values.
        let tree = frames::build(&mut Choices::new(&tree));
        let text = frames::render(&tree, &mut Choices::new(&style));
        if let Ok(frame) = decode_client_frame(&text) {
            let canonical = frame.to_json();
            prop_assert_eq!(decode_client_frame(&canonical), Ok(frame), "{}", text);
            prop_assert!(!canonical.contains(char::is_whitespace), "{}", canonical);
        }
    }
}

#[test]
fn the_generator_reaches_every_decoder_answer() {
    // The model test above is only as good as what the generator reaches:
    // every reason the decoder can give, and accepted frames of every
    // event, must come out of a few thousand recipes.
    use std::collections::BTreeSet;
    let mut reasons = BTreeSet::new();
    let mut events = BTreeSet::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..12000 {
        let bytes: Vec<u8> = (0..400)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let tree = frames::build(&mut Choices::new(&bytes));
        match frames::expected(&tree) {
            Ok(frame) => {
                events.insert(frame.event.name());
            }
            Err((_, _, reason)) => {
                reasons.insert(reason);
            }
        }
    }
    let decoder_reasons: BTreeSet<ErrorReason> = [
        ErrorReason::InvalidFrame,
        ErrorReason::UnknownEvent,
        ErrorReason::InvalidPayload,
        ErrorReason::InvalidRoom,
        ErrorReason::InvalidAccess,
        ErrorReason::InvalidSender,
        ErrorReason::InvalidPairing,
        ErrorReason::InvalidMessageId,
        ErrorReason::InvalidEncoding,
        ErrorReason::InvalidIv,
        ErrorReason::InvalidCiphertext,
        ErrorReason::MessageTooLarge,
    ]
    .into_iter()
    .collect();
    assert_eq!(reasons, decoder_reasons, "reasons reached");
    assert_eq!(events.len(), 10, "events accepted: {events:?}");
}

#[test]
fn the_model_and_the_decoder_agree_on_known_frames() {
    // The model itself, on frames whose answers the spec text states
    // outright (STD1-WIRE-10 to STD1-WIRE-14), so that a wrong model
    // cannot pass by agreeing with a wrong decoder.
    let hash = "0".repeat(64);
    let obj = |members: Vec<(&str, J)>| {
        J::Obj(
            members
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect(),
        )
    };
    let s = |v: &str| J::Str(v.to_owned());
    let r: Ref = "1".parse().expect("ref");
    let cases = [
        (J::Arr(vec![]), (None, None, ErrorReason::InvalidFrame)),
        (
            obj(vec![
                ("ref", s("1")),
                ("event", s("typing")),
                ("data", obj(vec![])),
                ("x", J::Null),
            ]),
            (Some(r.clone()), None, ErrorReason::InvalidFrame),
        ),
        (
            obj(vec![
                ("ref", s("1")),
                ("event", s("ping")),
                ("data", obj(vec![])),
            ]),
            (Some(r.clone()), None, ErrorReason::UnknownEvent),
        ),
        (
            obj(vec![
                ("ref", s("1")),
                ("event", s("join")),
                (
                    "data",
                    obj(vec![("room_hash", s("A")), ("access_hash", J::Null)]),
                ),
            ]),
            (
                Some(r.clone()),
                Some(stelgano_spec::wire::EventName::Join),
                ErrorReason::InvalidRoom,
            ),
        ),
        (
            obj(vec![
                ("ref", s("1")),
                ("event", s("join")),
                (
                    "data",
                    obj(vec![
                        ("room_hash", s(&hash)),
                        ("access_hash", s(&hash)),
                        ("sender_hash", s(&hash)),
                        ("pairing_hash", J::Null),
                    ]),
                ),
            ]),
            (
                Some(r.clone()),
                Some(stelgano_spec::wire::EventName::Join),
                ErrorReason::InvalidPayload,
            ),
        ),
        (
            obj(vec![
                ("ref", s("1")),
                ("ref", s("1")),
                ("event", s("typing")),
                ("data", obj(vec![])),
            ]),
            (None, None, ErrorReason::InvalidFrame),
        ),
    ];
    for (tree, refusal) in cases {
        let text = frames::render(&tree, &mut Choices::new(&[]));
        assert_eq!(
            frames::expected(&tree),
            Err(refusal.clone()),
            "model: {text}"
        );
        assert_eq!(
            frames::observed(decode_client_frame(&text)),
            Err(refusal),
            "decoder: {text}"
        );
    }
}

// ---------------------------------------------------------------------------
// Base64 (STD1-WIRE-18)
// ---------------------------------------------------------------------------

/// Strings near base64: the alphabet, padding, the URL-safe symbols,
/// whitespace and a non-ASCII letter, in every length.
fn base64ish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9+/=]{0,24}",
        "[A-Za-z0-9+/=_ \n\u{e9}-]{0,24}",
        // Canonical text with one symbol replaced, which mostly changes
        // the trailing bits or the padding.
        (
            prop::collection::vec(any::<u8>(), 0..=20),
            any::<Index>(),
            "[A-Za-z0-9+/=]"
        )
            .prop_map(|(bytes, at, with)| {
                let mut text: Vec<char> = b64::encode(&bytes).chars().collect();
                if !text.is_empty() {
                    let i = at.index(text.len());
                    text[i] = with.chars().next().unwrap_or('A');
                }
                text.into_iter().collect()
            }),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn base64_accepts_exactly_the_canonical_form(text in base64ish()) {
        // STD1-WIRE-18: standard alphabet, padding required, no whitespace,
        // zero unused bits; so every byte string has one encoding, and what
        // decodes re-encodes to the same text.
        let decoded = b64::decode(&text);
        prop_assert_eq!(&decoded, &syntax::base64(&text), "{:?}", text);
        if let Some(bytes) = decoded {
            prop_assert_eq!(b64::encode(&bytes), text);
        }
    }

    #[test]
    fn base64_round_trips_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..=64)) {
        // STD1-WIRE-18
        let text = b64::encode(&bytes);
        prop_assert_eq!(syntax::base64(&text), Some(bytes.clone()), "{}", text);
        prop_assert_eq!(b64::decode(&text), Some(bytes));
    }

    #[test]
    fn binary_fields_give_the_reason_of_their_first_fault(text in base64ish()) {
        // STD1-WIRE-18 (invalid_encoding first), STD1-ENC-5 (ciphertext of
        // 16 to 8192 decoded bytes), STD1-ENC-2 (IV of exactly 12).
        let bytes = syntax::base64(&text);
        let ct = Ciphertext::from_base64(&text).map(|c| c.as_bytes().to_vec());
        let iv = Iv::from_base64(&text).map(|v| v.as_bytes().to_vec());
        let (want_ct, want_iv) = match &bytes {
            None => (Err(ErrorReason::InvalidEncoding), Err(ErrorReason::InvalidEncoding)),
            Some(b) => (
                if b.len() < 16 { Err(ErrorReason::InvalidCiphertext) } else { Ok(b.clone()) },
                if b.len() == 12 { Ok(b.clone()) } else { Err(ErrorReason::InvalidIv) },
            ),
        };
        prop_assert_eq!(ct, want_ct, "{:?}", text);
        prop_assert_eq!(iv, want_iv, "{:?}", text);
    }
}

#[test]
fn ciphertext_size_bounds_are_on_decoded_bytes() {
    // STD1-ENC-5: the bounds, and their neighbours, on decoded bytes; the
    // base64 text of 8192 bytes is 10924 characters.
    for (len, want) in [
        (15, Err(ErrorReason::InvalidCiphertext)),
        (16, Ok(16)),
        (8192, Ok(8192)),
        (8193, Err(ErrorReason::MessageTooLarge)),
    ] {
        let text = b64::encode(&vec![0xa5; len]);
        assert_eq!(
            Ciphertext::from_base64(&text).map(|c| c.as_bytes().len()),
            want,
            "{len} bytes"
        );
    }
}

// ---------------------------------------------------------------------------
// Hashes, UUIDs, refs, country codes and timestamps
// ---------------------------------------------------------------------------

/// `valid` with one edit: a character replaced, inserted or removed, or
/// the whole text in upper case.
fn near(valid: String, pool: &'static [char]) -> impl Strategy<Value = String> {
    let len = valid.chars().count();
    (0..4usize, any::<Index>(), prop::sample::select(pool)).prop_map(move |(op, at, ch)| {
        let mut chars: Vec<char> = valid.chars().collect();
        let i = at.index(len + 1);
        match op {
            0 if i < len => chars[i] = ch,
            1 => chars.insert(i, ch),
            2 if i < len => {
                chars.remove(i);
            }
            3 => return valid.to_uppercase(),
            _ => {}
        }
        chars.into_iter().collect()
    })
}

const NEAR_HEX: &[char] = &[
    '0', '9', 'a', 'f', 'A', 'F', 'g', 'G', '-', ' ', '\u{e9}', '\u{ff10}', '\u{0}',
];

fn hexish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 32]>().prop_flat_map(|b| near(hex::encode(b), NEAR_HEX)),
        "[0-9a-fA-F]{62,66}",
        any::<String>(),
    ]
}

fn uuidish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 16]>().prop_flat_map(|b| near(uuid::Uuid::from_bytes(b).to_string(), NEAR_HEX)),
        any::<[u8; 16]>().prop_map(|b| uuid::Uuid::from_bytes(b).simple().to_string()),
        any::<[u8; 16]>().prop_map(|b| uuid::Uuid::from_bytes(b).braced().to_string()),
        any::<[u8; 16]>().prop_map(|b| uuid::Uuid::from_bytes(b).urn().to_string()),
        "[0-9a-f-]{34,38}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn hashes_accept_exactly_64_lowercase_hex(text in hexish()) {
        // STD1-WIRE-15, STD1-DRV-8: all four hash fields share one syntax;
        // upper case is refused, not folded; the accepted text is the
        // canonical form.
        let want = syntax::hex64(&text);
        prop_assert_eq!(text.parse::<RoomHash>().map(|h| *h.as_bytes()).ok(), want, "{:?}", text);
        prop_assert_eq!(text.parse::<AccessHash>().map(|h| *h.as_bytes()).ok(), want);
        prop_assert_eq!(text.parse::<SenderHash>().map(|h| *h.as_bytes()).ok(), want);
        prop_assert_eq!(text.parse::<PairingHash>().map(|h| *h.as_bytes()).ok(), want);
        if let Ok(h) = text.parse::<RoomHash>() {
            prop_assert_eq!(h.to_hex(), text);
        }
    }

    #[test]
    fn uuids_accept_exactly_the_lowercase_hyphenated_form(text in uuidish()) {
        // STD1-WIRE-16: any version and variant bits, only the one spelling.
        let want = syntax::uuid(&text);
        let message = text.parse::<MessageId>();
        prop_assert_eq!(message.map(|m| *m.as_uuid().as_bytes()).ok(), want, "{:?}", text);
        prop_assert_eq!(text.parse::<RoomId>().map(|r| *r.as_uuid().as_bytes()).ok(), want);
        if let Ok(m) = message {
            prop_assert_eq!(m.to_string(), text);
        }
    }

    #[test]
    fn refs_accept_exactly_1_to_64_printable_ascii(text in prop_oneof![
        "[!-~]{0,66}",
        "[ -~\u{7f}\u{a0}\u{e9}]{0,66}",
        any::<String>(),
    ]) {
        // STD1-WIRE-9: echoed unchanged, so what is accepted is kept as sent.
        let parsed = text.parse::<Ref>();
        prop_assert_eq!(parsed.is_ok(), syntax::is_ref(&text), "{:?}", text);
        if let Ok(r) = parsed {
            prop_assert_eq!(r.as_str(), text.as_str());
        }
    }

    #[test]
    fn country_codes_accept_exactly_two_capitals(text in prop_oneof![
        "[A-Za-z0-9]{0,3}",
        "[A-Z\u{c9}\u{ff21}]{1,3}",
        any::<String>(),
    ]) {
        // STD1-WIRE-17
        let parsed = text.parse::<CountryCode>();
        prop_assert_eq!(parsed.is_ok(), syntax::is_country(&text), "{:?}", text);
        if let Ok(c) = parsed {
            prop_assert_eq!(c.as_str(), text.as_str());
        }
    }

    #[test]
    fn timestamps_accept_exactly_the_one_layout(text in prop_oneof![
        (0i64..=253_402_300_799).prop_flat_map(|s| {
            let valid = Timestamp::from_unix(s).map(|t| t.to_string()).unwrap_or_default();
            near(valid, &['0', '1', '2', '3', '5', '9', 'T', 'Z', 't', 'z', '-', ':', '.', '+', ' '])
        }),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        any::<String>(),
    ]) {
        // STD1-WIRE-19: UTC, whole seconds, exactly `YYYY-MM-DDTHH:MM:SSZ`,
        // 1970 to 9999; what is accepted prints back as itself.
        let parsed = text.parse::<Timestamp>();
        prop_assert_eq!(parsed.is_ok(), syntax::is_timestamp(&text), "{:?}", text);
        if let Ok(t) = parsed {
            prop_assert_eq!(t.to_string(), text);
        }
    }
}
