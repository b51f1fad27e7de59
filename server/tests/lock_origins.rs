//! A lock bars the network origins that failed, not the room (spec §8.6,
//! STD1-JOIN-22, STD1-JOIN-23, D-45): first the store's decision for each
//! kind of origin, then the whole path over WebSocket connections made
//! from distinct loopback addresses.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sqlx::PgPool;
use stelgano_server::store::{
    CreateOutcome, Failed, JoinOrigin, JoinOutcome, Lockout, create_room, join_room,
};
use stelgano_spec::ErrorReason;
use stelgano_spec::derive::PartyHashes;
use stelgano_spec::ids::{PairingHash, RoomId};
use stelgano_spec::wire::{ClientEvent, ClientFrame, JoinRoom, ServerFrame, Timestamp};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use common::{code, create_request, join_request, party};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
const NUMBER: &str = "+1 555 012 3456";

fn lockout() -> Lockout {
    let n = |v| NonZeroU32::new(v).expect("non-zero");
    Lockout::new(n(3), n(1800)).expect("at most 10 attempts")
}

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

async fn alice_room(pool: &PgPool) {
    let outcome = create_room(
        pool,
        common::keys(),
        &create_request(&alice(), pairing()),
        WEEK,
    )
    .await
    .expect("store");
    assert!(
        matches!(outcome, CreateOutcome::Created { .. }),
        "{outcome:?}"
    );
}

/// A join decided for an origin in the given standing; the origin comes
/// back with the join's failure, if any.
async fn join(
    pool: &PgPool,
    request: &JoinRoom,
    mut origin: JoinOrigin,
) -> (JoinOutcome, JoinOrigin) {
    let outcome = join_room(pool, common::keys(), request, lockout(), &mut origin)
        .await
        .expect("store");
    (outcome, origin)
}

/// Locks the room with `L` wrong PINs from an origin that had not failed.
async fn lock_with_wrong_pins(pool: &PgPool) {
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            join(pool, &join_request(&mallory(), None), JoinOrigin::clear())
                .await
                .0,
        );
    }
    assert!(
        matches!(
            last,
            Some(JoinOutcome::Locked {
                locked_now: true,
                ..
            })
        ),
        "{last:?}"
    );
}

/// The room row's failure count, lock and window, to show what a join
/// left untouched.
async fn gate(pool: &PgPool) -> (i32, Option<time::OffsetDateTime>, time::OffsetDateTime) {
    sqlx::query_as("SELECT failures, locked_until, window_start FROM rooms")
        .fetch_one(pool)
        .await
        .expect("the room")
}

async fn records(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM access_records")
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn room_id(pool: &PgPool) -> RoomId {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM rooms")
        .fetch_one(pool)
        .await
        .expect("one room");
    RoomId::from_uuid(id)
}

fn timestamp(at: time::OffsetDateTime) -> Timestamp {
    Timestamp::from_datetime(at).expect("a whole-second time")
}

#[tokio::test]
async fn a_lock_admits_the_right_pin_from_an_origin_that_has_not_failed_and_counts_nothing() {
    // STD1-JOIN-23 rule 1, STD1-JOIN-18 (nothing counted while locked)
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    lock_with_wrong_pins(&pool).await;
    let before = gate(&pool).await;
    let (outcome, origin) = join(&pool, &join_request(&alice(), None), JoinOrigin::clear()).await;
    assert!(matches!(outcome, JoinOutcome::Joined { .. }), "{outcome:?}");
    assert_eq!(origin.failure(), None, "a success bars nothing");
    assert_eq!(
        gate(&pool).await,
        before,
        "nothing counted, the lock stands"
    );
}

#[tokio::test]
async fn a_wrong_guess_during_a_lock_is_answered_as_a_refusal_and_changes_nothing_stored() {
    // STD1-JOIN-23 rule 2, STD1-JOIN-20, STD1-WIRE-23
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    lock_with_wrong_pins(&pool).await;
    let before = gate(&pool).await;
    let (evaluated, origin) =
        join(&pool, &join_request(&mallory(), None), JoinOrigin::clear()).await;
    let (refused, barred) = join(&pool, &join_request(&alice(), None), JoinOrigin::barred()).await;
    // The same answer as a barred origin's refusal of a right PIN.
    for outcome in [&evaluated, &refused] {
        let JoinOutcome::Locked {
            retry_after,
            locked_now: false,
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        assert!((1799..=1800).contains(&retry_after.get()), "{retry_after}");
    }
    // Only the evaluated one failed: its origin is now to be barred.
    let failed = origin.failure().expect("a failure to remember");
    assert_eq!(barred.failure(), None, "a refusal is no failure");
    let (failures, locked_until, window_start) = before;
    assert_eq!(failed.room, room_id(&pool).await);
    assert!(failed.at >= timestamp(window_start));
    assert!(failed.at < timestamp(locked_until.expect("locked")));
    assert_eq!(failures, 3);
    assert_eq!(gate(&pool).await, before, "nothing stored changed");
    assert_eq!(records(&pool).await, 1);
}

#[tokio::test]
async fn a_wrong_pairing_code_during_a_lock_is_a_failure_and_a_right_one_pairs() {
    // STD1-JOIN-23, STD1-JOIN-14 during a lock
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    lock_with_wrong_pins(&pool).await;
    let before = gate(&pool).await;
    let (wrong, origin) = join(
        &pool,
        &join_request(&bob(), Some(code("ZZZZ-ZZZZ"))),
        JoinOrigin::clear(),
    )
    .await;
    assert!(
        matches!(
            wrong,
            JoinOutcome::Locked {
                locked_now: false,
                ..
            }
        ),
        "{wrong:?}"
    );
    assert!(origin.failure().is_some());
    assert_eq!(gate(&pool).await, before);
    let (right, origin) = join(
        &pool,
        &join_request(&bob(), Some(pairing())),
        JoinOrigin::clear(),
    )
    .await;
    assert!(
        matches!(
            right,
            JoinOutcome::Joined {
                paired_now: true,
                ..
            }
        ),
        "{right:?}"
    );
    assert_eq!(origin.failure(), None);
    assert_eq!(records(&pool).await, 2);
    let code_left: Option<Vec<u8>> = sqlx::query_scalar("SELECT pairing_hash FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("room");
    assert_eq!(code_left, None, "the code is single-use during a lock too");
    assert_eq!(gate(&pool).await, before, "the lock and count stand");
}

#[tokio::test]
async fn an_origin_is_barred_by_a_failure_in_the_window_and_not_by_one_before_it() {
    // STD1-JOIN-22: the window's start is the boundary, to the second.
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    lock_with_wrong_pins(&pool).await;
    let (_, _, window_start) = gate(&pool).await;
    let room = room_id(&pool).await;
    let start = timestamp(window_start);
    let before_window = Timestamp::from_unix(start.unix() - 1).expect("a time");
    let (at_start, _) = join(
        &pool,
        &join_request(&alice(), None),
        JoinOrigin::failed(Failed { room, at: start }),
    )
    .await;
    assert!(
        matches!(
            at_start,
            JoinOutcome::Locked {
                locked_now: false,
                ..
            }
        ),
        "a failure at the window's start bars: {at_start:?}"
    );
    let (earlier, _) = join(
        &pool,
        &join_request(&alice(), None),
        JoinOrigin::failed(Failed {
            room,
            at: before_window,
        }),
    )
    .await;
    assert!(
        matches!(earlier, JoinOutcome::Joined { .. }),
        "a failure before the window does not: {earlier:?}"
    );
}

#[tokio::test]
async fn a_failure_against_an_earlier_room_of_the_number_bars_nothing_in_the_next() {
    // STD1-JOIN-22: the window belongs to the room. Failures against the
    // number's last room may fall in the very second the next room is
    // created; they are still not the new room's.
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    let (_, origin) = join(&pool, &join_request(&bob(), None), JoinOrigin::clear()).await;
    let old = origin.failure().expect("a failure");
    common::age_all_rooms(&pool).await;
    alice_room(&pool).await;
    lock_with_wrong_pins(&pool).await;
    let new_room = room_id(&pool).await;
    assert_ne!(old.room, new_room);
    let (_, _, window_start) = gate(&pool).await;
    // Even with the failure's time moved into the new window.
    let moved = Failed {
        at: timestamp(window_start),
        ..old
    };
    let (outcome, _) = join(
        &pool,
        &join_request(&bob(), Some(pairing())),
        JoinOrigin::failed(moved),
    )
    .await;
    assert!(
        matches!(
            outcome,
            JoinOutcome::Joined {
                paired_now: true,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn create_starts_the_window_and_a_served_lock_restarts_it() {
    // STD1-JOIN-18: the stored start of the count window.
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    let (created_at, window_start): (time::OffsetDateTime, time::OffsetDateTime) =
        sqlx::query_as("SELECT created_at, window_start FROM rooms")
            .fetch_one(&pool)
            .await
            .expect("room");
    assert_eq!(window_start, created_at);
    lock_with_wrong_pins(&pool).await;
    // The lock is served; the next failure counts from its end.
    let served: time::OffsetDateTime = sqlx::query_scalar(
        "UPDATE rooms SET locked_until = date_trunc('second', now()) - interval '1 second'
         RETURNING locked_until",
    )
    .fetch_one(&pool)
    .await
    .expect("serve the lock");
    // Before any failure, a served lock already starts the window: an
    // origin that failed before it is heard (were the room locked).
    let (outcome, origin) = join(&pool, &join_request(&mallory(), None), JoinOrigin::clear()).await;
    assert_eq!(
        outcome,
        JoinOutcome::Unauthorized {
            attempts_remaining: NonZeroU32::new(2).expect("non-zero")
        }
    );
    assert!(origin.failure().is_some());
    let (failures, locked_until, window_start) = gate(&pool).await;
    assert_eq!((failures, locked_until, window_start), (1, None, served));
}

#[tokio::test]
async fn a_barred_origin_outside_a_lock_is_evaluated_and_counted_as_usual() {
    // STD1-JOIN-22: barring matters only during a lock.
    let pool = common::fresh_pool().await;
    alice_room(&pool).await;
    let (wrong, origin) = join(&pool, &join_request(&mallory(), None), JoinOrigin::barred()).await;
    assert_eq!(
        wrong,
        JoinOutcome::Unauthorized {
            attempts_remaining: NonZeroU32::new(2).expect("non-zero")
        }
    );
    assert!(
        origin.failure().is_some(),
        "a counted failure is remembered too"
    );
    let (right, _) = join(&pool, &join_request(&alice(), None), JoinOrigin::barred()).await;
    assert!(matches!(right, JoinOutcome::Joined { .. }), "{right:?}");
}

// ---- Over WebSocket, from distinct loopback addresses ----

type Ws = WebSocketStream<TcpStream>;

/// A connection from `127.0.0.<host>`: the server's origin for it
/// (STD1-JOIN-22; every address in 127/8 is local on Linux).
async fn connect_from(server: SocketAddr, host: u8) -> Ws {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
            0,
        ))
        .expect("bind a loopback address");
    let stream = socket.connect(server).await.expect("connect");
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{server}/ws"), stream)
        .await
        .expect("upgrade");
    ws
}

/// Sends one join and returns the error reason, or `None` for a session.
async fn join_over(ws: &mut Ws, request: JoinRoom) -> Option<ErrorReason> {
    let frame = ClientFrame {
        reference: "1".parse().expect("ref"),
        event: ClientEvent::Join(request),
    };
    ws.send(Message::text(frame.to_json())).await.expect("send");
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer")
            .expect("open")
            .expect("a message");
        let Message::Text(text) = message else {
            continue;
        };
        match ServerFrame::from_json(text.as_str()).expect("a std-1 frame") {
            ServerFrame::Error(e) => return Some(e.error.reason),
            ServerFrame::Broadcast(_) => {}
            _ => return None,
        }
    }
}

/// A join on a new connection from `127.0.0.<host>`.
async fn join_from(server: SocketAddr, host: u8, request: JoinRoom) -> Option<ErrorReason> {
    let mut ws = connect_from(server, host).await;
    join_over(&mut ws, request).await
}

const ALICE_HOME: u8 = 2;
const MALLORY_HOME: u8 = 3;
const ELSEWHERE: u8 = 4;

/// A server with `L` = 3, Alice's room, and Mallory's three wrong PINs
/// from her network: the room is locked.
async fn locked_by_mallory() -> common::Instance {
    let server = common::instance_with(common::fresh_pool().await, Duration::ZERO, |state| {
        state.lockout = lockout();
    })
    .await;
    alice_room(&server.pool).await;
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(join_from(server.addr, MALLORY_HOME, join_request(&mallory(), None)).await);
    }
    assert_eq!(
        answers,
        [
            Some(ErrorReason::Unauthorized),
            Some(ErrorReason::Unauthorized),
            Some(ErrorReason::Locked)
        ]
    );
    server
}

#[tokio::test]
async fn a_stranger_who_locks_the_room_does_not_lock_out_a_party_on_another_network() {
    // STD1-JOIN-22, STD1-JOIN-23, STD1-SEC-9
    let server = locked_by_mallory().await;
    // Mallory's network stays barred, whatever she sends.
    assert_eq!(
        join_from(server.addr, MALLORY_HOME, join_request(&mallory(), None)).await,
        Some(ErrorReason::Locked)
    );
    // Alice, at home on another address, gets in, and again later: her
    // network never failed.
    assert_eq!(
        join_from(server.addr, ALICE_HOME, join_request(&alice(), None)).await,
        None
    );
    assert_eq!(
        join_from(server.addr, ALICE_HOME, join_request(&alice(), None)).await,
        None
    );
    // Bob pairs during the lock from a third network.
    assert_eq!(
        join_from(
            server.addr,
            ELSEWHERE,
            join_request(&bob(), Some(pairing()))
        )
        .await,
        None
    );
    let failures: i32 = sqlx::query_scalar("SELECT failures FROM rooms")
        .fetch_one(&server.pool)
        .await
        .expect("room");
    assert_eq!(failures, 3, "nothing counted during the lock");
}

#[tokio::test]
async fn a_party_on_the_strangers_network_is_locked_out_with_them() {
    // STD1-JOIN-20, STD1-JOIN-22, STD1-SEC-9: the limit the spec states.
    let server = locked_by_mallory().await;
    assert_eq!(
        join_from(server.addr, MALLORY_HOME, join_request(&alice(), None)).await,
        Some(ErrorReason::Locked)
    );
}

#[tokio::test]
async fn each_network_gets_one_wrong_guess_per_lock() {
    // STD1-JOIN-23: a wrong guess from a network that had not failed is
    // answered `locked` and bars that network too.
    let server = locked_by_mallory().await;
    assert_eq!(
        join_from(server.addr, ELSEWHERE, join_request(&mallory(), None)).await,
        Some(ErrorReason::Locked)
    );
    assert_eq!(
        join_from(server.addr, ELSEWHERE, join_request(&alice(), None)).await,
        Some(ErrorReason::Locked),
        "the right PIN is no longer looked at from there"
    );
    // Other networks are unaffected.
    assert_eq!(
        join_from(server.addr, ALICE_HOME, join_request(&alice(), None)).await,
        None
    );
}
