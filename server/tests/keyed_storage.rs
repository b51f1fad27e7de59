//! Hashes stored keyed with a pepper outside the store (spec §11.5,
//! STD1-SRV-25 to STD1-SRV-27), against a real PostgreSQL.

mod common;

use std::time::Duration;

use sqlx::{PgPool, Row};
use stelgano_server::store::keyed::{Pepper, PepperCheck, StorageKeys, check_pepper};
use stelgano_server::store::{
    CreateOutcome, JoinOrigin, JoinOutcome, Lockout, SendOutcome, Slot, StoreError, create_room,
    join_room, send_message,
};
use stelgano_spec::wire::{Ciphertext, Iv, SendMessage};

use common::{code, create_request, join_request, party};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

fn other_keys() -> StorageKeys {
    StorageKeys::derive(&Pepper::from_hex(&"c3".repeat(32)).expect("64 hex digits"))
}

/// Alice's room, with Bob paired and a message from Alice in it.
async fn conversation(pool: &PgPool) {
    let (alice, bob) = (
        party("+1 555 012 3456", "1234"),
        party("+1 555 012 3456", "9999"),
    );
    let pairing = code("P2K4-9H7M");
    let CreateOutcome::Created { binding: a, .. } =
        create_room(pool, common::keys(), &create_request(&alice, pairing), WEEK)
            .await
            .expect("store")
    else {
        panic!("created")
    };
    let joined = join_room(
        pool,
        common::keys(),
        &join_request(&bob, Some(pairing)),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert!(matches!(joined, JoinOutcome::Joined { .. }), "{joined:?}");
    let sent = send_message(
        pool,
        &a,
        &SendMessage {
            ciphertext: Ciphertext::from_bytes(vec![9; 40]).expect("size"),
            iv: Iv::from_array([3; 12]),
            replaces: None,
        },
    )
    .await
    .expect("store");
    assert!(matches!(sent, SendOutcome::Sent { .. }), "{sent:?}");
}

#[tokio::test]
async fn every_stored_hash_is_in_its_keyed_or_sealed_form() {
    // STD1-SRV-25: the rows hold the keyed forms, not the clients' values,
    // and the sealed sender hashes open to the clients' values.
    let pool = common::fresh_pool().await;
    conversation(&pool).await;
    let keys = common::keys();
    let (alice, bob) = (
        party("+1 555 012 3456", "1234"),
        party("+1 555 012 3456", "9999"),
    );
    let room = sqlx::query("SELECT id, room_hash, pairing_hash FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("the room");
    let room_hash: Vec<u8> = room.get("room_hash");
    assert_eq!(room_hash, keys.room(&alice.room_hash));
    assert_ne!(room_hash, alice.room_hash.as_bytes());
    let pairing: Option<Vec<u8>> = room.get("pairing_hash");
    assert_eq!(pairing, None, "paired rooms keep no code");
    let room_id = stelgano_spec::ids::RoomId::from_uuid(room.get("id"));
    let records = sqlx::query(
        "SELECT slot, access_hash, sender_sealed, sender_index FROM access_records ORDER BY slot",
    )
    .fetch_all(&pool)
    .await
    .expect("records");
    assert_eq!(records.len(), 2);
    for (record, (party, slot)) in records
        .iter()
        .zip([(&alice, Slot::Creator), (&bob, Slot::Second)])
    {
        let access: Vec<u8> = record.get("access_hash");
        assert_eq!(access, keys.access(&party.access_hash));
        let index: Vec<u8> = record.get("sender_index");
        assert_eq!(index, keys.sender_index(&party.sender_hash));
        let sealed: Vec<u8> = record.get("sender_sealed");
        assert!(
            !sealed
                .windows(32)
                .any(|w| w == party.sender_hash.as_bytes())
        );
        assert_eq!(
            keys.open_sender(room_id, slot, &sealed).expect("opens"),
            party.sender_hash
        );
    }
}

#[tokio::test]
async fn an_unpaired_rooms_code_is_stored_keyed() {
    // STD1-SRV-25: `pairing_hash` too.
    let pool = common::fresh_pool().await;
    let alice = party("+1 555 012 3456", "1234");
    let pairing = code("P2K4-9H7M");
    create_room(
        &pool,
        common::keys(),
        &create_request(&alice, pairing),
        WEEK,
    )
    .await
    .expect("store");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT pairing_hash FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("the room");
    assert_eq!(stored, common::keys().pairing(&pairing));
}

#[tokio::test]
async fn under_another_pepper_every_room_is_gone_and_can_be_made_anew() {
    // STD1-SRV-27: losing or changing the pepper ends every live room as
    // an expiry would: a join finds nothing, a create makes a new room.
    let pool = common::fresh_pool().await;
    conversation(&pool).await;
    let other = other_keys();
    let alice = party("+1 555 012 3456", "1234");
    let join = join_room(
        &pool,
        &other,
        &join_request(&alice, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert_eq!(join, JoinOutcome::NotFound { expired: None });
    let create = create_room(
        &pool,
        &other,
        &create_request(&alice, code("AAAA-AAAA")),
        WEEK,
    )
    .await
    .expect("store");
    assert!(
        matches!(create, CreateOutcome::Created { .. }),
        "{create:?}"
    );
    let rooms: i64 = sqlx::query_scalar("SELECT count(*) FROM rooms")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rooms, 2, "the old room waits for its expiry");
}

#[tokio::test]
async fn a_sealed_sender_moved_to_another_record_is_a_store_fault() {
    // STD1-SRV-25: the seal is bound to its record. An attacker with write
    // access who swaps the two records' sealed sender hashes gets an
    // `internal_error`, not a join that binds the wrong identity.
    let pool = common::fresh_pool().await;
    conversation(&pool).await;
    sqlx::query(
        "UPDATE access_records a SET sender_sealed = b.sender_sealed
           FROM access_records b
          WHERE a.room_id = b.room_id AND a.slot <> b.slot",
    )
    .execute(&pool)
    .await
    .expect("swap");
    let bob = party("+1 555 012 3456", "9999");
    let result = join_room(
        &pool,
        common::keys(),
        &join_request(&bob, None),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await;
    assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
}

#[tokio::test]
async fn the_store_checks_every_instances_pepper() {
    // STD1-SRV-26: the first instance records its check value; the same
    // pepper matches, another one is told apart; the value is not the
    // pepper, nor any stored form of a value.
    let pool = common::fresh_pool().await;
    let keys = common::keys();
    assert_eq!(
        check_pepper(&pool, keys).await.expect("store"),
        PepperCheck::Recorded
    );
    assert_eq!(
        check_pepper(&pool, keys).await.expect("store"),
        PepperCheck::Matches
    );
    assert_eq!(
        check_pepper(&pool, &other_keys()).await.expect("store"),
        PepperCheck::Differs
    );
    // The other pepper did not replace the recorded value.
    assert_eq!(
        check_pepper(&pool, keys).await.expect("store"),
        PepperCheck::Matches
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT check_value FROM pepper_check")
        .fetch_one(&pool)
        .await
        .expect("one row");
    assert_eq!(stored, keys.check_value());
    let pepper_hex = common::test_pepper().to_hex();
    let stored_hex: String = stored.iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(stored_hex, pepper_hex);
}

#[tokio::test]
async fn racing_first_instances_record_one_check_value() {
    // STD1-SRV-26: two first starts at once; one records, the other
    // matches (same pepper) or differs (another), never both record.
    let pool = common::fresh_pool().await;
    let (a, b) = tokio::join!(
        check_pepper(&pool, common::keys()),
        check_pepper(&pool, common::keys())
    );
    let mut outcomes = [a.expect("store"), b.expect("store")];
    outcomes.sort_by_key(|o| *o as u8);
    assert_eq!(outcomes, [PepperCheck::Recorded, PepperCheck::Matches]);
}
