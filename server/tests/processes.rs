//! Two server processes on one database, one party on each: the full
//! exchange, including expiry, crosses processes through LISTEN/NOTIFY
//! (issue: multi-instance; STD1-SRV-6).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use stelgano_spec::derive::{PartyHashes, Phone, Pin};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, ClientFrame, CreateRoom, ExpiryCause, Iv, ReplyBody,
    SendMessage, ServerFrame,
};
use tokio_tungstenite::tungstenite::Message;

/// A server process, killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    // SIGKILL, for a test that failed midway.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

async fn spawn_server(database_url: &str) -> ServerProcess {
    spawn(|command| {
        command.env("DATABASE_URL", database_url);
    })
    .await
}

/// Starts the binary on a free port with no time floor and the settings
/// `configure` adds, and waits until it accepts connections.
async fn spawn(configure: impl FnOnce(&mut Command)) -> ServerProcess {
    let addr = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_stelgano-server"));
    command
        .args(["--listen", &addr.to_string(), "--join-time-floor-ms", "0"])
        .env("RUST_LOG", "warn")
        // One pepper for every process of a test (STD1-SRV-26); a test of
        // the default removes it.
        .env("STELGANO_PEPPER", common::test_pepper().to_hex())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    configure(&mut command);
    let child = command.spawn().expect("the server starts");
    let mut process = ServerProcess { child, addr };
    // Ready when it accepts connections (bounded: a server that never comes
    // up fails the test; the first start of a private cluster runs initdb).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server on {addr} did not start"
        );
        assert!(
            process.child.try_wait().expect("status").is_none(),
            "the server exited while starting"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process
}

impl ServerProcess {
    /// Sends SIGTERM and waits (bounded) for a clean exit.
    async fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("status") {
                assert!(status.success(), "clean exit after SIGTERM: {status}");
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "exits after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A data directory for a private cluster, whose PostgreSQL is shut down
/// and files removed when dropped, however the test ends.
struct DataDir(std::path::PathBuf);

impl DataDir {
    fn new() -> Self {
        // Under /tmp, which the `postgres` user can reach when tests run as root.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self(std::env::temp_dir().join(format!("stelgano-embedded-{}-{nanos}", std::process::id())))
    }

    fn postmaster_pid(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.0.join("cluster/postmaster.pid")).ok()?;
        text.lines().next().map(str::to_owned)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid() {
            // Immediate shutdown of a cluster a failed test left running.
            let _ = Command::new("kill").args(["-QUIT", &pid]).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &ServerProcess) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .expect("connect")
        .0
}

async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("answer")
        .expect("open")
        .expect("message")
}

async fn next_frame(ws: &mut Ws) -> ServerFrame {
    match next(ws).await {
        Message::Text(t) => ServerFrame::from_json(t.as_str()).expect("a std-1 frame"),
        other => panic!("{other:?}"),
    }
}

/// Sends a request and returns its reply, skipping broadcasts before it.
async fn request(ws: &mut Ws, reference: &str, event: ClientEvent) -> ServerFrame {
    let frame = ClientFrame {
        reference: reference.parse().expect("ref"),
        event,
    };
    ws.send(Message::text(frame.to_json())).await.expect("send");
    loop {
        match next_frame(ws).await {
            ServerFrame::Broadcast(_) => continue,
            reply => return reply,
        }
    }
}

fn party(pin: &str) -> PartyHashes {
    PartyHashes::derive(
        &Phone::parse("+49 1512 3456789").expect("number"),
        &Pin::parse(pin).expect("PIN"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_serve_the_two_parties_of_a_room() {
    let database = common::empty_database().await;
    let url = common::database_url(&database);
    let (one, two) = (spawn_server(&url).await, spawn_server(&url).await);
    let (alice, bob) = (party("1234"), party("9999"));
    let pairing = PairingCode::parse("P2K4-9H7M").expect("code").hash();
    let mut a = connect(&one).await;
    let mut b = connect(&two).await;

    let create = ClientEvent::Create(common::create_request(&alice, pairing));
    assert!(matches!(
        request(&mut a, "1", create).await,
        ServerFrame::Ok(_)
    ));
    let join = ClientEvent::Join(common::join_request(&bob, Some(pairing)));
    assert!(matches!(
        request(&mut b, "1", join).await,
        ServerFrame::Ok(_)
    ));
    assert_eq!(
        next_frame(&mut a).await,
        ServerFrame::Broadcast(Broadcast::PartyPaired {})
    );

    let message = ClientEvent::SendMessage(SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![1; 40]).expect("size"),
        iv: Iv::from_array([1; 12]),
        replaces: None,
    });
    let ServerFrame::Ok(sent) = request(&mut a, "2", message).await else {
        panic!("sent")
    };
    let ReplyBody::Sent(sent) = sent.ok else {
        panic!("sent")
    };
    let ServerFrame::Broadcast(Broadcast::NewMessage(m)) = next_frame(&mut b).await else {
        panic!("new_message")
    };
    assert_eq!(m.id, sent.message_id);

    assert!(matches!(
        request(&mut b, "2", ClientEvent::ExpireRoom).await,
        ServerFrame::Ok(_)
    ));
    assert_eq!(
        next_frame(&mut a).await,
        ServerFrame::Broadcast(Broadcast::RoomExpired {
            cause: ExpiryCause::Party
        })
    );
    assert!(matches!(next(&mut a).await, Message::Close(Some(f)) if u16::from(f.code) == 1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_database_url_the_server_runs_its_own_postgresql() {
    // Issue: the embedded default. A fresh data directory gets a cluster;
    // SIGTERM stops it; the next start reuses it, rooms included.
    let data = DataDir::new();
    // STD1-SRV-26: and with no pepper configured, one generated beside it.
    let with_data_dir = |command: &mut Command| {
        command
            .env_remove("DATABASE_URL")
            .env_remove("STELGANO_PEPPER")
            .arg("--data-dir")
            .arg(&data.0);
    };
    let server = spawn(with_data_dir).await;
    let pepper_file = data.0.join("pepper");
    let pepper = std::fs::read_to_string(&pepper_file).expect("a pepper was generated");
    assert_eq!(pepper.trim().len(), 64, "256 bits in hex");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&pepper_file)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "readable by the server's user only");
    }
    let (alice, bob) = (party("1234"), party("9999"));
    let pairing = PairingCode::parse("P2K4-9H7M").expect("code").hash();
    let mut a = connect(&server).await;
    let create = ClientEvent::Create(common::create_request(&alice, pairing));
    assert!(matches!(
        request(&mut a, "1", create).await,
        ServerFrame::Ok(_)
    ));
    drop(a);
    assert!(data.postmaster_pid().is_some(), "the cluster runs");
    server.terminate().await;
    assert_eq!(data.postmaster_pid(), None, "stopped with the server");

    let server = spawn(with_data_dir).await;
    let mut b = connect(&server).await;
    let join = ClientEvent::Join(common::join_request(&bob, Some(pairing)));
    let ServerFrame::Ok(joined) = request(&mut b, "1", join).await else {
        panic!("the room outlived the restart")
    };
    assert!(matches!(joined.ok, ReplyBody::Joined(_)));
    drop(b);
    server.terminate().await;
    assert_eq!(data.postmaster_pid(), None);
    assert_eq!(
        std::fs::read_to_string(&pepper_file).expect("still there"),
        pepper,
        "the restart reused the pepper"
    );

    // STD1-SRV-26: another pepper on the same store is refused at start-up,
    // rather than serving rooms it cannot find.
    let log = data.0.with_extension("refused.log");
    let mut refused = Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .args(["--listen", &free_port().to_string()])
        .arg("--data-dir")
        .arg(&data.0)
        .env_remove("DATABASE_URL")
        .env("STELGANO_PEPPER", "ab".repeat(32))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("the server starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = refused.try_wait().expect("status") {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = refused.kill();
            panic!("a server with another pepper kept running");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("another pepper"), "{stderr}");
    assert!(
        !stderr.contains(pepper.trim()),
        "the pepper is never logged"
    );
    assert_eq!(
        data.postmaster_pid(),
        None,
        "the refused start stopped the cluster it started"
    );
}

#[test]
fn without_postgresql_binaries_the_server_says_what_to_install() {
    let data = DataDir::new();
    let output = Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .env_remove("DATABASE_URL")
        .arg("--data-dir")
        .arg(&data.0)
        .arg("--pg-bin-dir")
        .arg(data.0.join("no-such-dir"))
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("initdb") && stderr.contains("apt-get install postgresql"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn even_trace_logging_writes_no_client_value() {
    // STD1-SRV-16: with RUST_LOG=trace, after a create, a join, a message
    // and an error, the log holds no hash, ref, ciphertext, IV or address.
    let database = common::empty_database().await;
    let url = common::database_url(&database);
    let log_path = std::env::temp_dir().join(format!("stelgano-trace-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).expect("log file");
    let server = spawn(|command| {
        command
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "trace")
            .stderr(Stdio::from(log));
    })
    .await;
    let (alice, bob) = (party("1234"), party("9999"));
    let pairing = PairingCode::parse("P2K4-9H7M").expect("code").hash();
    let mut a = connect(&server).await;
    let client_address = match a.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.local_addr().expect("address"),
        _ => unreachable!("plain TCP"),
    };
    let mut b = connect(&server).await;
    let create = ClientEvent::Create(CreateRoom {
        room_hash: alice.room_hash,
        access_hash: alice.access_hash,
        sender_hash: alice.sender_hash,
        pairing_hash: pairing,
        country_iso: Some("DE".parse().expect("iso")),
    });
    request(&mut a, "ref-4c1d-create", create).await;
    let join = ClientEvent::Join(common::join_request(&bob, Some(pairing)));
    request(&mut b, "ref-4c1d-join", join).await;
    let ciphertext = Ciphertext::from_bytes(vec![0x5c; 48]).expect("size");
    let iv = Iv::from_array([0x3e; 12]);
    let message = ClientEvent::SendMessage(SendMessage {
        ciphertext: ciphertext.clone(),
        iv,
        replaces: None,
    });
    request(&mut a, "ref-4c1d-send", message).await;
    a.send(Message::text(
        r#"{"ref":"ref-4c1d-bad","event":"nope","data":{"x":"typed-by-user"}}"#,
    ))
    .await
    .expect("send");
    next_frame(&mut a).await;
    drop((a, b));
    server.terminate().await;

    let text = std::fs::read_to_string(&log_path).expect("log");
    let _ = std::fs::remove_file(&log_path);
    assert!(!text.is_empty(), "trace logging produced lines");
    let secrets = [
        alice.room_hash.to_hex(),
        alice.access_hash.to_hex(),
        alice.sender_hash.to_hex(),
        bob.access_hash.to_hex(),
        pairing.to_hex(),
        serde_json::to_value(&ciphertext)
            .expect("json")
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        serde_json::to_value(iv)
            .expect("json")
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        "ref-4c1d".to_owned(),
        "typed-by-user".to_owned(),
        client_address.to_string(),
        format!(":{}", client_address.port()),
    ];
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(&secret),
            "the log contains {secret}:\n{text}"
        );
    }
}
