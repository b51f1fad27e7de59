//! Starts the reference server (`stelgano-server`) for a run without a
//! `--target`: its own private PostgreSQL in a temporary directory, and the
//! settings the trace corpus assumes.
//!
//! Because the harness starts it, it also knows two things no black-box
//! target reveals: the database (a test-only DSN, for the features that
//! inspect what a dump of it would show) and the operator's log (for the
//! features that read it as a curious operator would).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How the reference server is configured for a run.
#[derive(Debug, Clone)]
pub struct ReferenceSettings {
    /// The model suite's traces assume the corpus's value
    /// (`corpus.json`, `conformance/README.md`).
    pub lockout_attempts: u64,
    /// Short, so that traces can wait locks out.
    pub lockout_seconds: u64,
    /// Short, so that traces can wait rooms out; long enough that no trace
    /// meets an expiry it does not expect.
    pub room_ttl_seconds: u64,
    pub sweep_seconds: u64,
    /// The join time floor `F` (STD1-JOIN-21): 0 for the model suite, whose
    /// runs it only slows; the timing suite needs a real one.
    pub join_time_floor_ms: u64,
    /// Further arguments, for example a fault to inject in the harness's
    /// own tests (`conformance/tests/faults.rs`).
    pub extra_args: Vec<String>,
    /// The program to start, with its leading arguments, instead of the
    /// `stelgano-server` binary; it must take the server's arguments.
    pub program: Option<(PathBuf, Vec<String>)>,
    /// The administration page's password (STD1-SRV-24), its user being
    /// [`ADMIN_USER`]; without one the page is off.
    pub admin_password: Option<String>,
    /// The server's `RUST_LOG`. `debug` by default, which is what an
    /// operator who turns logging up would see (the features that read the
    /// log for leaks want it, STD1-SRV-16); the benches run at production's
    /// `info`.
    pub log_filter: String,
}

/// The administration page's user on a reference server with a password.
pub const ADMIN_USER: &str = "admin";

/// The administration password of the browser suite's reference server: a
/// fixed test value, for a server on a loopback port that lives for one
/// run.
pub const BROWSER_ADMIN_PASSWORD: &str = "conformance-admin-password";

impl Default for ReferenceSettings {
    fn default() -> Self {
        Self {
            lockout_attempts: 3,
            lockout_seconds: 2,
            room_ttl_seconds: 8,
            sweep_seconds: 1,
            join_time_floor_ms: 0,
            extra_args: Vec::new(),
            program: None,
            admin_password: None,
            log_filter: "debug".to_owned(),
        }
    }
}

impl ReferenceSettings {
    /// The settings of an instance for the browser suite: production's
    /// lockout, a production floor, a room lifetime that outlasts a
    /// conversation at human-like speed, and an administration page, which
    /// the suite looks at after the conversation.
    pub fn for_browser() -> Self {
        Self {
            lockout_attempts: 10,
            lockout_seconds: 1800,
            room_ttl_seconds: 3600,
            join_time_floor_ms: crate::timing::PRODUCTION_MIN_FLOOR_MS,
            admin_password: Some(BROWSER_ADMIN_PASSWORD.to_owned()),
            ..Self::default()
        }
    }

    /// The administration page's credentials, when it has a password.
    pub fn admin_credentials(&self) -> Option<crate::browser::admin::Credentials> {
        self.admin_password
            .as_ref()
            .map(|password| crate::browser::admin::Credentials {
                user: ADMIN_USER.to_owned(),
                password: password.clone(),
            })
    }

    /// The settings of an instance for the timing suite: the smallest
    /// floor conforming in production (STD1-JOIN-21), and a lock that
    /// outlasts the suite.
    pub fn for_timing() -> Self {
        Self {
            join_time_floor_ms: crate::timing::PRODUCTION_MIN_FLOOR_MS,
            lockout_seconds: 600,
            ..Self::default()
        }
    }
}

/// A running reference server, stopped (with its database) when dropped.
pub struct ReferenceServer {
    child: Child,
    pub addr: SocketAddr,
    data_dir: PathBuf,
    log_path: PathBuf,
}

/// Why the reference server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "the stelgano-server binary was not found next to this one; build it (cargo build -p stelgano-server) or set STELGANO_SERVER_BIN"
    )]
    NoBinary,
    #[error("starting {0}: {1}")]
    Spawn(PathBuf, std::io::Error),
    #[error("the reference server exited while starting ({0})")]
    Exited(String),
    #[error("the reference server did not answer within {0:?}")]
    NotReady(Duration),
}

/// The server binary: `STELGANO_SERVER_BIN`, or beside this executable
/// (or one directory up, for test binaries in `deps/`).
fn server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("STELGANO_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("stelgano-server"),
        dir.parent()?.join("stelgano-server"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

impl ReferenceServer {
    /// Starts the server and waits until it accepts connections.
    pub async fn start(settings: &ReferenceSettings) -> Result<Self, StartError> {
        let (binary, leading_args) = match &settings.program {
            Some((program, args)) => (program.clone(), args.clone()),
            None => (server_binary().ok_or(StartError::NoBinary)?, Vec::new()),
        };
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| StartError::Spawn(binary.clone(), e))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        // Under the system's temporary folder, which the `postgres` user
        // can reach when the harness runs as root.
        let data_dir = std::env::temp_dir().join(format!(
            "stelgano-conformance-{}-{nanos}",
            std::process::id()
        ));
        // Beside the data directory, which PostgreSQL makes its own.
        let log_path = data_dir.with_extension("log");
        let log =
            std::fs::File::create(&log_path).map_err(|e| StartError::Spawn(log_path.clone(), e))?;
        // The page's switch is the password (STD1-SRV-24): given only when
        // set, and never inherited from the harness's environment.
        let admin_args = match &settings.admin_password {
            Some(password) => vec![
                "--admin-user".to_owned(),
                ADMIN_USER.to_owned(),
                "--admin-password".to_owned(),
                password.clone(),
            ],
            None => Vec::new(),
        };
        let child = Command::new(&binary)
            .args(&leading_args)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .args([
                "--join-time-floor-ms",
                &settings.join_time_floor_ms.to_string(),
            ])
            .args(["--lockout-attempts", &settings.lockout_attempts.to_string()])
            .args(["--lockout-seconds", &settings.lockout_seconds.to_string()])
            .args(["--room-ttl-seconds", &settings.room_ttl_seconds.to_string()])
            .args(["--sweep-seconds", &settings.sweep_seconds.to_string()])
            .args(["--log-format", "json"])
            // STD1-SRV-20: the harness sends far more from one address than
            // any client would; the limits have their own tests.
            .arg("--no-rate-limits")
            .args(&admin_args)
            .args(&settings.extra_args)
            .env_remove("DATABASE_URL")
            .env_remove("STELGANO_ADMIN_USER")
            .env_remove("STELGANO_ADMIN_PASSWORD")
            .env("RUST_LOG", &settings.log_filter)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| StartError::Spawn(binary.clone(), e))?;
        let mut server = Self {
            child,
            addr,
            data_dir,
            log_path,
        };
        server.wait_ready(Duration::from_secs(120)).await?;
        Ok(server)
    }

    /// The WebSocket URL of the server.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A test-only DSN of the server's database: its private cluster's
    /// socket, the role and database the server creates there.
    pub fn database_url(&self) -> String {
        format!(
            "postgres://stelgano@localhost/stelgano?host={}&port=5432",
            self.data_dir.join("socket").display()
        )
    }

    /// The server process's id, for the benches that read its memory and
    /// file descriptors from `/proc/<pid>/`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file the server logs to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<(), StartError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartError::Exited(status.to_string()));
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StartError::NotReady(within));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        // SIGTERM lets the server stop its PostgreSQL; then the files go.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let pid_file = self.data_dir.join("cluster/postmaster.pid");
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_owned))
        {
            let _ = Command::new("kill").args(["-QUIT", &pid]).status();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let _ = std::fs::remove_file(&self.log_path);
    }
}
