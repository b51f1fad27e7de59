//! A private PostgreSQL cluster for deployments and test runs that bring no
//! `DATABASE_URL`.
//!
//! The server needs PostgreSQL, and a fresh machine with the server binaries
//! installed should still start with one command. This module creates a
//! cluster in a data directory of its own (`initdb`), starts it (`pg_ctl`)
//! listening on a Unix socket inside that directory only, never on TCP, and
//! stops it again. A cluster that is already running in the directory is
//! reused and left running. `initdb` refuses to run as root, so as root every
//! PostgreSQL command runs as the `postgres` system user, which then owns the
//! data directory.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::postgres::PgConnectOptions;

/// Role created by `initdb`; it owns every database of the private cluster.
pub const SUPERUSER: &str = "stelgano";
/// Only names the socket file (`.s.PGSQL.5432`) in the private socket
/// directory; no TCP port is opened.
const PORT: u16 = 5432;
/// Debian installs the server binaries here, one directory per major version.
const DEBIAN_LIB: &str = "/usr/lib/postgresql";

/// Why the private cluster could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found {0}; \
         install them (Debian/Ubuntu: `apt-get install postgresql`) or set DATABASE_URL"
    )]
    BinariesMissing(String),
    #[error("running as root, but there is no `postgres` system user to run PostgreSQL as")]
    NoPostgresUser,
    #[error("the data directory path {0:?} cannot be used (it must be valid UTF-8 without quotes)")]
    BadPath(PathBuf),
    #[error("{action}: {source}")]
    Io { action: String, source: io::Error },
    #[error("{command} failed ({status}): {stderr}")]
    CommandFailed {
        command: &'static str,
        status: String,
        stderr: String,
    },
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> LocalPgError {
    let action = action.into();
    move |source| LocalPgError::Io { action, source }
}

/// A running private cluster.
#[derive(Debug)]
pub struct LocalCluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    /// The uid and gid PostgreSQL runs as when we are root.
    run_as: Option<(u32, u32)>,
    /// Whether this process started the cluster (and so stops it).
    started_here: bool,
}

/// PostgreSQL's own default for `max_connections`, and the private
/// cluster's unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 100;

/// How durable the cluster must be. Tests trade crash safety for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Normal `fsync` behaviour, for anything that holds real rooms.
    Durable,
    /// `fsync=off` and `initdb --no-sync`, for throwaway test clusters.
    Throwaway,
}

impl LocalCluster {
    /// Creates the cluster in `data_dir` if needed, and starts it unless it
    /// is already running. The binaries come from `bin_dir` when given,
    /// otherwise from `PATH` or Debian's installation directory.
    ///
    /// `max_connections` applies when this call starts the cluster; it
    /// bounds the connections of every server instance and tool sharing the
    /// cluster ([`DEFAULT_MAX_CONNECTIONS`] is PostgreSQL's own default).
    pub fn start(
        data_dir: &Path,
        bin_dir: Option<&Path>,
        durability: Durability,
        max_connections: u32,
    ) -> Result<Self, LocalPgError> {
        let bin_dir = match bin_dir {
            Some(dir) if has_binaries(dir) => dir.to_path_buf(),
            Some(dir) => {
                return Err(LocalPgError::BinariesMissing(format!(
                    "in {}",
                    dir.display()
                )));
            }
            None => find_bin_dir().ok_or_else(|| {
                LocalPgError::BinariesMissing(format!("on PATH or under {DEBIAN_LIB}"))
            })?,
        };
        let run_as = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        fs::create_dir_all(data_dir).map_err(io_err(format!("creating {}", data_dir.display())))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(io_err("resolving the data directory"))?;
        if data_dir
            .to_str()
            .is_none_or(|s| s.contains(['\'', '"', '\\']))
        {
            return Err(LocalPgError::BadPath(data_dir));
        }
        let cluster_dir = data_dir.join("cluster");
        let socket_dir = data_dir.join("socket");
        let mut cluster = Self {
            data_dir: cluster_dir,
            socket_dir,
            bin_dir,
            run_as,
            started_here: false,
        };
        cluster.prepare_dir(&data_dir, 0o700)?;
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.init(durability)?;
        }
        cluster.prepare_dir(&cluster.socket_dir.clone(), 0o700)?;
        if !cluster.is_running() {
            cluster.pg_start(durability, max_connections)?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    /// Connection options for `database` over the private socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// A `postgres://` URL for `database`, for tools that take a URL.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{database}?host={}&port={PORT}",
            self.socket_dir.display()
        )
    }

    /// Whether this process started the cluster.
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Stops the cluster if this process started it (fast shutdown: open
    /// transactions are rolled back, committed data is safe).
    pub fn stop(&mut self) -> Result<(), LocalPgError> {
        if !self.started_here {
            return Ok(());
        }
        let data = self.data_arg();
        self.run("pg_ctl", &["stop", "-D", &data, "-m", "fast", "-w"])?;
        self.started_here = false;
        Ok(())
    }

    fn data_arg(&self) -> String {
        // Checked to be UTF-8 in `start`.
        self.data_dir.to_string_lossy().into_owned()
    }

    /// Creates `dir` with `mode`, owned by the user PostgreSQL runs as.
    fn prepare_dir(&self, dir: &Path, mode: u32) -> Result<(), LocalPgError> {
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        if let Some((uid, gid)) = self.run_as {
            chown(dir, Some(uid), Some(gid))
                .map_err(io_err(format!("handing {} to postgres", dir.display())))?;
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .map_err(io_err(format!("restricting {}", dir.display())))
    }

    fn init(&self, durability: Durability) -> Result<(), LocalPgError> {
        let data = self.data_arg();
        let mut args = vec![
            "-D",
            &data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ];
        if durability == Durability::Throwaway {
            args.push("--no-sync");
        }
        self.run("initdb", &args).map(drop)
    }

    fn pg_start(&self, durability: Durability, max_connections: u32) -> Result<(), LocalPgError> {
        let data = self.data_arg();
        let log = self
            .data_dir
            .join("server.log")
            .to_string_lossy()
            .into_owned();
        let mut options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -p {PORT} -c unix_socket_permissions=0700 \
             -c log_min_error_statement=panic -c log_error_verbosity=terse -c max_connections={max_connections}",
            self.socket_dir.display()
        );
        if durability == Durability::Throwaway {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        self.run(
            "pg_ctl",
            &[
                "start", "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options,
            ],
        )
        .map(drop)
    }

    fn is_running(&self) -> bool {
        let data = self.data_arg();
        // `pg_ctl status` exits 0 only when a server is running in the directory.
        self.command("pg_ctl")
            .args(["status", "-D", &data])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        cmd.env("LC_ALL", "C")
            .env_remove("PGDATA")
            .current_dir(self.data_dir_parent());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// A directory the PostgreSQL user can enter (its own data directory's
    /// parent is ours and may not be).
    fn data_dir_parent(&self) -> PathBuf {
        self.data_dir
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
    }

    fn run(&self, program: &'static str, args: &[&str]) -> Result<Output, LocalPgError> {
        let output = self
            .command(program)
            .args(args)
            .output()
            .map_err(io_err(format!("running {program}")))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(LocalPgError::CommandFailed {
                command: program,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

/// The directory holding `initdb` and `pg_ctl`: `PATH` first, then the
/// newest major version under Debian's library directory.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = has_binaries;
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // Resolve symlinks so the real installation directory is used.
                let real = dir.join("initdb").canonicalize().ok()?;
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(DEBIAN_LIB)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether `dir` holds `initdb` and `pg_ctl`.
fn has_binaries(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective uid, without a libc call.
    fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// The uid and gid of the `postgres` system user, from /etc/passwd.
fn postgres_user() -> Result<(u32, u32), LocalPgError> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_err("reading /etc/passwd"))?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == "postgres").then_some(())?;
            let _password = fields.next()?;
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .ok_or(LocalPgError::NoPostgresUser)
}
