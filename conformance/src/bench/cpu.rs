//! Where the CPU went during a measurement: the load generator, the
//! server process(es) and PostgreSQL, in cores (CPU seconds per second of
//! wall time). On a machine of two cores, all three share them; without
//! this split a throughput figure cannot say whether the server, the
//! database or the generator was the limit.
//!
//! Read from `/proc/<pid>/stat` (user plus system time, in the kernel's
//! fixed 100 Hz `USER_HZ` ticks). PostgreSQL is the server's cluster: its
//! postmaster (found from a backend of the server's database) and every
//! child of it. A process that exits between two samples takes its time
//! with it; the server's pool connections are long-lived, so this
//! undercounts only short-lived sessions (the join storm's are the
//! server's pooled ones, not per join).

use std::collections::HashMap;
use std::time::Instant;

/// Ticks per second of `/proc/<pid>/stat` times (`USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes whose CPU time is watched.
#[derive(Debug, Clone, Default)]
pub struct CpuWatch {
    pub servers: Vec<u32>,
    /// The postmaster of the server's PostgreSQL cluster.
    pub postmaster: Option<u32>,
}

/// CPU time so far, at one moment.
#[derive(Debug, Clone)]
pub struct CpuClock {
    at: Instant,
    generator: u64,
    servers: HashMap<u32, u64>,
    postgres: HashMap<u32, u64>,
}

/// CPU used between two samples, in cores.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuUsage {
    pub generator_cores: f64,
    /// The server instances started or named (`--server-pid`); zero when
    /// none is known.
    pub server_cores: f64,
    /// The server's cluster; zero when it is not known (a `--target`
    /// without `--database-url`, or a database on another machine).
    pub postgres_cores: f64,
}

impl CpuWatch {
    /// Samples the generator (this process), the servers and the cluster.
    pub fn sample(&self) -> CpuClock {
        let servers = self
            .servers
            .iter()
            .filter_map(|&pid| Some((pid, process(pid)?.ticks)))
            .collect();
        let postgres = self.postmaster.map(cluster_ticks).unwrap_or_default();
        CpuClock {
            at: Instant::now(),
            generator: own_ticks(),
            servers,
            postgres,
        }
    }
}

impl CpuClock {
    /// What was used since `earlier`.
    pub fn since(&self, earlier: &CpuClock) -> CpuUsage {
        let wall = (self.at - earlier.at).as_secs_f64().max(1e-9);
        let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / wall;
        // Per process, so that one that ended cannot make the sum shrink;
        // one that started meanwhile counts from zero.
        let grown = |now: &HashMap<u32, u64>, then: &HashMap<u32, u64>| -> u64 {
            now.iter()
                .map(|(pid, t)| t.saturating_sub(then.get(pid).copied().unwrap_or(0)))
                .sum()
        };
        CpuUsage {
            generator_cores: cores(self.generator.saturating_sub(earlier.generator)),
            server_cores: cores(grown(&self.servers, &earlier.servers)),
            postgres_cores: cores(grown(&self.postgres, &earlier.postgres)),
        }
    }
}

/// The postmaster of the cluster behind `database_url`: the parent of a
/// backend serving this connection. `None` when the database is not a
/// process of this machine.
pub async fn postmaster_of(database_url: &str) -> Option<u32> {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(database_url)
        .await
        .ok()?;
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .ok()?;
    let _ = conn.close().await;
    let parent = process(u32::try_from(backend).ok()?)?.parent;
    process(parent)
        .is_some_and(|p| p.name == "postgres")
        .then_some(parent)
}

/// What `/proc/<pid>/stat` says of a process.
struct Stat {
    name: String,
    parent: u32,
    /// User plus system time.
    ticks: u64,
}

fn process(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn own_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0, |s| s.ticks)
}

fn parse_stat(stat: &str) -> Option<Stat> {
    // `pid (comm) state ppid ...`: the name may hold spaces and
    // parentheses, so the fields start after the last ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // Fields 4 (ppid), 14 (utime) and 15 (stime) of the line.
    let parent = fields.get(1)?.parse().ok()?;
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat {
        name,
        parent,
        ticks: user + system,
    })
}

/// The ticks of the postmaster and each of its children, by pid.
fn cluster_ticks(postmaster: u32) -> HashMap<u32, u64> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, process(pid)?)))
        .filter(|(pid, stat)| *pid == postmaster || stat.parent == postmaster)
        .map(|(pid, stat)| (pid, stat.ticks))
        .collect()
}
