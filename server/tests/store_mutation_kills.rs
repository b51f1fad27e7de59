//! Tests for what a cargo-mutants run on the hub and on the store's
//! session operations and events found untested (MUTANTS.md): most pin a
//! behaviour that a surviving mutant had changed without any test failing;
//! a few check directly what other tests check only end to end. The hub
//! and the reassembler are driven directly; the store through a throwaway
//! PostgreSQL, as in store_messages.rs.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sqlx::PgPool;
use stelgano_server::hub::{Delivery, Hub, Registration};
use stelgano_server::store::events::{Audience, MalformedEvent, Reassembler, RoomEvent, ends_room};
use stelgano_server::store::{
    CreateOutcome, DeleteOutcome, EditOutcome, ExpireOutcome, JoinOrigin, JoinOutcome, Lockout,
    ReadOutcome, SendOutcome, SessionBinding, Slot, create_room, delete_message, edit_message,
    expire_room, join_room, read_receipt, send_message,
};
use stelgano_spec::ids::{MessageId, SenderHash};
use stelgano_spec::wire::{
    Broadcast, Ciphertext, EditMessage, ExpiryCause, Iv, SendMessage, ServerFrame,
};

const ROOM: &str = "0b6f3c1e-5d2a-4f7b-9c8e-1a2b3c4d5e6f";
const OTHER_ROOM: &str = "7d3e9a10-2c4b-4e6f-8a1b-c2d3e4f5a6b7";

fn binding(room: &str, slot: Slot) -> SessionBinding {
    SessionBinding {
        room_id: room.parse().expect("uuid"),
        slot,
        sender_hash: SenderHash::from_bytes([slot as u8; 32]),
        sender_index: [slot as u8; 32],
    }
}

fn event(room: &str, version: Option<i64>, frame: &str) -> RoomEvent {
    RoomEvent {
        room_id: room.parse().expect("uuid"),
        version,
        audience: Audience::All,
        frame: frame.into(),
    }
}

/// What a registration has been handed so far, without waiting.
fn received(registration: &mut Registration) -> Vec<String> {
    std::iter::from_fn(|| registration.deliveries.try_recv().ok())
        .map(|delivery| match delivery {
            Delivery::Frame { frame, .. } => frame.to_string(),
            Delivery::Resync => "resync".into(),
            Delivery::Replaced => "replaced".into(),
        })
        .collect()
}

fn listening_hub() -> Hub {
    let hub = Hub::default();
    hub.set_listening(true);
    hub
}

/// Polls `future` once: whether it has finished by now, without waiting.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_session_receives_no_event_at_or_below_its_join_version() {
    // STD1-WIRE-30: a session receives the broadcasts of exactly the
    // operations ordered after its join, so an event at or below the
    // version its `Joined` reply described is not delivered to it, however
    // late the listener hands it over.
    let hub = listening_hub();
    let mut session = hub.register(&binding(ROOM, Slot::Second), 5, hub.feed());
    hub.dispatch(event(ROOM, Some(4), "v4"));
    hub.dispatch(event(ROOM, Some(5), "v5"));
    hub.dispatch(event(ROOM, Some(6), "v6"));
    assert_eq!(received(&mut session), ["v6"]);
}

#[test]
fn a_lost_listener_leaves_no_feed_to_join_on() {
    // STD1-WIRE-30, STD1-WIRE-5 (1011): while the event listener is down no
    // join can be promised the room's later events, so the hub reports no
    // feed (the readiness check reads it) and a session that registers on
    // the lost connection's token is told to resync.
    let hub = Hub::default();
    assert!(
        !hub.is_listening(),
        "not listening before the first connection"
    );
    assert_eq!(hub.feed(), None);
    hub.set_listening(true);
    let token = hub.feed();
    assert!(hub.is_listening() && token.is_some());
    hub.set_listening(false);
    assert!(!hub.is_listening(), "the connection was lost");
    assert_eq!(hub.feed(), None);
    let mut session = hub.register(&binding(ROOM, Slot::Creator), 0, token);
    assert_eq!(received(&mut session), ["resync"]);
}

#[test]
fn every_listener_connection_gets_a_token_of_its_own() {
    // STD1-WIRE-30: a join that began on an earlier listener connection
    // must never pass for one on the current connection, however often the
    // listener has reconnected since (events committed in between reached
    // nobody).
    let hub = Hub::default();
    let mut seen = Vec::new();
    for connection in 1..=100 {
        hub.set_listening(true);
        let token = hub.feed().expect("listening");
        assert!(
            !seen.contains(&token),
            "connection {connection} has an earlier connection's token"
        );
        seen.push(token);
        hub.set_listening(false);
    }
}

#[test]
fn the_last_32_events_are_replayed_to_a_late_registration() {
    // STD1-WIRE-30: a session that registers after the listener already
    // delivered events committed after its join gets them replayed, in
    // order, instead of being sent away to rejoin; the hub keeps 32 per
    // room (RECENT_EVENTS), and only `room_expired` forgets earlier ones.
    let hub = listening_hub();
    let frames: Vec<String> = (1..=32)
        .map(|v| format!(r#"{{"event":"new_message","data":{{"v":{v}}}}}"#))
        .collect();
    for (version, frame) in (1..).zip(&frames) {
        hub.dispatch(event(ROOM, Some(version), frame));
    }
    let mut late = hub.register(&binding(ROOM, Slot::Second), 0, hub.feed());
    assert_eq!(received(&mut late), frames);
}

#[test]
fn only_room_expired_ends_a_room_s_events() {
    // STD1-LIFE-2, STD1-LIFE-6, STD1-WIRE-29: `room_expired` is a room's
    // last broadcast (the hub then forgets the room's earlier events); no
    // other broadcast is taken for it.
    let expired = ServerFrame::Broadcast(Broadcast::RoomExpired {
        cause: ExpiryCause::Ttl,
    })
    .to_json();
    assert!(ends_room(&expired), "{expired}");
    let others = [
        Broadcast::PartyPaired {},
        Broadcast::CounterpartyTyping {},
        Broadcast::MessageDeleted {
            message_id: MessageId::from_random_bytes([7; 16]),
        },
    ];
    for other in others {
        let frame = ServerFrame::Broadcast(other).to_json();
        assert!(!ends_room(&frame), "{frame}");
    }
}

#[test]
fn pruning_keeps_sessions_and_fresh_events() {
    // STD1-WIRE-30: the periodic prune forgets only events older than a few
    // seconds. It must not drop a room that still has sessions (they would
    // stop receiving its broadcasts) nor a room's fresh events (a session
    // registering now may need them replayed).
    let hub = listening_hub();
    let mut quiet = hub.register(&binding(ROOM, Slot::Creator), 0, hub.feed());
    hub.dispatch(event(OTHER_ROOM, Some(1), "other v1"));
    hub.prune();
    assert_eq!(
        hub.session_count(),
        1,
        "the session of a room without events"
    );
    hub.dispatch(event(ROOM, Some(1), "v1"));
    assert_eq!(received(&mut quiet), ["v1"], "and it still receives");
    let mut late = hub.register(&binding(OTHER_ROOM, Slot::Second), 0, hub.feed());
    assert_eq!(received(&mut late), ["other v1"], "a fresh event survives");
}

#[test]
fn pruning_forgets_events_older_than_five_seconds() {
    // STD1-MSG-15: ciphertext must not linger; the hub keeps a room's events
    // for 5 s (RECENT_FOR), for sessions registering just after them, and
    // the periodic prune forgets older ones.
    let hub = listening_hub();
    hub.dispatch(event(ROOM, Some(1), "v1"));
    // Not a synchronisation: what is tested is the passing of 5 s on the
    // monotonic clock, which the hub reads itself (`Instant::now`).
    std::thread::sleep(Duration::from_millis(5_100));
    hub.prune();
    let mut late = hub.register(&binding(ROOM, Slot::Second), 0, hub.feed());
    assert_eq!(received(&mut late), Vec::<String>::new(), "nothing left");
}

#[tokio::test]
async fn shutting_down_signals_every_connection_and_waits_for_them() {
    // STD1-WIRE-5 (1001 when the server shuts down): every open connection
    // is told to close, and the shutdown waits until the last one has (or
    // its grace period ends) before the server exits.
    let grace = Duration::from_secs(3600);
    let idle = Hub::default();
    assert_eq!(idle.connection_count(), 0);
    assert!(
        poll_once(pin!(idle.shut_down(grace))).is_ready(),
        "nothing to wait for"
    );

    let hub = Hub::default();
    let first = hub.connection();
    let second = hub.connection();
    assert_eq!(hub.connection_count(), 2);
    drop(second);
    assert_eq!(
        hub.connection_count(),
        1,
        "a closed connection is not counted"
    );
    assert!(!*first.shutdown.borrow());
    let mut shutting_down = pin!(hub.shut_down(grace));
    assert!(
        poll_once(shutting_down.as_mut()).is_pending(),
        "it waits while a connection is open"
    );
    assert!(*first.shutdown.borrow(), "the open connection was told");
    drop(first);
    assert_eq!(hub.connection_count(), 0);
    assert!(
        poll_once(shutting_down.as_mut()).is_ready(),
        "it ends when the last connection has closed"
    );
}

/// A notification payload as store/events.rs writes it:
/// `room_id|version|audience|part|parts|text`.
fn payload(room: &str, version: i64, part: usize, parts: usize, text: &str) -> String {
    format!("{room}|{version}|all|{part}|{parts}|{text}")
}

#[test]
fn an_event_is_rebuilt_only_from_its_own_parts_in_order() {
    // STD1-WIRE-30, STD1-SRV-6: a broadcast too large for one notification
    // travels in parts. A part that is missing, repeated, or belongs to
    // another event (room, version or part count) must never be glued into
    // a frame: the event is refused, and the next well-formed event is
    // rebuilt whole.
    let first = payload(ROOM, 5, 0, 3, "a");
    let wrong_seconds = [
        ("a skipped part", payload(ROOM, 5, 2, 3, "c")),
        ("a repeated part", payload(ROOM, 5, 0, 3, "a")),
        ("another room's part", payload(OTHER_ROOM, 5, 1, 3, "b")),
        ("another version's part", payload(ROOM, 6, 1, 3, "b")),
        ("a part of another count", payload(ROOM, 5, 1, 4, "b")),
    ];
    for (what, second) in &wrong_seconds {
        let mut reassembler = Reassembler::default();
        assert_eq!(reassembler.push(&first), Ok(None), "{what}: held");
        assert_eq!(reassembler.push(second), Err(MalformedEvent), "{what}");
        assert_eq!(
            reassembler.push(&payload(ROOM, 5, 1, 3, "b")),
            Err(MalformedEvent),
            "{what}: the refused event's remaining parts are refused too"
        );
        assert_eq!(reassembler.push(&payload(ROOM, 7, 0, 2, "x")), Ok(None));
        assert_eq!(
            reassembler.push(&payload(ROOM, 7, 1, 2, "y")),
            Ok(Some(event(ROOM, Some(7), "xy"))),
            "{what}: the next event is rebuilt"
        );
    }
}

#[test]
fn a_payload_that_is_no_part_at_all_leaves_the_pending_event_alone() {
    // STD1-WIRE-30, STD1-SRV-6: anyone who may connect to the database can
    // notify on the channel. A payload that cannot be a part of any event
    // (part count 0, a part number past the count, no header) is refused
    // without costing the event being rebuilt any of its parts.
    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.push(&payload(ROOM, 5, 0, 2, "a")), Ok(None));
    for foreign in [
        payload(ROOM, 5, 2, 2, "z"),
        payload(ROOM, 5, 0, 0, "z"),
        "hello".to_owned(),
    ] {
        assert_eq!(reassembler.push(&foreign), Err(MalformedEvent), "{foreign}");
    }
    assert_eq!(
        reassembler.push(&payload(ROOM, 5, 1, 2, "b")),
        Ok(Some(event(ROOM, Some(5), "ab")))
    );
}

#[test]
fn a_half_rebuilt_event_stays_out_of_debug_output() {
    // STD1-SRV-16: no room id or ciphertext in any log, so the reassembler's
    // debug form shows only whether a part is pending.
    let mut reassembler = Reassembler::default();
    assert_eq!(format!("{reassembler:?}"), "Reassembler { pending: false }");
    assert_eq!(
        reassembler.push(&payload(ROOM, 5, 0, 2, "c2VjcmV0")),
        Ok(None)
    );
    assert_eq!(format!("{reassembler:?}"), "Reassembler { pending: true }");
}

fn ciphertext(fill: u8) -> (Ciphertext, Iv) {
    (
        Ciphertext::from_bytes(vec![fill; 24]).expect("size"),
        Iv::from_array([fill; 12]),
    )
}

fn message(fill: u8, replaces: Option<MessageId>) -> SendMessage {
    let (ciphertext, iv) = ciphertext(fill);
    SendMessage {
        ciphertext,
        iv,
        replaces,
    }
}

async fn paired_room(pool: &PgPool) -> (SessionBinding, SessionBinding) {
    let (alice, bob) = (
        common::party("+44 7700 900123", "1234"),
        common::party("+44 7700 900123", "9999"),
    );
    let pairing = common::code("P2K4-9H7M");
    let create = common::create_request(&alice, pairing);
    let CreateOutcome::Created { binding: a, .. } =
        create_room(pool, common::keys(), &create, Duration::from_secs(3600))
            .await
            .expect("store")
    else {
        panic!("created")
    };
    let join = common::join_request(&bob, Some(pairing));
    let JoinOutcome::Joined { binding: b, .. } = join_room(
        pool,
        common::keys(),
        &join,
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store") else {
        panic!("joined")
    };
    (a, b)
}

#[tokio::test]
async fn every_reply_names_the_version_of_its_own_broadcast() {
    // STD1-WIRE-30: the reply to a broadcasting request follows its
    // broadcast, which the connection ensures by waiting for the version
    // the store returns; so that version must be the broadcast's own.
    // STD1-SRV-6: each broadcasting operation moves the room one version
    // on. Covers STD1-MSG-2, STD1-MSG-9, STD1-MSG-12, STD1-MSG-14,
    // STD1-LIFE-2.
    let pool = common::fresh_pool().await;
    let mut published = common::Published::listen(&pool).await;
    let (a, b) = paired_room(&pool).await;
    assert_eq!(published.next().await.version, Some(1), "party_paired");

    let SendOutcome::Sent {
        message: first,
        version,
    } = send_message(&pool, &a, &message(1, None))
        .await
        .expect("store")
    else {
        panic!("sent")
    };
    assert_eq!(version, 2);
    assert_eq!(published.next().await.version, Some(2));

    let ReadOutcome::Read { version, .. } = read_receipt(&pool, &b, first.id).await.expect("store")
    else {
        panic!("read")
    };
    assert_eq!(version, 3);
    assert_eq!(published.next().await.version, Some(3));

    let SendOutcome::Sent {
        message: reply,
        version,
    } = send_message(&pool, &b, &message(2, Some(first.id)))
        .await
        .expect("store")
    else {
        panic!("sent")
    };
    assert_eq!(version, 4);
    assert_eq!(published.next().await.version, Some(4));

    let (ciphertext, iv) = ciphertext(3);
    let edit = EditMessage {
        message_id: reply.id,
        ciphertext,
        iv,
    };
    let EditOutcome::Edited { version, .. } = edit_message(&pool, &b, &edit).await.expect("store")
    else {
        panic!("edited")
    };
    assert_eq!(version, 5);
    assert_eq!(published.next().await.version, Some(5));

    let DeleteOutcome::Deleted { version, .. } =
        delete_message(&pool, &b, reply.id).await.expect("store")
    else {
        panic!("deleted")
    };
    assert_eq!(version, 6);
    assert_eq!(published.next().await.version, Some(6));

    let ExpireOutcome::Expired { version } = expire_room(&pool, &a).await.expect("store") else {
        panic!("expired")
    };
    assert_eq!(version, 7);
    assert_eq!(published.next().await.version, Some(7));
}
