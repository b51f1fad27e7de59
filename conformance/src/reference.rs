//! Starts the reference server (`stelgano-server`) for a run without a
//! `--target`: its own private PostgreSQL in a temporary directory, and the
//! settings the trace corpus assumes.
//!
//! Because the harness starts it, it also knows two things no black-box
//! target reveals: the database (a test-only DSN, for the features that
//! inspect what a dump of it would show) and the operator's log (for the
//! features that read it as a curious operator would).

use std::ffi::OsString;
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
    /// Short, so that traces can wait locks out; long enough that no trace
    /// outlives a lock it still expects (the lock time is whole seconds,
    /// so a lock of `n` may last barely `n - 1`).
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
            lockout_seconds: 5,
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
    /// Whether `child` may still be running: false once [`Self::kill`]
    /// has killed and reaped it, so that nothing signals its old pid,
    /// which the system may have given to another process since.
    alive: bool,
    pub addr: SocketAddr,
    data_dir: PathBuf,
    log_path: PathBuf,
    /// How the process was started, to start it again on the same port,
    /// data directory and database ([`Self::restart`]).
    launch: Launch,
}

/// The program, arguments and log filter of a server process.
#[derive(Debug, Clone)]
struct Launch {
    program: PathBuf,
    args: Vec<OsString>,
    log_filter: String,
}

impl Launch {
    /// Starts the process, its standard error appended to `log_path`.
    fn spawn(&self, log_path: &Path) -> Result<Child, StartError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|e| StartError::Spawn(log_path.to_path_buf(), e))?;
        Command::new(&self.program)
            .args(&self.args)
            .env_remove("DATABASE_URL")
            .env_remove("STELGANO_ADMIN_USER")
            .env_remove("STELGANO_ADMIN_PASSWORD")
            .env_remove("STELGANO_PEPPER_FILE")
            // STD1-SRV-26: every instance on one database needs the same
            // pepper; the servers of one harness run share its own.
            .env("STELGANO_PEPPER", harness_pepper())
            .env("RUST_LOG", &self.log_filter)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| StartError::Spawn(self.program.clone(), e))
    }
}

/// The pepper of every reference server this process starts (STD1-SRV-26),
/// 256 bits drawn once, so that a second instance on the first one's
/// database (the bench's and the chaos suite's) finds its rooms. If the
/// system has no randomness the server gets an invalid pepper and says so.
fn harness_pepper() -> &'static str {
    static PEPPER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PEPPER.get_or_init(|| {
        let mut bytes = [0_u8; 32];
        match getrandom::fill(&mut bytes) {
            Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Err(_) => String::new(),
        }
    })
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
        let mut args: Vec<OsString> = leading_args.into_iter().map(OsString::from).collect();
        args.extend(["--listen".into(), addr.to_string().into()]);
        args.extend(["--data-dir".into(), data_dir.clone().into_os_string()]);
        let numbers = [
            ("--join-time-floor-ms", settings.join_time_floor_ms),
            ("--lockout-attempts", settings.lockout_attempts),
            ("--lockout-seconds", settings.lockout_seconds),
            ("--room-ttl-seconds", settings.room_ttl_seconds),
            ("--sweep-seconds", settings.sweep_seconds),
        ];
        for (flag, value) in numbers {
            args.extend([flag.into(), value.to_string().into()]);
        }
        args.extend(["--log-format".into(), "json".into()]);
        // STD1-SRV-20: the harness sends far more from one address than
        // any client would; the limits have their own tests.
        args.push("--no-rate-limits".into());
        args.extend(admin_args.into_iter().map(OsString::from));
        args.extend(settings.extra_args.iter().map(OsString::from));
        let launch = Launch {
            program: binary,
            args,
            log_filter: settings.log_filter.clone(),
        };
        // A fresh log: the file of an earlier run with the same name goes.
        std::fs::File::create(&log_path).map_err(|e| StartError::Spawn(log_path.clone(), e))?;
        let child = launch.spawn(&log_path)?;
        let mut server = Self {
            child,
            alive: true,
            addr,
            data_dir,
            log_path,
            launch,
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

    /// The server's data directory: its private PostgreSQL cluster is in
    /// `cluster/` and listens in `socket/` (unused by an instance started
    /// with `--database-url`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Kills the server process with SIGKILL, as a crash or the OOM killer
    /// would, and reaps it. Its private PostgreSQL, a process of its own,
    /// keeps running, and [`Self::restart`] starts the server on it again.
    pub fn kill(&mut self) -> std::io::Result<()> {
        if !self.alive {
            return Ok(());
        }
        // `Child::kill` is SIGKILL on Unix; an error means it had exited.
        let _ = self.child.kill();
        self.child.wait()?;
        self.alive = false;
        Ok(())
    }

    /// Starts the server again with the same arguments, so on the same
    /// port, data directory and database, after killing the running
    /// process if there is one; waits until it accepts connections. A
    /// private cluster still running in the data directory is reused.
    pub async fn restart(&mut self) -> Result<(), StartError> {
        self.kill()
            .map_err(|e| StartError::Spawn(self.launch.program.clone(), e))?;
        self.child = self.launch.spawn(&self.log_path)?;
        self.alive = true;
        self.wait_ready(Duration::from_secs(120)).await
    }

    async fn wait_ready(&mut self, within: Duration) -> Result<(), StartError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.alive = false;
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
        if self.alive {
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
        }
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
