//! A std-1 client connection for the harness: sends frames, reads what the
//! server sends, and keeps a log of both for reports.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use stelgano_spec::ids::Ref;
use stelgano_spec::wire::{ClientEvent, ClientFrame, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Why talking to the target failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("nothing received within {0:?}")]
    Timeout(Duration),
    #[error("the connection failed: {0}")]
    Transport(String),
    #[error("the server sent a frame that is not std-1: {0}")]
    NotAFrame(String),
}

/// What arrives on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Frame(ServerFrame),
    /// A close frame with its status code.
    Close(Option<u16>),
    /// The connection ended without a close frame.
    Gone,
}

/// One WebSocket connection to the target.
pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    name: String,
    next_ref: u64,
    /// This side's address of the TCP connection, as the server sees it
    /// (a log that names it links a client's network address to a room,
    /// STD1-SRV-16).
    local_addr: Option<SocketAddr>,
    /// Whether frames are written to `log` (off for load, see
    /// [`Connection::open_for_load`]).
    logging: bool,
    /// The server's close frame, once one arrived: its status code and
    /// reason (STD1-WIRE-5 gives some closes a reason, such as
    /// `record_replaced`).
    close: Option<(Option<u16>, String)>,
    /// Every frame sent and received, for reports.
    pub log: Vec<String>,
}

impl Connection {
    /// Opens a connection; `name` labels it in the log.
    pub async fn open(url: &str, name: &str) -> Result<Self, ClientError> {
        Self::connect(url, name, false, true).await
    }

    /// Opens a connection from the local address `source` (port chosen by
    /// the kernel), so that the server sees the network origin the caller
    /// picked (STD1-JOIN-22); `None` lets the system choose, as
    /// [`Connection::open`]. Plain `ws://` targets only.
    pub async fn open_from(
        url: &str,
        name: &str,
        source: Option<IpAddr>,
    ) -> Result<Self, ClientError> {
        let Some(source) = source else {
            return Self::open(url, name).await;
        };
        let fail = |reason: String| ClientError::Connect {
            url: url.to_owned(),
            reason,
        };
        let authority = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| fail("a source address needs a ws:// target".into()))?;
        let target = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| fail(e.to_string()))?
            .find(|addr| addr.is_ipv4() == source.is_ipv4())
            .ok_or_else(|| fail(format!("no address of {authority} in {source}'s family")))?;
        let socket = if source.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .map_err(|e| fail(e.to_string()))?;
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| fail(format!("binding {source}: {e}")))?;
        let stream = socket
            .connect(target)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let local_addr = stream.local_addr().ok();
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            ws,
            name: name.to_owned(),
            next_ref: 0,
            local_addr,
            logging: true,
            close: None,
            log: Vec::new(),
        })
    }

    /// Opens a connection for the benches: `TCP_NODELAY` on, so that a
    /// small frame is not held back waiting for an ACK (tens of
    /// milliseconds on loopback, which would swamp what is measured), and
    /// no frame log, which over millions of frames would cost the load
    /// generator memory and time that belong to the server.
    pub async fn open_for_load(url: &str, name: &str) -> Result<Self, ClientError> {
        Self::connect(url, name, true, false).await
    }

    async fn connect(
        url: &str,
        name: &str,
        no_delay: bool,
        logging: bool,
    ) -> Result<Self, ClientError> {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, no_delay)
            .await
            .map_err(|e| ClientError::Connect {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let local_addr = match ws.get_ref() {
            MaybeTlsStream::Plain(tcp) => tcp.local_addr().ok(),
            _ => None,
        };
        Ok(Self {
            ws,
            name: name.to_owned(),
            next_ref: 0,
            local_addr,
            logging,
            close: None,
            log: Vec::new(),
        })
    }

    /// Adds a line to the log, when this connection keeps one; the line is
    /// only formatted then.
    fn note(&mut self, line: impl FnOnce(&str) -> String) {
        if self.logging {
            self.log.push(line(&self.name));
        }
    }

    /// This side's `ip:port` of the connection, when it is plain TCP.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The close frame the server sent, once [`Connection::next`] has
    /// returned it: the status code and the reason (empty when none).
    pub fn close_frame(&self) -> Option<(Option<u16>, &str)> {
        self.close
            .as_ref()
            .map(|(code, reason)| (*code, reason.as_str()))
    }

    /// Sends a request; returns its `ref`.
    pub async fn send(&mut self, event: ClientEvent) -> Result<Ref, ClientError> {
        self.next_ref += 1;
        let reference: Ref = self
            .next_ref
            .to_string()
            .parse()
            .map_err(|_| ClientError::Transport("ref".into()))?;
        let text = ClientFrame {
            reference: reference.clone(),
            event,
        }
        .to_json();
        self.note(|name| format!("{name} -> {text}"));
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(reference)
    }

    /// Sends a text frame as it is, valid or not.
    pub async fn send_text(&mut self, text: &str) -> Result<(), ClientError> {
        self.note(|name| format!("{name} -> {text}"));
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    /// Sends `payload` as one data message of the given kind, split into
    /// fragments that end at the offsets in `cuts`, with a ping between
    /// fragments when `ping` is set (RFC 6455 §5.4 allows control frames
    /// there). Raw frames, because a text message that is not UTF-8, a
    /// fragmented one and a binary one are exactly what a server must
    /// cope with (STD1-WIRE-3, STD1-WIRE-4) and what `Message` cannot
    /// express (`crate::wsfuzz`).
    pub async fn send_raw(
        &mut self,
        payload: &[u8],
        binary: bool,
        cuts: &[usize],
        ping: bool,
    ) -> Result<(), ClientError> {
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        self.note(|name| {
            format!(
                "{name} -> ({} bytes, {}, {} fragments)",
                payload.len(),
                if binary { "binary" } else { "text" },
                cuts.len() + 1
            )
        });
        let mut bounds: Vec<usize> = cuts
            .iter()
            .copied()
            .filter(|&c| c > 0 && c < payload.len())
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        bounds.push(payload.len());
        let mut start = 0;
        for (i, &end) in bounds.iter().enumerate() {
            let opcode = match (i, binary) {
                (0, false) => OpCode::Data(Data::Text),
                (0, true) => OpCode::Data(Data::Binary),
                _ => OpCode::Data(Data::Continue),
            };
            let last = i + 1 == bounds.len();
            let frame = Frame::message(payload[start..end].to_vec(), opcode, last);
            self.ws
                .feed(Message::Frame(frame))
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            if ping && !last {
                self.ws
                    .feed(Message::Ping(Vec::from(&b"wsfuzz"[..]).into()))
                    .await
                    .map_err(|e| ClientError::Transport(e.to_string()))?;
            }
            start = end;
        }
        self.ws
            .flush()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }

    /// The next frame, close or end, within `within`; pings are answered
    /// by the WebSocket layer and skipped.
    pub async fn next(&mut self, within: Duration) -> Result<Incoming, ClientError> {
        loop {
            let message = tokio::time::timeout(within, self.ws.next())
                .await
                .map_err(|_| ClientError::Timeout(within))?;
            let incoming = match message {
                None => Incoming::Gone,
                Some(Err(e)) => {
                    self.note(|name| format!("{name} <- (ended: {e})"));
                    return Ok(Incoming::Gone);
                }
                Some(Ok(Message::Text(text))) => {
                    self.note(|name| format!("{name} <- {}", text.as_str()));
                    match ServerFrame::from_json(text.as_str()) {
                        Some(frame) => Incoming::Frame(frame),
                        None => return Err(ClientError::NotAFrame(text.as_str().to_owned())),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    let reason = frame
                        .as_ref()
                        .map(|f| f.reason.as_str().to_owned())
                        .unwrap_or_default();
                    self.note(|name| {
                        if reason.is_empty() {
                            format!("{name} <- close {code:?}")
                        } else {
                            format!("{name} <- close {code:?} {reason}")
                        }
                    });
                    self.close = Some((code, reason));
                    Incoming::Close(code)
                }
                Some(Ok(Message::Binary(_))) => {
                    return Err(ClientError::NotAFrame("a binary frame".into()));
                }
                Some(Ok(_)) => continue,
            };
            return Ok(incoming);
        }
    }

    /// Drops the connection without a closing handshake, as a crashed
    /// client or a failed network would: with `SO_LINGER` at zero the TCP
    /// connection ends with a reset, and whatever the kernel had not yet
    /// sent is discarded (the chaos suite, `crate::chaos`).
    pub fn abort(self) {
        if let MaybeTlsStream::Plain(tcp) = self.ws.get_ref() {
            // Without it the close is an orderly FIN, which still ends the
            // connection abruptly for the protocol; good enough.
            let _ = tcp.set_zero_linger();
        }
        drop(self);
    }

    /// Closes the connection from this side and waits, briefly, for the
    /// server's answering close.
    pub async fn close(mut self) -> Vec<String> {
        self.note(|name| format!("{name} -> close"));
        let _ = self.ws.close(None).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
        self.log
    }
}
