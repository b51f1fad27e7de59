//! Room events through LISTEN/NOTIFY on a real PostgreSQL: every
//! broadcasting operation publishes its frame, in the room's order, with
//! consecutive versions (STD1-WIRE-29, STD1-WIRE-30, STD1-SRV-6).

mod common;

use std::time::Duration;

use sqlx::PgPool;
use stelgano_server::store::events::Audience;
use stelgano_server::store::{
    CreateOutcome, JoinOrigin, JoinOutcome, Lockout, SendOutcome, SessionBinding, Slot,
    create_room, expire_room, join_room, publish_typing, read_receipt, send_message,
};
use stelgano_spec::constants::MAX_CIPHERTEXT_BYTES;
use stelgano_spec::derive::{PartyHashes, Phone, Pin};
use stelgano_spec::ids::MessageId;
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{Broadcast, Ciphertext, ExpiryCause, Iv, SendMessage, ServerFrame};

fn party(pin: &str) -> PartyHashes {
    PartyHashes::derive(
        &Phone::parse("+254 700 000 000").expect("number"),
        &Pin::parse(pin).expect("PIN"),
    )
}

/// The next event, which must be a broadcast.
async fn next_broadcast(events: &mut common::Published) -> (Option<i64>, Audience, Broadcast) {
    let event = events.next().await;
    match ServerFrame::from_json(&event.frame) {
        Some(ServerFrame::Broadcast(b)) => (event.version, event.audience, b),
        other => panic!("not a broadcast frame: {other:?}"),
    }
}

fn message(bytes: usize, replaces: Option<MessageId>) -> SendMessage {
    SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![0x42; bytes]).expect("size"),
        iv: Iv::from_array([1; 12]),
        replaces,
    }
}

async fn pair(pool: &PgPool) -> (SessionBinding, SessionBinding) {
    let (alice, bob) = (party("1234"), party("9999"));
    let pairing = PairingCode::parse("P2K4-9H7M").expect("code").hash();
    let create = common::create_request(&alice, pairing);
    let CreateOutcome::Created { binding: a, .. } =
        create_room(pool, common::keys(), &create, Duration::from_secs(3600))
            .await
            .expect("store")
    else {
        panic!("created")
    };
    let join = common::join_request(&bob, Some(pairing));
    let JoinOutcome::Joined {
        binding: b,
        version,
        ..
    } = join_room(
        pool,
        common::keys(),
        &join,
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store")
    else {
        panic!("joined")
    };
    assert_eq!(version, 1, "pairing is the room's first broadcast");
    (a, b)
}

#[tokio::test]
async fn a_conversation_publishes_its_broadcasts_in_order() {
    // STD1-WIRE-29, STD1-WIRE-30, STD1-JOIN-15, STD1-MSG-2, STD1-MSG-9, STD1-LIFE-2
    let pool = common::fresh_pool().await;
    let mut events = common::Published::listen(&pool).await;
    let (a, b) = pair(&pool).await;
    assert_eq!(
        next_broadcast(&mut events).await,
        (Some(1), Audience::All, Broadcast::PartyPaired {})
    );

    let SendOutcome::Sent {
        message: m1,
        version,
    } = send_message(&pool, &a, &message(MAX_CIPHERTEXT_BYTES, None))
        .await
        .expect("store")
    else {
        panic!("sent")
    };
    assert_eq!(version, 2);
    // The largest message travels whole, split over several notifications.
    assert_eq!(
        next_broadcast(&mut events).await,
        (Some(2), Audience::All, Broadcast::NewMessage((*m1).clone()))
    );

    // Refused operations publish nothing: the next event is the next success.
    assert_eq!(
        send_message(&pool, &a, &message(16, Some(m1.id)))
            .await
            .expect("store"),
        SendOutcome::NotYourTurn
    );
    assert_eq!(
        send_message(&pool, &b, &message(16, None))
            .await
            .expect("store"),
        SendOutcome::Conflict
    );
    read_receipt(&pool, &b, m1.id).await.expect("store");
    let (version, _, read) = next_broadcast(&mut events).await;
    assert_eq!(version, Some(3));
    assert!(matches!(read, Broadcast::MessageRead { message_id, .. } if message_id == m1.id));

    // Typing goes to the other party only and has no version.
    publish_typing(&pool, &b).await.expect("store");
    assert_eq!(
        next_broadcast(&mut events).await,
        (
            None,
            Audience::Slot(Slot::Creator),
            Broadcast::CounterpartyTyping {}
        )
    );

    expire_room(&pool, &a).await.expect("store");
    assert_eq!(
        next_broadcast(&mut events).await,
        (
            Some(4),
            Audience::All,
            Broadcast::RoomExpired {
                cause: ExpiryCause::Party
            }
        )
    );
}

#[tokio::test]
async fn expiry_by_time_is_announced_by_whoever_finds_it() {
    // STD1-LIFE-4, STD1-LIFE-6
    let pool = common::fresh_pool().await;
    let mut events = common::Published::listen(&pool).await;
    let (a, _) = pair(&pool).await;
    events.next().await; // party_paired
    common::age_all_rooms(&pool).await;
    stelgano_server::store::sweep_expired(&pool, 10)
        .await
        .expect("store");
    let (version, audience, broadcast) = next_broadcast(&mut events).await;
    assert_eq!((version, audience), (Some(2), Audience::All));
    assert_eq!(
        broadcast,
        Broadcast::RoomExpired {
            cause: ExpiryCause::Ttl
        }
    );
    assert!(matches!(
        send_message(&pool, &a, &message(16, None))
            .await
            .expect("store"),
        SendOutcome::Ended(_)
    ));
}
