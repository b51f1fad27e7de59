//! The state of one steg number's room as the model sees it: the store's
//! three tables (room, access records, message) and the parties' sessions.
//!
//! The tables are kept as the server keeps them, not as a summary: a
//! property such as "at most one stored message" is only worth checking
//! when the state could express a second one.

use serde::{Deserialize, Serialize};

use crate::action::Pin;

/// A participant. A and B are the honest parties with different PINs; M is
/// the intruder, who knows the steg number but neither PIN (spec §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Party {
    A,
    B,
    M,
}

impl Party {
    pub const ALL: [Party; 3] = [Party::A, Party::B, Party::M];

    /// Index into per-party arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the party is one of the pair (A or B).
    pub const fn is_honest(self) -> bool {
        !matches!(self, Party::M)
    }
}

/// An access record's slot: 1 for the room's creator, 2 for the second
/// party (STD1-JOIN-1, STD1-JOIN-14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Slot {
    One,
    Two,
}

impl Slot {
    /// The other slot: the target of a code its holder re-opens
    /// (STD1-JOIN-24).
    pub const fn other(self) -> Self {
        match self {
            Slot::One => Slot::Two,
            Slot::Two => Slot::One,
        }
    }
}

/// A message id. Ids are never reused (STD1-MSG-5), so they count up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MsgId(pub u8);

/// How a record was obtained; the last is only reachable with a pairing
/// gate switched off (a seeded fault), and properties forbid it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Claim {
    /// Slot 1, by `create`.
    Created,
    /// The code's target slot, with the room's current pairing code
    /// (slot 2 of a new room, or a slot re-opened by STD1-JOIN-24).
    WithCode,
    /// A slot taken without the current code.
    WithoutCode,
}

/// One access record (STD1-JOIN-3), bound to the PIN it was claimed with:
/// a record made with B's mistyped PIN is opened by that PIN only, which
/// B does not know (Appendix C, D-46).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Record {
    pub party: Party,
    pub slot: Slot,
    pub claim: Claim,
    pub pin: Pin,
}

/// The stored message (STD1-MSG-1 to STD1-MSG-14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msg {
    pub id: MsgId,
    pub author: Party,
    /// Who marked it read, if anyone.
    pub read_by: Option<Party>,
    pub edited: bool,
    /// The author of the message this one replaced, `None` when it was
    /// sent into an empty room (turn-taking is checked on this, STD1-MSG-3).
    pub replaced_author: Option<Party>,
    /// Messages in a row that alternated authors, ending with this one,
    /// capped at 3 (for the "full exchange" example).
    pub run: u8,
}

/// The room record (STD1-SRV-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Room {
    /// Which room of this steg number it is (numbers may be reused after
    /// expiry, STD1-LIFE-5); names the pairing codes of traces.
    pub generation: u8,
    /// The target slot of the room's pairing code, while one is open:
    /// slot 2 of a new room, or the slot a party re-opened
    /// (STD1-JOIN-14, STD1-JOIN-24). `None` once a claim spent the code or
    /// its target's own login withdrew it (STD1-JOIN-16).
    pub pairing: Option<Slot>,
    /// Who made the code last (at `create`, `reset_pairing` or
    /// `reopen_pairing`): it decides who can type it ([`State::knows_code`]).
    pub code_by: Party,
    /// How many times the code was replaced, by `reset_pairing`
    /// (STD1-JOIN-17) or `reopen_pairing` (STD1-JOIN-24); the code in
    /// force is named by generation and this.
    pub code_version: u8,
    /// Failures counted since the last served lock (STD1-JOIN-18).
    pub failures: u8,
    /// Whether the room is locked. Time is abstract: the lock lasts until
    /// the `LockEnds` step.
    pub locked: bool,
    /// The networks, indexed by [`State::network_of`], that failed against
    /// the room in the current count window; during a lock they are barred
    /// (STD1-JOIN-22). Forgotten with the failures when the lock ends.
    pub barred: [bool; 3],
}

/// What a step did, kept so that properties about steps (who read, who
/// edited, whether a join passed a lock) can be stated on states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    Joined {
        party: Party,
        while_locked: bool,
        /// Whether the party's network was barred (STD1-JOIN-22).
        network_barred: bool,
    },
    /// A join refused `locked` without a look at its credentials, in a
    /// room that was locked already; `rightful` when the credentials were
    /// right (a record's PIN, or the current code for the open slot).
    LockedOut {
        rightful: bool,
        network_barred: bool,
    },
    /// A wrong PIN or code evaluated while the room was locked
    /// (STD1-JOIN-23).
    WrongWhileLocked {
        network_barred: bool,
    },
    Read {
        by: Party,
        author: Party,
    },
    Edited {
        by: Party,
        author: Party,
        was_read: bool,
    },
    Deleted {
        by: Party,
        author: Party,
        was_read: bool,
    },
    Expired {
        with_message: bool,
    },
    /// A claim replaced the record of its target slot (STD1-JOIN-25):
    /// who held it, with which PIN, and who took it, with the code or not.
    Replaced {
        slot: Slot,
        displaced: Party,
        displaced_pin: Pin,
        claimant: Party,
        pin: Pin,
        with_code: bool,
        /// Whether the displaced party had a session, which the claim
        /// closed.
        session_closed: bool,
    },
    /// A party's own login withdrew the code re-opened for its slot
    /// (STD1-JOIN-16).
    Withdrawn {
        party: Party,
    },
    /// The failure that set the lock (STD1-JOIN-18); `told` when some
    /// session of the room was there to receive `room_locked`
    /// (STD1-JOIN-26).
    Locked {
        told: bool,
    },
    /// Both parties replied to the same state, each reply valid on its own:
    /// how many were stored, and whether the other sender got an error.
    ReplyRace {
        stored: u8,
        loser_told: bool,
    },
}

/// Everything the model tracks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub room: Option<Room>,
    pub records: Vec<Record>,
    pub messages: Vec<Msg>,
    /// Whether each party holds a session on the live room.
    pub sessions: [bool; 3],
    /// Whether the intruder learns the codes one honest party hands to the
    /// other (one of the initial states says yes).
    pub intruder_has_code: bool,
    /// Whether the intruder connects from A's network (one behind the same
    /// address, STD1-SEC-9) rather than its own (one of the initial states
    /// says yes).
    pub shared_network: bool,
    pub next_msg: u8,
    pub rooms_created: u8,
    /// What the last step did, one entry per request of a race.
    pub events: Vec<Event>,
}

impl State {
    /// Nothing exists yet; the intruder knows the codes or not, and shares
    /// A's network or not.
    pub fn initial(intruder_has_code: bool, shared_network: bool) -> Self {
        Self {
            room: None,
            records: Vec::new(),
            messages: Vec::new(),
            sessions: [false; 3],
            intruder_has_code,
            shared_network,
            next_msg: 1,
            rooms_created: 0,
            events: Vec::new(),
        }
    }

    /// The current message: the newest stored one.
    pub fn current(&self) -> Option<&Msg> {
        self.messages.last()
    }

    /// The record `party` holds, if any.
    pub fn record_of(&self, party: Party) -> Option<&Record> {
        self.records.iter().find(|r| r.party == party)
    }

    /// The record a join of `party` with `pin` opens (STD1-JOIN-5 rule 3):
    /// the party's record, when it is bound to that PIN.
    pub fn record_matching(&self, party: Party, pin: Pin) -> Option<&Record> {
        self.record_of(party).filter(|r| r.pin == pin)
    }

    /// The record that holds `slot`, if any.
    pub fn holder(&self, slot: Slot) -> Option<&Record> {
        self.records.iter().find(|r| r.slot == slot)
    }

    /// The creator of the live room.
    pub fn creator(&self) -> Option<Party> {
        self.records
            .iter()
            .find(|r| r.slot == Slot::One)
            .map(|r| r.party)
    }

    /// Whether `party` can type the room's current pairing code: the
    /// honest party who made it hands it to the other honest party, and
    /// the intruder sees it when it is that kind of intruder; a code the
    /// intruder made is its own. The maker does not claim with its own
    /// code.
    pub fn knows_code(&self, party: Party) -> bool {
        let Some(room) = self.room else {
            return false;
        };
        match room.code_by {
            Party::M => party == Party::M,
            maker => party != maker && (party.is_honest() || self.intruder_has_code),
        }
    }

    /// The network `party` connects from, as an index of
    /// [`Room::barred`]: each party its own, except an intruder sharing A's
    /// (STD1-JOIN-22).
    pub fn network_of(&self, party: Party) -> usize {
        if party == Party::M && self.shared_network {
            Party::A.index()
        } else {
            party.index()
        }
    }

    pub fn has_session(&self, party: Party) -> bool {
        self.sessions[party.index()]
    }
}
