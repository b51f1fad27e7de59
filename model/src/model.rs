//! The room protocol as a stateright [`Model`]: which steps each state
//! allows, what they lead to, and the properties every reachable state
//! must have.

use stateright::{Model, Property};

use crate::action::{Action, Code, Op, Pin, Request};
use crate::outcome::{Outcome, Reply};
use crate::rules::{Fault, Rules};
use crate::state::{Claim, Event, Party, Slot, State};

/// The model with its bounds.
#[derive(Clone, Debug)]
pub struct RoomModel {
    pub rules: Rules,
    /// Messages sent in all (ids 1 to this).
    pub max_messages: u8,
    /// Rooms created for the steg number (a second after an expiry shows
    /// the number is reusable, STD1-LIFE-5).
    pub max_rooms: u8,
    /// Times the pairing code may be replaced per room, by
    /// `reset_pairing` or `reopen_pairing`.
    pub max_code_resets: u8,
    /// Whether pairs of requests may be in flight together. The checks
    /// always include them; the corpus covers states by paths without them
    /// and adds each race as a last step (`trace`).
    pub races: bool,
}

impl RoomModel {
    /// The bounds the checks and the trace corpus use; README.md explains
    /// why they suffice.
    pub fn standard() -> Self {
        Self {
            rules: Rules {
                lockout_attempts: 3,
                fault: None,
            },
            max_messages: 3,
            max_rooms: 2,
            max_code_resets: 1,
            races: true,
        }
    }

    /// The standard model with one guard switched off.
    pub fn with_fault(fault: Fault) -> Self {
        let mut model = Self::standard();
        model.rules.fault = Some(fault);
        model
    }

    /// The request `party` would make for `op` in `state`: its arguments
    /// come from what the party's session has seen, which, broadcasts
    /// being delivered with each step, is the current state.
    fn request(state: &State, party: Party, kind: OpKind) -> Option<Request> {
        let current = state.current().map(|m| m.id);
        let op = match kind {
            OpKind::Send => Op::SendMessage { replaces: current },
            OpKind::Read => Op::ReadReceipt {
                message_id: current?,
            },
            OpKind::Edit => Op::EditMessage {
                message_id: current?,
            },
            OpKind::Delete => Op::DeleteMessage {
                message_id: current?,
            },
            OpKind::Expire => Op::ExpireRoom,
            OpKind::Claim => Op::join(if state.knows_code(party) {
                Code::Current
            } else {
                Code::Wrong
            }),
        };
        Some(Request { party, op })
    }

    /// Serves an action, with what the server sends; `None` when the
    /// action is not enabled.
    pub fn step(&self, state: &State, action: Action) -> Option<(State, Vec<Outcome>)> {
        let mut base = state.clone();
        base.events.clear();
        let state = &base;
        match action {
            Action::Do(request) => {
                let (next, outcome) = self.rules.serve(state, request);
                Some((next, vec![outcome]))
            }
            Action::Race(first, second) => {
                let (middle, one) = self.rules.serve(state, first);
                let (mut next, two) = self.rules.serve(&middle, second);
                if is_reply_race(state, first, second) {
                    let sent = |o: &Outcome| matches!(o.reply, Some(Reply::Sent { .. }));
                    let refused = |o: &Outcome| matches!(o.reply, Some(Reply::Error { .. }));
                    next.events.push(Event::ReplyRace {
                        stored: u8::from(sent(&one)) + u8::from(sent(&two)),
                        loser_told: refused(&one) || refused(&two),
                    });
                }
                Some((next, vec![one, two]))
            }
            Action::TtlExpires => {
                state.room?;
                let (next, outcome) = self.rules.ttl_expires(state);
                Some((next, vec![outcome]))
            }
            Action::LockEnds => {
                let mut next = state.clone();
                let room = next.room.as_mut().filter(|r| r.locked)?;
                // The count window ends: failures and barred networks go
                // together (STD1-JOIN-18, STD1-JOIN-22).
                room.locked = false;
                room.failures = 0;
                room.barred = [false; 3];
                Some((next, vec![Outcome::default()]))
            }
            Action::Disconnect(party) => {
                let mut next = state.clone();
                if !next.sessions[party.index()] {
                    return None;
                }
                next.sessions[party.index()] = false;
                Some((next, vec![Outcome::default()]))
            }
        }
    }
}

/// Whether two sends race as replies to one state, each of which the
/// server would accept alone (STD1-MSG-7).
fn is_reply_race(state: &State, first: Request, second: Request) -> bool {
    let current = state.current();
    let valid_alone = |r: Request| match r.op {
        Op::SendMessage { replaces } => {
            replaces == current.map(|m| m.id) && current.is_none_or(|m| m.author != r.party)
        }
        _ => false,
    };
    first.party != second.party && valid_alone(first) && valid_alone(second)
}

/// The request kinds that take part in races.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Send,
    Read,
    Edit,
    Delete,
    Expire,
    Claim,
}

/// The pairs of requests whose races matter (issue: both parties replying
/// into one state, edit or delete racing a read, expiry racing a send, two
/// claims of one code, a claim racing a send of the record it replaces),
/// each in both orders.
const RACES: [(OpKind, OpKind); 7] = [
    (OpKind::Send, OpKind::Send),
    (OpKind::Edit, OpKind::Read),
    (OpKind::Delete, OpKind::Read),
    (OpKind::Expire, OpKind::Send),
    (OpKind::Send, OpKind::Read),
    (OpKind::Claim, OpKind::Claim),
    (OpKind::Claim, OpKind::Send),
];

impl Model for RoomModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        // The intruder sharing A's network matters only for the lock
        // (STD1-SEC-9); knowing the codes as well adds nothing to it.
        vec![
            State::initial(false, false),
            State::initial(true, false),
            State::initial(false, true),
        ]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        for party in Party::ALL {
            let request = |op| Action::Do(Request { party, op });
            if !s.has_session(party) {
                if party != Party::B {
                    actions.push(request(Op::Create));
                }
                actions.push(request(Op::join(Code::None)));
                if party == Party::M {
                    actions.push(request(Op::join(Code::Wrong)));
                }
                // A claims only a slot B re-opened for it, after A lost
                // its own (STD1-JOIN-24).
                let claims = party != Party::A
                    || (s.room.is_some() && s.record_of(party).is_none() && s.knows_code(party));
                if claims && let Some(claim) = Self::request(s, party, OpKind::Claim) {
                    actions.push(Action::Do(claim));
                }
                if party == Party::B {
                    // The slip of D-46: B claims with the code and a
                    // mistyped PIN.
                    if s.knows_code(party) {
                        actions.push(request(Op::Join {
                            code: Code::Current,
                            pin: Pin::Typo,
                        }));
                    }
                    // B still holding the code that was replaced.
                    if s.room.is_some_and(|r| r.code_version > 0) {
                        actions.push(request(Op::join(Code::Previous)));
                    }
                }
                continue;
            }
            if let Some(current) = s.current() {
                let id = current.id;
                actions.push(request(Op::ReadReceipt { message_id: id }));
                actions.push(request(Op::EditMessage { message_id: id }));
                actions.push(request(Op::DeleteMessage { message_id: id }));
            }
            actions.push(request(Op::SendMessage {
                replaces: s.current().map(|m| m.id),
            }));
            actions.push(request(Op::Typing));
            actions.push(request(Op::ExpireRoom));
            actions.push(request(Op::ResetPairing));
            actions.push(request(Op::ReopenPairing));
            actions.push(Action::Disconnect(party));
        }
        if self.races {
            self.races(s, actions);
        }
        if s.room.is_some() {
            actions.push(Action::TtlExpires);
        }
        if s.room.is_some_and(|r| r.locked) {
            actions.push(Action::LockEnds);
        }
    }

    fn format_action(&self, action: &Action) -> String {
        action.to_string()
    }

    fn next_state(&self, state: &State, action: Action) -> Option<State> {
        self.step(state, action).map(|(next, _)| next)
    }

    fn within_boundary(&self, s: &State) -> bool {
        s.next_msg <= self.max_messages + 1
            && s.rooms_created <= self.max_rooms
            && s.room
                .is_none_or(|r| r.code_version <= self.max_code_resets)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties()
    }
}

impl RoomModel {
    /// Adds the races enabled in `s`.
    fn races(&self, s: &State, actions: &mut Vec<Action>) {
        let target = s.room.and_then(|r| r.pairing);
        for (first, second) in RACES {
            let parties: &[(Party, Party)] = match (first, second) {
                // Two claims of one code: B and the intruder, neither joined.
                (OpKind::Claim, OpKind::Claim) => &[(Party::B, Party::M), (Party::M, Party::B)],
                // A claim racing a request of the session it displaces.
                (OpKind::Claim, _) => &[
                    (Party::M, Party::A),
                    (Party::M, Party::B),
                    (Party::A, Party::M),
                    (Party::B, Party::M),
                ],
                _ => &[(Party::A, Party::B), (Party::B, Party::A)],
            };
            for &(p, q) in parties {
                let enabled = match (first, second) {
                    (OpKind::Claim, OpKind::Claim) => {
                        !s.has_session(p) && !s.has_session(q) && target.is_some()
                    }
                    (OpKind::Claim, _) => {
                        !s.has_session(p)
                            && s.has_session(q)
                            && target
                                .and_then(|slot| s.holder(slot))
                                .is_some_and(|r| r.party == q)
                    }
                    _ => s.has_session(p) && s.has_session(q),
                };
                if !enabled {
                    continue;
                }
                let (Some(x), Some(y)) = (Self::request(s, p, first), Self::request(s, q, second))
                else {
                    continue;
                };
                // Both serialisations are separate actions.
                actions.push(Action::Race(x, y));
                if !matches!(
                    (first, second),
                    (OpKind::Send, OpKind::Send) | (OpKind::Claim, OpKind::Claim)
                ) {
                    actions.push(Action::Race(y, x));
                }
            }
        }
    }
}

/// The properties, each with the requirements it checks in its name.
pub fn properties() -> Vec<Property<RoomModel>> {
    vec![
        Property::always("at most one stored message (STD1-MSG-1)", |_, s: &State| {
            s.messages.len() <= 1
        }),
        Property::always(
            "no author replaces its own message (STD1-MSG-2, STD1-MSG-3)",
            |_, s: &State| {
                s.current()
                    .is_none_or(|m| m.replaced_author != Some(m.author))
            },
        ),
        Property::always(
            "of two racing replies one is stored and the other sender told (STD1-MSG-7)",
            |_, s: &State| {
                s.events.iter().all(|e| match *e {
                    Event::ReplyRace { stored, loser_told } => stored == 1 && loser_told,
                    _ => true,
                })
            },
        ),
        Property::always(
            "only the non-author marks a message read (STD1-MSG-9, STD1-MSG-10)",
            |_, s: &State| {
                let stored = s.current().is_none_or(|m| m.read_by != Some(m.author));
                let steps = s
                    .events
                    .iter()
                    .all(|e| !matches!(*e, Event::Read { by, author } if by == author));
                stored && steps
            },
        ),
        Property::always(
            "only the author edits or deletes, and only while unread (STD1-MSG-12, STD1-MSG-14)",
            |_, s: &State| {
                s.events.iter().all(|e| match *e {
                    Event::Edited {
                        by,
                        author,
                        was_read,
                    }
                    | Event::Deleted {
                        by,
                        author,
                        was_read,
                    } => by == author && !was_read,
                    _ => true,
                })
            },
        ),
        Property::always(
            "nothing of an expired room remains (STD1-LIFE-2, STD1-LIFE-3)",
            |_, s: &State| {
                s.room.is_some()
                    || (s.records.is_empty() && s.messages.is_empty() && s.sessions == [false; 3])
            },
        ),
        Property::always(
            "at most two access records (STD1-JOIN-6, STD1-JOIN-14)",
            |_, s: &State| s.records.len() <= 2,
        ),
        Property::always(
            "only record holders have sessions (STD1-JOIN-7, STD1-JOIN-8)",
            |_, s: &State| {
                Party::ALL
                    .iter()
                    .all(|&p| !s.has_session(p) || s.record_of(p).is_some())
            },
        ),
        // Follows from the two above; stated on its own because it is the
        // threat model's promise (spec §2).
        Property::always(
            "the intruder never joins a room the two parties hold (STD1-JOIN-5, STD1-JOIN-6, STD1-JOIN-14)",
            |_, s: &State| {
                let paired = s.record_of(Party::A).is_some() && s.record_of(Party::B).is_some();
                !(paired && s.has_session(Party::M))
            },
        ),
        Property::always(
            "the intruder holds no slot without the pairing code (STD1-JOIN-14)",
            |_, s: &State| {
                s.record_of(Party::M)
                    .is_none_or(|r| r.claim != Claim::WithoutCode)
            },
        ),
        Property::always(
            "a record changes holder only through the current code of its room (STD1-JOIN-14, STD1-JOIN-25)",
            |_, s: &State| {
                let records = s.records.iter().all(|r| r.claim != Claim::WithoutCode);
                let steps = s.events.iter().all(|e| match *e {
                    Event::Replaced { with_code, .. } => with_code,
                    _ => true,
                });
                records && steps
            },
        ),
        Property::always(
            "a displaced party holds no session (STD1-JOIN-25)",
            |_, s: &State| {
                s.events.iter().all(|e| match *e {
                    Event::Replaced {
                        displaced,
                        claimant,
                        ..
                    } => displaced == claimant || !s.has_session(displaced),
                    _ => true,
                })
            },
        ),
        Property::always(
            "a party's own login withdraws a code re-opened for its slot (STD1-JOIN-16)",
            |_, s: &State| {
                let target = s.room.and_then(|r| r.pairing);
                s.events.iter().all(|e| match *e {
                    Event::Joined { party, .. } => {
                        target.is_none() || target != s.record_of(party).map(|r| r.slot)
                    }
                    _ => true,
                })
            },
        ),
        Property::always(
            "a locked room evaluates nothing from a barred network (STD1-JOIN-20, STD1-JOIN-22)",
            |_, s: &State| {
                s.events.iter().all(|e| {
                    !matches!(
                        e,
                        Event::Joined {
                            while_locked: true,
                            network_barred: true,
                            ..
                        } | Event::WrongWhileLocked {
                            network_barred: true
                        }
                    )
                })
            },
        ),
        Property::always(
            "a lock never refuses right credentials from a network that has not failed (STD1-JOIN-23)",
            |_, s: &State| {
                s.events.iter().all(|e| {
                    !matches!(
                        e,
                        Event::LockedOut {
                            rightful: true,
                            network_barred: false
                        }
                    )
                })
            },
        ),
        // Examples: the states the properties above speak of are reached.
        Property::sometimes("a full A-B-A exchange (STD1-MSG-3)", |_, s: &State| {
            s.current()
                .is_some_and(|m| m.author == Party::A && m.run >= 3)
        }),
        Property::sometimes("a reply race (STD1-MSG-7)", |_, s: &State| {
            s.events
                .iter()
                .any(|e| matches!(e, Event::ReplyRace { .. }))
        }),
        Property::sometimes("a lockout (STD1-JOIN-18)", |_, s: &State| {
            s.room.is_some_and(|r| r.locked)
        }),
        Property::sometimes(
            "a party joins from another network during a lock (STD1-JOIN-23)",
            |_, s: &State| {
                s.events.iter().any(|e| {
                    matches!(
                        e,
                        Event::Joined {
                            while_locked: true,
                            ..
                        }
                    )
                })
            },
        ),
        Property::sometimes(
            "a party shares the intruder's lock on one network (STD1-SEC-9)",
            |_, s: &State| {
                s.events.iter().any(|e| {
                    matches!(
                        e,
                        Event::LockedOut {
                            rightful: true,
                            network_barred: true
                        }
                    )
                })
            },
        ),
        Property::sometimes(
            "B regains its slot after a mistyped PIN without the room ending (STD1-JOIN-24, STD1-JOIN-25)",
            |_, s: &State| {
                s.events.iter().any(|e| {
                    matches!(
                        e,
                        Event::Replaced {
                            slot: Slot::Two,
                            displaced: Party::B,
                            displaced_pin: Pin::Typo,
                            claimant: Party::B,
                            pin: Pin::Own,
                            with_code: true,
                            ..
                        }
                    )
                })
            },
        ),
        Property::sometimes(
            "a connected party is displaced by a claim (STD1-JOIN-25)",
            |_, s: &State| {
                s.events.iter().any(|e| {
                    matches!(
                        e,
                        Event::Replaced {
                            session_closed: true,
                            ..
                        }
                    )
                })
            },
        ),
        Property::sometimes(
            "a party's own login withdraws a re-opened code (STD1-JOIN-16)",
            |_, s: &State| {
                s.events
                    .iter()
                    .any(|e| matches!(e, Event::Withdrawn { .. }))
            },
        ),
        Property::sometimes(
            "a connected party is told of a lock (STD1-JOIN-26)",
            |_, s: &State| s.events.contains(&Event::Locked { told: true }),
        ),
        Property::sometimes(
            "a completed pairing (STD1-JOIN-14, STD1-JOIN-15)",
            |_, s: &State| s.record_of(Party::A).is_some() && s.record_of(Party::B).is_some(),
        ),
        Property::sometimes(
            "an expiry with a message present (STD1-LIFE-2)",
            |_, s: &State| s.events.contains(&Event::Expired { with_message: true }),
        ),
        Property::sometimes(
            "a second room for the number (STD1-LIFE-5)",
            |_, s: &State| s.room.is_some_and(|r| r.generation == 2),
        ),
    ]
}

/// The property a seeded fault must break.
pub fn property_broken_by(fault: Fault) -> &'static str {
    match fault {
        Fault::NoTurnTaking => "no author replaces its own message (STD1-MSG-2, STD1-MSG-3)",
        Fault::NoSlotLimit => "at most two access records (STD1-JOIN-6, STD1-JOIN-14)",
        Fault::ReadByAuthor => "only the non-author marks a message read (STD1-MSG-9, STD1-MSG-10)",
        Fault::EditAfterRead => {
            "only the author edits or deletes, and only while unread (STD1-MSG-12, STD1-MSG-14)"
        }
        Fault::NoPairingGate => {
            "the intruder holds no slot without the pairing code (STD1-JOIN-14)"
        }
        Fault::LockIgnored => {
            "a locked room evaluates nothing from a barred network (STD1-JOIN-20, STD1-JOIN-22)"
        }
        Fault::HardLock => {
            "a lock never refuses right credentials from a network that has not failed (STD1-JOIN-23)"
        }
        Fault::OpenReplacement => {
            "a record changes holder only through the current code of its room (STD1-JOIN-14, STD1-JOIN-25)"
        }
        Fault::KeepReplacedSessions => "a displaced party holds no session (STD1-JOIN-25)",
        Fault::KeepCodeOnLogin => {
            "a party's own login withdraws a code re-opened for its slot (STD1-JOIN-16)"
        }
    }
}
