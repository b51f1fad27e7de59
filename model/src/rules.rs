//! The server's rules for each request (spec §§8–10), as a pure function
//! of the state. A seeded fault switches one guard off.

use stelgano_spec::ErrorReason;

use crate::action::{Code, Op, Pin, Request};
use crate::outcome::{Broadcast, Cause, Delivery, MessageView, Outcome, Reply};
use crate::state::{Claim, Event, Msg, MsgId, Party, Record, Room, Slot, State};

/// A guard of the server that a seeded fault switches off, to show that
/// some property then fails (the properties are not vacuous).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The author may replace its own message (STD1-MSG-2 rule 1).
    NoTurnTaking,
    /// Slot 2 may be claimed again after pairing, beside its record
    /// (STD1-JOIN-6, STD1-JOIN-14).
    NoSlotLimit,
    /// The author may mark its own message read (STD1-MSG-9).
    ReadByAuthor,
    /// A read message may be edited or deleted (STD1-MSG-12, STD1-MSG-14).
    EditAfterRead,
    /// Any code claims slot 2 (STD1-JOIN-14).
    NoPairingGate,
    /// A locked room evaluates credentials even from a barred network
    /// (STD1-JOIN-20).
    LockIgnored,
    /// A locked room bars every network, the rule std-1 first had
    /// (STD1-JOIN-23, D-45).
    HardLock,
    /// Any code replaces the record of an occupied slot, as if the gate
    /// were only checked for an empty one (STD1-JOIN-14, STD1-JOIN-25).
    OpenReplacement,
    /// The replaced record's sessions stay open (STD1-JOIN-25).
    KeepReplacedSessions,
    /// The target's own login leaves a re-opened code standing
    /// (STD1-JOIN-16).
    KeepCodeOnLogin,
}

impl Fault {
    pub const ALL: [Fault; 10] = [
        Fault::NoTurnTaking,
        Fault::NoSlotLimit,
        Fault::ReadByAuthor,
        Fault::EditAfterRead,
        Fault::NoPairingGate,
        Fault::LockIgnored,
        Fault::HardLock,
        Fault::OpenReplacement,
        Fault::KeepReplacedSessions,
        Fault::KeepCodeOnLogin,
    ];
}

/// The rules, with the lockout threshold and at most one fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rules {
    /// Failures that lock the room (the spec's `L`; 3 in the model, which
    /// a server under replay is configured with, STD1-JOIN-18).
    pub lockout_attempts: u8,
    pub fault: Option<Fault>,
}

/// What a request makes the server send besides its reply.
#[derive(Default)]
struct Sends {
    broadcasts: Vec<Delivery>,
    /// Sessions closed because the room ended (STD1-LIFE-7).
    closed: Vec<Party>,
    /// Sessions closed because their record was replaced (STD1-JOIN-25).
    replaced: Vec<Party>,
}

impl Rules {
    fn guarded(&self, fault: Fault) -> bool {
        self.fault != Some(fault)
    }

    /// Serves one request against `state`.
    pub fn serve(&self, state: &State, request: Request) -> (State, Outcome) {
        let mut next = state.clone();
        let party = request.party;
        if request.op.needs_session() && !state.has_session(party) {
            // Only reachable when a request raced an expiry (STD1-LIFE-8)
            // or a claim that replaced the requester's record
            // (STD1-JOIN-25): either way the request changes nothing.
            let reason = if state.room.is_some() {
                ErrorReason::NotJoined
            } else {
                ErrorReason::RoomExpired
            };
            return (
                next,
                Outcome {
                    reply: Some(Reply::error(reason)),
                    reply_may_be_missing: true,
                    ..Outcome::default()
                },
            );
        }
        let mut sends = Sends::default();
        let out = &mut sends.broadcasts;
        let reply = match request.op {
            Op::Create => self.create(&mut next, party),
            Op::Join { code, pin } => self.join(&mut next, party, code, pin, &mut sends),
            Op::SendMessage { replaces } => self.send(&mut next, party, replaces, out),
            Op::ReadReceipt { message_id } => self.read(&mut next, party, message_id, out),
            Op::EditMessage { message_id } => self.edit(&mut next, party, message_id, out),
            Op::DeleteMessage { message_id } => self.delete(&mut next, party, message_id, out),
            Op::Typing => typing(&next, party, out),
            Op::ExpireRoom => {
                end_room(&mut next, Cause::Party, out, &mut sends.closed);
                Reply::Done
            }
            Op::ResetPairing => reset_pairing(&mut next, party),
            Op::ReopenPairing => reopen_pairing(&mut next, party),
        };
        (
            next,
            Outcome {
                reply: Some(reply),
                broadcasts: sends.broadcasts,
                closed: sends.closed,
                replaced: sends.replaced,
                reply_may_be_missing: false,
            },
        )
    }

    /// STD1-JOIN-1, STD1-JOIN-2.
    fn create(&self, s: &mut State, party: Party) -> Reply {
        if s.room.is_some() {
            return Reply::error(ErrorReason::RoomExists);
        }
        s.rooms_created += 1;
        s.room = Some(Room {
            generation: s.rooms_created,
            pairing: Some(Slot::Two),
            code_by: party,
            code_version: 0,
            failures: 0,
            locked: false,
            barred: [false; 3],
        });
        s.records.push(Record {
            party,
            slot: Slot::One,
            claim: Claim::Created,
            pin: Pin::Own,
        });
        s.sessions[party.index()] = true;
        Reply::Joined {
            awaiting_party: true,
            current_message: None,
        }
    }

    /// STD1-JOIN-5 and the rules it names; during a lock, STD1-JOIN-22
    /// and STD1-JOIN-23.
    fn join(&self, s: &mut State, party: Party, code: Code, pin: Pin, sends: &mut Sends) -> Reply {
        let Some(room) = s.room else {
            return Reply::error(ErrorReason::NotFound);
        };
        let barred = room.barred[s.network_of(party)];
        let refused =
            (barred && self.guarded(Fault::LockIgnored)) || !self.guarded(Fault::HardLock);
        if room.locked && refused {
            let rightful = rightful(s, party, code, pin);
            s.events.push(Event::LockedOut {
                rightful,
                network_barred: barred,
            });
            return Reply::error(ErrorReason::Locked);
        }
        if let Some(record) = s.record_matching(party, pin).copied() {
            // Rule 3: a returning party; any code is ignored, and a code
            // re-opened for its own slot is withdrawn (STD1-JOIN-16).
            if room.pairing == Some(record.slot)
                && self.guarded(Fault::KeepCodeOnLogin)
                && let Some(room) = s.room.as_mut()
            {
                room.pairing = None;
                s.events.push(Event::Withdrawn { party });
            }
            return open_session(s, party, room.locked, barred);
        }
        // Rule 4: a claim on the code's target slot (STD1-JOIN-14).
        let target = if self.guarded(Fault::NoSlotLimit) {
            room.pairing
        } else {
            room.pairing
                .or((!s.records.is_empty()).then_some(Slot::Two))
        };
        if let Some(target) = target
            && code != Code::None
        {
            // Only the code in force; a replaced one is as wrong as any.
            let right = code == Code::Current && s.knows_code(party);
            let occupied = s.holder(target).is_some();
            let gated = self.guarded(Fault::NoPairingGate)
                && (!occupied || self.guarded(Fault::OpenReplacement));
            if !right && gated {
                return self.failure(s, party, ErrorReason::PairingInvalid, &mut sends.broadcasts);
            }
            // Rule 2 (`sender_mismatch`) cannot arise: every party presents
            // its own sender hash here.
            return self.claim(s, party, target, right, pin, sends, barred);
        }
        // Rule 5: a wrong PIN (STD1-JOIN-19).
        self.failure(s, party, ErrorReason::Unauthorized, &mut sends.broadcasts)
    }

    /// Rule 3 of STD1-JOIN-14: the target slot's record is made from the
    /// request, replacing the one that held the slot (STD1-JOIN-25); the
    /// code is spent; the other slot's sessions learn of it
    /// (STD1-JOIN-15).
    #[allow(clippy::too_many_arguments)]
    fn claim(
        &self,
        s: &mut State,
        party: Party,
        target: Slot,
        right: bool,
        pin: Pin,
        sends: &mut Sends,
        network_barred: bool,
    ) -> Reply {
        let locked = s.room.is_some_and(|r| r.locked);
        let displaced = if self.guarded(Fault::NoSlotLimit) {
            let old = s.holder(target).copied();
            s.records.retain(|r| r.slot != target);
            old
        } else {
            None
        };
        s.records.push(Record {
            party,
            slot: target,
            claim: if right {
                Claim::WithCode
            } else {
                Claim::WithoutCode
            },
            pin,
        });
        s.records.sort_by_key(|r| r.slot);
        if self.guarded(Fault::NoSlotLimit)
            && let Some(room) = s.room.as_mut()
        {
            room.pairing = None;
        }
        if let Some(old) = displaced {
            let mut session_closed = false;
            if old.party != party {
                // Authorship is by slot: the slot's message stays the
                // slot's, now under the claimant (STD1-JOIN-25).
                reassign(s, old.party, party);
                if s.has_session(old.party) && self.guarded(Fault::KeepReplacedSessions) {
                    s.sessions[old.party.index()] = false;
                    sends.replaced.push(old.party);
                    session_closed = true;
                }
            }
            s.events.push(Event::Replaced {
                slot: target,
                displaced: old.party,
                displaced_pin: old.pin,
                claimant: party,
                pin,
                with_code: right,
                session_closed,
            });
        }
        // The other slot's sessions learn of it, not the replaced record's
        // (STD1-JOIN-15).
        for holder in s.records.iter().filter(|r| r.slot != target) {
            if s.has_session(holder.party) {
                sends.broadcasts.push(Delivery {
                    to: holder.party,
                    broadcast: Broadcast::PartyPaired,
                });
            }
        }
        open_session(s, party, locked, network_barred)
    }

    /// One more failure (STD1-JOIN-18, STD1-JOIN-19); the party's network
    /// is barred for the rest of the count window (STD1-JOIN-22). The
    /// failure that sets the lock tells every session (STD1-JOIN-26).
    fn failure(
        &self,
        s: &mut State,
        party: Party,
        reason: ErrorReason,
        out: &mut Vec<Delivery>,
    ) -> Reply {
        let network = s.network_of(party);
        let Some(room) = s.room.as_mut() else {
            return Reply::error(ErrorReason::NotFound);
        };
        let network_barred = std::mem::replace(&mut room.barred[network], true);
        if room.locked {
            // Nothing is counted during a lock; the answer is a refusal's
            // (STD1-JOIN-23).
            s.events.push(Event::WrongWhileLocked { network_barred });
            return Reply::error(ErrorReason::Locked);
        }
        room.failures += 1;
        if room.failures < self.lockout_attempts {
            return Reply::Error {
                reason,
                attempts_remaining: Some(self.lockout_attempts - room.failures),
            };
        }
        room.locked = true;
        let told = Party::ALL.iter().any(|&p| s.has_session(p));
        broadcast(s, Broadcast::RoomLocked, out);
        s.events.push(Event::Locked { told });
        Reply::error(ErrorReason::Locked)
    }

    /// STD1-MSG-2, STD1-MSG-3.
    fn send(
        &self,
        s: &mut State,
        party: Party,
        replaces: Option<MsgId>,
        out: &mut Vec<Delivery>,
    ) -> Reply {
        let current = s.current().copied();
        if current.is_some_and(|m| m.author == party) && self.guarded(Fault::NoTurnTaking) {
            return Reply::error(ErrorReason::NotYourTurn);
        }
        if replaces != current.map(|m| m.id) {
            return Reply::error(ErrorReason::Conflict);
        }
        let id = MsgId(s.next_msg);
        s.next_msg += 1;
        let run = match current {
            Some(m) if m.author != party => (m.run + 1).min(3),
            _ => 1,
        };
        // The reply deletes the previous message in the same step (STD1-MSG-1).
        s.messages.clear();
        s.messages.push(Msg {
            id,
            author: party,
            read_by: None,
            edited: false,
            replaced_author: current.map(|m| m.author),
            run,
        });
        broadcast(
            s,
            Broadcast::NewMessage {
                message_id: id,
                author: party,
            },
            out,
        );
        Reply::Sent { message_id: id }
    }

    /// STD1-MSG-9, STD1-MSG-10.
    fn read(&self, s: &mut State, party: Party, id: MsgId, out: &mut Vec<Delivery>) -> Reply {
        let Some(m) = s.messages.last_mut().filter(|m| m.id == id) else {
            return Reply::error(ErrorReason::NotFound);
        };
        if m.author == party && self.guarded(Fault::ReadByAuthor) {
            return Reply::error(ErrorReason::OwnMessage);
        }
        if m.read_by.is_some() {
            return Reply::error(ErrorReason::AlreadyRead);
        }
        m.read_by = Some(party);
        let author = m.author;
        s.events.push(Event::Read { by: party, author });
        broadcast(s, Broadcast::MessageRead { message_id: id }, out);
        Reply::Done
    }

    /// STD1-MSG-12.
    fn edit(&self, s: &mut State, party: Party, id: MsgId, out: &mut Vec<Delivery>) -> Reply {
        let Some(m) = s.messages.last_mut().filter(|m| m.id == id) else {
            return Reply::error(ErrorReason::NotFound);
        };
        if m.author != party {
            return Reply::error(ErrorReason::NotAuthor);
        }
        let was_read = m.read_by.is_some();
        if was_read && self.guarded(Fault::EditAfterRead) {
            return Reply::error(ErrorReason::NotEditable);
        }
        m.edited = true;
        let author = m.author;
        s.events.push(Event::Edited {
            by: party,
            author,
            was_read,
        });
        broadcast(s, Broadcast::MessageEdited { message_id: id }, out);
        Reply::Done
    }

    /// STD1-MSG-14.
    fn delete(&self, s: &mut State, party: Party, id: MsgId, out: &mut Vec<Delivery>) -> Reply {
        let Some(m) = s.current().copied().filter(|m| m.id == id) else {
            return Reply::error(ErrorReason::NotFound);
        };
        if m.author != party {
            return Reply::error(ErrorReason::NotAuthor);
        }
        let was_read = m.read_by.is_some();
        if was_read && self.guarded(Fault::EditAfterRead) {
            return Reply::error(ErrorReason::NotDeletable);
        }
        s.messages.pop();
        s.events.push(Event::Deleted {
            by: party,
            author: m.author,
            was_read,
        });
        broadcast(s, Broadcast::MessageDeleted { message_id: id }, out);
        Reply::Done
    }

    /// The room reaches its expiry time (STD1-LIFE-4).
    pub fn ttl_expires(&self, state: &State) -> (State, Outcome) {
        let mut next = state.clone();
        let mut outcome = Outcome::default();
        end_room(
            &mut next,
            Cause::Ttl,
            &mut outcome.broadcasts,
            &mut outcome.closed,
        );
        (next, outcome)
    }
}

/// Whether a join carries right credentials: the PIN of a record the
/// party holds, or, for the code's target slot, the code in force.
fn rightful(s: &State, party: Party, code: Code, pin: Pin) -> bool {
    let open = s.room.is_some_and(|r| r.pairing.is_some());
    s.record_matching(party, pin).is_some()
        || (open && code == Code::Current && s.knows_code(party))
}

/// Hands what `from` authored or read to `to`, who took its slot:
/// authorship is by slot (STD1-JOIN-25).
fn reassign(s: &mut State, from: Party, to: Party) {
    let swap = |p: &mut Party| {
        if *p == from {
            *p = to;
        }
    };
    for m in &mut s.messages {
        swap(&mut m.author);
        if let Some(reader) = m.read_by.as_mut() {
            swap(reader);
        }
        if let Some(author) = m.replaced_author.as_mut() {
            swap(author);
        }
    }
}

/// Opens a session for a party that holds a record (STD1-JOIN-8).
fn open_session(s: &mut State, party: Party, while_locked: bool, network_barred: bool) -> Reply {
    s.sessions[party.index()] = true;
    s.events.push(Event::Joined {
        party,
        while_locked,
        network_barred,
    });
    Reply::Joined {
        awaiting_party: s.records.len() < 2,
        current_message: s.current().map(view),
    }
}

pub fn view(m: &Msg) -> MessageView {
    MessageView {
        id: m.id,
        author: m.author,
        read: m.read_by.is_some(),
        edited: m.edited,
    }
}

/// Sends `b` to every session of the room.
fn broadcast(s: &State, b: Broadcast, out: &mut Vec<Delivery>) {
    for party in Party::ALL {
        if s.has_session(party) {
            out.push(Delivery {
                to: party,
                broadcast: b,
            });
        }
    }
}

/// STD1-MSG-16: to the other record's sessions only.
fn typing(s: &State, party: Party, out: &mut Vec<Delivery>) -> Reply {
    for record in s.records.iter().filter(|r| r.party != party) {
        if s.has_session(record.party) {
            out.push(Delivery {
                to: record.party,
                broadcast: Broadcast::CounterpartyTyping,
            });
        }
    }
    Reply::Done
}

/// STD1-JOIN-17.
fn reset_pairing(s: &mut State, party: Party) -> Reply {
    match s.room.as_mut() {
        Some(room) if s.records.len() == 1 => {
            room.code_version += 1;
            room.pairing = Some(Slot::Two);
            room.code_by = party;
            Reply::Done
        }
        _ => Reply::error(ErrorReason::AlreadyPaired),
    }
}

/// STD1-JOIN-24: the requester's other slot becomes the target of a new
/// code; its record, if any, stays valid until a claim replaces it. In a
/// room with one record, what `reset_pairing` does.
fn reopen_pairing(s: &mut State, party: Party) -> Reply {
    let Some(slot) = s.record_of(party).map(|r| r.slot) else {
        return Reply::error(ErrorReason::NotJoined);
    };
    if let Some(room) = s.room.as_mut() {
        room.code_version += 1;
        room.pairing = Some(slot.other());
        room.code_by = party;
    }
    Reply::Done
}

/// Deletes everything of the room and ends its sessions (STD1-LIFE-2,
/// STD1-LIFE-3, STD1-LIFE-7).
fn end_room(s: &mut State, cause: Cause, out: &mut Vec<Delivery>, closed: &mut Vec<Party>) {
    let with_message = !s.messages.is_empty();
    broadcast(s, Broadcast::RoomExpired { cause }, out);
    for party in Party::ALL {
        if s.has_session(party) {
            closed.push(party);
        }
    }
    s.room = None;
    s.records.clear();
    s.messages.clear();
    s.sessions = [false; 3];
    s.events.push(Event::Expired { with_message });
}
