//! Property tests of the executable specification: encryption, normalisation,
//! derivation, the client-frame decoder, server frames and pairing codes.
//!
//! Case counts are kept modest so the file runs in a few seconds in a dev
//! build. PBKDF2 (600,000 iterations) is never called here: keys are
//! arbitrary bytes wrapped with `EncKey::from_bytes`.

use proptest::prelude::*;
use proptest::sample::Index;
use stelgano_spec::ErrorReason;
use stelgano_spec::constants::{
    IV_BYTES, MAX_CIPHERTEXT_BYTES, MAX_PHONE_DIGITS, MAX_PLAINTEXT_BYTES, MIN_CIPHERTEXT_BYTES,
    MIN_PHONE_DIGITS, TAG_BYTES,
};
use stelgano_spec::crypto::{CryptoError, Sealed, open, seal, seal_with_iv};
use stelgano_spec::derive::{EncKey, PartyHashes, Phone, Pin, access_hash, room_hash, sender_hash};
use stelgano_spec::digits::DECIMAL_DIGIT_ZEROS;
use stelgano_spec::ids::{
    AccessHash, CountryCode, MessageId, PairingHash, Ref, RoomHash, RoomId, SenderHash,
};
use stelgano_spec::normalise::{
    is_pin_trim_char, normalise_phone, normalise_pin, validate_phone, validate_pin,
};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, ClientFrame, CreateRoom, DeleteMessage, Done, EditMessage,
    ErrorBody, ErrorReply, ExpiryCause, Iv, JoinRoom, Joined, Message, OkReply, ReadReceipt,
    ReopenPairing, ReplyBody, ResetPairing, SendMessage, Sent, ServerFrame, Timestamp,
    decode_client_frame,
};

/// `cases` test cases, or `$PROPTEST_CASES` when set (for a longer run, e.g.
/// `PROPTEST_CASES=100000 cargo test --release --test properties`).
/// `ProptestConfig::with_cases` alone would ignore the variable.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        // Integration tests have no lib.rs for proptest's default location;
        // keep failing cases next to this file so they replay on every run.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::with_cases(cases)
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn enc_key() -> impl Strategy<Value = EncKey> {
    any::<[u8; 32]>().prop_map(EncKey::from_bytes)
}

/// Truncates `s` to at most `max` UTF-8 bytes, at a character boundary.
fn truncate_to_bytes(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Arbitrary UTF-8 text of at most `MAX_PLAINTEXT_BYTES` bytes: mostly
/// short, sometimes filling the whole budget (up to the last byte).
fn plaintext() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(any::<char>(), 0..=64),
        1 => prop::collection::vec(any::<char>(), 0..=MAX_PLAINTEXT_BYTES),
        1 => prop::collection::vec(prop::char::range('\0', '\u{7f}'), MAX_PLAINTEXT_BYTES - 8..=MAX_PLAINTEXT_BYTES),
    ]
    .prop_map(|chars| truncate_to_bytes(chars.into_iter().collect(), MAX_PLAINTEXT_BYTES))
}

/// Characters that exercise the normalisers: whitespace that is trimmed,
/// decimal digits of every script, combining marks, Hangul jamo, characters
/// with canonical decompositions, and anything else.
fn tricky_char() -> impl Strategy<Value = char> {
    let trim = prop::sample::select(
        ('\0'..=char::MAX)
            .filter(|&c| is_pin_trim_char(c))
            .collect::<Vec<char>>(),
    );
    let digit = (prop::sample::select(DECIMAL_DIGIT_ZEROS.to_vec()), 0u32..10)
        .prop_map(|(zero, v)| char::from_u32(zero + v).expect("table holds scalar values"));
    prop_oneof![
        3 => any::<char>(),
        2 => prop::char::range(' ', '~'),
        2 => trim,
        2 => digit,
        // Combining diacritical marks.
        2 => prop::char::range('\u{300}', '\u{36f}'),
        // Latin letters that compose with those marks, and precomposed ones.
        1 => prop::char::range('A', 'z'),
        1 => prop::char::range('\u{c0}', '\u{17f}'),
        // Hangul conjoining jamo and syllables (algorithmic composition).
        1 => prop::char::range('\u{1100}', '\u{11ff}'),
        1 => prop::char::range('\u{ac00}', '\u{ac40}'),
        // Vowel signs that compose with a preceding starter (Oriya, Kannada,
        // Malayalam, Myanmar, Balinese) next to those scripts' digits.
        1 => prop::sample::select(vec![
            '\u{b3e}', '\u{b47}', '\u{b56}', '\u{b57}', '\u{cbf}', '\u{cd5}', '\u{cd6}', '\u{d3e}',
            '\u{d46}', '\u{d57}', '\u{1025}', '\u{102e}', '\u{1b05}', '\u{1b35}',
        ]),
        // Singletons and characters with canonical decompositions.
        1 => prop::sample::select(vec![
            '\u{2000}', '\u{2001}', '\u{212b}', '\u{2126}', '\u{f900}', '\u{0340}', '\u{0344}',
            '\u{1e9b}', '\u{fb2c}', '\u{2f800}',
        ]),
    ]
}

fn tricky_string(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..=max_chars).prop_map(|v| v.into_iter().collect())
}

/// A structurally valid steg number, as a user might type it.
fn typed_phone() -> impl Strategy<Value = String> {
    (
        1u8..=9,
        prop::collection::vec(0u8..=9, MIN_PHONE_DIGITS - 1..=MAX_PHONE_DIGITS - 1),
        prop::collection::vec(
            prop::sample::select(vec!["", "", "", " ", "-", ".", "(", ")"]),
            MAX_PHONE_DIGITS,
        ),
        any::<bool>(),
    )
        .prop_map(|(first, rest, seps, plus)| {
            let mut s = String::from(if plus { "+" } else { "" });
            s.push(char::from(b'0' + first));
            for (d, sep) in rest.iter().zip(seps) {
                s.push_str(sep);
                s.push(char::from(b'0' + d));
            }
            s
        })
}

fn valid_phone() -> impl Strategy<Value = Phone> {
    typed_phone().prop_map(|s| Phone::parse(&s).expect("generated numbers are valid"))
}

fn valid_pin() -> impl Strategy<Value = Pin> {
    prop_oneof![
        prop::collection::vec(prop::char::range('0', '9'), 4..=8).prop_map(String::from_iter),
        tricky_string(70),
    ]
    .prop_filter_map("not a valid PIN", |s| Pin::parse(&s).ok())
}

fn hash_bytes() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn room_hash_s() -> impl Strategy<Value = RoomHash> {
    hash_bytes().prop_map(RoomHash::from_bytes)
}

fn access_hash_s() -> impl Strategy<Value = AccessHash> {
    hash_bytes().prop_map(AccessHash::from_bytes)
}

fn sender_hash_s() -> impl Strategy<Value = SenderHash> {
    hash_bytes().prop_map(SenderHash::from_bytes)
}

fn pairing_hash_s() -> impl Strategy<Value = PairingHash> {
    hash_bytes().prop_map(PairingHash::from_bytes)
}

/// Any UUID at all, not only version 4: the wire syntax is the canonical
/// text form (STD1-WIRE-16), whatever the bits.
fn message_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 16]>().prop_map(|b| MessageId::from_uuid(uuid::Uuid::from_bytes(b)))
}

fn room_id() -> impl Strategy<Value = RoomId> {
    any::<[u8; 16]>().prop_map(|b| RoomId::from_uuid(uuid::Uuid::from_bytes(b)))
}

fn reference() -> impl Strategy<Value = Ref> {
    prop::collection::vec(0x21u8..=0x7e, 1..=64).prop_map(|bytes| {
        String::from_utf8(bytes)
            .expect("ASCII")
            .parse::<Ref>()
            .expect("printable ASCII of 1 to 64 characters is a ref")
    })
}

fn country() -> impl Strategy<Value = CountryCode> {
    "[A-Z]{2}".prop_map(|s| s.parse::<CountryCode>().expect("two capitals"))
}

/// Ciphertexts of `MIN_CIPHERTEXT_BYTES..=max` bytes, with the bounds likely.
fn ciphertext(max: usize) -> impl Strategy<Value = Ciphertext> {
    prop_oneof![
        prop::collection::vec(
            any::<u8>(),
            MIN_CIPHERTEXT_BYTES..=MIN_CIPHERTEXT_BYTES + 48
        ),
        prop::collection::vec(any::<u8>(), MIN_CIPHERTEXT_BYTES..=max),
        prop::collection::vec(
            any::<u8>(),
            max.saturating_sub(48).max(MIN_CIPHERTEXT_BYTES)..=max
        ),
    ]
    .prop_map(|b| Ciphertext::from_bytes(b).expect("length in range"))
}

fn iv() -> impl Strategy<Value = Iv> {
    any::<[u8; IV_BYTES]>().prop_map(Iv::from_array)
}

/// Every client event with arbitrary valid payloads, optional members
/// present or absent (STD1-WIRE-13).
fn client_event(max_ct: usize) -> impl Strategy<Value = ClientEvent> {
    prop_oneof![
        (
            room_hash_s(),
            access_hash_s(),
            sender_hash_s(),
            pairing_hash_s(),
            prop::option::of(country())
        )
            .prop_map(
                |(room_hash, access_hash, sender_hash, pairing_hash, country_iso)| {
                    ClientEvent::Create(CreateRoom {
                        room_hash,
                        access_hash,
                        sender_hash,
                        pairing_hash,
                        country_iso,
                    })
                }
            ),
        (
            room_hash_s(),
            access_hash_s(),
            sender_hash_s(),
            prop::option::of(pairing_hash_s())
        )
            .prop_map(|(room_hash, access_hash, sender_hash, pairing_hash)| {
                ClientEvent::Join(JoinRoom {
                    room_hash,
                    access_hash,
                    sender_hash,
                    pairing_hash,
                })
            }),
        (ciphertext(max_ct), iv(), prop::option::of(message_id())).prop_map(
            |(ciphertext, iv, replaces)| {
                ClientEvent::SendMessage(SendMessage {
                    ciphertext,
                    iv,
                    replaces,
                })
            }
        ),
        message_id().prop_map(|message_id| ClientEvent::ReadReceipt(ReadReceipt { message_id })),
        (message_id(), ciphertext(max_ct), iv()).prop_map(|(message_id, ciphertext, iv)| {
            ClientEvent::EditMessage(EditMessage {
                message_id,
                ciphertext,
                iv,
            })
        }),
        message_id()
            .prop_map(|message_id| ClientEvent::DeleteMessage(DeleteMessage { message_id })),
        Just(ClientEvent::Typing),
        Just(ClientEvent::ExpireRoom),
        pairing_hash_s()
            .prop_map(|pairing_hash| ClientEvent::ResetPairing(ResetPairing { pairing_hash })),
        pairing_hash_s()
            .prop_map(|pairing_hash| ClientEvent::ReopenPairing(ReopenPairing { pairing_hash })),
    ]
}

fn client_frame(max_ct: usize) -> impl Strategy<Value = ClientFrame> {
    (reference(), client_event(max_ct))
        .prop_map(|(reference, event)| ClientFrame { reference, event })
}

/// 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (STD1-WIRE-19).
fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![Just(0i64), Just(253_402_300_799i64), 0i64..=253_402_300_799,]
        .prop_map(|s| Timestamp::from_unix(s).expect("in range"))
}

fn message(max_ct: usize) -> impl Strategy<Value = Message> {
    (
        message_id(),
        sender_hash_s(),
        ciphertext(max_ct),
        iv(),
        timestamp(),
        prop::option::of(timestamp()),
        any::<bool>(),
    )
        .prop_map(
            |(id, sender_hash, ciphertext, iv, sent_at, read_at, edited)| Message {
                id,
                sender_hash,
                ciphertext,
                iv,
                sent_at,
                read_at,
                edited,
            },
        )
}

/// An error body whose extra members are exactly those its reason takes (STD1-WIRE-28).
fn error_body() -> impl Strategy<Value = ErrorBody> {
    (
        prop::sample::select(ErrorReason::ALL.to_vec()),
        1u32..=u32::MAX,
    )
        .prop_map(|(reason, n)| {
            let mut body = ErrorBody::plain(reason);
            match reason.detail() {
                stelgano_spec::reason::ErrorDetail::None => {}
                stelgano_spec::reason::ErrorDetail::AttemptsRemaining => {
                    body.attempts_remaining = Some(n);
                }
                stelgano_spec::reason::ErrorDetail::RetryAfter => body.retry_after = Some(n),
            }
            body
        })
}

fn broadcast(max_ct: usize) -> impl Strategy<Value = Broadcast> {
    prop_oneof![
        message(max_ct).prop_map(Broadcast::NewMessage),
        (message_id(), timestamp()).prop_map(|(message_id, read_at)| Broadcast::MessageRead {
            message_id,
            read_at
        }),
        (message_id(), ciphertext(max_ct), iv()).prop_map(|(message_id, ciphertext, iv)| {
            Broadcast::MessageEdited {
                message_id,
                ciphertext,
                iv,
            }
        }),
        message_id().prop_map(|message_id| Broadcast::MessageDeleted { message_id }),
        Just(Broadcast::CounterpartyTyping {}),
        Just(Broadcast::PartyPaired {}),
        timestamp().prop_map(|locked_until| Broadcast::RoomLocked { locked_until }),
        prop_oneof![Just(ExpiryCause::Party), Just(ExpiryCause::Ttl)]
            .prop_map(|cause| Broadcast::RoomExpired { cause }),
    ]
}

fn server_frame(max_ct: usize) -> impl Strategy<Value = ServerFrame> {
    let joined = (
        room_id(),
        timestamp(),
        any::<bool>(),
        prop::option::of(message(max_ct)),
    )
        .prop_map(
            |(room_id, ttl_expires_at, awaiting_party, current_message)| {
                ReplyBody::Joined(Joined {
                    room_id,
                    ttl_expires_at,
                    awaiting_party,
                    current_message,
                })
            },
        );
    let body = prop_oneof![
        joined,
        message_id().prop_map(|message_id| ReplyBody::Sent(Sent { message_id })),
        Just(ReplyBody::Done(Done {})),
    ];
    prop_oneof![
        (reference(), body).prop_map(|(reference, ok)| ServerFrame::Ok(OkReply { reference, ok })),
        (reference(), error_body()).prop_map(|(reference, error)| ServerFrame::Error(ErrorReply {
            reference: Some(reference),
            error
        })),
        // A null ref comes only with invalid_frame (STD1-WIRE-11).
        Just(ServerFrame::Error(ErrorReply {
            reference: None,
            error: ErrorBody::plain(ErrorReason::InvalidFrame)
        })),
        broadcast(max_ct).prop_map(ServerFrame::Broadcast),
    ]
}

// ---------------------------------------------------------------------------
// Decoder invariants
// ---------------------------------------------------------------------------

/// The reasons the frame decoder may give (STD1-WIRE-10 to STD1-WIRE-14,
/// STD1-ENC-5, STD1-WIRE-18); session and room reasons come later, from the server.
const DECODER_REASONS: [ErrorReason; 12] = [
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
];

/// What must hold of the decoder's answer to any text (STD1-SRV-19): it
/// returns (no panic), an error carries a decoder reason with the `ref` and
/// event learnt so far, and an accepted frame re-encodes to itself.
fn check_decoder(text: &str) -> Result<(), TestCaseError> {
    match decode_client_frame(text) {
        Ok(frame) => {
            let again = decode_client_frame(&frame.to_json());
            prop_assert_eq!(
                again,
                Ok(frame),
                "accepted frame does not round-trip: {:?}",
                text
            );
        }
        Err(e) => {
            prop_assert!(
                DECODER_REASONS.contains(&e.reason),
                "reason {} is not a decoder reason for {:?}",
                e.reason,
                text
            );
            match e.reason {
                // STD1-WIRE-10 to STD1-WIRE-12: the event is not known yet.
                ErrorReason::InvalidFrame => prop_assert!(e.event.is_none()),
                // STD1-WIRE-13: the ref was valid, the event is not known.
                ErrorReason::UnknownEvent => {
                    prop_assert!(e.event.is_none() && e.reference.is_some());
                }
                // STD1-WIRE-14: payload errors know both.
                _ => prop_assert!(e.event.is_some() && e.reference.is_some()),
            }
            // STD1-WIRE-10, STD1-WIRE-11: text that is not a JSON object gets
            // invalid_frame with a null ref.
            let is_object =
                serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object());
            if !is_object {
                prop_assert_eq!(e.reason, ErrorReason::InvalidFrame);
                prop_assert!(e.reference.is_none());
            }
        }
    }
    Ok(())
}

/// One edit of a frame's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Delete(Index),
    Insert(Index, u8),
    InsertToken(Index, &'static str),
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "null",
    "true",
    "0",
    "-1e999",
    "1e400",
    "\"\"",
    "\"x\"",
    "\\u0000",
    "\\ud800",
    "\\u0061",
    " ",
    "\u{feff}",
    "\u{1F512}",
    "\"ref\":\"1\",",
    "\"event\":\"typing\",",
    "\"data\":{},",
    "\"replaces\":null,",
    "\"iv\":\"AAAAAAAAAAAAAAAA\",",
    "\"country_iso\":\"KE\",",
    "==",
    "=",
    "A",
    "/",
    "+",
    "-",
    "_",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => any::<Index>().prop_map(Mutation::Delete),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        3 => (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::Flip(i, x) if len > 0 => bytes[i.index(len)] ^= x,
        Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
        Mutation::Delete(i) if len > 0 => {
            bytes.remove(i.index(len));
        }
        Mutation::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
        Mutation::InsertToken(i, t) => {
            let at = i.index(len + 1);
            bytes.splice(at..at, t.bytes());
        }
        Mutation::Flip(..) | Mutation::Delete(_) => {}
    }
}

/// Values to put in a frame's members: every JSON type, and strings just
/// inside and just outside each field's syntax.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let b64_len = prop_oneof![0usize..=20, 8190usize..=8194];
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!(1.5)),
        Just(json!({})),
        Just(json!([])),
        Just(json!({"x": null})),
        Just(json!(["1"])),
        // Canonical base64 of every length around the IV and ciphertext bounds.
        (b64_len, any::<u8>())
            .prop_map(|(n, b)| Value::String(stelgano_spec::b64::encode(&vec![b; n]))),
        // Almost-base64.
        "[A-Za-z0-9+/=_ -]{0,24}".prop_map(Value::String),
        // Hashes: right and wrong lengths, lower and upper case.
        "[0-9a-fA-F]{63,65}".prop_map(Value::String),
        "[0-9a-f]{64}".prop_map(Value::String),
        // UUIDs in canonical and other spellings.
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Value::String),
        "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
            .prop_map(Value::String),
        // Refs, country codes and event names, valid and not.
        "[ -~]{0,66}".prop_map(Value::String),
        "[A-Za-z]{1,3}".prop_map(Value::String),
        prop::sample::select(
            stelgano_spec::wire::EventName::ALL
                .iter()
                .map(|e| e.as_str())
                .chain(["", "Create", "new_message", "ping"])
                .collect::<Vec<_>>()
        )
        .prop_map(|s| Value::String(s.to_owned())),
        any::<String>().prop_map(Value::String),
    ]
}

/// Member names, known and unknown.
const MEMBER_NAMES: &[&str] = &[
    "event",
    "ref",
    "data",
    "room_hash",
    "access_hash",
    "sender_hash",
    "pairing_hash",
    "country_iso",
    "ciphertext",
    "iv",
    "replaces",
    "message_id",
    "x",
    "",
    "Ref",
    "id",
];

/// One edit of a frame's JSON structure: the outer object or `data`.
#[derive(Debug, Clone)]
enum Edit {
    Replace {
        in_data: bool,
        member: Index,
        value: serde_json::Value,
    },
    Remove {
        in_data: bool,
        member: Index,
    },
    Add {
        in_data: bool,
        name: &'static str,
        value: serde_json::Value,
    },
    Rename {
        in_data: bool,
        member: Index,
        name: &'static str,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    let name = prop::sample::select(MEMBER_NAMES);
    prop_oneof![
        3 => (any::<bool>(), any::<Index>(), json_value())
            .prop_map(|(in_data, member, value)| Edit::Replace { in_data, member, value }),
        1 => (any::<bool>(), any::<Index>()).prop_map(|(in_data, member)| Edit::Remove { in_data, member }),
        1 => (any::<bool>(), name.clone(), json_value())
            .prop_map(|(in_data, name, value)| Edit::Add { in_data, name, value }),
        1 => (any::<bool>(), any::<Index>(), name)
            .prop_map(|(in_data, member, name)| Edit::Rename { in_data, member, name }),
    ]
}

fn apply_edit(frame: &mut serde_json::Value, e: &Edit) {
    let in_data = match e {
        Edit::Replace { in_data, .. }
        | Edit::Remove { in_data, .. }
        | Edit::Add { in_data, .. }
        | Edit::Rename { in_data, .. } => *in_data,
    };
    let target = if in_data {
        frame.get_mut("data")
    } else {
        Some(&mut *frame)
    };
    let Some(serde_json::Value::Object(map)) = target else {
        return;
    };
    let pick = |member: &Index, map: &serde_json::Map<String, serde_json::Value>| {
        (!map.is_empty())
            .then(|| map.keys().nth(member.index(map.len())).cloned())
            .flatten()
    };
    match e {
        Edit::Replace { member, value, .. } => {
            if let Some(k) = pick(member, map) {
                map.insert(k, value.clone());
            }
        }
        Edit::Remove { member, .. } => {
            if let Some(k) = pick(member, map) {
                map.shift_remove(&k);
            }
        }
        Edit::Add { name, value, .. } => {
            map.insert((*name).to_owned(), value.clone());
        }
        Edit::Rename { member, name, .. } => {
            if let Some(k) = pick(member, map)
                && let Some(v) = map.shift_remove(&k)
            {
                map.insert((*name).to_owned(), v);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Encryption (STD1-ENC-*)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn seal_then_open_round_trips(key in enc_key(), iv in any::<[u8; IV_BYTES]>(), text in plaintext()) {
        // STD1-ENC-1: AES-256-GCM over UTF-8 plaintext up to the limit of
        // STD1-ENC-6; STD1-ENC-3: the ciphertext field is ciphertext ‖ 16-byte tag.
        let sealed = seal_with_iv(&key, iv, &text).expect("within the plaintext limit");
        prop_assert_eq!(sealed.iv, iv);
        prop_assert_eq!(sealed.ciphertext.len(), text.len() + TAG_BYTES);
        prop_assert!(sealed.ciphertext.len() <= MAX_CIPHERTEXT_BYTES);
        prop_assert_eq!(open(&key, &sealed), Ok(text.clone()));

        let fresh = seal(&key, &text).expect("within the plaintext limit");
        prop_assert_eq!(open(&key, &fresh), Ok(text));
    }

    #[test]
    fn plaintext_over_the_limit_is_refused(key in enc_key(), extra in prop::collection::vec(any::<char>(), 1..=8)) {
        // STD1-ENC-6: the limit is in UTF-8 bytes.
        let mut text = "a".repeat(MAX_PLAINTEXT_BYTES);
        text.extend(extra);
        prop_assert_eq!(seal(&key, &text), Err(CryptoError::PlaintextTooLarge));
    }

    #[test]
    fn any_single_bit_flip_fails_authentication(
        key in enc_key(),
        iv in any::<[u8; IV_BYTES]>(),
        text in prop::collection::vec(any::<char>(), 0..=64).prop_map(String::from_iter),
        bit in any::<Index>(),
    ) {
        // STD1-ENC-4: a flip anywhere in the IV, the ciphertext or the tag is
        // an authentication failure, and nothing of the plaintext is returned.
        let sealed = seal_with_iv(&key, iv, &text).expect("short plaintext");
        let total_bits = (IV_BYTES + sealed.ciphertext.len()) * 8;
        let bit = bit.index(total_bits);
        let mut tampered: Sealed = sealed.clone();
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        if byte < IV_BYTES {
            tampered.iv[byte] ^= mask;
        } else {
            tampered.ciphertext[byte - IV_BYTES] ^= mask;
        }
        prop_assert_eq!(open(&key, &tampered), Err(CryptoError::Authentication));
    }

    #[test]
    fn a_different_key_fails_authentication(
        key in enc_key(),
        other in enc_key(),
        iv in any::<[u8; IV_BYTES]>(),
        text in prop::collection::vec(any::<char>(), 0..=64).prop_map(String::from_iter),
    ) {
        // STD1-ENC-4
        prop_assume!(key.as_bytes() != other.as_bytes());
        let sealed = seal_with_iv(&key, iv, &text).expect("short plaintext");
        prop_assert_eq!(open(&other, &sealed), Err(CryptoError::Authentication));
    }
}

// ---------------------------------------------------------------------------
// Normalisation and derivation (STD1-DRV-*)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn normalise_phone_is_idempotent_and_ascii_digits(raw in tricky_string(40)) {
        // STD1-DRV-2 (and the digit folding of STD1-DRV-1).
        let once = normalise_phone(&raw);
        prop_assert!(once.bytes().all(|b| b.is_ascii_digit()), "{:?} -> {:?}", raw, once);
        prop_assert_eq!(normalise_phone(&once), once.clone());
        // Validation depends only on the normal form.
        prop_assert_eq!(Phone::parse(&raw).is_ok(), validate_phone(&once).is_ok());
    }

    #[test]
    fn normalise_pin_is_idempotent(raw in tricky_string(40)) {
        // STD1-DRV-3
        let once = normalise_pin(&raw);
        prop_assert_eq!(normalise_pin(&once), once.clone(), "raw {:?}", raw);
        prop_assert!(!once.starts_with(is_pin_trim_char) && !once.ends_with(is_pin_trim_char));
        prop_assert_eq!(Pin::parse(&raw).is_ok(), validate_pin(&once).is_ok());
        if let Ok(pin) = Pin::parse(&raw) {
            prop_assert_eq!(pin.as_str(), once.as_str());
        }
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn derived_hashes_are_64_lowercase_hex(phone in valid_phone(), pin in valid_pin()) {
        // STD1-DRV-8 (over the formulas of STD1-DRV-4 to STD1-DRV-6).
        let room = room_hash(&phone);
        let access = access_hash(&phone, &pin);
        let sender = sender_hash(&phone, &access, &room);
        for hex in [room.to_hex(), access.to_hex(), sender.to_hex()] {
            prop_assert!(is_hex64(&hex), "{:?}", hex);
        }
        prop_assert_eq!(room.to_string(), room.to_hex());
        prop_assert_eq!(room.to_hex().parse::<RoomHash>(), Ok(room));
        prop_assert_eq!(access.to_hex().parse::<AccessHash>(), Ok(access));
        prop_assert_eq!(sender.to_hex().parse::<SenderHash>(), Ok(sender));
        let ids = PartyHashes::derive(&phone, &pin);
        prop_assert_eq!((ids.room_hash, ids.access_hash, ids.sender_hash), (room, access, sender));
    }

    #[test]
    fn formatting_does_not_change_the_room(typed in typed_phone()) {
        // STD1-DRV-2: separators and the `+` are not part of the number.
        let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
        let a = Phone::parse(&typed).expect("valid");
        let b = Phone::parse(&digits).expect("valid");
        prop_assert_eq!(a.digits(), digits.as_str());
        prop_assert_eq!(room_hash(&a), room_hash(&b));
    }
}

// ---------------------------------------------------------------------------
// Frames (STD1-WIRE-*)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn client_frames_round_trip(frame in client_frame(MAX_CIPHERTEXT_BYTES)) {
        // STD1-WIRE-7 (request shape), STD1-WIRE-13 (all nine events),
        // STD1-WIRE-14 (payloads), STD1-WIRE-9 (ref syntax).
        let json = frame.to_json();
        prop_assert_eq!(decode_client_frame(&json), Ok(frame.clone()), "{}", json);
        // The canonical text is stable.
        prop_assert_eq!(decode_client_frame(&json).map(|f| f.to_json()), Ok(json));
    }

    #[test]
    fn server_frames_round_trip(frame in server_frame(MAX_CIPHERTEXT_BYTES)) {
        // STD1-WIRE-26 (ok payloads), STD1-WIRE-28 (error extras),
        // STD1-WIRE-29 (broadcasts), STD1-WIRE-8 (shapes).
        let json = frame.to_json();
        prop_assert_eq!(ServerFrame::from_json(&json), Some(frame.clone()), "{}", json);
    }

    #[test]
    fn error_extras_not_matching_the_reason_are_refused(
        reference in reference(),
        reason in prop::sample::select(ErrorReason::ALL.to_vec()),
        attempts in prop::option::of(0u32..=3),
        retry in prop::option::of(0u32..=3),
    ) {
        // STD1-WIRE-28, spelled out rather than through ErrorBody::is_well_formed:
        // attempts_remaining (>= 1) goes with unauthorized and pairing_invalid
        // only, retry_after (>= 1) with locked and rate_limited only.
        let takes_attempts = matches!(reason, ErrorReason::Unauthorized | ErrorReason::PairingInvalid);
        let takes_retry = matches!(reason, ErrorReason::Locked | ErrorReason::RateLimited);
        let expected_valid = match (attempts, retry) {
            (None, None) => !takes_attempts && !takes_retry,
            (Some(n), None) => takes_attempts && n >= 1,
            (None, Some(s)) => takes_retry && s >= 1,
            (Some(_), Some(_)) => false,
        };
        let error = ErrorBody { reason, attempts_remaining: attempts, retry_after: retry };
        let frame = ServerFrame::Error(ErrorReply { reference: Some(reference), error });
        let decoded = ServerFrame::from_json(&frame.to_json());
        prop_assert_eq!(decoded.is_some(), expected_valid, "{}", frame.to_json());
        if expected_valid {
            prop_assert_eq!(decoded, Some(frame));
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn decoder_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..=512)) {
        // STD1-SRV-19: frames arrive as text; invalid UTF-8 is the WebSocket
        // layer's concern (STD1-WIRE-3), so the bytes are read lossily here.
        check_decoder(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn decoder_survives_arbitrary_token_soup(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..=40),
    ) {
        // STD1-SRV-19
        check_decoder(&tokens.concat())?;
    }

    #[test]
    fn decoder_survives_mutated_frames(
        frame in client_frame(96),
        mutations in prop::collection::vec(mutation(), 1..=4),
    ) {
        // STD1-SRV-19: byte flips, truncations, deletions and insertions of
        // valid frames.
        let mut bytes = frame.to_json().into_bytes();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check_decoder(&String::from_utf8_lossy(&bytes))?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn decoder_survives_edited_frames(
        frame in client_frame(96),
        edits in prop::collection::vec(edit(), 1..=3),
    ) {
        // STD1-SRV-19, and STD1-WIRE-12 to STD1-WIRE-14: members removed,
        // added, renamed or given values of the wrong type or syntax still
        // get one of the decoder's reasons.
        let mut value: serde_json::Value =
            serde_json::from_str(&frame.to_json()).expect("to_json writes JSON");
        for e in &edits {
            apply_edit(&mut value, e);
        }
        check_decoder(&value.to_string())?;
    }
}

// ---------------------------------------------------------------------------
// Pairing codes (STD1-JOIN-10 to STD1-JOIN-13)
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn pairing_code_display_parses_back(bytes in any::<[u8; 8]>()) {
        // STD1-JOIN-12, STD1-JOIN-13: the display form, in either case, is
        // read back as the same code, with the same hash (STD1-JOIN-11).
        let code = PairingCode::from_random_bytes(bytes);
        let display = code.display();
        prop_assert_eq!(display.len(), 9);
        prop_assert_eq!(PairingCode::parse(&display), Ok(code.clone()));
        prop_assert_eq!(PairingCode::parse(&display.to_lowercase()), Ok(code.clone()));
        prop_assert_eq!(PairingCode::parse(code.as_str()), Ok(code.clone()));
        let reparsed = PairingCode::parse(&display.to_lowercase()).expect("parsed above");
        prop_assert_eq!(reparsed.hash(), code.hash());
    }
}
