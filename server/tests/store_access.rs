//! `create` and `join` against a real PostgreSQL (spec §8).

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use sqlx::PgPool;
use stelgano_server::store::{
    CreateOutcome, JoinOrigin, JoinOutcome, Lockout, Slot, create_room, join_room,
};
use stelgano_spec::derive::PartyHashes;
use stelgano_spec::ids::PairingHash;

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

use common::{code, create_request, join_request, party};

fn n(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).expect("non-zero")
}

/// A room created by Alice (PIN 1234) with code P2K4-9H7M.
async fn alice_room(pool: &PgPool) -> (PartyHashes, PairingHash) {
    let alice = party("+1 555 012 3456", "1234");
    let pairing = code("P2K4-9H7M");
    let outcome = create_room(pool, common::keys(), &create_request(&alice, pairing), WEEK)
        .await
        .expect("store");
    assert!(
        matches!(outcome, CreateOutcome::Created { .. }),
        "{outcome:?}"
    );
    (alice, pairing)
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("query")
}

#[tokio::test]
async fn create_opens_slot_one_and_join_returns_to_it() {
    // STD1-JOIN-1, STD1-JOIN-8
    let pool = common::fresh_pool().await;
    let alice = party("+1 555 012 3456", "1234");
    let CreateOutcome::Created {
        joined,
        binding,
        expired,
        version,
    } = create_room(
        &pool,
        common::keys(),
        &create_request(&alice, code("P2K4-9H7M")),
        WEEK,
    )
    .await
    .expect("store")
    else {
        panic!("created")
    };
    assert!(joined.awaiting_party && joined.current_message.is_none() && expired.is_none());
    assert_eq!(
        (binding.slot, binding.sender_hash),
        (Slot::Creator, alice.sender_hash)
    );
    let created: time::OffsetDateTime = sqlx::query_scalar("SELECT created_at FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("q");
    let created = stelgano_spec::wire::Timestamp::from_datetime(created).expect("in range");
    // STD1-LIFE-1: the lifetime runs from the creation time.
    assert_eq!(joined.ttl_expires_at.seconds_since(created), 7 * 24 * 3600);
    let again = join_room(
        &pool,
        common::keys(),
        &join_request(&alice, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    let JoinOutcome::Joined {
        joined: rejoined,
        binding: rebound,
        paired_now,
        version: rejoined_version,
    } = again
    else {
        panic!("{again:?}")
    };
    assert_eq!(rejoined, joined);
    assert_eq!(rebound, binding);
    assert!(!paired_now);
    // No broadcast happened in between, so both replies describe one version.
    assert_eq!((version, rejoined_version), (0, 0));
}

#[tokio::test]
async fn a_second_create_finds_the_room_and_changes_nothing() {
    // STD1-JOIN-2
    let pool = common::fresh_pool().await;
    let (alice, _) = alice_room(&pool).await;
    let before: String =
        sqlx::query_scalar("SELECT string_agg(id::text || failures::text, ',') FROM rooms")
            .fetch_one(&pool)
            .await
            .expect("q");
    let mallory = party("+1 555 012 3456", "0000");
    let outcome = create_room(
        &pool,
        common::keys(),
        &create_request(&mallory, code("AAAA-AAAA")),
        WEEK,
    )
    .await
    .expect("store");
    assert_eq!(outcome, CreateOutcome::RoomExists);
    let outcome = create_room(
        &pool,
        common::keys(),
        &create_request(&alice, code("P2K4-9H7M")),
        WEEK,
    )
    .await
    .expect("store");
    assert_eq!(outcome, CreateOutcome::RoomExists);
    let after: String =
        sqlx::query_scalar("SELECT string_agg(id::text || failures::text, ',') FROM rooms")
            .fetch_one(&pool)
            .await
            .expect("q");
    assert_eq!(before, after);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM access_records").await,
        1
    );
}

#[tokio::test]
async fn join_never_creates_a_room() {
    // STD1-JOIN-3
    let pool = common::fresh_pool().await;
    let typo = party("+1 555 012 3457", "1234");
    let outcome = join_room(
        &pool,
        common::keys(),
        &join_request(&typo, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert_eq!(outcome, JoinOutcome::NotFound { expired: None });
    assert_eq!(scalar(&pool, "SELECT count(*) FROM rooms").await, 0);
}

#[tokio::test]
async fn the_pairing_code_takes_slot_two_once() {
    // STD1-JOIN-14, STD1-JOIN-16
    let pool = common::fresh_pool().await;
    let (_alice, pairing) = alice_room(&pool).await;
    let bob = party("+1 555 012 3456", "9999");
    let outcome = join_room(
        &pool,
        common::keys(),
        &join_request(&bob, Some(pairing)),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    let JoinOutcome::Joined {
        joined,
        binding,
        paired_now,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!(paired_now && !joined.awaiting_party);
    assert_eq!(binding.slot, Slot::Second);
    assert_eq!(
        scalar(
            &pool,
            "SELECT count(*) FROM rooms WHERE pairing_hash IS NULL"
        )
        .await,
        1,
        "the code is single-use"
    );
    // Bob returns with the code still in his request: it is ignored.
    let again = join_room(
        &pool,
        common::keys(),
        &join_request(&bob, Some(pairing)),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert!(
        matches!(
            again,
            JoinOutcome::Joined {
                paired_now: false,
                ..
            }
        ),
        "{again:?}"
    );
    // Someone else with the used code: the room is paired, so it is a wrong PIN.
    let eve = party("+1 555 012 3456", "5555");
    let outcome = join_room(
        &pool,
        common::keys(),
        &join_request(&eve, Some(pairing)),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert_eq!(
        outcome,
        JoinOutcome::Unauthorized {
            attempts_remaining: n(9)
        }
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM access_records").await,
        2
    );
}

#[tokio::test]
async fn sender_identity_is_bound_to_the_record() {
    // STD1-JOIN-7
    let pool = common::fresh_pool().await;
    let (alice, pairing) = alice_room(&pool).await;
    let mut forged = alice;
    forged.sender_hash = party("+1 555 012 3456", "9999").sender_hash;
    assert_eq!(
        join_room(
            &pool,
            common::keys(),
            &join_request(&forged, None),
            Lockout::default(),
            &mut JoinOrigin::barred()
        )
        .await
        .expect("store"),
        JoinOutcome::SenderMismatch
    );
    // A slot-2 claim presenting the creator's sender hash.
    let mut bob = party("+1 555 012 3456", "9999");
    bob.sender_hash = alice.sender_hash;
    assert_eq!(
        join_room(
            &pool,
            common::keys(),
            &join_request(&bob, Some(pairing)),
            Lockout::default(),
            &mut JoinOrigin::barred()
        )
        .await
        .expect("store"),
        JoinOutcome::SenderMismatch
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM access_records").await,
        1
    );
    assert_eq!(
        scalar(&pool, "SELECT failures::bigint FROM rooms").await,
        0,
        "a mismatch is not a guess"
    );
}

#[tokio::test]
async fn a_configured_lockout_sets_the_count_and_the_lock_time() {
    // STD1-JOIN-18, STD1-JOIN-19: `L` and `D` are the operator's.
    let pool = common::fresh_pool().await;
    let (alice, _) = alice_room(&pool).await;
    let mallory = party("+1 555 012 3456", "0000");
    let lockout = Lockout::new(n(3), n(90)).expect("at most 10 attempts");
    assert_eq!(Lockout::new(n(11), n(90)), None);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            join_room(
                &pool,
                common::keys(),
                &join_request(&mallory, None),
                lockout,
                &mut JoinOrigin::barred(),
            )
            .await
            .expect("store"),
        );
    }
    assert_eq!(
        seen,
        [
            JoinOutcome::Unauthorized {
                attempts_remaining: n(2)
            },
            JoinOutcome::Unauthorized {
                attempts_remaining: n(1)
            },
            JoinOutcome::Locked {
                retry_after: n(90),
                locked_now: true,
            },
        ]
    );
    // The right PIN is refused like any other while the lock lasts, with
    // the time left of the one lock time.
    let right = join_room(
        &pool,
        common::keys(),
        &join_request(&alice, None),
        lockout,
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    let JoinOutcome::Locked {
        retry_after,
        locked_now: false,
    } = right
    else {
        panic!("{right:?}");
    };
    assert!(retry_after.get() <= 90, "{retry_after}");
    assert!(Lockout::default().conforming());
    assert!(!lockout.conforming(), "a 90 s lock is not for production");
}

#[tokio::test]
async fn wrong_codes_and_pins_share_one_count_and_lock_the_room() {
    // STD1-JOIN-18, STD1-JOIN-19, STD1-JOIN-20, STD1-JOIN-5 (rule 5 in an unpaired room)
    let pool = common::fresh_pool().await;
    let (alice, _) = alice_room(&pool).await;
    let mallory = party("+1 555 012 3456", "0000");
    let mut seen = Vec::new();
    for i in 0..9 {
        // Alternate wrong pairing codes and code-less wrong PINs.
        let pairing = (i % 2 == 0).then(|| code("ZZZZ-ZZZZ"));
        seen.push(
            join_room(
                &pool,
                common::keys(),
                &join_request(&mallory, pairing),
                Lockout::default(),
                &mut JoinOrigin::barred(),
            )
            .await
            .expect("store"),
        );
    }
    let expected: Vec<JoinOutcome> = (1..=9)
        .map(|i| {
            let left = n(10 - i);
            if i % 2 == 1 {
                JoinOutcome::PairingInvalid {
                    attempts_remaining: left,
                }
            } else {
                JoinOutcome::Unauthorized {
                    attempts_remaining: left,
                }
            }
        })
        .collect();
    assert_eq!(seen, expected);
    let tenth = join_room(
        &pool,
        common::keys(),
        &join_request(&mallory, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert_eq!(
        tenth,
        JoinOutcome::Locked {
            retry_after: n(1800),
            locked_now: true,
        }
    );
    // While locked, the right PIN gets the same answer as a wrong one.
    let right = join_room(
        &pool,
        common::keys(),
        &join_request(&alice, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    let wrong = join_room(
        &pool,
        common::keys(),
        &join_request(&mallory, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert!(matches!(right, JoinOutcome::Locked { .. }), "{right:?}");
    assert_eq!(
        std::mem::discriminant(&right),
        std::mem::discriminant(&wrong)
    );
    assert_eq!(
        scalar(&pool, "SELECT failures::bigint FROM rooms").await,
        10,
        "nothing counted while locked"
    );
}

#[tokio::test]
async fn a_served_lock_clears_the_count_and_a_success_does_not() {
    // STD1-JOIN-18
    let pool = common::fresh_pool().await;
    let (alice, _) = alice_room(&pool).await;
    let mallory = party("+1 555 012 3456", "0000");
    for _ in 0..3 {
        join_room(
            &pool,
            common::keys(),
            &join_request(&mallory, None),
            Lockout::default(),
            &mut JoinOrigin::barred(),
        )
        .await
        .expect("store");
    }
    assert!(matches!(
        join_room(
            &pool,
            common::keys(),
            &join_request(&alice, None),
            Lockout::default(),
            &mut JoinOrigin::barred()
        )
        .await
        .expect("store"),
        JoinOutcome::Joined { .. }
    ));
    let next = join_room(
        &pool,
        common::keys(),
        &join_request(&mallory, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert_eq!(
        next,
        JoinOutcome::Unauthorized {
            attempts_remaining: n(6)
        },
        "a success does not reset"
    );
    // A lock that has passed: the count starts again.
    sqlx::query("UPDATE rooms SET failures = 10, locked_until = date_trunc('second', now()) - interval '1 second'")
        .execute(&pool)
        .await
        .expect("age the lock");
    let after = join_room(
        &pool,
        common::keys(),
        &join_request(&mallory, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert_eq!(
        after,
        JoinOutcome::Unauthorized {
            attempts_remaining: n(9)
        }
    );
    assert!(matches!(
        join_room(
            &pool,
            common::keys(),
            &join_request(&alice, None),
            Lockout::default(),
            &mut JoinOrigin::barred()
        )
        .await
        .expect("store"),
        JoinOutcome::Joined { .. }
    ));
}

#[tokio::test]
async fn an_expired_room_is_gone_and_its_number_reusable() {
    // STD1-LIFE-4, STD1-LIFE-5
    let pool = common::fresh_pool().await;
    let (alice, pairing) = alice_room(&pool).await;
    let old_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("id");
    common::age_all_rooms(&pool).await;
    let outcome = join_room(
        &pool,
        common::keys(),
        &join_request(&alice, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    let JoinOutcome::NotFound {
        expired: Some(expired),
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(*expired.0.as_uuid(), old_id);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM rooms").await, 0);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM access_records").await,
        0
    );
    let CreateOutcome::Created { joined, .. } = create_room(
        &pool,
        common::keys(),
        &create_request(&alice, pairing),
        WEEK,
    )
    .await
    .expect("store") else {
        panic!("the number can be used again")
    };
    assert_ne!(
        *joined.room_id.as_uuid(),
        old_id,
        "a new room has a new room_id"
    );
}

#[tokio::test]
async fn create_replaces_an_expired_room_it_finds() {
    // STD1-JOIN-1, STD1-LIFE-4
    let pool = common::fresh_pool().await;
    let (alice, pairing) = alice_room(&pool).await;
    sqlx::query(
        "UPDATE rooms SET created_at = date_trunc('second', now()) - interval '8 days',
                          ttl_expires_at = date_trunc('second', now()) - interval '1 second'",
    )
    .execute(&pool)
    .await
    .expect("expire");
    let outcome = create_room(
        &pool,
        common::keys(),
        &create_request(&alice, pairing),
        WEEK,
    )
    .await
    .expect("store");
    let CreateOutcome::Created {
        expired: Some(_),
        joined,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!(joined.awaiting_party);
    assert_eq!(scalar(&pool, "SELECT count(*) FROM rooms").await, 1);
}

const RACE_ROUNDS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_takes_its_time_after_waiting_for_the_room() {
    // STD1-SRV-7: the operation's time is read at its place in the room's
    // order. A create queued behind another operation on a room that
    // expires meanwhile finds it expired, as it would if run after it.
    let pool = common::fresh_pool().await;
    let (alice, pairing) = alice_room(&pool).await;
    sqlx::query(
        "UPDATE rooms SET ttl_expires_at = date_trunc('second', clock_timestamp()) + interval '1 second'",
    )
    .execute(&pool)
    .await
    .expect("a room about to expire");

    // Another operation holds the room's lock.
    let mut holder = pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM rooms FOR UPDATE")
        .execute(&mut *holder)
        .await
        .expect("lock");
    let create = tokio::spawn({
        let pool = pool.clone();
        let request = create_request(&alice, pairing);
        async move { create_room(&pool, common::keys(), &request, WEEK).await }
    });
    // Release the lock only once the create waits for it and the room's
    // time has passed on the database clock (bounded waits on conditions).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while scalar(&pool, "SELECT count(*) FROM pg_locks WHERE NOT granted").await == 0
        || scalar(
            &pool,
            "SELECT count(*) FROM rooms WHERE ttl_expires_at > date_trunc('second', clock_timestamp())",
        )
        .await
            > 0
    {
        assert!(tokio::time::Instant::now() < deadline, "create waits, time passes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.commit().await.expect("release");

    let outcome = create.await.expect("task").expect("store");
    let CreateOutcome::Created { expired, .. } = outcome else {
        panic!("the expired room is replaced: {outcome:?}")
    };
    assert!(expired.is_some(), "its expiry is announced");
    assert_eq!(scalar(&pool, "SELECT count(*) FROM rooms").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_make_exactly_one_room() {
    // STD1-JOIN-4: many rounds of two creates of one number at once.
    let pool = common::fresh_pool().await;
    let mut created = 0;
    for round in 0..RACE_ROUNDS {
        let a = party(&format!("+1 555 100 {round:04}"), "1111");
        let b = party(&format!("+1 555 100 {round:04}"), "2222");
        let (pa, pb) = (pool.clone(), pool.clone());
        let ta = tokio::spawn(async move {
            create_room(
                &pa,
                common::keys(),
                &create_request(&a, code("AAAA-AAAA")),
                WEEK,
            )
            .await
        });
        let tb = tokio::spawn(async move {
            create_room(
                &pb,
                common::keys(),
                &create_request(&b, code("BBBB-BBBB")),
                WEEK,
            )
            .await
        });
        let outcomes = [
            ta.await.expect("task").expect("store"),
            tb.await.expect("task").expect("store"),
        ];
        let wins = outcomes
            .iter()
            .filter(|o| matches!(o, CreateOutcome::Created { .. }))
            .count();
        assert_eq!(wins, 1, "round {round}: {outcomes:?}");
        assert!(outcomes.contains(&CreateOutcome::RoomExists));
        created += wins;
    }
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM rooms").await,
        i64::try_from(created).expect("small")
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM access_records").await,
        i64::try_from(RACE_ROUNDS).expect("small")
    );
    println!("racing creates: {RACE_ROUNDS} rounds, {created} rooms, 0 duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_slot_two_claims_admit_one_party() {
    // STD1-JOIN-6: two people with the right code claim slot 2 at once.
    let pool = common::fresh_pool().await;
    for round in 0..RACE_ROUNDS {
        let number = format!("+1 555 200 {round:04}");
        let alice = party(&number, "1111");
        let pairing = code("CCCC-CCCC");
        create_room(
            &pool,
            common::keys(),
            &create_request(&alice, pairing),
            WEEK,
        )
        .await
        .expect("store");
        let (bob, eve) = (party(&number, "2222"), party(&number, "3333"));
        let (pb, pe) = (pool.clone(), pool.clone());
        let tb = tokio::spawn(async move {
            join_room(
                &pb,
                common::keys(),
                &join_request(&bob, Some(pairing)),
                Lockout::default(),
                &mut JoinOrigin::barred(),
            )
            .await
        });
        let te = tokio::spawn(async move {
            join_room(
                &pe,
                common::keys(),
                &join_request(&eve, Some(pairing)),
                Lockout::default(),
                &mut JoinOrigin::barred(),
            )
            .await
        });
        let outcomes = [
            tb.await.expect("task").expect("store"),
            te.await.expect("task").expect("store"),
        ];
        let paired = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    JoinOutcome::Joined {
                        paired_now: true,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(paired, 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes.contains(&JoinOutcome::Unauthorized {
                attempts_remaining: n(9)
            }),
            "round {round}: {outcomes:?}"
        );
    }
    assert_eq!(
        scalar(
            &pool,
            "SELECT max(c) FROM (SELECT count(*) c FROM access_records GROUP BY room_id) s"
        )
        .await,
        2
    );
    println!("racing slot-2 claims: {RACE_ROUNDS} rounds, exactly one party admitted each time");
}
