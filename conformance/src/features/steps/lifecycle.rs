//! Ending a room, by a party or by time, and using its number again
//! (spec §10).

use std::time::Duration;

use stelgano_spec::constants::{MAX_EXPIRY_LAG, MAX_ROOM_TTL};
use stelgano_spec::wire::{
    Broadcast, ClientEvent, CreateRoom, Done, ExpiryCause, JoinRoom, ReplyBody,
};
use tokio::time::Instant;

use super::Args;
use crate::features::world::{Answer, FRAME_TIMEOUT, FeatureWorld, Session, StepFailure, expected};
use crate::fixtures;

type Outcome = Result<(), StepFailure>;

/// The close status of a room's deletion (STD1-LIFE-7, STD1-WIRE-5).
const ROOM_EXPIRED_CLOSE: u16 = 1000;

fn cause(text: &str) -> Result<ExpiryCause, StepFailure> {
    match text {
        "party" => Ok(ExpiryCause::Party),
        "ttl" => Ok(ExpiryCause::Ttl),
        _ => Err(StepFailure::Setup(format!(
            "`{text}` is not an expiry cause"
        ))),
    }
}

/// When a session may give up waiting for the room's expiry: for a party's
/// `expire_room` a frame's time; for the lifetime, the room's own
/// `ttl_expires_at` plus the 60 seconds STD1-LIFE-4 allows.
fn deadline(world: &FeatureWorld, cause: ExpiryCause) -> Result<Instant, StepFailure> {
    Ok(match cause {
        ExpiryCause::Party => Instant::now() + FRAME_TIMEOUT,
        ExpiryCause::Ttl => {
            let left = FeatureWorld::seconds_until(world.room()?.ttl_expires_at).max(0);
            Instant::now()
                + Duration::from_secs(left.unsigned_abs())
                + MAX_EXPIRY_LAG
                + FRAME_TIMEOUT
        }
    })
}

/// Waits for `session`'s `room_expired` broadcast (others before it are
/// the room's earlier events) and checks its cause (STD1-LIFE-6).
async fn await_expiry(
    session: &mut Session,
    cause: ExpiryCause,
    deadline: Instant,
) -> Result<Broadcast, StepFailure> {
    loop {
        match session.next_broadcast(deadline).await? {
            Broadcast::RoomExpired { cause: c } if c == cause => {
                return Ok(Broadcast::RoomExpired { cause: c });
            }
            Broadcast::RoomExpired { cause: c } => {
                return Err(expected(format!("the room expired with cause {c:?}")));
            }
            _ => {}
        }
    }
}

pub async fn ends(world: &mut FeatureWorld, args: Args) -> Outcome {
    world
        .request_joined(args.get(0)?, ClientEvent::ExpireRoom)
        .await
        .map(drop)
}

/// The requester of `expire_room` receives the broadcast, then `{}`, then
/// the close 1000 (STD1-LIFE-2, STD1-LIFE-7).
pub async fn requester_sees_expiry(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let person = world.person(name)?;
    let answer = person.last()?.clone();
    if answer != Answer::Ok(ReplyBody::Done(Done {})) {
        return Err(expected(format!("ending the room was answered {answer}")));
    }
    let session = person.joined_session()?;
    // Broadcasts kept in the inbox arrived before the reply.
    let before_reply: Vec<Broadcast> = session.inbox.drain(..).collect();
    if !matches!(
        before_reply.last(),
        Some(Broadcast::RoomExpired {
            cause: ExpiryCause::Party
        })
    ) {
        return Err(expected(format!(
            "before the reply, {name} received {:?} instead of ending with `room_expired` (party)",
            before_reply.iter().map(Broadcast::name).collect::<Vec<_>>()
        )));
    }
    match session.close_code(Instant::now() + FRAME_TIMEOUT).await? {
        Some(ROOM_EXPIRED_CLOSE) => Ok(()),
        code => Err(expected(format!("the session was closed with {code:?}"))),
    }
}

async fn told(world: &mut FeatureWorld, name: &str, cause: ExpiryCause) -> Outcome {
    let deadline = deadline(world, cause)?;
    let person = world.person(name)?;
    let mut open: Vec<&mut Session> = person
        .sessions
        .iter_mut()
        .filter(|s| s.joined && s.closed.is_none())
        .collect();
    if open.is_empty() {
        return Err(StepFailure::Setup(format!("{name} has no open session")));
    }
    for session in &mut open {
        await_expiry(session, cause, deadline).await?;
        match session.close_code(deadline).await? {
            Some(ROOM_EXPIRED_CLOSE) => {}
            code => {
                return Err(expected(format!(
                    "{name}'s session was closed with {code:?}"
                )));
            }
        }
    }
    Ok(())
}

pub async fn session_told(world: &mut FeatureWorld, args: Args) -> Outcome {
    told(world, args.get(0)?, cause(args.get(1)?)?).await
}

pub async fn every_session_told(world: &mut FeatureWorld, args: Args) -> Outcome {
    let cause = cause(args.get(0)?)?;
    for name in ["Alice", "Bob"] {
        told(world, name, cause).await?;
    }
    Ok(())
}

/// Waits, up to the room's expiry time plus the 60 seconds STD1-LIFE-4
/// allows, until Alice's session is told; the broadcast is put back for
/// the steps that check it.
pub async fn lifetime_runs_out(world: &mut FeatureWorld, _: Args) -> Outcome {
    let deadline = deadline(world, ExpiryCause::Ttl)?;
    let session = world.person("Alice")?.joined_session()?;
    let broadcast = await_expiry(session, ExpiryCause::Ttl, deadline).await?;
    session.inbox.push_front(broadcast);
    Ok(())
}

/// A deleted room is absent: even its creator's right PIN finds nothing
/// (STD1-JOIN-3, STD1-LIFE-3).
pub async fn join_not_found(world: &mut FeatureWorld, _: Args) -> Outcome {
    let hashes = world.person("Alice")?.hashes;
    let join = ClientEvent::Join(JoinRoom {
        room_hash: hashes.room_hash,
        access_hash: hashes.access_hash,
        sender_hash: hashes.sender_hash,
        pairing_hash: None,
    });
    let answer = world.request_unjoined("Alice", join, true).await?;
    match answer.reason() {
        Some(stelgano_spec::ErrorReason::NotFound) => Ok(()),
        _ => Err(expected(format!("the join was answered {answer}"))),
    }
}

/// The number makes a new room with a new `room_id`, and so a new key
/// (STD1-LIFE-5).
pub async fn number_reusable(world: &mut FeatureWorld, _: Args) -> Outcome {
    let old = world.room()?.room_id;
    let hashes = world.person("Alice")?.hashes;
    let code = fixtures::pairing_code().map_err(StepFailure::Setup)?;
    world.secrets.pairing_codes.push(code.as_str().to_owned());
    let create = ClientEvent::Create(CreateRoom {
        room_hash: hashes.room_hash,
        access_hash: hashes.access_hash,
        sender_hash: hashes.sender_hash,
        pairing_hash: code.hash(),
        country_iso: None,
    });
    let answer = world.request_unjoined("Alice", create, true).await?;
    let new = answer
        .joined()
        .ok_or_else(|| expected(format!("creating the room again was answered {answer}")))?
        .room_id;
    if new == old {
        return Err(expected("the new room has the old room's id"));
    }
    let (old_key, new_key) = (world.key(old).await?, world.key(new).await?);
    if old_key.as_bytes() == new_key.as_bytes() {
        return Err(expected("the new room's key is the old room's"));
    }
    Ok(())
}

/// `ttl_expires_at` is fixed at creation and at most 365 days ahead
/// (STD1-LIFE-1).
pub async fn expiry_fixed(world: &mut FeatureWorld, _: Args) -> Outcome {
    let created = world.room()?.ttl_expires_at;
    let answer = world.person("Alice")?.last()?.clone();
    let joined = answer
        .joined()
        .ok_or_else(|| expected(format!("Alice's join was answered {answer}")))?;
    if joined.ttl_expires_at != created {
        return Err(expected(format!(
            "the join reports the expiry time {}, the creation {created}",
            joined.ttl_expires_at
        )));
    }
    let ahead = FeatureWorld::seconds_until(created);
    let limit = i64::try_from(MAX_ROOM_TTL.as_secs()).unwrap_or(i64::MAX);
    if ahead <= 0 || ahead > limit {
        return Err(expected(format!(
            "the room expires {ahead} seconds from now"
        )));
    }
    Ok(())
}
