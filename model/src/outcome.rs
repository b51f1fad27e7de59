//! What the spec requires a server to answer to a step: the requester's
//! reply and the broadcast each session receives. Traces carry these as
//! the expected results.

use serde::{Deserialize, Serialize};
use stelgano_spec::ErrorReason;

use crate::state::{MsgId, Party};

/// A message as a reply or broadcast shows it (STD1-WIRE-26), with the
/// author named by party rather than by sender hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageView {
    pub id: MsgId,
    pub author: Party,
    pub read: bool,
    pub edited: bool,
}

/// The reply to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reply")]
pub enum Reply {
    /// A session opened (STD1-JOIN-8).
    Joined {
        awaiting_party: bool,
        current_message: Option<MessageView>,
    },
    /// `{"message_id": …}` (STD1-MSG-2).
    Sent { message_id: MsgId },
    /// `{}`.
    Done,
    /// An error reply; `attempts_remaining` for `unauthorized` and
    /// `pairing_invalid` (STD1-JOIN-19). `locked` also carries
    /// `retry_after`, the server's lock duration, which traces leave to the
    /// server's configuration.
    Error {
        reason: ErrorReason,
        #[serde(skip_serializing_if = "Option::is_none")]
        attempts_remaining: Option<u8>,
    },
}

impl Reply {
    pub fn error(reason: ErrorReason) -> Self {
        Reply::Error {
            reason,
            attempts_remaining: None,
        }
    }
}

/// Why a room ended (STD1-LIFE-6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Party,
    Ttl,
}

/// A broadcast (STD1-WIRE-29).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Broadcast {
    PartyPaired,
    NewMessage {
        message_id: MsgId,
        author: Party,
    },
    MessageRead {
        message_id: MsgId,
    },
    MessageEdited {
        message_id: MsgId,
    },
    MessageDeleted {
        message_id: MsgId,
    },
    CounterpartyTyping,
    /// The failure that set the lock (STD1-JOIN-26). Its `locked_until`
    /// is the server's clock plus its lock duration, which traces leave
    /// to the server's configuration.
    RoomLocked,
    RoomExpired {
        cause: Cause,
    },
}

/// A broadcast and the party whose session receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Delivery {
    pub to: Party,
    #[serde(flatten)]
    pub broadcast: Broadcast,
}

/// Everything a step makes the server send.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Outcome {
    /// The requester's reply; none for steps of time or connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// Broadcasts in the order each session receives them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broadcasts: Vec<Delivery>,
    /// Sessions the server closes because the room ended (status 1000,
    /// `room_expired`, STD1-LIFE-7).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<Party>,
    /// Sessions the server closes because a claim replaced their access
    /// record (status 1008, `record_replaced`, STD1-JOIN-25, STD1-WIRE-5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<Party>,
    /// The request reached a session that the other request of a race
    /// ended: its room was deleted, and the server answers `room_expired`
    /// (STD1-LIFE-8), or its record was replaced, and the server answers
    /// `not_joined` (STD1-JOIN-25); or the server closes the session
    /// before it processes the frame and answers nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reply_may_be_missing: bool,
}
