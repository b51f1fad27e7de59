//! Connection behaviour that needs a peer no WebSocket library will imitate:
//! one that never answers pings, and one that stops reading. The peer here
//! speaks RFC 6455 by hand over a plain TCP socket (spec §7.4).

mod common;

use std::time::Duration;

use stelgano_server::state::ConnectionTimeouts;
use stelgano_spec::wire::{ClientEvent, ClientFrame, CreateRoom, ServerFrame};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;

/// Opens a WebSocket on `/ws` over `stream`, returning once the server
/// switched protocols.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, host: &str) {
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.expect("response head"));
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

/// A client's text frame: final, masked (RFC 6455 §5.3).
fn masked_text(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mask = [0x37_u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x80 | TEXT];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(n).expect("small frame").to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The complete frames (opcode, payload) at the start of `bytes`, which a
/// server sends unmasked; a cut-off frame at the end is left out.
fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while bytes.len() >= at + 2 {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 if bytes.len() >= at + 4 => (
                usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]])),
                4,
            ),
            127 if bytes.len() >= at + 10 => {
                let mut n = [0; 8];
                n.copy_from_slice(&bytes[at + 2..at + 10]);
                (usize::try_from(u64::from_be_bytes(n)).expect("size"), 10)
            }
            126 | 127 => break,
            n => (usize::from(n), 2),
        };
        let Some(payload) = bytes.get(at + header..at + header + len) else {
            break;
        };
        out.push((opcode, payload.to_vec()));
        at += header + len;
    }
    out
}

/// Everything the server sends until it ends the TCP connection; fails
/// when it has not within `within`.
async fn read_until_closed<R: AsyncRead + Unpin>(reader: &mut R, within: Duration) -> Vec<u8> {
    let mut bytes = Vec::new();
    let read = async {
        let mut chunk = [0_u8; 16 * 1024];
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server ends the connection");
    bytes
}

/// Waits, boundedly, until the server counts `n` connections: the upgrade's
/// 101 reaches the client before the server's connection task starts.
async fn until_connections(server: &common::Instance, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.hub.connection_count() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server counts {} connections, not {n}",
            server.hub.connection_count()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits, boundedly, until the server holds no connection.
async fn until_no_connection(server: &common::Instance) {
    until_connections(server, 0).await;
}

fn create_frame() -> String {
    let p = common::party("+1 555 012 3456", "1234");
    ClientFrame {
        reference: "1".parse().expect("ref"),
        event: ClientEvent::Create(CreateRoom {
            room_hash: p.room_hash,
            access_hash: p.access_hash,
            sender_hash: p.sender_hash,
            pairing_hash: common::code("P2K4-9H7M"),
            country_iso: None,
        }),
    }
    .to_json()
}

#[tokio::test]
async fn a_session_that_ignores_pings_is_closed_as_idle() {
    // STD1-WIRE-24: ping after silence, close (1008) after longer silence;
    // STD1-WIRE-5.
    let timeouts = ConnectionTimeouts {
        ping_after: Duration::from_millis(100),
        idle_close: Duration::from_millis(600),
        join_deadline: Duration::from_secs(60),
        ..ConnectionTimeouts::default()
    };
    let server = common::instance_with(common::fresh_pool().await, Duration::ZERO, |s| {
        s.timeouts = timeouts;
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    handshake(&mut stream, &server.addr.to_string()).await;
    stream
        .write_all(&masked_text(&create_frame()))
        .await
        .expect("send create");

    let received = frames(&read_until_closed(&mut stream, Duration::from_secs(10)).await);
    let opcodes: Vec<u8> = received.iter().map(|(op, _)| *op).collect();
    assert_eq!(opcodes.first(), Some(&TEXT), "{opcodes:?}");
    assert!(matches!(
        ServerFrame::from_json(std::str::from_utf8(&received[0].1).expect("utf-8")),
        Some(ServerFrame::Ok(_))
    ));
    assert!(opcodes.contains(&PING), "pinged first: {opcodes:?}");
    let (last, payload) = received.last().expect("frames");
    assert_eq!(*last, CLOSE, "{opcodes:?}");
    assert_eq!(
        u16::from_be_bytes([payload[0], payload[1]]),
        1008,
        "policy violation"
    );
    until_no_connection(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_dropped() {
    // Issue: the server holds no connection for ever for a client that
    // stops reading; its queue is bounded (hub) and so is each write.
    let timeouts = ConnectionTimeouts {
        send: Duration::from_millis(300),
        ..ConnectionTimeouts::default()
    };
    let server = common::instance_with(common::fresh_pool().await, Duration::ZERO, |s| {
        s.timeouts = timeouts;
    })
    .await;
    let socket = TcpSocket::new_v4().expect("socket");
    // A small receive window, so the server's writes back up quickly.
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut stream = socket.connect(server.addr).await.expect("connect");
    handshake(&mut stream, &server.addr.to_string()).await;
    // Otherwise the wait for the server to drop it could end before it began.
    until_connections(&server, 1).await;
    let (mut reader, mut writer) = stream.into_split();

    // Frames each answered with an error reply (about 100 bytes), far more
    // than the socket buffers on both sides hold, written without reading.
    const FRAMES: usize = 200_000;
    let frame = masked_text(&format!(r#"{{"ref":"{}","event":"nope"}}"#, "r".repeat(64)));
    let flood = tokio::spawn(async move {
        for _ in 0..FRAMES {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    });

    until_no_connection(&server).await;
    let received = frames(&read_until_closed(&mut reader, Duration::from_secs(10)).await);
    flood.await.expect("writer");
    assert!(
        received.len() < FRAMES,
        "the server gave up before answering all {FRAMES} frames"
    );
    assert!(
        received.iter().all(|(op, _)| *op == TEXT),
        "no close frame for a peer that takes nothing"
    );
}

/// A client's text frame header announcing `len` payload bytes, for a
/// message it then streams: final, masked, 64-bit length.
fn masked_text_header(len: u64) -> Vec<u8> {
    let mut header = vec![0x80 | TEXT, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[0x37, 0xfa, 0x21, 0x3d]);
    header
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_closed_with_1009_even_behind_unread_replies() {
    // STD1-WIRE-4, STD1-WIRE-5 (1009) and STD1-WIRE-32 (the lingering
    // close). The client pipelines requests, then a message over the
    // limit followed by more bytes, and reads nothing for a while: the
    // replies fill its receive window, so the server's close frame is
    // still queued in the server's kernel when the server is done with
    // the connection. A server that dropped the socket then, with the
    // oversized message's bytes unread, would make the kernel reset the
    // connection and discard that queue, close frame included.
    let server = common::instance(common::fresh_pool().await, Duration::ZERO).await;
    const REQUESTS: usize = 150;
    let request = masked_text(&format!(r#"{{"ref":"{}","event":"nope"}}"#, "r".repeat(64)));
    let oversized_len = 64 * 1024;
    let mut burst = Vec::new();
    for _ in 0..REQUESTS {
        burst.extend_from_slice(&request);
    }
    burst.extend_from_slice(&masked_text_header(oversized_len));
    burst.resize(
        burst.len() + usize::try_from(oversized_len).expect("size"),
        b' ',
    );
    // More frames after the refused message, which the server never reads.
    for _ in 0..10 {
        burst.extend_from_slice(&request);
    }
    for round in 0..10 {
        let socket = TcpSocket::new_v4().expect("socket");
        // A small receive window, which the replies fill.
        socket.set_recv_buffer_size(4096).expect("buffer size");
        let mut stream = socket.connect(server.addr).await.expect("connect");
        handshake(&mut stream, &server.addr.to_string()).await;
        let (mut reader, mut writer) = stream.into_split();
        // Sent from a task: the server stops reading part-way, and a
        // client blocked on writing would never get to read.
        let burst = burst.clone();
        let sending = tokio::spawn(async move {
            let _ = writer.write_all(&burst).await;
            writer
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let received = frames(&read_until_closed(&mut reader, Duration::from_secs(10)).await);
        drop(sending.await.expect("writer"));
        let opcodes: Vec<u8> = received.iter().map(|(op, _)| *op).collect();
        assert_eq!(
            opcodes.iter().filter(|op| **op == TEXT).count(),
            REQUESTS,
            "round {round}: every request before the oversized message is answered"
        );
        let (last, payload) = received.last().expect("frames");
        assert_eq!(*last, CLOSE, "round {round}: {opcodes:?}");
        assert_eq!(
            u16::from_be_bytes([payload[0], payload[1]]),
            1009,
            "round {round}: message too big"
        );
    }
    until_no_connection(&server).await;
}
