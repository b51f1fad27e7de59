//! Tests for what a cargo-mutants run on the store's `create` and `join`,
//! its shared helpers and its keyed storage found untested (MUTANTS.md,
//! the `access` pass): each pins a behaviour that a surviving mutant had
//! changed without any test failing. The store is driven through a
//! throwaway PostgreSQL, as in store_access.rs and lock_origins.rs.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use sqlx::PgPool;
use stelgano_server::store::events::ends_room;
use stelgano_server::store::{
    CreateOutcome, JoinOrigin, JoinOutcome, Lockout, ReadOutcome, SendOutcome, StoreError,
    create_room, join_room, read_receipt, send_message,
};
use stelgano_spec::derive::PartyHashes;
use stelgano_spec::ids::{PairingHash, RoomId};
use stelgano_spec::wire::{Ciphertext, Iv, Joined, Message, SendMessage, Timestamp};

use common::{code, create_request, join_request, party};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
const NUMBER: &str = "+1 555 014 2020";

fn alice() -> PartyHashes {
    party(NUMBER, "1234")
}

fn bob() -> PartyHashes {
    party(NUMBER, "5678")
}

fn mallory() -> PartyHashes {
    party(NUMBER, "0000")
}

fn pairing() -> PairingHash {
    code("P2K4-9H7M")
}

fn timestamp(at: time::OffsetDateTime) -> Timestamp {
    Timestamp::from_datetime(at).expect("a whole-second time")
}

async fn alice_room(pool: &PgPool) -> Box<Joined> {
    let outcome = create_room(
        pool,
        common::keys(),
        &create_request(&alice(), pairing()),
        WEEK,
    )
    .await
    .expect("store");
    let CreateOutcome::Created { joined, .. } = outcome else {
        panic!("{outcome:?}")
    };
    joined
}

async fn join(pool: &PgPool, who: &PartyHashes, code: Option<PairingHash>) -> JoinOutcome {
    join_room(
        pool,
        common::keys(),
        &join_request(who, code),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store")
}

/// The room's `Joined` view as a party returning with its PIN sees it.
async fn rejoined(pool: &PgPool, who: &PartyHashes) -> Box<Joined> {
    let outcome = join(pool, who, None).await;
    let JoinOutcome::Joined { joined, .. } = outcome else {
        panic!("{outcome:?}")
    };
    joined
}

fn message(fill: u8, replaces: Option<stelgano_spec::ids::MessageId>) -> SendMessage {
    SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![fill; 33]).expect("valid size"),
        iv: Iv::from_array([fill; 12]),
        replaces,
    }
}

fn sent(outcome: SendOutcome) -> Box<Message> {
    match outcome {
        SendOutcome::Sent { message, .. } => message,
        other => panic!("expected Sent, got {other:?}"),
    }
}

async fn scalar<T>(pool: &PgPool, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("query")
}

#[tokio::test]
async fn a_join_describes_the_room_s_current_message_as_stored() {
    // STD1-JOIN-8, STD1-MSG-4: a `Joined` reply carries the current
    // message as a `Message` object, with its author's sender hash (opened
    // from its seal, STD1-SRV-25), its bytes, its times and its flag, for
    // a message of either slot.
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    let JoinOutcome::Joined { binding: b, .. } = join(&pool, &bob(), Some(pairing())).await else {
        panic!("paired")
    };
    let JoinOutcome::Joined { binding: a, .. } = join(&pool, &alice(), None).await else {
        panic!("rejoined")
    };
    let first = sent(
        send_message(&pool, &a, &message(1, None))
            .await
            .expect("store"),
    );
    assert_eq!(
        rejoined(&pool, &bob()).await.current_message.as_ref(),
        Some(&*first)
    );
    let ReadOutcome::Read { read_at, .. } = read_receipt(&pool, &b, first.id).await.expect("store")
    else {
        panic!("read")
    };
    let read = Message {
        read_at: Some(read_at),
        ..(*first).clone()
    };
    assert_eq!(rejoined(&pool, &alice()).await.current_message, Some(read));
    let reply = sent(
        send_message(&pool, &b, &message(2, Some(first.id)))
            .await
            .expect("store"),
    );
    assert_eq!(reply.sender_hash, bob().sender_hash);
    assert_eq!(
        rejoined(&pool, &alice()).await.current_message.as_ref(),
        Some(&*reply)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_waited_for_a_racing_create_takes_its_time_after_it() {
    // STD1-SRV-7, STD1-LIFE-1, STD1-JOIN-18: a create whose insert waited
    // for a racing create of the same number that then rolled back takes
    // the time at which it got its place, not the time it read before
    // waiting; its creation time, lifetime, count window and access record
    // all start then.
    let pool = common::fresh_pool().await;
    let mut racing = pool.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO rooms (id, room_hash, created_at, ttl_expires_at)
         VALUES ($1, $2, date_trunc('second', now()), date_trunc('second', now()) + interval '1 day')",
    )
    .bind(RoomId::random().expect("randomness").as_uuid())
    .bind(common::keys().room(&alice().room_hash).as_slice())
    .execute(&mut *racing)
    .await
    .expect("the racing create's insert");
    let create = tokio::spawn({
        let pool = pool.clone();
        async move {
            create_room(
                &pool,
                common::keys(),
                &create_request(&alice(), pairing()),
                WEEK,
            )
            .await
        }
    });
    // Once the create waits on the racing insert (it has read its first
    // time by then), let the database clock pass into a later second, then
    // roll the racing create back (bounded waits on conditions).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while scalar::<i64>(
        &pool,
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND a.datname = current_database()",
    )
    .await
        == 0
        && !create.is_finished()
    {
        assert!(tokio::time::Instant::now() < deadline, "the create waits");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!create.is_finished(), "the create waits for the racing one");
    let waiting_since: time::OffsetDateTime =
        scalar(&pool, "SELECT date_trunc('second', clock_timestamp())").await;
    while scalar::<time::OffsetDateTime>(&pool, "SELECT date_trunc('second', clock_timestamp())")
        .await
        <= waiting_since
    {
        assert!(tokio::time::Instant::now() < deadline, "time passes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    racing
        .rollback()
        .await
        .expect("the racing create rolls back");

    let outcome = create.await.expect("task").expect("store");
    let CreateOutcome::Created {
        joined,
        expired: None,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let (created_at, ttl_expires_at, window_start): (
        time::OffsetDateTime,
        time::OffsetDateTime,
        time::OffsetDateTime,
    ) = sqlx::query_as("SELECT created_at, ttl_expires_at, window_start FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("the one room");
    assert!(
        created_at > waiting_since,
        "created at {created_at}, while it still waited at {waiting_since}"
    );
    assert_eq!(window_start, created_at);
    assert_eq!(timestamp(ttl_expires_at), joined.ttl_expires_at);
    assert_eq!(
        joined.ttl_expires_at.seconds_since(timestamp(created_at)),
        7 * 24 * 3600
    );
    let record_created: time::OffsetDateTime =
        scalar(&pool, "SELECT created_at FROM access_records").await;
    assert_eq!(record_created, created_at);
}

#[tokio::test]
async fn a_lock_that_ends_at_the_operation_s_time_has_been_served() {
    // STD1-JOIN-18, STD1-JOIN-19: the room is locked only while its lock
    // time is later than the operation's time (STD1-SRV-7). A wrong PIN at
    // the lock time itself finds the lock served: the count starts again
    // from zero, in a window that starts at the lock time, and the answer
    // is `unauthorized` with L - 1 attempts left, not a new lock.
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    let n = |v| NonZeroU32::new(v).expect("non-zero");
    let lockout = Lockout::new(n(3), n(1800)).expect("at most 10 attempts");
    // The test needs the join's time to be the lock time to the second;
    // a join that lands in the next second is retried.
    for _ in 0..20 {
        let until: time::OffsetDateTime = scalar(
            &pool,
            "UPDATE rooms SET failures = 3,
                              locked_until = date_trunc('second', clock_timestamp())
             RETURNING locked_until",
        )
        .await;
        let mut origin = JoinOrigin::clear();
        let outcome = join_room(
            &pool,
            common::keys(),
            &join_request(&mallory(), None),
            lockout,
            &mut origin,
        )
        .await
        .expect("store");
        let at = origin.failure().expect("a wrong PIN fails").at;
        if at != timestamp(until) {
            continue;
        }
        assert_eq!(
            outcome,
            JoinOutcome::Unauthorized {
                attempts_remaining: n(2)
            }
        );
        let gate: (i32, Option<time::OffsetDateTime>, time::OffsetDateTime) =
            sqlx::query_as("SELECT failures, locked_until, window_start FROM rooms")
                .fetch_one(&pool)
                .await
                .expect("the room");
        assert_eq!(gate, (1, None, until));
        return;
    }
    panic!("no join fell in its lock's last second in 20 tries");
}

#[tokio::test]
async fn an_expiry_found_by_join_or_create_is_the_room_s_next_version() {
    // STD1-LIFE-4, STD1-WIRE-30, STD1-SRV-6: a `join` or a `create` that
    // finds the room past its expiry time announces `room_expired` as the
    // room's next version, so that every session, whatever version its
    // `Joined` reply described, receives it.
    let pool = common::fresh_pool().await;
    let mut published = common::Published::listen(&pool).await;
    let first = alice_room(&pool).await.room_id;
    assert!(matches!(
        join(&pool, &bob(), Some(pairing())).await,
        JoinOutcome::Joined {
            version: 1,
            paired_now: true,
            ..
        }
    ));
    let paired = published.next().await;
    assert_eq!((paired.room_id, paired.version), (first, Some(1)));

    common::age_all_rooms(&pool).await;
    assert_eq!(
        join(&pool, &alice(), None).await,
        JoinOutcome::NotFound {
            expired: Some(stelgano_server::store::ExpiredRoom(first))
        }
    );
    let ended = published.next().await;
    assert_eq!((ended.room_id, ended.version), (first, Some(2)));
    assert!(ends_room(&ended.frame), "{}", ended.frame);

    let second = alice_room(&pool).await.room_id;
    common::age_all_rooms(&pool).await;
    let outcome = create_room(
        &pool,
        common::keys(),
        &create_request(&alice(), pairing()),
        WEEK,
    )
    .await
    .expect("store");
    assert!(
        matches!(outcome, CreateOutcome::Created { expired: Some(e), .. } if e.0 == second),
        "{outcome:?}"
    );
    let ended = published.next().await;
    assert_eq!((ended.room_id, ended.version), (second, Some(1)));
    assert!(ends_room(&ended.frame), "{}", ended.frame);
}

#[tokio::test]
async fn store_failures_are_logged_by_kind_without_their_messages() {
    // STD1-SRV-16: a failure that is not the database's own answer is
    // logged by its kind only; the message, which may quote values, is not.
    let secret = "room_hash 5a5a5a";
    let boxed = || -> Box<dyn std::error::Error + Send + Sync> { secret.into() };
    let cases = [
        (sqlx::Error::Io(std::io::Error::other(secret)), "i/o"),
        (sqlx::Error::PoolTimedOut, "pool timed out"),
        (sqlx::Error::PoolClosed, "pool closed"),
        (sqlx::Error::Protocol(secret.into()), "protocol"),
        (sqlx::Error::Tls(boxed()), "tls"),
        (
            sqlx::Error::ColumnDecode {
                index: secret.into(),
                source: boxed(),
            },
            "decode",
        ),
        (sqlx::Error::Decode(boxed()), "decode"),
        (sqlx::Error::ColumnNotFound(secret.into()), "other"),
    ];
    for (error, kind) in cases {
        let logged = StoreError::from(error).loggable();
        assert_eq!(logged, format!("database failure ({kind})"));
    }
    // As a closed pool really answers.
    let pool = common::fresh_pool().await;
    pool.close().await;
    let error = sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .expect_err("a closed pool");
    assert_eq!(
        StoreError::from(error).loggable(),
        "database failure (pool closed)"
    );
}
