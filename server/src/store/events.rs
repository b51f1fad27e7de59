//! Room events: the broadcasts of spec §7.7, published through PostgreSQL
//! `NOTIFY` inside the transaction that caused them.
//!
//! Every server instance `LISTEN`s on one channel and forwards each event to
//! its own sessions of the room. Because PostgreSQL delivers notifications
//! only on commit and in commit order, and the room's row lock orders the
//! commits, every instance sees a room's events in the room's operation
//! order (STD1-SRV-6, STD1-WIRE-30). Each event carries the room's version,
//! which every broadcasting operation increments: a session forwards only
//! events newer than the version its `Joined` reply described, and a
//! requester's reply waits until its own event has passed, so the reply
//! follows the broadcast.
//!
//! The whole frame travels in the notification (split into parts, since a
//! payload holds at most 8000 bytes), so no table ever holds a replaced
//! message for delivery's sake (STD1-MSG-15).

use std::fmt;

use sqlx::PgConnection;
use stelgano_spec::ids::RoomId;
use stelgano_spec::wire::{Broadcast, ServerFrame};

use super::{Slot, StoreError};

/// The notification channel every instance listens on.
pub const CHANNEL: &str = "stelgano_room_events";

/// Bytes of frame text per notification: PostgreSQL's limit is 8000 bytes
/// per payload, and the header takes under 80.
const PART_BYTES: usize = 7800;

/// Which sessions of the room receive an event (STD1-WIRE-29).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Every session of the room.
    All,
    /// The sessions bound to this slot (for `counterparty_typing`).
    Slot(Slot),
    /// A claim replaced this slot's record (STD1-JOIN-25): the sessions of
    /// the other slot receive the frame (`party_paired`, STD1-JOIN-15);
    /// the earlier sessions of this slot are closed instead, with 1008
    /// `record_replaced`. The claimant's own session joined at this
    /// event's version and so skips it.
    Replacing(Slot),
}

/// One broadcast of one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEvent {
    pub room_id: RoomId,
    /// The room version this event brought the room to; `None` for events
    /// that change no state and so have no place in the order (typing).
    pub version: Option<i64>,
    pub audience: Audience,
    /// The broadcast frame's JSON text, ready to send.
    pub frame: String,
}

/// Whether a broadcast frame is `room_expired`, after which the room has
/// no more events (its canonical encoding starts so).
pub fn ends_room(frame: &str) -> bool {
    frame.starts_with(r#"{"event":"room_expired""#)
}

/// Increments the room's version for a broadcasting operation.
pub(super) async fn bump_version(conn: &mut PgConnection, room: RoomId) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar(
            "UPDATE rooms SET version = version + 1 WHERE id = $1 RETURNING version",
        )
        .bind(room.as_uuid())
        .fetch_one(&mut *conn)
        .await?,
    )
}

/// Queues `broadcast` for delivery when the surrounding transaction commits.
pub(super) async fn publish(
    conn: &mut PgConnection,
    room: RoomId,
    version: Option<i64>,
    audience: Audience,
    broadcast: Broadcast,
) -> Result<(), StoreError> {
    let frame = ServerFrame::Broadcast(broadcast).to_json();
    for payload in encode(room, version, audience, &frame) {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn audience_tag(audience: Audience) -> &'static str {
    match audience {
        Audience::All => "all",
        Audience::Slot(Slot::Creator) => "slot1",
        Audience::Slot(Slot::Second) => "slot2",
        Audience::Replacing(Slot::Creator) => "replacing1",
        Audience::Replacing(Slot::Second) => "replacing2",
    }
}

/// Splits an event into notification payloads:
/// `room_id|version|audience|part|parts|text`, `version` empty when absent.
/// Server frames are ASCII, so splitting at any byte is safe.
fn encode(room: RoomId, version: Option<i64>, audience: Audience, frame: &str) -> Vec<String> {
    let parts: Vec<&str> = frame
        .as_bytes()
        .chunks(PART_BYTES)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let version = version.map(|v| v.to_string()).unwrap_or_default();
    let tag = audience_tag(audience);
    parts
        .iter()
        .enumerate()
        .map(|(i, text)| format!("{room}|{version}|{tag}|{i}|{}|{text}", parts.len()))
        .collect()
}

/// A payload that is not one this module wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed room event notification")]
pub struct MalformedEvent;

/// Rebuilds events from notification payloads, which arrive in order with
/// the parts of one event together.
#[derive(Default)]
pub struct Reassembler {
    pending: Option<(RoomEvent, usize, usize)>,
}

impl fmt::Debug for Reassembler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reassembler")
            .field("pending", &self.pending.is_some())
            .finish()
    }
}

impl Reassembler {
    /// Feeds one payload; returns the event once its last part arrived.
    pub fn push(&mut self, payload: &str) -> Result<Option<RoomEvent>, MalformedEvent> {
        let mut fields = payload.splitn(6, '|');
        let mut next = || fields.next().ok_or(MalformedEvent);
        let room_id: RoomId = next()?.parse().map_err(|_| MalformedEvent)?;
        let version = match next()? {
            "" => None,
            v => Some(v.parse().map_err(|_| MalformedEvent)?),
        };
        let audience = match next()? {
            "all" => Audience::All,
            "slot1" => Audience::Slot(Slot::Creator),
            "slot2" => Audience::Slot(Slot::Second),
            "replacing1" => Audience::Replacing(Slot::Creator),
            "replacing2" => Audience::Replacing(Slot::Second),
            _ => return Err(MalformedEvent),
        };
        let part: usize = next()?.parse().map_err(|_| MalformedEvent)?;
        let parts: usize = next()?.parse().map_err(|_| MalformedEvent)?;
        let text = next()?;
        if parts == 0 || part >= parts {
            return Err(MalformedEvent);
        }
        let header = RoomEvent {
            room_id,
            version,
            audience,
            frame: String::new(),
        };
        let (mut event, expected) = match self.pending.take() {
            None if part == 0 => (header, parts),
            Some((event, next_part, total))
                if part == next_part
                    && total == parts
                    && event.room_id == room_id
                    && event.version == version =>
            {
                (event, total)
            }
            // A part out of sequence: drop what was pending and this part.
            _ => return Err(MalformedEvent),
        };
        event.frame.push_str(text);
        if part + 1 == expected {
            Ok(Some(event))
        } else {
            self.pending = Some((event, part + 1, expected));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> RoomId {
        "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"
            .parse()
            .expect("uuid")
    }

    #[test]
    fn large_frames_split_and_reassemble() {
        let frame = format!("{{\"x\":\"{}\"}}", "A".repeat(3 * PART_BYTES));
        let payloads = encode(room(), Some(7), Audience::All, &frame);
        assert_eq!(payloads.len(), 4);
        assert!(
            payloads.iter().all(|p| p.len() < 8000),
            "PostgreSQL's payload limit"
        );
        let mut r = Reassembler::default();
        let mut events: Vec<RoomEvent> = payloads
            .iter()
            .filter_map(|p| r.push(p).expect("well formed"))
            .collect();
        assert_eq!(events.len(), 1);
        let event = events.remove(0);
        assert_eq!(
            (event.room_id, event.version, event.audience),
            (room(), Some(7), Audience::All)
        );
        assert_eq!(event.frame, frame);
    }

    #[test]
    fn unversioned_and_slot_events_round_trip() {
        let payloads = encode(room(), None, Audience::Slot(Slot::Second), "{}");
        let event = Reassembler::default()
            .push(&payloads[0])
            .expect("well formed")
            .expect("one part");
        assert_eq!(
            (event.version, event.audience, event.frame.as_str()),
            (None, Audience::Slot(Slot::Second), "{}")
        );
    }

    #[test]
    fn parts_out_of_order_or_foreign_payloads_are_refused() {
        let payloads = encode(room(), Some(1), Audience::All, &"B".repeat(2 * PART_BYTES));
        let mut r = Reassembler::default();
        assert_eq!(r.push(&payloads[1]), Err(MalformedEvent));
        assert_eq!(Reassembler::default().push("hello"), Err(MalformedEvent));
        assert_eq!(
            Reassembler::default().push(&format!("{}|1|all|0|0|x", room())),
            Err(MalformedEvent)
        );
    }
}
