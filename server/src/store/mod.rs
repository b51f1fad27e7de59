//! Room operations as PostgreSQL transactions (spec §§8–10).
//!
//! Every operation on an existing room starts by locking the room's row
//! (`SELECT … FOR UPDATE`), so the operations of one room run one at a time
//! in the database, across every server instance: that lock order is the
//! linearization order the spec requires (STD1-SRV-6). The operation's time
//! is read after the lock, from the database clock, truncated to whole
//! seconds (STD1-SRV-7). Creation, which has no row to lock yet, relies on
//! the unique `room_hash` instead (STD1-JOIN-4).
//!
//! Each function returns a typed outcome that names the spec's answer; the
//! WebSocket layer turns outcomes into replies and broadcasts.

mod access;
pub mod events;
pub mod keyed;
mod send;
mod session_ops;

use keyed::StorageKeys;

pub use access::{CreateOutcome, Failed, JoinOrigin, JoinOutcome, Lockout, create_room, join_room};
pub use send::send_message;
pub use session_ops::{
    DeleteOutcome, EditOutcome, Ended, ExpireOutcome, ReadOutcome, ReopenOutcome, ResetOutcome,
    SendOutcome, TypingOutcome, check_room, delete_message, edit_message, expire_room,
    publish_typing, read_receipt, reopen_pairing, reset_pairing, sweep_expired,
};

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use stelgano_spec::ids::{MessageId, RoomId, SenderHash};
use stelgano_spec::wire::{Ciphertext, Iv, Joined, Message, Timestamp};
use time::OffsetDateTime;

/// A slot of a room: 1 for the creator, 2 for the second party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Creator = 1,
    Second = 2,
}

impl Slot {
    fn from_db(value: i16) -> Result<Self, StoreError> {
        match value {
            1 => Ok(Self::Creator),
            2 => Ok(Self::Second),
            other => Err(StoreError::Corrupt(format!("slot {other}"))),
        }
    }

    fn to_db(self) -> i16 {
        self as i16
    }
}

/// What a session is bound to for its whole life (spec §3, STD1-JOIN-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionBinding {
    pub room_id: RoomId,
    pub slot: Slot,
    pub sender_hash: SenderHash,
    /// The keyed index of `sender_hash` as its record stores it
    /// (STD1-SRV-25): every operation compares it with the slot's record,
    /// so a session whose record a claim replaced acts for nobody
    /// (STD1-JOIN-25).
    pub sender_index: [u8; 32],
}

impl Slot {
    /// The slot that is not this one.
    pub fn other(self) -> Self {
        match self {
            Self::Creator => Self::Second,
            Self::Second => Self::Creator,
        }
    }
}

/// A room that a request found past its expiry time and deleted; its
/// sessions must be told (STD1-LIFE-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExpiredRoom(pub RoomId);

/// Failures of the store itself; every one is answered `internal_error`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data violates the schema's assumptions: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A description safe to log: the kind of failure and, for database
    /// errors, the SQLSTATE, but never a message or detail, which can quote
    /// stored values such as hashes (STD1-SRV-16).
    pub fn loggable(&self) -> String {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                format!(
                    "database error {}",
                    e.code().as_deref().unwrap_or("without code")
                )
            }
            StoreError::Database(e) => format!("database failure ({})", database_kind(e)),
            StoreError::Corrupt(_) => "stored data violates the schema's assumptions".into(),
        }
    }
}

fn database_kind(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Io(_) => "i/o",
        sqlx::Error::PoolTimedOut => "pool timed out",
        sqlx::Error::PoolClosed => "pool closed",
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::Tls(_) => "tls",
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decode",
        _ => "other",
    }
}

/// The operation's time: the database clock, now, in whole seconds (STD1-SRV-7).
async fn operation_time(conn: &mut PgConnection) -> Result<Timestamp, StoreError> {
    let now: OffsetDateTime = sqlx::query_scalar("SELECT date_trunc('second', clock_timestamp())")
        .fetch_one(&mut *conn)
        .await?;
    timestamp(now)
}

fn timestamp(dt: OffsetDateTime) -> Result<Timestamp, StoreError> {
    Timestamp::from_datetime(dt)
        .ok_or_else(|| StoreError::Corrupt(format!("time {dt} out of range")))
}

fn room_id(row: &PgRow, column: &str) -> Result<RoomId, StoreError> {
    Ok(RoomId::from_uuid(row.try_get(column)?))
}

/// Reads a 32-byte hash column.
fn hash<T: for<'a> TryFrom<&'a [u8]>>(row: &PgRow, column: &str) -> Result<T, StoreError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    T::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 32 bytes")))
}

/// The room as a `Joined` reply describes it (STD1-JOIN-8).
async fn room_view(
    conn: &mut PgConnection,
    keys: &StorageKeys,
    room_id: RoomId,
    ttl_expires_at: Timestamp,
) -> Result<Joined, StoreError> {
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM access_records WHERE room_id = $1")
        .bind(room_id.as_uuid())
        .fetch_one(&mut *conn)
        .await?;
    let current_message = current_message(conn, keys, room_id).await?;
    Ok(Joined {
        room_id,
        ttl_expires_at,
        awaiting_party: records == 1,
        current_message,
    })
}

/// The room's one message, with its author's bound sender hash, unsealed
/// (STD1-MSG-4, STD1-SRV-25).
async fn current_message(
    conn: &mut PgConnection,
    keys: &StorageKeys,
    room_id: RoomId,
) -> Result<Option<Message>, StoreError> {
    let row = sqlx::query(
        "SELECT m.id, m.author_slot, a.sender_sealed, m.ciphertext, m.iv, m.sent_at, m.read_at, m.edited
           FROM messages m
           JOIN access_records a ON a.room_id = m.room_id AND a.slot = m.author_slot
          WHERE m.room_id = $1",
    )
    .bind(room_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let ciphertext: Vec<u8> = row.try_get("ciphertext")?;
    let iv: Vec<u8> = row.try_get("iv")?;
    let read_at: Option<OffsetDateTime> = row.try_get("read_at")?;
    let sealed: Vec<u8> = row.try_get("sender_sealed")?;
    let author = Slot::from_db(row.try_get("author_slot")?)?;
    Ok(Some(Message {
        id: MessageId::from_uuid(row.try_get("id")?),
        sender_hash: keys.open_sender(room_id, author, &sealed)?,
        ciphertext: Ciphertext::from_bytes(ciphertext)
            .map_err(|reason| StoreError::Corrupt(format!("stored ciphertext: {reason}")))?,
        iv: Iv::try_from(iv.as_slice())
            .map_err(|reason| StoreError::Corrupt(format!("stored iv: {reason}")))?,
        sent_at: timestamp(row.try_get("sent_at")?)?,
        read_at: read_at.map(timestamp).transpose()?,
        edited: row.try_get("edited")?,
    }))
}
