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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use stelgano_spec::ids::RoomId;
use tokio::sync::{Notify, mpsc};

use crate::store::events::{Audience, RoomEvent};
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
    /// Whether the event listener is connected (sessions registered while
    /// it is not would miss events).
    listening: AtomicBool,
    /// Open connections, joined or not, and the shutdown signal they watch.
    connections: std::sync::atomic::AtomicUsize,
    shutting_down: tokio::sync::watch::Sender<bool>,
}

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

fn wants(audience: Audience, slot: Slot) -> bool {
    match audience {
        Audience::All => true,
        Audience::Slot(s) => s == slot,
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

    /// Records whether the event listener is connected.
    pub fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
    }

    /// Registers a session that joined at `joined_version`, replaying the
    /// recent events it has not seen, or telling it to resync when some are
    /// already gone or no listener is running.
    pub fn register(&self, binding: &SessionBinding, joined_version: i64) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, deliveries) = mpsc::channel(QUEUE);
        let mut rooms = self.rooms();
        let room = rooms.entry(binding.room_id).or_default();
        let oldest = room.recent.iter().filter_map(|(_, e)| e.version).min();
        let forgotten = oldest.is_some_and(|v| v > joined_version + 1);
        if forgotten || !self.listening.load(Ordering::Acquire) {
            let _ = tx.try_send(Delivery::Resync);
        } else {
            let missed = room.recent.iter().map(|(_, e)| e).filter(|e| {
                e.version.is_some_and(|v| v > joined_version) && wants(e.audience, binding.slot)
            });
            for event in missed {
                let _ = tx.try_send(Delivery::Frame {
                    version: event.version,
                    frame: event.frame.as_str().into(),
                });
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
            if !wants(event.audience, m.slot) || !newer(event.version, m.joined_version) {
                return true;
            }
            m.tx.try_send(Delivery::Frame {
                version: event.version,
                frame: Arc::clone(&frame),
            })
            .is_ok()
        });
        if event.version.is_some() {
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

    /// Tells every session here that events may have been lost.
    pub fn resync_all(&self) {
        for room in self.rooms().values_mut() {
            for member in &room.members {
                let _ = member.tx.try_send(Delivery::Resync);
            }
            room.recent.clear();
        }
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
        self.listening.load(Ordering::Acquire)
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
        let mut late = hub.register(&binding(Slot::Second), 1);
        hub.dispatch(event(Some(3), Audience::All, "v3"));
        assert_eq!(frames(&mut late.deliveries), ["v2", "v3"]);
    }

    #[test]
    fn audience_and_unversioned_events() {
        // STD1-MSG-16: typing reaches the other slot only.
        let hub = listening_hub();
        let mut creator = hub.register(&binding(Slot::Creator), 0);
        let mut second = hub.register(&binding(Slot::Second), 0);
        hub.dispatch(event(None, Audience::Slot(Slot::Creator), "typing"));
        assert_eq!(frames(&mut creator.deliveries), ["typing"]);
        assert!(frames(&mut second.deliveries).is_empty());
        // Unversioned events are not replayed to later sessions.
        let mut later = hub.register(&binding(Slot::Creator), 0);
        assert!(frames(&mut later.deliveries).is_empty());
    }

    #[test]
    fn no_silent_gaps() {
        // STD1-WIRE-30: without a listener, or after the events a session
        // needs were forgotten, it is told to resync.
        let idle = Hub::default();
        let mut early = idle.register(&binding(Slot::Creator), 0);
        assert_eq!(frames(&mut early.deliveries), ["resync"]);
        let hub = listening_hub();
        for v in 1..=40 {
            hub.dispatch(event(Some(v), Audience::All, "e"));
        }
        let mut late = hub.register(&binding(Slot::Second), 2);
        assert_eq!(
            frames(&mut late.deliveries),
            ["resync"],
            "versions 3 to 8 were forgotten"
        );
    }

    #[test]
    fn a_reader_that_falls_behind_is_dropped() {
        let hub = listening_hub();
        let _slow = hub.register(&binding(Slot::Creator), 0);
        for v in 1..=i64::try_from(QUEUE + 1).expect("small") {
            hub.dispatch(event(Some(v), Audience::All, "e"));
        }
        assert_eq!(hub.session_count(), 0, "the full queue removed the session");
    }

    #[test]
    fn unregistered_sessions_and_resync() {
        let hub = listening_hub();
        let first = hub.register(&binding(Slot::Creator), 0);
        let mut second = hub.register(&binding(Slot::Creator), 0);
        hub.unregister(binding(Slot::Creator).room_id, first.id);
        assert_eq!(hub.session_count(), 1);
        hub.resync_all();
        assert_eq!(frames(&mut second.deliveries), ["resync"]);
    }
}
