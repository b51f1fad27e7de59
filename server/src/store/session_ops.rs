//! Operations of an open session: messages (spec §9), `typing`,
//! `reset_pairing` (STD1-JOIN-17) and `expire_room` (STD1-LIFE-2).
//!
//! Each starts by locking the session's room by its `room_id` (a session
//! never reaches a later room of the same number, spec §3). A room that is
//! gone, or past its expiry time (then deleted here), answers `room_expired`
//! (STD1-LIFE-8). Every change that other sessions must see increments the
//! room's version and publishes its broadcast in the same transaction
//! (events.rs).

use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use stelgano_spec::ids::{MessageId, PairingHash, RoomId};
use stelgano_spec::wire::{Broadcast, EditMessage, ExpiryCause, Message, Timestamp};
use time::OffsetDateTime;

use super::access::expire_and_delete;
use super::events::{Audience, bump_version, publish};
use super::keyed::StorageKeys;
use super::{ExpiredRoom, SessionBinding, Slot, StoreError, operation_time, timestamp};
use crate::faults::{self, Fault};

/// Why a session can no longer act: the answer to every request it makes
/// from then on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The session's room no longer exists; `expired` when this request
    /// found it past its time and deleted it (its `room_expired` event is
    /// published). Answered `room_expired` (STD1-LIFE-8).
    RoomGone { expired: Option<ExpiredRoom> },
    /// A claim replaced the session's access record (STD1-JOIN-25): the
    /// session acts for nobody and is answered `not_joined` until its
    /// close arrives.
    Replaced,
}

/// The answer to `send_message` (STD1-MSG-2). `version` is the room version
/// of the `new_message` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent { message: Box<Message>, version: i64 },
    NotYourTurn,
    Conflict,
    Ended(Ended),
}

/// The answer to `read_receipt` (STD1-MSG-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    Read {
        message_id: MessageId,
        read_at: Timestamp,
        version: i64,
    },
    NotFound,
    OwnMessage,
    AlreadyRead,
    Ended(Ended),
}

/// The answer to `edit_message` (STD1-MSG-12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    Edited { message_id: MessageId, version: i64 },
    NotFound,
    NotAuthor,
    NotEditable,
    Ended(Ended),
}

/// The answer to `delete_message` (STD1-MSG-14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted { message_id: MessageId, version: i64 },
    NotFound,
    NotAuthor,
    NotDeletable,
    Ended(Ended),
}

/// The answer to `typing` (STD1-MSG-16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypingOutcome {
    Sent,
    Ended(Ended),
}

/// The answer to `reset_pairing` (STD1-JOIN-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetOutcome {
    Reset,
    AlreadyPaired,
    Ended(Ended),
}

/// The answer to `expire_room` (STD1-LIFE-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOutcome {
    Expired { version: i64 },
    Ended(Ended),
}

/// The locked room: the operation's time and the room's version.
struct Locked {
    now: Timestamp,
    version: i64,
}

/// Locks the session's room and reads the operation time; `Err` carries
/// the `room_expired` answer (after deleting a room found past its time),
/// or, when a claim replaced the session's record, the `not_joined` one
/// (STD1-JOIN-25).
async fn lock_room(
    tx: &mut Transaction<'static, Postgres>,
    session: &SessionBinding,
) -> Result<Result<Locked, Ended>, StoreError> {
    let row = sqlx::query(
        "SELECT r.ttl_expires_at, r.version,
                EXISTS (SELECT 1 FROM access_records a
                         WHERE a.room_id = r.id AND a.slot = $2 AND a.sender_index = $3)
                    AS current
           FROM rooms r WHERE r.id = $1 FOR UPDATE",
    )
    .bind(session.room_id.as_uuid())
    .bind(session.slot.to_db())
    .bind(session.sender_index.as_slice())
    .fetch_optional(&mut **tx)
    .await?;
    let now = operation_time(tx).await?;
    let Some(row) = row else {
        return Ok(Err(Ended::RoomGone { expired: None }));
    };
    let ttl: OffsetDateTime = row.try_get("ttl_expires_at")?;
    let version: i64 = row.try_get("version")?;
    if timestamp(ttl)? <= now {
        expire_and_delete(tx, session.room_id, version, ExpiryCause::Ttl).await?;
        return Ok(Err(Ended::RoomGone {
            expired: Some(ExpiredRoom(session.room_id)),
        }));
    }
    if !row.try_get::<bool, _>("current")? {
        return Ok(Err(Ended::Replaced));
    }
    Ok(Ok(Locked { now, version }))
}

/// Commits a `room_expired` answer (keeping a deletion it made).
async fn gone<T>(
    tx: Transaction<'static, Postgres>,
    gone: Ended,
    wrap: fn(Ended) -> T,
) -> Result<T, StoreError> {
    tx.commit().await?;
    Ok(wrap(gone))
}

/// The room's current message as the rules need it.
struct Current {
    id: MessageId,
    author: Slot,
    sent_at: Timestamp,
    read: bool,
}

async fn current(conn: &mut PgConnection, room: RoomId) -> Result<Option<Current>, StoreError> {
    let row = sqlx::query(
        "SELECT id, author_slot, sent_at, read_at IS NOT NULL AS read FROM messages WHERE room_id = $1",
    )
    .bind(room.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Current {
        id: MessageId::from_uuid(row.try_get("id")?),
        author: Slot::from_db(row.try_get("author_slot")?)?,
        sent_at: timestamp(row.try_get("sent_at")?)?,
        read: row.try_get("read")?,
    }))
}

/// Increments the room version and publishes `broadcast` to every session.
async fn announce(
    conn: &mut PgConnection,
    room: RoomId,
    broadcast: Broadcast,
) -> Result<i64, StoreError> {
    let version = bump_version(conn, room).await?;
    publish(conn, room, Some(version), Audience::All, broadcast).await?;
    Ok(version)
}

/// Marks the other party's current message read (STD1-MSG-9, STD1-MSG-10).
pub async fn read_receipt(
    pool: &PgPool,
    session: &SessionBinding,
    message_id: MessageId,
) -> Result<ReadOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    let locked = match lock_room(&mut tx, session).await? {
        Ok(locked) => locked,
        Err(g) => return gone(tx, g, ReadOutcome::Ended).await,
    };
    let Some(current) = current(&mut tx, session.room_id)
        .await?
        .filter(|c| c.id == message_id)
    else {
        return Ok(ReadOutcome::NotFound);
    };
    if current.author == session.slot && !faults::injected(Fault::ReadByAuthor) {
        return Ok(ReadOutcome::OwnMessage);
    }
    if current.read {
        return Ok(ReadOutcome::AlreadyRead);
    }
    let read_at = locked.now.max(current.sent_at);
    sqlx::query("UPDATE messages SET read_at = $2 WHERE room_id = $1")
        .bind(session.room_id.as_uuid())
        .bind(read_at.to_datetime())
        .execute(&mut *tx)
        .await?;
    let version = announce(
        &mut tx,
        session.room_id,
        Broadcast::MessageRead {
            message_id,
            read_at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ReadOutcome::Read {
        message_id,
        read_at,
        version,
    })
}

/// Which of the own-unread-message rules a request fails, if any
/// (STD1-MSG-12, STD1-MSG-14).
enum Ownership {
    NotFound,
    NotAuthor,
    Read,
    Editable,
}

fn ownership(
    current: Option<&Current>,
    session: &SessionBinding,
    message_id: MessageId,
) -> Ownership {
    match current.filter(|c| c.id == message_id) {
        None => Ownership::NotFound,
        Some(c) if c.author != session.slot => Ownership::NotAuthor,
        Some(c) if c.read => Ownership::Read,
        Some(_) => Ownership::Editable,
    }
}

/// Replaces one's own unread message (STD1-MSG-12).
pub async fn edit_message(
    pool: &PgPool,
    session: &SessionBinding,
    request: &EditMessage,
) -> Result<EditOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    if let Err(g) = lock_room(&mut tx, session).await? {
        return gone(tx, g, EditOutcome::Ended).await;
    }
    match ownership(
        current(&mut tx, session.room_id).await?.as_ref(),
        session,
        request.message_id,
    ) {
        Ownership::NotFound => return Ok(EditOutcome::NotFound),
        Ownership::NotAuthor => return Ok(EditOutcome::NotAuthor),
        Ownership::Read if !faults::injected(Fault::EditAfterRead) => {
            return Ok(EditOutcome::NotEditable);
        }
        Ownership::Read | Ownership::Editable => {}
    }
    sqlx::query("UPDATE messages SET ciphertext = $2, iv = $3, edited = true WHERE room_id = $1")
        .bind(session.room_id.as_uuid())
        .bind(request.ciphertext.as_bytes())
        .bind(request.iv.as_bytes().as_slice())
        .execute(&mut *tx)
        .await?;
    let edited = Broadcast::MessageEdited {
        message_id: request.message_id,
        ciphertext: request.ciphertext.clone(),
        iv: request.iv,
    };
    let version = announce(&mut tx, session.room_id, edited).await?;
    tx.commit().await?;
    Ok(EditOutcome::Edited {
        message_id: request.message_id,
        version,
    })
}

/// Removes one's own unread message (STD1-MSG-14, STD1-MSG-15).
pub async fn delete_message(
    pool: &PgPool,
    session: &SessionBinding,
    message_id: MessageId,
) -> Result<DeleteOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    if let Err(g) = lock_room(&mut tx, session).await? {
        return gone(tx, g, DeleteOutcome::Ended).await;
    }
    match ownership(
        current(&mut tx, session.room_id).await?.as_ref(),
        session,
        message_id,
    ) {
        Ownership::NotFound => return Ok(DeleteOutcome::NotFound),
        Ownership::NotAuthor => return Ok(DeleteOutcome::NotAuthor),
        Ownership::Read => return Ok(DeleteOutcome::NotDeletable),
        Ownership::Editable => {}
    }
    sqlx::query("DELETE FROM messages WHERE room_id = $1")
        .bind(session.room_id.as_uuid())
        .execute(&mut *tx)
        .await?;
    let version = announce(
        &mut tx,
        session.room_id,
        Broadcast::MessageDeleted { message_id },
    )
    .await?;
    tx.commit().await?;
    Ok(DeleteOutcome::Deleted {
        message_id,
        version,
    })
}

/// Whether the session's room is still live; a room found past its expiry
/// time is deleted and announced here (STD1-WIRE-21, STD1-LIFE-4).
pub async fn check_room(
    pool: &PgPool,
    session: &SessionBinding,
) -> Result<Option<Ended>, StoreError> {
    let mut tx = pool.begin().await?;
    match lock_room(&mut tx, session).await? {
        Ok(_) => Ok(None),
        Err(g) => gone(tx, g, Some).await,
    }
}

/// Tells the other party's sessions that this party is typing (STD1-MSG-16).
/// It changes no state, so its event has no version and no place in the
/// room's order.
pub async fn publish_typing(
    pool: &PgPool,
    session: &SessionBinding,
) -> Result<TypingOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    if let Err(g) = lock_room(&mut tx, session).await? {
        return gone(tx, g, TypingOutcome::Ended).await;
    }
    let other = session.slot.other();
    publish(
        &mut tx,
        session.room_id,
        None,
        Audience::Slot(other),
        Broadcast::CounterpartyTyping {},
    )
    .await?;
    tx.commit().await?;
    Ok(TypingOutcome::Sent)
}

/// Replaces the pairing code of an unpaired room (STD1-JOIN-17), stored
/// keyed (STD1-SRV-25).
pub async fn reset_pairing(
    pool: &PgPool,
    keys: &StorageKeys,
    session: &SessionBinding,
    pairing: &PairingHash,
) -> Result<ResetOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    if let Err(g) = lock_room(&mut tx, session).await? {
        return gone(tx, g, ResetOutcome::Ended).await;
    }
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM access_records WHERE room_id = $1")
        .bind(session.room_id.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
    if records >= 2 {
        return Ok(ResetOutcome::AlreadyPaired);
    }
    set_pairing_code(&mut tx, keys, session.room_id, pairing, Slot::Second).await?;
    tx.commit().await?;
    Ok(ResetOutcome::Reset)
}

/// The answer to `reopen_pairing` (STD1-JOIN-24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReopenOutcome {
    Reopened,
    Ended(Ended),
}

/// Gives the other party's slot a new pairing code (STD1-JOIN-24): the
/// record there, if any, stays valid until a claim with the code replaces
/// it or its own PIN withdraws the code (STD1-JOIN-16). Nothing is
/// broadcast, and the failure count and lock are left alone. In an
/// unpaired room this is `reset_pairing`.
pub async fn reopen_pairing(
    pool: &PgPool,
    keys: &StorageKeys,
    session: &SessionBinding,
    pairing: &PairingHash,
) -> Result<ReopenOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    if let Err(g) = lock_room(&mut tx, session).await? {
        return gone(tx, g, ReopenOutcome::Ended).await;
    }
    set_pairing_code(
        &mut tx,
        keys,
        session.room_id,
        pairing,
        session.slot.other(),
    )
    .await?;
    tx.commit().await?;
    Ok(ReopenOutcome::Reopened)
}

/// Stores a room's pairing code, keyed (STD1-SRV-25), with the slot it
/// opens.
async fn set_pairing_code(
    conn: &mut PgConnection,
    keys: &StorageKeys,
    room: RoomId,
    pairing: &PairingHash,
    target: Slot,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE rooms SET pairing_hash = $2, pairing_slot = $3 WHERE id = $1")
        .bind(room.as_uuid())
        .bind(keys.pairing(pairing).as_slice())
        .bind(target.to_db())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes the room at either party's request (STD1-LIFE-2, STD1-LIFE-3).
pub async fn expire_room(
    pool: &PgPool,
    session: &SessionBinding,
) -> Result<ExpireOutcome, StoreError> {
    let mut tx = pool.begin().await?;
    let locked = match lock_room(&mut tx, session).await? {
        Ok(locked) => locked,
        Err(g) => return gone(tx, g, ExpireOutcome::Ended).await,
    };
    let version =
        expire_and_delete(&mut tx, session.room_id, locked.version, ExpiryCause::Party).await?;
    tx.commit().await?;
    Ok(ExpireOutcome::Expired { version })
}

/// Deletes up to `limit` rooms past their expiry time, publishing their
/// `room_expired` events, and returns them (STD1-LIFE-4). `SKIP LOCKED` lets
/// several instances sweep at once without waiting on each other or on rooms
/// in use.
pub async fn sweep_expired(pool: &PgPool, limit: i64) -> Result<Vec<ExpiredRoom>, StoreError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT id, version FROM rooms
          WHERE ttl_expires_at <= date_trunc('second', clock_timestamp())
          ORDER BY ttl_expires_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut expired = Vec::with_capacity(rows.len());
    for row in rows {
        let id = RoomId::from_uuid(row.try_get("id")?);
        expire_and_delete(&mut tx, id, row.try_get("version")?, ExpiryCause::Ttl).await?;
        expired.push(ExpiredRoom(id));
    }
    tx.commit().await?;
    Ok(expired)
}
