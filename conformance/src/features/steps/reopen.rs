//! Re-opening a party's slot for a new PIN, the claim that replaces the
//! slot's record, and the broadcast of a lock (spec §8.3 and §8.4:
//! STD1-JOIN-16, STD1-JOIN-24 to STD1-JOIN-26; Appendix C, D-46, D-47).

use stelgano_spec::ErrorReason;
use stelgano_spec::wire::{Broadcast, ClientEvent, ReopenPairing, Timestamp, close_code};
use tokio::time::Instant;

use super::Args;
use super::access::join_event;
use super::messages::check_sees;
use crate::features::world::{Answer, FRAME_TIMEOUT, FeatureWorld, StepFailure, expected};
use crate::fixtures;

type Outcome = Result<(), StepFailure>;

/// `name` claims the open slot with the pairing code and a PIN typed
/// wrong: the claim succeeds and binds the slot to the PIN typed, which
/// the person does not know (STD1-JOIN-14, D-46).
pub async fn has_claimed_mistyped(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let phone = world.phone.clone();
    let slip = world.wrong_hashes(&phone)?;
    let code = world.pairing.clone();
    let answer = world
        .request_unjoined(name, join_event(&slip, Some(&code)), false)
        .await?;
    match answer.joined() {
        Some(j) if !j.awaiting_party => Ok(()),
        _ => Err(expected(format!(
            "claiming the open slot with a mistyped PIN was answered {answer}"
        ))),
    }
}

/// `name` closes every connection: the page is gone.
pub async fn has_left(world: &mut FeatureWorld, args: Args) -> Outcome {
    let sessions = std::mem::take(&mut world.person(args.get(0)?)?.sessions);
    for session in sessions {
        session.conn.close().await;
    }
    Ok(())
}

/// `name` re-opens the other party's slot as a client must: the PIN typed
/// again and a fresh session (STD1-CLI-27), then `reopen_pairing` with a
/// new code on that session (STD1-JOIN-24). A refusal is recorded, not
/// failed: "'s request succeeds" checks it.
pub async fn reopens(world: &mut FeatureWorld, args: Args) -> Outcome {
    let (name, other) = (args.get(0)?, args.get(1)?);
    let hashes = world.person(name)?.hashes;
    let answer = world
        .request_unjoined(name, join_event(&hashes, None), true)
        .await?;
    if answer.joined().is_none() {
        return Err(expected(format!(
            "{name}'s fresh join before re-opening {other}'s slot was answered {answer}"
        )));
    }
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world.secrets.pairing_codes.push(code.as_str().to_owned());
    world.secrets.hashes.push(*code.hash().as_bytes());
    let event = ClientEvent::ReopenPairing(ReopenPairing {
        pairing_hash: code.hash(),
    });
    if let Answer::Ok(_) = world.request_joined(name, event).await? {
        // The code the other party is handed from now on.
        let old = std::mem::replace(&mut world.pairing, code);
        world.replaced_codes.push(old);
    }
    Ok(())
}

/// `name` claims its re-opened slot with the number, a new PIN and the
/// code it was handed, on a connection of its own (STD1-JOIN-14,
/// STD1-JOIN-25); the PIN it used before is kept as its old one.
pub async fn claims_with_new_pin(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let phone = world.phone.clone();
    let hashes = world.wrong_hashes(&phone)?;
    let person = world.person(name)?;
    let old = std::mem::replace(&mut person.hashes, hashes);
    person.old_hashes.push(old);
    let code = world.pairing.clone();
    world
        .request_unjoined(name, join_event(&hashes, Some(&code)), true)
        .await
        .map(drop)
}

/// `name` claims the slot re-opened for another party with the re-opened
/// code and `name`'s own PIN.
pub async fn claims_reopened(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world.person(name)?.hashes;
    let code = world.pairing.clone();
    world
        .request_unjoined(name, join_event(&hashes, Some(&code)), false)
        .await
        .map(drop)
}

/// As [`claims_reopened`], presenting the sender hash of a third person
/// (STD1-JOIN-7).
pub async fn claims_reopened_as_other(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let mut hashes = world.person(name)?.hashes;
    hashes.sender_hash = world.person(args.get(2)?)?.hashes.sender_hash;
    let code = world.pairing.clone();
    world
        .request_unjoined(name, join_event(&hashes, Some(&code)), false)
        .await
        .map(drop)
}

/// `name` joins with the PIN it used before its last claim.
pub async fn joins_with_old_pin(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world
        .person(name)?
        .old_hashes
        .last()
        .copied()
        .ok_or_else(|| StepFailure::Setup(format!("{name} never changed PIN")))?;
    world
        .request_unjoined(name, join_event(&hashes, None), false)
        .await
        .map(drop)
}

/// `name`'s last `Joined` reply is of the room `creator` created: the
/// room lived on (STD1-JOIN-24).
pub async fn same_room(world: &mut FeatureWorld, args: Args) -> Outcome {
    let (name, creator) = (args.get(0)?, args.get(1)?);
    let created = world.room()?.room_id;
    let answer = world.person(name)?.last()?.clone();
    match answer.joined() {
        Some(j) if j.room_id == created => Ok(()),
        Some(_) => Err(expected(format!(
            "{name} is in another room than the one {creator} created"
        ))),
        None => Err(expected(format!("{name} was answered {answer}"))),
    }
}

/// `name` finds the message `label` as the current message of its
/// `Joined` reply, presented with the sender hash of its new record: the
/// slot's message stays the slot's (STD1-JOIN-25, STD1-MSG-4).
pub async fn sees_as_own(world: &mut FeatureWorld, args: Args) -> Outcome {
    let (name, label) = (args.get(0)?, args.get(1)?);
    check_sees(world, name, label).await?;
    let person = world.person(name)?;
    let mine = person.hashes.sender_hash;
    match person
        .last()?
        .joined()
        .and_then(|j| j.current_message.as_ref())
    {
        Some(m) if m.sender_hash == mine => Ok(()),
        _ => Err(expected(format!(
            "{name} sees \"{label}\" under another sender hash than its new record's"
        ))),
    }
}

/// Every session `name` opened before its newest one was of the replaced
/// record: it receives nothing more, no `party_paired` in particular, and
/// is closed with 1008 `record_replaced` (STD1-JOIN-15, STD1-JOIN-25,
/// STD1-WIRE-5).
pub async fn earlier_session_replaced(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let deadline = Instant::now() + FRAME_TIMEOUT;
    let person = world.person(name)?;
    let newest = person
        .sessions
        .iter()
        .rposition(|s| s.joined)
        .ok_or_else(|| StepFailure::Setup(format!("{name} has no session")))?;
    let mut checked = 0;
    for session in person.sessions[..newest].iter_mut().filter(|s| s.joined) {
        checked += 1;
        while session.closed.is_none() {
            match session.next_broadcast(deadline).await {
                Ok(Broadcast::PartyPaired {}) => {
                    return Err(expected(format!(
                        "{name}'s replaced session was told that the room is paired"
                    )));
                }
                Ok(other) => {
                    return Err(expected(format!(
                        "{name}'s replaced session received `{}` before its close",
                        other.name()
                    )));
                }
                Err(_) if session.closed.is_some() => {}
                Err(e) => return Err(e),
            }
        }
        let code = session.close_code(deadline).await?;
        let reason = session.conn.close_frame().map_or("", |(_, r)| r);
        if code != Some(close_code::POLICY) || reason != close_code::RECORD_REPLACED_REASON {
            return Err(expected(format!(
                "{name}'s replaced session was closed with {code:?} {reason:?}"
            )));
        }
    }
    if checked == 0 {
        return Err(StepFailure::Setup(format!(
            "{name} had no session before the newest"
        )));
    }
    Ok(())
}

/// `name`'s session is told of the lock with its lock time, as its first
/// broadcast since the pairing, and of nothing else about the failures
/// (STD1-JOIN-26, D-47).
pub async fn told_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    // When the lock the guesser was told of ends: its reply's time plus
    // `retry_after`, the lock's length (STD1-JOIN-19).
    let passed = world
        .lock_passed_at
        .ok_or_else(|| StepFailure::Setup("no guess locked the room".into()))?;
    if world
        .guesses
        .last()
        .is_none_or(|a| a.reason() != Some(ErrorReason::Locked))
    {
        return Err(StepFailure::Setup(
            "the guesses did not lock the room".into(),
        ));
    }
    let deadline = Instant::now() + FRAME_TIMEOUT;
    let session = world.person(name)?.joined_session()?;
    let broadcast = session.next_broadcast(deadline).await?;
    let Broadcast::RoomLocked { locked_until } = broadcast else {
        return Err(expected(format!(
            "{name}'s next broadcast was `{}`, not `room_locked`",
            broadcast.name()
        )));
    };
    let now = Instant::now();
    // `lock_passed_at` is a second past the reported end.
    let ahead = match passed.checked_duration_since(now) {
        Some(d) => d.as_secs() as i64,
        None => -(now.duration_since(passed).as_secs() as i64),
    } - 1;
    let reported_end = Timestamp::now().unix() + ahead;
    if (locked_until.unix() - reported_end).abs() > 2 {
        return Err(expected(format!(
            "room_locked says the lock ends at {locked_until:?}, {} s from the end the guesser was told",
            locked_until.unix() - reported_end
        )));
    }
    if let Some(more) = session.inbox.front() {
        return Err(expected(format!(
            "with room_locked, {name} also received `{}`",
            more.name()
        )));
    }
    Ok(())
}
