//! Server-to-client frames: replies `{ref, ok}`, errors `{ref, error}` and
//! broadcasts `{event, data}` (STD1-WIRE-7, STD1-WIRE-8).
//!
//! Servers encode these; clients and the conformance harness decode them.
//! Decoding is strict (unknown members are refused) so that a harness notices
//! a server that sends more than the spec allows.

use std::num::NonZeroU32;

use serde::{Deserialize, Deserializer, Serialize};

use super::binary::{Ciphertext, Iv};
use super::decode::DecodeError;
use super::timestamp::Timestamp;
use crate::ids::{MessageId, Ref, RoomId, SenderHash};
use crate::reason::{ErrorDetail, ErrorReason};

/// The stored message as both parties see it (STD1-MSG-4).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub id: MessageId,
    pub sender_hash: SenderHash,
    pub ciphertext: Ciphertext,
    pub iv: Iv,
    pub sent_at: Timestamp,
    /// Always present, `null` while unread: `deserialize_with` makes serde
    /// refuse a missing member instead of reading it as `None`.
    #[serde(deserialize_with = "Option::deserialize")]
    pub read_at: Option<Timestamp>,
    pub edited: bool,
}

/// The reply to a successful `create` or `join` (STD1-JOIN-8).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joined {
    pub room_id: RoomId,
    pub ttl_expires_at: Timestamp,
    pub awaiting_party: bool,
    #[serde(deserialize_with = "Option::deserialize")]
    pub current_message: Option<Message>,
}

/// The reply to a successful `send_message` (STD1-MSG-2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sent {
    pub message_id: MessageId,
}

/// An `ok` value with no members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {}

/// What an `ok` reply carries, by the request it answers (STD1-WIRE-26).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplyBody {
    Joined(Joined),
    Sent(Sent),
    Done(Done),
}

/// The `error` object (STD1-WIRE-28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub reason: ErrorReason,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_number"
    )]
    pub attempts_remaining: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_number"
    )]
    pub retry_after: Option<u32>,
}

/// An optional member that, when present, must be a number: `null` is not
/// an allowed spelling of "absent" (STD1-WIRE-28).
fn present_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    u32::deserialize(d).map(Some)
}

impl ErrorBody {
    /// An error without extra members, for the reasons that take none.
    pub const fn plain(reason: ErrorReason) -> Self {
        Self {
            reason,
            attempts_remaining: None,
            retry_after: None,
        }
    }

    /// `unauthorized` with the failures left before the lock (STD1-JOIN-19).
    pub const fn unauthorized(attempts_remaining: NonZeroU32) -> Self {
        Self::with_attempts(ErrorReason::Unauthorized, attempts_remaining)
    }

    /// `pairing_invalid` with the failures left before the lock (STD1-JOIN-19).
    pub const fn pairing_invalid(attempts_remaining: NonZeroU32) -> Self {
        Self::with_attempts(ErrorReason::PairingInvalid, attempts_remaining)
    }

    /// `locked` with the seconds until the lock ends (STD1-JOIN-5).
    pub const fn locked(retry_after: NonZeroU32) -> Self {
        Self::with_retry(ErrorReason::Locked, retry_after)
    }

    /// `rate_limited` with the seconds until a retry can succeed (STD1-SRV-18).
    pub const fn rate_limited(retry_after: NonZeroU32) -> Self {
        Self::with_retry(ErrorReason::RateLimited, retry_after)
    }

    const fn with_attempts(reason: ErrorReason, n: NonZeroU32) -> Self {
        Self {
            reason,
            attempts_remaining: Some(n.get()),
            retry_after: None,
        }
    }

    const fn with_retry(reason: ErrorReason, seconds: NonZeroU32) -> Self {
        Self {
            reason,
            attempts_remaining: None,
            retry_after: Some(seconds.get()),
        }
    }

    /// Whether the extra members are exactly those STD1-WIRE-28 requires.
    pub fn is_well_formed(&self) -> bool {
        match self.reason.detail() {
            ErrorDetail::None => self.attempts_remaining.is_none() && self.retry_after.is_none(),
            ErrorDetail::AttemptsRemaining => {
                self.attempts_remaining.is_some_and(|n| n >= 1) && self.retry_after.is_none()
            }
            ErrorDetail::RetryAfter => {
                self.retry_after.is_some_and(|s| s >= 1) && self.attempts_remaining.is_none()
            }
        }
    }
}

/// Why a room ended (STD1-LIFE-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryCause {
    /// A party sent `expire_room`.
    Party,
    /// The room's TTL passed.
    Ttl,
}

/// Events the server pushes to sessions (STD1-WIRE-29).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "event",
    content = "data",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Broadcast {
    NewMessage(Message),
    MessageRead {
        message_id: MessageId,
        read_at: Timestamp,
    },
    MessageEdited {
        message_id: MessageId,
        ciphertext: Ciphertext,
        iv: Iv,
    },
    MessageDeleted {
        message_id: MessageId,
    },
    CounterpartyTyping {},
    PartyPaired {},
    /// The failure that set the room's lock (STD1-JOIN-26).
    RoomLocked {
        locked_until: Timestamp,
    },
    RoomExpired {
        cause: ExpiryCause,
    },
}

impl Broadcast {
    /// Every broadcast event name, in the order of the spec's table (STD1-WIRE-29).
    pub const NAMES: [&'static str; 8] = [
        "new_message",
        "message_read",
        "message_edited",
        "message_deleted",
        "counterparty_typing",
        "party_paired",
        "room_locked",
        "room_expired",
    ];

    /// The wire name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewMessage(_) => "new_message",
            Self::MessageRead { .. } => "message_read",
            Self::MessageEdited { .. } => "message_edited",
            Self::MessageDeleted { .. } => "message_deleted",
            Self::CounterpartyTyping {} => "counterparty_typing",
            Self::PartyPaired {} => "party_paired",
            Self::RoomLocked { .. } => "room_locked",
            Self::RoomExpired { .. } => "room_expired",
        }
    }
}

/// A successful reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OkReply {
    #[serde(rename = "ref")]
    pub reference: Ref,
    pub ok: ReplyBody,
}

/// An error reply; `ref` is `null` when the frame had no valid `ref`, which
/// only an `invalid_frame` error can say (STD1-WIRE-11).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    #[serde(rename = "ref", deserialize_with = "Option::deserialize")]
    pub reference: Option<Ref>,
    pub error: ErrorBody,
}

/// Any frame a server sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerFrame {
    Ok(OkReply),
    Error(ErrorReply),
    Broadcast(Broadcast),
}

impl ErrorReply {
    /// Whether the reply is one a server may send: extras that match the
    /// reason (STD1-WIRE-28), and a `null` ref only with `invalid_frame`.
    pub fn is_well_formed(&self) -> bool {
        self.error.is_well_formed()
            && (self.reference.is_some() || self.error.reason == ErrorReason::InvalidFrame)
    }
}

impl From<DecodeError> for ErrorReply {
    /// The reply to a frame the decoder refused (STD1-WIRE-9 to STD1-WIRE-14).
    fn from(e: DecodeError) -> Self {
        Self {
            reference: e.reference,
            error: ErrorBody::plain(e.reason),
        }
    }
}

impl ServerFrame {
    /// The canonical JSON text: members in declaration order, no whitespace.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .expect("server frames hold only strings, numbers, booleans, null and objects")
    }

    /// Decodes a frame received from a server; `None` if it is not exactly
    /// one of the shapes this module defines, with every member present
    /// (STD1-WIRE-26).
    pub fn from_json(text: &str) -> Option<Self> {
        // Refuse duplicate member names, as servers must (STD1-WIRE-10), and
        // arrays: no server frame has one, and serde would otherwise read a
        // struct from a positional array.
        let tree = super::json::parse(text)?;
        if tree.contains_array() {
            return None;
        }
        let frame: Self = serde_json::from_str(text).ok()?;
        match &frame {
            Self::Error(e) if !e.is_well_formed() => None,
            _ => Some(frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_that_may_be_null_must_still_be_present() {
        // STD1-WIRE-26, STD1-WIRE-11
        let joined = r#"{"ref":"1","ok":{"room_id":"00000000-0000-0000-0000-000000000000","ttl_expires_at":"2026-12-04T09:00:00Z","awaiting_party":true,"current_message":null}}"#;
        assert!(ServerFrame::from_json(joined).is_some());
        let without = joined.replace(r#","current_message":null"#, "");
        assert!(ServerFrame::from_json(&without).is_none());
        assert!(
            ServerFrame::from_json(r#"{"ref":null,"error":{"reason":"invalid_frame"}}"#).is_some()
        );
        assert!(ServerFrame::from_json(r#"{"error":{"reason":"invalid_frame"}}"#).is_none());
    }

    #[test]
    fn error_extras_must_match_the_reason() {
        // STD1-WIRE-28
        assert!(
            ServerFrame::from_json(
                r#"{"ref":"1","error":{"reason":"unauthorized","attempts_remaining":9}}"#
            )
            .is_some()
        );
        assert!(
            ServerFrame::from_json(r#"{"ref":"1","error":{"reason":"unauthorized"}}"#).is_none()
        );
        assert!(
            ServerFrame::from_json(r#"{"ref":"1","error":{"reason":"not_found","retry_after":3}}"#)
                .is_none()
        );
        assert!(
            ServerFrame::from_json(r#"{"ref":"1","error":{"reason":"locked","retry_after":0}}"#)
                .is_none()
        );
    }

    #[test]
    fn arrays_nulls_and_null_refs_are_refused() {
        // STD1-WIRE-26, STD1-WIRE-28, STD1-WIRE-11: shapes serde alone would accept.
        for text in [
            r#"{"ref":"1","ok":[]}"#,
            r#"{"ref":"1","ok":["6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"]}"#,
            r#"{"ref":"1","error":["not_found"]}"#,
            r#"{"ref":"1","error":{"reason":"not_found","attempts_remaining":null}}"#,
            r#"{"ref":"1","error":{"reason":"not_found","retry_after":null}}"#,
            r#"{"ref":null,"error":{"reason":"locked","retry_after":1}}"#,
            r#"{"ref":null,"error":{"reason":"not_found"}}"#,
            r#"{"event":"message_deleted","data":["6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"]}"#,
        ] {
            assert!(ServerFrame::from_json(text).is_none(), "{text}");
        }
    }

    #[test]
    fn decode_errors_become_well_formed_replies() {
        // STD1-WIRE-11: a refused frame's reply echoes the ref the decoder found.
        for text in ["", r#"{"event":"leave","ref":"5","data":{}}"#] {
            let err = crate::wire::decode_client_frame(text).expect_err("invalid frame");
            let reply = ErrorReply::from(err);
            assert!(reply.is_well_formed());
            let echoed = ServerFrame::from_json(&ServerFrame::Error(reply.clone()).to_json());
            assert_eq!(echoed, Some(ServerFrame::Error(reply)));
        }
    }

    #[test]
    fn unknown_members_and_duplicates_are_refused() {
        // STD1-WIRE-8, STD1-WIRE-10
        assert!(ServerFrame::from_json(r#"{"ref":"1","ok":{},"extra":1}"#).is_none());
        assert!(ServerFrame::from_json(r#"{"ref":"1","ref":"2","ok":{}}"#).is_none());
        assert!(ServerFrame::from_json(r#"{"event":"party_paired","data":{"x":1}}"#).is_none());
    }
}
