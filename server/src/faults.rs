//! Deliberate faults, for the conformance harness's own tests only.
//!
//! A harness that never fails proves nothing: `conformance/tests/faults.rs`
//! starts this server with one of these faults injected and checks that the
//! harness reports the requirement the fault breaks. Injection exists only
//! in builds with the `fault-injection` feature, which only the harness's
//! dev-dependency enables; in every other build [`injected`] is a constant
//! `false` and the compiler removes the faulty branches, and the server has
//! no way to turn one on.

/// One deliberate deviation from the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// A party may send twice in a row (breaks STD1-MSG-3).
    NoSenderBlocking,
    /// The author may mark their own message read (breaks STD1-MSG-9).
    ReadByAuthor,
    /// A message may be edited after it was read (breaks STD1-MSG-12).
    EditAfterRead,
    /// A third PIN with any pairing code is admitted to a paired room, as a
    /// third party beside its two records (breaks STD1-JOIN-5 and
    /// STD1-JOIN-6).
    ThirdAccessRecord,
    /// Replies to `create` and `join` are sent as soon as they are ready
    /// (breaks STD1-JOIN-21).
    NoTimeFloor,
    /// An expiry announces `room_expired` and ends the room's sessions,
    /// but the room and its message stay, and a party who joins again finds
    /// them (breaks STD1-LIFE-3 and STD1-LIFE-5). Upstream v1 kept expired
    /// rooms' rows too.
    MessageLeftAfterExpiry,
    /// A locked room refuses every origin, the rule std-1 first had
    /// (breaks STD1-JOIN-23).
    HardLock,
}

#[cfg(feature = "fault-injection")]
static INJECTED: std::sync::OnceLock<Fault> = std::sync::OnceLock::new();

/// Injects `fault` into this process, once; false if one was injected already.
#[cfg(feature = "fault-injection")]
pub fn inject(fault: Fault) -> bool {
    INJECTED.set(fault).is_ok()
}

/// Whether `fault` is injected into this process.
#[inline]
pub fn injected(fault: Fault) -> bool {
    #[cfg(feature = "fault-injection")]
    {
        INJECTED.get() == Some(&fault)
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = fault;
        false
    }
}
