//! The schema holds every room invariant on its own, whatever the code
//! above it does (STD1-SRV-5). These tests write to the tables directly,
//! as a buggy or racing operation would, and expect the database to refuse.

mod common;

use sqlx::PgPool;
use uuid::Uuid;

fn bytes(n: usize, fill: u8) -> Vec<u8> {
    vec![fill; n]
}

async fn insert_room(pool: &PgPool, room_hash_fill: u8) -> Uuid {
    let id = Uuid::from_u128(u128::from(room_hash_fill) + 1);
    sqlx::query(
        "INSERT INTO rooms (id, room_hash, created_at, ttl_expires_at, pairing_hash, pairing_slot)
         VALUES ($1, $2, date_trunc('second', now()), date_trunc('second', now()) + interval '7 days', $3, 2)",
    )
    .bind(id)
    .bind(bytes(32, room_hash_fill))
    .bind(bytes(32, 0xaa))
    .execute(pool)
    .await
    .expect("inserting a room");
    id
}

async fn insert_record(pool: &PgPool, room: Uuid, slot: i16, fill: u8) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO access_records (room_id, slot, access_hash, sender_sealed, sender_index, created_at)
         VALUES ($1, $2, $3, $4, $5, now())",
    )
    .bind(room)
    .bind(slot)
    .bind(bytes(32, fill))
    .bind(bytes(60, fill.wrapping_add(100)))
    .bind(bytes(32, fill.wrapping_add(100)))
    .execute(pool)
    .await
    .map(drop)
}

async fn insert_message(pool: &PgPool, room: Uuid, id: u128, slot: i16) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (room_id, id, author_slot, ciphertext, iv, sent_at)
         VALUES ($1, $2, $3, $4, $5, now())",
    )
    .bind(room)
    .bind(Uuid::from_u128(id))
    .bind(slot)
    .bind(bytes(21, 7))
    .bind(bytes(12, 0))
    .execute(pool)
    .await
    .map(drop)
}

/// The SQLSTATE of a failed statement.
fn code(result: Result<(), sqlx::Error>) -> String {
    let err = result.expect_err("the database must refuse this");
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .expect("counting")
}

#[tokio::test]
async fn a_room_never_holds_two_messages() {
    // STD1-MSG-1: the second layer of N=1.
    let pool = common::fresh_pool().await;
    let room = insert_room(&pool, 1).await;
    insert_record(&pool, room, 1, 1).await.expect("slot 1");
    insert_record(&pool, room, 2, 2).await.expect("slot 2");
    insert_message(&pool, room, 10, 1)
        .await
        .expect("first message");
    assert_eq!(code(insert_message(&pool, room, 11, 2).await), "23505");
    assert_eq!(count(&pool, "messages").await, 1);
}

#[tokio::test]
async fn a_room_never_holds_more_than_two_access_records() {
    // STD1-JOIN-6
    let pool = common::fresh_pool().await;
    let room = insert_room(&pool, 2).await;
    insert_record(&pool, room, 1, 1).await.expect("slot 1");
    insert_record(&pool, room, 2, 2).await.expect("slot 2");
    assert_eq!(
        code(insert_record(&pool, room, 3, 3).await),
        "23514",
        "no third slot"
    );
    assert_eq!(
        code(insert_record(&pool, room, 2, 4).await),
        "23505",
        "slot 2 is taken"
    );
    assert_eq!(count(&pool, "access_records").await, 2);
}

#[tokio::test]
async fn records_of_one_room_have_distinct_credentials_and_identities() {
    // STD1-JOIN-7: one access_hash and one sender_hash per record.
    let pool = common::fresh_pool().await;
    let room = insert_room(&pool, 3).await;
    insert_record(&pool, room, 1, 1).await.expect("slot 1");
    assert_eq!(code(insert_record(&pool, room, 2, 1).await), "23505");
}

#[tokio::test]
async fn one_room_per_room_hash() {
    // STD1-JOIN-4
    let pool = common::fresh_pool().await;
    insert_room(&pool, 4).await;
    let again = sqlx::query(
        "INSERT INTO rooms (id, room_hash, created_at, ttl_expires_at)
         VALUES (gen_random_uuid(), $1, date_trunc('second', now()), date_trunc('second', now()) + interval '1 day')",
    )
    .bind(bytes(32, 4))
    .execute(&pool)
    .await
    .map(drop);
    assert_eq!(code(again), "23505");
}

#[tokio::test]
async fn malformed_values_are_refused_by_the_store() {
    // STD1-SRV-5, STD1-ENC-5, STD1-ENC-2: sizes hold even if a check above is missed.
    let pool = common::fresh_pool().await;
    let room = insert_room(&pool, 5).await;
    insert_record(&pool, room, 1, 1).await.expect("slot 1");
    let message = |ciphertext: usize, iv: usize| {
        sqlx::query(
            "INSERT INTO messages (room_id, id, author_slot, ciphertext, iv, sent_at)
             VALUES ($1, gen_random_uuid(), 1, $2, $3, now())",
        )
        .bind(room)
        .bind(bytes(ciphertext, 1))
        .bind(bytes(iv, 1))
        .execute(&pool)
    };
    assert_eq!(code(message(8193, 12).await.map(drop)), "23514");
    assert_eq!(code(message(15, 12).await.map(drop)), "23514");
    assert_eq!(code(message(16, 11).await.map(drop)), "23514");
    assert_eq!(
        code(insert_message(&pool, room, 12, 2).await),
        "23503",
        "the author must be a record of the room"
    );
    let short_hash = sqlx::query("UPDATE rooms SET room_hash = $1 WHERE id = $2")
        .bind(bytes(31, 5))
        .bind(room)
        .execute(&pool)
        .await
        .map(drop);
    assert_eq!(code(short_hash), "23514");
    assert_eq!(count(&pool, "messages").await, 0);
    // STD1-JOIN-24: a pairing code always names the slot it opens, and a
    // slot is never named without a code.
    for (sql, what) in [
        (
            "UPDATE rooms SET pairing_hash = NULL WHERE id = $1",
            "a target without a code",
        ),
        (
            "UPDATE rooms SET pairing_slot = NULL WHERE id = $1",
            "a code without a target",
        ),
        (
            "UPDATE rooms SET pairing_slot = 3 WHERE id = $1",
            "a slot that does not exist",
        ),
    ] {
        let refused = sqlx::query(sql).bind(room).execute(&pool).await.map(drop);
        assert_eq!(code(refused), "23514", "{what}");
    }
}

#[tokio::test]
async fn deleting_a_room_deletes_all_of_it() {
    // STD1-LIFE-3
    let pool = common::fresh_pool().await;
    let room = insert_room(&pool, 6).await;
    let other = insert_room(&pool, 7).await;
    for r in [room, other] {
        insert_record(&pool, r, 1, 1).await.expect("slot 1");
        insert_record(&pool, r, 2, 2).await.expect("slot 2");
    }
    insert_message(&pool, room, 20, 1).await.expect("message");
    insert_message(&pool, other, 21, 2).await.expect("message");
    sqlx::query("DELETE FROM rooms WHERE id = $1")
        .bind(room)
        .execute(&pool)
        .await
        .expect("delete");
    assert_eq!(count(&pool, "rooms").await, 1);
    assert_eq!(
        count(&pool, "access_records").await,
        2,
        "only the other room's records remain"
    );
    assert_eq!(count(&pool, "messages").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_instances_migrate_once() {
    // Several server instances may start at once on one database; the
    // migrator's advisory lock lets each migration apply exactly once.
    let name = common::empty_database().await;
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let pool = common::pool_for(&name, 2).await;
        tasks.push(tokio::spawn(async move {
            stelgano_server::db::MIGRATOR.run(&pool).await
        }));
    }
    for task in tasks {
        task.await
            .expect("the task finishes")
            .expect("every instance sees the schema up to date");
    }
    let pool = common::pool_for(&name, 1).await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .expect("migration table");
    assert_eq!(
        applied,
        i64::try_from(stelgano_server::db::MIGRATOR.iter().count()).expect("small")
    );
}

#[tokio::test]
async fn store_errors_are_logged_without_stored_values() {
    // STD1-SRV-16: PostgreSQL's message for a unique violation quotes the
    // key; the loggable form keeps only the SQLSTATE.
    let pool = common::fresh_pool().await;
    insert_room(&pool, 9).await;
    let err = sqlx::query(
        "INSERT INTO rooms (id, room_hash, created_at, ttl_expires_at)
         VALUES (gen_random_uuid(), $1, date_trunc('second', now()), date_trunc('second', now()) + interval '1 day')",
    )
    .bind(bytes(32, 9))
    .execute(&pool)
    .await
    .expect_err("duplicate room hash");
    let logged = stelgano_server::store::StoreError::from(err).loggable();
    assert_eq!(logged, "database error 23505");
}
