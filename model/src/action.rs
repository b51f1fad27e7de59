//! What can happen: a party's request, two requests in flight together, or
//! the passing of time and connections.

use serde::Serialize;

use crate::state::{MsgId, Party};

/// The pairing code a `join` carries (STD1-JOIN-14, STD1-JOIN-16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// No code.
    None,
    /// The room's current code.
    Current,
    /// A code that is not the room's.
    Wrong,
}

/// A request, with its arguments as the requesting client forms them from
/// what it has seen of the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    Create,
    Join { code: Code },
    SendMessage { replaces: Option<MsgId> },
    ReadReceipt { message_id: MsgId },
    EditMessage { message_id: MsgId },
    DeleteMessage { message_id: MsgId },
    Typing,
    ExpireRoom,
    ResetPairing,
}

impl Op {
    /// Whether the request needs an open session (all but create and join).
    pub fn needs_session(self) -> bool {
        !matches!(self, Op::Create | Op::Join { .. })
    }
}

/// A request of one party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Request {
    pub party: Party,
    #[serde(flatten)]
    pub op: Op,
}

/// One step of the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// One request, served alone.
    Do(Request),
    /// Two requests formed against the same state and in flight together,
    /// served in this order; the reverse order is another action, so the
    /// checker covers both serialisations (STD1-MSG-7, STD1-MSG-8).
    Race(Request, Request),
    /// The room reaches its expiry time (STD1-LIFE-4).
    TtlExpires,
    /// The room's lock time passes (STD1-JOIN-18).
    LockEnds,
    /// A party's connection closes; it may join again later.
    Disconnect(Party),
}
