//! The sessions of this instance, by room, and the delivery of room events
//! to them.
//!
//! Events reach every instance through `LISTEN` (store/events.rs), in each
//! room's order. A session registers with the version its `Joined` reply
//! described and receives exactly the later events (STD1-WIRE-30). The
//! registration can happen just before or just after the listener delivers
//! an event committed after the join, so the hub keeps each room's last
//! events in memory for a few seconds and replays the ones a new session
//! missed. Wherever the order cannot be kept (no listener, events already
//! forgotten, a reader too slow to keep up) the session is ended instead of
//! silently skipping events; its client rejoins (STD1-CLI-22). Nothing here
//! is persisted.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use stelgano_spec::ids::RoomId;
use tokio::sync::{Notify, mpsc};

use crate::store::events::{Audience, RoomEvent, ends_room};
use crate::store::{SessionBinding, Slot};

/// Events kept per room for sessions registering just after them.
const RECENT_EVENTS: usize = 32;
/// How long recent events are kept. A session registers within moments of
/// its join's commit, so a few seconds cover it, and ciphertext does not
/// linger in memory (STD1-MSG-15).
const RECENT_FOR: Duration = Duration::from_secs(5);
/// Deliveries a session may have queued. A client that stops reading is
/// disconnected rather than allowed to grow the server's memory.
pub const QUEUE: usize = 256;

/// What a session's connection task receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A broadcast frame to send; `version` as in [`RoomEvent`].
    Frame {
        version: Option<i64>,
        frame: Arc<str>,
    },
    /// The order of the room's events cannot be kept for this session (the
    /// listener was down or events were already forgotten): it must end
    /// (STD1-WIRE-5: 1011) and its client rejoin.
    Resync,
    /// A claim replaced the session's access record (STD1-JOIN-25): it
    /// receives nothing more and is closed with 1008 `record_replaced`.
    Replaced,
}

struct Member {
    id: u64,
    slot: Slot,
    /// The version the session's `Joined` reply described.
    joined_version: i64,
    tx: mpsc::Sender<Delivery>,
}

#[derive(Default)]
struct Room {
    members: Vec<Member>,
    recent: VecDeque<(Instant, RoomEvent)>,
}

/// The registry of this instance's sessions.
#[derive(Default)]
pub struct Hub {
    rooms: Mutex<HashMap<RoomId, Room>>,
    next_id: AtomicU64,
    /// Signalled whenever a session leaves, for shutdown to wait on.
    left: Notify,
    /// The event listener's state: twice the number of connections it has
    /// made, plus one while the current one is listening. Sessions whose
    /// join did not run wholly within one listening connection may have
    /// missed events ([`FeedToken`]).
    feed: AtomicU64,
    /// Open connections, joined or not, and the shutdown signal they watch.
    connections: std::sync::atomic::AtomicUsize,
    shutting_down: tokio::sync::watch::Sender<bool>,
}

/// The listener connection that was live when a join began: the join's
/// session receives every later event only if that connection is still
/// the live one when it registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedToken(u64);

/// An open connection, counted until dropped.
pub struct ConnectionGuard<'a> {
    hub: &'a Hub,
    /// Becomes `true` when the server shuts down (STD1-WIRE-5: 1001).
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.hub.connections.fetch_sub(1, Ordering::AcqRel);
        self.hub.left.notify_waiters();
    }
}

/// A registered session: its id (to unregister) and its delivery queue.
#[derive(Debug)]
pub struct Registration {
    pub id: u64,
    pub deliveries: mpsc::Receiver<Delivery>,
}

/// What a session of `slot` gets of an event for `audience`.
fn delivery(
    audience: Audience,
    slot: Slot,
    version: Option<i64>,
    frame: &Arc<str>,
) -> Option<Delivery> {
    let frame = || Delivery::Frame {
        version,
        frame: Arc::clone(frame),
    };
    match audience {
        Audience::All => Some(frame()),
        Audience::Slot(s) => (s == slot).then(frame),
        // STD1-JOIN-15, STD1-JOIN-25.
        Audience::Replacing(s) if s == slot => Some(Delivery::Replaced),
        Audience::Replacing(_) => Some(frame()),
    }
}

fn newer(version: Option<i64>, joined_version: i64) -> bool {
    version.is_none_or(|v| v > joined_version)
}

impl Hub {
    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomId, Room>> {
        // A panic while holding this lock cannot leave the map in a state
        // worse than losing the instance's sessions.
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a new connection and hands it the shutdown signal.
    pub fn connection(&self) -> ConnectionGuard<'_> {
        self.connections.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard {
            hub: self,
            shutdown: self.shutting_down.subscribe(),
        }
    }

    /// Records that the event listener is connected and listening (a new
    /// connection) or has lost its connection.
    pub fn set_listening(&self, listening: bool) {
        if listening {
            let _ = self
                .feed
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                    let connections = (f >> 1) + 1;
                    Some((connections << 1) | 1)
                });
        } else {
            self.feed.fetch_and(!1, Ordering::AcqRel);
        }
    }

    /// The live listener connection, if there is one; take it before a join.
    pub fn feed(&self) -> Option<FeedToken> {
        let feed = self.feed.load(Ordering::Acquire);
        (feed & 1 == 1).then_some(FeedToken(feed))
    }

    /// Registers a session that joined at `joined_version`, replaying the
    /// recent events it has not seen, or telling it to resync when some are
    /// already gone or the listener connection is not the one `feed` named
    /// before the join.
    pub fn register(
        &self,
        binding: &SessionBinding,
        joined_version: i64,
        feed: Option<FeedToken>,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, deliveries) = mpsc::channel(QUEUE);
        let mut rooms = self.rooms();
        let room = rooms.entry(binding.room_id).or_default();
        let oldest = room.recent.iter().filter_map(|(_, e)| e.version).min();
        let forgotten = oldest.is_some_and(|v| v > joined_version + 1);
        if forgotten || feed.is_none() || feed != self.feed() {
            let _ = tx.try_send(Delivery::Resync);
        } else {
            let missed = room
                .recent
                .iter()
                .map(|(_, e)| e)
                .filter(|e| e.version.is_some_and(|v| v > joined_version));
            for event in missed {
                let frame: Arc<str> = event.frame.as_str().into();
                match delivery(event.audience, binding.slot, event.version, &frame) {
                    Some(Delivery::Replaced) => {
                        // The session's record was replaced before it got
                        // here: it ends without joining the room's members.
                        let _ = tx.try_send(Delivery::Replaced);
                        return Registration { id, deliveries };
                    }
                    Some(d) => {
                        let _ = tx.try_send(d);
                    }
                    None => {}
                }
            }
        }
        room.members.push(Member {
            id,
            slot: binding.slot,
            joined_version,
            tx,
        });
        Registration { id, deliveries }
    }

    /// Removes a session (its connection ended).
    pub fn unregister(&self, room_id: RoomId, id: u64) {
        {
            let mut rooms = self.rooms();
            if let Some(room) = rooms.get_mut(&room_id) {
                room.members.retain(|m| m.id != id);
                if room.members.is_empty() && room.recent.is_empty() {
                    rooms.remove(&room_id);
                }
            }
        }
        self.left.notify_waiters();
    }

    /// Delivers one event to the room's sessions here. A session whose queue
    /// is full (or closed) is dropped; its connection then sees its queue end
    /// and closes.
    pub fn dispatch(&self, event: RoomEvent) {
        let mut rooms = self.rooms();
        let room = rooms.entry(event.room_id).or_default();
        let frame: Arc<str> = event.frame.as_str().into();
        room.members.retain(|m| {
            if !newer(event.version, m.joined_version) {
                return true;
            }
            match delivery(event.audience, m.slot, event.version, &frame) {
                None => true,
                // Nothing more reaches a replaced session (STD1-JOIN-25).
                Some(Delivery::Replaced) => {
                    let _ = m.tx.try_send(Delivery::Replaced);
                    false
                }
                Some(d) => m.tx.try_send(d).is_ok(),
            }
        });
        if event.version.is_some() {
            if ends_room(&event.frame) {
                // Nothing of an expired room is kept; only its end, for a
                // session registering just after it (STD1-LIFE-2).
                room.recent.clear();
            }
            room.recent.push_back((Instant::now(), event));
            while room.recent.len() > RECENT_EVENTS {
                room.recent.pop_front();
            }
        }
    }

    /// Forgets recent events older than a few seconds; run periodically.
    pub fn prune(&self) {
        let now = Instant::now();
        self.rooms().retain(|_, room| {
            while room
                .recent
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > RECENT_FOR)
            {
                room.recent.pop_front();
            }
            !room.members.is_empty() || !room.recent.is_empty()
        });
    }

    /// Ends every session here: events may have been lost. Each session
    /// still receives what is queued for it, which came in order, then sees
    /// its queue end and closes; none can miss this, even with a full queue.
    pub fn resync_all(&self) {
        self.rooms().clear();
        self.left.notify_waiters();
    }

    /// Asks every connection to close (1001) and waits, at most `grace`,
    /// until they have (STD1-WIRE-5).
    pub async fn shut_down(&self, grace: Duration) {
        self.shutting_down.send_replace(true);
        let _ = tokio::time::timeout(grace, async {
            loop {
                let left = self.left.notified();
                if self.connections.load(Ordering::Acquire) == 0 {
                    break;
                }
                left.await;
            }
        })
        .await;
    }

    /// Whether the event listener is connected.
    pub fn is_listening(&self) -> bool {
        self.feed().is_some()
    }

    /// Open connections, joined or not.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Sessions currently registered (for shutdown and metrics).
    pub fn session_count(&self) -> usize {
        self.rooms().values().map(|r| r.members.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(slot: Slot) -> SessionBinding {
        SessionBinding {
            room_id: "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"
                .parse()
                .expect("uuid"),
            slot,
            sender_hash: stelgano_spec::ids::SenderHash::from_bytes([slot as u8; 32]),
            sender_index: [slot as u8; 32],
        }
    }

    fn event(version: Option<i64>, audience: Audience, frame: &str) -> RoomEvent {
        RoomEvent {
            room_id: binding(Slot::Creator).room_id,
            version,
            audience,
            frame: frame.into(),
        }
    }

    fn listening_hub() -> Hub {
        let hub = Hub::default();
        hub.set_listening(true);
        hub
    }

    fn frames(rx: &mut mpsc::Receiver<Delivery>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|d| match d {
                Delivery::Frame { frame, .. } => frame.to_string(),
                Delivery::Resync => "resync".into(),
                Delivery::Replaced => "replaced".into(),
            })
            .collect()
    }

    #[test]
    fn sessions_get_exactly_the_events_after_their_join() {
        // STD1-WIRE-30: whether the event is dispatched before or after the
        // registration, a session sees versions above its join's, once.
        let hub = listening_hub();
        hub.dispatch(event(Some(1), Audience::All, "v1"));
        hub.dispatch(event(Some(2), Audience::All, "v2"));
        let mut late = hub.register(&binding(Slot::Second), 1, hub.feed());
        hub.dispatch(event(Some(3), Audience::All, "v3"));
        assert_eq!(frames(&mut late.deliveries), ["v2", "v3"]);
    }

    #[test]
    fn audience_and_unversioned_events() {
        // STD1-MSG-16: typing reaches the other slot only.
        let hub = listening_hub();
        let mut creator = hub.register(&binding(Slot::Creator), 0, hub.feed());
        let mut second = hub.register(&binding(Slot::Second), 0, hub.feed());
        hub.dispatch(event(None, Audience::Slot(Slot::Creator), "typing"));
        assert_eq!(frames(&mut creator.deliveries), ["typing"]);
        assert!(frames(&mut second.deliveries).is_empty());
        // Unversioned events are not replayed to later sessions.
        let mut later = hub.register(&binding(Slot::Creator), 0, hub.feed());
        assert!(frames(&mut later.deliveries).is_empty());
    }

    #[test]
    fn a_replaced_record_s_sessions_are_closed_and_the_others_told() {
        // STD1-JOIN-15, STD1-JOIN-25: the claim's event reaches the other
        // slot as `party_paired`; the earlier sessions of the replaced slot,
        // present or registering late, end; the claimant (joined at the
        // event's version) sees neither.
        let hub = listening_hub();
        let mut creator = hub.register(&binding(Slot::Creator), 0, hub.feed());
        let mut displaced = hub.register(&binding(Slot::Second), 0, hub.feed());
        hub.dispatch(event(Some(1), Audience::Replacing(Slot::Second), "paired"));
        assert_eq!(frames(&mut creator.deliveries), ["paired"]);
        assert_eq!(frames(&mut displaced.deliveries), ["replaced"]);
        assert_eq!(
            hub.session_count(),
            1,
            "the displaced session left the room"
        );
        let mut late = hub.register(&binding(Slot::Second), 0, hub.feed());
        assert_eq!(frames(&mut late.deliveries), ["replaced"]);
        assert_eq!(hub.session_count(), 1, "nor does a late one join it");
        let mut claimant = hub.register(&binding(Slot::Second), 1, hub.feed());
        hub.dispatch(event(Some(2), Audience::All, "v2"));
        assert_eq!(frames(&mut claimant.deliveries), ["v2"]);
        assert_eq!(frames(&mut creator.deliveries), ["v2"]);
        assert_eq!(frames(&mut displaced.deliveries), Vec::<String>::new());
    }

    #[test]
    fn no_silent_gaps() {
        // STD1-WIRE-30: without a listener, or after the events a session
        // needs were forgotten, it is told to resync.
        let idle = Hub::default();
        let mut early = idle.register(&binding(Slot::Creator), 0, idle.feed());
        assert_eq!(frames(&mut early.deliveries), ["resync"]);
        let hub = listening_hub();
        for v in 1..=40 {
            hub.dispatch(event(Some(v), Audience::All, "e"));
        }
        let mut late = hub.register(&binding(Slot::Second), 2, hub.feed());
        assert_eq!(
            frames(&mut late.deliveries),
            ["resync"],
            "versions 3 to 8 were forgotten"
        );
    }

    #[test]
    fn a_reader_that_falls_behind_is_dropped() {
        let hub = listening_hub();
        let _slow = hub.register(&binding(Slot::Creator), 0, hub.feed());
        for v in 1..=i64::try_from(QUEUE + 1).expect("small") {
            hub.dispatch(event(Some(v), Audience::All, "e"));
        }
        assert_eq!(hub.session_count(), 0, "the full queue removed the session");
    }

    #[test]
    fn unregistered_sessions_and_resync() {
        let hub = listening_hub();
        let first = hub.register(&binding(Slot::Creator), 0, hub.feed());
        let mut second = hub.register(&binding(Slot::Creator), 0, hub.feed());
        hub.unregister(binding(Slot::Creator).room_id, first.id);
        assert_eq!(hub.session_count(), 1);
        hub.dispatch(event(Some(1), Audience::All, "v1"));
        hub.resync_all();
        assert_eq!(hub.session_count(), 0);
        assert_eq!(frames(&mut second.deliveries), ["v1"], "what was queued");
        assert_eq!(
            second.deliveries.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected),
            "then the end"
        );
    }

    #[test]
    fn a_full_queue_still_learns_of_a_lost_listener() {
        // STD1-WIRE-30: no silent gap even when no resync message fits.
        let hub = listening_hub();
        let mut full = hub.register(&binding(Slot::Creator), 0, hub.feed());
        for v in 1..=i64::try_from(QUEUE).expect("small") {
            hub.dispatch(event(Some(v), Audience::All, "e"));
        }
        hub.resync_all();
        assert_eq!(frames(&mut full.deliveries).len(), QUEUE);
        assert_eq!(
            full.deliveries.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        );
    }

    #[test]
    fn a_join_across_a_listener_reconnect_resyncs() {
        // STD1-WIRE-30: events committed between the old connection's loss
        // and the new one's LISTEN reached nobody.
        let hub = listening_hub();
        let before_join = hub.feed();
        hub.set_listening(false);
        hub.set_listening(true);
        assert!(hub.feed().is_some() && hub.feed() != before_join);
        let mut session = hub.register(&binding(Slot::Creator), 0, before_join);
        assert_eq!(frames(&mut session.deliveries), ["resync"]);
        let mut fresh = hub.register(&binding(Slot::Creator), 0, hub.feed());
        assert!(frames(&mut fresh.deliveries).is_empty());
    }

    #[test]
    fn an_expiry_forgets_the_room_s_earlier_events() {
        // STD1-LIFE-2: a room's ciphertext is not kept after it expired.
        let hub = listening_hub();
        hub.dispatch(event(Some(1), Audience::All, r#"{"event":"new_message"}"#));
        hub.dispatch(event(
            Some(2),
            Audience::All,
            r#"{"event":"room_expired","data":{}}"#,
        ));
        let mut late = hub.register(&binding(Slot::Second), 0, hub.feed());
        assert_eq!(
            frames(&mut late.deliveries),
            ["resync"],
            "version 1 is gone, so a session that needed it cannot be served"
        );
        let mut later = hub.register(&binding(Slot::Second), 1, hub.feed());
        assert_eq!(
            frames(&mut later.deliveries),
            [r#"{"event":"room_expired","data":{}}"#]
        );
    }
}
