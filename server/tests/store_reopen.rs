//! Re-opening a slot for a new PIN and the lock broadcast, against a real
//! PostgreSQL (spec §8.3, §8.4: STD1-JOIN-14 to STD1-JOIN-16,
//! STD1-JOIN-24 to STD1-JOIN-26). Every refusal is checked to leave the
//! stored rows as they were.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use sqlx::PgPool;
use stelgano_server::store::events::Audience;
use stelgano_server::store::{
    CreateOutcome, DeleteOutcome, Ended, JoinOrigin, JoinOutcome, Lockout, ReopenOutcome,
    SendOutcome, SessionBinding, Slot, create_room, delete_message, join_room, reopen_pairing,
    send_message,
};
use stelgano_spec::derive::PartyHashes;
use stelgano_spec::ids::{MessageId, PairingHash};
use stelgano_spec::wire::{Broadcast, Ciphertext, Iv, SendMessage, ServerFrame};

use common::{code, party};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
const NUMBER: &str = "+44 7700 900123";

/// Alice (creator, PIN 1234) and Bob (PIN 9999), paired, with sessions.
struct Pair {
    alice: PartyHashes,
    bob: PartyHashes,
    a: SessionBinding,
    b: SessionBinding,
}

async fn paired(pool: &PgPool) -> Pair {
    let alice = party(NUMBER, "1234");
    let bob = party(NUMBER, "9999");
    let first = code("P2K4-9H7M");
    let CreateOutcome::Created { binding: a, .. } = create_room(
        pool,
        common::keys(),
        &common::create_request(&alice, first),
        WEEK,
    )
    .await
    .expect("store") else {
        panic!("created")
    };
    let JoinOutcome::Joined { binding: b, .. } = join(pool, &bob, Some(first)).await else {
        panic!("paired")
    };
    Pair { alice, bob, a, b }
}

async fn join(pool: &PgPool, who: &PartyHashes, pairing: Option<PairingHash>) -> JoinOutcome {
    join_room(
        pool,
        common::keys(),
        &common::join_request(who, pairing),
        Lockout::default(),
        &mut JoinOrigin::clear(),
    )
    .await
    .expect("store")
}

async fn reopen(pool: &PgPool, session: &SessionBinding, pairing: PairingHash) -> ReopenOutcome {
    reopen_pairing(pool, common::keys(), session, &pairing)
        .await
        .expect("store")
}

async fn send(pool: &PgPool, session: &SessionBinding, replaces: Option<MessageId>) -> SendOutcome {
    let request = SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![7; 24]).expect("size"),
        iv: Iv::from_array([7; 12]),
        replaces,
    };
    send_message(pool, session, &request).await.expect("store")
}

/// The rows a refusal must leave alone: the room row and both records.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT row_to_json(t)::text FROM (
            SELECT id::text, encode(pairing_hash, 'hex') AS code, pairing_slot, failures,
                   locked_until::text, version FROM rooms
         ) t
         UNION ALL
         SELECT row_to_json(t)::text FROM (
            SELECT slot, encode(access_hash, 'hex') AS access, encode(sender_index, 'hex') AS sender
              FROM access_records ORDER BY slot
         ) t",
    )
    .fetch_all(pool)
    .await
    .expect("snapshot")
}

fn attempts(outcome: &JoinOutcome) -> Option<u32> {
    match outcome {
        JoinOutcome::Unauthorized { attempts_remaining }
        | JoinOutcome::PairingInvalid { attempts_remaining } => Some(attempts_remaining.get()),
        _ => None,
    }
}

#[tokio::test]
async fn a_reopened_slot_takes_a_new_pin_and_keeps_its_message() {
    // STD1-JOIN-24, STD1-JOIN-14 rule 3, STD1-JOIN-25, STD1-JOIN-15
    let pool = common::fresh_pool().await;
    let p = paired(&pool).await;
    // Bob's unread message is the slot's.
    let SendOutcome::Sent { message, .. } = send(&pool, &p.b, None).await else {
        panic!("sent")
    };
    let replacement = code("7KQR-M2XW");
    assert_eq!(
        reopen(&pool, &p.a, replacement).await,
        ReopenOutcome::Reopened
    );
    let stored: (Option<i16>, i32) = sqlx::query_as("SELECT pairing_slot, failures FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("room");
    assert_eq!(
        stored,
        (Some(2), 0),
        "the code opens slot 2; nothing counted"
    );

    let mut published = common::Published::listen(&pool).await;
    let new_bob = party(NUMBER, "5678");
    let JoinOutcome::Joined {
        joined,
        binding,
        version,
        paired_now,
    } = join(&pool, &new_bob, Some(replacement)).await
    else {
        panic!("the claim replaced slot 2")
    };
    assert!(paired_now && !joined.awaiting_party);
    assert_eq!(binding.slot, Slot::Second);
    let current = joined.current_message.expect("the slot's message stays");
    assert_eq!(current.id, message.id);
    assert_eq!(
        current.sender_hash, new_bob.sender_hash,
        "STD1-JOIN-25: presented with the new record's sender hash"
    );
    let event = published.next().await;
    assert_eq!(event.version, Some(version));
    assert_eq!(event.audience, Audience::Replacing(Slot::Second));
    assert_eq!(
        event.frame,
        ServerFrame::Broadcast(Broadcast::PartyPaired {}).to_json()
    );
    let (records, code_left): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM access_records), pairing_hash IS NOT NULL FROM rooms",
    )
    .fetch_one(&pool)
    .await
    .expect("rows");
    assert_eq!((records, code_left), (2, false), "two records, code spent");

    // The old PIN is a wrong PIN now; the new one opens slot 2.
    assert_eq!(attempts(&join(&pool, &p.bob, None).await), Some(9));
    assert!(matches!(
        join(&pool, &new_bob, None).await,
        JoinOutcome::Joined { binding, .. } if binding.slot == Slot::Second
    ));
    // The new record may delete its slot's unread message (STD1-JOIN-25).
    assert!(matches!(
        delete_message(&pool, &binding, message.id)
            .await
            .expect("store"),
        DeleteOutcome::Deleted { .. }
    ));
}

#[tokio::test]
async fn a_replaced_session_acts_for_nobody() {
    // STD1-JOIN-25: frames of the displaced session change nothing.
    let pool = common::fresh_pool().await;
    let p = paired(&pool).await;
    let replacement = code("7KQR-M2XW");
    reopen(&pool, &p.a, replacement).await;
    let JoinOutcome::Joined { .. } = join(&pool, &party(NUMBER, "5678"), Some(replacement)).await
    else {
        panic!("replaced")
    };
    let before = snapshot(&pool).await;
    assert_eq!(
        send(&pool, &p.b, None).await,
        SendOutcome::Ended(Ended::Replaced)
    );
    assert_eq!(
        reopen(&pool, &p.b, code("AAAA-BBBB")).await,
        ReopenOutcome::Ended(Ended::Replaced)
    );
    assert_eq!(snapshot(&pool).await, before);
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(messages, 0);
    // Alice's session is untouched.
    assert!(matches!(
        send(&pool, &p.a, None).await,
        SendOutcome::Sent { .. }
    ));
}

#[tokio::test]
async fn either_party_can_reopen_the_other_slot() {
    // STD1-JOIN-24: Bob re-opens slot 1 for a creator who forgot the PIN.
    let pool = common::fresh_pool().await;
    let p = paired(&pool).await;
    let replacement = code("7KQR-M2XW");
    assert_eq!(
        reopen(&pool, &p.b, replacement).await,
        ReopenOutcome::Reopened
    );
    let new_alice = party(NUMBER, "4321");
    let JoinOutcome::Joined { binding, .. } = join(&pool, &new_alice, Some(replacement)).await
    else {
        panic!("claimed slot 1")
    };
    assert_eq!(binding.slot, Slot::Creator);
    assert_eq!(attempts(&join(&pool, &p.alice, None).await), Some(9));
}

#[tokio::test]
async fn the_party_the_code_was_made_for_withdraws_it_by_logging_in() {
    // STD1-JOIN-16: Bob's own PIN opens slot 2 and erases the code, which
    // is then a wrong code like any other.
    let pool = common::fresh_pool().await;
    let p = paired(&pool).await;
    let replacement = code("7KQR-M2XW");
    reopen(&pool, &p.a, replacement).await;
    assert!(matches!(
        join(&pool, &p.bob, Some(replacement)).await,
        JoinOutcome::Joined {
            paired_now: false,
            ..
        }
    ));
    let code_left: bool = sqlx::query_scalar("SELECT pairing_hash IS NOT NULL FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("room");
    assert!(!code_left, "withdrawn");
    let intruder = party(NUMBER, "0000");
    assert_eq!(
        attempts(&join(&pool, &intruder, Some(replacement)).await),
        Some(9),
        "rule 5: no code in the room, so a wrong PIN"
    );
    // Alice logging in does not withdraw a code that targets Bob's slot.
    let again = code("Z9Z9-Z9Z9");
    reopen(&pool, &p.a, again).await;
    join(&pool, &p.alice, None).await;
    let code_left: bool = sqlx::query_scalar("SELECT pairing_hash IS NOT NULL FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("room");
    assert!(code_left, "only the target's own login withdraws it");
}

#[tokio::test]
async fn refused_claims_change_nothing_but_the_count() {
    // STD1-JOIN-14 rules 1 and 2, STD1-JOIN-7, STD1-WIRE-23.
    let pool = common::fresh_pool().await;
    let p = paired(&pool).await;
    let replacement = code("7KQR-M2XW");
    reopen(&pool, &p.a, replacement).await;
    let before = snapshot(&pool).await;
    let stranger = party(NUMBER, "5678");
    assert_eq!(
        attempts(&join(&pool, &stranger, Some(code("AAAA-BBBB"))).await),
        Some(9),
        "a wrong code is pairing_invalid and counted"
    );
    let after_wrong = snapshot(&pool).await;
    assert_eq!(
        before[1..],
        after_wrong[1..],
        "the records are untouched by a wrong code"
    );
    // A claim presenting Alice's sender hash with a new PIN.
    let mut thief = party(NUMBER, "5678");
    thief.sender_hash = p.alice.sender_hash;
    assert!(matches!(
        join(&pool, &thief, Some(replacement)).await,
        JoinOutcome::SenderMismatch
    ));
    assert_eq!(
        snapshot(&pool).await,
        after_wrong,
        "sender_mismatch changes nothing"
    );
}

#[tokio::test]
async fn in_an_unpaired_room_reopen_is_reset() {
    // STD1-JOIN-24: one record, so the code opens slot 2 as reset_pairing's.
    let pool = common::fresh_pool().await;
    let alice = party(NUMBER, "1234");
    let first = code("P2K4-9H7M");
    let CreateOutcome::Created { binding: a, .. } = create_room(
        &pool,
        common::keys(),
        &common::create_request(&alice, first),
        WEEK,
    )
    .await
    .expect("store") else {
        panic!("created")
    };
    let second = code("7KQR-M2XW");
    assert_eq!(reopen(&pool, &a, second).await, ReopenOutcome::Reopened);
    let bob = party(NUMBER, "9999");
    assert!(matches!(
        join(&pool, &bob, Some(first)).await,
        JoinOutcome::PairingInvalid { .. }
    ));
    assert!(matches!(
        join(&pool, &bob, Some(second)).await,
        JoinOutcome::Joined { paired_now: true, binding, .. } if binding.slot == Slot::Second
    ));
}

#[tokio::test]
async fn the_failure_that_locks_the_room_is_broadcast() {
    // STD1-JOIN-26: the locking failure publishes room_locked with the lock
    // time, in the room's order; earlier failures publish nothing.
    let pool = common::fresh_pool().await;
    let p = paired(&pool).await;
    let lockout = Lockout::new(
        NonZeroU32::new(3).expect("3"),
        NonZeroU32::new(1800).expect("1800"),
    )
    .expect("valid");
    let version_before: i64 = sqlx::query_scalar("SELECT version FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("version");
    let mut published = common::Published::listen(&pool).await;
    let guesser = party(NUMBER, "0000");
    for _ in 0..3 {
        join_room(
            &pool,
            common::keys(),
            &common::join_request(&guesser, None),
            lockout,
            &mut JoinOrigin::clear(),
        )
        .await
        .expect("store");
    }
    let event = published.next().await;
    let (locked_until, version): (time::OffsetDateTime, i64) =
        sqlx::query_as("SELECT locked_until, version FROM rooms")
            .fetch_one(&pool)
            .await
            .expect("room");
    assert_eq!(version, version_before + 1, "one event, for the lock");
    assert_eq!(event.version, Some(version));
    assert_eq!(event.audience, Audience::All);
    let locked_until =
        stelgano_spec::wire::Timestamp::from_datetime(locked_until).expect("in range");
    assert_eq!(
        event.frame,
        ServerFrame::Broadcast(Broadcast::RoomLocked { locked_until }).to_json()
    );
    // Sessions are not affected by the lock (STD1-JOIN-20 bars joins).
    assert!(matches!(
        send(&pool, &p.a, None).await,
        SendOutcome::Sent { .. }
    ));
}
