//! Faults survived: the reference server under a workload of racing
//! replies while its database restarts, it is killed and restarted, its
//! clients' connections drop, and a second instance on the same database
//! dies — after which every room's history must still be one that the
//! rules allow, and the server must be back in service on its own.
//!
//! * The workload ([`party`]): rooms whose two parties reply to each
//!   other on a shared clock, sometimes both at once, reconnecting with
//!   back-off and rejoining after every failure (STD1-CLI-22), and logging
//!   what they ask, are told and see ([`history`]).
//! * The faults ([`Fault`], [`inject`]), one after another while the
//!   workload runs; after each, a new room must be created, joined and
//!   written to, and every party of every room must get a reply
//!   acknowledged, within a deadline.
//! * The checks ([`check`]), once the workload has stopped, of each room's
//!   history against its final database row: acknowledged messages are
//!   never lost (STD1-MSG-7), a room never holds two messages nor the same
//!   party's twice in a row (STD1-MSG-1, STD1-MSG-3), sessions see every
//!   broadcast in order (STD1-WIRE-30), and the history is linearizable
//!   against one room's sequential specification (STD1-MSG-8,
//!   STD1-SRV-6).
//!
//! Faults (a), (b) and (d) of issue 9 are [`Fault::Postgres`],
//! [`Fault::Server`] and [`Fault::Instance`]; fault (c), the dropped
//! client connections, is [`ChaosOptions::drop_chance`].

pub mod check;
pub mod history;
pub mod inject;
pub mod party;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use crate::linearizable::Side;
use crate::reference::{ReferenceServer, ReferenceSettings, StartError};
use check::{RoomCounts, RoomFacts, StoredRow};
use party::{Knobs, Party, Room};

/// What the checks name (besides `recovery`, for a server or clients
/// that did not come back in time, which no requirement states).
pub const REQUIREMENTS: [&str; 16] = [
    "STD1-JOIN-8",
    "STD1-MSG-1",
    "STD1-MSG-2",
    "STD1-MSG-3",
    "STD1-MSG-4",
    "STD1-MSG-5",
    "STD1-MSG-6",
    "STD1-MSG-7",
    "STD1-MSG-8",
    "STD1-SRV-6",
    "STD1-WIRE-5",
    "STD1-WIRE-7",
    "STD1-WIRE-20",
    "STD1-WIRE-26",
    "STD1-WIRE-29",
    "STD1-WIRE-30",
];

/// A fault done to a process while the workload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// (a) PostgreSQL restarted in immediate mode, as in a crash: the
    /// server's pooled connections and its `LISTEN` connection die.
    Postgres,
    /// (b) The server killed with SIGKILL and started again on the same
    /// data directory and port; its PostgreSQL keeps running.
    Server,
    /// (d) One of two instances on the same database killed with SIGKILL
    /// while the other serves on; its clients move to the other. It is
    /// started again once they have, and the next time the other one is
    /// killed, so that every time some clients must move: the second
    /// instance first, then the first.
    Instance,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres restart",
            Self::Server => "server kill",
            Self::Instance => "instance kill (one of two)",
        }
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// Rooms of the workload, each with two parties.
    pub rooms: usize,
    /// Faults injected in this order, round after round, until
    /// `duration` has passed; each at least once.
    pub faults: Vec<Fault>,
    /// How long faults go on being injected (or, with none, how long the
    /// workload runs with dropped connections alone).
    pub duration: Duration,
    /// Chance, per request, that a party drops its connection right
    /// before writing it, and again right after (fault c); 0 for none.
    pub drop_chance: f64,
    /// Chance, per tick, that a party sends out of turn.
    pub race_chance: f64,
    /// The rooms' clock.
    pub tick: Duration,
    /// Undisturbed traffic before the first fault and after each recovery.
    pub calm: Duration,
    /// How long the server and the clients have to recover from a fault.
    pub recovery_deadline: Duration,
    pub seed: u64,
    /// Whether to keep copies of the servers' logs when a run finds
    /// violations ([`ChaosReport::server_logs`]).
    pub keep_logs: bool,
    /// The first instance's settings; the second, when
    /// [`Fault::Instance`] is asked for, gets the same with
    /// `--database-url`.
    pub server: ReferenceSettings,
}

impl ChaosOptions {
    /// A run of every fault, for about `duration`.
    pub fn new(duration: Duration, seed: u64) -> Self {
        Self {
            rooms: 12,
            faults: vec![Fault::Postgres, Fault::Server, Fault::Instance],
            duration,
            drop_chance: 0.03,
            race_chance: 0.3,
            tick: Duration::from_millis(150),
            calm: Duration::from_secs(2),
            recovery_deadline: Duration::from_secs(30),
            seed,
            keep_logs: true,
            server: Self::server_settings(),
        }
    }

    /// The reference server's settings for a run: rooms that outlive it,
    /// and production's log level (a debug log of thousands of requests
    /// costs CPU the two cores need).
    pub fn server_settings() -> ReferenceSettings {
        ReferenceSettings {
            room_ttl_seconds: 3600,
            sweep_seconds: 5,
            log_filter: "info".to_owned(),
            ..ReferenceSettings::default()
        }
    }
}

/// Why a run could not be carried out (as opposed to what it found).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("starting the reference server: {0}")]
    Start(#[from] StartError),
    #[error("setting up the rooms: {0}")]
    Setup(String),
    #[error("pg_ctl was found neither under /usr/lib/postgresql/*/bin nor on PATH")]
    NoPgCtl,
    #[error("restarting PostgreSQL: {0}")]
    Postgres(String),
    #[error("killing the server: {0}")]
    Kill(std::io::Error),
    #[error("reading the final state from the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database holds a message id that is not a version 4 UUID: {0:?}")]
    BadMessageId(String),
    #[error("the run needs at least one room")]
    NoRooms,
}

/// One fault injected and how the system came back.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Injection {
    pub fault: Fault,
    /// Until a new room could be created, joined and written to; `None`
    /// when that did not happen within the deadline.
    pub service_ms: Option<u64>,
    /// Until every party of every room had a reply acknowledged; `None`
    /// when some had not within the deadline.
    pub clients_ms: Option<u64>,
}

/// What a run did and found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChaosReport {
    pub seed: u64,
    pub rooms: usize,
    pub injections: Vec<Injection>,
    /// Connections the parties dropped themselves (fault c).
    pub socket_drops: usize,
    /// Connections the parties opened.
    pub connections: usize,
    /// Summed over the rooms.
    pub counts: RoomCounts,
    /// Each names the requirement it breaks, or `recovery`; empty when
    /// the run passed.
    pub violations: Vec<String>,
    /// Copies of the servers' logs, kept when there were violations (the
    /// originals go with the servers).
    pub server_logs: Vec<PathBuf>,
    pub took_ms: u64,
}

impl ChaosReport {
    /// Faults injected, dropped connections included.
    pub fn faults(&self) -> usize {
        self.injections.len() + self.socket_drops
    }

    /// Requests made: joins and sends.
    pub fn operations(&self) -> usize {
        self.counts.joins + self.counts.sends
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The counts, one line each, and the violations.
    pub fn summary(&self) -> String {
        let mut by_fault: Vec<String> = Vec::new();
        for fault in [Fault::Postgres, Fault::Server, Fault::Instance] {
            let of: Vec<&Injection> = self
                .injections
                .iter()
                .filter(|i| i.fault == fault)
                .collect();
            if of.is_empty() {
                continue;
            }
            let slowest = |f: fn(&Injection) -> Option<u64>| {
                of.iter()
                    .map(|i| f(i))
                    .try_fold(0, |max, ms| ms.map(|ms| ms.max(max)))
            };
            let show = |ms: Option<u64>| {
                ms.map_or("not within the deadline".to_owned(), |ms| {
                    format!("{ms} ms")
                })
            };
            by_fault.push(format!(
                "{} x{}: service back within {}, every client within {}",
                fault.name(),
                of.len(),
                show(slowest(|i| i.service_ms)),
                show(slowest(|i| i.clients_ms)),
            ));
        }
        let c = &self.counts;
        let mut text = format!(
            "chaos: seed {}, {} rooms, {:.1} s\n\
             faults injected: {} ({} process faults, {} dropped client connections)\n",
            self.seed,
            self.rooms,
            self.took_ms as f64 / 1000.0,
            self.faults(),
            self.injections.len(),
            self.socket_drops,
        );
        for line in by_fault {
            text.push_str(&format!("  {line}\n"));
        }
        text.push_str(&format!(
            "operations: {} ({} joins, {} of unknown outcome; {} sends: {} acknowledged, {} refused, \
             {} of unknown outcome taken, {} not taken); {} connections; checked in {} pieces\n\
             violations: {}\n",
            self.operations(),
            c.joins,
            c.joins_unknown,
            c.sends,
            c.acknowledged,
            c.refused,
            c.unknown_taken,
            c.unknown_lost,
            self.connections,
            c.pieces,
            self.violations.len()
        ));
        for v in &self.violations {
            text.push_str(&format!("  {v}\n"));
        }
        for log in &self.server_logs {
            text.push_str(&format!("server log kept: {}\n", log.display()));
        }
        text
    }
}

/// Acknowledged sends of every party, room by room.
fn acknowledged(rooms: &[Arc<Room>]) -> Vec<[usize; 2]> {
    rooms
        .iter()
        .map(|r| {
            [
                r.acknowledged[0].load(Ordering::Acquire),
                r.acknowledged[1].load(Ordering::Acquire),
            ]
        })
        .collect()
}

/// Probes `url` until a probe passes or `deadline`; the time it took.
async fn back_in_service(url: &str, since: Instant, deadline: Instant) -> Result<Duration, String> {
    let mut last = String::new();
    while Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, party::probe(url)).await {
            Ok(Ok(())) => return Ok(since.elapsed()),
            Ok(Err(e)) => last = e,
            Err(_) => last = "the probe did not finish in time".to_owned(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

/// Waits until every party of every room has had a send acknowledged
/// since `before`, or `deadline`; the time it took, or who had not.
async fn clients_recovered(
    rooms: &[Arc<Room>],
    before: &[[usize; 2]],
    since: Instant,
    deadline: Instant,
) -> Result<Duration, Vec<String>> {
    loop {
        let now = acknowledged(rooms);
        let behind: Vec<String> = now
            .iter()
            .zip(before)
            .enumerate()
            .flat_map(|(room, (now, before))| {
                [Side::A, Side::B]
                    .into_iter()
                    .filter(move |side| now[*side as usize] <= before[*side as usize])
                    .map(move |side| format!("room {room} party {side:?}"))
            })
            .collect();
        if behind.is_empty() {
            return Ok(since.elapsed());
        }
        if Instant::now() >= deadline {
            return Err(behind);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The message rows of each room, in the rooms' order.
async fn final_rows(
    database_url: &str,
    rooms: &[Arc<Room>],
) -> Result<Vec<Vec<StoredRow>>, ChaosError> {
    use sqlx::Connection as _;
    let mut db = sqlx::PgConnection::connect(database_url).await?;
    let mut all = Vec::with_capacity(rooms.len());
    for room in rooms {
        let rows: Vec<(String, i16, Vec<u8>)> = sqlx::query_as(
            "SELECT id::text, author_slot, ciphertext FROM messages WHERE room_id = $1::uuid",
        )
        .bind(room.room_id.to_string())
        .fetch_all(&mut db)
        .await?;
        let mut stored = Vec::with_capacity(rows.len());
        for (id, author_slot, ciphertext) in rows {
            let id = id
                .parse()
                .map_err(|_| ChaosError::BadMessageId(id.clone()))?;
            stored.push(StoredRow {
                id,
                author_slot,
                ciphertext,
            });
        }
        all.push(stored);
    }
    db.close().await?;
    Ok(all)
}

/// Runs the workload under the faults and checks what happened.
pub async fn run(options: &ChaosOptions) -> Result<ChaosReport, ChaosError> {
    if options.rooms == 0 {
        return Err(ChaosError::NoRooms);
    }
    let started = Instant::now();
    let mut report = ChaosReport {
        seed: options.seed,
        rooms: options.rooms,
        ..ChaosReport::default()
    };
    let mut first = ReferenceServer::start(&options.server).await?;
    let mut second = if options.faults.contains(&Fault::Instance) {
        let mut settings = options.server.clone();
        settings
            .extra_args
            .extend(["--database-url".to_owned(), first.database_url()]);
        Some(ReferenceServer::start(&settings).await?)
    } else {
        None
    };
    let url = first.url();
    let second_url = second.as_ref().map(ReferenceServer::url);

    // Party A of every room starts on the first instance, party B on the
    // second when there is one: every reply crosses instances.
    let mut rooms = Vec::with_capacity(options.rooms);
    for index in 0..options.rooms {
        let room = party::open_room(index, &url, second_url.as_deref().unwrap_or(&url))
            .await
            .map_err(ChaosError::Setup)?;
        rooms.push(Arc::new(room));
    }
    let knobs = Arc::new(Knobs {
        stop: false.into(),
        drop_chance: options.drop_chance,
        race_chance: options.race_chance,
        tick: options.tick,
        drops: 0.into(),
        connections: 0.into(),
    });
    let mut seeds = party::Rng::new(options.seed);
    let mut players = Vec::with_capacity(2 * rooms.len());
    for room in &rooms {
        for side in [Side::A, Side::B] {
            let mut urls = vec![url.clone()];
            if let Some(second_url) = &second_url {
                match side {
                    Side::A => urls.push(second_url.clone()),
                    Side::B => urls.insert(0, second_url.clone()),
                }
            }
            let party = Party::new(
                Arc::clone(room),
                side,
                urls,
                Arc::clone(&knobs),
                seeds.next_u64(),
            );
            players.push(tokio::spawn(party.play()));
        }
    }

    tokio::time::sleep(options.calm).await;
    let faults_from = Instant::now();
    let mut round = 0;
    let mut instance_kills = 0;
    while !options.faults.is_empty()
        && (round < options.faults.len() || faults_from.elapsed() < options.duration)
    {
        let fault = options.faults[round % options.faults.len()];
        round += 1;
        let before = acknowledged(&rooms);
        let at = Instant::now();
        // The instance that serves through the fault, and whether the
        // first is the one killed.
        let mut serving = &url;
        let mut first_killed = false;
        match fault {
            Fault::Postgres => inject::restart_postgres(first.data_dir()).await?,
            Fault::Server => {
                first.kill().map_err(ChaosError::Kill)?;
                // A moment of refused connections before the restart.
                tokio::time::sleep(Duration::from_millis(300)).await;
                first.restart().await?;
            }
            Fault::Instance => {
                if let Some(second) = second.as_mut() {
                    if instance_kills % 2 == 0 {
                        second.kill()
                    } else {
                        serving = second_url.as_ref().unwrap_or(&url);
                        first_killed = true;
                        first.kill()
                    }
                    .map_err(ChaosError::Kill)?;
                    instance_kills += 1;
                }
            }
        }
        let deadline = at + options.recovery_deadline;
        let service = back_in_service(serving, at, deadline).await;
        let clients = clients_recovered(&rooms, &before, at, deadline).await;
        if let Err(why) = &service {
            report.violations.push(format!(
                "recovery: after the {}, no new room could be created, joined and written to within {:?} (last: {why})",
                fault.name(),
                options.recovery_deadline
            ));
        }
        if let Err(behind) = &clients {
            report.violations.push(format!(
                "recovery: after the {}, no reply of {} was acknowledged within {:?}",
                fault.name(),
                behind.join(", "),
                options.recovery_deadline
            ));
        }
        report.injections.push(Injection {
            fault,
            service_ms: service.ok().map(millis),
            clients_ms: clients.ok().map(millis),
        });
        if first_killed {
            first.restart().await?;
        } else if fault == Fault::Instance
            && let Some(second) = second.as_mut()
        {
            second.restart().await?;
        }
        tokio::time::sleep(options.calm).await;
    }
    if options.faults.is_empty() {
        // Dropped connections alone, for the whole duration; then every
        // party must still be making progress.
        let before = acknowledged(&rooms);
        tokio::time::sleep(options.duration).await;
        let at = Instant::now();
        if let Err(behind) =
            clients_recovered(&rooms, &before, at, at + options.recovery_deadline).await
        {
            report.violations.push(format!(
                "recovery: with dropped connections, no reply of {} was acknowledged in {:?}",
                behind.join(", "),
                options.duration + options.recovery_deadline
            ));
        }
    }

    // Stop the workload: every party finishes its request and leaves.
    knobs.stop.store(true, Ordering::Release);
    for player in players {
        let abort = player.abort_handle();
        let limit = party::REPLY_TIMEOUT + Duration::from_secs(10);
        if tokio::time::timeout(limit, player).await.is_err() {
            abort.abort();
            report
                .violations
                .push(format!("harness: a party did not stop within {limit:?}"));
        }
    }
    report.socket_drops = knobs.drops.load(Ordering::Acquire);
    report.connections = knobs.connections.load(Ordering::Acquire);

    let rows = final_rows(&first.database_url(), &rooms).await?;
    for (room, stored) in rooms.iter().zip(&rows) {
        let history = room.history.snapshot();
        let verdict = check::check_room(&RoomFacts {
            index: room.index,
            senders: [room.parties[0].sender, room.parties[1].sender],
            history: &history,
            stored,
        });
        add(&mut report.counts, &verdict.counts);
        report.violations.extend(verdict.violations);
    }
    if options.keep_logs && !report.violations.is_empty() {
        for (n, server) in std::iter::once(&first).chain(second.as_ref()).enumerate() {
            if let Some(copy) = keep_log(server.log_path(), options.seed, n) {
                report.server_logs.push(copy);
            }
        }
    }
    drop(second.take());
    drop(first);
    report.took_ms = millis(started.elapsed());
    Ok(report)
}

/// Copies a server's log beside the temporary directory's other files,
/// named by the run's seed.
fn keep_log(log: &Path, seed: u64, instance: usize) -> Option<PathBuf> {
    let copy = std::env::temp_dir().join(format!("stelgano-chaos-{seed}-instance-{instance}.log"));
    std::fs::copy(log, &copy).ok().map(|_| copy)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn add(total: &mut RoomCounts, room: &RoomCounts) {
    total.sends += room.sends;
    total.joins += room.joins;
    total.acknowledged += room.acknowledged;
    total.refused += room.refused;
    total.unknown_taken += room.unknown_taken;
    total.unknown_lost += room.unknown_lost;
    total.joins_unknown += room.joins_unknown;
    total.pieces += room.pieces;
}
