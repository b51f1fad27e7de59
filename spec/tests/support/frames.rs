//! A second statement of how a client frame is decoded (spec §7.3, §7.4),
//! over a JSON tree that the test builds itself.
//!
//! The generator builds a valid frame of a random event and applies a few
//! structural faults (members removed, added, duplicated, renamed or
//! reordered; values of the wrong type, near-miss field syntax, numbers
//! beyond a double, nesting around the depth limit, text that is not JSON).
//! The renderer writes the tree with random insignificant whitespace and
//! random escaping. The model computes the answer the spec assigns from the
//! tree alone, so `decode(render(tree)) == expected(tree)` checks the
//! decoder's exact reason, `ref` and event, not only that it returned.

use stelgano_spec::ErrorReason;
use stelgano_spec::ids::{
    AccessHash, CountryCode, MessageId, PairingHash, Ref, RoomHash, SenderHash,
};
use stelgano_spec::wire::{
    Ciphertext, ClientEvent, ClientFrame, CreateRoom, DecodeError, DeleteMessage, EditMessage,
    EventName, Iv, JoinRoom, ReadReceipt, ReopenPairing, ResetPairing, SendMessage,
};

use super::choices::Choices;
use super::syntax;

/// A JSON value as the generator builds it. Member names and strings are
/// kept unescaped; the renderer chooses their spelling.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    /// A number's text, and whether it is within the range of a double.
    Num(&'static str, bool),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
    /// Text that is not I-JSON wherever it stands.
    Broken(&'static str),
}

/// Number texts, with whether I-JSON (RFC 7493) accepts them.
const NUMBERS: &[(&str, bool)] = &[
    ("0", true),
    ("-0", true),
    ("1.5", true),
    ("-1", true),
    ("1E+2", true),
    ("123456789012345678901234567890", true),
    ("1.7976931348623157e308", true),
    ("5e-324", true),
    ("1e-400", true),
    ("1e400", false),
    ("-1e999", false),
    ("1.8e308", false),
];

/// Values that make any frame they stand in invalid: not JSON (bad number
/// syntax, bad literals, bad escapes, raw control characters, trailing
/// commas, an unbalanced bracket) or not I-JSON (an escaped lone surrogate).
const BROKEN: &[&str] = &[
    "NaN",
    "01",
    "+1",
    ".5",
    "1.",
    "tru",
    "'x'",
    "\"\\ud800\"",
    "\"\\udc00x\"",
    "\"\\x41\"",
    "\"\u{1}\"",
    "[1,]",
    "{\"a\":1,}",
    "{,}",
    "[",
    "}",
];

/// Member names a fault may add or rename to: the frame's own, every
/// payload field, and names no table lists.
const NAMES: &[&str] = &[
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
    "",
    "x",
    "Ref",
    "ref ",
    "r\u{e9}f",
];

/// Event names: the ten, and near misses.
const EVENTS: &[&str] = &[
    "create",
    "join",
    "send_message",
    "read_receipt",
    "edit_message",
    "delete_message",
    "typing",
    "expire_room",
    "reset_pairing",
    "reopen_pairing",
    "",
    "Create",
    "create ",
    "new_message",
    "room_expired",
    "ping",
    "typing\u{0}",
];

/// Characters for arbitrary strings: ASCII, the characters JSON must
/// escape, a non-breaking space, a BOM, and a character outside the BMP.
const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    '9',
    '-',
    '=',
    '+',
    '/',
    '_',
    ' ',
    '"',
    '\\',
    '\u{0}',
    '\u{1f}',
    '\u{7f}',
    '\u{a0}',
    '\u{e9}',
    '\u{feff}',
    '\u{2028}',
    '\u{1f600}',
];

// ---------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn uuid_text(b: &[u8]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn hash(c: &mut Choices) -> String {
    hex(&c.bytes(32))
}

fn uuid(c: &mut Choices) -> String {
    uuid_text(&c.bytes(16))
}

/// Byte lengths of generated ciphertexts: the bounds of STD1-ENC-5 and
/// around them, and the IV length.
const LENGTHS: &[usize] = &[16, 17, 32, 12, 15, 8192, 8191, 8193, 0, 1, 11, 13, 100];

fn base64_of(bytes: &[u8]) -> String {
    // Written out here so that the generator does not use the encoder
    // under test either.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn ciphertext(c: &mut Choices) -> String {
    let len = if c.one_in(4) {
        c.pick(LENGTHS)
    } else {
        16 + c.below(48)
    };
    base64_of(&c.filler(len))
}

fn iv(c: &mut Choices) -> String {
    let len = if c.one_in(8) { c.pick(LENGTHS) } else { 12 };
    base64_of(&c.bytes(len))
}

fn reference(c: &mut Choices) -> String {
    let len = 1 + c.below(64);
    (0..len)
        .map(|_| char::from(0x21 + (c.byte() % 94)))
        .collect()
}

/// A valid `data` object for `event`, optional members present or not.
fn valid_data(event: EventName, c: &mut Choices) -> Vec<(String, J)> {
    let mut data = Vec::new();
    let mut put = |name: &str, value: String| data.push((name.to_owned(), J::Str(value)));
    match event {
        EventName::Create | EventName::Join => {
            put("room_hash", hash(c));
            put("access_hash", hash(c));
            put("sender_hash", hash(c));
            if event == EventName::Create || c.one_in(2) {
                put("pairing_hash", hash(c));
            }
            if event == EventName::Create && c.one_in(2) {
                let letters = [b'A' + c.byte() % 26, b'A' + c.byte() % 26];
                put("country_iso", String::from_utf8_lossy(&letters).into());
            }
        }
        EventName::SendMessage => {
            put("ciphertext", ciphertext(c));
            put("iv", iv(c));
            if c.one_in(2) {
                put("replaces", uuid(c));
            } else {
                data.push(("replaces".to_owned(), J::Null));
            }
        }
        EventName::ReadReceipt | EventName::DeleteMessage => put("message_id", uuid(c)),
        EventName::EditMessage => {
            put("message_id", uuid(c));
            put("ciphertext", ciphertext(c));
            put("iv", iv(c));
        }
        EventName::ResetPairing | EventName::ReopenPairing => put("pairing_hash", hash(c)),
        EventName::Typing | EventName::ExpireRoom => {}
    }
    data
}

/// `text` with one character replaced by `with`.
fn replace_char(text: &str, c: &mut Choices, pool: &[char]) -> String {
    let with = c.pick(pool);
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return with.to_string();
    }
    let at = c.below(chars.len());
    chars
        .iter()
        .enumerate()
        .map(|(i, &ch)| if i == at { with } else { ch })
        .collect()
}

/// Strings just inside and just outside each field's syntax.
fn near_miss(c: &mut Choices) -> String {
    let (h, u, b) = (hash(c), uuid(c), ciphertext(c));
    match c.below(16) {
        0 => h,
        1 => h.to_uppercase(),
        2 => h[..63].to_owned(),
        3 => format!("{h}0"),
        4 => replace_char(&h, c, &['A', 'f', 'g', ' ', '\u{e9}', '\u{0}']),
        5 => u,
        6 => u.to_uppercase(),
        7 => u.replace('-', ""),
        8 => format!("{{{u}}}"),
        9 => replace_char(&u, c, &['-', 'G', 'a', '0']),
        10 => b,
        11 => b.trim_end_matches('=').to_owned(),
        12 => replace_char(&b, c, &['-', '_', '=', ' ', 'A', 'B', 'Q', '/', '\n']),
        13 => c
            .pick(&["KE", "ke", "K", "KEN", "K1", "\u{c9}\u{c9}"])
            .to_owned(),
        14 => c.pick(EVENTS).to_owned(),
        _ => {
            let len = c.below(70);
            (0..len).map(|_| c.pick(CHARS)).collect()
        }
    }
}

/// Arrays and objects nested `depth` deep around a scalar.
fn nested(depth: usize, c: &mut Choices) -> J {
    let mut value = J::Num("0", true);
    for _ in 0..depth {
        value = if c.one_in(2) {
            J::Obj(vec![("a".to_owned(), value)])
        } else {
            J::Arr(vec![value])
        };
    }
    value
}

/// Any value a fault may put in a member.
fn value(c: &mut Choices) -> J {
    match c.below(12) {
        0..=4 => J::Str(near_miss(c)),
        5 => J::Null,
        6 => J::Bool(c.one_in(2)),
        7 => {
            let (text, ok) = c.pick(NUMBERS);
            J::Num(text, ok)
        }
        8 => J::Broken(c.pick(BROKEN)),
        9 => c.pick(&[
            J::Arr(vec![]),
            J::Obj(vec![]),
            J::Arr(vec![J::Str("1".into()), J::Null]),
            J::Obj(vec![("x".into(), J::Null)]),
            J::Obj(vec![("a".into(), J::Null), ("a".into(), J::Null)]),
        ]),
        // Depths around the limit once inside `data` (which is at depth
        // 2), and beyond serde_json's own recursion limit.
        10 => {
            let depth = c.pick(&[28, 29, 30, 31, 32, 150]);
            nested(depth, c)
        }
        _ => J::Str(c.pick(EVENTS).to_owned()),
    }
}

/// Members of the frame object, or of its `data` when `in_data` and there
/// is one.
fn target(frame: &mut J, in_data: bool) -> Option<&mut Vec<(String, J)>> {
    let J::Obj(members) = frame else { return None };
    if !in_data {
        return Some(members);
    }
    members.iter_mut().find_map(|(n, v)| match v {
        J::Obj(data) if n == "data" => Some(data),
        _ => None,
    })
}

fn fault(frame: &mut J, c: &mut Choices) {
    let kind = c.below(11);
    let in_data = c.below(3) != 0;
    if kind == 10 {
        // The frame is not an object.
        let whole = std::mem::replace(frame, J::Null);
        *frame = match c.below(4) {
            0 => J::Arr(vec![whole]),
            1 => J::Str("{}".into()),
            2 => J::Num("1", true),
            _ => J::Null,
        };
        return;
    }
    let Some(members) = target(frame, in_data) else {
        return;
    };
    let len = members.len();
    let at = c.below(len.max(1));
    match kind {
        0 if len > 0 => members[at].1 = value(c),
        1 if len > 0 => {
            members.remove(at);
        }
        2 => {
            let name = c.pick(NAMES).to_owned();
            members.insert(c.below(len + 1), (name, value(c)));
        }
        3 if len > 0 => {
            // The same member twice: same value or another.
            let mut copy = members[at].clone();
            if c.one_in(2) {
                copy.1 = value(c);
            }
            members.insert(c.below(len + 1), copy);
        }
        4 if len > 0 => members[at].0 = c.pick(NAMES).to_owned(),
        5 if len > 0 => members.rotate_left(at),
        6 => {
            if let Some(m) = members.iter_mut().find(|(n, _)| n == "event") {
                m.1 = J::Str(c.pick(EVENTS).to_owned());
            }
        }
        7 => {
            let r = match c.below(4) {
                0 => String::new(),
                1 => "a".repeat(65),
                2 => {
                    let r = reference(c);
                    replace_char(&r, c, &[' ', '\u{e9}', '\u{7f}'])
                }
                _ => reference(c),
            };
            if let Some(m) = members.iter_mut().find(|(n, _)| n == "ref") {
                m.1 = J::Str(r);
            }
        }
        8 if len > 0 => {
            let depth = c.pick(&[28, 29, 30, 31, 32, 150]);
            members[at].1 = nested(depth, c);
        }
        _ => {}
    }
}

/// A client frame of a random event, then up to three faults.
pub fn build(c: &mut Choices) -> J {
    let event = c.pick(&EventName::ALL);
    let data = valid_data(event, c);
    let mut frame = J::Obj(vec![
        ("event".into(), J::Str(event.as_str().into())),
        ("ref".into(), J::Str(reference(c))),
        ("data".into(), J::Obj(data)),
    ]);
    for _ in 0..c.below(4) {
        fault(&mut frame, c);
    }
    frame
}

// ---------------------------------------------------------------------------
// Renderer
// ---------------------------------------------------------------------------

/// Writes `tree` as JSON text with insignificant whitespace and escapes
/// chosen by `style`. Every spelling means the same tree.
pub fn render(tree: &J, style: &mut Choices) -> String {
    let mut out = String::new();
    space(&mut out, style);
    write(tree, &mut out, style);
    space(&mut out, style);
    out
}

fn space(out: &mut String, style: &mut Choices) {
    let n = style.below(8).saturating_sub(5);
    for _ in 0..n {
        out.push(style.pick(&[' ', '\t', '\n', '\r']));
    }
}

fn write(tree: &J, out: &mut String, style: &mut Choices) {
    match tree {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(text, _) => out.push_str(text),
        J::Broken(text) => out.push_str(text),
        J::Str(s) => string(s, out, style),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    space(out, style);
                    out.push(',');
                }
                space(out, style);
                write(item, out, style);
                space(out, style);
            }
            out.push(']');
        }
        J::Obj(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(out, style);
                string(name, out, style);
                space(out, style);
                out.push(':');
                space(out, style);
                write(item, out, style);
                space(out, style);
            }
            out.push('}');
        }
    }
}

fn string(s: &str, out: &mut String, style: &mut Choices) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => unicode_escape(u32::from(c), out, style),
            '/' if style.one_in(4) => out.push_str("\\/"),
            c if style.one_in(8) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    unicode_escape(u32::from(*unit), out, style);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn unicode_escape(unit: u32, out: &mut String, style: &mut Choices) {
    let text = format!("\\u{unit:04x}");
    if style.one_in(2) {
        out.push_str(&text.to_uppercase().replacen("\\U", "\\u", 1));
    } else {
        out.push_str(&text);
    }
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

/// What the decoder must say about a refused frame: the `ref` (once valid),
/// the event (once known) and the reason.
pub type Refusal = (Option<Ref>, Option<EventName>, ErrorReason);

/// The decoder's answer as a comparable value.
pub fn observed(result: Result<ClientFrame, DecodeError>) -> Result<ClientFrame, Refusal> {
    result.map_err(|e| (e.reference, e.event, e.reason))
}

/// STD1-WIRE-10: no broken text, numbers in range, no duplicate names at
/// any depth, depth at most 32.
fn is_i_json(tree: &J) -> bool {
    fn walk(v: &J) -> Option<usize> {
        match v {
            J::Broken(_) | J::Num(_, false) => None,
            J::Null | J::Bool(_) | J::Num(_, true) | J::Str(_) => Some(0),
            J::Arr(items) => {
                let mut depth = 0;
                for item in items {
                    depth = depth.max(walk(item)?);
                }
                Some(1 + depth)
            }
            J::Obj(members) => {
                let mut depth = 0;
                for (i, (name, item)) in members.iter().enumerate() {
                    if members[..i].iter().any(|(n, _)| n == name) {
                        return None;
                    }
                    depth = depth.max(walk(item)?);
                }
                Some(1 + depth)
            }
        }
    }
    walk(tree).is_some_and(|d| d <= 32)
}

/// How a payload field's string is checked (spec §7.4).
#[derive(Clone, Copy)]
enum Syntax {
    Hash(ErrorReason),
    Uuid,
    Country,
    Ciphertext,
    Iv,
}

/// A row of an event's table: name, required, `null` allowed, syntax.
type Field = (&'static str, bool, bool, Syntax);

fn table(event: EventName) -> &'static [Field] {
    use ErrorReason::{InvalidAccess, InvalidPairing, InvalidRoom, InvalidSender};
    use Syntax::{Ciphertext, Country, Hash, Iv, Uuid};
    match event {
        EventName::Create => &[
            ("room_hash", true, false, Hash(InvalidRoom)),
            ("access_hash", true, false, Hash(InvalidAccess)),
            ("sender_hash", true, false, Hash(InvalidSender)),
            ("pairing_hash", true, false, Hash(InvalidPairing)),
            ("country_iso", false, false, Country),
        ],
        EventName::Join => &[
            ("room_hash", true, false, Hash(InvalidRoom)),
            ("access_hash", true, false, Hash(InvalidAccess)),
            ("sender_hash", true, false, Hash(InvalidSender)),
            ("pairing_hash", false, false, Hash(InvalidPairing)),
        ],
        EventName::SendMessage => &[
            ("ciphertext", true, false, Ciphertext),
            ("iv", true, false, Iv),
            ("replaces", true, true, Uuid),
        ],
        EventName::ReadReceipt | EventName::DeleteMessage => &[("message_id", true, false, Uuid)],
        EventName::EditMessage => &[
            ("message_id", true, false, Uuid),
            ("ciphertext", true, false, Ciphertext),
            ("iv", true, false, Iv),
        ],
        EventName::ResetPairing | EventName::ReopenPairing => {
            &[("pairing_hash", true, false, Hash(InvalidPairing))]
        }
        EventName::Typing | EventName::ExpireRoom => &[],
    }
}

/// A checked field value.
enum Value {
    Hash([u8; 32]),
    Uuid([u8; 16]),
    Country(String),
    Ciphertext(Vec<u8>),
    Iv([u8; 12]),
}

/// Checks one field's string (STD1-WIRE-15 to STD1-WIRE-18, STD1-ENC-2,
/// STD1-ENC-5).
fn check(s: &str, syntax: Syntax) -> Result<Value, ErrorReason> {
    use ErrorReason as E;
    match syntax {
        Syntax::Hash(reason) => syntax::hex64(s).map(Value::Hash).ok_or(reason),
        Syntax::Uuid => syntax::uuid(s).map(Value::Uuid).ok_or(E::InvalidMessageId),
        Syntax::Country if syntax::is_country(s) => Ok(Value::Country(s.to_owned())),
        Syntax::Country => Err(E::InvalidPayload),
        Syntax::Ciphertext => match syntax::base64(s) {
            None => Err(E::InvalidEncoding),
            Some(b) if b.len() > 8192 => Err(E::MessageTooLarge),
            Some(b) if b.len() < 16 => Err(E::InvalidCiphertext),
            Some(b) => Ok(Value::Ciphertext(b)),
        },
        Syntax::Iv => {
            let bytes = syntax::base64(s).ok_or(E::InvalidEncoding)?;
            <[u8; 12]>::try_from(bytes.as_slice())
                .map(Value::Iv)
                .map_err(|_| E::InvalidIv)
        }
    }
}

/// The payload's fields in table order, `None` for an absent optional
/// member or a `null` where one is allowed (STD1-WIRE-14).
fn payload(event: EventName, data: &[(String, J)]) -> Result<Vec<Option<Value>>, ErrorReason> {
    let rows = table(event);
    if data
        .iter()
        .any(|(name, _)| !rows.iter().any(|(n, ..)| n == name))
    {
        return Err(ErrorReason::InvalidPayload);
    }
    rows.iter()
        .map(|&(name, required, nullable, syntax)| {
            match data.iter().find(|(n, _)| n == name).map(|(_, v)| v) {
                None if !required => Ok(None),
                Some(J::Null) if nullable => Ok(None),
                Some(J::Str(s)) => check(s, syntax).map(Some),
                _ => Err(ErrorReason::InvalidPayload),
            }
        })
        .collect()
}

fn hash_of(v: Option<Value>) -> [u8; 32] {
    match v {
        Some(Value::Hash(h)) => h,
        _ => unreachable!("the table puts a hash here"),
    }
}

fn uuid_of(v: Option<Value>) -> Option<MessageId> {
    match v {
        Some(Value::Uuid(u)) => Some(MessageId::from_uuid(uuid::Uuid::from_bytes(u))),
        _ => None,
    }
}

fn sealed_of(ct: Option<Value>, iv: Option<Value>) -> (Ciphertext, Iv) {
    match (ct, iv) {
        (Some(Value::Ciphertext(ct)), Some(Value::Iv(iv))) => (
            Ciphertext::from_bytes(ct).expect("the model checked the length"),
            Iv::from_array(iv),
        ),
        _ => unreachable!("the table puts ciphertext and iv here"),
    }
}

/// The typed event from checked fields in table order.
fn event_of(event: EventName, fields: Vec<Option<Value>>) -> ClientEvent {
    let mut f = fields.into_iter();
    let mut next = move || f.next().flatten();
    match event {
        EventName::Create => ClientEvent::Create(CreateRoom {
            room_hash: RoomHash::from_bytes(hash_of(next())),
            access_hash: AccessHash::from_bytes(hash_of(next())),
            sender_hash: SenderHash::from_bytes(hash_of(next())),
            pairing_hash: PairingHash::from_bytes(hash_of(next())),
            country_iso: match next() {
                Some(Value::Country(s)) => {
                    Some(s.parse::<CountryCode>().expect("oracle and parser agree"))
                }
                _ => None,
            },
        }),
        EventName::Join => ClientEvent::Join(JoinRoom {
            room_hash: RoomHash::from_bytes(hash_of(next())),
            access_hash: AccessHash::from_bytes(hash_of(next())),
            sender_hash: SenderHash::from_bytes(hash_of(next())),
            pairing_hash: next().map(|v| PairingHash::from_bytes(hash_of(Some(v)))),
        }),
        EventName::SendMessage => {
            let (ciphertext, iv) = sealed_of(next(), next());
            ClientEvent::SendMessage(SendMessage {
                ciphertext,
                iv,
                replaces: uuid_of(next()),
            })
        }
        EventName::ReadReceipt => ClientEvent::ReadReceipt(ReadReceipt {
            message_id: uuid_of(next()).expect("required"),
        }),
        EventName::DeleteMessage => ClientEvent::DeleteMessage(DeleteMessage {
            message_id: uuid_of(next()).expect("required"),
        }),
        EventName::EditMessage => {
            let message_id = uuid_of(next()).expect("required");
            let (ciphertext, iv) = sealed_of(next(), next());
            ClientEvent::EditMessage(EditMessage {
                message_id,
                ciphertext,
                iv,
            })
        }
        EventName::ResetPairing => ClientEvent::ResetPairing(ResetPairing {
            pairing_hash: PairingHash::from_bytes(hash_of(next())),
        }),
        EventName::ReopenPairing => ClientEvent::ReopenPairing(ReopenPairing {
            pairing_hash: PairingHash::from_bytes(hash_of(next())),
        }),
        EventName::Typing => ClientEvent::Typing,
        EventName::ExpireRoom => ClientEvent::ExpireRoom,
    }
}

fn member<'t>(members: &'t [(String, J)], name: &str) -> Option<&'t J> {
    members.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// The answer spec §7.3 assigns to the frame `tree` renders to: the checks
/// of STD1-WIRE-10 to STD1-WIRE-14 in their normative order.
pub fn expected(tree: &J) -> Result<ClientFrame, Refusal> {
    use ErrorReason as E;
    let frame_error = (None, None, E::InvalidFrame);
    // STD1-WIRE-10
    let J::Obj(members) = tree else {
        return Err(frame_error);
    };
    if !is_i_json(tree) {
        return Err(frame_error);
    }
    // STD1-WIRE-11
    let reference = match member(members, "ref") {
        Some(J::Str(s)) if syntax::is_ref(s) => s.parse::<Ref>().expect("oracle and parser agree"),
        _ => return Err(frame_error),
    };
    let refused = |event, reason| Err((Some(reference.clone()), event, reason));
    // STD1-WIRE-12
    let only_three = members
        .iter()
        .all(|(n, _)| ["event", "ref", "data"].contains(&n.as_str()));
    let (Some(J::Str(name)), Some(J::Obj(data)), true) = (
        member(members, "event"),
        member(members, "data"),
        only_three,
    ) else {
        return refused(None, E::InvalidFrame);
    };
    // STD1-WIRE-13
    let Some(event) = EventName::ALL.into_iter().find(|e| e.as_str() == name) else {
        return refused(None, E::UnknownEvent);
    };
    // STD1-WIRE-14
    match payload(event, data) {
        Ok(fields) => Ok(ClientFrame {
            reference: reference.clone(),
            event: event_of(event, fields),
        }),
        Err(reason) => refused(Some(event), reason),
    }
}
