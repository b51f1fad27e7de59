//! Fuzzing a server over WebSocket (issue 9): random and mutated frames
//! from many connections, next to a paired room that must come through
//! untouched.
//!
//! The frame decoder has its own fuzz targets and properties (`spec/fuzz/`,
//! `spec/tests/fuzz_properties.rs`); this run asks what only a live server
//! can answer: does every frame, whatever it is, get the answer the spec
//! prescribes within a bounded time (no hang, no crash, no silent drop);
//! does the server keep serving afterwards; and does nothing a stranger
//! sends reach another room.
//!
//! What a frame must get is fixed before it is sent:
//!
//! - a binary message: close 1003; a text message that is not UTF-8: close
//!   1007; a message over 16384 bytes after reassembly: close 1009
//!   (STD1-WIRE-3, STD1-WIRE-4, STD1-WIRE-5);
//! - text the executable specification's decoder refuses: an error reply
//!   with exactly that reason and `ref` (STD1-WIRE-10 to STD1-WIRE-14; the
//!   order of those checks is normative, so the answer is unique);
//! - a frame that decodes: the answer the session rules allow for the
//!   connection's state at that point (STD1-WIRE-21, STD1-WIRE-26). A
//!   connection that opened a room of its own is the room's only party, so
//!   its answers are predicted exactly; one that joined the shared "decoy"
//!   room, which other connections also use, is checked against the set of
//!   answers the catalogue gives for that event. A decoy session may be
//!   displaced: another connection may re-open its slot with the decoy's
//!   known code and a third claim it (STD1-JOIN-24, STD1-JOIN-25); from
//!   its first `not_joined` on, it must answer `not_joined` (`create` and
//!   `join`: `already_joined`) until its close 1008 `record_replaced`.
//!
//! Frames are sent in pipelined batches (STD1-WIRE-20: one reply per text
//! frame, in order), so valid frames interleave with broken ones. The
//! "victim" room is never the target of a frame that could legitimately
//! change it: a `join` that decodes and names the victim's room is not sent
//! (a wrong PIN counts a failure, STD1-WIRE-23), though broken ones are;
//! every other frame may name the victim's room or message. No connection
//! ever holds a session in the victim's room, so none can re-open its
//! slots either (STD1-JOIN-24). Afterwards the
//! victim's parties join again and must find the same room and message,
//! its rows in the database must be unchanged, and its two sessions, open
//! throughout, must have received nothing.
//!
//! Every random choice comes from one seed, printed by the callers, so a
//! failure replays with `stelgano-conformance wsfuzz --seed N`; only the
//! interleaving of the connections differs between runs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stelgano_spec::ErrorReason;
use stelgano_spec::b64;
use stelgano_spec::constants::MAX_FRAME_BYTES;
use stelgano_spec::derive::{PartyHashes, Pin};
use stelgano_spec::ids::{AccessHash, MessageId, PairingHash, Ref, RoomHash, RoomId, SenderHash};
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, ClientFrame, CreateRoom, DeleteMessage, EditMessage,
    ExpiryCause, Iv, JoinRoom, Joined, Message, ReadReceipt, ReopenPairing, ReplyBody,
    ResetPairing, SendMessage, ServerFrame, Timestamp, close_code, decode_client_frame,
};

use crate::client::{Connection, Incoming};
use crate::fixtures;

/// What a run checks.
pub const REQUIREMENTS: [&str; 15] = [
    "STD1-JOIN-25",
    "STD1-WIRE-3",
    "STD1-WIRE-4",
    "STD1-WIRE-5",
    "STD1-WIRE-10",
    "STD1-WIRE-11",
    "STD1-WIRE-12",
    "STD1-WIRE-13",
    "STD1-WIRE-14",
    "STD1-WIRE-20",
    "STD1-WIRE-21",
    "STD1-WIRE-23",
    "STD1-WIRE-26",
    "STD1-WIRE-30",
    "STD1-WIRE-32",
];

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    /// Every random choice derives from it.
    pub seed: u64,
    /// How long frames are sent (the setup and the checks afterwards come
    /// on top).
    pub duration: Duration,
    /// Stop after this many frames, if set, even before `duration`.
    pub max_frames: Option<u64>,
    /// Connections sending at once (one after another per worker).
    pub workers: usize,
    /// How long any one answer may take before the server counts as hung.
    pub answer_timeout: Duration,
    /// A test-only DSN of the target's database: with it the victim's rows
    /// are compared before and after; without it that check is skipped.
    pub database_url: Option<String>,
}

impl Options {
    /// Twenty seconds from four connections: a few thousand frames on two
    /// cores, enough for every kind of frame many times over.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            duration: Duration::from_secs(20),
            max_frames: None,
            workers: 4,
            answer_timeout: Duration::from_secs(10),
            database_url: None,
        }
    }
}

/// Why a run could not take place (as opposed to what it found, which is
/// in [`Summary::violations`]).
#[derive(Debug, thiserror::Error)]
pub enum WsFuzzError {
    #[error("setting up the {room} room: {why}")]
    Setup { room: &'static str, why: String },
    #[error(
        "the target's rooms expire at {expires}, before the run ends; run it with a longer room lifetime"
    )]
    ShortLifetime { expires: Timestamp },
    #[error("the victim room {0} is not in the database: is the URL the target's?")]
    NoRows(String),
    #[error("reading the target's database: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a run did and found.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub seed: u64,
    /// Messages sent (a fragmented message counts once).
    pub frames: u64,
    /// Of those, sent in fragments.
    pub fragmented: u64,
    /// Frames built but not sent because, accepted, they would have
    /// changed the victim room as the spec allows.
    pub withheld: u64,
    pub connections: u64,
    /// Answers by kind: `ok create`, `error invalid_frame`, `close 1009`,
    /// `unanswered` (frames after a close, which none may answer).
    pub answers: BTreeMap<String, u64>,
    /// How long frames were sent.
    pub sending: Duration,
    /// The victim's rows compared, when the database was given.
    pub rows_compared: Option<usize>,
    /// Every departure from the spec, with enough to replay it.
    pub violations: Vec<String>,
}

/// At most this many violations are kept; the count goes on.
const KEPT_VIOLATIONS: usize = 50;

impl Summary {
    /// Whether the run found nothing wrong.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// Answers of one kind.
    pub fn count(&self, answer: &str) -> u64 {
        self.answers.get(answer).copied().unwrap_or(0)
    }

    fn tally(&mut self, answer: String) {
        *self.answers.entry(answer).or_insert(0) += 1;
    }

    fn violation(&mut self, what: String) {
        if self.violations.len() < KEPT_VIOLATIONS {
            self.violations.push(what);
        }
    }

    fn merge(&mut self, other: Summary) {
        self.frames += other.frames;
        self.fragmented += other.fragmented;
        self.withheld += other.withheld;
        self.connections += other.connections;
        for (k, v) in other.answers {
            *self.answers.entry(k).or_insert(0) += v;
        }
        for v in other.violations {
            self.violation(v);
        }
    }

    /// A report for people.
    pub fn render(&self) -> String {
        let rate = self.frames as f64 / self.sending.as_secs_f64().max(0.001);
        let mut out = format!(
            "wsfuzz: seed {}: {} frames ({} fragmented, {} withheld) on {} connections in {:.1} s ({rate:.0} frames/s)\n",
            self.seed,
            self.frames,
            self.fragmented,
            self.withheld,
            self.connections,
            self.sending.as_secs_f64()
        );
        for (answer, n) in &self.answers {
            out.push_str(&format!("  {answer:<28} {n}\n"));
        }
        match self.rows_compared {
            Some(n) => out.push_str(&format!("  victim rows compared: {n}\n")),
            None => out.push_str("  victim rows not compared (no database URL)\n"),
        }
        if self.violations.is_empty() {
            out.push_str("no violations\n");
        } else {
            out.push_str(&format!("{} violations:\n", self.violations.len()));
            for v in &self.violations {
                out.push_str(&format!("  - {v}\n"));
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------

/// SplitMix64: small, seedable, and the same on every platform, so that a
/// seed names the same frames everywhere.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next_u64() % 100 < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.next_u64() as u8)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

// ---------------------------------------------------------------------------
// Rooms
// ---------------------------------------------------------------------------

/// The PINs of the two parties of the harness's rooms; any valid PINs do.
const PINS: [&str; 2] = ["2468", "1357"];

/// A paired room with one unread message from party A.
struct PairedRoom {
    a: PartyHashes,
    b: PartyHashes,
    pairing: PairingHash,
    joined: Joined,
    message: Message,
    connections: (Connection, Connection),
}

/// Reads until the reply, returning it and the broadcasts before it.
async fn reply(
    c: &mut Connection,
    within: Duration,
) -> Result<(Vec<Broadcast>, ServerFrame), String> {
    let mut before = Vec::new();
    loop {
        match c.next(within).await.map_err(|e| e.to_string())? {
            Incoming::Frame(ServerFrame::Broadcast(b)) => before.push(b),
            Incoming::Frame(frame) => return Ok((before, frame)),
            other => return Err(format!("expected a reply, got {other:?}")),
        }
    }
}

async fn joined_reply(
    c: &mut Connection,
    event: ClientEvent,
    within: Duration,
) -> Result<Joined, String> {
    c.send(event).await.map_err(|e| e.to_string())?;
    match reply(c, within).await? {
        (_, ServerFrame::Ok(ok)) => match ok.ok {
            ReplyBody::Joined(j) => Ok(j),
            other => Err(format!("expected a joined reply, got {other:?}")),
        },
        (_, other) => Err(format!("expected a joined reply, got {other:?}")),
    }
}

fn join_as(party: &PartyHashes, pairing: Option<PairingHash>) -> ClientEvent {
    ClientEvent::Join(JoinRoom {
        room_hash: party.room_hash,
        access_hash: party.access_hash,
        sender_hash: party.sender_hash,
        pairing_hash: pairing,
    })
}

impl PairedRoom {
    /// A creates, B joins with the pairing code, A sends a message.
    async fn open(url: &str, label: &str, within: Duration) -> Result<Self, String> {
        let phone = fixtures::steg_number()?;
        let party = |pin: &str| -> Result<PartyHashes, String> {
            Ok(PartyHashes::derive(
                &phone,
                &Pin::parse(pin).map_err(|e| e.to_string())?,
            ))
        };
        let (a, b) = (party(PINS[0])?, party(PINS[1])?);
        let pairing = fixtures::pairing_code()?.hash();
        let mut ca = Connection::open(url, &format!("{label}-a"))
            .await
            .map_err(|e| e.to_string())?;
        let mut cb = Connection::open(url, &format!("{label}-b"))
            .await
            .map_err(|e| e.to_string())?;
        let create = ClientEvent::Create(CreateRoom {
            room_hash: a.room_hash,
            access_hash: a.access_hash,
            sender_hash: a.sender_hash,
            pairing_hash: pairing,
            country_iso: None,
        });
        let joined = joined_reply(&mut ca, create, within).await?;
        joined_reply(&mut cb, join_as(&b, Some(pairing)), within).await?;
        match ca.next(within).await {
            Ok(Incoming::Frame(ServerFrame::Broadcast(Broadcast::PartyPaired {}))) => {}
            other => return Err(format!("expected party_paired, got {other:?}")),
        }
        let (ciphertext, iv) = fixtures::payload()?;
        ca.send(ClientEvent::SendMessage(SendMessage {
            ciphertext,
            iv,
            replaces: None,
        }))
        .await
        .map_err(|e| e.to_string())?;
        match reply(&mut ca, within).await? {
            (_, ServerFrame::Ok(_)) => {}
            (_, other) => return Err(format!("send_message: {other:?}")),
        }
        let message = match cb.next(within).await {
            Ok(Incoming::Frame(ServerFrame::Broadcast(Broadcast::NewMessage(m)))) => m,
            other => return Err(format!("expected new_message, got {other:?}")),
        };
        Ok(Self {
            a,
            b,
            pairing,
            joined,
            message,
            connections: (ca, cb),
        })
    }
}

/// Every row of the victim room: its `rooms` row and, from every table
/// with a `room_id` column, the rows of that room, as JSON text. Found by
/// the room's id, because the hashes may be stored keyed (spec §11.5).
async fn room_rows(database_url: &str, room: RoomId) -> Result<Vec<String>, WsFuzzError> {
    use sqlx::Connection as _;
    let mut db = sqlx::postgres::PgConnection::connect(database_url).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_name) FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name = 'room_id' ORDER BY table_name",
    )
    .fetch_all(&mut db)
    .await?;
    let mut rows: Vec<String> =
        sqlx::query_scalar("SELECT to_jsonb(t)::text FROM public.rooms t WHERE t.id = $1")
            .bind(*room.as_uuid())
            .fetch_all(&mut db)
            .await?;
    if rows.is_empty() {
        return Err(WsFuzzError::NoRows(room.to_string()));
    }
    for table in tables {
        // The name comes from the catalogue, quoted by quote_ident.
        let sql = format!(
            "SELECT to_jsonb(t)::text FROM public.{table} t WHERE t.room_id = $1 ORDER BY 1"
        );
        let found: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(*room.as_uuid())
            .fetch_all(&mut db)
            .await?;
        rows.extend(found.into_iter().map(|r| format!("{table}: {r}")));
    }
    db.close().await?;
    Ok(rows)
}

// ---------------------------------------------------------------------------
// What the harness knows
// ---------------------------------------------------------------------------

/// The rooms frames are built from.
#[derive(Debug, Clone)]
struct Context {
    victim_room: RoomHash,
    victim_message: MessageId,
    decoy_a: PartyHashes,
    decoy_b: PartyHashes,
    decoy_pairing: PairingHash,
}

/// A connection's state, as far as the answers it got so far tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// No `create` or `join` succeeded yet.
    None,
    /// In a room this connection created with fresh hashes: no one else
    /// can enter it, so every answer is predictable.
    Solo { current: Option<MessageId> },
    /// In the decoy room (or one created with its hashes), where other
    /// connections act too.
    Shared { current: Option<MessageId> },
    /// The room ended (`expire_room` answered): the connection closes
    /// with 1000 and answers nothing more (STD1-LIFE-7).
    Ending,
    /// A claim with a re-opened code replaced the record of this shared
    /// session (it answered `not_joined`): every frame gets `not_joined`,
    /// `create` and `join` `already_joined`, until the close 1008
    /// `record_replaced` (STD1-JOIN-25).
    Replaced,
}

/// What the harness expects for one frame, fixed before it is sent.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// The connection is closed with one of these codes, the frame
    /// unanswered.
    Closed(&'static [u16]),
    /// The decoder refuses the text: this reason, this `ref`.
    Refused {
        reference: Option<Ref>,
        reason: ErrorReason,
    },
    /// The text decodes to this frame.
    Decoded(ClientFrame),
}

/// One message to send.
#[derive(Debug, Clone)]
struct Shot {
    payload: Vec<u8>,
    binary: bool,
    cuts: Vec<usize>,
    ping: bool,
    expect: Expect,
    /// The mutations applied, for reports.
    how: Vec<&'static str>,
}

impl Shot {
    fn describe(&self) -> String {
        let text = String::from_utf8_lossy(&self.payload);
        let shown: String = text.chars().take(160).collect();
        format!(
            "[{}] {} bytes{}{}: {shown}{}",
            self.how.join(","),
            self.payload.len(),
            if self.binary { " binary" } else { "" },
            if self.cuts.is_empty() {
                String::new()
            } else {
                format!(" in {} fragments", self.cuts.len() + 1)
            },
            if text.chars().count() > 240 {
                "…"
            } else {
                ""
            }
        )
    }
}

fn ok_name(body: &ReplyBody) -> &'static str {
    match body {
        ReplyBody::Joined(_) => "joined",
        ReplyBody::Sent(_) => "sent",
        ReplyBody::Done(_) => "done",
    }
}

/// The answer to a frame that decoded, against what the connection's
/// state allows (STD1-WIRE-21, STD1-WIRE-26, and the catalogue's
/// conditions per event); the new state, or what is wrong. `seen` holds
/// the broadcasts that arrived since the previous answer, where the
/// requester's own broadcast must be (STD1-WIRE-30).
fn judge(
    ctx: &Context,
    session: Session,
    frame: &ClientFrame,
    seen: &[Broadcast],
    answer: &ServerFrame,
) -> Result<Session, String> {
    use ErrorReason as E;
    let (reference, outcome) = match answer {
        ServerFrame::Ok(ok) => (Some(&ok.reference), Ok(&ok.ok)),
        ServerFrame::Error(e) => (e.reference.as_ref(), Err(e.error.reason)),
        ServerFrame::Broadcast(_) => return Err("a broadcast is not an answer".into()),
    };
    if reference != Some(&frame.reference) {
        return Err(format!(
            "the answer's ref is {reference:?}, not the frame's"
        ));
    }
    let wrong = |allowed: &str| {
        Err(format!(
            "{} on {session:?} must get {allowed}, got {}",
            frame.event.name().as_str(),
            match outcome {
                Ok(body) => format!("ok {}", ok_name(body)),
                Err(reason) => format!("error {reason}"),
            }
        ))
    };
    let own = |pred: &dyn Fn(&Broadcast) -> bool| seen.iter().any(pred);
    let in_room = matches!(session, Session::Solo { .. } | Session::Shared { .. });
    // STD1-WIRE-21, STD1-WIRE-22: session state first; then a room gone or
    // a rate limit may refuse anything in a room.
    match (&frame.event, outcome) {
        (ClientEvent::Create(_) | ClientEvent::Join(_), _) if in_room => {
            return match outcome {
                Err(E::AlreadyJoined | E::RoomExpired) => Ok(session),
                _ => wrong("already_joined"),
            };
        }
        // STD1-JOIN-25: a replaced record's session changes nothing.
        (ClientEvent::Create(_) | ClientEvent::Join(_), _) if session == Session::Replaced => {
            return match outcome {
                Err(E::AlreadyJoined | E::RateLimited) => Ok(session),
                _ => wrong("already_joined"),
            };
        }
        (_, Err(E::NotJoined | E::RateLimited)) if session == Session::Replaced => {
            return Ok(session);
        }
        (_, _) if session == Session::Replaced => return wrong("not_joined"),
        (ClientEvent::Create(_) | ClientEvent::Join(_), Err(E::RateLimited))
            if session == Session::None =>
        {
            return Ok(session);
        }
        (ClientEvent::Create(_) | ClientEvent::Join(_), _) => {}
        // A shared session's record may be replaced by a claim with a code
        // another connection re-opened (STD1-JOIN-24, STD1-JOIN-25).
        (_, Err(E::NotJoined)) if matches!(session, Session::Shared { .. }) => {
            return Ok(Session::Replaced);
        }
        (_, Err(E::NotJoined)) if session == Session::None => return Ok(session),
        (_, _) if session == Session::None => return wrong("not_joined"),
        (_, Err(E::RateLimited | E::RoomExpired)) if in_room => return Ok(session),
        _ => {}
    }
    match (session, &frame.event) {
        (Session::Ending, _) => wrong("nothing: the room ended"),
        (Session::Replaced, _) => wrong("not_joined"),
        (Session::None, ClientEvent::Create(c)) => {
            let fresh = match outcome {
                Ok(ReplyBody::Joined(j)) if j.awaiting_party && j.current_message.is_none() => true,
                Err(E::RoomExists) => false,
                _ => return wrong("ok joined (awaiting, empty) or room_exists"),
            };
            if c.room_hash == ctx.victim_room {
                // STD1-JOIN-2: the victim's room is live for the whole run.
                return if fresh {
                    wrong("room_exists")
                } else {
                    Ok(session)
                };
            }
            if c.room_hash == ctx.decoy_a.room_hash {
                return Ok(if fresh {
                    Session::Shared { current: None }
                } else {
                    session
                });
            }
            if fresh {
                Ok(Session::Solo { current: None })
            } else {
                wrong("ok joined: the room hash is fresh")
            }
        }
        (Session::None, ClientEvent::Join(j)) => {
            if j.room_hash != ctx.decoy_a.room_hash {
                return match outcome {
                    Err(E::NotFound) => Ok(session),
                    _ => wrong("not_found: no such room"),
                };
            }
            match outcome {
                Ok(ReplyBody::Joined(joined)) => Ok(Session::Shared {
                    current: joined.current_message.as_ref().map(|m| m.id),
                }),
                Err(
                    E::Unauthorized
                    | E::Locked
                    | E::PairingInvalid
                    | E::SenderMismatch
                    | E::NotFound,
                ) => Ok(session),
                _ => wrong("a join answer"),
            }
        }
        // Answered by the session rule above.
        (Session::None, _) => wrong("not_joined"),
        (Session::Solo { current }, event) => match (event, outcome) {
            (ClientEvent::SendMessage(s), _) => match (current, s.replaces, outcome) {
                (Some(_), _, Err(E::NotYourTurn)) => Ok(session),
                (None, Some(_), Err(E::Conflict)) => Ok(session),
                (None, None, Ok(ReplyBody::Sent(sent)))
                    if own(
                        &|b| matches!(b, Broadcast::NewMessage(m) if m.id == sent.message_id),
                    ) =>
                {
                    Ok(Session::Solo {
                        current: Some(sent.message_id),
                    })
                }
                (Some(_), ..) => wrong("not_your_turn"),
                (None, Some(_), _) => wrong("conflict"),
                (None, None, _) => wrong("ok sent, after its new_message"),
            },
            (ClientEvent::ReadReceipt(r), _) => match outcome {
                Err(E::OwnMessage) if current == Some(r.message_id) => Ok(session),
                Err(E::NotFound) if current != Some(r.message_id) => Ok(session),
                _ if current == Some(r.message_id) => wrong("own_message"),
                _ => wrong("not_found"),
            },
            (ClientEvent::EditMessage(e), _) => match outcome {
                Ok(ReplyBody::Done(_))
                    if current == Some(e.message_id)
                        && own(
                            &|b| matches!(b, Broadcast::MessageEdited { message_id, .. } if *message_id == e.message_id),
                        ) =>
                {
                    Ok(session)
                }
                Err(E::NotFound) if current != Some(e.message_id) => Ok(session),
                _ if current == Some(e.message_id) => wrong("ok done, after its message_edited"),
                _ => wrong("not_found"),
            },
            (ClientEvent::DeleteMessage(d), _) => match outcome {
                Ok(ReplyBody::Done(_))
                    if current == Some(d.message_id)
                        && own(
                            &|b| matches!(b, Broadcast::MessageDeleted { message_id } if *message_id == d.message_id),
                        ) =>
                {
                    Ok(Session::Solo { current: None })
                }
                Err(E::NotFound) if current != Some(d.message_id) => Ok(session),
                _ if current == Some(d.message_id) => wrong("ok done, after its message_deleted"),
                _ => wrong("not_found"),
            },
            // STD1-MSG-17: more than one a second is rate_limited, which
            // the rule above already allowed.
            (ClientEvent::Typing, Ok(ReplyBody::Done(_))) => Ok(session),
            (ClientEvent::Typing, _) => wrong("ok done or rate_limited"),
            (ClientEvent::ExpireRoom, Ok(ReplyBody::Done(_)))
                if own(&|b| {
                    matches!(
                        b,
                        Broadcast::RoomExpired {
                            cause: ExpiryCause::Party
                        }
                    )
                }) =>
            {
                Ok(Session::Ending)
            }
            (ClientEvent::ExpireRoom, _) => wrong("ok done, after room_expired"),
            (ClientEvent::ResetPairing(_), Ok(ReplyBody::Done(_))) => Ok(session),
            (ClientEvent::ResetPairing(_), _) => wrong("ok done: the room is unpaired"),
            // STD1-JOIN-24: in a room with one record, a reset.
            (ClientEvent::ReopenPairing(_), Ok(ReplyBody::Done(_))) => Ok(session),
            (ClientEvent::ReopenPairing(_), _) => wrong("ok done"),
            (ClientEvent::Create(_) | ClientEvent::Join(_), _) => wrong("already_joined"),
        },
        (Session::Shared { .. }, event) => match (event, outcome) {
            (ClientEvent::SendMessage(_), Ok(ReplyBody::Sent(sent))) => {
                if own(&|b| matches!(b, Broadcast::NewMessage(m) if m.id == sent.message_id)) {
                    Ok(Session::Shared {
                        current: Some(sent.message_id),
                    })
                } else {
                    wrong("its new_message before ok sent")
                }
            }
            (ClientEvent::SendMessage(_), Err(E::NotYourTurn | E::Conflict)) => Ok(session),
            (ClientEvent::ReadReceipt(_), Ok(ReplyBody::Done(_)))
            | (ClientEvent::ReadReceipt(_), Err(E::NotFound | E::OwnMessage | E::AlreadyRead))
            | (ClientEvent::EditMessage(_), Ok(ReplyBody::Done(_)))
            | (ClientEvent::EditMessage(_), Err(E::NotFound | E::NotAuthor | E::NotEditable))
            | (ClientEvent::DeleteMessage(_), Ok(ReplyBody::Done(_)))
            | (ClientEvent::DeleteMessage(_), Err(E::NotFound | E::NotAuthor | E::NotDeletable))
            | (ClientEvent::Typing, Ok(ReplyBody::Done(_)))
            | (ClientEvent::ResetPairing(_), Ok(ReplyBody::Done(_)))
            | (ClientEvent::ResetPairing(_), Err(E::AlreadyPaired))
            | (ClientEvent::ReopenPairing(_), Ok(ReplyBody::Done(_))) => Ok(session),
            (ClientEvent::ExpireRoom, Ok(ReplyBody::Done(_)))
                if own(&|b| {
                    matches!(
                        b,
                        Broadcast::RoomExpired {
                            cause: ExpiryCause::Party
                        }
                    )
                }) =>
            {
                Ok(Session::Ending)
            }
            _ => wrong("an answer the catalogue gives this event"),
        },
    }
}

/// Whether a broadcast may reach a connection in this state at all.
fn broadcast_allowed(session: Session, b: &Broadcast) -> bool {
    match session {
        // No session, no broadcasts (STD1-WIRE-30).
        Session::None => false,
        // Only the consequences of its own requests: no one else is there.
        Session::Solo { .. } => matches!(
            b,
            Broadcast::NewMessage(_)
                | Broadcast::MessageEdited { .. }
                | Broadcast::MessageDeleted { .. }
                | Broadcast::RoomExpired { .. }
        ),
        // Others act there too (a lock's `room_locked` among them,
        // STD1-JOIN-26); a replaced session may still get the broadcasts
        // ordered before the claim (STD1-JOIN-25).
        Session::Shared { .. } | Session::Ending | Session::Replaced => true,
    }
}

// ---------------------------------------------------------------------------
// Building frames
// ---------------------------------------------------------------------------

/// A frame as an ordered list of members whose values are JSON text, so
/// that duplicate and escaped names, and values no JSON library would
/// write, can be expressed.
#[derive(Debug, Clone)]
enum Node {
    Raw(String),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn of(value: &serde_json::Value) -> Node {
        match value {
            serde_json::Value::Object(members) => Node::Object(
                members
                    .iter()
                    .map(|(k, v)| (serde_json::Value::from(k.as_str()).to_string(), Node::of(v)))
                    .collect(),
            ),
            other => Node::Raw(other.to_string()),
        }
    }

    fn render(&self, out: &mut String) {
        match self {
            Node::Raw(text) => out.push_str(text),
            Node::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(name);
                    out.push(':');
                    value.render(out);
                }
                out.push('}');
            }
        }
    }

    /// The members of the frame (`in_data` false) or of its `data`.
    fn members(&mut self, in_data: bool) -> Option<&mut Vec<(String, Node)>> {
        let Node::Object(members) = self else {
            return None;
        };
        if !in_data {
            return Some(members);
        }
        members.iter_mut().find_map(|(name, value)| match value {
            Node::Object(data) if name == "\"data\"" => Some(data),
            _ => None,
        })
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Names a mutation may give a member.
const NAMES: &[&str] = &[
    "event",
    "ref",
    "data",
    "room_hash",
    "access_hash",
    "sender_hash",
    "pairing_hash",
    "country_iso",
    "ciphertext",
    "iv",
    "replaces",
    "message_id",
    "x",
    "",
    "Ref",
];

/// Values of the wrong JSON type for every field.
const WRONG_TYPES: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-1.5",
    "[]",
    "{}",
    "[1,\"a\"]",
    "{\"x\":null}",
    "\"\"",
];

/// Tokens inserted into the text.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "null",
    "\\u0000",
    "\\ud800",
    "\u{feff}",
    "\u{1f512}",
    "\"ref\":\"1\",",
    "\"data\":{},",
    "\"event\":\"typing\",",
    "==",
];

/// Byte sequences that are not UTF-8: a stray byte, an overlong form, a
/// lone continuation byte, a truncated sequence, an encoded surrogate and
/// a code point past U+10FFFF.
const NOT_UTF8: &[&[u8]] = &[
    &[0xff],
    &[0xc0, 0x80],
    &[0x80],
    &[0xe2, 0x82],
    &[0xed, 0xa0, 0x80],
    &[0xf4, 0x90, 0x80, 0x80],
];

fn huge_number(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => "1e400".into(),
        1 => "-1e999".into(),
        2 => format!("1{}", "0".repeat(400)),
        3 => "123456789012345678901234567890".into(),
        4 => "1.7976931348623157e308".into(),
        5 => "1e-400".into(),
        _ => "9".repeat(5000),
    }
}

fn deep(rng: &mut Rng) -> String {
    let depth = *rng.pick(&[29, 30, 31, 32, 33, 100, 127, 128, 129, 1000, 5000]);
    if rng.percent(50) {
        format!("{}0{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        format!("{}0{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A string just inside or outside some field's syntax.
fn near_miss(rng: &mut Rng) -> String {
    let h = hex(&rng.array::<32>());
    let u = uuid_text(&rng.array::<16>());
    match rng.below(14) {
        0 => h.to_uppercase(),
        1 => h[..63].to_owned(),
        2 => format!("{h}0"),
        3 => format!("{}g", &h[..63]),
        4 => u.to_uppercase(),
        5 => u.replace('-', ""),
        6 => format!("{{{u}}}"),
        7 => {
            let len = *rng.pick(&[11, 13, 15, 8193]);
            b64::encode(&rng.bytes(len))
        }
        8 => b64::encode(&rng.bytes(16)).replace('=', ""),
        9 => b64::encode(&rng.bytes(16))
            .replace('+', "-")
            .replace('/', "_"),
        10 => format!("{} ", b64::encode(&rng.bytes(12))),
        // Non-zero unused bits: the last symbol before the padding, one up.
        11 => {
            let text = b64::encode(&[0]);
            text.replacen("AA==", "AB==", 1)
        }
        12 => rng
            .pick(&["ke", "KEN", "K", "", "\u{c9}\u{c9}"])
            .to_string(),
        _ => "x".repeat(rng.below(70)),
    }
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn random_ref(rng: &mut Rng) -> Ref {
    let len = 1 + rng.below(16);
    let text: String = (0..len)
        .map(|_| char::from(0x21 + (rng.next_u64() % 94) as u8))
        .collect();
    // Not input: the builder's own choice of characters, all in the range
    // STD1-WIRE-9 allows.
    text.parse()
        .expect("1 to 16 characters of U+0021 to U+007E are a ref")
}

fn fresh_party(rng: &mut Rng) -> PartyHashes {
    PartyHashes {
        room_hash: RoomHash::from_bytes(rng.array()),
        access_hash: AccessHash::from_bytes(rng.array()),
        sender_hash: SenderHash::from_bytes(rng.array()),
    }
}

fn payload(rng: &mut Rng) -> (Ciphertext, Iv) {
    let len = if rng.percent(5) {
        8192
    } else {
        16 + rng.below(48)
    };
    // Not input: a length the builder chose within STD1-ENC-5's bounds.
    let ciphertext =
        Ciphertext::from_bytes(rng.bytes(len)).expect("16 to 8192 bytes are a ciphertext");
    (ciphertext, Iv::from_array(rng.array()))
}

/// A valid frame of a random event, built from what the connection knows.
fn template(rng: &mut Rng, ctx: &Context, session: Session) -> ClientFrame {
    let current = match session {
        Session::Solo { current } | Session::Shared { current } => current,
        _ => None,
    };
    let some_id = |rng: &mut Rng| match rng.below(4) {
        0 | 1 => current.unwrap_or(ctx.victim_message),
        2 => ctx.victim_message,
        _ => MessageId::from_random_bytes(rng.array()),
    };
    let event = match rng.below(40) {
        0..=5 => {
            let party = match rng.below(5) {
                0..=2 => fresh_party(rng),
                3 => ctx.decoy_a,
                _ => PartyHashes {
                    room_hash: ctx.victim_room,
                    ..fresh_party(rng)
                },
            };
            ClientEvent::Create(CreateRoom {
                room_hash: party.room_hash,
                access_hash: party.access_hash,
                sender_hash: party.sender_hash,
                pairing_hash: PairingHash::from_bytes(rng.array()),
                country_iso: rng.percent(20).then(|| "KE".parse().ok()).flatten(),
            })
        }
        6..=11 => match rng.below(7) {
            0 | 1 => join_as(&ctx.decoy_a, None),
            2 => join_as(&ctx.decoy_b, rng.percent(50).then_some(ctx.decoy_pairing)),
            // A claim on the decoy room: with a random code, or with the
            // one some connection may have re-opened a slot with, which
            // replaces that slot's record (STD1-JOIN-25).
            3 => join_as(
                &PartyHashes {
                    room_hash: ctx.decoy_a.room_hash,
                    ..fresh_party(rng)
                },
                rng.percent(50).then(|| {
                    if rng.percent(20) {
                        ctx.decoy_pairing
                    } else {
                        PairingHash::from_bytes(rng.array())
                    }
                }),
            ),
            4 => join_as(
                &PartyHashes {
                    sender_hash: ctx.decoy_b.sender_hash,
                    ..ctx.decoy_a
                },
                None,
            ),
            5 => join_as(&fresh_party(rng), None),
            _ => join_as(
                &PartyHashes {
                    room_hash: ctx.victim_room,
                    ..fresh_party(rng)
                },
                None,
            ),
        },
        12..=19 => {
            let (ciphertext, iv) = payload(rng);
            let replaces = match rng.below(4) {
                0 | 1 => current,
                2 => None,
                _ => Some(some_id(rng)),
            };
            ClientEvent::SendMessage(SendMessage {
                ciphertext,
                iv,
                replaces,
            })
        }
        20..=23 => ClientEvent::ReadReceipt(ReadReceipt {
            message_id: some_id(rng),
        }),
        24..=28 => {
            let message_id = some_id(rng);
            let (ciphertext, iv) = payload(rng);
            ClientEvent::EditMessage(EditMessage {
                message_id,
                ciphertext,
                iv,
            })
        }
        29..=32 => ClientEvent::DeleteMessage(DeleteMessage {
            message_id: some_id(rng),
        }),
        33..=35 => ClientEvent::Typing,
        36..=37 => ClientEvent::ResetPairing(ResetPairing {
            pairing_hash: PairingHash::from_bytes(rng.array()),
        }),
        // Now and then with the decoy's known code, so that claims with it
        // may replace a record of the decoy room (STD1-JOIN-24).
        38 => ClientEvent::ReopenPairing(ReopenPairing {
            pairing_hash: if rng.percent(20) {
                ctx.decoy_pairing
            } else {
                PairingHash::from_bytes(rng.array())
            },
        }),
        _ => ClientEvent::ExpireRoom,
    };
    ClientFrame {
        reference: random_ref(rng),
        event,
    }
}

/// Applies one structural mutation; its name, for reports.
fn mutate(node: &mut Node, rng: &mut Rng) -> &'static str {
    let in_data = rng.percent(60);
    let kind = rng.below(10);
    if kind == 9 {
        let Some(members) = node.members(false) else {
            return "none";
        };
        if let Some(m) = members.iter_mut().find(|(n, _)| n == "\"event\"") {
            let other = rng.pick(&[
                "create",
                "join",
                "send_message",
                "typing",
                "expire_room",
                "reset_pairing",
                "reopen_pairing",
                "Create",
                "ping",
                "",
                "new_message",
            ]);
            m.1 = Node::Raw(json_string(other));
        }
        return "event";
    }
    if kind == 8 {
        let Some(members) = node.members(false) else {
            return "none";
        };
        if let Some(m) = members.iter_mut().find(|(n, _)| n == "\"ref\"") {
            m.1 = Node::Raw(match rng.below(6) {
                0 => json_string(""),
                1 => json_string(&"r".repeat(65)),
                2 => json_string("a b"),
                3 => json_string("caf\u{e9}"),
                4 => "1".into(),
                _ => "null".into(),
            });
        }
        return "ref";
    }
    let Some(members) = node.members(in_data) else {
        return "none";
    };
    let len = members.len();
    let at = rng.below(len);
    match kind {
        0 if len > 0 => {
            let mut copy = members[at].clone();
            if rng.percent(50) {
                copy.1 = Node::Raw(json_string(&near_miss(rng)));
            }
            if rng.percent(30) {
                // The same name spelt with an escape: still a duplicate
                // (STD1-WIRE-10).
                let plain = copy.0.trim_matches('"').to_owned();
                let mut chars = plain.chars();
                if let Some(first) = chars.next() {
                    copy.0 = format!("\"\\u{:04x}{}\"", u32::from(first), chars.as_str());
                }
            }
            members.insert(rng.below(len + 1), copy);
            "duplicate"
        }
        1 if len > 0 => {
            members.remove(at);
            "remove"
        }
        2 if len > 0 => {
            members[at].0 = json_string(rng.pick::<&str>(NAMES));
            "rename"
        }
        3 if len > 0 => {
            members[at].1 = Node::Raw((*rng.pick(WRONG_TYPES)).to_owned());
            "type"
        }
        4 if len > 0 => {
            members[at].1 = Node::Raw(huge_number(rng));
            "number"
        }
        5 if len > 0 => {
            members[at].1 = Node::Raw(deep(rng));
            "deep"
        }
        6 if len > 0 => {
            members[at].1 = Node::Raw(json_string(&near_miss(rng)));
            "syntax"
        }
        _ => {
            let name = json_string(rng.pick::<&str>(NAMES));
            let value = Node::Raw((*rng.pick(WRONG_TYPES)).to_owned());
            members.insert(rng.below(len + 1), (name, value));
            "add"
        }
    }
}

/// Applies one mutation to the bytes; its name.
fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng) -> &'static str {
    let len = bytes.len();
    match rng.below(6) {
        0 if len > 0 => {
            for _ in 0..=rng.below(3) {
                let at = rng.below(len);
                bytes[at] ^= 1 + rng.below(255) as u8;
            }
            "flip"
        }
        1 => {
            bytes.truncate(rng.below(len + 1));
            "truncate"
        }
        2 => {
            let token = rng.pick(TOKENS).as_bytes();
            let at = rng.below(len + 1);
            bytes.splice(at..at, token.iter().copied());
            "token"
        }
        3 if len > 0 => {
            let from = rng.below(len);
            let to = from + rng.below(len - from + 1);
            let copy = bytes[from..to].to_vec();
            let at = rng.below(len + 1);
            bytes.splice(at..at, copy);
            "repeat"
        }
        4 if len > 0 => {
            let from = rng.below(len);
            let to = from + rng.below((len - from).min(16) + 1);
            bytes.drain(from..to);
            "cut"
        }
        _ => {
            match rng.below(3) {
                0 => {
                    bytes.insert(0, b'[');
                    bytes.push(b']');
                }
                1 => {
                    bytes.splice(0..0, "\u{feff}".bytes());
                }
                _ => bytes.extend_from_slice(b" x"),
            }
            "wrap"
        }
    }
}

/// Builds one message. Only a message that may end the connection
/// (`last`) is made binary, not UTF-8 or oversized on purpose; one that
/// turns out so by chance is reported through its expectation and ends
/// the batch.
fn build_shot(rng: &mut Rng, ctx: &Context, session: Session, last: bool) -> Shot {
    let frame = template(rng, ctx, session);
    let json = frame.to_json();
    let mut how = Vec::new();
    let mut bytes = if rng.percent(30) {
        how.push("valid");
        json.into_bytes()
    } else {
        let value: serde_json::Value =
            serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
        let mut node = Node::of(&value);
        let structural = rng.below(3);
        for _ in 0..structural {
            how.push(mutate(&mut node, rng));
        }
        let mut text = String::new();
        node.render(&mut text);
        let mut bytes = text.into_bytes();
        for _ in 0..(if structural == 0 { 1 } else { rng.below(2) }) {
            how.push(mutate_bytes(&mut bytes, rng));
        }
        bytes
    };
    let mut binary = false;
    if last && rng.percent(35) {
        match rng.below(4) {
            0 => {
                binary = true;
                how.push("binary");
            }
            1 => {
                let bad = *rng.pick(NOT_UTF8);
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, bad.iter().copied());
                how.push("not-utf8");
            }
            2 => {
                let target = MAX_FRAME_BYTES + 1 + rng.below(3 * MAX_FRAME_BYTES);
                bytes.resize(target.max(bytes.len()), b' ');
                how.push("oversized");
            }
            _ => {
                bytes.resize(MAX_FRAME_BYTES + 1, b' ');
                how.push("limit+1");
            }
        }
    } else if rng.percent(4) && bytes.len() < MAX_FRAME_BYTES {
        // Exactly at the limit: must be processed (STD1-WIRE-4).
        bytes.resize(MAX_FRAME_BYTES, b' ');
        how.push("limit");
    }
    let cuts = if rng.percent(15) && bytes.len() > 1 {
        (0..=rng.below(3))
            .map(|_| 1 + rng.below(bytes.len() - 1))
            .collect()
    } else {
        Vec::new()
    };
    let ping = !cuts.is_empty() && rng.percent(50);
    let expect = expectation(&bytes, binary);
    Shot {
        payload: bytes,
        binary,
        cuts,
        ping,
        expect,
        how,
    }
}

/// What a message must get, from its bytes alone (STD1-WIRE-3,
/// STD1-WIRE-4, STD1-WIRE-10 to STD1-WIRE-14). The size limit is checked
/// before the content, as a server reads a frame's length first.
fn expectation(bytes: &[u8], binary: bool) -> Expect {
    use close_code::{INVALID_PAYLOAD, TOO_BIG, UNSUPPORTED_DATA};
    let utf8 = std::str::from_utf8(bytes);
    // A message with two of these faults may get either code: the spec
    // does not order them, and a server meets whichever it reads first
    // (the length in a frame's header, a bad byte in an early fragment).
    let oversized = bytes.len() > MAX_FRAME_BYTES;
    if binary {
        return Expect::Closed(if oversized {
            &[UNSUPPORTED_DATA, TOO_BIG]
        } else {
            &[UNSUPPORTED_DATA]
        });
    }
    if oversized {
        return Expect::Closed(if utf8.is_ok() {
            &[TOO_BIG]
        } else {
            &[TOO_BIG, INVALID_PAYLOAD]
        });
    }
    let Ok(text) = utf8 else {
        return Expect::Closed(&[INVALID_PAYLOAD]);
    };
    match decode_client_frame(text) {
        Ok(frame) => Expect::Decoded(frame),
        Err(e) => Expect::Refused {
            reference: e.reference,
            reason: e.reason,
        },
    }
}

/// Whether the spec lets this frame change the victim room: a `join` that
/// decodes and names it may count a failure or lock it (STD1-WIRE-23).
fn touches_victim(ctx: &Context, expect: &Expect) -> bool {
    matches!(expect, Expect::Decoded(ClientFrame { event: ClientEvent::Join(j), .. })
        if j.room_hash == ctx.victim_room)
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

/// How a batch left the connection.
enum Flow {
    Open,
    /// Closed as the spec prescribes; a new connection follows.
    Ended,
}

struct Worker<'a> {
    url: &'a str,
    ctx: &'a Context,
    options: &'a Options,
    budget: &'a AtomicU64,
    deadline: Instant,
    rng: Rng,
    id: usize,
    summary: Summary,
}

impl Worker<'_> {
    fn has_time(&self) -> bool {
        Instant::now() < self.deadline && self.budget.load(Ordering::Relaxed) > 0
    }

    /// Takes one frame from the budget; false when it is spent.
    fn spend(&self) -> bool {
        self.budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    async fn run(mut self) -> Summary {
        let mut connection_no = 0u64;
        while self.has_time() {
            connection_no += 1;
            let name = format!("fuzz-{}-{connection_no}", self.id);
            let mut conn = match Connection::open_for_load(self.url, &name).await {
                Ok(c) => c,
                Err(e) => {
                    self.summary
                        .violation(format!("{name}: the server refused a connection: {e}"));
                    break;
                }
            };
            self.summary.connections += 1;
            let mut session = Session::None;
            // Well under the 60 s a server may allow a connection without a
            // session (STD1-WIRE-25), and varied.
            let batches = 5 + self.rng.below(40);
            for batch_no in 0..batches {
                if !self.has_time() {
                    break;
                }
                let shots = self.batch(session, batch_no == 0);
                if shots.is_empty() {
                    continue;
                }
                match self.exchange(&mut conn, &shots, &mut session).await {
                    Ok(Flow::Open) => {}
                    Ok(Flow::Ended) => break,
                    Err(why) => {
                        let batch: Vec<String> = shots
                            .iter()
                            .enumerate()
                            .map(|(i, s)| format!("\n      {i}: {}", s.describe()))
                            .collect();
                        self.summary.violation(format!(
                            "seed {} worker {} connection {connection_no} batch {batch_no}: {why}\n    the batch:{}",
                            self.options.seed,
                            self.id,
                            batch.concat()
                        ));
                        break;
                    }
                }
            }
        }
        self.summary
    }

    /// One to six messages; only the last may end the connection. The
    /// first batch of a connection may open a session with a valid
    /// `create` or `join`, so that most frames meet a session.
    fn batch(&mut self, session: Session, first: bool) -> Vec<Shot> {
        let mut shots = Vec::new();
        if first && self.rng.percent(70) && self.spend() {
            let event = if self.rng.percent(60) {
                let party = fresh_party(&mut self.rng);
                ClientEvent::Create(CreateRoom {
                    room_hash: party.room_hash,
                    access_hash: party.access_hash,
                    sender_hash: party.sender_hash,
                    pairing_hash: PairingHash::from_bytes(self.rng.array()),
                    country_iso: None,
                })
            } else if self.rng.percent(50) {
                join_as(&self.ctx.decoy_a, None)
            } else {
                join_as(&self.ctx.decoy_b, None)
            };
            let frame = ClientFrame {
                reference: random_ref(&mut self.rng),
                event,
            };
            shots.push(Shot {
                payload: frame.to_json().into_bytes(),
                binary: false,
                cuts: Vec::new(),
                ping: false,
                expect: Expect::Decoded(frame),
                how: vec!["open"],
            });
        }
        let n = 1 + self.rng.below(6);
        for i in 0..n {
            if !self.spend() {
                break;
            }
            let shot = build_shot(&mut self.rng, self.ctx, session, i + 1 == n);
            if touches_victim(self.ctx, &shot.expect) {
                self.summary.withheld += 1;
                continue;
            }
            let ends = matches!(shot.expect, Expect::Closed(_));
            shots.push(shot);
            if ends {
                break;
            }
        }
        shots
    }

    /// Sends the batch, then reads and judges one answer per message, in
    /// order (STD1-WIRE-20).
    async fn exchange(
        &mut self,
        conn: &mut Connection,
        shots: &[Shot],
        session: &mut Session,
    ) -> Result<Flow, String> {
        let mut send_error = None;
        for shot in shots {
            self.summary.frames += 1;
            if !shot.cuts.is_empty() {
                self.summary.fragmented += 1;
            }
            // A server that closed early (a room that expired meanwhile,
            // an oversized message refused at its first fragment) makes
            // sending fail; what it sent says whether that was right.
            if let Err(e) = conn
                .send_raw(&shot.payload, shot.binary, &shot.cuts, shot.ping)
                .await
            {
                send_error = Some(e.to_string());
                break;
            }
        }
        let within = self.options.answer_timeout;
        let mut seen: Vec<Broadcast> = Vec::new();
        let mut room_gone = false;
        for (i, shot) in shots.iter().enumerate() {
            if *session == Session::Ending {
                self.unanswered(shots.len() - i);
                break;
            }
            loop {
                let incoming = conn
                    .next(within)
                    .await
                    .map_err(|e| format!("{}: {e}", shot.describe()))?;
                match incoming {
                    Incoming::Frame(ServerFrame::Broadcast(b)) => {
                        if !broadcast_allowed(*session, &b) {
                            return Err(format!(
                                "a broadcast on {session:?}: {:?}; while waiting for {}",
                                b.name(),
                                shot.describe()
                            ));
                        }
                        if let Session::Shared { current } = session {
                            match &b {
                                Broadcast::NewMessage(m) => *current = Some(m.id),
                                Broadcast::MessageDeleted { .. } => *current = None,
                                _ => {}
                            }
                        }
                        room_gone |= matches!(b, Broadcast::RoomExpired { .. });
                        seen.push(b);
                    }
                    Incoming::Frame(answer) => {
                        match &shot.expect {
                            Expect::Closed(codes) => {
                                return Err(format!(
                                    "{} must close the connection with {codes:?}, got {}",
                                    shot.describe(),
                                    answer.to_json()
                                ));
                            }
                            Expect::Refused { reference, reason } => {
                                let got = match &answer {
                                    ServerFrame::Error(e) => {
                                        Some((e.reference.as_ref(), e.error.reason))
                                    }
                                    _ => None,
                                };
                                if got != Some((reference.as_ref(), *reason)) {
                                    return Err(format!(
                                        "{} must get {reason} with ref {:?}, got {}",
                                        shot.describe(),
                                        reference.as_ref().map(Ref::as_str),
                                        answer.to_json()
                                    ));
                                }
                                self.summary.tally(format!("error {reason}"));
                            }
                            Expect::Decoded(frame) => {
                                *session = judge(self.ctx, *session, frame, &seen, &answer)
                                    .map_err(|why| format!("{}: {why}", shot.describe()))?;
                                self.summary.tally(match &answer {
                                    ServerFrame::Ok(_) => {
                                        format!("ok {}", frame.event.name().as_str())
                                    }
                                    ServerFrame::Error(e) => format!("error {}", e.error.reason),
                                    ServerFrame::Broadcast(_) => "broadcast".into(),
                                });
                            }
                        }
                        seen.clear();
                        break;
                    }
                    Incoming::Close(code) => {
                        let expected = match &shot.expect {
                            Expect::Closed(want) => code.is_some_and(|c| want.contains(&c)),
                            _ => false,
                        };
                        // A room that ended closes its sessions with 1000
                        // (STD1-LIFE-7); a shared record's oldest session
                        // may be closed with 1008 (STD1-JOIN-9), and so is
                        // one whose record a claim replaced, with the
                        // reason `record_replaced` (STD1-JOIN-25).
                        let room_ended = code == Some(close_code::ROOM_EXPIRED)
                            && (room_gone || *session == Session::Ending);
                        let reason = conn.close_frame().map_or("", |(_, r)| r);
                        let displaced = code == Some(close_code::POLICY)
                            && (matches!(session, Session::Shared { .. })
                                || (*session == Session::Replaced
                                    && reason == close_code::RECORD_REPLACED_REASON));
                        if expected || room_ended || displaced {
                            self.summary.tally(format!(
                                "close {}",
                                code.map_or_else(|| "without code".into(), |c| c.to_string())
                            ));
                            self.unanswered(shots.len() - i - usize::from(expected));
                            return Ok(Flow::Ended);
                        }
                        return Err(format!(
                            "closed with {code:?} on {session:?} instead of answering {}",
                            shot.describe()
                        ));
                    }
                    Incoming::Gone => {
                        // Where the batch's last message must close the
                        // connection, most likely a server that dropped it
                        // with that message's bytes unread, and the
                        // kernel's reset discarded the close frame
                        // (STD1-WIRE-32).
                        let closing = shots
                            .last()
                            .is_some_and(|s| matches!(s.expect, Expect::Closed(_)));
                        return Err(format!(
                            "the connection ended without a close frame instead of answering {}{}{}",
                            shot.describe(),
                            if closing {
                                " where a close was due (a reset can discard it: STD1-WIRE-32)"
                            } else {
                                ""
                            },
                            send_error
                                .as_deref()
                                .map(|e| format!(" (sending had failed: {e})"))
                                .unwrap_or_default()
                        ));
                    }
                }
            }
        }
        if *session == Session::Ending {
            return match conn.next(within).await {
                Ok(Incoming::Close(Some(close_code::ROOM_EXPIRED))) => {
                    self.summary.tally("close 1000".into());
                    Ok(Flow::Ended)
                }
                other => Err(format!(
                    "after expire_room the connection must close with 1000, got {other:?}"
                )),
            };
        }
        Ok(Flow::Open)
    }

    fn unanswered(&mut self, n: usize) {
        if n > 0 {
            *self.summary.answers.entry("unanswered".into()).or_insert(0) += n as u64;
        }
    }
}

/// Runs the fuzzer against the server at `url` and checks, afterwards,
/// that it still serves and that the victim room is as it was.
pub async fn run(url: &str, options: &Options) -> Result<Summary, WsFuzzError> {
    let within = options.answer_timeout;
    let setup = |room: &'static str| move |why: String| WsFuzzError::Setup { room, why };
    let victim = PairedRoom::open(url, "victim", within)
        .await
        .map_err(setup("victim"))?;
    let decoy = PairedRoom::open(url, "decoy", within)
        .await
        .map_err(setup("decoy"))?;
    let margin = options.duration + Duration::from_secs(120);
    if Timestamp::now()
        .checked_add(margin)
        .is_none_or(|end| victim.joined.ttl_expires_at <= end)
    {
        return Err(WsFuzzError::ShortLifetime {
            expires: victim.joined.ttl_expires_at,
        });
    }
    let room_id = victim.joined.room_id;
    let rows_before = match &options.database_url {
        Some(db) => Some(room_rows(db, room_id).await?),
        None => None,
    };
    let ctx = Context {
        victim_room: victim.a.room_hash,
        victim_message: victim.message.id,
        decoy_a: decoy.a,
        decoy_b: decoy.b,
        decoy_pairing: decoy.pairing,
    };
    drop(decoy.connections);

    let mut summary = Summary {
        seed: options.seed,
        ..Summary::default()
    };
    let (mut va, mut vb) = victim.connections;
    let budget = AtomicU64::new(options.max_frames.unwrap_or(u64::MAX));
    let started = Instant::now();
    let deadline = started + options.duration;
    let stop = tokio::sync::Notify::new();
    let fuzzing = async {
        let workers = (0..options.workers.max(1)).map(|id| {
            Worker {
                url,
                ctx: &ctx,
                options,
                budget: &budget,
                deadline,
                rng: Rng::new(options.seed ^ (id as u64).wrapping_mul(0xa076_1d64_78bd_642f)),
                id,
                summary: Summary::default(),
            }
            .run()
        });
        let results = futures_util::future::join_all(workers).await;
        stop.notify_one();
        results
    };
    // The victim's sessions are read throughout, so that pings are
    // answered and anything that reaches them is seen.
    let watching = async {
        let mut reached = Vec::new();
        loop {
            tokio::select! {
                () = stop.notified() => break,
                got = va.next(Duration::from_secs(3600)) => reached.push(format!("victim A: {got:?}")),
                got = vb.next(Duration::from_secs(3600)) => reached.push(format!("victim B: {got:?}")),
            }
            if reached.len() >= 2 {
                // A session that ended would be reported in a loop.
                break;
            }
        }
        reached
    };
    let (results, reached) = tokio::join!(fuzzing, watching);
    summary.sending = started.elapsed();
    for r in results {
        summary.merge(r);
    }
    for r in reached {
        summary.violation(format!(
            "the victim's session received something during the run: {r}"
        ));
    }

    // Still serving: a fresh pair of parties can create, join and send.
    if let Err(why) = PairedRoom::open(url, "after", within).await {
        summary.violation(format!(
            "the server no longer serves a new room after the run: {why}"
        ));
    }
    // The victim's rows, before anything below touches them.
    if let (Some(db), Some(before)) = (&options.database_url, rows_before) {
        let after = room_rows(db, room_id).await?;
        summary.rows_compared = Some(before.len());
        if after != before {
            summary.violation(format!(
                "the victim's rows changed:\nbefore: {before:#?}\nafter: {after:#?}"
            ));
        }
    }
    // Both parties find the same room and message.
    for (who, party) in [("A", &victim.a), ("B", &victim.b)] {
        let found = async {
            let mut c = Connection::open(url, &format!("victim-{who}-again"))
                .await
                .map_err(|e| e.to_string())?;
            joined_reply(&mut c, join_as(party, None), within).await
        }
        .await;
        match found {
            Ok(j) => {
                let expected = Joined {
                    awaiting_party: false,
                    current_message: Some(victim.message.clone()),
                    ..victim.joined.clone()
                };
                if j != expected {
                    summary.violation(format!("victim {who} finds {j:?}, not {expected:?}"));
                }
            }
            Err(why) => summary.violation(format!("victim {who} cannot join again: {why}")),
        }
    }
    // Nothing was on its way to the victim's sessions either: the read
    // receipt's broadcast, ordered after everything the room had before
    // (STD1-WIRE-30), must be the first thing each receives.
    if summary.passed() {
        let read = ClientEvent::ReadReceipt(ReadReceipt {
            message_id: victim.message.id,
        });
        let first = async {
            vb.send(read).await.map_err(|e| e.to_string())?;
            let (before, answer) = reply(&mut vb, within).await?;
            let on_a = va.next(within).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((before, answer, on_a))
        }
        .await;
        let is_read = |b: &Broadcast| matches!(b, Broadcast::MessageRead { message_id, .. } if *message_id == victim.message.id);
        match first {
            Ok((before, ServerFrame::Ok(_), Incoming::Frame(ServerFrame::Broadcast(on_a))))
                if before.len() == 1 && is_read(&before[0]) && is_read(&on_a) => {}
            other => summary.violation(format!(
                "after the run, the victim's read receipt must be the first thing its sessions get: {other:?}"
            )),
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stelgano_spec::wire::{Done, ErrorBody, ErrorReply, OkReply, Sent};

    fn party(n: u8) -> PartyHashes {
        PartyHashes {
            room_hash: RoomHash::from_bytes([n; 32]),
            access_hash: AccessHash::from_bytes([n + 1; 32]),
            sender_hash: SenderHash::from_bytes([n + 2; 32]),
        }
    }

    fn ctx() -> Context {
        Context {
            victim_room: RoomHash::from_bytes([9; 32]),
            victim_message: MessageId::from_random_bytes([9; 16]),
            decoy_a: party(20),
            decoy_b: PartyHashes {
                room_hash: RoomHash::from_bytes([20; 32]),
                ..party(30)
            },
            decoy_pairing: PairingHash::from_bytes([40; 32]),
        }
    }

    fn r() -> Ref {
        "7".parse().expect("ref")
    }

    fn frame(event: ClientEvent) -> ClientFrame {
        ClientFrame {
            reference: r(),
            event,
        }
    }

    fn error(reason: ErrorReason) -> ServerFrame {
        ServerFrame::Error(ErrorReply {
            reference: Some(r()),
            error: ErrorBody::plain(reason),
        })
    }

    fn done() -> ServerFrame {
        ServerFrame::Ok(OkReply {
            reference: r(),
            ok: ReplyBody::Done(Done {}),
        })
    }

    fn send(replaces: Option<MessageId>) -> ClientFrame {
        let (ciphertext, iv) = payload(&mut Rng::new(1));
        frame(ClientEvent::SendMessage(SendMessage {
            ciphertext,
            iv,
            replaces,
        }))
    }

    fn message(id: MessageId) -> Message {
        let (ciphertext, iv) = payload(&mut Rng::new(2));
        Message {
            id,
            sender_hash: SenderHash::from_bytes([1; 32]),
            ciphertext,
            iv,
            sent_at: Timestamp::EPOCH,
            read_at: None,
            edited: false,
        }
    }

    #[test]
    fn a_session_event_without_a_session_must_be_not_joined() {
        // STD1-WIRE-21
        let c = ctx();
        let typing = frame(ClientEvent::Typing);
        assert_eq!(
            judge(
                &c,
                Session::None,
                &typing,
                &[],
                &error(ErrorReason::NotJoined)
            ),
            Ok(Session::None)
        );
        assert!(judge(&c, Session::None, &typing, &[], &done()).is_err());
        assert!(
            judge(
                &c,
                Session::None,
                &typing,
                &[],
                &error(ErrorReason::RateLimited)
            )
            .is_err()
        );
    }

    #[test]
    fn a_shared_session_whose_record_was_replaced_answers_not_joined() {
        // STD1-JOIN-25: a claim with a re-opened code may replace a decoy
        // record; its session then changes nothing until its close.
        let c = ctx();
        let shared = Session::Shared { current: None };
        let typing = frame(ClientEvent::Typing);
        let not_joined = error(ErrorReason::NotJoined);
        assert_eq!(
            judge(&c, shared, &typing, &[], &not_joined),
            Ok(Session::Replaced)
        );
        assert_eq!(
            judge(&c, Session::Replaced, &typing, &[], &not_joined),
            Ok(Session::Replaced)
        );
        assert!(judge(&c, Session::Replaced, &typing, &[], &done()).is_err());
        let join = frame(join_as(&c.decoy_a, None));
        assert_eq!(
            judge(
                &c,
                Session::Replaced,
                &join,
                &[],
                &error(ErrorReason::AlreadyJoined)
            ),
            Ok(Session::Replaced)
        );
        // Nobody else can enter a solo room, so nobody can replace its
        // record; re-opening its other slot is a reset (STD1-JOIN-24).
        let solo = Session::Solo { current: None };
        assert!(judge(&c, solo, &typing, &[], &not_joined).is_err());
        let reopen = frame(ClientEvent::ReopenPairing(ReopenPairing {
            pairing_hash: PairingHash::from_bytes([4; 32]),
        }));
        assert_eq!(judge(&c, solo, &reopen, &[], &done()), Ok(solo));
    }

    #[test]
    fn the_answer_must_echo_the_ref() {
        // STD1-WIRE-9
        let c = ctx();
        let typing = frame(ClientEvent::Typing);
        let other = ServerFrame::Error(ErrorReply {
            reference: Some("8".parse().expect("ref")),
            error: ErrorBody::plain(ErrorReason::NotJoined),
        });
        assert!(judge(&c, Session::None, &typing, &[], &other).is_err());
    }

    #[test]
    fn a_create_of_the_victims_room_must_be_room_exists() {
        // STD1-JOIN-2: the victim room stays live, so a create of its hash
        // that succeeded would be a second room with one hash.
        let c = ctx();
        let create = frame(ClientEvent::Create(CreateRoom {
            room_hash: c.victim_room,
            access_hash: AccessHash::from_bytes([1; 32]),
            sender_hash: SenderHash::from_bytes([2; 32]),
            pairing_hash: PairingHash::from_bytes([3; 32]),
            country_iso: None,
        }));
        assert_eq!(
            judge(
                &c,
                Session::None,
                &create,
                &[],
                &error(ErrorReason::RoomExists)
            ),
            Ok(Session::None)
        );
        let joined = ServerFrame::Ok(OkReply {
            reference: r(),
            ok: ReplyBody::Joined(Joined {
                room_id: RoomId::from_random_bytes([5; 16]),
                ttl_expires_at: Timestamp::EPOCH,
                awaiting_party: true,
                current_message: None,
            }),
        });
        assert!(judge(&c, Session::None, &create, &[], &joined).is_err());
    }

    #[test]
    fn a_solo_send_is_predicted_exactly() {
        // STD1-MSG-2 (first matching rule: not_your_turn, then conflict),
        // STD1-WIRE-30 (the requester's new_message before its reply).
        let c = ctx();
        let id = MessageId::from_random_bytes([6; 16]);
        let sent = ServerFrame::Ok(OkReply {
            reference: r(),
            ok: ReplyBody::Sent(Sent { message_id: id }),
        });
        let empty = Session::Solo { current: None };
        let own = [Broadcast::NewMessage(message(id))];
        assert_eq!(
            judge(&c, empty, &send(None), &own, &sent),
            Ok(Session::Solo { current: Some(id) })
        );
        assert!(
            judge(&c, empty, &send(None), &[], &sent).is_err(),
            "no broadcast first"
        );
        assert!(judge(&c, empty, &send(Some(id)), &own, &sent).is_err());
        assert!(judge(&c, empty, &send(None), &[], &error(ErrorReason::Conflict)).is_err());
        let full = Session::Solo { current: Some(id) };
        assert_eq!(
            judge(
                &c,
                full,
                &send(Some(id)),
                &[],
                &error(ErrorReason::NotYourTurn)
            ),
            Ok(full)
        );
        assert!(
            judge(
                &c,
                full,
                &send(Some(id)),
                &[],
                &error(ErrorReason::Conflict)
            )
            .is_err()
        );
    }

    #[test]
    fn a_solo_room_gets_no_strangers_broadcasts() {
        // A room with one party hears only its own operations.
        let solo = Session::Solo { current: None };
        assert!(!broadcast_allowed(solo, &Broadcast::CounterpartyTyping {}));
        assert!(!broadcast_allowed(solo, &Broadcast::PartyPaired {}));
        assert!(!broadcast_allowed(
            Session::None,
            &Broadcast::NewMessage(message(MessageId::from_random_bytes([1; 16])))
        ));
        assert!(broadcast_allowed(
            Session::Shared { current: None },
            &Broadcast::CounterpartyTyping {}
        ));
    }

    #[test]
    fn expectations_follow_the_transport_rules() {
        // STD1-WIRE-3, STD1-WIRE-4: binary, not UTF-8, over the limit; the
        // limit itself is allowed.
        assert_eq!(expectation(b"{}", true), Expect::Closed(&[1003]));
        assert_eq!(
            expectation(&[b' '; MAX_FRAME_BYTES + 1], true),
            Expect::Closed(&[1003, 1009])
        );
        assert_eq!(
            expectation(&[b'{', 0xff, b'}'], false),
            Expect::Closed(&[1007])
        );
        let mut at_limit = b"{}".to_vec();
        at_limit.resize(MAX_FRAME_BYTES, b' ');
        assert_eq!(
            expectation(&at_limit, false),
            Expect::Refused {
                reference: None,
                reason: ErrorReason::InvalidFrame
            }
        );
        at_limit.push(b' ');
        assert_eq!(expectation(&at_limit, false), Expect::Closed(&[1009]));
        // Both faults: either code (STD1-WIRE-3 and STD1-WIRE-4 do not
        // order them).
        at_limit[1] = 0xff;
        assert_eq!(expectation(&at_limit, false), Expect::Closed(&[1009, 1007]));
    }

    #[test]
    fn a_decodable_join_of_the_victims_room_is_withheld() {
        // STD1-WIRE-23: it may count a failure; a broken one may be sent.
        let c = ctx();
        let join = frame(join_as(
            &PartyHashes {
                room_hash: c.victim_room,
                ..party(1)
            },
            None,
        ));
        assert!(touches_victim(&c, &Expect::Decoded(join.clone())));
        let mut broken = join.to_json();
        broken.push('x');
        assert!(!touches_victim(&c, &expectation(broken.as_bytes(), false)));
    }

    #[test]
    fn mutations_make_every_kind_of_frame() {
        // The generator must reach each class of answer, or the run checks
        // less than it claims.
        let c = ctx();
        let mut rng = Rng::new(42);
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..4000 {
            let session = if i % 2 == 0 {
                Session::None
            } else {
                Session::Solo { current: None }
            };
            let shot = build_shot(&mut rng, &c, session, i % 3 == 0);
            kinds.insert(match &shot.expect {
                Expect::Closed(codes) => format!("close {codes:?}"),
                Expect::Refused { reason, .. } => reason.as_str().to_owned(),
                Expect::Decoded(f) => format!("decoded {}", f.event.name().as_str()),
            });
        }
        for want in [
            "close [1003]",
            "close [1007]",
            "close [1009]",
            "close [1009, 1007]",
            "invalid_frame",
            "unknown_event",
            "invalid_payload",
            "invalid_room",
            "invalid_message_id",
            "invalid_encoding",
            "decoded create",
            "decoded send_message",
            "decoded expire_room",
        ] {
            assert!(kinds.contains(want), "{want} not reached: {kinds:?}");
        }
    }
}
