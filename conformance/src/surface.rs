//! The `vectors` suite: the target's HTTP surface (spec §11.2) over plain
//! HTTP/1.1, and the invalid-frame catalogue of `spec/vectors/frames.json`
//! over WebSocket.

use std::time::{Duration, Instant};

use stelgano_spec::derive::{PartyHashes, Pin};
use stelgano_spec::wire::{ClientEvent, CreateRoom, ServerFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{Connection, Incoming};
use crate::fixtures;
use crate::report::{CheckResult, Strength, Verdict};

/// Every requirement this suite's checks name.
pub fn requirements() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = HttpCheck::ALL
        .iter()
        .flat_map(|c| c.requirements().iter().copied())
        .collect();
    ids.extend(FRAME_REQUIREMENTS);
    ids
}

/// What the frame catalogue checks.
const FRAME_REQUIREMENTS: [&str; 6] = [
    "STD1-WIRE-10",
    "STD1-WIRE-11",
    "STD1-WIRE-12",
    "STD1-WIRE-13",
    "STD1-WIRE-14",
    "STD1-WIRE-28",
];

/// The frame catalogue, compiled in so that the harness needs no checkout.
const FRAMES: &str = include_str!("../../spec/vectors/frames.json");

/// A response: status, headers (names lower-cased) and body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `host:port` of a `ws://` URL; `None` for `wss://`, which this suite
/// cannot speak.
fn authority(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("ws://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

async fn http(authority: &str, head: &str) -> Result<Response, String> {
    let mut stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(authority))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!("{head}\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    // A WebSocket upgrade keeps the connection: read the head only.
    let read = async {
        let mut chunk = [0_u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
            if raw.starts_with(b"HTTP/1.1 101") && raw.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no response head")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

fn upgrade(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13{extra}"
    )
}

/// Runs the suite against the target at `url`.
pub async fn run(url: &str, pin: &str) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let Some(authority) = authority(url).map(str::to_owned) else {
        results.push(CheckResult::new(
            "vectors",
            "http-surface",
            vec!["STD1-SRV-12".into()],
            Verdict::Skipped("the harness checks the HTTP surface over plain HTTP only".into()),
            Duration::ZERO,
        ));
        return results;
    };
    let path = url
        .strip_prefix("ws://")
        .and_then(|r| r.find('/').map(|i| &r[i..]))
        .unwrap_or("/ws")
        .to_owned();
    for check in HttpCheck::ALL {
        let started = Instant::now();
        let verdict = match check.run(&authority, &path).await {
            Ok(()) => Verdict::Pass,
            Err(why) => Verdict::Fail(why),
        };
        let mut result = CheckResult::new(
            "vectors",
            check.name(),
            check
                .requirements()
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            verdict,
            started.elapsed(),
        );
        result.strength = check.strength();
        results.push(result);
    }
    results.extend(frame_catalogue(url, pin).await);
    results
}

/// The checks of the HTTP surface (spec §11.2, §7.1).
#[derive(Debug, Clone, Copy)]
enum HttpCheck {
    Healthz,
    SecurityHeaders,
    PanicRoute,
    ForeignOriginRefused,
    QueryStringRefused,
    SubprotocolSelected,
}

impl HttpCheck {
    const ALL: [HttpCheck; 6] = [
        HttpCheck::Healthz,
        HttpCheck::SecurityHeaders,
        HttpCheck::PanicRoute,
        HttpCheck::ForeignOriginRefused,
        HttpCheck::QueryStringRefused,
        HttpCheck::SubprotocolSelected,
    ];

    fn name(self) -> &'static str {
        match self {
            HttpCheck::Healthz => "healthz",
            HttpCheck::SecurityHeaders => "security-headers",
            HttpCheck::PanicRoute => "panic-route",
            HttpCheck::ForeignOriginRefused => "foreign-origin-refused",
            HttpCheck::QueryStringRefused => "query-string-refused",
            HttpCheck::SubprotocolSelected => "subprotocol-selected",
        }
    }

    fn requirements(self) -> &'static [&'static str] {
        match self {
            HttpCheck::Healthz => &["STD1-SRV-11"],
            HttpCheck::SecurityHeaders => &["STD1-SRV-12", "STD1-SRV-14"],
            HttpCheck::PanicRoute => &["STD1-SRV-13"],
            HttpCheck::ForeignOriginRefused => &["STD1-WIRE-6"],
            HttpCheck::QueryStringRefused => &["STD1-WIRE-1"],
            HttpCheck::SubprotocolSelected => &["STD1-WIRE-2"],
        }
    }

    /// `/healthz` is the SHOULD part of STD1-SRV-11.
    fn strength(self) -> Strength {
        match self {
            HttpCheck::Healthz => Strength::Should,
            _ => Strength::Must,
        }
    }

    async fn run(self, authority: &str, ws_path: &str) -> Result<(), String> {
        match self {
            HttpCheck::Healthz => {
                let r = http(authority, "GET /healthz HTTP/1.1").await?;
                if r.status == 200 && r.body == "ok" {
                    Ok(())
                } else {
                    Err(format!("GET /healthz: {} {:?}", r.status, r.body))
                }
            }
            HttpCheck::SecurityHeaders => {
                let r = http(authority, "GET / HTTP/1.1").await?;
                let csp = r.header("content-security-policy").unwrap_or_default();
                let mut missing = Vec::new();
                if csp.is_empty() || csp.contains("unsafe-inline") || csp.contains("unsafe-eval") {
                    missing.push(format!("a CSP without inline script or eval ({csp:?})"));
                }
                for (name, value) in [
                    ("x-content-type-options", "nosniff"),
                    ("referrer-policy", "no-referrer"),
                    ("x-frame-options", "DENY"),
                    ("cross-origin-opener-policy", "same-origin"),
                    ("cache-control", "no-store"),
                ] {
                    if !r
                        .header(name)
                        .is_some_and(|v| v.eq_ignore_ascii_case(value))
                    {
                        missing.push(format!("{name}: {value}"));
                    }
                }
                if r.header("set-cookie").is_some() {
                    missing.push("no Set-Cookie".into());
                }
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("GET / lacks {}", missing.join(", ")))
                }
            }
            HttpCheck::PanicRoute => {
                let r = http(authority, "GET /x HTTP/1.1").await?;
                let cleared = r
                    .header("clear-site-data")
                    .is_some_and(|v| v.contains("\"cache\"") && v.contains("\"storage\""));
                if r.status == 302
                    && r.header("location") == Some("/?p=1")
                    && r.header("cache-control") == Some("no-store")
                    && cleared
                {
                    Ok(())
                } else {
                    Err(format!("GET /x: {} {:?}", r.status, r.headers))
                }
            }
            HttpCheck::ForeignOriginRefused => {
                let head = upgrade(ws_path, "\r\nOrigin: https://elsewhere.invalid");
                let r = http(authority, &head).await?;
                if r.status == 403 {
                    Ok(())
                } else {
                    Err(format!("an upgrade from a foreign origin got {}", r.status))
                }
            }
            HttpCheck::QueryStringRefused => {
                let r = http(authority, &upgrade(&format!("{ws_path}?room=1"), "")).await?;
                if r.status != 101 {
                    Ok(())
                } else {
                    Err("an upgrade with a query string was accepted".into())
                }
            }
            HttpCheck::SubprotocolSelected => {
                let head = upgrade(ws_path, "\r\nSec-WebSocket-Protocol: stelgano.std-1");
                let r = http(authority, &head).await?;
                if r.status == 101 && r.header("sec-websocket-protocol") == Some("stelgano.std-1") {
                    Ok(())
                } else {
                    Err(format!(
                        "offered stelgano.std-1: {} {:?}",
                        r.status, r.headers
                    ))
                }
            }
        }
    }
}

/// Every invalid frame of the catalogue, sent on a joined session, gets
/// its error reason and `ref` (STD1-WIRE-10 to STD1-WIRE-14, STD1-WIRE-28).
async fn frame_catalogue(url: &str, pin: &str) -> Vec<CheckResult> {
    let ids: Vec<String> = FRAME_REQUIREMENTS.map(str::to_owned).to_vec();
    let catalogue: serde_json::Value = match serde_json::from_str(FRAMES) {
        Ok(v) => v,
        Err(e) => {
            return vec![CheckResult::new(
                "vectors",
                "frames",
                ids,
                Verdict::Fail(format!("frames.json: {e}")),
                Duration::ZERO,
            )];
        }
    };
    let cases = catalogue["invalid"].as_array().cloned().unwrap_or_default();
    let mut results = Vec::new();
    let mut connection: Option<Connection> = None;
    for case in cases {
        let started = Instant::now();
        let name = format!("frame-{:03}", case["tcId"].as_u64().unwrap_or(0));
        if connection.is_none() {
            connection = joined(url, pin).await.ok();
        }
        let verdict = match connection.as_mut() {
            None => Verdict::Fail("cannot open a session for the catalogue".into()),
            Some(c) => check_frame(c, &case).await,
        };
        if matches!(verdict, Verdict::Fail(_)) {
            // Start the next case on a fresh session.
            connection = None;
        }
        results.push(CheckResult::new(
            "vectors",
            &name,
            ids.clone(),
            verdict,
            started.elapsed(),
        ));
    }
    results
}

async fn check_frame(c: &mut Connection, case: &serde_json::Value) -> Verdict {
    let frame = case["frame"].as_str().unwrap_or_default();
    let comment = case["comment"].as_str().unwrap_or_default();
    if let Err(e) = c.send_text(frame).await {
        return Verdict::Fail(format!("{comment}: {e}"));
    }
    match c.next(Duration::from_secs(10)).await {
        Ok(Incoming::Frame(ServerFrame::Error(e))) => {
            let reason_ok = Some(e.error.reason.as_str()) == case["reason"].as_str();
            let ref_ok = e.reference.as_ref().map(|r| r.as_str()) == case["ref"].as_str();
            if reason_ok && ref_ok {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "{comment}: expected {} with ref {}, got {} with ref {:?}",
                    case["reason"],
                    case["ref"],
                    e.error.reason.as_str(),
                    e.reference.as_ref().map(|r| r.as_str())
                ))
            }
        }
        Ok(other) => Verdict::Fail(format!("{comment}: expected an error reply, got {other:?}")),
        Err(e) => Verdict::Fail(format!("{comment}: {e}")),
    }
}

/// A connection with a session in a fresh room.
async fn joined(url: &str, pin: &str) -> Result<Connection, String> {
    let phone = fixtures::steg_number()?;
    let party = PartyHashes::derive(&phone, &Pin::parse(pin).map_err(|e| e.to_string())?);
    let code = fixtures::pairing_code()?;
    let mut c = Connection::open(url, "catalogue")
        .await
        .map_err(|e| e.to_string())?;
    c.send(ClientEvent::Create(CreateRoom {
        room_hash: party.room_hash,
        access_hash: party.access_hash,
        sender_hash: party.sender_hash,
        pairing_hash: code.hash(),
        country_iso: None,
    }))
    .await
    .map_err(|e| e.to_string())?;
    match c.next(Duration::from_secs(10)).await {
        Ok(Incoming::Frame(ServerFrame::Ok(_))) => Ok(c),
        other => Err(format!("create: {other:?}")),
    }
}
