//! Starts the reference server (`stelgano-server`) for a run without a
//! `--target`: its own private PostgreSQL in a temporary directory, and the
//! settings the trace corpus assumes.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Settings a target must have for the model suite (`corpus.json` and
/// `conformance/README.md`).
#[derive(Debug, Clone, Copy)]
pub struct ReplaySettings {
    pub lockout_attempts: u64,
    /// Short, so that traces can wait locks out.
    pub lockout_seconds: u64,
    /// Short, so that traces can wait rooms out; long enough that no trace
    /// meets an expiry it does not expect.
    pub room_ttl_seconds: u64,
    pub sweep_seconds: u64,
}

impl Default for ReplaySettings {
    fn default() -> Self {
        Self {
            lockout_attempts: 3,
            lockout_seconds: 2,
            room_ttl_seconds: 8,
            sweep_seconds: 1,
        }
    }
}

/// A running reference server, stopped (with its database) when dropped.
pub struct ReferenceServer {
    child: Child,
    pub addr: SocketAddr,
    data_dir: PathBuf,
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
    /// Starts the server and waits until it answers `/healthz`.
    pub async fn start(settings: ReplaySettings) -> Result<Self, StartError> {
        let binary = server_binary().ok_or(StartError::NoBinary)?;
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
        let child = Command::new(&binary)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--join-time-floor-ms", "0"])
            .args(["--lockout-attempts", &settings.lockout_attempts.to_string()])
            .args(["--lockout-seconds", &settings.lockout_seconds.to_string()])
            .args(["--room-ttl-seconds", &settings.room_ttl_seconds.to_string()])
            .args(["--sweep-seconds", &settings.sweep_seconds.to_string()])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| StartError::Spawn(binary.clone(), e))?;
        let mut server = Self {
            child,
            addr,
            data_dir,
        };
        server.wait_ready(Duration::from_secs(120)).await?;
        Ok(server)
    }

    /// The WebSocket URL of the server.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
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
    }
}
