//! What the parties of one room did and saw, in the order it happened.
//!
//! Both parties append to one log under a lock: an invocation is logged
//! before its frame is written and an outcome or a sighting after its
//! frame was read, so the log's order never claims that something
//! happened before something it really followed. The checker
//! ([`super::check`]) reads real-time order from it.

use std::sync::{Mutex, MutexGuard, PoisonError};

use stelgano_spec::ErrorReason;
use stelgano_spec::ids::{MessageId, SenderHash};
use stelgano_spec::wire::Message;

use crate::linearizable::Side;

/// What a party asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `join` with the party's credentials (a rejoin, STD1-CLI-22).
    Join,
    /// `send_message`; the ciphertext is random, so it names the message
    /// wherever it is seen later, whoever reports it.
    Send {
        replaces: Option<MessageId>,
        ciphertext: Vec<u8>,
    },
}

/// A message as a party or the database showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub id: MessageId,
    pub sender: SenderHash,
    pub ciphertext: Vec<u8>,
}

impl From<&Message> for Sighting {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id,
            sender: m.sender_hash,
            ciphertext: m.ciphertext.as_bytes().to_vec(),
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `join` answered with the room's current message.
    Joined(Option<Sighting>),
    /// `send_message` acknowledged with the new message's id.
    Sent(MessageId),
    /// An error reply other than `internal_error`.
    Refused(ErrorReason),
    /// No answer that settles it: the connection ended or timed out
    /// before the reply, or the reply was `internal_error` (the store may
    /// have committed before it failed). The request may or may not have
    /// taken effect.
    Unknown(String),
}

/// One request.
#[derive(Debug, Clone)]
pub struct Operation {
    pub party: Side,
    pub call: Call,
    /// `None` while the request is in flight.
    pub outcome: Option<Outcome>,
}

/// An entry of the log.
#[derive(Debug, Clone)]
pub enum Event {
    /// Operation `n` was invoked (its frame about to be written).
    Invoke(usize),
    /// Operation `n` was answered (not logged for unknown outcomes).
    Return(usize),
    /// A party's session began: its `join` was answered with the room's
    /// current message. `session` counts the party's connections.
    Session {
        party: Side,
        session: u64,
        current: Option<Sighting>,
    },
    /// A party saw a `new_message` broadcast in a session; within one
    /// session broadcasts come in the room's order (STD1-WIRE-30).
    Saw {
        party: Side,
        session: u64,
        message: Sighting,
    },
    /// Something the protocol does not allow here, seen as it happened
    /// (a reply to another request, a room that expired, a frame that is
    /// not std-1): a violation of `requirement`.
    Anomaly {
        requirement: &'static str,
        what: String,
    },
}

/// A room's operations and its log.
#[derive(Debug, Default, Clone)]
pub struct RoomHistory {
    pub operations: Vec<Operation>,
    pub events: Vec<Event>,
}

/// A room's history, shared by its two parties.
#[derive(Debug, Default)]
pub struct SharedHistory(Mutex<RoomHistory>);

impl SharedHistory {
    fn lock(&self) -> MutexGuard<'_, RoomHistory> {
        // A party that panicked mid-append leaves at worst a missing
        // entry, which the checker reports as an unknown outcome.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs an invocation; returns the operation's number.
    pub fn invoke(&self, party: Side, call: Call) -> usize {
        let mut h = self.lock();
        let n = h.operations.len();
        h.operations.push(Operation {
            party,
            call,
            outcome: None,
        });
        h.events.push(Event::Invoke(n));
        n
    }

    /// Logs how operation `n` ended; an unknown outcome has no return.
    pub fn finish(&self, n: usize, outcome: Outcome) {
        let mut h = self.lock();
        let returned = !matches!(outcome, Outcome::Unknown(_));
        if let Some(op) = h.operations.get_mut(n) {
            op.outcome = Some(outcome);
        }
        if returned {
            h.events.push(Event::Return(n));
        }
    }

    /// Logs that `join` operation `n` was answered with `current`, which
    /// opened a session.
    pub fn joined(&self, n: usize, party: Side, session: u64, current: Option<Sighting>) {
        let mut h = self.lock();
        if let Some(op) = h.operations.get_mut(n) {
            op.outcome = Some(Outcome::Joined(current.clone()));
        }
        h.events.push(Event::Return(n));
        h.events.push(Event::Session {
            party,
            session,
            current,
        });
    }

    /// Logs a `new_message` broadcast.
    pub fn saw(&self, party: Side, session: u64, message: Sighting) {
        self.lock().events.push(Event::Saw {
            party,
            session,
            message,
        });
    }

    /// Logs an anomaly, a violation of `requirement`.
    pub fn anomaly(&self, requirement: &'static str, what: String) {
        self.lock()
            .events
            .push(Event::Anomaly { requirement, what });
    }

    /// A copy of the history so far.
    pub fn snapshot(&self) -> RoomHistory {
        self.lock().clone()
    }
}
