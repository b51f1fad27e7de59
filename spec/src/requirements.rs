//! The registry of requirement identifiers of `spec/std-1.md` (STD1-*).
//!
//! Code and tests cite requirements by identifier. This table is how a
//! program (the conformance harness, a coverage report) learns what an
//! identifier means, how strong it is and whom it binds. The test
//! `tests/requirements_registry.rs` keeps it identical to the text: every
//! requirement defined there is registered here once, with the same level,
//! in the same order, and every identifier cited anywhere in the crate exists.

/// The key word that makes a requirement binding (RFC 2119).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Must,
    Should,
    May,
}

impl Level {
    /// The key word as written in the specification.
    pub const fn keyword(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

/// Whom a requirement binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A server; checkable over the wire or in the server's code.
    Server,
    /// A client.
    Client,
    /// Both conformance classes.
    Both,
    /// An implementation's documentation.
    Documentation,
}

/// One numbered requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// `STD1-<AREA>-<n>`.
    pub id: &'static str,
    pub level: Level,
    pub role: Role,
    /// A short paraphrase for reports; the specification text is normative.
    pub title: &'static str,
}

impl Requirement {
    /// The area part of the identifier (`DRV`, `WIRE`, …).
    pub fn area(&self) -> &'static str {
        self.id.split('-').nth(1).unwrap_or("")
    }
}

use Level::{May, Must, Should};
use Role::{Both, Client, Documentation, Server};

const fn req(id: &'static str, level: Level, role: Role, title: &'static str) -> Requirement {
    Requirement {
        id,
        level,
        role,
        title,
    }
}

/// Every requirement of sTELgano-std-1, in the order of the text.
pub const REQUIREMENTS: &[Requirement] = &[
    req(
        "STD1-SEC-1",
        Must,
        Documentation,
        "Documentation states the threat model and claims nothing out of scope",
    ),
    req(
        "STD1-SEC-2",
        Must,
        Documentation,
        "The PIN and pairing code are not described as protecting content against a database copy",
    ),
    req(
        "STD1-SEC-3",
        Must,
        Client,
        "Passcode test: the entry screen shows two empty fields and nothing else",
    ),
    req(
        "STD1-SEC-4",
        Must,
        Client,
        "Nothing survives closing the tab (no cookies, persistent storage, workers, manifest, history)",
    ),
    req(
        "STD1-SEC-5",
        Must,
        Both,
        "No secret, identifier or message data in any URL",
    ),
    req(
        "STD1-DRV-1",
        Must,
        Both,
        "Decimal digits of every script fold to ASCII using the fixed Appendix B table",
    ),
    req(
        "STD1-DRV-2",
        Must,
        Client,
        "Steg number normalises to 7-15 ASCII digits without a leading 0",
    ),
    req(
        "STD1-DRV-3",
        Must,
        Client,
        "PIN normalisation (NFC, digit folding, trimming) and 4-64 character bound",
    ),
    req("STD1-DRV-4", Must, Both, "room_hash formula"),
    req("STD1-DRV-5", Must, Both, "access_hash formula"),
    req("STD1-DRV-6", Must, Both, "sender_hash formula"),
    req(
        "STD1-DRV-7",
        Must,
        Both,
        "enc_key is PBKDF2-HMAC-SHA-256 over the phone, salted with the server room_id",
    ),
    req(
        "STD1-DRV-8",
        Must,
        Both,
        "Hex encoding is lowercase, 64 characters per identifier",
    ),
    req(
        "STD1-DRV-9",
        Must,
        Both,
        "Salts are the exact fixed strings and not configurable",
    ),
    req(
        "STD1-DRV-10",
        Must,
        Client,
        "enc_key is derived after a successful create/join, from that reply's room_id",
    ),
    req(
        "STD1-DRV-11",
        Must,
        Client,
        "enc_key is a non-extractable in-memory key",
    ),
    req(
        "STD1-DRV-12",
        Should,
        Client,
        "PBKDF2 runs in a worker with progress, main-thread fallback",
    ),
    req(
        "STD1-ENC-1",
        Must,
        Both,
        "AES-256-GCM, 96-bit IV, 128-bit tag, no associated data, UTF-8 plaintext",
    ),
    req(
        "STD1-ENC-2",
        Must,
        Both,
        "Fresh random 12-byte IV per encryption; server refuses other IV lengths",
    ),
    req(
        "STD1-ENC-3",
        Must,
        Both,
        "Ciphertext field is GCM ciphertext with the tag appended",
    ),
    req(
        "STD1-ENC-4",
        Must,
        Client,
        "Failed authentication shows nothing of the result",
    ),
    req(
        "STD1-ENC-5",
        Must,
        Server,
        "Ciphertext size 16-8192 decoded bytes, measured after decoding",
    ),
    req(
        "STD1-ENC-6",
        Must,
        Client,
        "Plaintext at most 8176 UTF-8 bytes",
    ),
    req(
        "STD1-ENC-7",
        Must,
        Server,
        "The server never holds the key nor interprets ciphertext",
    ),
    req(
        "STD1-WIRE-1",
        Must,
        Server,
        "One WebSocket endpoint at /ws, no query string",
    ),
    req(
        "STD1-WIRE-2",
        Must,
        Both,
        "Optional subprotocol stelgano.std-1 is selected when offered",
    ),
    req(
        "STD1-WIRE-3",
        Must,
        Server,
        "Binary frames close with 1003, invalid UTF-8 with 1007",
    ),
    req(
        "STD1-WIRE-4",
        Must,
        Server,
        "Text messages up to 16384 bytes; larger ones close with 1009",
    ),
    req(
        "STD1-WIRE-5",
        Must,
        Server,
        "The WebSocket close codes a server uses; clients treat any close as the end of the session",
    ),
    req(
        "STD1-WIRE-6",
        Must,
        Server,
        "Origin allow-list on the upgrade request",
    ),
    req(
        "STD1-WIRE-32",
        Should,
        Server,
        "A closed connection is drained for a bounded time before it is dropped (lingering close)",
    ),
    req(
        "STD1-WIRE-7",
        Must,
        Both,
        "Frame shapes: request, reply, broadcast",
    ),
    req(
        "STD1-WIRE-8",
        Must,
        Both,
        "Replies carry ref, broadcasts carry event, never both; member order is insignificant",
    ),
    req("STD1-WIRE-9", Must, Both, "ref syntax and echo"),
    req(
        "STD1-WIRE-10",
        Must,
        Server,
        "A frame is one JSON object without duplicate member names, else invalid_frame with null ref",
    ),
    req(
        "STD1-WIRE-11",
        Must,
        Server,
        "A valid ref is required, else invalid_frame with null ref",
    ),
    req(
        "STD1-WIRE-12",
        Must,
        Server,
        "Exactly event, ref and data with the right types, else invalid_frame",
    ),
    req(
        "STD1-WIRE-13",
        Must,
        Server,
        "Known event name, else unknown_event",
    ),
    req(
        "STD1-WIRE-14",
        Must,
        Server,
        "Payload checks in table order: unknown, missing, wrong type, then field syntax",
    ),
    req(
        "STD1-WIRE-15",
        Must,
        Both,
        "Hash fields are 64 lowercase hex characters",
    ),
    req(
        "STD1-WIRE-16",
        Must,
        Both,
        "UUID fields are canonical lowercase hyphenated",
    ),
    req(
        "STD1-WIRE-17",
        Must,
        Both,
        "country_iso is two capital letters",
    ),
    req(
        "STD1-WIRE-18",
        Must,
        Both,
        "Binary fields are canonical padded standard base64",
    ),
    req(
        "STD1-WIRE-19",
        Must,
        Both,
        "Timestamps are YYYY-MM-DDTHH:MM:SSZ",
    ),
    req(
        "STD1-WIRE-20",
        Must,
        Server,
        "Frames of a connection are processed one at a time, one reply each, in order",
    ),
    req(
        "STD1-WIRE-21",
        Must,
        Server,
        "Session state errors: not_joined, already_joined, room_expired",
    ),
    req(
        "STD1-WIRE-22",
        Must,
        Server,
        "Rate limits apply before the event rules and never depend on room state or secrets",
    ),
    req(
        "STD1-WIRE-23",
        Must,
        Both,
        "An error reply means nothing changed, except internal_error",
    ),
    req(
        "STD1-WIRE-24",
        Should,
        Server,
        "Ping after 30 s of silence; may close after 75 s",
    ),
    req(
        "STD1-WIRE-25",
        May,
        Server,
        "May close connections that do not join within 60 s",
    ),
    req("STD1-WIRE-26", Must, Both, "ok payload of each reply"),
    req(
        "STD1-WIRE-27",
        Must,
        Server,
        "Only catalogue reasons, each for its condition",
    ),
    req(
        "STD1-WIRE-28",
        Must,
        Both,
        "attempts_remaining and retry_after accompany exactly their reasons",
    ),
    req(
        "STD1-WIRE-29",
        Must,
        Server,
        "The catalogue of broadcasts and their recipients",
    ),
    req(
        "STD1-WIRE-30",
        Must,
        Server,
        "Broadcast before reply for the requester; broadcasts in operation order",
    ),
    req(
        "STD1-WIRE-31",
        Should,
        Client,
        "Clients ignore unknown broadcasts",
    ),
    req(
        "STD1-JOIN-1",
        Must,
        Server,
        "create makes the room, slot 1 and the session atomically",
    ),
    req(
        "STD1-JOIN-2",
        Must,
        Server,
        "create on a live room answers room_exists and changes nothing",
    ),
    req("STD1-JOIN-3", Must, Server, "join never creates a room"),
    req(
        "STD1-JOIN-4",
        Must,
        Server,
        "One live room per room_hash, enforced by the store",
    ),
    req(
        "STD1-JOIN-5",
        Must,
        Server,
        "The join decision procedure (room lock checked before any credential)",
    ),
    req(
        "STD1-JOIN-6",
        Must,
        Server,
        "At most two access records, enforced by the store",
    ),
    req(
        "STD1-JOIN-7",
        Must,
        Server,
        "sender_hash is bound to the access record",
    ),
    req("STD1-JOIN-8", Must, Server, "The Joined reply"),
    req(
        "STD1-JOIN-9",
        Must,
        Server,
        "Several sessions per party are allowed",
    ),
    req(
        "STD1-JOIN-10",
        Must,
        Client,
        "Pairing codes: 8 uniform symbols of Crockford base32",
    ),
    req(
        "STD1-JOIN-11",
        Must,
        Both,
        "pairing_hash is SHA-256 of the canonical code",
    ),
    req(
        "STD1-JOIN-12",
        Must,
        Client,
        "Forgiving pairing-code input; invalid input is refused locally",
    ),
    req(
        "STD1-JOIN-13",
        Should,
        Client,
        "Pairing codes are displayed as XXXX-XXXX, translate=no",
    ),
    req(
        "STD1-JOIN-14",
        Must,
        Server,
        "Slot-2 claims: a wrong code counts a failure; a right one creates record 2 and erases the code",
    ),
    req(
        "STD1-JOIN-15",
        Must,
        Server,
        "party_paired goes to the other sessions when slot 2 is taken",
    ),
    req(
        "STD1-JOIN-16",
        Must,
        Server,
        "A returning party's pairing_hash is ignored",
    ),
    req(
        "STD1-JOIN-17",
        Must,
        Server,
        "reset_pairing replaces the code of an unpaired room",
    ),
    req(
        "STD1-JOIN-24",
        Must,
        Server,
        "reopen_pairing gives the other slot a new pairing code; its record stays until a claim replaces it",
    ),
    req(
        "STD1-JOIN-25",
        Must,
        Server,
        "A claim that replaces a record deletes it and closes its sessions with 1008 record_replaced; the slot keeps its message",
    ),
    req(
        "STD1-JOIN-18",
        Must,
        Server,
        "One failure count and lock per room: 10 failures lock it for 30 minutes; only a served lock resets it",
    ),
    req(
        "STD1-JOIN-19",
        Must,
        Server,
        "A wrong PIN or pairing code counts one failure: unauthorized or pairing_invalid with attempts left, or locked at 10",
    ),
    req(
        "STD1-JOIN-20",
        Must,
        Server,
        "A locked room admits no join from a barred origin and answers every such join alike",
    ),
    req(
        "STD1-JOIN-26",
        Must,
        Server,
        "The failure that sets a lock broadcasts room_locked with the lock time to every session, and nothing more",
    ),
    req(
        "STD1-JOIN-21",
        Must,
        Server,
        "create and join replies wait for the time floor plus jitter on every outcome",
    ),
    req(
        "STD1-JOIN-22",
        Must,
        Server,
        "Origins that failed in a room's count window are remembered in memory only and barred during a lock",
    ),
    req(
        "STD1-JOIN-23",
        Must,
        Server,
        "During a lock, an origin that is not barred is evaluated once without counting; a wrong guess bars it",
    ),
    req(
        "STD1-MSG-1",
        Must,
        Server,
        "At most one message per room, held by the operation and by a store constraint",
    ),
    req(
        "STD1-MSG-2",
        Must,
        Server,
        "send_message rules: not_your_turn, conflict, then replace and broadcast",
    ),
    req(
        "STD1-MSG-3",
        Must,
        Both,
        "Turn-taking: a party never replaces its own message",
    ),
    req("STD1-MSG-4", Must, Server, "The Message object"),
    req(
        "STD1-MSG-5",
        Must,
        Server,
        "Message ids are fresh random UUIDs",
    ),
    req(
        "STD1-MSG-6",
        Must,
        Both,
        "replaces names the message the sender saw",
    ),
    req(
        "STD1-MSG-7",
        Must,
        Server,
        "Concurrent replies into one state: one stored, the other gets conflict",
    ),
    req(
        "STD1-MSG-8",
        Must,
        Server,
        "Operations on a room are linearizable",
    ),
    req("STD1-MSG-9", Must, Server, "read_receipt rules"),
    req(
        "STD1-MSG-10",
        Must,
        Server,
        "Only the non-author marks the current message read",
    ),
    req(
        "STD1-MSG-11",
        Must,
        Client,
        "Clients never receipt their own message and receipt once",
    ),
    req("STD1-MSG-12", Must, Server, "edit_message rules"),
    req("STD1-MSG-13", Must, Client, "Edits use a fresh IV"),
    req("STD1-MSG-14", Must, Server, "delete_message rules"),
    req(
        "STD1-MSG-15",
        Must,
        Server,
        "Deleted and replaced messages are physically removed",
    ),
    req(
        "STD1-MSG-16",
        Must,
        Server,
        "typing reaches only the other party's sessions",
    ),
    req(
        "STD1-MSG-17",
        Should,
        Both,
        "Typing at most once per second",
    ),
    req(
        "STD1-MSG-18",
        Should,
        Client,
        "Typing indicator shown 3 s, cleared by a new message",
    ),
    req(
        "STD1-LIFE-1",
        Must,
        Server,
        "Every room has a finite TTL (default 7 days, at most 365)",
    ),
    req(
        "STD1-LIFE-2",
        Must,
        Server,
        "expire_room by either party: delete, broadcast, reply, close",
    ),
    req(
        "STD1-LIFE-3",
        Must,
        Server,
        "Deleting a room deletes everything of it",
    ),
    req(
        "STD1-LIFE-4",
        Must,
        Server,
        "Rooms past their TTL are absent and deleted within 60 s",
    ),
    req(
        "STD1-LIFE-5",
        Must,
        Server,
        "A deleted room's number can be created again with a new room_id",
    ),
    req(
        "STD1-LIFE-6",
        Must,
        Server,
        "room_expired cause is party or ttl",
    ),
    req(
        "STD1-LIFE-7",
        Must,
        Server,
        "On deletion each session gets pending replies, room_expired, then close 1000",
    ),
    req(
        "STD1-LIFE-8",
        Must,
        Server,
        "Frames processed after the deletion are answered room_expired",
    ),
    req(
        "STD1-LIFE-9",
        Must,
        Client,
        "On expiry the client drops the key and storage and shows nothing",
    ),
    req(
        "STD1-LIFE-10",
        Should,
        Client,
        "Clients confirm before expire_room",
    ),
    req(
        "STD1-LIFE-11",
        Should,
        Client,
        "The expired screen says whether a party or the lifetime ended the room",
    ),
    req(
        "STD1-SRV-1",
        Must,
        Server,
        "What a server may store per room",
    ),
    req("STD1-SRV-2", Must, Server, "What a server never stores"),
    req(
        "STD1-SRV-3",
        Must,
        Server,
        "room_id is a fresh CSPRNG version 4 UUID",
    ),
    req(
        "STD1-SRV-4",
        Should,
        Server,
        "Credential hashes compared in constant time or by keyed lookup",
    ),
    req(
        "STD1-SRV-5",
        Must,
        Server,
        "Room invariants enforced by store constraints",
    ),
    req(
        "STD1-SRV-6",
        Must,
        Server,
        "Operations atomic and linearizable across instances",
    ),
    req(
        "STD1-SRV-7",
        Must,
        Server,
        "One operation time per operation, from a shared clock, whole seconds",
    ),
    req(
        "STD1-SRV-8",
        Must,
        Server,
        "Deletion happens when the standard says, not later",
    ),
    req(
        "STD1-SRV-9",
        Should,
        Server,
        "Backups kept short and documented",
    ),
    req(
        "STD1-SRV-10",
        Must,
        Server,
        "country_iso only feeds unlinked aggregate counters",
    ),
    req(
        "STD1-SRV-11",
        Must,
        Server,
        "No endpoint reveals room existence; /healthz",
    ),
    req(
        "STD1-SRV-12",
        Must,
        Server,
        "Strict CSP and security headers",
    ),
    req("STD1-SRV-13", Must, Server, "GET /x panic route"),
    req("STD1-SRV-14", Must, Server, "No cookies"),
    req("STD1-SRV-15", Must, Server, "TLS only in production, HSTS"),
    req(
        "STD1-SRV-16",
        Must,
        Server,
        "Nothing a client sent, and no IP address, is logged",
    ),
    req(
        "STD1-SRV-17",
        Must,
        Server,
        "Error replies carry nothing beyond the catalogue",
    ),
    req(
        "STD1-SRV-18",
        Should,
        Server,
        "Rate limits answer rate_limited and change nothing",
    ),
    req(
        "STD1-SRV-19",
        Must,
        Server,
        "Every frame is decoded first; no input crashes the server or affects other rooms",
    ),
    req(
        "STD1-SRV-20",
        Should,
        Server,
        "Test deployments can set the time floor, lifetime, rate limits and caps",
    ),
    req(
        "STD1-SRV-21",
        Must,
        Server,
        "Rate-limit keys come from the connection; a proxy header only from trusted proxies",
    ),
    req(
        "STD1-SRV-22",
        Must,
        Server,
        "Counters are per UTC day or lifetime per country, linked to nothing",
    ),
    req(
        "STD1-SRV-23",
        Must,
        Server,
        "Operational metrics carry no identifier and are off or separately bound",
    ),
    req(
        "STD1-SRV-24",
        Must,
        Server,
        "The administration page is off without a password, authenticated in constant time",
    ),
    req(
        "STD1-SRV-25",
        Must,
        Server,
        "Stored hashes are keyed with a pepper outside the store; sender hashes are sealed",
    ),
    req(
        "STD1-SRV-26",
        Must,
        Server,
        "The pepper is 256 random bits from outside the store, shared and checked at start-up",
    ),
    req(
        "STD1-SRV-27",
        Should,
        Server,
        "Operators are told where the pepper is and what losing or changing it means",
    ),
    req(
        "STD1-SRV-28",
        Must,
        Server,
        "Acknowledged operations survive crashes and store restarts, linearizably",
    ),
    req(
        "STD1-SRV-29",
        Should,
        Server,
        "A server returns to service after store or process failures without an operator",
    ),
    req(
        "STD1-CLI-1",
        Must,
        Client,
        "All cryptography local through Web Crypto; no secret or plaintext leaves; no third-party script",
    ),
    req(
        "STD1-CLI-2",
        Must,
        Client,
        "E.164 validation against numbering-plan data with clear errors",
    ),
    req(
        "STD1-CLI-3",
        Must,
        Client,
        "Secrets only in memory, dropped on lock, end and expiry",
    ),
    req(
        "STD1-CLI-4",
        Must,
        Client,
        "The one sessionStorage entry and what it must never hold",
    ),
    req(
        "STD1-CLI-5",
        Must,
        Client,
        "History and title stay at the neutral root",
    ),
    req(
        "STD1-CLI-6",
        Must,
        Client,
        "Panic query clears storage and the URL",
    ),
    req(
        "STD1-CLI-7",
        Must,
        Client,
        "Vault isolation attributes on secret fields",
    ),
    req(
        "STD1-CLI-8",
        Must,
        Client,
        "No service worker, manifest, notifications or install prompt",
    ),
    req(
        "STD1-CLI-9",
        Must,
        Client,
        "Locking closes the socket and drops the key; the lock screen shows nothing",
    ),
    req(
        "STD1-CLI-10",
        Must,
        Client,
        "Lock on request, when hidden, and after 5 minutes idle",
    ),
    req(
        "STD1-CLI-11",
        Must,
        Client,
        "Unlock is verified by the server; 5 failures erase the session",
    ),
    req(
        "STD1-CLI-12",
        Must,
        Client,
        "Rooms are created only by an explicit action with PIN confirmation",
    ),
    req(
        "STD1-CLI-13",
        Should,
        Client,
        "Number generator, contact-card save, regenerate on room_exists",
    ),
    req(
        "STD1-CLI-14",
        Must,
        Client,
        "The pairing code is shown once and never stored",
    ),
    req(
        "STD1-CLI-15",
        Should,
        Client,
        "pairing_required without a code leads to the pairing screen",
    ),
    req(
        "STD1-CLI-16",
        Must,
        Client,
        "A pairing join answered awaiting_party: true means the same PIN; the client stops and asks for another",
    ),
    req(
        "STD1-CLI-17",
        Must,
        Client,
        "Plaintext byte limit and character counter",
    ),
    req(
        "STD1-CLI-18",
        Must,
        Client,
        "Sending disabled on one's own turn; replaces matches the shown message",
    ),
    req(
        "STD1-CLI-19",
        Must,
        Client,
        "Read receipts after 80 % visibility for 500 ms, cancelled on leaving view",
    ),
    req(
        "STD1-CLI-20",
        Must,
        Client,
        "conflict keeps the draft and shows the new state",
    ),
    req(
        "STD1-CLI-21",
        Should,
        Client,
        "Warn when less than 24 hours remain",
    ),
    req(
        "STD1-CLI-22",
        Should,
        Client,
        "Reconnect with exponential back-off and rejoin",
    ),
    req(
        "STD1-CLI-23",
        Should,
        Client,
        "Accessible live regions that never speak secrets",
    ),
    req(
        "STD1-CLI-24",
        Must,
        Client,
        "Every screen meets WCAG 2.2 A and AA",
    ),
    req(
        "STD1-CLI-25",
        Should,
        Client,
        "Numbering-plan data from a maintained source for every calling code; national forms with the trunk prefix removed; typed spacing kept",
    ),
    req(
        "STD1-CLI-26",
        Must,
        Client,
        "The PIN is typed twice before a join that carries a pairing code",
    ),
    req(
        "STD1-CLI-27",
        Must,
        Client,
        "reopen_pairing only on a fresh session opened with the PIN typed again",
    ),
    req(
        "STD1-CLI-28",
        Must,
        Client,
        "Every lock says why; fields emptied on a lock or hide are said to be",
    ),
    req(
        "STD1-CLI-29",
        Should,
        Client,
        "The creator can copy and share the masked number until the other party joins, apart from the code",
    ),
    req(
        "STD1-CLI-30",
        Must,
        Client,
        "Drafts stay editable offline and are sent on reconnection only if still the user's turn and unanswered",
    ),
    req(
        "STD1-CLI-31",
        Should,
        Client,
        "Messages and the composer follow their text's direction",
    ),
    req(
        "STD1-CLI-32",
        Must,
        Client,
        "Language and theme follow the browser and are never stored",
    ),
    req(
        "STD1-CLI-33",
        Must,
        Client,
        "Without script the client says it needs JavaScript and its forms send nothing",
    ),
    req(
        "STD1-CLI-34",
        Should,
        Client,
        "Deleting asks first and says the message was deleted",
    ),
    req(
        "STD1-CLI-35",
        Should,
        Client,
        "room_locked is shown with its time and what it means",
    ),
    req(
        "STD1-CLI-36",
        Must,
        Client,
        "After a record_replaced close the client does not rejoin and says why",
    ),
    req(
        "STD1-SEC-6",
        Must,
        Documentation,
        "Room existence is not secret from someone with the number",
    ),
    req(
        "STD1-SEC-7",
        Must,
        Documentation,
        "Limits against a database copy; keyed storage recommended",
    ),
    req(
        "STD1-SEC-8",
        Must,
        Documentation,
        "PIN guessing is online only and rate-bounded",
    ),
    req(
        "STD1-SEC-9",
        Must,
        Documentation,
        "The lockout can deny a party access",
    ),
    req(
        "STD1-SEC-10",
        Must,
        Documentation,
        "No associated data: replay by a malicious operator is possible",
    ),
    req(
        "STD1-SEC-11",
        Must,
        Documentation,
        "The server sees connection and size metadata",
    ),
    req("STD1-SEC-12", Should, Both, "Deployments are self-hostable"),
    req(
        "STD1-SEC-13",
        Must,
        Documentation,
        "What re-opening a slot lets a party, or someone with its PIN, do",
    ),
];

/// The requirement with this identifier.
pub fn find(id: &str) -> Option<&'static Requirement> {
    REQUIREMENTS.iter().find(|r| r.id == id)
}

/// The areas, in the order the text introduces them.
pub const AREAS: [&str; 9] = [
    "SEC", "DRV", "ENC", "WIRE", "JOIN", "MSG", "LIFE", "SRV", "CLI",
];

/// Every requirement identifier cited in `text`, in order of appearance,
/// with repeats. An identifier is `STD1-`, an area of capital letters, `-`
/// and a decimal number.
pub fn cited_ids(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(pos) = rest.find("STD1-") {
        let start = offset + pos;
        let tail = &text[start + 5..];
        let area_len = tail.bytes().take_while(u8::is_ascii_uppercase).count();
        let after_area = &tail[area_len..];
        let digits = after_area
            .strip_prefix('-')
            .map_or(0, |d| d.bytes().take_while(u8::is_ascii_digit).count());
        if area_len > 0 && digits > 0 {
            let end = start + 5 + area_len + 1 + digits;
            found.push(&text[start..end]);
        }
        offset = start + 5;
        rest = &text[offset..];
    }
    found
}

/// Identifiers cited in `text` that are not registered.
pub fn unknown_citations(text: &str) -> Vec<&str> {
    cited_ids(text)
        .into_iter()
        .filter(|id| find(id).is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cited_ids_finds_well_formed_identifiers_only() {
        let text = "see STD1-DRV-7, STD1-WIRE-13; not STD1-, STD1-X, STD1-abc-1 or STD1-MSG-";
        assert_eq!(cited_ids(text), vec!["STD1-DRV-7", "STD1-WIRE-13"]);
        let bogus = concat!("STD1-", "DRV-999");
        assert_eq!(
            unknown_citations(&format!("STD1-DRV-7 {bogus}")),
            vec![bogus]
        );
    }
}
