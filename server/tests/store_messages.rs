//! Session operations against a real PostgreSQL (spec §9, STD1-JOIN-17,
//! STD1-LIFE-2 to STD1-LIFE-8), including concurrent races.

mod common;

use std::time::Duration;

use sqlx::PgPool;
use stelgano_server::store::{
    CreateOutcome, DeleteOutcome, EditOutcome, Ended, ExpireOutcome, JoinOrigin, JoinOutcome,
    Lockout, ReadOutcome, ResetOutcome, SendOutcome, SessionBinding, create_room, delete_message,
    edit_message, expire_room, join_room, read_receipt, reset_pairing, send_message, sweep_expired,
};
use stelgano_spec::ids::MessageId;
use stelgano_spec::wire::{Ciphertext, EditMessage, Iv, JoinRoom, Message, SendMessage};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

use common::{code, party};

/// A room with Alice (creator) and, when `paired`, Bob; their sessions.
async fn room(
    pool: &PgPool,
    number: &str,
    paired: bool,
) -> (SessionBinding, Option<SessionBinding>) {
    let alice = party(number, "1234");
    let pairing = code("P2K4-9H7M");
    let create = common::create_request(&alice, pairing);
    let CreateOutcome::Created { binding: a, .. } =
        create_room(pool, common::keys(), &create, WEEK)
            .await
            .expect("store")
    else {
        panic!("created")
    };
    if !paired {
        return (a, None);
    }
    let bob = party(number, "9999");
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
    (a, Some(b))
}

async fn paired(pool: &PgPool, number: &str) -> (SessionBinding, SessionBinding) {
    let (a, b) = room(pool, number, true).await;
    (a, b.expect("paired"))
}

fn message(fill: u8, replaces: Option<MessageId>) -> SendMessage {
    SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![fill; 21]).expect("valid size"),
        iv: Iv::from_array([fill; 12]),
        replaces,
    }
}

async fn send(
    pool: &PgPool,
    session: &SessionBinding,
    fill: u8,
    replaces: Option<MessageId>,
) -> SendOutcome {
    send_message(pool, session, &message(fill, replaces))
        .await
        .expect("store")
}

fn sent(outcome: SendOutcome) -> Box<Message> {
    match outcome {
        SendOutcome::Sent { message, .. } => message,
        other => panic!("expected Sent, got {other:?}"),
    }
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("query")
}

#[tokio::test]
async fn replies_alternate_and_replace() {
    // STD1-MSG-1, STD1-MSG-2, STD1-MSG-3, STD1-MSG-4, STD1-ENC-7 (bytes stored unchanged)
    let pool = common::fresh_pool().await;
    let (a, b) = paired(&pool, "+44 7700 900001").await;
    let m1 = sent(send(&pool, &a, 1, None).await);
    assert_eq!(
        (m1.sender_hash, m1.read_at, m1.edited),
        (a.sender_hash, None, false)
    );
    assert_eq!(
        send(&pool, &a, 2, Some(m1.id)).await,
        SendOutcome::NotYourTurn
    );
    let m2 = sent(send(&pool, &b, 3, Some(m1.id)).await);
    assert_ne!(m2.id, m1.id);
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 1);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM messages")
        .fetch_one(&pool)
        .await
        .expect("q");
    assert_eq!(stored, vec![3; 21], "the reply replaced the first message");
    assert!(
        matches!(
            send(&pool, &a, 4, Some(m2.id)).await,
            SendOutcome::Sent { .. }
        ),
        "a's turn again"
    );
}

#[tokio::test]
async fn replaces_must_name_the_current_message() {
    // STD1-MSG-6
    let pool = common::fresh_pool().await;
    let (a, b) = paired(&pool, "+44 7700 900002").await;
    let m1 = sent(send(&pool, &a, 1, None).await);
    assert_eq!(
        send(&pool, &b, 2, None).await,
        SendOutcome::Conflict,
        "b had not seen m1"
    );
    let stale = MessageId::from_random_bytes([7; 16]);
    assert_eq!(send(&pool, &b, 2, Some(stale)).await, SendOutcome::Conflict);
    assert_eq!(
        send(&pool, &a, 2, None).await,
        SendOutcome::NotYourTurn,
        "turn-taking is checked first"
    );
    let kept: uuid::Uuid = sqlx::query_scalar("SELECT id FROM messages")
        .fetch_one(&pool)
        .await
        .expect("q");
    assert_eq!(kept, *m1.id.as_uuid());
}

#[tokio::test]
async fn only_the_other_party_marks_the_current_message_read() {
    // STD1-MSG-9, STD1-MSG-10, STD1-SRV-7 (read_at is an operation time, never before sent_at)
    let pool = common::fresh_pool().await;
    let (a, b) = paired(&pool, "+44 7700 900003").await;
    let m1 = sent(send(&pool, &a, 1, None).await);
    assert_eq!(
        read_receipt(&pool, &a, m1.id).await.expect("store"),
        ReadOutcome::OwnMessage
    );
    assert_eq!(
        read_receipt(&pool, &b, MessageId::from_random_bytes([1; 16]))
            .await
            .expect("store"),
        ReadOutcome::NotFound
    );
    let ReadOutcome::Read {
        message_id,
        read_at,
        ..
    } = read_receipt(&pool, &b, m1.id).await.expect("store")
    else {
        panic!("read")
    };
    assert_eq!(message_id, m1.id);
    assert!(read_at >= m1.sent_at);
    assert_eq!(
        read_receipt(&pool, &b, m1.id).await.expect("store"),
        ReadOutcome::AlreadyRead
    );
}

#[tokio::test]
async fn only_the_author_edits_or_deletes_and_only_while_unread() {
    // STD1-MSG-12, STD1-MSG-14, STD1-MSG-15
    let pool = common::fresh_pool().await;
    let (a, b) = paired(&pool, "+44 7700 900004").await;
    let m1 = sent(send(&pool, &a, 1, None).await);
    let edit = |fill: u8, id: MessageId| EditMessage {
        message_id: id,
        ciphertext: Ciphertext::from_bytes(vec![fill; 30]).expect("size"),
        iv: Iv::from_array([fill; 12]),
    };
    assert_eq!(
        edit_message(&pool, &b, &edit(5, m1.id))
            .await
            .expect("store"),
        EditOutcome::NotAuthor
    );
    assert_eq!(
        delete_message(&pool, &b, m1.id).await.expect("store"),
        DeleteOutcome::NotAuthor
    );
    let other = MessageId::from_random_bytes([2; 16]);
    assert_eq!(
        edit_message(&pool, &a, &edit(5, other))
            .await
            .expect("store"),
        EditOutcome::NotFound
    );
    let edited = edit_message(&pool, &a, &edit(6, m1.id))
        .await
        .expect("store");
    assert!(matches!(edited, EditOutcome::Edited { message_id, .. } if message_id == m1.id));
    let (id, edited_flag, ct): (uuid::Uuid, bool, Vec<u8>) =
        sqlx::query_as("SELECT id, edited, ciphertext FROM messages")
            .fetch_one(&pool)
            .await
            .expect("q");
    assert_eq!(
        (id, edited_flag, ct),
        (*m1.id.as_uuid(), true, vec![6; 30]),
        "the id is kept"
    );
    read_receipt(&pool, &b, m1.id).await.expect("store");
    assert_eq!(
        edit_message(&pool, &a, &edit(7, m1.id))
            .await
            .expect("store"),
        EditOutcome::NotEditable
    );
    assert_eq!(
        delete_message(&pool, &a, m1.id).await.expect("store"),
        DeleteOutcome::NotDeletable
    );
    // An unread message can be deleted, and the room is then empty for either party.
    let m2 = sent(send(&pool, &b, 8, Some(m1.id)).await);
    assert!(matches!(
        delete_message(&pool, &b, m2.id).await.expect("store"),
        DeleteOutcome::Deleted { message_id, .. } if message_id == m2.id
    ));
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 0);
    assert!(matches!(
        send(&pool, &b, 9, None).await,
        SendOutcome::Sent { .. }
    ));
}

#[tokio::test]
async fn reset_pairing_replaces_the_code_of_an_unpaired_room_only() {
    // STD1-JOIN-17
    let pool = common::fresh_pool().await;
    let (a, _) = room(&pool, "+44 7700 900005", false).await;
    let fresh = code("NEWC-ODE1");
    assert_eq!(
        reset_pairing(&pool, common::keys(), &a, &fresh)
            .await
            .expect("store"),
        ResetOutcome::Reset
    );
    let bob = party("+44 7700 900005", "9999");
    let join = |pairing| JoinRoom {
        room_hash: bob.room_hash,
        access_hash: bob.access_hash,
        sender_hash: bob.sender_hash,
        pairing_hash: Some(pairing),
    };
    let old = join_room(
        &pool,
        common::keys(),
        &join(code("P2K4-9H7M")),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert!(
        matches!(old, JoinOutcome::PairingInvalid { .. }),
        "the old code no longer works: {old:?}"
    );
    let new = join_room(
        &pool,
        common::keys(),
        &join(fresh),
        Lockout::default(),
        &mut JoinOrigin::barred(),
    )
    .await
    .expect("store");
    assert!(
        matches!(
            new,
            JoinOutcome::Joined {
                paired_now: true,
                ..
            }
        ),
        "{new:?}"
    );
    assert_eq!(
        reset_pairing(&pool, common::keys(), &a, &code("ANOT-HER1"))
            .await
            .expect("store"),
        ResetOutcome::AlreadyPaired
    );
}

#[tokio::test]
async fn expire_room_deletes_everything_and_ends_the_sessions() {
    // STD1-LIFE-2, STD1-LIFE-3, STD1-LIFE-8, STD1-SRV-8 (deleted at once)
    let pool = common::fresh_pool().await;
    let (a, b) = paired(&pool, "+44 7700 900006").await;
    let (other, _) = paired(&pool, "+44 7700 900007").await;
    send(&pool, &a, 1, None).await;
    send(&pool, &other, 1, None).await;
    assert!(matches!(
        expire_room(&pool, &b).await.expect("store"),
        ExpireOutcome::Expired { .. }
    ));
    let gone = Ended::RoomGone { expired: None };
    assert_eq!(send(&pool, &a, 2, None).await, SendOutcome::Ended(gone));
    assert_eq!(
        expire_room(&pool, &a).await.expect("store"),
        ExpireOutcome::Ended(gone)
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM rooms").await,
        1,
        "the other room is untouched"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM access_records").await, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 1);
}

#[tokio::test]
async fn rooms_past_their_time_are_deleted_by_requests_and_by_the_sweep() {
    // STD1-LIFE-4
    let pool = common::fresh_pool().await;
    let (a, _) = paired(&pool, "+44 7700 900008").await;
    let (c, _) = paired(&pool, "+44 7700 900009").await;
    let (_live, _) = paired(&pool, "+44 7700 900010").await;
    sqlx::query(
        "UPDATE rooms SET created_at = date_trunc('second', now()) - interval '8 days',
                          ttl_expires_at = date_trunc('second', now())
          WHERE id = ANY($1)",
    )
    .bind(vec![*a.room_id.as_uuid(), *c.room_id.as_uuid()])
    .execute(&pool)
    .await
    .expect("age two rooms");
    let outcome = send(&pool, &a, 1, None).await;
    assert_eq!(
        outcome,
        SendOutcome::Ended(Ended::RoomGone {
            expired: Some(stelgano_server::store::ExpiredRoom(a.room_id))
        })
    );
    let swept = sweep_expired(&pool, 100).await.expect("store");
    assert_eq!(swept, vec![stelgano_server::store::ExpiredRoom(c.room_id)]);
    assert_eq!(count(&pool, "SELECT count(*) FROM rooms").await, 1);
    assert_eq!(sweep_expired(&pool, 100).await.expect("store"), vec![]);
}

const ROUNDS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_replies_store_exactly_one_message() {
    // STD1-MSG-7, STD1-MSG-1: both parties send into the same (empty) state.
    let pool = common::fresh_pool().await;
    let (mut a_wins, mut b_wins) = (0, 0);
    for round in 0..ROUNDS {
        let (a, b) = paired(&pool, &format!("+44 7700 91{round:04}")).await;
        let (pa, pb) = (pool.clone(), pool.clone());
        let ta = tokio::spawn(async move { send_message(&pa, &a, &message(1, None)).await });
        let tb = tokio::spawn(async move { send_message(&pb, &b, &message(2, None)).await });
        let (oa, ob) = (
            ta.await.expect("task").expect("store"),
            tb.await.expect("task").expect("store"),
        );
        match (&oa, &ob) {
            (SendOutcome::Sent { .. }, SendOutcome::Conflict) => a_wins += 1,
            (SendOutcome::Conflict, SendOutcome::Sent { .. }) => b_wins += 1,
            other => panic!("round {round}: not a serial outcome: {other:?}"),
        }
    }
    let most: i64 = count(
        &pool,
        "SELECT coalesce(max(c), 0) FROM (SELECT count(*) c FROM messages GROUP BY room_id) s",
    )
    .await;
    assert_eq!(most, 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM messages").await,
        i64::try_from(ROUNDS).expect("small")
    );
    println!(
        "reply race: {ROUNDS} rounds, one winner each ({a_wins} creator, {b_wins} second party), 0 double messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_racing_read_is_serial() {
    // STD1-MSG-8: an edit and a read receipt of one message at once.
    let pool = common::fresh_pool().await;
    let (mut edit_first, mut read_first) = (0, 0);
    for round in 0..ROUNDS {
        let (a, b) = paired(&pool, &format!("+44 7700 92{round:04}")).await;
        let m = sent(send(&pool, &a, 1, None).await);
        let (pa, pb) = (pool.clone(), pool.clone());
        let edit = EditMessage {
            message_id: m.id,
            ciphertext: Ciphertext::from_bytes(vec![9; 16]).expect("size"),
            iv: Iv::from_array([9; 12]),
        };
        let te = tokio::spawn(async move { edit_message(&pa, &a, &edit).await });
        let tr = tokio::spawn(async move { read_receipt(&pb, &b, m.id).await });
        let (oe, or) = (
            te.await.expect("task").expect("store"),
            tr.await.expect("task").expect("store"),
        );
        assert!(
            matches!(or, ReadOutcome::Read { .. }),
            "round {round}: the read always succeeds: {or:?}"
        );
        match oe {
            EditOutcome::Edited { .. } => edit_first += 1,
            EditOutcome::NotEditable => read_first += 1,
            other => panic!("round {round}: not a serial outcome: {other:?}"),
        }
    }
    println!("edit vs read: {ROUNDS} rounds ({edit_first} edit first, {read_first} read first)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expire_racing_send_is_serial() {
    // STD1-MSG-8, STD1-LIFE-8: one party expires the room as the other sends.
    let pool = common::fresh_pool().await;
    let (mut send_first, mut expire_first) = (0, 0);
    for round in 0..ROUNDS {
        let (a, b) = paired(&pool, &format!("+44 7700 93{round:04}")).await;
        let (pa, pb) = (pool.clone(), pool.clone());
        let tx = tokio::spawn(async move { expire_room(&pa, &a).await });
        let ts = tokio::spawn(async move { send_message(&pb, &b, &message(1, None)).await });
        let (ox, os) = (
            tx.await.expect("task").expect("store"),
            ts.await.expect("task").expect("store"),
        );
        assert!(
            matches!(ox, ExpireOutcome::Expired { .. }),
            "round {round}: {ox:?}"
        );
        match os {
            SendOutcome::Sent { .. } => send_first += 1,
            SendOutcome::Ended(Ended::RoomGone { expired: None }) => expire_first += 1,
            other => panic!("round {round}: not a serial outcome: {other:?}"),
        }
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM rooms").await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM messages").await,
        0,
        "no message outlives its room"
    );
    println!(
        "expire vs send: {ROUNDS} rounds ({send_first} send first, {expire_first} expire first)"
    );
}
