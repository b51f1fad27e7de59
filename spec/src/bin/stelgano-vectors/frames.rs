//! `frames.json`: the catalogue of client frames, valid and invalid, with
//! the outcome the strict decoder must give each (STD1-WIRE-7 to
//! STD1-WIRE-19), and canonical encodings of server frames.

use serde_json::{Map, Value, json};

use stelgano_spec::constants::{MAX_CIPHERTEXT_BYTES, MIN_CIPHERTEXT_BYTES};
use stelgano_spec::ids::MessageId;
use stelgano_spec::reason::ErrorReason::{self, *};
use stelgano_spec::wire::{
    Broadcast, Done, ErrorBody, ErrorReply, EventName, ExpiryCause, Joined, Message, OkReply,
    ReplyBody, Sent, ServerFrame, Timestamp, decode_client_frame,
};

const ROOM: &str = "183961933c251543088257984b33a7ce9dabc2be9b7a571bd93d727a920ff133";
const ACCESS: &str = "8f61a01d389dbc1081f2f662689e74f5b1a7a0bf54e51349c57520a0b98c89bf";
const SENDER: &str = "1ce37b2a69c126e32cf3b494e2fe5244dcdcac40f8d05ca7ec10543a63d9bcdd";
const PAIRING: &str = "0dc598ee785bee1b860406516fe243b76c2e034619c918ad1c70cf074dace9d9";
const MESSAGE_ID: &str = "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6";
const ROOM_ID: &str = "00000000-0000-0000-0000-000000000000";
/// The upstream "hello" ciphertext (encryption.json case 1).
const CIPHERTEXT: &str = "dgi5gPHasZ0KiI0G2GX9rr8bNe7h";
const IV: &str = "AAECAwQFBgcICQoL";

/// The JSON type of a field, which fixes the wrong-type probes.
#[derive(Clone, Copy)]
enum Kind {
    /// 64 lowercase hex characters; the reason for bad syntax.
    Hash(ErrorReason),
    /// A canonical UUID.
    Uuid,
    /// A canonical UUID or null.
    NullableUuid,
    Ciphertext,
    Iv,
    Country,
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
    valid: &'static str,
}

const fn field(name: &'static str, kind: Kind, required: bool, valid: &'static str) -> Field {
    Field {
        name,
        kind,
        required,
        valid,
    }
}

/// Each event's fields in checking order (the tables of spec §7.4).
fn fields(event: EventName) -> Vec<Field> {
    use Kind::*;
    match event {
        EventName::Create => vec![
            field("room_hash", Hash(InvalidRoom), true, ROOM),
            field("access_hash", Hash(InvalidAccess), true, ACCESS),
            field("sender_hash", Hash(InvalidSender), true, SENDER),
            field("pairing_hash", Hash(InvalidPairing), true, PAIRING),
            field("country_iso", Country, false, "KE"),
        ],
        EventName::Join => vec![
            field("room_hash", Hash(InvalidRoom), true, ROOM),
            field("access_hash", Hash(InvalidAccess), true, ACCESS),
            field("sender_hash", Hash(InvalidSender), true, SENDER),
            field("pairing_hash", Hash(InvalidPairing), false, PAIRING),
        ],
        EventName::SendMessage => vec![
            field("ciphertext", Ciphertext, true, CIPHERTEXT),
            field("iv", Iv, true, IV),
            field("replaces", NullableUuid, true, MESSAGE_ID),
        ],
        EventName::ReadReceipt | EventName::DeleteMessage => {
            vec![field("message_id", Uuid, true, MESSAGE_ID)]
        }
        EventName::EditMessage => vec![
            field("message_id", Uuid, true, MESSAGE_ID),
            field("ciphertext", Ciphertext, true, CIPHERTEXT),
            field("iv", Iv, true, IV),
        ],
        EventName::Typing | EventName::ExpireRoom => vec![],
        EventName::ResetPairing | EventName::ReopenPairing => {
            vec![field("pairing_hash", Hash(InvalidPairing), true, PAIRING)]
        }
    }
}

fn valid_data(event: EventName) -> Map<String, Value> {
    fields(event)
        .into_iter()
        .map(|f| (f.name.to_owned(), Value::from(f.valid)))
        .collect()
}

fn frame_text(event: &str, data: &Map<String, Value>) -> String {
    format!(
        r#"{{"event":{},"ref":"7","data":{}}}"#,
        json!(event),
        Value::Object(data.clone())
    )
}

fn b64_len(bytes: usize) -> String {
    stelgano_spec::b64::encode(&vec![0x5a; bytes])
}

/// Values of the right JSON type but the wrong syntax, with their reason.
fn syntax_probes(kind: Kind) -> Vec<(&'static str, String, ErrorReason)> {
    let hex_upper = ROOM.to_uppercase();
    match kind {
        Kind::Hash(reason) => vec![
            ("upper-case hex", hex_upper, reason),
            ("63 characters", ROOM[..63].to_owned(), reason),
            ("65 characters", format!("{ROOM}0"), reason),
            ("a non-hex letter", format!("g{}", &ROOM[1..]), reason),
            ("empty string", String::new(), reason),
            ("leading space", format!(" {}", &ROOM[1..]), reason),
        ],
        Kind::Uuid | Kind::NullableUuid => vec![
            (
                "upper-case UUID",
                MESSAGE_ID.to_uppercase(),
                InvalidMessageId,
            ),
            (
                "UUID without hyphens",
                MESSAGE_ID.replace('-', ""),
                InvalidMessageId,
            ),
            (
                "UUID in braces",
                format!("{{{MESSAGE_ID}}}"),
                InvalidMessageId,
            ),
            (
                "URN form",
                format!("urn:uuid:{MESSAGE_ID}"),
                InvalidMessageId,
            ),
            ("empty string", String::new(), InvalidMessageId),
        ],
        Kind::Ciphertext => vec![
            ("not base64", "not base64!".into(), InvalidEncoding),
            (
                "missing padding",
                "AAECAwQFBgcICQoLDA0ODxA".into(),
                InvalidEncoding,
            ),
            (
                "URL-safe alphabet",
                "AAECAwQFBgcICQoLDA0OD_-_".into(),
                InvalidEncoding,
            ),
            (
                "embedded newline",
                "AAECAwQFBgcICQoL\nDA0ODxAR".into(),
                InvalidEncoding,
            ),
            (
                "non-zero trailing bits",
                "AAECAwQFBgcICQoLDA0ODxB=".into(),
                InvalidEncoding,
            ),
            (
                "15 decoded bytes",
                b64_len(MIN_CIPHERTEXT_BYTES - 1),
                InvalidCiphertext,
            ),
            ("empty", String::new(), InvalidCiphertext),
            (
                "8193 decoded bytes",
                b64_len(MAX_CIPHERTEXT_BYTES + 1),
                MessageTooLarge,
            ),
        ],
        Kind::Iv => vec![
            ("not base64", "AAECAwQFBgcICQo*".into(), InvalidEncoding),
            ("missing padding", "AAECAwQFBgcICQo".into(), InvalidEncoding),
            ("11 decoded bytes", b64_len(11), InvalidIv),
            ("16 decoded bytes", b64_len(16), InvalidIv),
            ("empty", String::new(), InvalidIv),
        ],
        Kind::Country => vec![
            ("lower case", "ke".into(), InvalidPayload),
            ("three letters", "KEN".into(), InvalidPayload),
            ("digits", "12".into(), InvalidPayload),
            ("empty", String::new(), InvalidPayload),
        ],
    }
}

/// One invalid case: a comment, the frame text, and what must come back.
struct Invalid {
    comment: String,
    frame: String,
    reason: ErrorReason,
    reference: Option<&'static str>,
    event: Option<EventName>,
}

fn invalid(
    comment: impl Into<String>,
    frame: impl Into<String>,
    reason: ErrorReason,
    reference: Option<&'static str>,
) -> Invalid {
    Invalid {
        comment: comment.into(),
        frame: frame.into(),
        reason,
        reference,
        event: None,
    }
}

impl Invalid {
    /// The fault is in the payload of `event`.
    fn with_event(self, event: EventName) -> Self {
        Self {
            event: Some(event),
            ..self
        }
    }
}

/// Frames that fail before the payload is looked at (STD1-WIRE-10 to STD1-WIRE-13).
fn envelope_cases() -> Vec<Invalid> {
    let deep = format!(
        r#"{{"event":"typing","ref":"7","data":{{"x":{}0{}}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    // Depth counts the outer object and `data`, so `arrays` nested arrays give depth arrays + 2.
    let nested = |arrays: usize| {
        format!(
            r#"{{"event":"typing","ref":"7","data":{{"x":{}0{}}}}}"#,
            "[".repeat(arrays),
            "]".repeat(arrays)
        )
    };
    vec![
        invalid("empty text", "", InvalidFrame, None),
        invalid("whitespace only", "  \n", InvalidFrame, None),
        invalid("not JSON", "hello", InvalidFrame, None),
        invalid(
            "truncated object",
            r#"{"event":"typing","ref":"7","data":{}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "trailing text after the object",
            r#"{"event":"typing","ref":"7","data":{}} x"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "two objects",
            r#"{"event":"typing","ref":"7","data":{}}{}"#,
            InvalidFrame,
            None,
        ),
        invalid("JSON null", "null", InvalidFrame, None),
        invalid(
            "JSON array",
            r#"[{"event":"typing","ref":"7","data":{}}]"#,
            InvalidFrame,
            None,
        ),
        invalid("JSON string", r#""typing""#, InvalidFrame, None),
        invalid("JSON number", "7", InvalidFrame, None),
        invalid(
            "byte-order mark before the object",
            "\u{feff}{\"event\":\"typing\",\"ref\":\"7\",\"data\":{}}",
            InvalidFrame,
            None,
        ),
        invalid(
            "single quotes",
            "{'event':'typing','ref':'7','data':{}}",
            InvalidFrame,
            None,
        ),
        invalid(
            "lone surrogate escape",
            r#"{"event":"typing","ref":"7","data":{},"x":"\ud800"}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "duplicate ref",
            r#"{"event":"typing","ref":"7","ref":"8","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "duplicate event",
            r#"{"event":"typing","event":"expire_room","ref":"7","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "duplicate member inside data",
            r#"{"event":"read_receipt","ref":"7","data":{"message_id":"6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6","message_id":"6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "duplicate spelled with an escape",
            r#"{"event":"typing","ref":"7","r\u0065f":"8","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "nesting deeper than the parser's limit",
            deep,
            InvalidFrame,
            None,
        ),
        invalid("nesting depth 33", nested(31), InvalidFrame, None),
        invalid(
            "nesting depth 32 parses (the payload is then refused)",
            nested(30),
            InvalidPayload,
            Some("7"),
        )
        .with_event(EventName::Typing),
        invalid(
            "largest double parses (the unknown member is then refused)",
            r#"{"event":"typing","ref":"7","data":{},"x":1.7976931348623157e308}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "number beyond the range of a double",
            r#"{"event":"typing","ref":"7","data":{},"x":1e400}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "ref missing",
            r#"{"event":"typing","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "ref is a number",
            r#"{"event":"typing","ref":7,"data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "ref is null",
            r#"{"event":"typing","ref":null,"data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "ref is empty",
            r#"{"event":"typing","ref":"","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "ref has 65 characters",
            format!(
                r#"{{"event":"typing","ref":"{}","data":{{}}}}"#,
                "r".repeat(65)
            ),
            InvalidFrame,
            None,
        ),
        invalid(
            "ref contains a space",
            r#"{"event":"typing","ref":"a b","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "ref contains a non-ASCII character",
            r#"{"event":"typing","ref":"caf\u00e9","data":{}}"#,
            InvalidFrame,
            None,
        ),
        invalid(
            "event missing",
            r#"{"ref":"7","data":{}}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "event is a number",
            r#"{"event":1,"ref":"7","data":{}}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "event is null",
            r#"{"event":null,"ref":"7","data":{}}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "data missing",
            r#"{"event":"typing","ref":"7"}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "data is null",
            r#"{"event":"typing","ref":"7","data":null}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "data is an array",
            r#"{"event":"typing","ref":"7","data":[]}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "data is a string",
            r#"{"event":"typing","ref":"7","data":"{}"}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "unknown top-level member",
            r#"{"event":"typing","ref":"7","data":{},"extra":1}"#,
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "room_hash at the top level (it belongs in data)",
            format!(r#"{{"event":"join","ref":"7","data":{{}},"room_hash":"{ROOM}"}}"#),
            InvalidFrame,
            Some("7"),
        ),
        invalid(
            "unknown event",
            r#"{"event":"leave","ref":"7","data":{}}"#,
            UnknownEvent,
            Some("7"),
        ),
        invalid(
            "event names are case-sensitive",
            r#"{"event":"JOIN","ref":"7","data":{}}"#,
            UnknownEvent,
            Some("7"),
        ),
        invalid(
            "empty event name",
            r#"{"event":"","ref":"7","data":{}}"#,
            UnknownEvent,
            Some("7"),
        ),
        invalid(
            "upstream v1 event name",
            r#"{"event":"phx_join","ref":"7","data":{}}"#,
            UnknownEvent,
            Some("7"),
        ),
        invalid(
            "paid extensions are not part of std-1",
            r#"{"event":"redeem_extension","ref":"7","data":{}}"#,
            UnknownEvent,
            Some("7"),
        ),
    ]
}

/// Payload faults of one event, built from its field table (STD1-WIRE-14).
fn payload_cases(event: EventName) -> Vec<Invalid> {
    let name = event.as_str();
    let mut cases = Vec::new();
    let mut push = |comment: String, data: Map<String, Value>, reason: ErrorReason| {
        cases.push(Invalid {
            comment: format!("{name}: {comment}"),
            frame: frame_text(name, &data),
            reason,
            reference: Some("7"),
            event: Some(event),
        });
    };

    let mut extra = valid_data(event);
    extra.insert("extra".into(), json!("x"));
    push("unknown member".into(), extra, InvalidPayload);

    let wrong_types: [(&str, Value); 5] = [
        ("number", json!(1)),
        ("boolean", json!(true)),
        ("null", Value::Null),
        ("array", json!([])),
        ("object", json!({})),
    ];
    for f in fields(event) {
        if f.required {
            let mut data = valid_data(event);
            data.remove(f.name);
            push(format!("{} missing", f.name), data, InvalidPayload);
        }
        for (type_name, value) in &wrong_types {
            if matches!(f.kind, Kind::NullableUuid) && value.is_null() {
                continue;
            }
            let mut data = valid_data(event);
            data.insert(f.name.into(), value.clone());
            push(format!("{} is a {type_name}", f.name), data, InvalidPayload);
        }
        for (comment, value, reason) in syntax_probes(f.kind) {
            let mut data = valid_data(event);
            data.insert(f.name.into(), value.into());
            push(format!("{}: {comment}", f.name), data, reason);
        }
    }

    // Order: an unknown member is reported before any field fault, and
    // fields are checked in table order.
    let table = fields(event);
    if let [first, second, ..] = table.as_slice() {
        let mut data = valid_data(event);
        data.insert("extra".into(), json!(1));
        data.insert(first.name.into(), json!(1));
        push(
            format!(
                "unknown member and a bad {}: unknown member wins",
                first.name
            ),
            data,
            InvalidPayload,
        );

        if let Some((_, bad_first, reason)) = syntax_probes(first.kind).into_iter().next() {
            let mut data = valid_data(event);
            data.insert(first.name.into(), bad_first.into());
            data.remove(second.name);
            push(
                format!(
                    "bad {} and {} missing: the first field wins",
                    first.name, second.name
                ),
                data,
                reason,
            );
        }
    }
    cases
}

/// Valid frames: the decoder accepts them, and `canonical` is how the
/// reference encoder writes the decoded frame.
fn valid_frames() -> Vec<(String, String)> {
    let mut frames = Vec::new();
    for event in EventName::ALL {
        frames.push((
            format!("{}: every field", event.as_str()),
            frame_text(event.as_str(), &valid_data(event)),
        ));
        for f in fields(event).into_iter().filter(|f| !f.required) {
            let mut data = valid_data(event);
            data.remove(f.name);
            frames.push((
                format!("{}: without optional {}", event.as_str(), f.name),
                frame_text(event.as_str(), &data),
            ));
        }
    }
    let mut send_null = valid_data(EventName::SendMessage);
    send_null.insert("replaces".into(), Value::Null);
    frames.push((
        "send_message: replaces null (empty room)".into(),
        frame_text("send_message", &send_null),
    ));
    for (comment, bytes) in [
        ("smallest ciphertext (16 bytes)", MIN_CIPHERTEXT_BYTES),
        ("largest ciphertext (8192 bytes)", MAX_CIPHERTEXT_BYTES),
    ] {
        let mut data = valid_data(EventName::SendMessage);
        data.insert("ciphertext".into(), b64_len(bytes).into());
        frames.push((
            format!("send_message: {comment}"),
            frame_text("send_message", &data),
        ));
    }
    frames.push((
        "members in another order, with whitespace".into(),
        "{ \"data\" : { } ,\n \"ref\" : \"7\" , \"event\" : \"typing\" }".into(),
    ));
    frames.push((
        "escaped characters in strings".into(),
        r#"{"event":"typ\u0069ng","ref":"\u0037","data":{}}"#.into(),
    ));
    frames.push((
        "ref of 64 characters".into(),
        format!(
            r#"{{"event":"typing","ref":"{}","data":{{}}}}"#,
            "r".repeat(64)
        ),
    ));
    frames.push((
        "ref with punctuation".into(),
        r#"{"event":"typing","ref":"a:b/c-1~!","data":{}}"#.into(),
    ));
    frames
}

/// Canonical encodings of every server frame shape (STD1-WIRE-26 to STD1-WIRE-29).
fn server_frames() -> Vec<(&'static str, ServerFrame)> {
    let at = |s: &str| s.parse::<Timestamp>().expect("vector timestamp");
    let message = Message {
        id: MESSAGE_ID.parse().expect("uuid"),
        sender_hash: SENDER.parse().expect("hash"),
        ciphertext: stelgano_spec::wire::Ciphertext::from_base64(CIPHERTEXT).expect("ciphertext"),
        iv: stelgano_spec::wire::Iv::from_base64(IV).expect("iv"),
        sent_at: at("2026-11-27T09:00:05Z"),
        read_at: None,
        edited: false,
    };
    let ok = |body| {
        ServerFrame::Ok(OkReply {
            reference: "7".parse().expect("ref"),
            ok: body,
        })
    };
    let err = |reference: Option<&str>, error| {
        ServerFrame::Error(ErrorReply {
            reference: reference.map(|r| r.parse().expect("ref")),
            error,
        })
    };
    let message_id: MessageId = MESSAGE_ID.parse().expect("uuid");
    vec![
        (
            "create/join reply, empty room",
            ok(ReplyBody::Joined(Joined {
                room_id: ROOM_ID.parse().expect("uuid"),
                ttl_expires_at: at("2026-12-04T09:00:00Z"),
                awaiting_party: true,
                current_message: None,
            })),
        ),
        (
            "join reply with the current message",
            ok(ReplyBody::Joined(Joined {
                room_id: ROOM_ID.parse().expect("uuid"),
                ttl_expires_at: at("2026-12-04T09:00:00Z"),
                awaiting_party: false,
                current_message: Some(message.clone()),
            })),
        ),
        (
            "send_message reply",
            ok(ReplyBody::Sent(Sent { message_id })),
        ),
        ("reply without a value", ok(ReplyBody::Done(Done {}))),
        (
            "error without extra member",
            err(Some("7"), ErrorBody::plain(NotYourTurn)),
        ),
        (
            "error for a frame without a valid ref",
            err(None, ErrorBody::plain(InvalidFrame)),
        ),
        (
            "unauthorized with attempts_remaining",
            err(
                Some("7"),
                ErrorBody {
                    reason: Unauthorized,
                    attempts_remaining: Some(9),
                    retry_after: None,
                },
            ),
        ),
        (
            "locked with retry_after",
            err(
                Some("7"),
                ErrorBody {
                    reason: Locked,
                    attempts_remaining: None,
                    retry_after: Some(1800),
                },
            ),
        ),
        (
            "new_message",
            ServerFrame::Broadcast(Broadcast::NewMessage(message.clone())),
        ),
        (
            "new_message of a read, edited message",
            ServerFrame::Broadcast(Broadcast::NewMessage(Message {
                read_at: Some(at("2026-11-27T09:00:09Z")),
                edited: true,
                ..message.clone()
            })),
        ),
        (
            "message_read",
            ServerFrame::Broadcast(Broadcast::MessageRead {
                message_id,
                read_at: at("2026-11-27T09:00:09Z"),
            }),
        ),
        (
            "message_edited",
            ServerFrame::Broadcast(Broadcast::MessageEdited {
                message_id,
                ciphertext: message.ciphertext.clone(),
                iv: message.iv,
            }),
        ),
        (
            "message_deleted",
            ServerFrame::Broadcast(Broadcast::MessageDeleted { message_id }),
        ),
        (
            "counterparty_typing",
            ServerFrame::Broadcast(Broadcast::CounterpartyTyping {}),
        ),
        (
            "party_paired",
            ServerFrame::Broadcast(Broadcast::PartyPaired {}),
        ),
        (
            "room_locked",
            ServerFrame::Broadcast(Broadcast::RoomLocked {
                locked_until: at("2026-11-27T09:30:00Z"),
            }),
        ),
        (
            "room_expired by a party",
            ServerFrame::Broadcast(Broadcast::RoomExpired {
                cause: ExpiryCause::Party,
            }),
        ),
        (
            "room_expired by TTL",
            ServerFrame::Broadcast(Broadcast::RoomExpired {
                cause: ExpiryCause::Ttl,
            }),
        ),
    ]
}

pub(super) fn file() -> Value {
    let valid: Vec<Value> = valid_frames()
        .into_iter()
        .enumerate()
        .map(|(i, (comment, frame))| {
            let decoded = decode_client_frame(&frame)
                .unwrap_or_else(|e| panic!("valid frame {comment}: {e:?}"));
            json!({
                "tcId": i + 1,
                "comment": comment,
                "frame": frame,
                "event": decoded.event.name().as_str(),
                "ref": decoded.reference.as_str(),
                "canonical": decoded.to_json(),
            })
        })
        .collect();

    let mut cases = envelope_cases();
    for event in EventName::ALL {
        cases.extend(payload_cases(event));
    }
    let invalid: Vec<Value> = cases
        .into_iter()
        .enumerate()
        .map(|(i, case)| {
            let err = decode_client_frame(&case.frame)
                .expect_err(&format!("invalid frame {}", case.comment));
            assert_eq!(err.reason, case.reason, "{}", case.comment);
            assert_eq!(
                err.reference.as_ref().map(|r| r.as_str()),
                case.reference,
                "{}",
                case.comment
            );
            assert_eq!(err.event, case.event, "{}", case.comment);
            let floored = case.event.is_some_and(EventName::opens_session);
            json!({
                "tcId": i + 1,
                "comment": case.comment,
                "frame": case.frame,
                "reason": case.reason,
                "ref": case.reference,
                "event": case.event.map(EventName::as_str),
                "time_floored": floored,
            })
        })
        .collect();

    let server: Vec<Value> = server_frames()
        .into_iter()
        .enumerate()
        .map(|(i, (comment, frame))| {
            let text = frame.to_json();
            assert_eq!(
                ServerFrame::from_json(&text).as_ref(),
                Some(&frame),
                "server frame {comment} round-trips"
            );
            json!({ "tcId": i + 1, "comment": comment, "frame": text })
        })
        .collect();

    let mut map = super::header(
        "Wire frames",
        "frames.schema.json",
        &[
            "STD1-WIRE-7",
            "STD1-WIRE-9",
            "STD1-WIRE-10",
            "STD1-WIRE-11",
            "STD1-WIRE-12",
            "STD1-WIRE-13",
            "STD1-WIRE-14",
            "STD1-WIRE-15",
            "STD1-WIRE-16",
            "STD1-WIRE-17",
            "STD1-WIRE-18",
            "STD1-WIRE-19",
            "STD1-WIRE-26",
            "STD1-WIRE-28",
            "STD1-WIRE-29",
            "STD1-JOIN-21",
        ],
        "valid: client frames a server must accept; canonical is the decoded frame re-encoded by the reference \
         implementation. invalid: client frames a server must refuse with error.reason = reason and \
         ref = ref (null when the frame had no valid ref), changing nothing; time_floored frames are create \
         or join requests whose reply waits for the time floor (STD1-JOIN-21). server: one canonical example of \
         every server frame shape; clients must accept them in any member order.",
    );
    map.insert(
        "numberOfTests".into(),
        (valid.len() + invalid.len() + server.len()).into(),
    );
    map.insert("valid".into(), valid.into());
    map.insert("invalid".into(), invalid.into());
    map.insert("server".into(), server.into());
    Value::Object(map)
}
