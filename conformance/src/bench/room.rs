//! A paired room for the load scenarios: two parties' connections, and
//! who sends next.
//!
//! The identifiers are random 32-byte values, not derived from a steg
//! number and a PIN: the server only ever sees hashes and cannot tell the
//! difference, and 600,000 PBKDF2 iterations per party would make setting
//! up hundreds of rooms the slowest part of a bench.

use std::time::{Duration, Instant};

use stelgano_spec::ids::{AccessHash, MessageId, RoomHash, SenderHash};
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, CreateRoom, Iv, JoinRoom, ReplyBody, SendMessage,
    ServerFrame,
};

use crate::client::{Connection, Incoming};
use crate::fixtures;

/// How long any one frame may take before the bench gives up: far beyond
/// any latency worth measuring, short enough that a stuck server ends the
/// run.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// A random 32-byte identifier (room, access or sender hash).
pub fn random_bytes() -> Result<[u8; 32], String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

/// A random message of the pgbench baseline's size, so that the load
/// and its baseline move the same bytes; the server never decrypts, so
/// random bytes do (STD1-ENC-5).
pub fn payload() -> Result<(Ciphertext, Iv), String> {
    let mut bytes = vec![0_u8; super::pgbench::CIPHERTEXT_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    let mut iv = [0_u8; 12];
    getrandom::fill(&mut iv).map_err(|e| format!("no randomness: {e}"))?;
    let ciphertext = Ciphertext::from_bytes(bytes).map_err(|e| format!("ciphertext: {e:?}"))?;
    Ok((ciphertext, Iv::from_array(iv)))
}

/// One party of a room: its connection, its sender hash, and how many
/// frames of its own last send (its own `new_message` broadcast and the
/// `ok` reply) have not arrived yet.
pub struct Party {
    pub connection: Connection,
    pub sender: SenderHash,
    pub access: AccessHash,
    pending: u8,
}

/// A paired room and its turn.
pub struct Room {
    pub room_hash: RoomHash,
    /// Party A (creator) and party B (joined with the pairing code).
    pub parties: [Party; 2],
    /// Index of the party that sends next.
    turn: usize,
    /// The current message, which the next send replaces (STD1-MSG-6).
    current: Option<MessageId>,
}

/// What one exchange measured.
pub struct Delivery {
    /// When the other party received `new_message`.
    pub at: Instant,
    /// From just before the sender wrote the frame to that moment.
    pub latency: Duration,
}

impl Room {
    /// Creates a room with party A on `url_a` and pairs party B on
    /// `url_b` (the same URL, or another instance on the same database).
    pub async fn pair(url_a: &str, url_b: &str) -> Result<Self, String> {
        let room_hash = RoomHash::from_bytes(random_bytes()?);
        let code = fixtures::pairing_code()?;
        let mut a = Party::open(url_a, "A").await?;
        let mut b = Party::open(url_b, "B").await?;
        a.request_joined(ClientEvent::Create(CreateRoom {
            room_hash,
            access_hash: a.access,
            sender_hash: a.sender,
            pairing_hash: code.hash(),
            country_iso: None,
        }))
        .await?;
        b.request_joined(ClientEvent::Join(JoinRoom {
            room_hash,
            access_hash: b.access,
            sender_hash: b.sender,
            pairing_hash: Some(code.hash()),
        }))
        .await?;
        // A hears of the pairing; waiting for it means B's join is visible
        // on A's instance too before any message is timed.
        match a.connection.next(FRAME_TIMEOUT).await {
            Ok(Incoming::Frame(ServerFrame::Broadcast(Broadcast::PartyPaired {}))) => {}
            other => return Err(format!("expected party_paired, got {other:?}")),
        }
        Ok(Self {
            room_hash,
            parties: [a, b],
            turn: 0,
            current: None,
        })
    }

    /// One reply: the party whose turn it is sends, replacing the current
    /// message, and the other reads until that message's `new_message`.
    /// Frames left over from earlier sends are read on the way; `paced`
    /// is when to write the frame (open loop), `None` for at once.
    pub async fn exchange(
        &mut self,
        paced: Option<tokio::time::Instant>,
    ) -> Result<Delivery, String> {
        let (s, r) = (self.turn, 1 - self.turn);
        let (ciphertext, iv) = payload()?;
        let event = ClientEvent::SendMessage(SendMessage {
            ciphertext,
            iv,
            replaces: self.current,
        });
        if let Some(at) = paced {
            tokio::time::sleep_until(at).await;
        }
        let [first, second] = &mut self.parties;
        let (sender, receiver) = if s == 0 {
            (first, second)
        } else {
            (second, first)
        };
        let started = Instant::now();
        sender
            .connection
            .send(event)
            .await
            .map_err(|e| format!("sending: {e}"))?;
        sender.pending += 2;
        let sender_hash = sender.sender;
        loop {
            tokio::select! {
                incoming = sender.connection.next(FRAME_TIMEOUT), if sender.pending > 0 => {
                    sender.expect_own(incoming)?;
                }
                incoming = receiver.connection.next(FRAME_TIMEOUT) => {
                    if let Some(id) = receiver.own_or_delivery(incoming, sender_hash)? {
                        let at = Instant::now();
                        self.current = Some(id);
                        self.turn = r;
                        return Ok(Delivery { at, latency: at - started });
                    }
                }
            }
        }
    }

    /// Reads what both parties still expect of their own sends, so that
    /// the room can rest, or be used again, with nothing in flight.
    pub async fn settle(&mut self) -> Result<(), String> {
        for party in &mut self.parties {
            while party.pending > 0 {
                let incoming = party.connection.next(FRAME_TIMEOUT).await;
                party.expect_own(incoming)?;
            }
        }
        Ok(())
    }

    /// Closes both connections.
    pub async fn close(self) {
        let [a, b] = self.parties;
        tokio::join!(a.connection.close(), b.connection.close());
    }
}

/// Closes every room's connections, all at once.
pub async fn close_all(rooms: Vec<Room>) {
    futures_util::future::join_all(rooms.into_iter().map(Room::close)).await;
}

type Received = Result<Incoming, crate::client::ClientError>;

impl Party {
    async fn open(url: &str, name: &str) -> Result<Self, String> {
        Ok(Self {
            connection: Connection::open_for_load(url, name)
                .await
                .map_err(|e| e.to_string())?,
            sender: SenderHash::from_bytes(random_bytes()?),
            access: AccessHash::from_bytes(random_bytes()?),
            pending: 0,
        })
    }

    async fn request_joined(&mut self, event: ClientEvent) -> Result<(), String> {
        let name = event.name().as_str();
        self.connection
            .send(event)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        match self.connection.next(FRAME_TIMEOUT).await {
            Ok(Incoming::Frame(ServerFrame::Ok(reply)))
                if matches!(reply.ok, ReplyBody::Joined(_)) =>
            {
                Ok(())
            }
            other => Err(format!("{name}: expected Joined, got {other:?}")),
        }
    }

    /// A frame of this party's own last send: its `new_message` broadcast
    /// or the `ok` reply. Anything else means the run is not what it
    /// claims to measure.
    fn expect_own(&mut self, incoming: Received) -> Result<(), String> {
        match incoming.map_err(|e| e.to_string())? {
            Incoming::Frame(ServerFrame::Ok(reply)) if matches!(reply.ok, ReplyBody::Sent(_)) => {
                self.pending = self.pending.saturating_sub(1);
                Ok(())
            }
            Incoming::Frame(ServerFrame::Broadcast(Broadcast::NewMessage(m)))
                if m.sender_hash == self.sender =>
            {
                self.pending = self.pending.saturating_sub(1);
                Ok(())
            }
            other => Err(format!("unexpected frame: {other:?}")),
        }
    }

    /// On the receiving side: a frame of its own earlier send (`None`), or
    /// the other party's `new_message` (its id).
    fn own_or_delivery(
        &mut self,
        incoming: Received,
        from: SenderHash,
    ) -> Result<Option<MessageId>, String> {
        match incoming.map_err(|e| e.to_string())? {
            Incoming::Frame(ServerFrame::Broadcast(Broadcast::NewMessage(m)))
                if m.sender_hash == from =>
            {
                Ok(Some(m.id))
            }
            other => self.expect_own(Ok(other)).map(|()| None),
        }
    }
}
