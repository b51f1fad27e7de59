//! `create` and `join`: rooms, access records, the pairing gate, the
//! room's failure count and the origins a lock bars (spec §8, STD1-JOIN-1
//! to STD1-JOIN-23).

use std::num::NonZeroU32;
use std::time::Duration;

use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use stelgano_spec::constants::{LOCKOUT_ATTEMPTS, LOCKOUT_DURATION};
use stelgano_spec::ids::{AccessHash, PairingHash, RoomId, SenderHash};
use stelgano_spec::wire::{Broadcast, CreateRoom, ExpiryCause, JoinRoom, Joined, Timestamp};
use time::OffsetDateTime;

use super::events::{Audience, bump_version, publish};
use super::keyed::StorageKeys;
use super::{
    ExpiredRoom, SessionBinding, Slot, StoreError, hash, operation_time, room_id, room_view,
    timestamp,
};
use crate::faults::{self, Fault};

/// When failures lock a room, and for how long (STD1-JOIN-18): the spec's
/// `L` and `D`. The defaults are the spec's; smaller values exist for tests
/// and conformance runs, and `conforming` says whether production may use
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures that lock the room (`L`), at most 10: the schema holds no
    /// larger count.
    attempts: NonZeroU32,
    /// How long the lock lasts (`D`), in whole seconds.
    duration: NonZeroU32,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            attempts: NonZeroU32::new(LOCKOUT_ATTEMPTS).unwrap_or(NonZeroU32::MIN),
            duration: NonZeroU32::new(LOCKOUT_DURATION.as_secs() as u32).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl Lockout {
    /// `attempts` failures lock for `duration_seconds`; `None` when
    /// `attempts` is above the spec's 10 (STD1-JOIN-18).
    pub fn new(attempts: NonZeroU32, duration_seconds: NonZeroU32) -> Option<Self> {
        (attempts.get() <= LOCKOUT_ATTEMPTS).then_some(Self {
            attempts,
            duration: duration_seconds,
        })
    }

    /// Whether a production deployment may use these values: a lock at
    /// least as long as the spec's (STD1-JOIN-18).
    pub fn conforming(&self) -> bool {
        u64::from(self.duration.get()) >= LOCKOUT_DURATION.as_secs()
    }
}

/// The answer to `create` (STD1-JOIN-1, STD1-JOIN-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// `version` is the room's version the reply describes (events.rs).
    Created {
        joined: Box<Joined>,
        binding: SessionBinding,
        version: i64,
        expired: Option<ExpiredRoom>,
    },
    RoomExists,
}

/// The answer to `join` (STD1-JOIN-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// A session opens; `paired_now` when this join took slot 2 (STD1-JOIN-15).
    Joined {
        joined: Box<Joined>,
        binding: SessionBinding,
        version: i64,
        paired_now: bool,
    },
    NotFound {
        expired: Option<ExpiredRoom>,
    },
    /// `locked_now` when this request's failure set the lock. The answer
    /// is the same whether or not the request was evaluated
    /// (STD1-JOIN-23); [`JoinOrigin::failure`] tells the caller.
    Locked {
        retry_after: NonZeroU32,
        locked_now: bool,
    },
    SenderMismatch,
    PairingInvalid {
        attempts_remaining: NonZeroU32,
    },
    Unauthorized {
        attempts_remaining: NonZeroU32,
    },
}

/// What the deciding server instance knows of a join's network origin,
/// and, after the join, whether it failed (STD1-JOIN-22). The origins
/// themselves are kept in memory by the caller (`crate::origins`), never
/// here: the store only says whether a remembered failure falls in the
/// room's current count window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinOrigin {
    standing: Standing,
    failed_at: Option<Failed>,
}

/// A failure of an origin: the room it failed against (a number's later
/// room is another room, whose window knows nothing of it) and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    pub room: RoomId,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// No failure of this origin against the room is remembered.
    Clear,
    /// Its last remembered failure against a room of this number.
    Failed(Failed),
    /// Barred whatever the window (STD1-JOIN-22: another join from it is
    /// being decided, the memory is full, or the caller keeps no origins).
    Barred,
}

impl JoinOrigin {
    /// An origin with no remembered failure against the room.
    pub fn clear() -> Self {
        Self::with(Standing::Clear)
    }

    /// An origin whose last remembered failure against a room of the
    /// number was `failed`: barred while that is the room and `failed.at`
    /// lies in its current count window.
    pub fn failed(failed: Failed) -> Self {
        Self::with(Standing::Failed(failed))
    }

    /// An origin barred during any lock: the fail-closed choice for a
    /// caller that cannot tell, and the rule std-1 first had.
    pub fn barred() -> Self {
        Self::with(Standing::Barred)
    }

    fn with(standing: Standing) -> Self {
        Self {
            standing,
            failed_at: None,
        }
    }

    /// When the join failed (STD1-JOIN-22), at the operation's time: a
    /// wrong PIN or code, counted or, during a lock, answered `locked`.
    /// `None` for every other outcome, refusals of a barred origin
    /// included.
    pub fn failure(&self) -> Option<Failed> {
        self.failed_at
    }

    /// Sets the outcome as a join would, for the origin table's tests.
    #[cfg(test)]
    pub(crate) fn set_failure_for_test(&mut self, failed: Option<Failed>) {
        self.failed_at = failed;
    }

    /// Whether a lock of room `id` bars this origin, given the start of
    /// the room's count window.
    fn barred_in(&self, id: RoomId, window_start: Timestamp) -> bool {
        match self.standing {
            Standing::Clear => false,
            Standing::Failed(failed) => failed.room == id && failed.at >= window_start,
            Standing::Barred => true,
        }
    }

    fn fail(&mut self, room: RoomId, at: Timestamp) {
        self.failed_at = Some(Failed { room, at });
    }
}

/// Creates a room with slot 1 (STD1-JOIN-1). A room with the same hash
/// that is past its expiry time is deleted first (STD1-LIFE-4); a live one
/// makes the answer `room_exists` (STD1-JOIN-2). Two racing creates are
/// settled by the unique `room_hash` (STD1-JOIN-4).
///
/// The operation's time is read only once it holds its place in the
/// room's order (STD1-SRV-7): after the lock on an existing room, and
/// again after the insert, which may have waited for a racing create of
/// the same hash that then rolled back.
///
/// Hashes are stored in their keyed forms (STD1-SRV-25).
pub async fn create_room(
    pool: &PgPool,
    keys: &StorageKeys,
    request: &CreateRoom,
    lifetime: Duration,
) -> Result<CreateOutcome, StoreError> {
    let room_key = keys.room(&request.room_hash);
    let mut tx = pool.begin().await?;
    let existing = sqlx::query(
        "SELECT id, ttl_expires_at, version FROM rooms WHERE room_hash = $1 FOR UPDATE",
    )
    .bind(room_key.as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let mut now = operation_time(&mut tx).await?;
    let mut expired = None;
    if let Some(room) = existing {
        if timestamp(room.try_get("ttl_expires_at")?)? > now {
            tx.rollback().await?;
            return Ok(CreateOutcome::RoomExists);
        }
        let id = room_id(&room, "id")?;
        expire_and_delete(&mut tx, id, room.try_get("version")?, ExpiryCause::Ttl).await?;
        expired = Some(ExpiredRoom(id));
    }
    let room_id =
        RoomId::random().map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    let mut ttl_expires_at = expiry(now, lifetime)?;
    let inserted = sqlx::query(
        "INSERT INTO rooms
                (id, room_hash, created_at, ttl_expires_at, pairing_hash, pairing_slot, window_start)
         VALUES ($1, $2, $3, $4, $5, 2, $3)
         ON CONFLICT (room_hash) DO NOTHING",
    )
    .bind(room_id.as_uuid())
    .bind(room_key.as_slice())
    .bind(now.to_datetime())
    .bind(ttl_expires_at.to_datetime())
    .bind(keys.pairing(&request.pairing_hash).as_slice())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // A racing create committed the same hash first. Nothing here has
        // changed: an expired room's deletion would have held that create
        // back until this one committed.
        tx.rollback().await?;
        return Ok(CreateOutcome::RoomExists);
    }
    let inserted_at = operation_time(&mut tx).await?;
    if inserted_at != now {
        now = inserted_at;
        ttl_expires_at = expiry(now, lifetime)?;
        sqlx::query(
            "UPDATE rooms SET created_at = $2, ttl_expires_at = $3, window_start = $2 WHERE id = $1",
        )
            .bind(room_id.as_uuid())
            .bind(now.to_datetime())
            .bind(ttl_expires_at.to_datetime())
            .execute(&mut *tx)
            .await?;
    }
    insert_record(
        &mut tx,
        keys,
        room_id,
        Slot::Creator,
        &request.access_hash,
        &request.sender_hash,
        now,
    )
    .await?;
    let joined = Box::new(room_view(&mut tx, keys, room_id, ttl_expires_at).await?);
    tx.commit().await?;
    let binding = SessionBinding {
        room_id,
        slot: Slot::Creator,
        sender_hash: request.sender_hash,
        sender_index: keys.sender_index(&request.sender_hash),
    };
    Ok(CreateOutcome::Created {
        joined,
        binding,
        version: 0,
        expired,
    })
}

/// Decides a `join` by the rules of STD1-JOIN-5, in one transaction under
/// the room's row lock. During a lock, `origin` decides whether the
/// credentials are looked at (STD1-JOIN-22, STD1-JOIN-23); it comes back
/// saying whether the join failed, for the caller to remember.
pub async fn join_room(
    pool: &PgPool,
    keys: &StorageKeys,
    request: &JoinRoom,
    lockout: Lockout,
    origin: &mut JoinOrigin,
) -> Result<JoinOutcome, StoreError> {
    origin.failed_at = None;
    let mut tx = pool.begin().await?;
    let room = sqlx::query(
        "SELECT id, ttl_expires_at, pairing_hash, pairing_slot, failures, locked_until, version,
                COALESCE(window_start, created_at) AS window_start
           FROM rooms WHERE room_hash = $1 FOR UPDATE",
    )
    .bind(keys.room(&request.room_hash).as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let now = operation_time(&mut tx).await?;

    // Rule 1: no live room.
    let Some(room) = room else {
        tx.rollback().await?;
        return Ok(JoinOutcome::NotFound { expired: None });
    };
    let id = room_id(&room, "id")?;
    let ttl_expires_at = timestamp(room.try_get("ttl_expires_at")?)?;
    let version: i64 = room.try_get("version")?;
    if ttl_expires_at <= now {
        expire_and_delete(&mut tx, id, version, ExpiryCause::Ttl).await?;
        tx.commit().await?;
        return Ok(JoinOutcome::NotFound {
            expired: Some(ExpiredRoom(id)),
        });
    }

    // Rule 2: a locked room evaluates no credential from a barred origin
    // (STD1-JOIN-20, STD1-JOIN-22); any other origin goes on, with
    // nothing counted (STD1-JOIN-23).
    let gate = FailureGate::read(&room, now)?;
    if let Some(retry_after) = gate.lock_remaining
        && (origin.barred_in(id, gate.window_start) || faults::injected(Fault::HardLock))
    {
        tx.rollback().await?;
        return Ok(JoinOutcome::Locked {
            retry_after,
            locked_now: false,
        });
    }

    // Rule 3: a record with this access hash, compared in its keyed form
    // (STD1-SRV-25).
    let records = sqlx::query("SELECT slot, access_hash, sender_sealed FROM access_records WHERE room_id = $1 ORDER BY slot")
        .bind(id.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
    let guess = AccessHash::from_bytes(keys.access(&request.access_hash));
    let code_slot = room
        .try_get::<Option<i16>, _>("pairing_slot")?
        .map(Slot::from_db)
        .transpose()?;
    let mut senders: Vec<(Slot, SenderHash)> = Vec::with_capacity(records.len());
    for record in &records {
        let slot = Slot::from_db(record.try_get("slot")?)?;
        let access: AccessHash = hash(record, "access_hash")?;
        let sealed: Vec<u8> = record.try_get("sender_sealed")?;
        let sender = keys.open_sender(id, slot, &sealed)?;
        senders.push((slot, sender));
        // Constant-time comparisons of the guess (STD1-SRV-4).
        if access.ct_eq(&guess) {
            if !sender.ct_eq(&request.sender_hash) {
                tx.rollback().await?;
                return Ok(JoinOutcome::SenderMismatch);
            }
            if code_slot == Some(slot) {
                // STD1-JOIN-16: the party a re-opened code was made for got
                // in with its own PIN; the code would now only displace it.
                sqlx::query(
                    "UPDATE rooms SET pairing_hash = NULL, pairing_slot = NULL WHERE id = $1",
                )
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?;
            }
            let binding = SessionBinding {
                room_id: id,
                slot,
                sender_hash: sender,
                sender_index: keys.sender_index(&sender),
            };
            return admit(tx, keys, ttl_expires_at, binding, version, false).await;
        }
    }

    // Rule 4: a claim on the code's target slot (STD1-JOIN-14): slot 2 of
    // an unpaired room, or the slot a party re-opened (STD1-JOIN-24).
    if let (Some(target), Some(claimed)) = (code_slot, request.pairing_hash) {
        let expected: Option<PairingHash> = room
            .try_get::<Option<Vec<u8>>, _>("pairing_hash")?
            .map(|bytes| {
                PairingHash::try_from(bytes.as_slice())
                    .map_err(|_| StoreError::Corrupt("pairing_hash".into()))
            })
            .transpose()?;
        // Constant-time comparison of the guessed code, keyed
        // (STD1-SRV-4, STD1-SRV-25).
        let claimed = PairingHash::from_bytes(keys.pairing(&claimed));
        if !expected.is_some_and(|expected| expected.ct_eq(&claimed)) {
            origin.fail(id, now);
            let outcome = match gate.count_failure(&mut tx, id, now, lockout).await? {
                Failure::Remaining(attempts_remaining) => {
                    JoinOutcome::PairingInvalid { attempts_remaining }
                }
                Failure::Locked {
                    retry_after,
                    locked_now,
                } => JoinOutcome::Locked {
                    retry_after,
                    locked_now,
                },
            };
            tx.commit().await?;
            return Ok(outcome);
        }
        // STD1-JOIN-7: the claim may not take the other slot's identity.
        if senders
            .iter()
            .any(|(slot, s)| *slot != target && s.ct_eq(&request.sender_hash))
        {
            tx.rollback().await?;
            return Ok(JoinOutcome::SenderMismatch);
        }
        let replaces = senders.iter().any(|(slot, _)| *slot == target);
        if replaces {
            // STD1-JOIN-25: the record is replaced in place, so the slot's
            // message (which refers to the slot) stays the slot's.
            replace_record(
                &mut tx,
                keys,
                id,
                target,
                &request.access_hash,
                &request.sender_hash,
                now,
            )
            .await?;
        } else {
            insert_record(
                &mut tx,
                keys,
                id,
                target,
                &request.access_hash,
                &request.sender_hash,
                now,
            )
            .await?;
        }
        sqlx::query("UPDATE rooms SET pairing_hash = NULL, pairing_slot = NULL WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await?;
        // The other slot's sessions learn of it (STD1-JOIN-15); those of a
        // replaced record are closed instead (STD1-JOIN-25). The new
        // session's `Joined` already describes this version, so it skips
        // the event.
        let version = bump_version(&mut tx, id).await?;
        let audience = if replaces {
            Audience::Replacing(target)
        } else {
            Audience::All
        };
        publish(
            &mut tx,
            id,
            Some(version),
            audience,
            Broadcast::PartyPaired {},
        )
        .await?;
        let binding = SessionBinding {
            room_id: id,
            slot: target,
            sender_hash: request.sender_hash,
            sender_index: keys.sender_index(&request.sender_hash),
        };
        return admit(tx, keys, ttl_expires_at, binding, version, true).await;
    }

    if faults::injected(Fault::ThirdAccessRecord)
        && records.len() == 2
        && request.pairing_hash.is_some()
    {
        let binding = SessionBinding {
            room_id: id,
            slot: Slot::Second,
            sender_hash: request.sender_hash,
            sender_index: keys.sender_index(&request.sender_hash),
        };
        return admit(tx, keys, ttl_expires_at, binding, version, false).await;
    }

    // Rule 5: a wrong PIN (STD1-JOIN-19).
    origin.fail(id, now);
    let outcome = match gate.count_failure(&mut tx, id, now, lockout).await? {
        Failure::Remaining(attempts_remaining) => JoinOutcome::Unauthorized { attempts_remaining },
        Failure::Locked {
            retry_after,
            locked_now,
        } => JoinOutcome::Locked {
            retry_after,
            locked_now,
        },
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The room's failure count and lock as they stand at the operation's time
/// (STD1-JOIN-18).
struct FailureGate {
    /// Failures that still count: zero once a lock has been served.
    effective: u32,
    /// Seconds left of a lock in force.
    lock_remaining: Option<NonZeroU32>,
    /// Where the current count window began: the room's creation, or the
    /// end of the last lock served (STD1-JOIN-18, STD1-JOIN-22).
    window_start: Timestamp,
}

/// What one more failure did.
enum Failure {
    Remaining(NonZeroU32),
    /// `locked_now` when it set the lock; otherwise it was a wrong guess
    /// during a lock, counted nowhere (STD1-JOIN-23).
    Locked {
        retry_after: NonZeroU32,
        locked_now: bool,
    },
}

impl FailureGate {
    fn read(room: &sqlx::postgres::PgRow, now: Timestamp) -> Result<Self, StoreError> {
        let failures: i32 = room.try_get("failures")?;
        let locked_until: Option<OffsetDateTime> = room.try_get("locked_until")?;
        let locked_until = locked_until.map(timestamp).transpose()?;
        let window_start = timestamp(room.try_get("window_start")?)?;
        let stored = u32::try_from(failures)
            .map_err(|_| StoreError::Corrupt("negative failure count".into()))?;
        Ok(match locked_until {
            Some(until) if until > now => Self {
                effective: stored,
                lock_remaining: seconds(until.seconds_since(now)),
                window_start,
            },
            // A served lock clears the count and starts a new window.
            Some(until) => Self {
                effective: 0,
                lock_remaining: None,
                window_start: until,
            },
            None => Self {
                effective: stored,
                lock_remaining: None,
                window_start,
            },
        })
    }

    /// Adds one failure; the `L`-th locks the room (STD1-JOIN-18,
    /// STD1-JOIN-19) and tells its sessions so (STD1-JOIN-26). During a
    /// lock nothing is counted and nothing is written: the wrong guess is
    /// answered as a refusal (STD1-JOIN-23).
    async fn count_failure(
        &self,
        conn: &mut PgConnection,
        id: RoomId,
        now: Timestamp,
        lockout: Lockout,
    ) -> Result<Failure, StoreError> {
        if let Some(retry_after) = self.lock_remaining {
            return Ok(Failure::Locked {
                retry_after,
                locked_now: false,
            });
        }
        let count = self.effective.saturating_add(1);
        let (locked_until, failure) =
            match NonZeroU32::new(lockout.attempts.get().saturating_sub(count)) {
                Some(left) => (None, Failure::Remaining(left)),
                None => {
                    let until = now
                        .checked_add(Duration::from_secs(lockout.duration.get().into()))
                        .ok_or_else(|| {
                            StoreError::Corrupt("lock time overflows the calendar".into())
                        })?;
                    (
                        Some(until),
                        Failure::Locked {
                            retry_after: lockout.duration,
                            locked_now: true,
                        },
                    )
                }
            };
        sqlx::query(
            "UPDATE rooms SET failures = $2, locked_until = $3, window_start = $4 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(i32::try_from(count).unwrap_or(i32::MAX))
        .bind(locked_until.map(Timestamp::to_datetime))
        .bind(self.window_start.to_datetime())
        .execute(&mut *conn)
        .await?;
        if let Some(locked_until) = locked_until {
            // STD1-JOIN-26: the room's sessions learn of the lock, in the
            // room's order, and of nothing else about the failures.
            let version = bump_version(conn, id).await?;
            publish(
                conn,
                id,
                Some(version),
                Audience::All,
                Broadcast::RoomLocked { locked_until },
            )
            .await?;
        }
        Ok(failure)
    }
}

/// Whole seconds as a positive `retry_after`.
fn seconds(n: i64) -> Option<NonZeroU32> {
    u32::try_from(n).ok().and_then(NonZeroU32::new)
}

/// Stores an access record with its hashes keyed and its sender hash
/// sealed (STD1-SRV-25).
async fn insert_record(
    conn: &mut PgConnection,
    keys: &StorageKeys,
    room: RoomId,
    slot: Slot,
    access: &AccessHash,
    sender: &SenderHash,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_records
                (room_id, slot, access_hash, sender_sealed, sender_index, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(room.as_uuid())
    .bind(slot.to_db())
    .bind(keys.access(access).as_slice())
    .bind(keys.seal_sender(room, slot, sender)?.as_slice())
    .bind(keys.sender_index(sender).as_slice())
    .bind(now.to_datetime())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the record of `slot` with a claimant's (STD1-JOIN-25), in
/// place: the row keyed by room and slot stays, so the slot's message
/// (whose author is the slot) stays with it.
async fn replace_record(
    conn: &mut PgConnection,
    keys: &StorageKeys,
    room: RoomId,
    slot: Slot,
    access: &AccessHash,
    sender: &SenderHash,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE access_records
            SET access_hash = $3, sender_sealed = $4, sender_index = $5, created_at = $6
          WHERE room_id = $1 AND slot = $2",
    )
    .bind(room.as_uuid())
    .bind(slot.to_db())
    .bind(keys.access(access).as_slice())
    .bind(keys.seal_sender(room, slot, sender)?.as_slice())
    .bind(keys.sender_index(sender).as_slice())
    .bind(now.to_datetime())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The end of a lifetime that starts at `start` (STD1-LIFE-1).
fn expiry(start: Timestamp, lifetime: Duration) -> Result<Timestamp, StoreError> {
    start
        .checked_add(lifetime)
        .ok_or_else(|| StoreError::Corrupt("room lifetime overflows the calendar".into()))
}

/// Admits a join: reads the room's view and commits. The view is read
/// under the row lock, so it is the state at this join's place in the
/// room's order (STD1-JOIN-8).
async fn admit(
    mut tx: Transaction<'static, Postgres>,
    keys: &StorageKeys,
    ttl_expires_at: Timestamp,
    binding: SessionBinding,
    version: i64,
    paired_now: bool,
) -> Result<JoinOutcome, StoreError> {
    let joined = Box::new(room_view(&mut tx, keys, binding.room_id, ttl_expires_at).await?);
    tx.commit().await?;
    Ok(JoinOutcome::Joined {
        joined,
        binding,
        version,
        paired_now,
    })
}

/// Tells the room's sessions it ended, then deletes it (STD1-LIFE-2 to
/// STD1-LIFE-7). `version` is the room's version before this operation.
pub(super) async fn expire_and_delete(
    conn: &mut PgConnection,
    id: RoomId,
    version: i64,
    cause: ExpiryCause,
) -> Result<i64, StoreError> {
    let version = version + 1;
    publish(
        conn,
        id,
        Some(version),
        Audience::All,
        Broadcast::RoomExpired { cause },
    )
    .await?;
    if faults::injected(Fault::MessageLeftAfterExpiry) {
        // Announced, but the room and its message live on.
        sqlx::query(
            "UPDATE rooms SET ttl_expires_at = ttl_expires_at + interval '100 years' WHERE id = $1",
        )
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await?;
        return Ok(version);
    }
    delete_room(conn, id).await?;
    Ok(version)
}

/// Deletes a room and, by cascade, everything of it (STD1-LIFE-3).
async fn delete_room(conn: &mut PgConnection, id: RoomId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rooms WHERE id = $1")
        .bind(id.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
