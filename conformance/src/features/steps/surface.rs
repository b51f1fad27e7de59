//! What the server says to someone probing it: error replies to frames
//! that carry secrets (STD1-SRV-17), and HTTP requests that ask about a
//! room (STD1-SRV-11).

use std::time::Duration;

use stelgano_spec::ErrorReason;
use stelgano_spec::derive::room_hash;
use stelgano_spec::wire::{ErrorBody, ServerFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Args;
use crate::client::Incoming;
use crate::features::world::{FRAME_TIMEOUT, FeatureWorld, StepFailure, expected};
use crate::fixtures;

type Outcome = Result<(), StepFailure>;

/// Sends frames whose faults sit where the steg number and a PIN were
/// put, on a connection without a session; keeps each raw reply with the
/// reason the decoder must give (STD1-WIRE-10 to STD1-WIRE-14).
pub async fn malformed_joins(world: &mut FeatureWorld, args: Args) -> Outcome {
    let name = args.get(0)?;
    let number = format!("+{}", world.phone.digits());
    let pin = world.fresh_pin()?.as_str().to_owned();
    let hashes = world.person(name)?.hashes;
    let (room, access, sender) = (
        hashes.room_hash.to_hex(),
        hashes.access_hash.to_hex(),
        hashes.sender_hash.to_hex(),
    );
    let frames = [
        (
            format!(
                r#"{{"event":"join","ref":"m1","data":{{"room_hash":"{number}","access_hash":"{pin}","sender_hash":"{sender}"}}}}"#
            ),
            ErrorReason::InvalidRoom,
        ),
        (
            format!(
                r#"{{"event":"join","ref":"m2","data":{{"room_hash":"{room}","access_hash":"{pin}","sender_hash":"{sender}"}}}}"#
            ),
            ErrorReason::InvalidAccess,
        ),
        (
            format!(
                r#"{{"event":"join","ref":"m3","data":{{"room_hash":"{room}","access_hash":"{access}","sender_hash":"{sender}","phone":"{number}","pin":"{pin}"}}}}"#
            ),
            ErrorReason::InvalidPayload,
        ),
        (
            format!(r#"{{"event":"{pin}","ref":"m4","data":{{"number":"{number}"}}}}"#),
            ErrorReason::UnknownEvent,
        ),
        (
            format!("join {number} with {pin}"),
            ErrorReason::InvalidFrame,
        ),
    ];
    world.open_session(name).await?;
    let session = world
        .person(name)?
        .sessions
        .last_mut()
        .ok_or_else(|| StepFailure::Setup("no connection".into()))?;
    let mut replies = Vec::new();
    for (frame, reason) in frames {
        session.conn.send_text(&frame).await?;
        match session.conn.next(FRAME_TIMEOUT).await? {
            Incoming::Frame(ServerFrame::Error(e)) if e.error == ErrorBody::plain(reason) => {
                // The frame as it arrived, from the connection's log.
                let raw = session.conn.log.last().cloned().unwrap_or_default();
                replies.push((raw, reason));
            }
            other => {
                return Err(expected(format!(
                    "a frame that must be refused with `{reason}` was answered {other:?}"
                )));
            }
        }
    }
    world.raw_replies = replies;
    Ok(())
}

/// No reply repeats the number or the PIN (STD1-SRV-17: no echoed input).
pub async fn nothing_echoed(world: &mut FeatureWorld, _: Args) -> Outcome {
    if world.raw_replies.is_empty() {
        return Err(StepFailure::Setup("no malformed frame was sent".into()));
    }
    let digits = world.phone.digits().to_owned();
    for (raw, reason) in &world.raw_replies {
        if raw.contains(&digits) || world.secrets.pins.iter().any(|p| raw.contains(p.as_str())) {
            return Err(expected(format!(
                "the `{reason}` reply echoes what was sent"
            )));
        }
    }
    Ok(())
}

/// `GET path` on the target's HTTP origin; the status line and the body
/// (headers such as `Date` differ between any two answers).
async fn http_get(authority: &str, path: &str) -> Result<(String, String), StepFailure> {
    let io = |e: std::io::Error| expected(format!("HTTP GET {path}: {e}"));
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await.map_err(io)?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.map_err(io)?;
        Ok::<_, StepFailure>(bytes)
    };
    let bytes = tokio::time::timeout(Duration::from_secs(15), exchange)
        .await
        .map_err(|_| expected(format!("HTTP GET {path} timed out")))??;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Paths a room lookup might live at, each asked about the room's hash
/// and about the hash of a number nobody has used.
const LOOKUPS: [&str; 8] = [
    "/rooms/{}",
    "/room/{}",
    "/api/rooms/{}",
    "/api/room/{}",
    "/{}",
    "/?room={}",
    "/healthz?room={}",
    "/x?room={}",
];

pub async fn asks_http(world: &mut FeatureWorld, _: Args) -> Outcome {
    let authority = world
        .target
        .url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| {
            StepFailure::Setup("the HTTP surface is only probed on ws:// targets".into())
        })?
        .to_owned();
    let existing = room_hash(&world.phone).to_hex();
    let unused = room_hash(&fixtures::steg_number().map_err(StepFailure::Setup)?).to_hex();
    let mut answers = Vec::new();
    for lookup in LOOKUPS {
        let (a_status, a_body) = http_get(&authority, &lookup.replace("{}", &existing)).await?;
        let (b_status, b_body) = http_get(&authority, &lookup.replace("{}", &unused)).await?;
        answers.push((
            lookup.to_owned(),
            format!("{a_status}\n{a_body}"),
            format!("{b_status}\n{b_body}"),
        ));
    }
    world.http_answers = answers;
    Ok(())
}

/// The room's existence makes no difference to any HTTP answer
/// (STD1-SRV-11).
pub async fn same_http_answer(world: &mut FeatureWorld, _: Args) -> Outcome {
    if world.http_answers.is_empty() {
        return Err(StepFailure::Setup("nothing was asked over HTTP".into()));
    }
    match world.http_answers.iter().find(|(_, a, b)| a != b) {
        None => Ok(()),
        Some((path, a, b)) => Err(expected(format!(
            "{path} answers differently for an existing room ({}) and an absent one ({})",
            a.lines().next().unwrap_or_default(),
            b.lines().next().unwrap_or_default()
        ))),
    }
}
