//! The network origins that failed against each room, kept in memory only
//! (spec §8.6, STD1-JOIN-22).
//!
//! A lock bars the origins that failed in the room's current count window;
//! every other origin still gets its credentials looked at, once
//! (STD1-JOIN-23). The store knows where each window starts; this module
//! only remembers, per steg number and origin, against which room and when
//! that origin last failed (the room decides: a number's next room starts
//! with no failures, STD1-JOIN-22), and
//! which origins have a join being decided right now (a second one from the
//! same origin is barred meanwhile, so concurrency buys no extra guess).
//!
//! Nothing here is written to the store or a log (STD1-SRV-1,
//! STD1-SRV-16), and the table holds no address: each entry is keyed by a
//! keyed digest of the room and the origin, under a key derived from the
//! pepper (`StorageKeys::origins_key`), so a look at the process's memory
//! does not list who tried which room without also recovering the pepper.
//!
//! The table is bounded. When it is full and nothing in it is stale, an
//! origin it does not hold is barred (the fail-closed rule of
//! STD1-JOIN-22): the server then behaves as a lock that bars everyone,
//! never as one that bars no one.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::rate_limit::ClientKey;
use crate::store::keyed::mac;
use crate::store::{Failed, JoinOrigin};

/// Entries the table holds at most: about 10 MB, and far more origins than
/// a room's parties and guessers bring between two lock ends.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A room and an origin, as a keyed digest.
type Entry = [u8; 32];

/// The failed origins of every room this instance has seen fail.
pub struct FailedOrigins {
    /// The digest key.
    key: [u8; 32],
    /// How long a failure can matter: a room's count window never outlives
    /// the room, so a failure older than the longest room lifetime is
    /// stale.
    horizon: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// When and against which room each (number, origin) last failed, in
    /// the store's time.
    failed: HashMap<Entry, Failed>,
    /// The (room, origin) pairs with a join being decided.
    deciding: HashSet<Entry>,
}

impl std::fmt::Debug for FailedOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailedOrigins")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl FailedOrigins {
    /// An empty table with digests under `key`, for rooms that live at
    /// most `room_lifetime`, holding at most `capacity` entries.
    pub fn new(key: [u8; 32], room_lifetime: Duration, capacity: usize) -> Self {
        Self {
            key,
            horizon: room_lifetime,
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Starts deciding a join for the room whose keyed hash is `room` from
    /// `origin`. The answer says how the store must treat the origin
    /// during a lock; hand it back to [`Deciding::finish`] once the store
    /// has decided.
    pub fn begin(self: &Arc<Self>, room: &[u8; 32], origin: ClientKey) -> Deciding {
        let entry = self.entry(room, origin);
        let mut inner = self.lock();
        let standing = if !inner.deciding.insert(entry) {
            // Another join from this origin is being decided: this one may
            // not add a guess beside it (STD1-JOIN-22).
            return Deciding {
                table: Arc::clone(self),
                entry: None,
                origin: JoinOrigin::barred(),
            };
        } else if let Some(&failed) = inner.failed.get(&entry) {
            JoinOrigin::failed(failed)
        } else if inner.failed.len() >= self.capacity {
            // Full: an origin that could not be remembered must not be
            // heard (the fail-closed rule).
            JoinOrigin::barred()
        } else {
            JoinOrigin::clear()
        };
        Deciding {
            table: Arc::clone(self),
            entry: Some(entry),
            origin: standing,
        }
    }

    /// Entries held, for tests and metrics.
    pub fn len(&self) -> usize {
        self.lock().failed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remembers that `entry` failed as `failed` says, making room by
    /// dropping failures too old to matter.
    fn remember(&self, entry: Entry, failed: Failed) {
        let mut inner = self.lock();
        if inner.failed.len() >= self.capacity && !inner.failed.contains_key(&entry) {
            let horizon = i64::try_from(self.horizon.as_secs()).unwrap_or(i64::MAX);
            inner
                .failed
                .retain(|_, last| failed.at.seconds_since(last.at) < horizon);
        }
        if inner.failed.len() < self.capacity || inner.failed.contains_key(&entry) {
            let last = inner.failed.entry(entry).or_insert(failed);
            // The latest failure wins; a later room is a later failure.
            if failed.at >= last.at {
                *last = failed;
            }
        }
        // Otherwise the table is full of live entries; `begin` bars every
        // origin it does not hold until some go stale.
    }

    fn entry(&self, room: &[u8; 32], origin: ClientKey) -> Entry {
        match origin.ip() {
            IpAddr::V4(v4) => mac(&self.key, &[room, &v4.octets()]),
            IpAddr::V6(v6) => mac(&self.key, &[room, &v6.octets()]),
        }
    }

    /// The table, even if a thread panicked holding it: every update leaves
    /// it consistent.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A join being decided; dropping it (also when the store fails) lets the
/// origin's next join be decided.
#[must_use = "the store's answer must be handed back with `finish`"]
pub struct Deciding {
    table: Arc<FailedOrigins>,
    /// `None` when this join was barred for another one in flight, whose
    /// entry is not this one's to release.
    entry: Option<Entry>,
    origin: JoinOrigin,
}

impl Deciding {
    /// What the store is told of the origin.
    pub fn origin(&mut self) -> &mut JoinOrigin {
        &mut self.origin
    }

    /// Remembers the join's failure, if it failed (STD1-JOIN-22).
    pub fn finish(self) {
        if let (Some(entry), Some(failed)) = (self.entry, self.origin.failure()) {
            self.table.remember(entry, failed);
        }
    }
}

impl Drop for Deciding {
    fn drop(&mut self) {
        if let Some(entry) = self.entry {
            self.table.lock().deciding.remove(&entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use stelgano_spec::ids::RoomId;
    use stelgano_spec::wire::Timestamp;

    use super::*;

    const ROOM: [u8; 32] = [7; 32];
    const OTHER_ROOM: [u8; 32] = [8; 32];

    fn table(capacity: usize) -> Arc<FailedOrigins> {
        Arc::new(FailedOrigins::new(
            [3; 32],
            Duration::from_secs(3600),
            capacity,
        ))
    }

    fn origin(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    /// A failure against the number's current room, `seconds` into the
    /// test's time.
    fn at(seconds: i64) -> Failed {
        Failed {
            room: RoomId::from_random_bytes([1; 16]),
            at: Timestamp::from_unix(1_800_000_000 + seconds).expect("in range"),
        }
    }

    /// Begins a join and ends it as failed at `when` (or not).
    fn decide(
        table: &Arc<FailedOrigins>,
        room: &[u8; 32],
        who: ClientKey,
        failed: Option<Failed>,
    ) -> JoinOrigin {
        let mut deciding = table.begin(room, who);
        let seen = *deciding.origin();
        deciding.origin().set_failure_for_test(failed);
        deciding.finish();
        seen
    }

    // STD1-JOIN-22: a failure is remembered per room and origin.
    #[test]
    fn a_failure_is_remembered_for_its_room_and_origin_only() {
        let t = table(16);
        assert_eq!(
            decide(&t, &ROOM, origin(1), Some(at(5))),
            JoinOrigin::clear()
        );
        assert_eq!(
            decide(&t, &ROOM, origin(1), None),
            JoinOrigin::failed(at(5))
        );
        assert_eq!(decide(&t, &ROOM, origin(2), None), JoinOrigin::clear());
        assert_eq!(
            decide(&t, &OTHER_ROOM, origin(1), None),
            JoinOrigin::clear()
        );
        // The latest failure is kept.
        decide(&t, &ROOM, origin(1), Some(at(9)));
        decide(&t, &ROOM, origin(1), Some(at(7)));
        assert_eq!(
            decide(&t, &ROOM, origin(1), None),
            JoinOrigin::failed(at(9))
        );
    }

    // STD1-JOIN-22: one IPv6 /64 is one origin.
    #[test]
    fn addresses_of_one_64_share_their_failures() {
        let t = table(16);
        let one = ClientKey::of("2001:db8:1:2::1".parse().expect("address"));
        let same = ClientKey::of("2001:db8:1:2:ffff::9".parse().expect("address"));
        let next = ClientKey::of("2001:db8:1:3::1".parse().expect("address"));
        decide(&t, &ROOM, one, Some(at(1)));
        assert_eq!(decide(&t, &ROOM, same, None), JoinOrigin::failed(at(1)));
        assert_eq!(decide(&t, &ROOM, next, None), JoinOrigin::clear());
    }

    // STD1-JOIN-22: a join being decided bars a second from its origin.
    #[test]
    fn a_join_in_flight_bars_its_origins_next_until_it_ends() {
        let t = table(16);
        let first = t.begin(&ROOM, origin(1));
        let mut second = t.begin(&ROOM, origin(1));
        assert_eq!(*second.origin(), JoinOrigin::barred());
        // Another origin is not held up.
        let mut elsewhere = t.begin(&ROOM, origin(2));
        assert_eq!(*elsewhere.origin(), JoinOrigin::clear());
        // The barred one ending releases nothing of the first's.
        drop(second);
        let mut third = t.begin(&ROOM, origin(1));
        assert_eq!(*third.origin(), JoinOrigin::barred());
        drop(third);
        first.finish();
        let mut after = t.begin(&ROOM, origin(1));
        assert_eq!(*after.origin(), JoinOrigin::clear());
        drop(elsewhere);
        drop(after);
    }

    // STD1-JOIN-22: a later room of the number replaces the earlier
    // room's failure, whatever the times say.
    #[test]
    fn the_latest_failure_wins_even_against_another_room() {
        let t = table(16);
        let old = at(10);
        let new = Failed {
            room: RoomId::from_random_bytes([2; 16]),
            ..at(10)
        };
        decide(&t, &ROOM, origin(1), Some(old));
        decide(&t, &ROOM, origin(1), Some(new));
        assert_eq!(decide(&t, &ROOM, origin(1), None), JoinOrigin::failed(new));
    }

    // A store error drops the join without finishing it.
    #[test]
    fn a_dropped_join_releases_its_origin() {
        let t = table(16);
        drop(t.begin(&ROOM, origin(1)));
        let mut again = t.begin(&ROOM, origin(1));
        assert_eq!(*again.origin(), JoinOrigin::clear());
        drop(again);
        assert!(t.is_empty());
    }

    // STD1-JOIN-22: a full table fails closed.
    #[test]
    fn a_full_table_bars_origins_it_cannot_remember() {
        let t = table(2);
        decide(&t, &ROOM, origin(1), Some(at(100)));
        decide(&t, &ROOM, origin(2), Some(at(100)));
        assert_eq!(decide(&t, &ROOM, origin(3), None), JoinOrigin::barred());
        // Remembered origins are still told apart.
        assert_eq!(
            decide(&t, &ROOM, origin(1), None),
            JoinOrigin::failed(at(100))
        );
        // A failure that cannot be stored leaves the table as it was.
        decide(&t, &ROOM, origin(3), Some(at(200)));
        assert_eq!(t.len(), 2);
        assert_eq!(decide(&t, &ROOM, origin(3), None), JoinOrigin::barred());
    }

    // STD1-JOIN-22, STD1-SRV-16: the table's debug form names no room,
    // origin or digest.
    #[test]
    fn the_debug_form_shows_only_the_capacity() {
        let t = table(16);
        decide(&t, &ROOM, origin(1), Some(at(5)));
        assert_eq!(format!("{t:?}"), "FailedOrigins { capacity: 16, .. }");
    }

    // STD1-JOIN-22: the entry count that metrics report.
    #[test]
    fn the_table_counts_the_failures_it_holds() {
        let t = table(16);
        assert!(t.is_empty());
        decide(&t, &ROOM, origin(1), Some(at(5)));
        decide(&t, &ROOM, origin(2), None);
        assert_eq!(t.len(), 1);
        assert!(!t.is_empty());
    }

    // Stale failures are looked for only when the table is full: below its
    // capacity a failure costs one insertion, not a scan of the table.
    // (Keeping a stale failure bars nothing: the store bars an origin only
    // for a failure against the room in its current window.)
    #[test]
    fn stale_failures_are_dropped_only_to_make_room() {
        let t = table(16);
        decide(&t, &ROOM, origin(1), Some(at(0)));
        decide(&t, &ROOM, origin(2), Some(at(7200)));
        assert_eq!(t.len(), 2);
        assert_eq!(
            decide(&t, &ROOM, origin(1), None),
            JoinOrigin::failed(at(0))
        );
    }

    // STD1-JOIN-22: a failure exactly one room lifetime old is stale: its
    // room, created no later than the failure, has expired by then
    // (STD1-LIFE-1; an expiry time equal to the operation's time is past).
    #[test]
    fn a_failure_one_room_lifetime_old_makes_room() {
        let t = table(2);
        decide(&t, &ROOM, origin(1), Some(at(0)));
        decide(&t, &ROOM, origin(2), Some(at(3000)));
        decide(&t, &ROOM, origin(3), Some(at(3600)));
        assert_eq!(t.len(), 2);
        assert_eq!(
            decide(&t, &ROOM, origin(3), None),
            JoinOrigin::failed(at(3600))
        );
        assert_eq!(decide(&t, &ROOM, origin(1), None), JoinOrigin::barred());
    }

    // Stale failures make room: none can matter after the longest room
    // lifetime.
    #[test]
    fn failures_older_than_a_room_lifetime_make_room() {
        let t = table(2);
        decide(&t, &ROOM, origin(1), Some(at(0)));
        decide(&t, &ROOM, origin(2), Some(at(3000)));
        // An hour after the first failure it is stale; the second is not.
        decide(&t, &ROOM, origin(3), Some(at(3601)));
        assert_eq!(t.len(), 2);
        assert_eq!(decide(&t, &ROOM, origin(1), None), JoinOrigin::barred());
        assert_eq!(
            decide(&t, &ROOM, origin(2), None),
            JoinOrigin::failed(at(3000))
        );
        assert_eq!(
            decide(&t, &ROOM, origin(3), None),
            JoinOrigin::failed(at(3601))
        );
    }
}
