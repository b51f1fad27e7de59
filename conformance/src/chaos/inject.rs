//! Faults done to the processes under the workload: the database
//! restarted, the server killed and started again, a second instance
//! killed. The server's own processes are
//! [`ReferenceServer`](crate::reference::ReferenceServer)'s; the
//! database is the private cluster the first instance runs in its data
//! directory (`server/src/local_pg.rs`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::ChaosError;

/// Debian's PostgreSQL installation, one directory per major version.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";

/// `pg_ctl`: the newest version under Debian's directory, else `PATH`.
pub fn pg_ctl() -> Result<PathBuf, ChaosError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_LIB)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let program = entry.path().join("bin/pg_ctl");
            program.is_file().then_some((version, program))
        })
        .collect();
    versions.sort();
    if let Some((_, program)) = versions.pop() {
        return Ok(program);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("pg_ctl"))
        .find(|p| p.is_file())
        .ok_or(ChaosError::NoPgCtl)
}

/// Whether this process runs as root, when PostgreSQL runs as the
/// `postgres` user (as `local_pg.rs` arranges). The owner of `/proc/self`
/// is the effective uid; no `unsafe` call needed.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// Restarts the cluster in `data_dir/cluster` in immediate mode: every
/// backend is killed without a checkpoint, as in a crash, and the
/// restart runs crash recovery. Returns once the cluster accepts
/// connections again (`-w`). The cluster keeps the options it was started
/// with (`pg_ctl` reads them back from `postmaster.opts`).
pub async fn restart_postgres(data_dir: &Path) -> Result<(), ChaosError> {
    let program = pg_ctl()?;
    let cluster = data_dir.join("cluster");
    // Without a log file the new postmaster would inherit pg_ctl's output
    // pipes and `output()` would wait for it to exit.
    let log = cluster.join("server.log");
    let mut command = if is_root() {
        let mut c = tokio::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&program);
        c
    } else {
        tokio::process::Command::new(&program)
    };
    command
        .arg("restart")
        .args(["-m", "immediate", "-w", "-t", "60", "-D"])
        .arg(&cluster)
        .arg("-l")
        .arg(&log)
        .env("LC_ALL", "C")
        .env_remove("PGDATA")
        // A directory the `postgres` user can enter.
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = command
        .output()
        .await
        .map_err(|e| ChaosError::Postgres(format!("running {}: {e}", program.display())))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ChaosError::Postgres(format!(
            "pg_ctl restart failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
