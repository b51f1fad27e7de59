//! Replays the model's traces (`conformance/traces/`) against a target and
//! compares every reply, broadcast and close with what the trace expects.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stelgano_model::action::{Code, Op, Pin as TracePin, Request};
use stelgano_model::outcome::{Broadcast as Expected, Cause, Outcome, Reply};
use stelgano_model::state::{MsgId, Party};
use stelgano_model::trace::{Environment, Step, Trace};
use stelgano_spec::derive::{PartyHashes, Pin};
use stelgano_spec::ids::{MessageId, Ref};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{
    Broadcast, ClientEvent, CreateRoom, DeleteMessage, EditMessage, ExpiryCause, JoinRoom,
    ReadReceipt, ReopenPairing, ReplyBody, ResetPairing, SendMessage, ServerFrame, Timestamp,
    close_code,
};

use crate::client::{ClientError, Connection, Incoming};
use crate::fixtures;

/// What a replay needs to know about the target and the corpus.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `ws://host:port/ws` of the target.
    pub url: String,
    /// The PINs of A, B and M (`corpus.json`).
    pub pins: [String; 3],
    /// The PIN B types when it slips (`corpus.json`'s `B_typo`), for joins
    /// with `"pin": "typo"`.
    pub typo_pin: String,
    /// How long to wait for any one frame.
    pub frame_timeout: Duration,
    /// How long after a room's expiry time its sessions may wait for the
    /// `room_expired` broadcast (STD1-LIFE-4 allows 60 seconds; a target
    /// that sweeps faster lets replays finish sooner).
    pub expiry_grace: Duration,
    /// The local addresses A, B and M connect from, one network each
    /// (M takes A's in traces with `shared_network`); `None` connects
    /// every party from the system's choice, one network for all, which
    /// only traces without a join during a lock tolerate
    /// ([`needs_networks`]).
    pub party_addresses: Option<[IpAddr; 3]>,
}

/// Whether a trace can only pass with a network of its own per party: it
/// joins during a lock, where the answer depends on the origin
/// (STD1-JOIN-22).
pub fn needs_networks(trace: &Trace) -> bool {
    trace.requirements.contains("STD1-JOIN-22")
}

/// Local addresses for the parties when the target is on this machine's
/// loopback (all of 127/8 is local on Linux): 127.0.0.11 to .13.
pub fn loopback_party_addresses(url: &str) -> Option<[IpAddr; 3]> {
    let host = url
        .strip_prefix("ws://")?
        .split('/')
        .next()?
        .rsplit_once(':')
        .map_or_else(|| "", |(host, _)| host);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback.then(|| [11, 12, 13].map(|n| IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, n))))
}

/// How a trace went.
#[derive(Debug, Clone)]
pub struct TraceResult {
    pub id: String,
    pub steps: usize,
    pub failure: Option<Divergence>,
    pub took: Duration,
}

/// Where a replay left the trace.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The failing step, counted from 1.
    pub step: usize,
    /// The requirements that step exercises: those the target failed.
    pub requirements: Vec<String>,
    pub message: String,
    /// The frames exchanged up to the failure.
    pub frames: Vec<String>,
}

/// Replays one trace in a room of its own (a random steg number).
pub async fn replay(setup: &Setup, trace: &Trace) -> TraceResult {
    let started = std::time::Instant::now();
    let mut run = match Run::new(setup, trace.shared_network) {
        Ok(run) => run,
        Err(message) => {
            return TraceResult {
                id: trace.id.clone(),
                steps: trace.steps.len(),
                failure: Some(Divergence {
                    step: 0,
                    requirements: Vec::new(),
                    message,
                    frames: Vec::new(),
                }),
                took: started.elapsed(),
            };
        }
    };
    let mut failure = None;
    for (n, step) in trace.steps.iter().enumerate() {
        if let Err(message) = run.step(step).await {
            failure = Some(Divergence {
                step: n + 1,
                requirements: step.requirements().to_vec(),
                message,
                frames: run.frames(),
            });
            break;
        }
    }
    run.finish().await;
    TraceResult {
        id: trace.id.clone(),
        steps: trace.steps.len(),
        failure,
        took: started.elapsed(),
    }
}

type Check = Result<(), String>;

/// Within this of a party's last `typing`, a server may refuse the next
/// with `rate_limited` (STD1-MSG-17: one a second, with a margin for the
/// server's clock).
const TYPING_SPACING: Duration = Duration::from_millis(1100);

/// How long a replay waits for a broadcast that only one of two possible
/// serial orders of a race sends.
const SETTLE: Duration = Duration::from_millis(500);

/// Seconds a server's timestamps may stray from the harness's clock: they
/// are truncated to the second (STD1-WIRE-19, STD1-SRV-7).
const CLOCK_SLACK: i64 = 2;

/// The harness's clock in Unix seconds.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The state of one replay.
struct Run<'a> {
    setup: &'a Setup,
    /// Whether M connects from A's network (the trace's `shared_network`).
    shared_network: bool,
    hashes: [PartyHashes; 3],
    /// B's hashes under its mistyped PIN.
    typo: PartyHashes,
    /// The PIN each party's record is bound to, from its last successful
    /// `create` or `join`: a message is shown with its author's sender
    /// hash, which a mistyped claim changes (STD1-JOIN-25, STD1-MSG-4).
    record_pin: [TracePin; 3],
    connections: [Option<Connection>; 3],
    /// The close each connection that ended before a reply came with, as
    /// its status code and reason.
    ended: [Option<(Option<u16>, String)>; 3],
    /// Frames of connections already closed.
    closed_log: Vec<String>,
    /// Trace message numbers to the ids the server gave them.
    ids: HashMap<u8, MessageId>,
    /// Codes the creator made, newest last.
    codes: Vec<PairingCode>,
    wrong_code: PairingCode,
    /// The live room's expiry time, from its `Joined` replies.
    expires_at: Option<Timestamp>,
    /// When the last lock ends, from its `retry_after`.
    lock_ends_at: Option<tokio::time::Instant>,
    /// The `retry_after` of the last `locked` reply: for the failure that
    /// set the lock, the lock's length (STD1-JOIN-19).
    last_retry_after: Option<u32>,
    /// When the step being replayed began, in Unix seconds, rounded down.
    step_started: i64,
    /// When each party last sent `typing`: the harness behaves as a
    /// conforming client, at most one a second (STD1-MSG-17).
    last_typing: [Option<tokio::time::Instant>; 3],
    /// Parties whose session opened after another party's `typing` and
    /// has received no broadcast yet: its first may be that typing's
    /// `counterparty_typing`, which has no place in the room's order
    /// (STD1-MSG-16).
    stale_typing: [bool; 3],
}

impl<'a> Run<'a> {
    fn new(setup: &'a Setup, shared_network: bool) -> Result<Self, String> {
        let phone = fixtures::steg_number()?;
        let pin = |p: &str| Pin::parse(p).map_err(|e| format!("PIN {p:?}: {e}"));
        let hashes = [
            PartyHashes::derive(&phone, &pin(&setup.pins[0])?),
            PartyHashes::derive(&phone, &pin(&setup.pins[1])?),
            PartyHashes::derive(&phone, &pin(&setup.pins[2])?),
        ];
        let typo = PartyHashes::derive(&phone, &pin(&setup.typo_pin)?);
        Ok(Self {
            setup,
            shared_network,
            hashes,
            typo,
            record_pin: [TracePin::Own; 3],
            connections: [None, None, None],
            ended: [None, None, None],
            closed_log: Vec::new(),
            ids: HashMap::new(),
            codes: Vec::new(),
            wrong_code: fixtures::pairing_code()?,
            expires_at: None,
            lock_ends_at: None,
            last_retry_after: None,
            step_started: 0,
            last_typing: [None; 3],
            stale_typing: [false; 3],
        })
    }

    fn frames(&self) -> Vec<String> {
        let mut frames = self.closed_log.clone();
        for connection in self.connections.iter().flatten() {
            frames.extend(connection.log.iter().cloned());
        }
        frames
    }

    async fn finish(&mut self) {
        for connection in self.connections.iter_mut() {
            if let Some(c) = connection.take() {
                c.close().await;
            }
        }
    }

    /// The hashes `party` presents with `pin`.
    fn hashes_of(&self, party: Party, pin: TracePin) -> Result<&PartyHashes, String> {
        match (party, pin) {
            (_, TracePin::Own) => Ok(&self.hashes[party.index()]),
            (Party::B, TracePin::Typo) => Ok(&self.typo),
            _ => Err(format!("{party:?} has no mistyped PIN in the corpus")),
        }
    }

    /// The sender hash the server shows for what `party`'s record wrote.
    fn sender_of(&self, party: Party) -> stelgano_spec::ids::SenderHash {
        self.hashes_of(party, self.record_pin[party.index()])
            .unwrap_or(&self.hashes[party.index()])
            .sender_hash
    }

    async fn step(&mut self, step: &Step) -> Check {
        self.step_started = unix_now();
        self.last_retry_after = None;
        match step {
            Step::Request {
                request, expect, ..
            } => self.request(*request, expect).await,
            Step::Race { race, orders, .. } => self.race(race, orders).await,
            Step::Environment {
                environment,
                expect,
                ..
            } => self.environment(*environment, expect).await,
        }
    }

    async fn connection(&mut self, party: Party) -> Result<&mut Connection, String> {
        let slot = &mut self.connections[party.index()];
        if slot.is_none() {
            let network = match party {
                Party::M if self.shared_network => Party::A,
                other => other,
            };
            let source = self.setup.party_addresses.map(|a| a[network.index()]);
            let c = Connection::open_from(&self.setup.url, &format!("{party:?}"), source)
                .await
                .map_err(|e| e.to_string())?;
            *slot = Some(c);
        }
        slot.as_mut().ok_or_else(|| "no connection".to_owned())
    }

    /// The wire event for a trace request; creating, resetting or
    /// re-opening makes a new code.
    fn event(&mut self, request: Request) -> Result<ClientEvent, String> {
        let pin = match request.op {
            Op::Join { pin, .. } => pin,
            _ => TracePin::Own,
        };
        let me = *self.hashes_of(request.party, pin)?;
        let me = &me;
        let id = |ids: &HashMap<u8, MessageId>, m: MsgId| {
            ids.get(&m.0)
                .copied()
                .ok_or_else(|| format!("message m{} has no server id yet", m.0))
        };
        Ok(match request.op {
            Op::Create => {
                let new = fixtures::pairing_code()?;
                let pairing_hash = new.hash();
                self.codes.push(new);
                ClientEvent::Create(CreateRoom {
                    room_hash: me.room_hash,
                    access_hash: me.access_hash,
                    sender_hash: me.sender_hash,
                    pairing_hash,
                    country_iso: None,
                })
            }
            Op::Join { code, .. } => {
                let pairing_hash = match code {
                    Code::None => None,
                    Code::Current => Some(self.codes.last().ok_or("no current code")?.hash()),
                    Code::Previous => Some(
                        self.codes
                            .iter()
                            .rev()
                            .nth(1)
                            .ok_or("no previous code")?
                            .hash(),
                    ),
                    Code::Wrong => Some(self.wrong_code.hash()),
                };
                ClientEvent::Join(JoinRoom {
                    room_hash: me.room_hash,
                    access_hash: me.access_hash,
                    sender_hash: me.sender_hash,
                    pairing_hash,
                })
            }
            Op::SendMessage { replaces } => {
                let (ciphertext, iv) = fixtures::payload()?;
                ClientEvent::SendMessage(SendMessage {
                    ciphertext,
                    iv,
                    replaces: replaces.map(|m| id(&self.ids, m)).transpose()?,
                })
            }
            Op::ReadReceipt { message_id } => ClientEvent::ReadReceipt(ReadReceipt {
                message_id: id(&self.ids, message_id)?,
            }),
            Op::EditMessage { message_id } => {
                let (ciphertext, iv) = fixtures::payload()?;
                ClientEvent::EditMessage(EditMessage {
                    message_id: id(&self.ids, message_id)?,
                    ciphertext,
                    iv,
                })
            }
            Op::DeleteMessage { message_id } => ClientEvent::DeleteMessage(DeleteMessage {
                message_id: id(&self.ids, message_id)?,
            }),
            Op::Typing => ClientEvent::Typing,
            Op::ExpireRoom => ClientEvent::ExpireRoom,
            Op::ResetPairing => {
                let new = fixtures::pairing_code()?;
                let pairing_hash = new.hash();
                self.codes.push(new);
                ClientEvent::ResetPairing(ResetPairing { pairing_hash })
            }
            // A fresh code per code version, as for a reset (STD1-JOIN-24).
            Op::ReopenPairing => {
                let new = fixtures::pairing_code()?;
                let pairing_hash = new.hash();
                self.codes.push(new);
                ClientEvent::ReopenPairing(ReopenPairing { pairing_hash })
            }
        })
    }

    /// After the reply: a code made by a refused create, reset or re-open
    /// was never the room's.
    fn settle_codes(&mut self, request: Request, reply: Option<&ServerFrame>) {
        let made = matches!(
            request.op,
            Op::Create | Op::ResetPairing | Op::ReopenPairing
        );
        if made && !matches!(reply, Some(ServerFrame::Ok(_))) {
            self.codes.pop();
        }
    }

    async fn request(&mut self, request: Request, expect: &Outcome) -> Check {
        // A `typing` within a second of the party's last one may be
        // refused with `rate_limited`, which changes nothing (STD1-MSG-17).
        let typing_too_soon = request.op == Op::Typing
            && self.last_typing[request.party.index()]
                .is_some_and(|at| at.elapsed() < TYPING_SPACING);
        if request.op == Op::Typing {
            self.last_typing[request.party.index()] = Some(tokio::time::Instant::now());
        }
        let event = self.event(request)?;
        let timeout = self.setup.frame_timeout;
        let c = self.connection(request.party).await?;
        let reference = c.send(event).await.map_err(|e| e.to_string())?;
        let (mut before, reply) = read_reply(c, &reference, timeout).await?;
        if reply.is_none() {
            self.drop_connection(request.party);
        }
        self.settle_codes(request, reply.as_ref());
        let own = deliveries_to(expect, request.party);
        self.drop_stale_typing(request.party, &own, &mut before);
        if matches!(request.op, Op::Create | Op::Join { .. })
            && matches!(reply, Some(ServerFrame::Ok(_)))
        {
            // A typing answered before this session opened may still
            // reach it (STD1-MSG-16).
            self.stale_typing[request.party.index()] = self
                .last_typing
                .iter()
                .enumerate()
                .any(|(i, at)| i != request.party.index() && at.is_some());
        }
        if typing_too_soon
            && let Some(ServerFrame::Error(e)) = &reply
            && e.error.reason == stelgano_spec::ErrorReason::RateLimited
        {
            return if before.is_empty() {
                Ok(())
            } else {
                Err(format!("a refused typing came with broadcasts {before:?}"))
            };
        }
        let mut ids = self.ids.clone();
        check_reply(self, &mut ids, request, expect, reply.as_ref())?;
        // The requester's own broadcasts come before its reply (STD1-WIRE-30).
        self.check_broadcasts(&mut ids, request.party, &own, &before)?;
        self.ids = ids;
        for party in Party::ALL {
            if party != request.party {
                self.expect_broadcasts(party, &deliveries_to(expect, party))
                    .await?;
            }
        }
        self.expect_closes(&expect.closed).await?;
        self.expect_replaced(&expect.replaced).await
    }

    async fn race(&mut self, race: &[Request; 2], orders: &[[Outcome; 2]; 2]) -> Check {
        let timeout = self.setup.frame_timeout;
        let events = [self.event(race[0])?, self.event(race[1])?];
        let mut references = Vec::new();
        for (request, event) in race.iter().zip(events) {
            let c = self.connection(request.party).await?;
            references.push(c.send(event).await.map_err(|e| e.to_string())?);
        }
        let mut seen: HashMap<Party, Vec<Broadcast>> = HashMap::new();
        let mut replies = Vec::new();
        for (request, reference) in race.iter().zip(&references) {
            let c = self.connection(request.party).await?;
            let (before, reply) = read_reply(c, reference, timeout).await?;
            seen.entry(request.party).or_default().extend(before);
            if reply.is_none() {
                self.drop_connection(request.party);
            }
            replies.push(reply);
        }
        for (i, request) in race.iter().enumerate() {
            self.settle_codes(*request, replies[i].as_ref());
        }

        // The serial orders whose replies match what came back, each with
        // the message ids it implies.
        let mut candidates = Vec::new();
        let mut refusals = Vec::new();
        for order in [0, 1] {
            let mut ids = self.ids.clone();
            let outcomes = &orders[order];
            match (0..2).try_for_each(|i| {
                check_reply(self, &mut ids, race[i], &outcomes[i], replies[i].as_ref())
            }) {
                Ok(()) => candidates.push((order, ids)),
                Err(e) => refusals.push(format!("order {order}: {e}")),
            }
        }
        if candidates.is_empty() {
            return Err(format!(
                "the replies match neither serial order: {}",
                refusals.join("; ")
            ));
        }
        // In serial order: the first served request's broadcasts, then the
        // other's. Each session's broadcasts decide between orders whose
        // replies are alike.
        let expected = |order: usize, party: Party| -> Vec<Expected> {
            let served = if order == 0 { [0, 1] } else { [1, 0] };
            served
                .iter()
                .flat_map(|&i| deliveries_to(&orders[order][i], party))
                .collect()
        };
        for party in Party::ALL {
            let most = candidates
                .iter()
                .map(|(order, _)| expected(*order, party).len())
                .max()
                .unwrap_or(0);
            let fewest = candidates
                .iter()
                .map(|(order, _)| expected(*order, party).len())
                .min()
                .unwrap_or(0);
            // A stale typing (STD1-MSG-16) is dropped unless an order
            // expects a typing first.
            let typing_first = candidates.iter().any(|(order, _)| {
                matches!(
                    expected(*order, party).first(),
                    Some(Expected::CounterpartyTyping)
                )
            });
            let got = seen.entry(party).or_default();
            if !got.is_empty()
                && std::mem::take(&mut self.stale_typing[party.index()])
                && !typing_first
                && matches!(got[0], Broadcast::CounterpartyTyping {})
            {
                got.remove(0);
            }
            while got.len() < most {
                let Some(c) = self.connections[party.index()].as_mut() else {
                    break;
                };
                // Beyond what every order sends, a frame that does not come
                // soon is taken as not coming.
                let wait = if got.len() < fewest { timeout } else { SETTLE };
                match next_broadcast(c, wait).await {
                    Ok(b) => {
                        let stale = got.is_empty()
                            && std::mem::take(&mut self.stale_typing[party.index()])
                            && !typing_first
                            && matches!(b, Broadcast::CounterpartyTyping {});
                        if !stale {
                            got.push(b);
                        }
                    }
                    // A shorter order may be the one that happened.
                    Err(_) if got.len() >= fewest => break,
                    Err(e) => return Err(format!("{party:?}: {e}")),
                }
            }
            let got = got.clone();
            let mut remaining = Vec::new();
            for (order, mut ids) in candidates {
                match self.check_broadcasts(&mut ids, party, &expected(order, party), &got) {
                    Ok(()) => remaining.push((order, ids)),
                    Err(e) => refusals.push(format!("order {order}: {e}")),
                }
            }
            candidates = remaining;
            if candidates.is_empty() {
                return Err(format!(
                    "the broadcasts match neither serial order: {}",
                    refusals.join("; ")
                ));
            }
        }
        let (order, ids) = candidates.swap_remove(0);
        self.ids = ids;
        let gather = |pick: fn(&Outcome) -> &Vec<Party>| {
            let mut parties: Vec<Party> = orders[order]
                .iter()
                .flat_map(|o| pick(o).iter().copied())
                .collect();
            parties.sort();
            parties.dedup();
            parties
        };
        let (closed, replaced) = (gather(|o| &o.closed), gather(|o| &o.replaced));
        self.expect_closes(&closed).await?;
        self.expect_replaced(&replaced).await
    }

    /// Forgets a connection the server closed, keeping its frames and the
    /// close it ended with.
    fn drop_connection(&mut self, party: Party) {
        self.stale_typing[party.index()] = false;
        if let Some(c) = self.connections[party.index()].take() {
            self.ended[party.index()] = c
                .close_frame()
                .map(|(code, reason)| (code, reason.to_owned()));
            self.closed_log.extend(c.log);
        }
    }

    /// Drops a `counterparty_typing` that arrived as the first broadcast of
    /// a session opened after the other party's `typing`, where the trace
    /// expects something else (STD1-MSG-16 allows it). Any first broadcast
    /// ends the allowance.
    fn drop_stale_typing(
        &mut self,
        party: Party,
        expected: &[Expected],
        seen: &mut Vec<Broadcast>,
    ) {
        let Some(first) = seen.first() else {
            return;
        };
        let allowed = std::mem::take(&mut self.stale_typing[party.index()]);
        let unexpected = seen.len() > expected.len()
            || !matches!(expected.first(), Some(Expected::CounterpartyTyping));
        if allowed && matches!(first, Broadcast::CounterpartyTyping {}) && unexpected {
            seen.remove(0);
        }
    }

    async fn environment(&mut self, environment: Environment, expect: &Outcome) -> Check {
        match environment {
            Environment::Disconnect { party } => {
                self.stale_typing[party.index()] = false;
                if let Some(c) = self.connections[party.index()].take() {
                    self.closed_log.extend(c.close().await);
                }
                Ok(())
            }
            Environment::LockEnds => {
                let until = self.lock_ends_at.ok_or("no lock to wait out")?;
                tokio::time::sleep_until(until).await;
                Ok(())
            }
            Environment::TtlExpires => {
                let expires = self.expires_at.ok_or("no room expiry time known")?;
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                // Whole seconds: one more makes sure the time has passed.
                let wait = (expires.unix() - now + 1).max(0) as u64;
                tokio::time::sleep(Duration::from_secs(wait)).await;
                let grace = self.setup.expiry_grace.max(self.setup.frame_timeout);
                for party in Party::ALL {
                    let expected = deliveries_to(expect, party);
                    if expected.is_empty() {
                        continue;
                    }
                    let mut seen = Vec::new();
                    while seen.is_empty() {
                        let Some(c) = self.connections[party.index()].as_mut() else {
                            return Err(format!("{party:?} should still be connected"));
                        };
                        seen.push(next_broadcast(c, grace).await?);
                        self.drop_stale_typing(party, &expected, &mut seen);
                    }
                    let mut ids = self.ids.clone();
                    check_broadcast(self, &mut ids, &expected[0], &seen[0])?;
                }
                self.expect_closes(&expect.closed).await
            }
        }
    }

    /// `expected` are the broadcasts for `party`; `seen` those already read.
    fn check_broadcasts(
        &self,
        ids: &mut HashMap<u8, MessageId>,
        party: Party,
        expected: &[Expected],
        seen: &[Broadcast],
    ) -> Check {
        if expected.len() != seen.len() {
            return Err(format!(
                "{party:?} expected {} broadcast(s) {expected:?}, got {seen:?}",
                expected.len()
            ));
        }
        for (e, s) in expected.iter().zip(seen) {
            check_broadcast(self, ids, e, s)?;
        }
        Ok(())
    }

    /// Reads the broadcasts `party` has still to receive, beyond `seen`.
    async fn check_more_broadcasts(
        &mut self,
        ids: &mut HashMap<u8, MessageId>,
        party: Party,
        expected: &[Expected],
        mut seen: Vec<Broadcast>,
    ) -> Check {
        let timeout = self.setup.frame_timeout;
        while seen.len() < expected.len() {
            let Some(c) = self.connections[party.index()].as_mut() else {
                return Err(format!("{party:?} has no connection for {expected:?}"));
            };
            seen.push(next_broadcast(c, timeout).await?);
            self.drop_stale_typing(party, expected, &mut seen);
        }
        self.check_broadcasts(ids, party, expected, &seen)
    }

    async fn expect_broadcasts(&mut self, party: Party, expected: &[Expected]) -> Check {
        if expected.is_empty() {
            return Ok(());
        }
        let mut ids = self.ids.clone();
        self.check_more_broadcasts(&mut ids, party, expected, Vec::new())
            .await?;
        self.ids = ids;
        Ok(())
    }

    /// The sessions of records a claim replaced end with the close 1008
    /// `record_replaced`, after nothing but the reply to a frame that
    /// raced the claim (`not_joined`, STD1-JOIN-25, STD1-WIRE-5).
    async fn expect_replaced(&mut self, replaced: &[Party]) -> Check {
        let timeout = self.setup.frame_timeout;
        let right = |close: Option<(Option<u16>, &str)>| {
            close.is_some_and(|(code, reason)| {
                code == Some(close_code::POLICY) && reason == close_code::RECORD_REPLACED_REASON
            })
        };
        for &party in replaced {
            let Some(mut c) = self.connections[party.index()].take() else {
                // Closed while the harness read a reply it raced with.
                let ended = self.ended[party.index()].take();
                let ended = ended
                    .as_ref()
                    .map(|(code, reason)| (*code, reason.as_str()));
                if ended.is_some() && !right(ended) {
                    return Err(format!(
                        "{party:?}: expected the close 1008 record_replaced, got {ended:?}"
                    ));
                }
                continue;
            };
            let stale = std::mem::take(&mut self.stale_typing[party.index()]);
            let mut first = true;
            let result = loop {
                if let Some(close) = c.close_frame() {
                    // Already read, while waiting for a broadcast that only
                    // the other order of a race sends.
                    break if right(Some(close)) {
                        Ok(())
                    } else {
                        Err(format!(
                            "{party:?}: expected the close 1008 record_replaced, got {close:?}"
                        ))
                    };
                }
                match c.next(timeout).await {
                    Ok(Incoming::Frame(ServerFrame::Error(e)))
                        if e.error.reason == stelgano_spec::ErrorReason::NotJoined => {}
                    // A typing answered before the session opened
                    // (STD1-MSG-16).
                    Ok(Incoming::Frame(ServerFrame::Broadcast(
                        Broadcast::CounterpartyTyping {},
                    ))) if first && stale => {}
                    Ok(Incoming::Close(_)) => {}
                    Ok(other) => {
                        break Err(format!(
                            "{party:?}: expected the close 1008 record_replaced, got {other:?}"
                        ));
                    }
                    Err(e) => {
                        break Err(format!(
                            "{party:?}: expected the close 1008 record_replaced: {e}"
                        ));
                    }
                }
                first = false;
            };
            self.closed_log.extend(c.log.iter().cloned());
            result?;
        }
        Ok(())
    }

    async fn expect_closes(&mut self, closed: &[Party]) -> Check {
        let timeout = self.setup.frame_timeout;
        for &party in closed {
            let Some(mut c) = self.connections[party.index()].take() else {
                continue;
            };
            let result = loop {
                match c.next(timeout).await {
                    // A reply to a frame that raced the expiry may come first.
                    Ok(Incoming::Frame(ServerFrame::Error(e)))
                        if e.error.reason == stelgano_spec::ErrorReason::RoomExpired => {}
                    Ok(Incoming::Close(Some(1000))) | Ok(Incoming::Gone) => break Ok(()),
                    Ok(other) => {
                        break Err(format!("{party:?}: expected the close 1000, got {other:?}"));
                    }
                    Err(e) => break Err(format!("{party:?}: expected the close 1000: {e}")),
                }
            };
            self.closed_log.extend(c.log.iter().cloned());
            result?;
        }
        Ok(())
    }
}

/// Reads until the reply to `reference`: the broadcasts before it, and the
/// reply, or `None` when the connection closed first.
async fn read_reply(
    c: &mut Connection,
    reference: &Ref,
    timeout: Duration,
) -> Result<(Vec<Broadcast>, Option<ServerFrame>), String> {
    let mut before = Vec::new();
    loop {
        match c.next(timeout).await.map_err(|e| e.to_string())? {
            Incoming::Frame(ServerFrame::Broadcast(b)) => before.push(b),
            Incoming::Frame(frame) => {
                let answers = match &frame {
                    ServerFrame::Ok(ok) => &ok.reference == reference,
                    ServerFrame::Error(e) => e.reference.as_ref() == Some(reference),
                    ServerFrame::Broadcast(_) => false,
                };
                if !answers {
                    return Err(format!("a reply to another request: {frame:?}"));
                }
                return Ok((before, Some(frame)));
            }
            // The caller checks whether a missing reply was allowed.
            Incoming::Close(_) | Incoming::Gone => return Ok((before, None)),
        }
    }
}

async fn next_broadcast(c: &mut Connection, timeout: Duration) -> Result<Broadcast, String> {
    match c.next(timeout).await {
        Ok(Incoming::Frame(ServerFrame::Broadcast(b))) => Ok(b),
        Ok(other) => Err(format!("expected a broadcast, got {other:?}")),
        Err(ClientError::Timeout(t)) => Err(format!("expected a broadcast, none within {t:?}")),
        Err(e) => Err(e.to_string()),
    }
}

fn deliveries_to(outcome: &Outcome, party: Party) -> Vec<Expected> {
    outcome
        .broadcasts
        .iter()
        .filter(|d| d.to == party)
        .map(|d| d.broadcast)
        .collect()
}

/// Maps trace message `m` to `id`, or checks that it already maps to it.
fn bind(ids: &mut HashMap<u8, MessageId>, m: MsgId, id: MessageId) -> Check {
    match ids.insert(m.0, id) {
        Some(earlier) if earlier != id => Err(format!("m{} is {earlier}, not {id}", m.0)),
        _ => Ok(()),
    }
}

fn check_reply(
    run: &mut Run<'_>,
    ids: &mut HashMap<u8, MessageId>,
    request: Request,
    expected: &Outcome,
    observed: Option<&ServerFrame>,
) -> Check {
    let Some(want) = expected.reply else {
        return Ok(());
    };
    let Some(frame) = observed else {
        return if expected.reply_may_be_missing {
            Ok(())
        } else {
            Err(format!("expected {want:?}, the connection closed first"))
        };
    };
    match (want, frame) {
        (
            Reply::Joined {
                awaiting_party,
                current_message,
            },
            ServerFrame::Ok(ok),
        ) => {
            let ReplyBody::Joined(joined) = &ok.ok else {
                return Err(format!("expected a joined reply, got {frame:?}"));
            };
            run.expires_at = Some(joined.ttl_expires_at);
            // The requester's record is now bound to the PIN it joined
            // with, which decides the sender hash of what it wrote.
            match request.op {
                Op::Create => run.record_pin[request.party.index()] = TracePin::Own,
                Op::Join { pin, .. } => run.record_pin[request.party.index()] = pin,
                _ => {}
            }
            if joined.awaiting_party != awaiting_party {
                return Err(format!(
                    "awaiting_party should be {awaiting_party}: {frame:?}"
                ));
            }
            match (current_message, &joined.current_message) {
                (None, None) => Ok(()),
                (Some(view), Some(m)) => {
                    bind(ids, view.id, m.id)?;
                    let author = run.sender_of(view.author);
                    if m.sender_hash != author
                        || m.read_at.is_some() != view.read
                        || m.edited != view.edited
                    {
                        return Err(format!("current message should be {view:?}: {frame:?}"));
                    }
                    Ok(())
                }
                _ => Err(format!(
                    "current message should be {current_message:?}: {frame:?}"
                )),
            }
        }
        (Reply::Sent { message_id }, ServerFrame::Ok(ok)) => match &ok.ok {
            ReplyBody::Sent(sent) => bind(ids, message_id, sent.message_id),
            _ => Err(format!("expected a sent reply, got {frame:?}")),
        },
        (Reply::Done, ServerFrame::Ok(ok)) => match ok.ok {
            ReplyBody::Done(_) => Ok(()),
            _ => Err(format!("expected {{}}, got {frame:?}")),
        },
        (
            Reply::Error {
                reason,
                attempts_remaining,
            },
            ServerFrame::Error(e),
        ) => {
            if e.error.reason != reason {
                return Err(format!("expected {}, got {frame:?}", reason.as_str()));
            }
            if let Some(n) = attempts_remaining
                && e.error.attempts_remaining != Some(u32::from(n))
            {
                return Err(format!("expected attempts_remaining {n}, got {frame:?}"));
            }
            if let Some(seconds) = e.error.retry_after {
                let wait = Duration::from_secs(u64::from(seconds) + 1);
                run.lock_ends_at = Some(tokio::time::Instant::now() + wait);
                run.last_retry_after = Some(seconds);
            }
            Ok(())
        }
        _ => Err(format!("expected {want:?}, got {frame:?}")),
    }
}

fn check_broadcast(
    run: &Run<'_>,
    ids: &mut HashMap<u8, MessageId>,
    expected: &Expected,
    observed: &Broadcast,
) -> Check {
    let known = |ids: &HashMap<u8, MessageId>, m: MsgId, id: MessageId| match ids.get(&m.0) {
        Some(k) if *k == id => Ok(()),
        _ => Err(format!("expected {expected:?}, got {observed:?}")),
    };
    match (expected, observed) {
        (Expected::PartyPaired, Broadcast::PartyPaired {}) => Ok(()),
        (Expected::CounterpartyTyping, Broadcast::CounterpartyTyping {}) => Ok(()),
        (Expected::NewMessage { message_id, author }, Broadcast::NewMessage(m)) => {
            if m.sender_hash != run.sender_of(*author) {
                return Err(format!("expected {expected:?}, got {observed:?}"));
            }
            bind(ids, *message_id, m.id)
        }
        (Expected::MessageRead { message_id }, Broadcast::MessageRead { message_id: id, .. })
        | (
            Expected::MessageEdited { message_id },
            Broadcast::MessageEdited { message_id: id, .. },
        )
        | (Expected::MessageDeleted { message_id }, Broadcast::MessageDeleted { message_id: id }) => {
            known(ids, *message_id, *id)
        }
        // The lock time cannot be known from the model: it must lie ahead
        // of the step by the lock's length, which the locking reply's
        // `retry_after` gives (STD1-JOIN-19, STD1-JOIN-26).
        (Expected::RoomLocked, Broadcast::RoomLocked { locked_until }) => {
            let until = locked_until.unix();
            let (earliest, latest) = match run.last_retry_after {
                Some(length) => (
                    run.step_started + i64::from(length) - CLOCK_SLACK,
                    unix_now() + i64::from(length) + CLOCK_SLACK,
                ),
                None => (run.step_started, i64::MAX),
            };
            if (earliest..=latest).contains(&until) {
                Ok(())
            } else {
                Err(format!(
                    "expected {expected:?} with locked_until between {earliest} and {latest} (Unix seconds), got {observed:?}"
                ))
            }
        }
        (Expected::RoomExpired { cause }, Broadcast::RoomExpired { cause: got }) => {
            let same = matches!(
                (cause, got),
                (Cause::Party, ExpiryCause::Party) | (Cause::Ttl, ExpiryCause::Ttl)
            );
            if same {
                Ok(())
            } else {
                Err(format!("expected {expected:?}, got {observed:?}"))
            }
        }
        _ => Err(format!("expected {expected:?}, got {observed:?}")),
    }
}

/// Replays every trace, `concurrency` at a time, each in its own room;
/// results come back in the corpus's order.
pub async fn replay_all(setup: &Setup, traces: &[Trace], concurrency: usize) -> Vec<TraceResult> {
    use futures_util::StreamExt;
    // Unordered, so that traces waiting out a lock or an expiry do not
    // hold back the ones behind them.
    let mut results: Vec<(usize, TraceResult)> = futures_util::stream::iter(
        traces
            .iter()
            .enumerate()
            .map(|(i, t)| async move { (i, replay(setup, t).await) }),
    )
    .buffer_unordered(concurrency.max(1))
    .collect()
    .await;
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
