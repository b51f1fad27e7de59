//! What the numbers were measured on: they mean little without the
//! machine, the database and the build that produced them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The machine, the software and the builds of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpu_model: String,
    /// Logical CPUs the kernel lists.
    pub cores: usize,
    pub memory_kib: u64,
    pub kernel: String,
    /// `SELECT version()` of the server's database, or `postgres --version`.
    pub postgresql: String,
    /// `git rev-parse HEAD`, with `-dirty` when the tree has changes.
    pub git_commit: Option<String>,
    /// This load generator's build: `debug` or `release`.
    pub bench_profile: &'static str,
    /// The server binary's build, from its path (`target/<profile>/`):
    /// `debug`, `release` or `unknown` (a `--target`).
    pub server_profile: String,
}

impl Machine {
    /// Describes this machine; `postgresql` is the version string when
    /// the database could be asked.
    pub fn describe(postgresql: Option<String>, server_binary: Option<&Path>) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let cores = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let memory_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
        Self {
            cpu_model,
            cores,
            memory_kib,
            kernel,
            postgresql: postgresql.unwrap_or_else(postgres_binary_version),
            git_commit: git_commit(),
            bench_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            server_profile: server_binary.map_or_else(|| "unknown".to_owned(), profile_of),
        }
    }
}

/// `SELECT version()` on the database.
pub async fn database_version(database_url: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(database_url)
        .await
        .map_err(|e| format!("connecting to the database: {e}"))?;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| format!("SELECT version(): {e}"))?;
    let _ = conn.close().await;
    Ok(version)
}

/// The binary `ReferenceServer::start` runs: `STELGANO_SERVER_BIN`, or
/// `stelgano-server` beside this executable.
pub fn reference_server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("STELGANO_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join("stelgano-server"))
}

/// `debug` or `release` from a path under `target/<profile>/`.
fn profile_of(binary: &Path) -> String {
    let parts: Vec<_> = binary
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    ["release", "debug"]
        .into_iter()
        .find(|p| parts.iter().any(|c| c == p))
        .unwrap_or("unknown")
        .to_owned()
}

fn postgres_binary_version() -> String {
    run("postgres", &["--version"])
        .or_else(|| run("pg_config", &["--version"]))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn git_commit() -> Option<String> {
    let commit = run("git", &["rev-parse", "HEAD"])?;
    let dirty = run("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// A command's trimmed standard output, when it succeeds.
fn run(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
