//! Race rounds checked for linearizability (STD1-MSG-7, STD1-MSG-8,
//! STD1-SRV-6): in a paired room, both parties send requests formed against
//! the same state at the same moment, round after round; the history of
//! invocations and returns must be explainable by some serial order that
//! respects real time, against a sequential specification of one room
//! (stateright's `LinearizabilityTester`).

use std::time::{Duration, Instant};

use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stelgano_spec::ErrorReason;
use stelgano_spec::derive::{PartyHashes, Pin};
use stelgano_spec::ids::MessageId;
use stelgano_spec::wire::{
    Broadcast, ClientEvent, CreateRoom, DeleteMessage, EditMessage, JoinRoom, ReadReceipt,
    ReplyBody, SendMessage, ServerFrame,
};

use crate::client::{Connection, Incoming};
use crate::fixtures;
use crate::report::{CheckResult, Verdict};

/// What the rounds check.
pub const REQUIREMENTS: [&str; 3] = ["STD1-MSG-7", "STD1-MSG-8", "STD1-SRV-6"];

/// One of the room's two parties (the tester's thread ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    A,
    B,
}

/// An operation as the requester formed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomOp {
    Send {
        by: Side,
        replaces: Option<MessageId>,
    },
    Read {
        by: Side,
        id: MessageId,
    },
    Edit {
        by: Side,
        id: MessageId,
    },
    Delete {
        by: Side,
        id: MessageId,
    },
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomRet {
    /// Stored, under this id (unknown to the specification beforehand).
    Sent(Option<MessageId>),
    Done,
    Refused(ErrorReason),
}

/// The sequential specification of one paired room (spec §9).
#[derive(Debug, Clone, Default)]
pub struct RoomSpec {
    current: Option<(MessageId, Side, bool)>,
}

impl RoomSpec {
    /// The current message and its author, as a `Joined` reply or a
    /// database read shows them (the chaos suite's observations,
    /// `crate::chaos::check`).
    pub fn current(&self) -> Option<(MessageId, Side)> {
        self.current.map(|(id, author, _)| (id, author))
    }

    /// The answer the rules give, and the state after it; `Sent(None)`
    /// for an accepted send, whose id the server picks.
    fn apply(&self, op: &RoomOp) -> (RoomRet, Option<(MessageId, Side, bool)>) {
        use ErrorReason as E;
        let current = self.current;
        let refuse = |r| (RoomRet::Refused(r), current);
        match *op {
            RoomOp::Send { by, replaces } => match current {
                Some((_, author, _)) if author == by => refuse(E::NotYourTurn),
                _ if replaces != current.map(|c| c.0) => refuse(E::Conflict),
                _ => (RoomRet::Sent(None), current),
            },
            RoomOp::Read { by, id } => match current {
                Some((cid, _, _)) if cid != id => refuse(E::NotFound),
                None => refuse(E::NotFound),
                Some((_, author, _)) if author == by => refuse(E::OwnMessage),
                Some((_, _, true)) => refuse(E::AlreadyRead),
                Some((cid, author, false)) => (RoomRet::Done, Some((cid, author, true))),
            },
            RoomOp::Edit { by, id } | RoomOp::Delete { by, id } => {
                let delete = matches!(op, RoomOp::Delete { .. });
                match current {
                    Some((cid, _, _)) if cid != id => refuse(E::NotFound),
                    None => refuse(E::NotFound),
                    Some((_, author, _)) if author != by => refuse(E::NotAuthor),
                    Some((_, _, true)) if delete => refuse(E::NotDeletable),
                    Some((_, _, true)) => refuse(E::NotEditable),
                    Some(_) if delete => (RoomRet::Done, None),
                    Some(c) => (RoomRet::Done, Some(c)),
                }
            }
        }
    }
}

impl SequentialSpec for RoomSpec {
    type Op = RoomOp;
    type Ret = RoomRet;

    fn invoke(&mut self, op: &RoomOp) -> RoomRet {
        let (ret, next) = self.apply(op);
        self.current = next;
        ret
    }

    fn is_valid_step(&mut self, op: &RoomOp, ret: &RoomRet) -> bool {
        let (expected, next) = self.apply(op);
        match (expected, ret, op) {
            (RoomRet::Sent(None), RoomRet::Sent(Some(id)), RoomOp::Send { by, .. }) => {
                // A fresh id (STD1-MSG-5).
                if self.current.is_some_and(|c| c.0 == *id) {
                    return false;
                }
                self.current = Some((*id, *by, false));
                true
            }
            (expected, ret, _) if &expected == ret => {
                self.current = next;
                true
            }
            _ => false,
        }
    }
}

/// Counts of a run of rounds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Rounds {
    pub rooms: usize,
    pub rounds: usize,
    pub operations: usize,
    pub violations: usize,
}

/// Plays `rounds` race rounds in each of `rooms` rooms; one check per room.
pub async fn run(
    url: &str,
    pins: &[String; 3],
    rooms: usize,
    rounds: usize,
    seed: u64,
) -> (Vec<CheckResult>, Rounds) {
    let mut totals = Rounds::default();
    let mut results = Vec::new();
    // The rooms play at once; each room's rounds one after the other.
    let outcomes = futures_util::future::join_all((0..rooms).map(|room| async move {
        let started = Instant::now();
        let outcome = one_room(url, pins, rounds, seed.wrapping_add(room as u64)).await;
        (room, outcome, started.elapsed())
    }))
    .await;
    for (room, outcome, took) in outcomes {
        totals.rooms += 1;
        let verdict = match outcome {
            Ok(ops) => {
                totals.rounds += rounds;
                totals.operations += ops;
                Verdict::Pass
            }
            Err(why) => {
                totals.violations += 1;
                Verdict::Fail(why)
            }
        };
        results.push(CheckResult::new(
            "model",
            &format!("linearizable-{room}"),
            REQUIREMENTS.map(str::to_owned).to_vec(),
            verdict,
            took,
        ));
    }
    (results, totals)
}

/// A party's connection and what it has seen of the room.
struct Player {
    side: Side,
    connection: Connection,
    /// The current message's id, as the party's broadcasts tell it.
    current: Option<MessageId>,
}

async fn one_room(
    url: &str,
    pins: &[String; 3],
    rounds: usize,
    seed: u64,
) -> Result<usize, String> {
    let phone = fixtures::steg_number()?;
    let hashes = |pin: &str| -> Result<PartyHashes, String> {
        Ok(PartyHashes::derive(
            &phone,
            &Pin::parse(pin).map_err(|e| e.to_string())?,
        ))
    };
    let (alice, bob) = (hashes(&pins[0])?, hashes(&pins[1])?);
    let code = fixtures::pairing_code()?;
    let mut a = Player {
        side: Side::A,
        connection: Connection::open(url, "A")
            .await
            .map_err(|e| e.to_string())?,
        current: None,
    };
    let mut b = Player {
        side: Side::B,
        connection: Connection::open(url, "B")
            .await
            .map_err(|e| e.to_string())?,
        current: None,
    };
    let create = ClientEvent::Create(CreateRoom {
        room_hash: alice.room_hash,
        access_hash: alice.access_hash,
        sender_hash: alice.sender_hash,
        pairing_hash: code.hash(),
        country_iso: None,
    });
    expect_ok(&mut a.connection, create).await?;
    let join = ClientEvent::Join(JoinRoom {
        room_hash: bob.room_hash,
        access_hash: bob.access_hash,
        sender_hash: bob.sender_hash,
        pairing_hash: Some(code.hash()),
    });
    expect_ok(&mut b.connection, join).await?;
    match a.connection.next(TIMEOUT).await {
        Ok(Incoming::Frame(ServerFrame::Broadcast(Broadcast::PartyPaired {}))) => {}
        other => return Err(format!("expected party_paired, got {other:?}")),
    }

    let mut rng = seed;
    let mut tester = LinearizabilityTester::new(RoomSpec::default());
    let mut operations = 0;
    for round in 0..rounds {
        let (op_a, op_b) = (choose(&a, &mut rng), choose(&b, &mut rng));
        tester
            .on_invoke(Side::A, op_a.clone())
            .and_then(|t| t.on_invoke(Side::B, op_b.clone()))
            .map_err(|e| format!("round {round}: {e}"))?;
        let (ret_a, ret_b) = tokio::join!(perform(&mut a, &op_a), perform(&mut b, &op_b));
        let (ret_a, seen_a) = ret_a?;
        let (ret_b, seen_b) = ret_b?;
        let successes = [&ret_a, &ret_b]
            .iter()
            .filter(|r| !matches!(r, RoomRet::Refused(_)))
            .count();
        tester
            .on_return(Side::A, ret_a)
            .and_then(|t| t.on_return(Side::B, ret_b))
            .map_err(|e| format!("round {round}: {e}"))?;
        operations += 2;
        // Each accepted operation broadcasts once to both sessions; read
        // the rest of this round's, which also sets each party's view.
        settle(&mut a, seen_a, successes).await?;
        settle(&mut b, seen_b, successes).await?;
        if !tester.is_consistent() {
            return Err(format!(
                "round {round}: the history is not linearizable: {:?}",
                tester
            ));
        }
    }
    a.connection.close().await;
    b.connection.close().await;
    Ok(operations)
}

const TIMEOUT: Duration = Duration::from_secs(10);

async fn expect_ok(c: &mut Connection, event: ClientEvent) -> Result<(), String> {
    c.send(event).await.map_err(|e| e.to_string())?;
    match c.next(TIMEOUT).await {
        Ok(Incoming::Frame(ServerFrame::Ok(_))) => Ok(()),
        other => Err(format!("setting up the room: {other:?}")),
    }
}

/// A random operation the party could form from its view.
fn choose(p: &Player, rng: &mut u64) -> RoomOp {
    *rng = rng
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let pick = (*rng >> 33) % 4;
    match (pick, p.current) {
        (1, Some(id)) => RoomOp::Read { by: p.side, id },
        (2, Some(id)) => RoomOp::Edit { by: p.side, id },
        (3, Some(id)) => RoomOp::Delete { by: p.side, id },
        _ => RoomOp::Send {
            by: p.side,
            replaces: p.current,
        },
    }
}

/// Sends the operation and reads until its reply; returns the reply and
/// the broadcasts that came before it.
async fn perform(p: &mut Player, op: &RoomOp) -> Result<(RoomRet, Vec<Broadcast>), String> {
    let event = match *op {
        RoomOp::Send { replaces, .. } => {
            let (ciphertext, iv) = fixtures::payload()?;
            ClientEvent::SendMessage(SendMessage {
                ciphertext,
                iv,
                replaces,
            })
        }
        RoomOp::Read { id, .. } => ClientEvent::ReadReceipt(ReadReceipt { message_id: id }),
        RoomOp::Edit { id, .. } => {
            let (ciphertext, iv) = fixtures::payload()?;
            ClientEvent::EditMessage(EditMessage {
                message_id: id,
                ciphertext,
                iv,
            })
        }
        RoomOp::Delete { id, .. } => ClientEvent::DeleteMessage(DeleteMessage { message_id: id }),
    };
    p.connection.send(event).await.map_err(|e| e.to_string())?;
    let mut before = Vec::new();
    loop {
        match p
            .connection
            .next(TIMEOUT)
            .await
            .map_err(|e| e.to_string())?
        {
            Incoming::Frame(ServerFrame::Broadcast(b)) => before.push(b),
            Incoming::Frame(ServerFrame::Ok(ok)) => {
                let ret = match ok.ok {
                    ReplyBody::Sent(s) => RoomRet::Sent(Some(s.message_id)),
                    ReplyBody::Done(_) => RoomRet::Done,
                    ReplyBody::Joined(_) => return Err("a joined reply to a room operation".into()),
                };
                return Ok((ret, before));
            }
            Incoming::Frame(ServerFrame::Error(e)) => {
                return Ok((RoomRet::Refused(e.error.reason), before));
            }
            other => return Err(format!("{:?}: expected a reply, got {other:?}", p.side)),
        }
    }
}

/// Reads the round's remaining broadcasts and updates the party's view.
async fn settle(p: &mut Player, mut seen: Vec<Broadcast>, total: usize) -> Result<(), String> {
    while seen.len() < total {
        match p
            .connection
            .next(TIMEOUT)
            .await
            .map_err(|e| e.to_string())?
        {
            Incoming::Frame(ServerFrame::Broadcast(b)) => seen.push(b),
            other => return Err(format!("{:?}: expected a broadcast, got {other:?}", p.side)),
        }
    }
    for b in seen {
        match b {
            Broadcast::NewMessage(m) => p.current = Some(m.id),
            Broadcast::MessageDeleted { .. } => p.current = None,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> MessageId {
        format!("00000000-0000-4000-8000-{n:012x}")
            .parse()
            .expect("a version 4 UUID")
    }

    fn send(by: Side) -> RoomOp {
        RoomOp::Send { by, replaces: None }
    }

    #[test]
    fn two_replies_to_one_state_cannot_both_be_stored() {
        // STD1-MSG-7: the history a server without preconditions would
        // produce is explained by no serial order.
        let mut tester = LinearizabilityTester::new(RoomSpec::default());
        let both_stored = tester
            .on_invoke(Side::A, send(Side::A))
            .and_then(|t| t.on_invoke(Side::B, send(Side::B)))
            .and_then(|t| t.on_return(Side::A, RoomRet::Sent(Some(id(1)))))
            .and_then(|t| t.on_return(Side::B, RoomRet::Sent(Some(id(2)))))
            .map(|t| t.is_consistent());
        assert_eq!(both_stored, Ok(false));

        let mut tester = LinearizabilityTester::new(RoomSpec::default());
        let one_stored = tester
            .on_invoke(Side::A, send(Side::A))
            .and_then(|t| t.on_invoke(Side::B, send(Side::B)))
            .and_then(|t| t.on_return(Side::B, RoomRet::Refused(ErrorReason::Conflict)))
            .and_then(|t| t.on_return(Side::A, RoomRet::Sent(Some(id(1)))))
            .map(|t| t.is_consistent());
        assert_eq!(one_stored, Ok(true));
    }

    #[test]
    fn an_edit_after_a_read_must_be_refused() {
        // STD1-MSG-12: read, then edit, one after the other; `{}` for the
        // edit is explained by no order.
        let mut tester = LinearizabilityTester::new(RoomSpec::default());
        let history = tester
            .on_invret(Side::A, send(Side::A), RoomRet::Sent(Some(id(1))))
            .and_then(|t| {
                t.on_invret(
                    Side::B,
                    RoomOp::Read {
                        by: Side::B,
                        id: id(1),
                    },
                    RoomRet::Done,
                )
            })
            .and_then(|t| {
                t.on_invret(
                    Side::A,
                    RoomOp::Edit {
                        by: Side::A,
                        id: id(1),
                    },
                    RoomRet::Done,
                )
            })
            .map(|t| t.is_consistent());
        assert_eq!(history, Ok(false));
    }
}
