//! The timing suite: does the time a `join` takes tell its outcome?
//!
//! STD1-JOIN-21 makes a server hold every `create` and `join` reply until a
//! floor `F` plus a random jitter has passed, so that an observer who times
//! replies learns nothing about which path the request took inside the
//! server. This suite times joins on four paths, interleaved and
//! concurrent so that load on the machine falls on all of them alike:
//!
//! * a steg number with no room (`not_found`),
//! * a wrong PIN (`unauthorized`),
//! * a locked room (`locked`),
//! * the right PIN (`Joined`).
//!
//! Two checks follow. The floor check is exact: a reply the harness saw
//! sooner than `F` after it sent the request left the server sooner than
//! `F` after the server began on it. The indistinguishability check takes
//! the minimum of each batch of samples (minima shed the harness's own
//! scheduling noise, which only ever adds time) and compares every pair of
//! paths with a two-sample Kolmogorov–Smirnov test; a pair whose minima
//! differ at the configured significance fails.
//!
//! Every sample opens its own connection, which is not timed: the clock
//! runs from the request frame's send to its reply.

use std::time::{Duration, Instant};

use stelgano_spec::ErrorReason;
use stelgano_spec::derive::{PartyHashes, Phone, Pin};
use stelgano_spec::ids::Ref;
use stelgano_spec::wire::{ClientEvent, CreateRoom, JoinRoom, ReplyBody, ServerFrame};

use crate::client::{Connection, Incoming};
use crate::fixtures;
use crate::report::{CheckResult, Verdict};

/// The smallest time floor `F` conforming in production (STD1-JOIN-21).
pub const PRODUCTION_MIN_FLOOR_MS: u64 = 100;

/// The requirement both checks examine.
pub const REQUIREMENTS: [&str; 1] = ["STD1-JOIN-21"];

/// How long one request may take before the suite gives up on the target.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// How the suite samples and decides.
#[derive(Debug, Clone)]
pub struct TimingSettings {
    /// The target's configured floor `F`.
    pub floor: Duration,
    /// Batches per path; each contributes its minimum to the test.
    pub batches: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Family-wise significance: the chance that a conforming target fails
    /// one of the six pairwise tests by bad luck. Each pair is tested at
    /// `alpha / 6` (Bonferroni).
    pub alpha: f64,
    /// The target's lockout `L` (STD1-JOIN-18): a room answers `L - 1`
    /// wrong PINs with `unauthorized` before the `L`th locks it.
    pub lockout_attempts: u64,
}

impl Default for TimingSettings {
    fn default() -> Self {
        Self {
            floor: Duration::from_millis(PRODUCTION_MIN_FLOOR_MS),
            batches: 40,
            batch_size: 5,
            alpha: 0.001,
            lockout_attempts: 3,
        }
    }
}

/// One of the paths a `join` can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinPath {
    NoRoom,
    WrongPin,
    Locked,
    RightPin,
}

impl JoinPath {
    pub const ALL: [JoinPath; 4] = [
        JoinPath::NoRoom,
        JoinPath::WrongPin,
        JoinPath::Locked,
        JoinPath::RightPin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JoinPath::NoRoom => "no-room",
            JoinPath::WrongPin => "wrong-pin",
            JoinPath::Locked => "locked",
            JoinPath::RightPin => "right-pin",
        }
    }
}

/// What the suite measured, for the report's statistics line.
#[derive(Debug, Clone, Default)]
pub struct TimingSummary {
    /// `create` and `join` replies timed.
    pub replies: usize,
    /// The fastest of them.
    pub fastest: Duration,
    /// The largest KS statistic over the pairs, and its pair.
    pub max_d: f64,
    pub max_d_pair: String,
    /// The smallest p-value over the pairs.
    pub min_p: f64,
}

/// Runs the suite against `url`. `pins` are the creator's, the second
/// party's and a third person's PINs (the corpus's), of which the first
/// and third are used.
pub async fn run(
    url: &str,
    pins: &[String; 3],
    settings: &TimingSettings,
) -> (Vec<CheckResult>, TimingSummary) {
    let started = Instant::now();
    let measured = measure(url, pins, settings).await;
    let took = started.elapsed();
    let ids = || REQUIREMENTS.iter().map(|s| (*s).to_owned()).collect();
    let pairs = pairs();
    let samples = match measured {
        Ok(samples) => samples,
        Err(why) => {
            let mut results = vec![CheckResult::new(
                "timing",
                "floor",
                ids(),
                Verdict::Fail(why.clone()),
                took,
            )];
            results.extend(pairs.iter().map(|(a, b)| {
                CheckResult::new(
                    "timing",
                    &format!("{}-vs-{}", a.name(), b.name()),
                    ids(),
                    Verdict::Fail(why.clone()),
                    took,
                )
            }));
            return (results, TimingSummary::default());
        }
    };

    let mut summary = TimingSummary {
        replies: samples.all.len(),
        fastest: samples.all.iter().copied().min().unwrap_or_default(),
        min_p: 1.0,
        ..TimingSummary::default()
    };
    let early = samples.all.iter().filter(|t| **t < settings.floor).count();
    let floor_detail = format!(
        "{} create/join replies, fastest {:.1} ms, floor {} ms",
        samples.all.len(),
        ms(summary.fastest),
        settings.floor.as_millis()
    );
    // STD1-JOIN-21: no reply before the floor.
    let verdict = if early == 0 {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "{early} of {} replies arrived sooner than the floor of {} ms after their request (fastest {:.1} ms)",
            samples.all.len(),
            settings.floor.as_millis(),
            ms(summary.fastest)
        ))
    };
    let mut floor = CheckResult::new("timing", "floor", ids(), verdict, took);
    floor.detail = Some(floor_detail);
    let mut results = vec![floor];

    // STD1-JOIN-21: the floor hides the path.
    let per_pair_alpha = settings.alpha / pairs.len() as f64;
    for (a, b) in pairs {
        let minima_a = &samples.minima[index(a)];
        let minima_b = &samples.minima[index(b)];
        let (d, p) = ks_two_sample(minima_a, minima_b);
        let name = format!("{}-vs-{}", a.name(), b.name());
        let detail = format!(
            "KS D = {d:.3}, p = {p:.4} over {} vs {} batch minima (median {:.2} ms vs {:.2} ms); fails below p = {per_pair_alpha:.5}",
            minima_a.len(),
            minima_b.len(),
            median_ms(minima_a),
            median_ms(minima_b)
        );
        if d > summary.max_d {
            summary.max_d = d;
            summary.max_d_pair = name.clone();
        }
        summary.min_p = summary.min_p.min(p);
        let verdict = if p < per_pair_alpha {
            Verdict::Fail(format!(
                "the {} and {} paths are distinguishable by their reply times: {detail}",
                a.name(),
                b.name()
            ))
        } else {
            Verdict::Pass
        };
        let mut check = CheckResult::new("timing", &name, ids(), verdict, took);
        check.detail = Some(detail);
        results.push(check);
    }
    (results, summary)
}

fn pairs() -> Vec<(JoinPath, JoinPath)> {
    let mut pairs = Vec::new();
    for (i, a) in JoinPath::ALL.iter().enumerate() {
        for b in &JoinPath::ALL[i + 1..] {
            pairs.push((*a, *b));
        }
    }
    pairs
}

fn index(path: JoinPath) -> usize {
    JoinPath::ALL
        .iter()
        .position(|p| *p == path)
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median_ms(samples: &[Duration]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().map_or(0.0, ms)
}

/// Every reply timed, and each path's batch minima.
struct Samples {
    all: Vec<Duration>,
    minima: [Vec<Duration>; 4],
}

/// One path's samples, in batches, and the times of the requests that set
/// its rooms up (creates, locking joins), which the floor applies to too.
#[derive(Default)]
struct PathSamples {
    batches: Vec<Vec<Duration>>,
    setup: Vec<Duration>,
}

impl PathSamples {
    fn new(batches: usize) -> Self {
        Self {
            batches: vec![Vec::new(); batches],
            setup: Vec::new(),
        }
    }

    /// The batch the next sample goes to, or `None` when all are full.
    fn next_batch(&mut self, batch_size: usize) -> Option<&mut Vec<Duration>> {
        self.batches.iter_mut().find(|b| b.len() < batch_size)
    }
}

/// Samples the four paths at once. Rooms are made as the paths need them,
/// and made again when the target's room lifetime ends them during the
/// run, so the suite works with a target configured for the model suite.
async fn measure(
    url: &str,
    pins: &[String; 3],
    settings: &TimingSettings,
) -> Result<Samples, String> {
    if settings.lockout_attempts < 2 {
        return Err(
            "a lockout of 1 locks on the first wrong PIN, so there is no wrong-PIN path to time"
                .into(),
        );
    }
    if settings.batches == 0 || settings.batch_size == 0 {
        return Err("no samples asked for".into());
    }
    let creator = Pin::parse(&pins[0]).map_err(|e| format!("PIN: {e}"))?;
    let stranger = Pin::parse(&pins[2]).map_err(|e| format!("PIN: {e}"))?;
    let shape = (settings.batches, settings.batch_size);
    let per_room = settings.lockout_attempts - 1;
    let (no_room, wrong_pin, locked, right_pin) = tokio::join!(
        sample_no_room(url, shape, &creator),
        sample_wrong_pin(url, shape, &creator, &stranger, per_room),
        sample_locked(url, shape, &creator, &stranger),
        sample_right_pin(url, shape, &creator),
    );
    let mut all = Vec::new();
    let mut minima: [Vec<Duration>; 4] = Default::default();
    for (i, path) in [no_room?, wrong_pin?, locked?, right_pin?]
        .into_iter()
        .enumerate()
    {
        all.extend(path.setup);
        all.extend(path.batches.iter().flatten());
        minima[i] = path
            .batches
            .iter()
            .filter_map(|batch| batch.iter().min().copied())
            .collect();
    }
    Ok(Samples { all, minima })
}

/// Joins of numbers nobody created.
async fn sample_no_room(
    url: &str,
    (batches, batch_size): (usize, usize),
    pin: &Pin,
) -> Result<PathSamples, String> {
    let mut samples = PathSamples::new(batches);
    while let Some(batch) = samples.next_batch(batch_size) {
        let phone = fixtures::steg_number()?;
        match join(url, &phone, pin).await? {
            (took, Answer::Error(ErrorReason::NotFound)) => batch.push(took),
            (_, other) => return Err(format!("a join of no room was answered {other:?}")),
        }
    }
    Ok(samples)
}

/// Joins with the creator's PIN.
async fn sample_right_pin(
    url: &str,
    (batches, batch_size): (usize, usize),
    pin: &Pin,
) -> Result<PathSamples, String> {
    let mut samples = PathSamples::new(batches);
    let mut room = create_room(url, pin, &mut samples.setup).await?;
    while let Some(batch) = samples.next_batch(batch_size) {
        match join(url, &room, pin).await? {
            (took, Answer::Joined) => batch.push(took),
            // The room's lifetime ended; the sample does not count.
            (_, Answer::Error(ErrorReason::NotFound)) => {
                room = create_room(url, pin, &mut samples.setup).await?;
            }
            (_, other) => return Err(format!("a join with the right PIN was answered {other:?}")),
        }
    }
    Ok(samples)
}

/// Wrong PINs: each room takes `L - 1` of them without locking. A
/// producer makes rooms a few ahead, so that making them does not slow
/// this path's sampling.
async fn sample_wrong_pin(
    url: &str,
    (batches, batch_size): (usize, usize),
    creator: &Pin,
    stranger: &Pin,
    per_room: u64,
) -> Result<PathSamples, String> {
    let (rooms_tx, mut rooms_rx) = tokio::sync::mpsc::channel::<Phone>(4);
    let producer = async move {
        let mut setup = Vec::new();
        loop {
            let room = create_room(url, creator, &mut setup).await?;
            if rooms_tx.send(room).await.is_err() {
                return Ok::<_, String>(setup);
            }
        }
    };
    let consumer = async move {
        let mut samples = PathSamples::new(batches);
        let mut room: Option<(Phone, u64)> = None;
        while let Some(batch) = samples.next_batch(batch_size) {
            let (phone, used) = match room.take() {
                Some((phone, used)) if used < per_room => (phone, used),
                _ => (rooms_rx.recv().await.ok_or("no rooms made")?, 0),
            };
            match join(url, &phone, stranger).await? {
                (took, Answer::Error(ErrorReason::Unauthorized)) => {
                    batch.push(took);
                    room = Some((phone, used + 1));
                }
                // Expired while waiting: take the next room.
                (_, Answer::Error(ErrorReason::NotFound)) => {}
                (_, other) => return Err(format!("a wrong PIN was answered {other:?}")),
            }
        }
        // Dropping the receiver stops the producer.
        drop(rooms_rx);
        Ok(samples)
    };
    let (setup, samples) = tokio::join!(producer, consumer);
    let mut samples = samples?;
    samples.setup.extend(setup?);
    Ok(samples)
}

/// Joins of a locked room. A lock that ends during the run (a target with
/// a short `D`) is renewed, a room that expires is made and locked again,
/// and the samples that found them so do not count.
async fn sample_locked(
    url: &str,
    (batches, batch_size): (usize, usize),
    creator: &Pin,
    stranger: &Pin,
) -> Result<PathSamples, String> {
    let mut samples = PathSamples::new(batches);
    let mut room = create_room(url, creator, &mut samples.setup).await?;
    lock(url, &room, stranger, &mut samples.setup).await?;
    while samples.next_batch(batch_size).is_some() {
        let (took, answer) = join(url, &room, stranger).await?;
        match answer {
            Answer::Error(ErrorReason::Locked) => {
                if let Some(batch) = samples.next_batch(batch_size) {
                    batch.push(took);
                }
            }
            Answer::Error(ErrorReason::Unauthorized) => {
                samples.setup.push(took);
                lock(url, &room, stranger, &mut samples.setup).await?;
            }
            Answer::Error(ErrorReason::NotFound) => {
                room = create_room(url, creator, &mut samples.setup).await?;
                lock(url, &room, stranger, &mut samples.setup).await?;
            }
            other => return Err(format!("a join of a locked room was answered {other:?}")),
        }
    }
    Ok(samples)
}

/// Sends wrong PINs until the room answers `locked`.
async fn lock(
    url: &str,
    phone: &Phone,
    stranger: &Pin,
    times: &mut Vec<Duration>,
) -> Result<(), String> {
    for _ in 0..=10 {
        let (took, answer) = join(url, phone, stranger).await?;
        times.push(took);
        match answer {
            Answer::Error(ErrorReason::Locked) => return Ok(()),
            Answer::Error(ErrorReason::Unauthorized) => {}
            other => return Err(format!("a wrong PIN was answered {other:?}")),
        }
    }
    Err("eleven wrong PINs did not lock the room (STD1-JOIN-18 caps L at 10)".into())
}

/// What a reply said, as far as this suite cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Joined,
    Error(ErrorReason),
    Other,
}

async fn join(url: &str, phone: &Phone, pin: &Pin) -> Result<(Duration, Answer), String> {
    let hashes = PartyHashes::derive(phone, pin);
    timed_request(
        url,
        ClientEvent::Join(JoinRoom {
            room_hash: hashes.room_hash,
            access_hash: hashes.access_hash,
            sender_hash: hashes.sender_hash,
            pairing_hash: None,
        }),
    )
    .await
}

/// Creates a room on a fresh number, noting the create's time.
async fn create_room(url: &str, pin: &Pin, times: &mut Vec<Duration>) -> Result<Phone, String> {
    let phone = fixtures::steg_number()?;
    let hashes = PartyHashes::derive(&phone, pin);
    let (took, answer) = timed_request(
        url,
        ClientEvent::Create(CreateRoom {
            room_hash: hashes.room_hash,
            access_hash: hashes.access_hash,
            sender_hash: hashes.sender_hash,
            pairing_hash: fixtures::pairing_code()?.hash(),
            country_iso: None,
        }),
    )
    .await?;
    times.push(took);
    if answer != Answer::Joined {
        return Err(format!("a create was answered {answer:?}"));
    }
    Ok(phone)
}

/// Sends one request on a connection of its own and times its reply.
async fn timed_request(url: &str, event: ClientEvent) -> Result<(Duration, Answer), String> {
    let mut c = Connection::open(url, "timing")
        .await
        .map_err(|e| e.to_string())?;
    let sent = Instant::now();
    let reference = c.send(event).await.map_err(|e| e.to_string())?;
    let answer = loop {
        match c.next(REPLY_TIMEOUT).await.map_err(|e| e.to_string())? {
            Incoming::Frame(ServerFrame::Broadcast(_)) => continue,
            Incoming::Frame(frame) => break answer_to(&frame, &reference)?,
            Incoming::Close(code) => {
                return Err(format!("the connection closed ({code:?}) before the reply"));
            }
            Incoming::Gone => return Err("the connection ended before the reply".into()),
        }
    };
    let took = sent.elapsed();
    c.close().await;
    Ok((took, answer))
}

fn answer_to(frame: &ServerFrame, reference: &Ref) -> Result<Answer, String> {
    match frame {
        ServerFrame::Ok(ok) if &ok.reference == reference => Ok(match ok.ok {
            ReplyBody::Joined(_) => Answer::Joined,
            _ => Answer::Other,
        }),
        ServerFrame::Error(e) if e.reference.as_ref() == Some(reference) => {
            Ok(Answer::Error(e.error.reason))
        }
        other => Err(format!("a reply to another request: {other:?}")),
    }
}

/// The two-sample Kolmogorov–Smirnov test: the largest distance `D`
/// between the samples' empirical distribution functions, and the
/// asymptotic p-value of `D` (with Stephens' small-sample correction).
pub fn ks_two_sample(a: &[Duration], b: &[Duration]) -> (f64, f64) {
    if a.is_empty() || b.is_empty() {
        return (0.0, 1.0);
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0_f64);
    while i < a.len() && j < b.len() {
        // Step past every sample equal to the smaller current value in
        // both, so that ties move the two functions together.
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] == x {
            i += 1;
        }
        while j < b.len() && b[j] == x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let effective = (n * m / (n + m)).sqrt();
    let lambda = (effective + 0.12 + 0.11 / effective) * d;
    (d, kolmogorov_q(lambda))
}

/// `Q(λ) = 2 Σ (-1)^(k-1) e^(-2k²λ²)`, the Kolmogorov distribution's tail.
fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * lambda * lambda).exp();
        sum += if k % 2.0 == 1.0 { term } else { -term };
        if term < 1e-12 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn identical_samples_are_indistinguishable() {
        let a = ms(&[100, 101, 102, 103, 104, 105, 106, 107]);
        assert_eq!(ks_two_sample(&a, &a), (0.0, 1.0));
    }

    #[test]
    fn disjoint_samples_are_told_apart() {
        // Five against five with no overlap: D = 1; the exact p-value is
        // 2/252 ≈ 0.008, the asymptotic one ≈ 0.004.
        let (d, p) = ks_two_sample(&ms(&[1, 2, 3, 4, 5]), &ms(&[6, 7, 8, 9, 10]));
        assert!((d - 1.0).abs() < 1e-12);
        assert!(p > 0.001 && p < 0.01, "{p}");
        // Forty batch minima a millisecond apart, as a floorless server's
        // paths would be: far beyond any configured significance.
        let fast: Vec<u64> = (0..40).map(|i| 100 + i % 3).collect();
        let slow: Vec<u64> = (0..40).map(|i| 104 + i % 3).collect();
        let (d, p) = ks_two_sample(&ms(&fast), &ms(&slow));
        assert!((d - 1.0).abs() < 1e-12 && p < 1e-10, "{d} {p}");
    }

    #[test]
    fn ties_move_both_distributions_together() {
        // Half the values shared: D is the 0.5 gap, not an artefact of
        // stepping through ties one side at a time.
        let (d, _) = ks_two_sample(&ms(&[1, 1, 2, 2]), &ms(&[2, 2, 3, 3]));
        assert!((d - 0.5).abs() < 1e-12, "{d}");
    }

    #[test]
    fn the_tail_is_a_probability() {
        // Tabulated values of the Kolmogorov distribution: Q(1.0) ≈ 0.2700,
        // Q(1.36) ≈ 0.0495 (the familiar 5% point is λ ≈ 1.358).
        assert!((kolmogorov_q(1.0) - 0.2700).abs() < 1e-4);
        assert!((kolmogorov_q(1.36) - 0.0495).abs() < 1e-4);
        assert_eq!(kolmogorov_q(0.0), 1.0);
    }

    #[test]
    fn six_pairs_of_four_paths() {
        assert_eq!(pairs().len(), 6);
    }
}
