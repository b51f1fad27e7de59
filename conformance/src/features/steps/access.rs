//! Creating, joining, pairing, guessing and locks (spec §8).

use std::time::Duration;
use stelgano_spec::ErrorReason;
use stelgano_spec::derive::PartyHashes;
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{Broadcast, ClientEvent, CreateRoom, ErrorBody, JoinRoom, ResetPairing};

use tokio::time::Instant;

use super::Args;
use crate::features::world::{Answer, FRAME_TIMEOUT, FeatureWorld, StepFailure, expected};
use crate::fixtures;

type Outcome = Result<(), StepFailure>;

fn create_event(hashes: &PartyHashes, code: &PairingCode) -> ClientEvent {
    ClientEvent::Create(CreateRoom {
        room_hash: hashes.room_hash,
        access_hash: hashes.access_hash,
        sender_hash: hashes.sender_hash,
        pairing_hash: code.hash(),
        country_iso: None,
    })
}

pub(super) fn join_event(hashes: &PartyHashes, code: Option<&PairingCode>) -> ClientEvent {
    ClientEvent::Join(JoinRoom {
        room_hash: hashes.room_hash,
        access_hash: hashes.access_hash,
        sender_hash: hashes.sender_hash,
        pairing_hash: code.map(PairingCode::hash),
    })
}

fn reason(text: &str) -> Result<ErrorReason, StepFailure> {
    text.parse()
        .map_err(|_| StepFailure::Setup(format!("`{text}` is not an error reason")))
}

/// `name` creates the scenario's room; it must succeed (STD1-JOIN-1).
pub async fn create_room(world: &mut FeatureWorld, name: &str) -> Outcome {
    let hashes = world.person(name)?.hashes;
    let event = create_event(&hashes, &world.pairing);
    let answer = world.request_unjoined(name, event, false).await?;
    match answer.joined() {
        Some(j) if j.awaiting_party && j.current_message.is_none() => {
            world.room = Some(j.clone());
            Ok(())
        }
        _ => Err(expected(format!("creating the room was answered {answer}"))),
    }
}

pub async fn has_created(world: &mut FeatureWorld, args: Args) -> Outcome {
    create_room(world, args.get(0)?).await
}

/// `name` claims slot 2 with the right code; it must succeed.
async fn claim_slot(world: &mut FeatureWorld, name: &str) -> Outcome {
    let hashes = world.person(name)?.hashes;
    let event = join_event(&hashes, Some(&world.pairing.clone()));
    let answer = world.request_unjoined(name, event, false).await?;
    match answer.joined() {
        Some(j) if !j.awaiting_party => Ok(()),
        _ => Err(expected(format!(
            "claiming the open slot was answered {answer}"
        ))),
    }
}

pub async fn has_claimed(world: &mut FeatureWorld, args: Args) -> Outcome {
    claim_slot(world, args.get(0)?).await
}

pub async fn paired_room(world: &mut FeatureWorld, _: Args) -> Outcome {
    create_room(world, "Alice").await?;
    claim_slot(world, "Bob").await?;
    // Alice's session learns of the pairing; take it off her inbox so
    // that later steps see only what follows (STD1-JOIN-15).
    let deadline = Instant::now() + FRAME_TIMEOUT;
    match world
        .person("Alice")?
        .joined_session()?
        .next_broadcast(deadline)
        .await?
    {
        Broadcast::PartyPaired {} => Ok(()),
        other => Err(expected(format!(
            "Alice's first broadcast was `{}`, not `party_paired`",
            other.name()
        ))),
    }
}

pub async fn second_room(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let phone = fixtures::steg_number().map_err(StepFailure::Setup)?;
    let hashes = world.person_on(name, &phone)?.hashes;
    world.unused_phone = Some(phone);
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world.secrets.pairing_codes.push(code.as_str().to_owned());
    world.secrets.hashes.push(*code.hash().as_bytes());
    let answer = world
        .request_unjoined(name, create_event(&hashes, &code), false)
        .await?;
    if answer.joined().is_none() {
        return Err(expected(format!(
            "creating the second room was answered {answer}"
        )));
    }
    Ok(())
}

/// A guess at the scenario's room with a fresh wrong PIN.
async fn guess(world: &mut FeatureWorld, name: &str, fresh: bool) -> Result<Answer, StepFailure> {
    let phone = world.phone.clone();
    let hashes = world.wrong_hashes(&phone)?;
    world
        .request_unjoined(name, join_event(&hashes, None), fresh)
        .await
}

/// Guesses until the room locks, at most L times (STD1-JOIN-18).
/// Returns the answers and, if the room locked, until when the lock is
/// certainly in force: the locking request was sent at `t`, the server
/// took its time after that and truncated it to the second (STD1-SRV-7),
/// so the lock it reported with `retry_after = R` ends after `t + R − 1`.
async fn guess_until_locked(
    world: &mut FeatureWorld,
    name: &str,
) -> Result<(Vec<Answer>, Option<Instant>), StepFailure> {
    let mut answers = Vec::new();
    for _ in 0..world.target.lockout_attempts {
        let sent = Instant::now();
        let answer = guess(world, name, false).await?;
        let locked = match &answer {
            Answer::Error(e) if e.reason == ErrorReason::Locked => e.retry_after,
            _ => None,
        };
        answers.push(answer);
        if let Some(seconds) = locked {
            let certain = sent + Duration::from_secs(u64::from(seconds).saturating_sub(1));
            return Ok((answers, Some(certain)));
        }
    }
    Ok((answers, None))
}

pub async fn guesses_until_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    world.guesses = guess_until_locked(world, args.get(0)?).await?.0;
    Ok(())
}

/// A join to make while the room is locked, or a move between networks
/// on the way (STD1-JOIN-22).
#[derive(Clone)]
enum Attempt {
    OwnPin,
    WrongPin,
    NewNetwork,
    NetworkOf(String),
}

/// Locks the room with Mallory's wrong PINs, then makes `attempts` while
/// the lock is certainly in force. A lock is short in a test deployment
/// (seconds); when the attempts could not all be sent inside the window
/// the lock certainly covers, the lock is waited out (the server's own
/// `retry_after`) and the whole is tried again, so that no verdict rests
/// on a lock that may already have passed.
async fn while_locked(world: &mut FeatureWorld, attempts: &[(String, Attempt)]) -> Outcome {
    const TRIES: usize = 3;
    for _ in 0..TRIES {
        let (answers, certain) = guess_until_locked(world, "Mallory").await?;
        let Some(certain) = certain else {
            return Err(expected(format!(
                "{} wrong PINs did not lock the room; the last was answered {}",
                answers.len(),
                answers.last().map_or_else(String::new, ToString::to_string)
            )));
        };
        let mut last_sent = Instant::now();
        for (name, attempt) in attempts {
            let phone = world.phone.clone();
            let hashes = match attempt {
                Attempt::OwnPin => world.person(name)?.hashes,
                Attempt::WrongPin => world.wrong_hashes(&phone)?,
                Attempt::NewNetwork => {
                    world.move_to_new_network(name)?;
                    continue;
                }
                Attempt::NetworkOf(other) => {
                    world.move_to_network_of(name, other)?;
                    continue;
                }
            };
            last_sent = Instant::now();
            world
                .request_unjoined(name, join_event(&hashes, None), false)
                .await?;
        }
        if last_sent < certain {
            return Ok(());
        }
        if let Some(until) = world.lock_passed_at {
            tokio::time::sleep_until(until).await;
        }
    }
    Err(expected(format!(
        "in {TRIES} tries the joins could not be made within the lock's certain window; the lock is too short for this machine"
    )))
}

pub async fn own_pin_while_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    let attempts = [(args.get(0)?.to_owned(), Attempt::OwnPin)];
    while_locked(world, &attempts).await
}

/// A wrong guess from a network that has not failed, then a right PIN
/// from the same network, both while the room is locked (STD1-JOIN-23).
pub async fn new_network_guess_then_own_pin_while_locked(
    world: &mut FeatureWorld,
    args: Args,
) -> Outcome {
    let guesser = args.get(0)?.to_owned();
    let party = args.get(1)?.to_owned();
    let attempts = [
        (guesser.clone(), Attempt::NewNetwork),
        (guesser.clone(), Attempt::WrongPin),
        (party.clone(), Attempt::NetworkOf(guesser)),
        (party, Attempt::OwnPin),
    ];
    while_locked(world, &attempts).await
}

pub async fn on_own_network(world: &mut FeatureWorld, args: Args) -> Outcome {
    world.move_to_new_network(args.get(0)?)
}

pub async fn on_network_of(world: &mut FeatureWorld, args: Args) -> Outcome {
    world.move_to_network_of(args.get(0)?, args.get(1)?)
}

pub async fn own_and_wrong_while_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    let attempts = [
        (args.get(0)?.to_owned(), Attempt::OwnPin),
        (args.get(1)?.to_owned(), Attempt::WrongPin),
    ];
    while_locked(world, &attempts).await
}

pub async fn wrong_while_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?.to_owned();
    let n = args.number(1)?;
    let attempts: Vec<_> = (0..n).map(|_| (name.clone(), Attempt::WrongPin)).collect();
    while_locked(world, &attempts).await
}

/// The last `n` answers `name` received were all `locked`: nothing was
/// evaluated or counted during the lock (STD1-JOIN-18, STD1-JOIN-20).
pub async fn last_answers_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let n = usize::try_from(args.number(1)?).unwrap_or(usize::MAX);
    let answers = &world.person(name)?.answers;
    let last = answers
        .get(answers.len().saturating_sub(n)..)
        .unwrap_or_default();
    match last
        .iter()
        .find(|a| a.reason() != Some(ErrorReason::Locked))
    {
        None if last.len() == n => Ok(()),
        None => Err(StepFailure::Setup(format!(
            "{name} made fewer than {n} attempts"
        ))),
        Some(a) => Err(expected(format!(
            "during the lock, {name} was answered {a}"
        ))),
    }
}

pub async fn joins_wrong(world: &mut FeatureWorld, args: Args) -> Outcome {
    guess(world, args.get(0)?, false).await.map(drop)
}

pub async fn joins_wrong_fresh(world: &mut FeatureWorld, args: Args) -> Outcome {
    guess(world, args.get(0)?, true).await.map(drop)
}

pub async fn joins_second_room_wrong(world: &mut FeatureWorld, args: Args) -> Outcome {
    let phone = world
        .unused_phone
        .clone()
        .ok_or_else(|| StepFailure::Setup("there is no second room".into()))?;
    let hashes = world.wrong_hashes(&phone)?;
    world
        .request_unjoined(args.get(0)?, join_event(&hashes, None), false)
        .await
        .map(drop)
}

pub async fn joins_unused(world: &mut FeatureWorld, args: Args) -> Outcome {
    let phone = fixtures::steg_number().map_err(StepFailure::Setup)?;
    let hashes = world.wrong_hashes(&phone)?;
    world.unused_phone = Some(phone);
    world
        .request_unjoined(args.get(0)?, join_event(&hashes, None), false)
        .await
        .map(drop)
}

pub async fn creates_unused(world: &mut FeatureWorld, args: Args) -> Outcome {
    let phone = world
        .unused_phone
        .clone()
        .ok_or_else(|| StepFailure::Setup("no unused number was tried".into()))?;
    let hashes = world.wrong_hashes(&phone)?;
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world
        .request_unjoined(args.get(0)?, create_event(&hashes, &code), true)
        .await
        .map(drop)
}

pub async fn creates_same(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world.person(name)?.hashes;
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world.secrets.pairing_codes.push(code.as_str().to_owned());
    world
        .request_unjoined(name, create_event(&hashes, &code), true)
        .await
        .map(drop)
}

pub async fn joins_with_own_pin(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world.person(name)?.hashes;
    world
        .request_unjoined(name, join_event(&hashes, None), false)
        .await
        .map(drop)
}

pub async fn waits_out_lock(world: &mut FeatureWorld, _: Args) -> Outcome {
    // The wait the server itself reported in `retry_after` (STD1-JOIN-5).
    let until = world
        .lock_passed_at
        .ok_or_else(|| StepFailure::Setup("no lock was reported".into()))?;
    tokio::time::sleep_until(until).await;
    Ok(())
}

pub async fn claims(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world.person(name)?.hashes;
    let code = world.pairing.clone();
    world
        .request_unjoined(name, join_event(&hashes, Some(&code)), false)
        .await
        .map(drop)
}

pub async fn claims_wrong_code(world: &mut FeatureWorld, args: Args) -> Outcome {
    let phone = world.phone.clone();
    let hashes = world.wrong_hashes(&phone)?;
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world.secrets.pairing_codes.push(code.as_str().to_owned());
    world.secrets.hashes.push(*code.hash().as_bytes());
    world
        .request_unjoined(args.get(0)?, join_event(&hashes, Some(&code)), false)
        .await
        .map(drop)
}

pub async fn claims_replaced_code(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let hashes = world.person(name)?.hashes;
    let code = world
        .replaced_codes
        .last()
        .cloned()
        .ok_or_else(|| StepFailure::Setup("no pairing code was replaced".into()))?;
    world
        .request_unjoined(name, join_event(&hashes, Some(&code)), false)
        .await
        .map(drop)
}

pub async fn claims_as_other(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let mut hashes = world.person(name)?.hashes;
    hashes.sender_hash = world.person(args.get(1)?)?.hashes.sender_hash;
    let code = world.pairing.clone();
    world
        .request_unjoined(name, join_event(&hashes, Some(&code)), false)
        .await
        .map(drop)
}

pub async fn joins_mixed(world: &mut FeatureWorld, args: Args) -> Outcome {
    let access = world.person(args.get(1)?)?.hashes;
    let sender = world.person(args.get(2)?)?.hashes;
    let hashes = PartyHashes {
        sender_hash: sender.sender_hash,
        ..access
    };
    world
        .request_unjoined(args.get(0)?, join_event(&hashes, None), false)
        .await
        .map(drop)
}

pub async fn resets_pairing(world: &mut FeatureWorld, args: Args) -> Outcome {
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world.secrets.pairing_codes.push(code.as_str().to_owned());
    world.secrets.hashes.push(*code.hash().as_bytes());
    let event = ClientEvent::ResetPairing(ResetPairing {
        pairing_hash: code.hash(),
    });
    let answer = world.request_joined(args.get(0)?, event).await?;
    if answer
        == Answer::Ok(stelgano_spec::wire::ReplyBody::Done(
            stelgano_spec::wire::Done {},
        ))
    {
        // Only a successful reset replaces the code Bob must use (STD1-JOIN-17).
        let old = std::mem::replace(&mut world.pairing, code);
        world.replaced_codes.push(old);
    }
    Ok(())
}

pub async fn racing_claims(world: &mut FeatureWorld, args: Args) -> Outcome {
    let names = [args.get(0)?.to_owned(), args.get(1)?.to_owned()];
    let code = world.pairing.clone();
    let mut sessions = Vec::new();
    for name in &names {
        world.open_session(name).await?;
        let person = world.person(name)?;
        let event = join_event(&person.hashes, Some(&code));
        let session = person
            .sessions
            .pop()
            .ok_or_else(|| StepFailure::Setup("no connection".into()))?;
        sessions.push((name.clone(), session, event));
    }
    let (mut a, mut b) = match (sessions.pop(), sessions.pop()) {
        (Some(b), Some(a)) => (a, b),
        _ => return Err(StepFailure::Setup("two claimants are needed".into())),
    };
    // Both frames leave before either reply is read.
    let (ra, rb) = tokio::join!(a.1.request(a.2.clone()), b.1.request(b.2.clone()));
    world.race.clear();
    for ((name, mut session, _), answer) in [(a, ra), (b, rb)] {
        let answer = answer?;
        session.joined = answer.joined().is_some();
        world.note_answer(&answer);
        let person = world.person(&name)?;
        person.sessions.push(session);
        person.answers.push(answer.clone());
        world.race.push((name, answer));
    }
    Ok(())
}

/// Checks that `name`'s last answer is the error `reason`.
fn last_is(
    world: &mut FeatureWorld,
    name: &str,
    reason: ErrorReason,
) -> Result<Answer, StepFailure> {
    let answer = world.person(name)?.last()?.clone();
    if answer.reason() == Some(reason) {
        Ok(answer)
    } else {
        Err(expected(format!(
            "{name} was answered {answer}, not `{reason}`"
        )))
    }
}

pub async fn answered(world: &mut FeatureWorld, args: Args) -> Outcome {
    last_is(world, args.get(0)?, reason(args.get(1)?)?).map(drop)
}

/// The error is the bare reason: nothing a client sent, nothing more
/// (STD1-WIRE-28; the strict decoder already refused unknown members).
pub async fn answered_exactly(world: &mut FeatureWorld, args: Args) -> Outcome {
    let wanted = reason(args.get(1)?)?;
    let answer = last_is(world, args.get(0)?, wanted)?;
    if answer == Answer::Error(ErrorBody::plain(wanted)) {
        Ok(())
    } else {
        Err(expected(format!("the answer carried more: {answer}")))
    }
}

pub async fn answered_unauthorized_exactly(world: &mut FeatureWorld, args: Args) -> Outcome {
    match last_is(world, args.get(0)?, ErrorReason::Unauthorized)? {
        // STD1-WIRE-28: `attempts_remaining` and nothing else.
        Answer::Error(ErrorBody {
            attempts_remaining: Some(_),
            retry_after: None,
            ..
        }) => Ok(()),
        other => Err(expected(format!("the answer was {other}"))),
    }
}

pub async fn answered_locked(world: &mut FeatureWorld, args: Args) -> Outcome {
    match last_is(world, args.get(0)?, ErrorReason::Locked)? {
        // STD1-JOIN-5: `locked` carries the time until the lock ends.
        Answer::Error(ErrorBody {
            retry_after: Some(s),
            ..
        }) if s >= 1 => Ok(()),
        other => Err(expected(format!("the lock was reported as {other}"))),
    }
}

pub async fn succeeds(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    match world.person(name)?.last()? {
        Answer::Ok(_) => Ok(()),
        other => Err(expected(format!("{name} was answered {other}"))),
    }
}

pub async fn all_answered(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let wanted = reason(args.get(1)?)?;
    let person = world.person(name)?;
    if person.answers.is_empty() {
        return Err(StepFailure::Setup(format!("{name} asked nothing")));
    }
    match person.answers.iter().find(|a| a.reason() != Some(wanted)) {
        None => Ok(()),
        Some(a) => Err(expected(format!("{name} was answered {a}, not `{wanted}`"))),
    }
}

pub async fn admitted_paired(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let answer = world.person(name)?.last()?.clone();
    match answer.joined() {
        // STD1-JOIN-8: `awaiting_party` is false once both slots are taken.
        Some(j) if !j.awaiting_party => Ok(()),
        _ => Err(expected(format!("{name} was answered {answer}"))),
    }
}

/// The answer a guess gets as the room's `n`-th failure: `unauthorized`
/// or `pairing_invalid` with `L − n` attempts left, or `locked` at `L`
/// (STD1-JOIN-18, STD1-JOIN-19).
pub async fn counted_as_failure(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let n = args.number(1)?;
    let l = world.target.lockout_attempts;
    let answer = world.person(name)?.last()?.clone();
    let fits = match &answer {
        Answer::Error(e) if n < l => {
            matches!(
                e.reason,
                ErrorReason::Unauthorized | ErrorReason::PairingInvalid
            ) && e.attempts_remaining.map(u64::from) == Some(l - n)
        }
        Answer::Error(e) if n == l => e.reason == ErrorReason::Locked,
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(expected(format!(
            "as failure {n} of {l}, {name}'s guess was answered {answer}"
        )))
    }
}

pub async fn counted_down(world: &mut FeatureWorld, _: Args) -> Outcome {
    let l = world.target.lockout_attempts;
    let guesses = &world.guesses;
    if guesses.len() as u64 != l {
        return Err(expected(format!(
            "the room locked after {} wrong PINs, not {l}: {}",
            guesses.len(),
            guesses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for (i, answer) in guesses.iter().enumerate() {
        let n = i as u64 + 1;
        let fits = match answer {
            // STD1-JOIN-19: L − n left, and the L-th failure answered
            // `locked` with the lock's duration (STD1-JOIN-18).
            Answer::Error(e) if n < l => {
                e.reason == ErrorReason::Unauthorized
                    && e.attempts_remaining.map(u64::from) == Some(l - n)
            }
            Answer::Error(e) => e.reason == ErrorReason::Locked && e.retry_after.is_some(),
            Answer::Ok(_) => false,
        };
        if !fits {
            return Err(expected(format!(
                "wrong PIN {n} of {l} was answered {answer}"
            )));
        }
    }
    Ok(())
}

/// Two `locked` answers alike: same reason, and `retry_after` from the one
/// lock time (STD1-JOIN-20), so at most a second apart for requests a
/// second apart.
pub async fn answered_alike(world: &mut FeatureWorld, args: Args) -> Outcome {
    let a = world.person(args.get(0)?)?.last()?.clone();
    let b = world.person(args.get(1)?)?.last()?.clone();
    let alike = match (&a, &b) {
        (Answer::Error(x), Answer::Error(y)) => {
            x.reason == y.reason
                && x.attempts_remaining == y.attempts_remaining
                && match (x.retry_after, y.retry_after) {
                    (Some(p), Some(q)) => p.abs_diff(q) <= 1,
                    (p, q) => p == q,
                }
        }
        _ => a == b,
    };
    if alike {
        Ok(())
    } else {
        Err(expected(format!("the answers differ: {a} and {b}")))
    }
}

pub async fn last_two_alike(world: &mut FeatureWorld, args: Args) -> Outcome {
    let answers = &world.person(args.get(0)?)?.answers;
    match answers.as_slice() {
        [.., a, b] if a == b => Ok(()),
        [.., a, b] => Err(expected(format!("the answers differ: {a} and {b}"))),
        _ => Err(StepFailure::Setup("two guesses are needed".into())),
    }
}

pub async fn told_paired(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let deadline = Instant::now() + FRAME_TIMEOUT;
    // STD1-JOIN-15: the other sessions learn that slot 2 was taken.
    match world
        .person(name)?
        .joined_session()?
        .next_broadcast(deadline)
        .await?
    {
        Broadcast::PartyPaired {} => Ok(()),
        other => Err(expected(format!(
            "{name}'s next broadcast was `{}`, not `party_paired`",
            other.name()
        ))),
    }
}

/// Of two racing claims, one takes slot 2 and the other is judged as if
/// it came after (STD1-JOIN-6).
pub async fn one_admitted(world: &mut FeatureWorld, args: Args) -> Outcome {
    let wanted = reason(args.get(0)?)?;
    world.race_one_each("claims", |a| a.joined().is_some(), wanted)
}
