//! `send_message` in one round trip (STD1-MSG-1 to STD1-MSG-3, STD1-MSG-6).
//!
//! A reply is the protocol's hot path, so its whole transaction is one
//! call of the SQL function `stelgano_send_message`
//! (`migrations/0003_send_function.sql`): lock, operation time, the turn
//! and `replaces` checks, the replacement, the version bump and the
//! notification all happen in the database, and the pooled connection is
//! held for one round trip instead of nine (measured in BENCHMARKS.md).
//!
//! The function cannot encode a `new_message` frame, and Rust cannot know
//! the operation time before the room is locked, so the frame is built here
//! with a placeholder time and handed over as the text on either side of
//! it; the function writes the time in between ([`FrameTemplate`]).

use sqlx::{PgPool, Row};
use stelgano_spec::ids::MessageId;
use stelgano_spec::wire::{Broadcast, Message, SendMessage, ServerFrame, Timestamp};
use time::OffsetDateTime;

use super::events::CHANNEL;
use super::session_ops::{Ended, SendOutcome, check_room};
use super::{SessionBinding, StoreError, timestamp};
use crate::faults::{self, Fault};

/// How often a send that found its room past its time re-checks it before
/// giving up. The re-check deletes such a room, so one is enough unless the
/// database clock moves backwards in between.
const EXPIRED_RETRIES: usize = 2;

/// Stores a message in place of the current one (STD1-MSG-1 to STD1-MSG-3,
/// STD1-MSG-6), publishing `new_message` in the same transaction.
pub async fn send_message(
    pool: &PgPool,
    session: &SessionBinding,
    request: &SendMessage,
) -> Result<SendOutcome, StoreError> {
    let id = MessageId::random().map_err(|e| StoreError::Corrupt(format!("no randomness: {e}")))?;
    let mut message = Message {
        id,
        sender_hash: session.sender_hash,
        ciphertext: request.ciphertext.clone(),
        iv: request.iv,
        sent_at: PLACEHOLDER,
        read_at: None,
        edited: false,
    };
    let template = FrameTemplate::new(&message)?;
    for _ in 0..=EXPIRED_RETRIES {
        let row = sqlx::query(
            "SELECT outcome, sent_at, version
               FROM stelgano_send_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(session.room_id.as_uuid())
        .bind(session.slot.to_db())
        .bind(session.sender_index.as_slice())
        .bind(request.replaces.map(|m| *m.as_uuid()))
        .bind(id.as_uuid())
        .bind(request.ciphertext.as_bytes())
        .bind(request.iv.as_bytes().as_slice())
        .bind(CHANNEL)
        .bind(&template.head)
        .bind(&template.tail)
        .bind(!faults::injected(Fault::NoSenderBlocking))
        .fetch_one(pool)
        .await?;
        let outcome: String = row.try_get("outcome")?;
        match outcome.as_str() {
            "sent" => {
                let sent_at: OffsetDateTime = row.try_get("sent_at")?;
                message.sent_at = timestamp(sent_at)?;
                return Ok(SendOutcome::Sent {
                    message: Box::new(message),
                    version: row.try_get("version")?,
                });
            }
            "not_your_turn" => return Ok(SendOutcome::NotYourTurn),
            "conflict" => return Ok(SendOutcome::Conflict),
            "gone" => return Ok(SendOutcome::Ended(Ended::RoomGone { expired: None })),
            "replaced" => return Ok(SendOutcome::Ended(Ended::Replaced)),
            // STD1-LIFE-8: deleting and announcing an expired room is the
            // ordinary path's job (it publishes `room_expired`).
            "expired" => {
                if let Some(gone) = check_room(pool, session).await? {
                    return Ok(SendOutcome::Ended(gone));
                }
            }
            other => {
                return Err(StoreError::Corrupt(format!(
                    "stelgano_send_message answered {other:?}"
                )));
            }
        }
    }
    Err(StoreError::Corrupt(
        "a room kept reporting itself both expired and live".into(),
    ))
}

/// The time the frame is built with. Any valid time would do: the template
/// is split at its JSON member, which only `sent_at` can produce (every
/// other member is hex, base64, a UUID, `null` or a boolean).
const PLACEHOLDER: Timestamp = Timestamp::EPOCH;

/// A `new_message` frame split around its `sent_at` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameTemplate {
    /// The frame's text up to and including `"sent_at":"`.
    pub head: String,
    /// The frame's text from the closing quote of `sent_at`'s value on.
    pub tail: String,
}

impl FrameTemplate {
    /// Splits `message`'s frame, built with [`PLACEHOLDER`] as its time.
    pub(crate) fn new(message: &Message) -> Result<Self, StoreError> {
        let frame = ServerFrame::Broadcast(Broadcast::NewMessage(message.clone())).to_json();
        let member = format!("\"sent_at\":\"{PLACEHOLDER}\"");
        let mut pieces = frame.split(member.as_str());
        match (pieces.next(), pieces.next(), pieces.next()) {
            (Some(before), Some(after), None) => Ok(Self {
                head: format!("{before}\"sent_at\":\""),
                tail: format!("\"{after}"),
            }),
            _ => Err(StoreError::Corrupt(
                "a new_message frame without exactly one sent_at".into(),
            )),
        }
    }

    /// The frame with `sent_at` filled in, as the SQL function fills it.
    #[cfg(test)]
    fn fill(&self, sent_at: Timestamp) -> String {
        format!("{}{sent_at}{}", self.head, self.tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stelgano_spec::ids::SenderHash;
    use stelgano_spec::wire::{Ciphertext, Iv};

    fn message(sent_at: Timestamp) -> Message {
        Message {
            id: "0e5f5a4c-9b1d-4c2e-8f3a-6b7c8d9e0f1a"
                .parse()
                .expect("uuid"),
            sender_hash: SenderHash::try_from([0xab_u8; 32].as_slice()).expect("32 bytes"),
            ciphertext: Ciphertext::from_bytes(vec![0x3a; 40]).expect("ciphertext"),
            iv: Iv::try_from([7_u8; 12].as_slice()).expect("iv"),
            sent_at,
            read_at: None,
            edited: false,
        }
    }

    #[test]
    fn filling_the_template_gives_the_frame_itself() {
        let sent_at = Timestamp::from_unix(1_795_000_000).expect("in range");
        let template = FrameTemplate::new(&message(PLACEHOLDER)).expect("splits");
        let whole = ServerFrame::Broadcast(Broadcast::NewMessage(message(sent_at))).to_json();
        assert_eq!(template.fill(sent_at), whole);
        assert!(
            template.head.ends_with("\"sent_at\":\""),
            "{}",
            template.head
        );
        assert!(template.tail.starts_with('"'), "{}", template.tail);
    }
}
