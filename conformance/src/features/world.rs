//! The world of one scenario: a steg number of its own, the people in it
//! with their PINs and connections, what the server answered them, and
//! every secret and identifier the scenario used, so that the database and
//! log steps know exactly what to look for.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use stelgano_spec::ErrorReason;
use stelgano_spec::crypto::Sealed;
use stelgano_spec::derive::{EncKey, PartyHashes, Phone, Pin, enc_key};
use stelgano_spec::ids::{MessageId, Ref, RoomId};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{
    Broadcast, ClientEvent, ErrorBody, Joined, ReplyBody, ServerFrame, Timestamp,
};
use tokio::time::Instant;

use super::FeatureTarget;
use crate::client::{ClientError, Connection, Incoming};
use crate::fixtures;

/// How long any one frame may take. Generous: the target may have a time
/// floor (STD1-JOIN-21), and scenarios share the machine.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a step failed; its text becomes the scenario's verdict.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// The target did something the scenario says it must not.
    #[error("{0}")]
    Expectation(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the operator log: {0}")]
    Log(#[from] std::io::Error),
    /// The scenario is written wrongly: a step needs an earlier one.
    #[error("the scenario is incomplete: {0}")]
    Setup(String),
}

/// Shorthand for a failed expectation.
pub fn expected(text: impl Into<String>) -> StepFailure {
    StepFailure::Expectation(text.into())
}

/// What one request was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Ok(ReplyBody),
    Error(ErrorBody),
}

impl Answer {
    /// The error reason, if the answer is an error.
    pub fn reason(&self) -> Option<ErrorReason> {
        match self {
            Answer::Error(e) => Some(e.reason),
            Answer::Ok(_) => None,
        }
    }

    /// The `Joined` reply, if it is one.
    pub fn joined(&self) -> Option<&Joined> {
        match self {
            Answer::Ok(ReplyBody::Joined(j)) => Some(j),
            _ => None,
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Ok(ReplyBody::Joined(j)) => write!(
                f,
                "joined (awaiting_party {}, {})",
                j.awaiting_party,
                if j.current_message.is_some() {
                    "a message"
                } else {
                    "no message"
                }
            ),
            Answer::Ok(ReplyBody::Sent(_)) => f.write_str("sent"),
            Answer::Ok(ReplyBody::Done(_)) => f.write_str("{}"),
            Answer::Error(e) => {
                write!(f, "`{}`", e.reason)?;
                if let Some(n) = e.attempts_remaining {
                    write!(f, " with attempts_remaining {n}")?;
                }
                if let Some(s) = e.retry_after {
                    write!(f, " with retry_after {s}")?;
                }
                Ok(())
            }
        }
    }
}

/// One connection of a person, and what arrived on it besides replies.
pub struct Session {
    pub conn: Connection,
    /// The local address it was opened from (`Person::network`).
    pub network: Option<IpAddr>,
    /// Whether a `create` or `join` on it succeeded.
    pub joined: bool,
    /// Broadcasts received and not yet looked at, in arrival order.
    pub inbox: VecDeque<Broadcast>,
    /// The close, once seen, with its status code.
    pub closed: Option<Option<u16>>,
}

impl Session {
    /// Sends a request and waits for its reply; broadcasts that arrive
    /// first are kept in the inbox.
    pub async fn request(&mut self, event: ClientEvent) -> Result<Answer, StepFailure> {
        let reference = self.conn.send(event).await?;
        self.reply_to(&reference).await
    }

    async fn reply_to(&mut self, reference: &Ref) -> Result<Answer, StepFailure> {
        loop {
            match self.conn.next(FRAME_TIMEOUT).await? {
                Incoming::Frame(ServerFrame::Ok(r)) if &r.reference == reference => {
                    return Ok(Answer::Ok(r.ok));
                }
                Incoming::Frame(ServerFrame::Error(e))
                    if e.reference.as_ref() == Some(reference) =>
                {
                    return Ok(Answer::Error(e.error));
                }
                Incoming::Frame(ServerFrame::Broadcast(b)) => self.inbox.push_back(b),
                Incoming::Frame(other) => {
                    return Err(expected(format!(
                        "a reply to another request arrived: {}",
                        other.to_json()
                    )));
                }
                Incoming::Close(code) => {
                    self.closed = Some(code);
                    return Err(expected(format!(
                        "the connection was closed ({code:?}) before the reply"
                    )));
                }
                Incoming::Gone => {
                    self.closed = Some(None);
                    return Err(expected("the connection ended before the reply"));
                }
            }
        }
    }

    /// The next broadcast, from the inbox or the connection, by `deadline`.
    pub async fn next_broadcast(&mut self, deadline: Instant) -> Result<Broadcast, StepFailure> {
        if let Some(b) = self.inbox.pop_front() {
            return Ok(b);
        }
        let within = deadline.saturating_duration_since(Instant::now());
        match self.conn.next(within).await? {
            Incoming::Frame(ServerFrame::Broadcast(b)) => Ok(b),
            Incoming::Frame(other) => Err(expected(format!(
                "a reply arrived where a broadcast was expected: {}",
                other.to_json()
            ))),
            Incoming::Close(code) => {
                self.closed = Some(code);
                Err(expected(format!(
                    "the connection was closed ({code:?}) where a broadcast was expected"
                )))
            }
            Incoming::Gone => {
                self.closed = Some(None);
                Err(expected(
                    "the connection ended where a broadcast was expected",
                ))
            }
        }
    }

    /// Waits for the server's close, by `deadline`; any frame before it
    /// fails the step.
    pub async fn close_code(&mut self, deadline: Instant) -> Result<Option<u16>, StepFailure> {
        if let Some(code) = self.closed {
            return Ok(code);
        }
        if let Some(b) = self.inbox.pop_front() {
            return Err(expected(format!(
                "the broadcast `{}` arrived where the close was expected",
                b.name()
            )));
        }
        let within = deadline.saturating_duration_since(Instant::now());
        match self.conn.next(within).await? {
            Incoming::Close(code) => {
                self.closed = Some(code);
                Ok(code)
            }
            Incoming::Gone => Err(expected("the connection ended without a close frame")),
            Incoming::Frame(f) => Err(expected(format!(
                "a frame arrived where the close was expected: {}",
                f.to_json()
            ))),
        }
    }
}

/// One person of the scenario: Alice creates, Bob is invited, Mallory
/// is the intruder, Carol owns a second room.
pub struct Person {
    pub hashes: PartyHashes,
    /// Hashes of PINs the person used before, newest last: a party that
    /// claimed its slot anew with a new PIN (STD1-JOIN-25).
    pub old_hashes: Vec<PartyHashes>,
    pub sessions: Vec<Session>,
    /// The local address the person's new connections come from, their
    /// network origin to the target (STD1-JOIN-22); `None` is the
    /// system's choice, one network shared by everyone who never moved.
    pub network: Option<IpAddr>,
    /// Every answer the person received, in order.
    pub answers: Vec<Answer>,
}

impl Person {
    /// The last answer the person received.
    pub fn last(&self) -> Result<&Answer, StepFailure> {
        self.answers
            .last()
            .ok_or_else(|| StepFailure::Setup("nobody asked anything yet".into()))
    }

    /// The person's newest session that is in a room and still open.
    pub fn joined_session(&mut self) -> Result<&mut Session, StepFailure> {
        self.sessions
            .iter_mut()
            .rev()
            .find(|s| s.joined && s.closed.is_none())
            .ok_or_else(|| StepFailure::Setup("this person has no open session".into()))
    }
}

/// A message the scenario sent, by the label the feature gives it.
#[derive(Clone)]
pub struct SentMessage {
    /// The plaintext really encrypted: the label and a random suffix, so
    /// that no other scenario's text can be mistaken for this one.
    pub plaintext: String,
    pub sealed: Sealed,
    pub id: Option<MessageId>,
}

/// Everything secret or identifying that the scenario used.
#[derive(Default)]
pub struct Secrets {
    pub pins: Vec<String>,
    pub pairing_codes: Vec<String>,
    pub plaintexts: Vec<String>,
    pub keys: Vec<[u8; 32]>,
    pub addresses: Vec<String>,
    /// Room, access, sender and pairing hashes.
    pub hashes: Vec<[u8; 32]>,
    pub room_ids: Vec<RoomId>,
    pub message_ids: Vec<MessageId>,
    /// Ciphertexts and IVs.
    pub blobs: Vec<Vec<u8>>,
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random run of letters from `g` to `z`: text that cannot occur by
/// chance in hex, base64 of our own values, digits or timestamps.
pub fn random_letters(n: usize) -> Result<String, StepFailure> {
    let mut bytes = vec![0_u8; n];
    getrandom::fill(&mut bytes).map_err(|e| StepFailure::Setup(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| char::from(b'g' + b % 20)).collect())
}

/// The world of one scenario.
pub struct FeatureWorld {
    pub target: Arc<FeatureTarget>,
    /// The scenario's own steg number.
    pub phone: Phone,
    /// The pairing code Alice handed to Bob, or the one a party re-opened
    /// a slot with last (STD1-JOIN-24).
    pub pairing: PairingCode,
    /// Codes replaced by `reset_pairing` or `reopen_pairing`, oldest first.
    pub replaced_codes: Vec<PairingCode>,
    pub people: BTreeMap<String, Person>,
    /// The room as its creation reply described it.
    pub room: Option<Joined>,
    /// The current message's id, as the scenario's own requests left it.
    pub current: Option<MessageId>,
    pub messages: HashMap<String, SentMessage>,
    pub keys: HashMap<RoomId, EncKey>,
    pub secrets: Secrets,
    /// When the lock the server last reported has certainly passed.
    pub lock_passed_at: Option<Instant>,
    /// Answers of the last "guesses until the room locks" step.
    pub guesses: Vec<Answer>,
    /// The two sides of the last race, by person.
    pub race: Vec<(String, Answer)>,
    /// A number nobody has used, when a step needs one.
    pub unused_phone: Option<Phone>,
    /// Networks handed out so far (`FeatureWorld::move_to_new_network`).
    pub networks_used: u8,
    /// The operator log's size when the scenario began watching it.
    pub log_start: Option<u64>,
    /// Raw replies of the malformed-frame step, with the reasons expected.
    pub raw_replies: Vec<(String, ErrorReason)>,
    /// Status and body of the HTTP answers about the room and a number
    /// nobody has used, path by path.
    pub http_answers: Vec<(String, String, String)>,
}

impl fmt::Debug for FeatureWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of any output.
        f.debug_struct("FeatureWorld")
            .field("people", &self.people.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl FeatureWorld {
    /// Checks that of the two racing requests, one `succeeded` and the
    /// other was refused with `refused`: the outcome of one serial order.
    pub fn race_one_each(
        &self,
        what: &str,
        succeeded: impl Fn(&Answer) -> bool,
        refused: ErrorReason,
    ) -> Result<(), StepFailure> {
        let ok = self.race.iter().filter(|(_, a)| succeeded(a)).count();
        let no = self
            .race
            .iter()
            .filter(|(_, a)| a.reason() == Some(refused))
            .count();
        if ok == 1 && no == 1 {
            return Ok(());
        }
        let answers: Vec<String> = self.race.iter().map(|(n, a)| format!("{n}: {a}")).collect();
        Err(expected(format!(
            "the racing {what} were answered {}",
            answers.join("; ")
        )))
    }

    /// A fresh world for one scenario against `target`.
    pub fn new(target: Arc<FeatureTarget>) -> Result<Self, StepFailure> {
        let phone = fixtures::steg_number().map_err(StepFailure::Setup)?;
        let pairing = fixtures::pairing_code().map_err(StepFailure::Setup)?;
        let mut secrets = Secrets::default();
        secrets.pairing_codes.push(pairing.as_str().to_owned());
        secrets.hashes.push(*pairing.hash().as_bytes());
        Ok(Self {
            target,
            phone,
            pairing,
            replaced_codes: Vec::new(),
            people: BTreeMap::new(),
            room: None,
            current: None,
            messages: HashMap::new(),
            keys: HashMap::new(),
            secrets,
            lock_passed_at: None,
            guesses: Vec::new(),
            race: Vec::new(),
            unused_phone: None,
            networks_used: 0,
            log_start: None,
            raw_replies: Vec::new(),
            http_answers: Vec::new(),
        })
    }

    /// A fresh random PIN, recorded as a secret.
    pub fn fresh_pin(&mut self) -> Result<Pin, StepFailure> {
        let raw = format!("pin-{}", random_letters(10)?);
        self.secrets.pins.push(raw.clone());
        Pin::parse(&raw).map_err(|e| StepFailure::Setup(format!("PIN: {e}")))
    }

    /// Records a person's hashes as identifiers to look for.
    fn record_hashes(&mut self, hashes: &PartyHashes) {
        self.secrets.hashes.extend([
            *hashes.room_hash.as_bytes(),
            *hashes.access_hash.as_bytes(),
            *hashes.sender_hash.as_bytes(),
        ]);
    }

    /// The person called `name`, with a PIN of their own for `phone`,
    /// made on first mention.
    pub fn person_on(&mut self, name: &str, phone: &Phone) -> Result<&mut Person, StepFailure> {
        if !self.people.contains_key(name) {
            let pin = self.fresh_pin()?;
            let hashes = PartyHashes::derive(phone, &pin);
            self.record_hashes(&hashes);
            self.people.insert(
                name.to_owned(),
                Person {
                    hashes,
                    old_hashes: Vec::new(),
                    sessions: Vec::new(),
                    network: None,
                    answers: Vec::new(),
                },
            );
        }
        self.people
            .get_mut(name)
            .ok_or_else(|| StepFailure::Setup(format!("no {name}")))
    }

    /// The person called `name` on the scenario's own number.
    pub fn person(&mut self, name: &str) -> Result<&mut Person, StepFailure> {
        let phone = self.phone.clone();
        self.person_on(name, &phone)
    }

    /// Hashes for `phone` under a fresh wrong PIN, recorded as secrets.
    pub fn wrong_hashes(&mut self, phone: &Phone) -> Result<PartyHashes, StepFailure> {
        let pin = self.fresh_pin()?;
        let hashes = PartyHashes::derive(phone, &pin);
        self.record_hashes(&hashes);
        Ok(hashes)
    }

    /// Moves `name` to a network nobody in the scenario has used: a
    /// loopback address of its own (all of 127/8 is local on Linux), which
    /// only a target on this machine's loopback sees as another origin
    /// (scenarios that need it are tagged `@networks`).
    pub fn move_to_new_network(&mut self, name: &str) -> Result<(), StepFailure> {
        if !self.target.networks {
            return Err(StepFailure::Setup(
                "networks of their own need a loopback target".into(),
            ));
        }
        self.networks_used = self
            .networks_used
            .checked_add(1)
            .filter(|n| *n <= 200)
            .ok_or_else(|| StepFailure::Setup("out of local addresses".into()))?;
        let address = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 30 + self.networks_used));
        self.person(name)?.network = Some(address);
        Ok(())
    }

    /// Moves `name` onto `other`'s network.
    pub fn move_to_network_of(&mut self, name: &str, other: &str) -> Result<(), StepFailure> {
        let network = self.person(other)?.network;
        self.person(name)?.network = network;
        Ok(())
    }

    /// Opens a new connection for `name`, from the person's network.
    pub async fn open_session(&mut self, name: &str) -> Result<(), StepFailure> {
        let network = self.person(name)?.network;
        let conn = Connection::open_from(&self.target.url, name, network).await?;
        if let Some(addr) = conn.local_addr() {
            self.secrets.addresses.push(addr.to_string());
        }
        self.person(name)?.sessions.push(Session {
            conn,
            network,
            joined: false,
            inbox: VecDeque::new(),
            closed: None,
        });
        Ok(())
    }

    /// Sends `event` as `name` on a connection without a session (a new
    /// one when `fresh` or when the person has none), and records the
    /// answer; a successful `create` or `join` marks the session joined.
    pub async fn request_unjoined(
        &mut self,
        name: &str,
        event: ClientEvent,
        fresh: bool,
    ) -> Result<Answer, StepFailure> {
        let person = self.person(name)?;
        let network = person.network;
        let reusable = person
            .sessions
            .last()
            .is_some_and(|s| !s.joined && s.closed.is_none() && s.network == network);
        if fresh || !reusable {
            self.open_session(name).await?;
        }
        let person = self.person(name)?;
        let session = person
            .sessions
            .last_mut()
            .ok_or_else(|| StepFailure::Setup("no connection".into()))?;
        let answer = session.request(event).await?;
        if answer.joined().is_some() {
            session.joined = true;
        }
        person.answers.push(answer.clone());
        self.note_answer(&answer);
        Ok(answer)
    }

    /// Sends `event` on `name`'s open session and records the answer.
    pub async fn request_joined(
        &mut self,
        name: &str,
        event: ClientEvent,
    ) -> Result<Answer, StepFailure> {
        let person = self.person(name)?;
        let answer = person.joined_session()?.request(event).await?;
        person.answers.push(answer.clone());
        self.note_answer(&answer);
        Ok(answer)
    }

    /// Keeps what an answer reveals: ids to look for in logs, and when a
    /// reported lock will have passed (the server's own `retry_after`,
    /// plus a second for the truncation of its clock, STD1-SRV-7).
    pub fn note_answer(&mut self, answer: &Answer) {
        match answer {
            Answer::Ok(ReplyBody::Joined(j)) => {
                self.secrets.room_ids.push(j.room_id);
                if let Some(m) = &j.current_message {
                    self.secrets.message_ids.push(m.id);
                }
            }
            Answer::Ok(ReplyBody::Sent(s)) => self.secrets.message_ids.push(s.message_id),
            Answer::Error(e) => {
                if let (ErrorReason::Locked, Some(seconds)) = (e.reason, e.retry_after) {
                    self.lock_passed_at =
                        Some(Instant::now() + Duration::from_secs(u64::from(seconds) + 1));
                }
            }
            Answer::Ok(ReplyBody::Done(_)) => {}
        }
    }

    /// The message key of `room_id`, derived once (STD1-DRV-7; PBKDF2 is
    /// slow, so off the scenarios' thread) and recorded as a secret.
    pub async fn key(&mut self, room_id: RoomId) -> Result<EncKey, StepFailure> {
        if let Some(key) = self.keys.get(&room_id) {
            return Ok(key.clone());
        }
        let phone = self.phone.clone();
        let key = tokio::task::spawn_blocking(move || enc_key(&phone, &room_id))
            .await
            .map_err(|e| StepFailure::Setup(format!("key derivation: {e}")))?;
        self.secrets.keys.push(*key.as_bytes());
        self.keys.insert(room_id, key.clone());
        Ok(key)
    }

    /// The room the scenario created.
    pub fn room(&self) -> Result<&Joined, StepFailure> {
        self.room
            .as_ref()
            .ok_or_else(|| StepFailure::Setup("no room was created".into()))
    }

    /// The message the feature calls `label`.
    pub fn message(&self, label: &str) -> Result<&SentMessage, StepFailure> {
        self.messages
            .get(label)
            .ok_or_else(|| StepFailure::Setup(format!("no message \"{label}\" was written")))
    }

    /// Seconds from now until `at` (negative when past).
    pub fn seconds_until(at: Timestamp) -> i64 {
        at.seconds_since(Timestamp::now())
    }
}
