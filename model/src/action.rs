//! What can happen: a party's request, two requests in flight together, or
//! the passing of time and connections.

use serde::{Deserialize, Serialize};

use crate::state::{MsgId, Party};

/// The pairing code a `join` carries (STD1-JOIN-14, STD1-JOIN-16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// No code.
    None,
    /// The room's current code.
    Current,
    /// A code that is not the room's.
    Wrong,
    /// The code made before the current one, replaced by `reset_pairing`
    /// (STD1-JOIN-17) or `reopen_pairing` (STD1-JOIN-24).
    Previous,
}

/// The PIN a `join` is made with. Only B's claims with a code may slip
/// (Appendix C, D-46): a claim binds the slot to the PIN typed, and B's
/// own PIN then no longer opens it (STD1-JOIN-5 rule 3, STD1-JOIN-14).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    /// The party's own PIN.
    #[default]
    Own,
    /// A mistyped PIN, the same mistype every time it occurs in a trace.
    Typo,
}

impl Pin {
    /// Whether the PIN is the party's own (omitted from traces then, so
    /// that traces written before the slip was modelled read the same).
    pub fn is_own(&self) -> bool {
        *self == Pin::Own
    }
}

/// A request, with its arguments as the requesting client forms them from
/// what it has seen of the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    Create,
    Join {
        code: Code,
        #[serde(default, skip_serializing_if = "Pin::is_own")]
        pin: Pin,
    },
    SendMessage {
        replaces: Option<MsgId>,
    },
    ReadReceipt {
        message_id: MsgId,
    },
    EditMessage {
        message_id: MsgId,
    },
    DeleteMessage {
        message_id: MsgId,
    },
    Typing,
    ExpireRoom,
    ResetPairing,
    /// Re-opens the requester's other slot behind a new code (STD1-JOIN-24).
    ReopenPairing,
}

impl Op {
    /// A join with the party's own PIN.
    pub const fn join(code: Code) -> Self {
        Op::Join {
            code,
            pin: Pin::Own,
        }
    }

    /// Whether the request needs an open session (all but create and join).
    pub fn needs_session(self) -> bool {
        !matches!(self, Op::Create | Op::Join { .. })
    }
}

/// A request of one party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let party = self.party;
        match self.op {
            Op::Create => write!(f, "{party:?} create"),
            Op::Join {
                code,
                pin: Pin::Own,
            } => write!(f, "{party:?} join (code: {code:?})"),
            Op::Join { code, pin } => write!(f, "{party:?} join (code: {code:?}, pin: {pin:?})"),
            Op::SendMessage { replaces: None } => write!(f, "{party:?} send"),
            Op::SendMessage { replaces: Some(id) } => {
                write!(f, "{party:?} send replacing m{}", id.0)
            }
            Op::ReadReceipt { message_id } => write!(f, "{party:?} read m{}", message_id.0),
            Op::EditMessage { message_id } => write!(f, "{party:?} edit m{}", message_id.0),
            Op::DeleteMessage { message_id } => write!(f, "{party:?} delete m{}", message_id.0),
            Op::Typing => write!(f, "{party:?} typing"),
            Op::ExpireRoom => write!(f, "{party:?} expire"),
            Op::ResetPairing => write!(f, "{party:?} reset pairing"),
            Op::ReopenPairing => write!(f, "{party:?} reopen pairing"),
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Do(request) => write!(f, "{request}"),
            Action::Race(first, second) => write!(f, "race: {first}, then {second}"),
            Action::TtlExpires => write!(f, "TTL expires"),
            Action::LockEnds => write!(f, "lock ends"),
            Action::Disconnect(party) => write!(f, "{party:?} disconnects"),
        }
    }
}
