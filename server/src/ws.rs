//! One WebSocket connection: decoding frames, applying session state, running
//! store operations and ordering replies after broadcasts (spec §7).

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use stelgano_spec::ErrorReason;
use stelgano_spec::constants::TYPING_MIN_INTERVAL;
use stelgano_spec::wire::{
    ClientEvent, ClientFrame, Done, ErrorBody, ErrorReply, OkReply, ReplyBody, Sent, ServerFrame,
    close_code, decode_client_frame,
};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::faults::{self, Fault};
use crate::hub::{Delivery, FeedToken};
use crate::rate_limit::{ClientKey, FrameLimiter, Limit, Refused};
use crate::state::AppState;
use crate::store::{self, CreateOutcome, Ended, JoinOutcome, SessionBinding, StoreError};
use crate::telemetry::Counter;

/// How long a reply may wait for its own broadcast to come back through
/// the database before the connection gives up (STD1-WIRE-5: 1011).
const OWN_EVENT_WAIT: Duration = Duration::from_secs(10);

/// The joined state of a connection.
struct Session {
    binding: SessionBinding,
    hub_id: u64,
    deliveries: mpsc::Receiver<Delivery>,
    /// The newest room version whose event this connection has sent.
    delivered: i64,
    /// When this session's last `typing` was accepted.
    last_typing: Option<Instant>,
}

/// Why the connection loop stops.
enum Stop {
    /// The peer left or the transport failed; nothing more to send.
    Gone,
    /// The peer sent a close frame; the answering close frame, which the
    /// WebSocket layer queued, still has to be written (RFC 6455 §5.5.1).
    PeerClosed,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// The connection's state and socket.
pub struct Connection {
    state: AppState,
    socket: WebSocket,
    session: Option<Session>,
    /// The client's address as rate limits key it (STD1-SRV-21); never
    /// logged or stored.
    client: ClientKey,
    /// This connection's frame allowance (STD1-SRV-18).
    frames: FrameLimiter,
}

impl Connection {
    pub fn new(state: AppState, socket: WebSocket, client: ClientKey) -> Self {
        let frames = state.rate_limits.frame_limiter();
        Self {
            state,
            socket,
            session: None,
            client,
            frames,
        }
    }

    /// Serves the connection until it ends. Besides frames and events, it
    /// pings a silent peer after 30 seconds and closes one silent for 75
    /// (STD1-WIRE-24), and closes a connection that opened no session within
    /// 60 seconds (STD1-WIRE-25).
    pub async fn run(mut self) {
        let hub = std::sync::Arc::clone(&self.state.hub);
        let mut guard = hub.connection();
        let connected = Instant::now();
        let timeouts = self.state.timeouts;
        let mut last_heard = connected;
        let mut pinged = false;
        let stop = loop {
            tokio::select! {
                incoming = self.socket.recv() => {
                    last_heard = Instant::now();
                    pinged = false;
                    // Boxed: the store's futures are several KiB, and held
                    // inline they would size every idle connection's task
                    // for its busiest moment (about 12 KiB instead of 2).
                    if let Err(stop) = Box::pin(self.on_message(incoming)).await {
                        break stop;
                    }
                }
                delivery = next_delivery(&mut self.session) => {
                    if let Err(stop) = Box::pin(self.forward(delivery)).await {
                        break stop;
                    }
                }
                () = tokio::time::sleep_until(last_heard + timeouts.ping_after), if !pinged => {
                    pinged = true;
                    if let Err(stop) = self.send_bounded(WsMessage::Ping(Vec::new().into())).await {
                        break stop;
                    }
                }
                () = tokio::time::sleep_until(last_heard + timeouts.idle_close) => {
                    break Stop::Close(close_code::POLICY, "idle");
                }
                () = shutdown_requested(&mut guard.shutdown) => {
                    break Stop::Close(close_code::GOING_AWAY, "server shutting down");
                }
                () = tokio::time::sleep_until(connected + timeouts.join_deadline), if self.session.is_none() => {
                    break Stop::Close(close_code::POLICY, "no session opened");
                }
            }
        };
        // A peer that takes no close frame is simply dropped. Dropping the
        // socket does not close it at once: the listener's stream drains
        // what the peer still sends first, so that a reset cannot discard
        // the close frame or the replies before it (`linger`, STD1-WIRE-32;
        // after a 1009 the rest of the refused message is still coming,
        // and this WebSocket can read no more of it).
        match stop {
            Stop::Close(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let _ = self.send_bounded(WsMessage::Close(Some(frame))).await;
            }
            Stop::PeerClosed => {
                let flush = futures_util::SinkExt::flush(&mut self.socket);
                let _ = tokio::time::timeout(self.state.timeouts.send, flush).await;
            }
            Stop::Gone => {}
        }
        if let Some(session) = self.session.take() {
            self.state
                .hub
                .unregister(session.binding.room_id, session.hub_id);
        }
    }

    async fn on_message(
        &mut self,
        incoming: Option<Result<WsMessage, axum::Error>>,
    ) -> Result<(), Stop> {
        match incoming {
            None => Err(Stop::Gone),
            Some(Ok(WsMessage::Close(_))) => Err(Stop::PeerClosed),
            Some(Err(e)) => Err(transport_stop(e)),
            // STD1-WIRE-3
            Some(Ok(WsMessage::Binary(_))) => Err(Stop::Close(
                close_code::UNSUPPORTED_DATA,
                "binary frames are not accepted",
            )),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => Ok(()),
            Some(Ok(WsMessage::Text(text))) => self.on_frame(text.as_str()).await,
        }
    }

    /// Processes one text frame to its one reply (STD1-WIRE-20).
    async fn on_frame(&mut self, text: &str) -> Result<(), Stop> {
        let started = Instant::now();
        // Every frame spends from the allowance, decodable or not; a
        // refusal is answered only after session state (STD1-WIRE-22).
        let allowance = self.frames.check();
        let frame = match decode_client_frame(text) {
            Ok(frame) => frame,
            Err(e) => {
                if e.event.is_some_and(|event| event.opens_session()) {
                    wait_for_floor(self.state.join_time_floor, started).await;
                }
                crate::metrics::record_reply("invalid", e.reason.as_str(), started.elapsed());
                return self.send(&ServerFrame::Error(ErrorReply::from(e))).await;
            }
        };
        let reference = frame.reference.clone();
        let event = frame.event.name();
        let opens = event.opens_session();
        let answer = match self.answer(frame, allowance).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::error!(error = %e.loggable(), "store operation failed");
                Answer::Error(ErrorBody::plain(ErrorReason::InternalError))
            }
        };
        if opens {
            // STD1-JOIN-21: every create/join outcome waits for the floor.
            wait_for_floor(self.state.join_time_floor, started).await;
        }
        let reply = match answer {
            Answer::Ok(body) => ServerFrame::Ok(OkReply {
                reference,
                ok: body,
            }),
            Answer::OkAfter(body, version) => {
                // STD1-WIRE-30: the requester's broadcast comes first. If it
                // cannot come, the request still gets its one reply
                // (STD1-WIRE-20): internal_error, then the close.
                if let Err(stop) = self.await_own_event(version).await {
                    let error = ErrorBody::plain(ErrorReason::InternalError);
                    let _ = self
                        .send(&ServerFrame::Error(ErrorReply {
                            reference: Some(reference),
                            error,
                        }))
                        .await;
                    return Err(stop);
                }
                ServerFrame::Ok(OkReply {
                    reference,
                    ok: body,
                })
            }
            Answer::Error(error) => ServerFrame::Error(ErrorReply {
                reference: Some(reference),
                error,
            }),
        };
        let outcome = match &reply {
            ServerFrame::Error(e) => e.error.reason.as_str(),
            _ => "ok",
        };
        crate::metrics::record_reply(event.as_str(), outcome, started.elapsed());
        self.send(&reply).await?;
        if self
            .session
            .as_ref()
            .is_some_and(|s| s.delivered == i64::MAX)
        {
            // The room ended with this request (expire_room): close after the reply.
            return Err(Stop::Close(
                close_code::ROOM_EXPIRED,
                close_code::ROOM_EXPIRED_REASON,
            ));
        }
        Ok(())
    }

    /// Runs the request against the store and names the reply (spec §§8–10).
    /// `allowance` is this frame's standing under the connection's frame
    /// limit; like the per-address limits, it is applied after session
    /// state and before the event's own rules (STD1-WIRE-22).
    async fn answer(
        &mut self,
        frame: ClientFrame,
        allowance: Result<(), Refused>,
    ) -> Result<Answer, StoreError> {
        let pool = &self.state.pool;
        let Some(session) = self.session.as_ref() else {
            return match frame.event {
                ClientEvent::Create(request) => {
                    match allowance.and_then(|()| self.admit(Limit::Create)) {
                        Ok(()) => self.create(&request).await,
                        Err(refused) => Ok(self.refuse(refused)),
                    }
                }
                ClientEvent::Join(request) => {
                    // A join with a pairing code is also a slot-2 claim,
                    // whichever answer the room would give it.
                    let limits: &[Limit] = if request.pairing_hash.is_some() {
                        &[Limit::Join, Limit::Claim]
                    } else {
                        &[Limit::Join]
                    };
                    let admitted =
                        allowance.and_then(|()| limits.iter().try_for_each(|l| self.admit(*l)));
                    match admitted {
                        Ok(()) => self.join(&request).await,
                        Err(refused) => Ok(self.refuse(refused)),
                    }
                }
                // STD1-WIRE-21
                _ => Ok(Answer::error(ErrorReason::NotJoined)),
            };
        };
        let binding = session.binding;
        let telemetry = std::sync::Arc::clone(&self.state.telemetry);
        let gone = |ended: Ended| match ended {
            Ended::RoomGone { expired } => {
                if expired.is_some() {
                    telemetry.count(Counter::ExpiredLifetime);
                }
                Answer::error(ErrorReason::RoomExpired)
            }
            // STD1-JOIN-25: the session's record was replaced; its close
            // (1008 record_replaced) is on its way.
            Ended::Replaced => Answer::error(ErrorReason::NotJoined),
        };
        if let Err(refused) = allowance {
            // STD1-WIRE-22: a gone room is reported before the limit.
            return Ok(match store::check_room(pool, &binding).await? {
                Some(Ended::Replaced) | None if frame.event.name().opens_session() => {
                    Answer::error(ErrorReason::AlreadyJoined)
                }
                Some(g) => gone(g),
                None => self.refuse(refused),
            });
        }
        Ok(match frame.event {
            ClientEvent::Create(_) | ClientEvent::Join(_) => {
                // STD1-WIRE-21: room_expired takes precedence over already_joined.
                match store::check_room(pool, &binding).await? {
                    Some(Ended::Replaced) | None => Answer::error(ErrorReason::AlreadyJoined),
                    Some(g) => gone(g),
                }
            }
            ClientEvent::SendMessage(request) => {
                match store::send_message(pool, &binding, &request).await? {
                    store::SendOutcome::Sent { message, version } => {
                        self.state.telemetry.count(Counter::MessagesSent);
                        Answer::OkAfter(
                            ReplyBody::Sent(Sent {
                                message_id: message.id,
                            }),
                            version,
                        )
                    }
                    store::SendOutcome::NotYourTurn => Answer::error(ErrorReason::NotYourTurn),
                    store::SendOutcome::Conflict => Answer::error(ErrorReason::Conflict),
                    store::SendOutcome::Ended(g) => gone(g),
                }
            }
            ClientEvent::ReadReceipt(request) => {
                match store::read_receipt(pool, &binding, request.message_id).await? {
                    store::ReadOutcome::Read { version, .. } => Answer::OkAfter(done(), version),
                    store::ReadOutcome::NotFound => Answer::error(ErrorReason::NotFound),
                    store::ReadOutcome::OwnMessage => Answer::error(ErrorReason::OwnMessage),
                    store::ReadOutcome::AlreadyRead => Answer::error(ErrorReason::AlreadyRead),
                    store::ReadOutcome::Ended(g) => gone(g),
                }
            }
            ClientEvent::EditMessage(request) => {
                match store::edit_message(pool, &binding, &request).await? {
                    store::EditOutcome::Edited { version, .. } => Answer::OkAfter(done(), version),
                    store::EditOutcome::NotFound => Answer::error(ErrorReason::NotFound),
                    store::EditOutcome::NotAuthor => Answer::error(ErrorReason::NotAuthor),
                    store::EditOutcome::NotEditable => Answer::error(ErrorReason::NotEditable),
                    store::EditOutcome::Ended(g) => gone(g),
                }
            }
            ClientEvent::DeleteMessage(request) => {
                match store::delete_message(pool, &binding, request.message_id).await? {
                    store::DeleteOutcome::Deleted { version, .. } => {
                        Answer::OkAfter(done(), version)
                    }
                    store::DeleteOutcome::NotFound => Answer::error(ErrorReason::NotFound),
                    store::DeleteOutcome::NotAuthor => Answer::error(ErrorReason::NotAuthor),
                    store::DeleteOutcome::NotDeletable => Answer::error(ErrorReason::NotDeletable),
                    store::DeleteOutcome::Ended(g) => gone(g),
                }
            }
            ClientEvent::Typing if typing_too_soon(session.last_typing) => {
                // STD1-MSG-17, STD1-WIRE-22: more than one per second is
                // refused, once session state (a gone room) has been applied.
                match store::check_room(pool, &binding).await? {
                    Some(g) => gone(g),
                    None => Answer::Error(ErrorBody::rate_limited(NonZeroU32::MIN)),
                }
            }
            ClientEvent::Typing => match store::publish_typing(pool, &binding).await? {
                store::TypingOutcome::Sent => {
                    if let Some(session) = self.session.as_mut() {
                        session.last_typing = Some(Instant::now());
                    }
                    Answer::Ok(done())
                }
                store::TypingOutcome::Ended(g) => gone(g),
            },
            ClientEvent::ExpireRoom => match store::expire_room(pool, &binding).await? {
                store::ExpireOutcome::Expired { version } => {
                    self.state.telemetry.count(Counter::ExpiredByParty);
                    Answer::OkAfter(done(), version)
                }
                store::ExpireOutcome::Ended(g) => gone(g),
            },
            ClientEvent::ResetPairing(request) => {
                match store::reset_pairing(pool, &self.state.keys, &binding, &request.pairing_hash)
                    .await?
                {
                    store::ResetOutcome::Reset => Answer::Ok(done()),
                    store::ResetOutcome::AlreadyPaired => Answer::error(ErrorReason::AlreadyPaired),
                    store::ResetOutcome::Ended(g) => gone(g),
                }
            }
            ClientEvent::ReopenPairing(request) => {
                match store::reopen_pairing(pool, &self.state.keys, &binding, &request.pairing_hash)
                    .await?
                {
                    store::ReopenOutcome::Reopened => Answer::Ok(done()),
                    store::ReopenOutcome::Ended(g) => gone(g),
                }
            }
        })
    }

    async fn create(
        &mut self,
        request: &stelgano_spec::wire::CreateRoom,
    ) -> Result<Answer, StoreError> {
        // Taken before the transaction: events committed after it must
        // reach the session through this same listener connection.
        let feed = self.state.hub.feed();
        Ok(
            match store::create_room(
                &self.state.pool,
                &self.state.keys,
                request,
                self.state.room_ttl,
            )
            .await?
            {
                CreateOutcome::Created {
                    joined,
                    binding,
                    version,
                    expired,
                } => {
                    let telemetry = &self.state.telemetry;
                    telemetry.count(Counter::RoomsCreated);
                    if expired.is_some() {
                        telemetry.count(Counter::ExpiredLifetime);
                    }
                    // STD1-SRV-10: the country only ever reaches a total.
                    if let Some(country) = request.country_iso {
                        telemetry.count_country(country);
                    }
                    self.open_session(binding, version, feed);
                    Answer::Ok(ReplyBody::Joined(*joined))
                }
                CreateOutcome::RoomExists => Answer::error(ErrorReason::RoomExists),
            },
        )
    }

    async fn join(
        &mut self,
        request: &stelgano_spec::wire::JoinRoom,
    ) -> Result<Answer, StoreError> {
        let feed = self.state.hub.feed();
        // During a lock, the origins that failed are barred and any other
        // is heard once (STD1-JOIN-22, STD1-JOIN-23).
        let room = self.state.keys.room(&request.room_hash);
        let mut deciding = self.state.failed_origins.begin(&room, self.client);
        let outcome = store::join_room(
            &self.state.pool,
            &self.state.keys,
            request,
            self.state.lockout,
            deciding.origin(),
        )
        .await?;
        deciding.finish();
        Ok(match outcome {
            JoinOutcome::Joined {
                joined,
                binding,
                version,
                paired_now,
            } => {
                if paired_now {
                    self.state.telemetry.count(Counter::RoomsPaired);
                }
                self.open_session(binding, version, feed);
                Answer::Ok(ReplyBody::Joined(*joined))
            }
            JoinOutcome::NotFound { expired } => {
                if expired.is_some() {
                    self.state.telemetry.count(Counter::ExpiredLifetime);
                }
                Answer::error(ErrorReason::NotFound)
            }
            JoinOutcome::Locked {
                retry_after,
                locked_now,
            } => {
                if locked_now {
                    self.state.telemetry.count(Counter::Lockouts);
                }
                Answer::Error(ErrorBody::locked(retry_after))
            }
            JoinOutcome::SenderMismatch => Answer::error(ErrorReason::SenderMismatch),
            JoinOutcome::PairingInvalid { attempts_remaining } => {
                Answer::Error(ErrorBody::pairing_invalid(attempts_remaining))
            }
            JoinOutcome::Unauthorized { attempts_remaining } => {
                Answer::Error(ErrorBody::unauthorized(attempts_remaining))
            }
        })
    }

    /// Takes one request of a per-address limit (STD1-SRV-18).
    fn admit(&self, limit: Limit) -> Result<(), Refused> {
        self.state.rate_limits.check(limit, self.client)
    }

    /// The `rate_limited` answer, counted (STD1-SRV-22); it changes
    /// nothing (STD1-WIRE-22).
    fn refuse(&self, refused: Refused) -> Answer {
        self.state
            .telemetry
            .count(Counter::RateLimited(refused.limit));
        crate::metrics::record_rate_limited(refused.limit);
        Answer::Error(ErrorBody::rate_limited(refused.retry_after))
    }

    /// Registers the new session with the hub; events after `version` queue
    /// until the reply has been sent (STD1-WIRE-30).
    fn open_session(&mut self, binding: SessionBinding, version: i64, feed: Option<FeedToken>) {
        let registration = self.state.hub.register(&binding, version, feed);
        self.session = Some(Session {
            binding,
            hub_id: registration.id,
            deliveries: registration.deliveries,
            delivered: version,
            last_typing: None,
        });
    }

    /// Sends queued events until the one with `version` has been sent.
    async fn await_own_event(&mut self, version: i64) -> Result<(), Stop> {
        let deadline = Instant::now() + OWN_EVENT_WAIT;
        while self.session.as_ref().is_some_and(|s| s.delivered < version) {
            let Some(session) = self.session.as_mut() else {
                break;
            };
            let delivery = tokio::time::timeout_at(deadline, session.deliveries.recv())
                .await
                .map_err(|_| Stop::Close(close_code::INTERNAL_ERROR, "events stalled"))?;
            self.forward_inner(delivery, true).await?;
        }
        Ok(())
    }

    async fn forward(&mut self, delivery: Option<Delivery>) -> Result<(), Stop> {
        self.forward_inner(delivery, false).await
    }

    /// Sends one delivered event. A `room_expired` event ends the session:
    /// at once for other sessions, after the reply for the requester of
    /// `expire_room` (STD1-LIFE-7).
    async fn forward_inner(
        &mut self,
        delivery: Option<Delivery>,
        requester: bool,
    ) -> Result<(), Stop> {
        match delivery {
            None | Some(Delivery::Resync) => {
                Err(Stop::Close(close_code::INTERNAL_ERROR, "events lost"))
            }
            // STD1-JOIN-25, STD1-WIRE-5.
            Some(Delivery::Replaced) => Err(Stop::Close(
                close_code::POLICY,
                close_code::RECORD_REPLACED_REASON,
            )),
            Some(Delivery::Frame { version, frame }) => {
                self.send_text(&frame).await?;
                let ends = store::events::ends_room(&frame);
                if let (Some(session), Some(v)) = (self.session.as_mut(), version) {
                    session.delivered = if ends {
                        i64::MAX
                    } else {
                        session.delivered.max(v)
                    };
                }
                if ends && !requester {
                    return Err(Stop::Close(
                        close_code::ROOM_EXPIRED,
                        close_code::ROOM_EXPIRED_REASON,
                    ));
                }
                Ok(())
            }
        }
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Stop> {
        self.send_text(&frame.to_json()).await
    }

    /// Sends a text frame.
    async fn send_text(&mut self, text: &str) -> Result<(), Stop> {
        self.send_bounded(WsMessage::Text(text.into())).await
    }

    /// Sends a message; a peer that does not take it within the send
    /// timeout counts as gone, so a client that stops reading cannot hold
    /// the connection's task, or grow its queue, for ever (the hub bounds
    /// the queue).
    async fn send_bounded(&mut self, message: WsMessage) -> Result<(), Stop> {
        let send = self.socket.send(message);
        match tokio::time::timeout(self.state.timeouts.send, send).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Stop::Gone),
        }
    }
}

/// Resolves once the server is shutting down.
async fn shutdown_requested(signal: &mut tokio::sync::watch::Receiver<bool>) {
    // The sender only ever switches to `true`; a dropped sender also ends it.
    let _ = signal.wait_for(|down| *down).await;
}

/// Whether a `typing` now would come less than a second after the last one.
fn typing_too_soon(last: Option<Instant>) -> bool {
    last.is_some_and(|at| at.elapsed() < TYPING_MIN_INTERVAL)
}

/// The next event for a joined connection; never resolves before joining.
async fn next_delivery(session: &mut Option<Session>) -> Option<Delivery> {
    match session {
        Some(s) => s.deliveries.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `floor` plus a uniform jitter in `[0, floor/4]` after
/// `started` (STD1-JOIN-21).
async fn wait_for_floor(floor: Duration, started: Instant) {
    if faults::injected(Fault::NoTimeFloor) {
        return;
    }
    let jitter = match u64::try_from(floor.as_micros() / 4) {
        Ok(0) | Err(_) => 0,
        Ok(range) => getrandom::u64().map_or(0, |r| r % (range + 1)),
    };
    tokio::time::sleep_until(started + floor + Duration::from_micros(jitter)).await;
}

/// What a request is answered with.
enum Answer {
    Ok(ReplyBody),
    /// An `ok` reply that must follow the request's own broadcast.
    OkAfter(ReplyBody, i64),
    Error(ErrorBody),
}

impl Answer {
    fn error(reason: ErrorReason) -> Self {
        Self::Error(ErrorBody::plain(reason))
    }
}

fn done() -> ReplyBody {
    ReplyBody::Done(Done {})
}

/// The close for a failed read: oversize messages get 1009 and invalid
/// UTF-8 gets 1007 (STD1-WIRE-3, STD1-WIRE-4).
fn transport_stop(error: axum::Error) -> Stop {
    let inner = error.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => {
            Stop::Close(close_code::TOO_BIG, "message too large")
        }
        Some(tungstenite::Error::Utf8(_)) => {
            Stop::Close(close_code::INVALID_PAYLOAD, "invalid UTF-8")
        }
        _ => Stop::Gone,
    }
}
