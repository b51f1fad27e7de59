//! A recording TCP proxy between the browser and the target: it forwards
//! every byte both ways and keeps them, so that afterwards the harness can
//! read everything the browser sent (HTTP requests and, after an upgrade,
//! WebSocket frames, unmasked) and prove the server never received a
//! secret (STD1-CLI-1).
//!
//! One rewrite: the `Origin` of each connection's first request is set to
//! the target's own, so that a target that refuses foreign origins
//! (STD1-WIRE-6) accepts the browser, which sees the proxy's address. The
//! recorded bytes are the browser's, before the rewrite.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The bytes of one proxied connection.
#[derive(Debug, Default, Clone)]
pub struct Recorded {
    /// From the browser to the server.
    pub up: Vec<u8>,
    /// From the server to the browser.
    pub down: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Arc<Mutex<Recorded>>>>>;

/// A running proxy; it stops when dropped.
pub struct RecordingProxy {
    pub addr: SocketAddr,
    log: Log,
    accept: JoinHandle<()>,
    /// While set, new connections are dropped at once (the network is "down").
    refusing: Arc<AtomicBool>,
    /// The forwarding tasks of live connections, to cut them.
    live: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl RecordingProxy {
    /// Listens on a free loopback port and forwards to `upstream`, whose
    /// origin (`http://host:port`) replaces the browser's.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log: Log = Arc::default();
        let refusing = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let origin = format!("http://{upstream}");
        let accept = tokio::spawn({
            let log = Arc::clone(&log);
            let refusing = Arc::clone(&refusing);
            let live = Arc::clone(&live);
            async move {
                while let Ok((browser, _)) = listener.accept().await {
                    if refusing.load(Ordering::Acquire) {
                        drop(browser);
                        continue;
                    }
                    let record = Arc::new(Mutex::new(Recorded::default()));
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(Arc::clone(&record));
                    let origin = origin.clone();
                    let task = tokio::spawn(async move {
                        let _ = forward(browser, upstream, &origin, record).await;
                    });
                    let mut live = live.lock().unwrap_or_else(PoisonError::into_inner);
                    live.retain(|t| !t.is_finished());
                    live.push(task);
                }
            }
        });
        Ok(Self {
            addr,
            log,
            accept,
            refusing,
            live,
        })
    }

    /// The network goes down: every live connection is cut (without a
    /// close frame, as a lost network does) and new ones are refused until
    /// [`Self::restore`].
    pub fn sever(&self) {
        self.refusing.store(true, Ordering::Release);
        for task in self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }

    /// The network is back.
    pub fn restore(&self) {
        self.refusing.store(false, Ordering::Release);
    }

    /// Every connection's bytes so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .collect()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Forwards one connection both ways, recording each direction.
async fn forward(
    browser: TcpStream,
    upstream: SocketAddr,
    origin: &str,
    record: Arc<Mutex<Recorded>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let (mut from_browser, to_browser) = browser.into_split();
    let (from_server, mut to_server) = server.into_split();

    // The first request's head, with its Origin replaced.
    let mut head = Vec::new();
    let mut buf = vec![0_u8; 16 * 1024];
    while find(&head, b"\r\n\r\n").is_none() {
        let n = from_browser.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    lock(&record).up.extend_from_slice(&head);
    to_server.write_all(&replace_origin(&head, origin)).await?;

    let up = pump(from_browser, to_server, Arc::clone(&record), |r| &mut r.up);
    let down = pump(from_server, to_browser, record, |r| &mut r.down);
    let (a, b) = tokio::join!(up, down);
    a.and(b)
}

/// Copies one direction until it ends, appending what passes to the
/// recording's `side`.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    record: Arc<Mutex<Recorded>>,
    side: fn(&mut Recorded) -> &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut buf = vec![0_u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        side(&mut lock(&record)).extend_from_slice(&buf[..n]);
        to.write_all(&buf[..n]).await?;
    }
}

fn lock(record: &Mutex<Recorded>) -> std::sync::MutexGuard<'_, Recorded> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The request head with its `Origin` header (if any) set to `origin`.
fn replace_origin(head: &[u8], origin: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive("\r\n") {
        if line
            .get(..7)
            .is_some_and(|name| name.eq_ignore_ascii_case("origin:"))
        {
            out.push_str(&format!("Origin: {origin}\r\n"));
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_origin_line_changes() {
        let head = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:9\r\norigin: http://127.0.0.1:9\r\n\r\n";
        let out = replace_origin(head, "http://127.0.0.1:8");
        assert_eq!(
            out,
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:9\r\nOrigin: http://127.0.0.1:8\r\n\r\n"
        );
    }
}
