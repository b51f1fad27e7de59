//! What the server was sent, decoded from the proxy's recording: the
//! browser's HTTP requests (request line, headers, bodies) and the
//! payloads of its WebSocket frames, unmasked. And what the server sent
//! back over WebSocket, which names the `room_id` (needed to derive the key
//! the harness looks for).

use super::proxy::{Recorded, find};

/// Everything the browser sent, as text, and how many bytes it came from.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Request heads and bodies, and WebSocket payloads, one per line.
    pub sent: String,
    /// Bytes the browser sent, all connections.
    pub bytes: usize,
    /// WebSocket frames the browser sent.
    pub frames: usize,
    /// Text frames the server sent.
    pub received: Vec<String>,
    /// Each WebSocket connection's messages: what the browser sent, and
    /// what the server sent, in order.
    pub sessions: Vec<Session>,
}

/// One WebSocket connection's messages.
#[derive(Debug, Default)]
pub struct Session {
    pub sent: Vec<String>,
    pub received: Vec<String>,
}

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("a WebSocket frame uses an extension (RSV bits set); its payload cannot be read")]
    Extension,
    #[error("a client WebSocket frame is not masked")]
    Unmasked,
}

/// Decodes every connection of a recording.
pub fn decode(recorded: &[Recorded]) -> Result<Decoded, DecodeError> {
    let mut out = Decoded::default();
    for conn in recorded {
        out.bytes += conn.up.len();
        let mut rest = conn.up.as_slice();
        // Requests one after another, until one upgrades the connection.
        let mut upgraded = false;
        while let Some(end) = find(rest, b"\r\n\r\n") {
            let head = &rest[..end + 4];
            let length = content_length(head);
            let body_end = (end + 4 + length).min(rest.len());
            out.sent
                .push_str(&percent_decode(&String::from_utf8_lossy(&rest[..body_end])));
            out.sent.push('\n');
            upgraded = is_upgrade(head);
            rest = &rest[body_end..];
            if upgraded {
                break;
            }
        }
        if upgraded {
            let mut session = Session::default();
            for (payload, masked) in frames(rest)? {
                if !masked {
                    return Err(DecodeError::Unmasked);
                }
                out.frames += 1;
                let text = String::from_utf8_lossy(&payload).into_owned();
                out.sent.push_str(&text);
                out.sent.push('\n');
                session.sent.push(text);
            }
            // The server's side: its response head, then frames.
            if let Some(end) = find(&conn.down, b"\r\n\r\n") {
                for (payload, _) in frames(&conn.down[end + 4..])? {
                    let text = String::from_utf8_lossy(&payload).into_owned();
                    out.received.push(text.clone());
                    session.received.push(text);
                }
            }
            out.sessions.push(session);
        } else if !rest.is_empty() {
            // An unfinished request: keep what there is.
            out.sent.push_str(&String::from_utf8_lossy(rest));
        }
    }
    Ok(out)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn content_length(head: &[u8]) -> usize {
    header(&String::from_utf8_lossy(head), "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn is_upgrade(head: &[u8]) -> bool {
    header(&String::from_utf8_lossy(head), "upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `%XX` escapes decoded, so that an encoded secret in a URL is found.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The messages of a frame stream (continuations joined), each with
/// whether its frames were masked. A truncated last frame is dropped.
fn frames(mut data: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, DecodeError> {
    let mut messages = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut masked_all = true;
    while data.len() >= 2 {
        let (b0, b1) = (data[0], data[1]);
        if b0 & 0x70 != 0 {
            return Err(DecodeError::Extension);
        }
        let fin = b0 & 0x80 != 0;
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7f {
            126 if data.len() >= 4 => (usize::from(u16::from_be_bytes([data[2], data[3]])), 4),
            127 if data.len() >= 10 => {
                let mut n = [0_u8; 8];
                n.copy_from_slice(&data[2..10]);
                (
                    usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
                    10,
                )
            }
            126 | 127 => break,
            n => (usize::from(n), 2),
        };
        let mask = if masked {
            let Some(key) = data.get(at..at + 4) else {
                break;
            };
            at += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let Some(payload) = data.get(at..at.saturating_add(len)) else {
            break;
        };
        current.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| mask.map_or(*b, |m| b ^ m[i % 4])),
        );
        masked_all &= masked;
        data = &data[at + len..];
        if fin {
            messages.push((std::mem::take(&mut current), masked_all));
            masked_all = true;
        }
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked_text(text: &str, key: [u8; 4]) -> Vec<u8> {
        let mut frame = vec![0x81, 0x80 | u8::try_from(text.len()).expect("short")];
        frame.extend_from_slice(&key);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    #[test]
    fn masked_frames_after_an_upgrade_are_read() {
        let mut up = b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        up.extend_from_slice(b"GET /ws?n=%2B1555 HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
        up.extend(masked_text("{\"ref\":\"1\"}", [1, 2, 3, 4]));
        up.extend(masked_text("second", [9, 8, 7, 6]));
        let mut down = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        down.extend_from_slice(&[0x81, 2, b'o', b'k']);
        let decoded = decode(&[Recorded { up, down }]).expect("decodes");
        assert_eq!(decoded.frames, 2);
        assert!(decoded.sent.contains("{\"ref\":\"1\"}") && decoded.sent.contains("second"));
        // The query's escape is decoded, so an encoded secret is found.
        assert!(decoded.sent.contains("/ws?n=+1555"));
        assert_eq!(decoded.received, vec!["ok".to_owned()]);
    }

    #[test]
    fn compressed_frames_are_refused_rather_than_skipped() {
        let mut up = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n".to_vec();
        let mut frame = masked_text("x", [0; 4]);
        frame[0] |= 0x40;
        up.extend(frame);
        assert_eq!(
            decode(&[Recorded {
                up,
                down: Vec::new()
            }])
            .err(),
            Some(DecodeError::Extension)
        );
    }
}
