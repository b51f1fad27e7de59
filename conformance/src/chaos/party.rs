//! The workload: rooms whose two parties keep replying to each other
//! through whatever happens, as a client following STD1-CLI-22 would.
//!
//! Each party connects, joins with its credentials and, on the room's
//! shared clock, replies when the room's current message is the other
//! party's. Sometimes it sends on the same tick out of turn, against the
//! state it last saw, so both parties' requests meet at the server at once
//! (STD1-MSG-7). After any failure (a refused connection, a close, a
//! request without an answer) it waits with exponential back-off and
//! jitter, then connects and joins again, taking its view of the room
//! from the `Joined` reply. With a chance it drops its own connection
//! abruptly, just before or just after writing a request. Everything it
//! asks, is told and sees goes to the room's history.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use stelgano_spec::ErrorReason;
use stelgano_spec::ids::{AccessHash, MessageId, Ref, RoomHash, RoomId, SenderHash};
use stelgano_spec::wire::{
    Broadcast, ClientEvent, CreateRoom, JoinRoom, ReplyBody, SendMessage, ServerFrame, close_code,
};
use tokio::time::Instant;

use super::history::{Call, Outcome, SharedHistory, Sighting};
use crate::client::{ClientError, Connection, Incoming};
use crate::fixtures;
use crate::linearizable::Side;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request may go unanswered before its outcome is unknown:
/// beyond the server's own wait for a request's broadcast (10 s) and
/// PostgreSQL's restart.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);
/// Back-off after a failure: doubling from the first value to the cap,
/// with jitter. STD1-CLI-22 suggests 1 s to 30 s for real clients; a test
/// wants recovery measured in seconds.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_CAP: Duration = Duration::from_secs(2);
/// The longest a dropping client waits between writing its request and
/// dropping the connection, so that the server is sometimes reading it,
/// sometimes running it and sometimes answering it.
const DROP_AFTER_MAX_MS: u64 = 30;

/// A small deterministic generator (SplitMix64): the run's choices follow
/// from its seed, though the server's timing does not.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a fraction of one.
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        unit < p
    }

    /// A duration in `[base/2, 3·base/2)`.
    pub fn jitter(&mut self, base: Duration) -> Duration {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        base.mul_f64(0.5 + unit)
    }
}

/// Settings and counters every party shares.
#[derive(Debug)]
pub struct Knobs {
    /// Set to end the workload: each party finishes its request and leaves.
    pub stop: AtomicBool,
    /// Chance, per request, that the party drops its connection just
    /// before writing it, and again just after (fault c).
    pub drop_chance: f64,
    /// Chance, per tick, that a party whose turn it is not sends anyway.
    pub race_chance: f64,
    /// The rooms' clock: parties act on its ticks.
    pub tick: Duration,
    /// Connections dropped by the parties.
    pub drops: AtomicUsize,
    /// Connections the parties opened.
    pub connections: AtomicUsize,
}

/// One party's secrets, as the server knows them.
#[derive(Debug, Clone, Copy)]
pub struct Credentials {
    pub access: AccessHash,
    pub sender: SenderHash,
}

/// A room of the workload.
#[derive(Debug)]
pub struct Room {
    pub index: usize,
    pub room_id: RoomId,
    pub room_hash: RoomHash,
    /// Party A (the creator, slot 1) and party B (slot 2).
    pub parties: [Credentials; 2],
    pub history: SharedHistory,
    /// Acknowledged sends of A and of B.
    pub acknowledged: [AtomicUsize; 2],
    /// The start of the room's clock.
    pub base: Instant,
}

fn random_hash() -> Result<[u8; 32], String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

fn credentials() -> Result<Credentials, String> {
    // Random values, not derived from a number and a PIN: the server only
    // sees hashes, and PBKDF2 per party would slow the set-up for nothing.
    Ok(Credentials {
        access: AccessHash::from_bytes(random_hash()?),
        sender: SenderHash::from_bytes(random_hash()?),
    })
}

/// Sends `event` and reads until its reply, skipping broadcasts.
async fn request(connection: &mut Connection, event: ClientEvent) -> Result<ReplyBody, String> {
    let reference = connection.send(event).await.map_err(|e| e.to_string())?;
    loop {
        match connection.next(REPLY_TIMEOUT).await {
            Ok(Incoming::Frame(ServerFrame::Broadcast(_))) => {}
            Ok(Incoming::Frame(ServerFrame::Ok(ok))) if ok.reference == reference => {
                return Ok(ok.ok);
            }
            Ok(Incoming::Frame(ServerFrame::Error(e)))
                if e.reference.as_ref() == Some(&reference) =>
            {
                return Err(format!("refused: {}", e.error.reason.as_str()));
            }
            other => return Err(format!("expected the reply, got {other:?}")),
        }
    }
}

async fn open(url: &str, name: &str) -> Result<Connection, String> {
    tokio::time::timeout(CONNECT_TIMEOUT, Connection::open_for_load(url, name))
        .await
        .map_err(|_| format!("no connection to {url} within {CONNECT_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())
}

/// A room created on `url_a` by party A and paired by party B on `url_b`;
/// both connections are closed again, and the parties join afresh.
pub async fn open_room(index: usize, url_a: &str, url_b: &str) -> Result<Room, String> {
    let room_hash = RoomHash::from_bytes(random_hash()?);
    let parties = [credentials()?, credentials()?];
    let code = fixtures::pairing_code()?;
    let mut a = open(url_a, "A").await?;
    let created = request(
        &mut a,
        ClientEvent::Create(CreateRoom {
            room_hash,
            access_hash: parties[0].access,
            sender_hash: parties[0].sender,
            pairing_hash: code.hash(),
            country_iso: None,
        }),
    )
    .await?;
    let ReplyBody::Joined(joined) = created else {
        return Err(format!("create answered with {created:?}"));
    };
    let mut b = open(url_b, "B").await?;
    request(
        &mut b,
        ClientEvent::Join(JoinRoom {
            room_hash,
            access_hash: parties[1].access,
            sender_hash: parties[1].sender,
            pairing_hash: Some(code.hash()),
        }),
    )
    .await?;
    a.close().await;
    b.close().await;
    Ok(Room {
        index,
        room_id: joined.room_id,
        room_hash,
        parties,
        history: SharedHistory::default(),
        acknowledged: [AtomicUsize::new(0), AtomicUsize::new(0)],
        base: Instant::now(),
    })
}

/// Whether the server is in service: a new room is created, paired and
/// given its first message, each answered as it should be.
pub async fn probe(url: &str) -> Result<(), String> {
    let room = open_room(usize::MAX, url, url).await?;
    let mut a = open(url, "probe").await?;
    let joined = request(
        &mut a,
        ClientEvent::Join(JoinRoom {
            room_hash: room.room_hash,
            access_hash: room.parties[0].access,
            sender_hash: room.parties[0].sender,
            pairing_hash: None,
        }),
    )
    .await?;
    if !matches!(joined, ReplyBody::Joined(_)) {
        return Err(format!("join answered with {joined:?}"));
    }
    let (ciphertext, iv) = fixtures::payload()?;
    let sent = request(
        &mut a,
        ClientEvent::SendMessage(SendMessage {
            ciphertext,
            iv,
            replaces: None,
        }),
    )
    .await?;
    a.close().await;
    match sent {
        ReplyBody::Sent(_) => Ok(()),
        other => Err(format!("send answered with {other:?}")),
    }
}

/// What reading a frame gave.
enum Read {
    Frame(ServerFrame),
    /// Nothing within the time given.
    Quiet,
    /// The connection is over.
    Ended(String),
}

/// One party of a room.
pub struct Party {
    room: Arc<Room>,
    side: Side,
    /// The instances to connect to, the preferred first; a refused
    /// connection moves on to the next.
    urls: Vec<String>,
    knobs: Arc<Knobs>,
    rng: Rng,
    /// Counts the party's sessions.
    session: u64,
    /// The current message as the party last saw it, with its sender.
    view: Option<(MessageId, SenderHash)>,
}

impl Party {
    pub fn new(
        room: Arc<Room>,
        side: Side,
        urls: Vec<String>,
        knobs: Arc<Knobs>,
        seed: u64,
    ) -> Self {
        Self {
            room,
            side,
            urls,
            knobs,
            rng: Rng::new(seed),
            session: 0,
            view: None,
        }
    }

    fn me(&self) -> Credentials {
        self.room.parties[self.side as usize]
    }

    fn stopped(&self) -> bool {
        self.knobs.stop.load(Ordering::Acquire)
    }

    fn name(&self) -> &'static str {
        match self.side {
            Side::A => "A",
            Side::B => "B",
        }
    }

    /// Plays until the workload stops.
    pub async fn play(mut self) {
        let mut backoff = BACKOFF_FIRST;
        let mut url = 0;
        while !self.stopped() {
            let Some(target) = self.urls.get(url % self.urls.len().max(1)) else {
                return;
            };
            let Ok(connection) = open(target, self.name()).await else {
                // A refused connection: this instance is down, try the
                // next (fault d).
                url += 1;
                self.pause(&mut backoff).await;
                continue;
            };
            self.knobs.connections.fetch_add(1, Ordering::Relaxed);
            self.session += 1;
            if let Some(connection) = self.join(connection).await {
                self.converse(connection, &mut backoff).await;
            }
            if !self.stopped() {
                self.pause(&mut backoff).await;
            }
        }
    }

    /// Waits out the back-off, then doubles it.
    async fn pause(&mut self, backoff: &mut Duration) {
        tokio::time::sleep(self.rng.jitter(*backoff)).await;
        *backoff = (*backoff * 2).min(BACKOFF_CAP);
    }

    async fn read(&mut self, connection: &mut Connection, within: Duration) -> Read {
        match connection.next(within).await {
            Ok(Incoming::Frame(frame)) => Read::Frame(frame),
            Ok(Incoming::Close(code)) => {
                // STD1-WIRE-5: under these faults a server ends sessions
                // because its feed or itself is going (1011, 1001).
                if !code
                    .is_some_and(|c| c == close_code::INTERNAL_ERROR || c == close_code::GOING_AWAY)
                {
                    self.room.history.anomaly(
                        "STD1-WIRE-5",
                        format!(
                            "{}'s session {} was closed with code {code:?}",
                            self.name(),
                            self.session
                        ),
                    );
                }
                Read::Ended(format!("closed ({code:?})"))
            }
            Ok(Incoming::Gone) => Read::Ended("connection lost".to_owned()),
            Err(ClientError::Timeout(_)) => Read::Quiet,
            Err(ClientError::NotAFrame(text)) => {
                self.room.history.anomaly(
                    "STD1-WIRE-7",
                    format!("{} received a frame that is not std-1: {text}", self.name()),
                );
                Read::Ended("not a frame".to_owned())
            }
            Err(e) => Read::Ended(e.to_string()),
        }
    }

    /// Applies a broadcast to the party's view and logs it.
    fn on_broadcast(&mut self, broadcast: Broadcast) {
        match broadcast {
            Broadcast::NewMessage(message) => {
                self.view = Some((message.id, message.sender_hash));
                self.room
                    .history
                    .saw(self.side, self.session, Sighting::from(&message));
            }
            Broadcast::RoomExpired { .. } | Broadcast::MessageDeleted { .. } => {
                self.room.history.anomaly(
                    "STD1-WIRE-29",
                    format!(
                        "{} received {} in a room nobody expired or deleted from",
                        self.name(),
                        broadcast.name()
                    ),
                );
            }
            // Every join of a chaos party carries its own PIN: nothing is
            // counted, so nothing can lock the room (STD1-JOIN-26).
            Broadcast::RoomLocked { .. } => {
                self.room.history.anomaly(
                    "STD1-JOIN-26",
                    format!(
                        "{} received room_locked in a room nobody guessed at",
                        self.name()
                    ),
                );
            }
            _ => {}
        }
    }

    /// Whether to drop the connection now, by the drop chance; a drop is
    /// counted as a fault injected.
    fn drops_now(&mut self) -> bool {
        if self.knobs.drop_chance > 0.0 && self.rng.chance(self.knobs.drop_chance) {
            self.knobs.drops.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// After writing a request: maybe drops the connection a moment
    /// later; the connection when it did not.
    async fn drops_after_writing(&mut self, connection: Connection) -> Option<Connection> {
        if !self.drops_now() {
            return Some(connection);
        }
        let wait = self.rng.next_u64() % (DROP_AFTER_MAX_MS + 1);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        connection.abort();
        None
    }

    /// Sends `event` as operation `n`; `None` when the connection is over
    /// (the operation's outcome then logged as unknown).
    async fn write(
        &mut self,
        n: usize,
        mut connection: Connection,
        event: ClientEvent,
    ) -> Option<(Connection, Ref)> {
        let reference = match connection.send(event).await {
            Ok(reference) => reference,
            Err(e) => {
                self.room
                    .history
                    .finish(n, Outcome::Unknown(format!("writing the request: {e}")));
                connection.abort();
                return None;
            }
        };
        match self.drops_after_writing(connection).await {
            Some(connection) => Some((connection, reference)),
            None => {
                self.room.history.finish(
                    n,
                    Outcome::Unknown("the client dropped its connection after writing".to_owned()),
                );
                None
            }
        }
    }

    /// Joins with the party's credentials (STD1-CLI-22).
    async fn join(&mut self, connection: Connection) -> Option<Connection> {
        if self.drops_now() {
            connection.abort();
            return None;
        }
        let me = self.me();
        let n = self.room.history.invoke(self.side, Call::Join);
        let event = ClientEvent::Join(JoinRoom {
            room_hash: self.room.room_hash,
            access_hash: me.access,
            sender_hash: me.sender,
            pairing_hash: None,
        });
        let (mut connection, reference) = self.write(n, connection, event).await?;
        loop {
            match self.read(&mut connection, REPLY_TIMEOUT).await {
                Read::Frame(ServerFrame::Ok(ok)) if ok.reference == reference => {
                    let ReplyBody::Joined(joined) = ok.ok else {
                        self.room.history.anomaly(
                            "STD1-WIRE-26",
                            format!("{}'s join was answered with {:?}", self.name(), ok.ok),
                        );
                        self.room
                            .history
                            .finish(n, Outcome::Unknown("a reply of the wrong kind".into()));
                        connection.abort();
                        return None;
                    };
                    let current = joined.current_message.as_ref().map(Sighting::from);
                    self.view = joined.current_message.map(|m| (m.id, m.sender_hash));
                    self.room
                        .history
                        .joined(n, self.side, self.session, current);
                    return Some(connection);
                }
                Read::Frame(ServerFrame::Error(e)) if e.reference.as_ref() == Some(&reference) => {
                    let outcome = match e.error.reason {
                        ErrorReason::InternalError => Outcome::Unknown("internal_error".to_owned()),
                        reason => Outcome::Refused(reason),
                    };
                    self.room.history.finish(n, outcome);
                    connection.abort();
                    return None;
                }
                Read::Frame(frame) => {
                    // Nothing but the reply may come before the session
                    // opens (STD1-WIRE-30).
                    self.room.history.anomaly(
                        "STD1-WIRE-30",
                        format!(
                            "{} received {frame:?} while waiting for its join's reply",
                            self.name()
                        ),
                    );
                }
                Read::Quiet => {
                    self.room.history.finish(
                        n,
                        Outcome::Unknown(format!("no reply within {REPLY_TIMEOUT:?}")),
                    );
                    connection.abort();
                    return None;
                }
                Read::Ended(why) => {
                    self.room.history.finish(n, Outcome::Unknown(why));
                    return None;
                }
            }
        }
    }

    /// Replies tick after tick until the connection ends or the workload
    /// stops.
    async fn converse(&mut self, mut connection: Connection, backoff: &mut Duration) {
        loop {
            if self.stopped() {
                connection.close().await;
                return;
            }
            // Read until the room's next tick.
            let elapsed = self.room.base.elapsed().as_nanos();
            let tick = self.knobs.tick.as_nanos().max(1);
            let ticks = u32::try_from(elapsed / tick + 1).unwrap_or(u32::MAX);
            let at = self.room.base + self.knobs.tick * ticks;
            loop {
                let now = Instant::now();
                if now >= at {
                    break;
                }
                match self.read(&mut connection, at - now).await {
                    Read::Frame(ServerFrame::Broadcast(b)) => self.on_broadcast(b),
                    Read::Frame(frame) => self.room.history.anomaly(
                        "STD1-WIRE-20",
                        format!(
                            "{} received {frame:?} with no request outstanding",
                            self.name()
                        ),
                    ),
                    Read::Quiet => break,
                    Read::Ended(_) => return,
                }
            }
            let my_turn = self
                .view
                .is_none_or(|(_, sender)| sender != self.me().sender);
            if !my_turn && !self.rng.chance(self.knobs.race_chance) {
                continue;
            }
            match self.send(connection).await {
                (Some(c), answered) => {
                    if answered {
                        // The session works: the next failure starts the
                        // back-off afresh.
                        *backoff = BACKOFF_FIRST;
                    }
                    connection = c;
                }
                (None, _) => return,
            }
        }
    }

    /// Sends a reply to the current message as the party sees it; also
    /// says whether the server answered it definitely.
    async fn send(&mut self, connection: Connection) -> (Option<Connection>, bool) {
        let (ciphertext, iv) = match fixtures::payload() {
            Ok(payload) => payload,
            Err(e) => {
                self.room
                    .history
                    .anomaly("harness", format!("no payload: {e}"));
                return (Some(connection), false);
            }
        };
        if self.drops_now() {
            connection.abort();
            return (None, false);
        }
        let replaces = self.view.map(|(id, _)| id);
        let n = self.room.history.invoke(
            self.side,
            Call::Send {
                replaces,
                ciphertext: ciphertext.as_bytes().to_vec(),
            },
        );
        let event = ClientEvent::SendMessage(SendMessage {
            ciphertext,
            iv,
            replaces,
        });
        let Some((mut connection, reference)) = self.write(n, connection, event).await else {
            return (None, false);
        };
        loop {
            match self.read(&mut connection, REPLY_TIMEOUT).await {
                Read::Frame(ServerFrame::Broadcast(b)) => self.on_broadcast(b),
                Read::Frame(ServerFrame::Ok(ok)) if ok.reference == reference => {
                    let ReplyBody::Sent(sent) = ok.ok else {
                        self.room.history.anomaly(
                            "STD1-WIRE-26",
                            format!("{}'s send was answered with {:?}", self.name(), ok.ok),
                        );
                        self.room
                            .history
                            .finish(n, Outcome::Unknown("a reply of the wrong kind".into()));
                        connection.abort();
                        return (None, false);
                    };
                    self.room.history.finish(n, Outcome::Sent(sent.message_id));
                    self.room.acknowledged[self.side as usize].fetch_add(1, Ordering::AcqRel);
                    self.view = Some((sent.message_id, self.me().sender));
                    return (Some(connection), true);
                }
                Read::Frame(ServerFrame::Error(e)) if e.reference.as_ref() == Some(&reference) => {
                    if e.error.reason == ErrorReason::InternalError {
                        // The store may have committed before it failed;
                        // the connection stays open (STD1-WIRE-5).
                        self.room
                            .history
                            .finish(n, Outcome::Unknown("internal_error".to_owned()));
                        return (Some(connection), false);
                    }
                    self.room
                        .history
                        .finish(n, Outcome::Refused(e.error.reason));
                    return (Some(connection), true);
                }
                Read::Frame(frame) => self.room.history.anomaly(
                    "STD1-WIRE-20",
                    format!(
                        "{} received {frame:?} while waiting for its send's reply",
                        self.name()
                    ),
                ),
                Read::Quiet => {
                    self.room.history.finish(
                        n,
                        Outcome::Unknown(format!("no reply within {REPLY_TIMEOUT:?}")),
                    );
                    connection.abort();
                    return (None, false);
                }
                Read::Ended(why) => {
                    self.room.history.finish(n, Outcome::Unknown(why));
                    return (None, false);
                }
            }
        }
    }
}
