//! What an idle joined connection costs the server: `connections`
//! WebSockets, each holding an open session in a room (half create, half
//! join with the pairing code), measured as the growth of the server's
//! resident memory and its open file descriptors.
//!
//! A messenger spends most of its life holding connections that say
//! nothing, so this figure, not throughput, decides how many people one
//! machine can serve. The goal (issue 8) is at most 16 KiB of server RSS
//! per idle joined connection at 20,000 connections.
//!
//! Twenty thousand loopback connections need two things the defaults do not
//! give: file descriptors (one per socket on each side; see
//! [`raise_open_file_limit`], which the caller must also apply before it
//! starts the server, since a child inherits its limits at spawn), and
//! source ports (one 4-tuple per connection: the clients bind to
//! 127.0.0.2, 127.0.0.3, … in turn, [`PER_SOURCE_ADDRESS`] each, so no one
//! address runs out of ephemeral ports; all of 127.0.0.0/8 is the loopback
//! interface on Linux).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use stelgano_spec::constants::WS_SUBPROTOCOL;
use stelgano_spec::ids::{AccessHash, RoomHash, SenderHash};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{ClientEvent, ClientFrame, CreateRoom, JoinRoom, ReplyBody, ServerFrame};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Connections per client source address: well inside one address's
/// ephemeral port range (28,232 ports by Linux's default), with room for
/// sockets still in TIME_WAIT from an earlier run.
pub const PER_SOURCE_ADDRESS: usize = 5_000;

/// Rooms being set up at once: enough to keep both processes busy, few
/// enough that the server's accept queue and database pool never refuse.
const CONCURRENT_ROOMS: usize = 64;

/// How long one create or join may take before the run is called failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest wait for the server's memory to settle after the last join.
const SETTLE_LIMIT: Duration = Duration::from_secs(20);

/// Longest wait for the server to let go of the closed connections.
const RELEASE_LIMIT: Duration = Duration::from_secs(60);

/// What holding many idle joined connections cost the server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IdleReport {
    /// Connections held, each with an open session.
    pub connections: usize,
    /// Server RSS before the first connection (settled).
    pub rss_before_kib: u64,
    /// Server RSS with every connection joined (settled).
    pub rss_after_kib: u64,
    /// (after − before) / connections.
    pub per_connection_bytes: f64,
    /// The server's open file descriptors with every connection joined.
    pub server_fds: usize,
    /// Time to open and join every connection.
    pub setup_seconds: f64,
}

/// Raises this process's open-file limit (`RLIMIT_NOFILE`) to at least
/// `target`, soft and hard, and returns the soft limit now in force.
///
/// Raising the hard limit needs root (or `CAP_SYS_RESOURCE`); without it
/// the soft limit goes as high as the hard one allows, and the caller sees
/// from the result whether that is enough. Call it before starting the
/// server too: a child process inherits the limits in force when it is
/// spawned, and the server needs one descriptor per connection.
///
/// The system calls go through rustix's safe wrappers: the crate forbids
/// `unsafe`.
pub fn raise_open_file_limit(target: u64) -> Result<u64, String> {
    let current = getrlimit(Resource::Nofile);
    if current.current.is_none_or(|soft| soft >= target) {
        return Ok(soft_limit(&current));
    }
    // `None` is RLIM_INFINITY, which is above any target.
    let hard = current.maximum;
    let wanted = Rlimit {
        current: Some(target),
        maximum: hard.map(|max| max.max(target)),
    };
    if setrlimit(Resource::Nofile, wanted).is_err() {
        // Not privileged: as far as the hard limit goes.
        let capped = Rlimit {
            current: Some(hard.map_or(target, |max| target.min(max))),
            maximum: hard,
        };
        setrlimit(Resource::Nofile, capped)
            .map_err(|e| format!("raising the open-file limit: {}", std::io::Error::from(e)))?;
    }
    Ok(soft_limit(&getrlimit(Resource::Nofile)))
}

/// The soft limit as a number; unlimited reads as `u64::MAX`.
fn soft_limit(limit: &Rlimit) -> u64 {
    limit.current.unwrap_or(u64::MAX)
}

type Ws = WebSocketStream<TcpStream>;

/// Opens `connections` WebSockets to `ws_url`, every one joined to a room
/// (one creates, the next joins with the pairing code), measures the
/// server process `server_pid` with all of them held, then closes them
/// and waits until the server has released their descriptors.
/// `progress` is told the number of joined connections as they join.
///
/// Every connection gets a task that reads it, so the server's keepalive
/// pings (after 30 s of silence, STD1-WIRE-24) are answered and no
/// connection is closed as idle however long the setup takes; the
/// measurement fails if the server closes any connection before the end.
///
/// For a figure that means anything, the server should be fresh (memory
/// freed by an earlier run stays with its allocator and is reused, which
/// would flatter the next run's growth), and its rooms must outlive the
/// run (a room that expires closes its connections).
pub async fn idle_connections(
    ws_url: &str,
    server_pid: u32,
    connections: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<IdleReport, String> {
    if connections == 0 {
        return Err("no connections to hold".into());
    }
    // One descriptor per connection on each side, besides what each
    // process already holds (the server's database pool may still grow).
    let count = u64::try_from(connections).unwrap_or(u64::MAX);
    let needed = count.saturating_add(open_fds(std::process::id())? as u64 + 32);
    let ours = raise_open_file_limit(needed)?;
    if ours < needed {
        return Err(format!(
            "this process may open {ours} files; {connections} connections need {needed} \
             (the hard limit can only be raised with CAP_SYS_RESOURCE)"
        ));
    }
    let server_needed = count.saturating_add(open_fds(server_pid)? as u64 + 64);
    let theirs = server_open_file_limit(server_pid)?;
    if theirs < server_needed {
        return Err(format!(
            "the server may open {theirs} files; {connections} connections need about \
             {server_needed} (raise the limit before starting it: raise_open_file_limit)"
        ));
    }
    let request = websocket_request(ws_url)?;
    let target = resolve(&request).await?;

    let fds_before = open_fds(server_pid)?;
    let rss_before_kib = settled_rss(server_pid).await?;

    let (stop, stopped) = watch::channel(false);
    let lost = Arc::new(AtomicUsize::new(0));
    let mut holders = JoinSet::new();
    let started = Instant::now();
    let rooms = connections.div_ceil(2);
    let mut setups = futures_util::stream::iter(0..rooms)
        .map(|room| {
            // The last room of an odd count has only its creator.
            let parties = if 2 * room + 1 == connections { 1 } else { 2 };
            let sources = [
                source_for(target, 2 * room),
                source_for(target, 2 * room + 1),
            ];
            let request = &request;
            async move { open_room(request, target, sources, parties).await }
        })
        .buffer_unordered(CONCURRENT_ROOMS);
    let mut joined = 0;
    let mut failure = None;
    while let Some(room) = setups.next().await {
        match room {
            Ok(sockets) => {
                joined += sockets.len();
                for ws in sockets {
                    holders.spawn(hold(ws, stopped.clone(), Arc::clone(&lost)));
                }
                progress(joined);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(setups);
    let setup_seconds = started.elapsed().as_secs_f64();

    let measured = match failure {
        Some(e) => Err(format!("after {joined} joined connections: {e}")),
        None => measure(server_pid, &lost).await,
    };
    let _ = stop.send(true);
    let closing = tokio::time::timeout(RELEASE_LIMIT, async {
        while holders.join_next().await.is_some() {}
    })
    .await;
    if closing.is_err() {
        holders.abort_all();
    }
    let (rss_after_kib, server_fds) = measured?;
    released(server_pid, fds_before).await?;
    let grown = rss_after_kib.saturating_sub(rss_before_kib);
    Ok(IdleReport {
        connections,
        rss_before_kib,
        rss_after_kib,
        per_connection_bytes: (grown * 1024) as f64 / connections as f64,
        server_fds,
        setup_seconds,
    })
}

/// The settled RSS and the descriptor count with every connection held;
/// fails if the server closed any of them meanwhile.
async fn measure(pid: u32, lost: &AtomicUsize) -> Result<(u64, usize), String> {
    let rss = settled_rss(pid).await?;
    let fds = open_fds(pid)?;
    match lost.load(Ordering::SeqCst) {
        0 => Ok((rss, fds)),
        n => Err(format!(
            "the server closed {n} idle connections during the measurement"
        )),
    }
}

/// The upgrade request: the std-1 subprotocol offered as a browser client
/// offers it (STD1-WIRE-2), and no Origin, as a native client sends.
fn websocket_request(ws_url: &str) -> Result<Request, String> {
    let mut request = ws_url
        .into_client_request()
        .map_err(|e| format!("the WebSocket URL {ws_url}: {e}"))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(WS_SUBPROTOCOL),
    );
    Ok(request)
}

async fn resolve(request: &Request) -> Result<SocketAddr, String> {
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or_else(|| format!("no host in {uri}"))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}

/// The source address of connection `index`: 127.0.0.2 and up, in blocks
/// of [`PER_SOURCE_ADDRESS`], for an IPv4 loopback target; otherwise the
/// system's choice.
fn source_for(target: SocketAddr, index: usize) -> Option<Ipv4Addr> {
    match target.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let block = u8::try_from(2 + index / PER_SOURCE_ADDRESS).unwrap_or(u8::MAX);
            Some(Ipv4Addr::new(127, 0, 0, block))
        }
        _ => None,
    }
}

/// Connects from `source` (port chosen by the kernel) and upgrades, with
/// the server's own small buffers so the load generator's memory stays
/// modest at tens of thousands of connections.
async fn connect(
    request: &Request,
    target: SocketAddr,
    source: Option<Ipv4Addr>,
) -> Result<Ws, String> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| format!("a socket: {e}"))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(IpAddr::V4(ip), 0))
            .map_err(|e| format!("binding to {ip}: {e}"))?;
    }
    let stream = socket
        .connect(target)
        .await
        .map_err(|e| format!("connecting to {target} from {source:?}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("TCP_NODELAY: {e}"))?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(request.clone(), stream, Some(config))
            .await
            .map_err(|e| format!("the WebSocket upgrade: {e}"))?;
    Ok(ws)
}

/// One room: party A creates it with fresh random hashes and a pairing
/// code; party B (when `parties` is 2) joins with the code.
async fn open_room(
    request: &Request,
    target: SocketAddr,
    sources: [Option<Ipv4Addr>; 2],
    parties: usize,
) -> Result<Vec<Ws>, String> {
    let room_hash = RoomHash::from_bytes(random32()?);
    let code = PairingCode::generate().map_err(|e| format!("pairing code: {e}"))?;
    let mut a = connect(request, target, sources[0]).await?;
    let create = ClientEvent::Create(CreateRoom {
        room_hash,
        access_hash: AccessHash::from_bytes(random32()?),
        sender_hash: SenderHash::from_bytes(random32()?),
        pairing_hash: code.hash(),
        country_iso: None,
    });
    request_joined(&mut a, create)
        .await
        .map_err(|e| format!("create: {e}"))?;
    if parties < 2 {
        return Ok(vec![a]);
    }
    let mut b = connect(request, target, sources[1]).await?;
    let join = ClientEvent::Join(JoinRoom {
        room_hash,
        access_hash: AccessHash::from_bytes(random32()?),
        sender_hash: SenderHash::from_bytes(random32()?),
        pairing_hash: Some(code.hash()),
    });
    request_joined(&mut b, join)
        .await
        .map_err(|e| format!("join: {e}"))?;
    Ok(vec![a, b])
}

fn random32() -> Result<[u8; 32], String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Sends `event` as the connection's first request and waits for its
/// `joined` reply, passing over broadcasts and control frames.
async fn request_joined(ws: &mut Ws, event: ClientEvent) -> Result<(), String> {
    let frame = ClientFrame {
        reference: "1".parse().map_err(|_| "ref".to_owned())?,
        event,
    };
    ws.send(Message::Text(Utf8Bytes::from(frame.to_json())))
        .await
        .map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| format!("no reply within {REPLY_TIMEOUT:?}"))?;
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => return Err(format!("closed: {close:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("the connection ended".into()),
        };
        match ServerFrame::from_json(text.as_str()) {
            Some(ServerFrame::Ok(reply)) if matches!(reply.ok, ReplyBody::Joined(_)) => {
                return Ok(());
            }
            Some(ServerFrame::Broadcast(_)) => continue,
            _ => return Err(format!("answered {}", text.as_str())),
        }
    }
}

/// Holds one joined connection: reads it (which answers the server's
/// pings) until told to stop, then closes it and waits briefly for the
/// server's close. A connection the server ends first counts in `lost`.
async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>, lost: Arc<AtomicUsize>) {
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Close(_)) | Err(_)) | None => {
                    lost.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    let grace = Duration::from_secs(5);
    let _ = tokio::time::timeout(grace, ws.close(None)).await;
    let _ = tokio::time::timeout(grace, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// The process's resident set, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// The RSS once it stops moving: two reads a second apart within 64 KiB
/// (or 0.1 %) of each other, or the last read after [`SETTLE_LIMIT`].
/// Freshly spawned tasks and buffers are still being touched just after
/// the last join; reading at once would undercount.
async fn settled_rss(pid: u32) -> Result<u64, String> {
    let deadline = Instant::now() + SETTLE_LIMIT;
    let mut last = rss_kib(pid)?;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = rss_kib(pid)?;
        if now.abs_diff(last) <= (now / 1000).max(64) || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

/// The process's open file descriptors.
pub fn open_fds(pid: u32) -> Result<usize, String> {
    let path = format!("/proc/{pid}/fd");
    std::fs::read_dir(&path)
        .map(Iterator::count)
        .map_err(|e| format!("listing {path}: {e}"))
}

/// The server's soft open-file limit, from `/proc/<pid>/limits`.
fn server_open_file_limit(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/limits");
    let limits = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    let soft = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or_else(|| format!("no open-file limit in {path}"))?;
    Ok(soft.parse().unwrap_or(u64::MAX))
}

/// Waits until the server holds no more descriptors than before the run
/// (with spare for database connections its pool may have opened meanwhile):
/// a server that kept sockets of closed connections would leak them.
async fn released(pid: u32, before: usize) -> Result<(), String> {
    const SPARE: usize = 64;
    let deadline = Instant::now() + RELEASE_LIMIT;
    loop {
        let now = open_fds(pid)?;
        if now <= before + SPARE {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "the server still holds {now} descriptors {RELEASE_LIMIT:?} after the \
                 connections closed ({before} before they opened)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_sources_are_spread_in_blocks() {
        let target: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        assert_eq!(source_for(target, 0), Some(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(
            source_for(target, PER_SOURCE_ADDRESS - 1),
            Some(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(
            source_for(target, 4 * PER_SOURCE_ADDRESS),
            Some(Ipv4Addr::new(127, 0, 0, 6))
        );
        let remote: SocketAddr = "192.0.2.1:443".parse().expect("address");
        assert_eq!(source_for(remote, 0), None);
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).expect("rss") > 0);
        assert!(open_fds(pid).expect("fds") > 0);
        assert!(server_open_file_limit(pid).expect("limit") > 0);
    }
}
