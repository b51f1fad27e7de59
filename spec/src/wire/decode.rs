//! The strict decoder of client frames (STD1-WIRE-10 to STD1-WIRE-14).
//!
//! It is a pure function from frame text to either a typed frame or the one
//! error reason the spec assigns to that text. It never panics and never
//! depends on session state; the server applies session rules afterwards.
//! The order of checks is normative, because a frame that is wrong in two
//! ways must produce the same reason on every server.

use std::str::FromStr;

use super::binary::{Ciphertext, Iv};
use super::client::{
    ClientEvent, ClientFrame, CreateRoom, DeleteMessage, EditMessage, EventName, JoinRoom,
    ReadReceipt, ReopenPairing, ResetPairing, SendMessage,
};
use super::json::{self, Json};
use crate::ids::{AccessHash, CountryCode, MessageId, PairingHash, Ref, RoomHash, SenderHash};
use crate::reason::ErrorReason;

/// A frame the decoder refused, with what could be learnt before the fault.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{reason}")]
pub struct DecodeError {
    /// The frame's `ref`, once it was found valid; echoed in the error reply.
    pub reference: Option<Ref>,
    /// The event, once it was recognised; `create` and `join` errors are
    /// time-floored like their other outcomes (STD1-JOIN-21).
    pub event: Option<EventName>,
    pub reason: ErrorReason,
}

/// Decodes one text frame (STD1-WIRE-10 to STD1-WIRE-14).
pub fn decode_client_frame(text: &str) -> Result<ClientFrame, DecodeError> {
    let fail = |reference: Option<&Ref>, event, reason| DecodeError {
        reference: reference.cloned(),
        event,
        reason,
    };

    // STD1-WIRE-10: one JSON object, no duplicate names anywhere.
    let Some(Json::Object(members)) = json::parse(text) else {
        return Err(fail(None, None, ErrorReason::InvalidFrame));
    };

    // STD1-WIRE-11: `ref` first, so that every later error can echo it.
    let reference = match member(&members, "ref") {
        Some(Json::String(s)) => {
            Ref::from_str(s).map_err(|_| fail(None, None, ErrorReason::InvalidFrame))?
        }
        _ => return Err(fail(None, None, ErrorReason::InvalidFrame)),
    };
    let r = Some(&reference);

    // STD1-WIRE-12: exactly `event`, `ref` and `data`, with the right types.
    if members
        .iter()
        .any(|(name, _)| !matches!(name.as_str(), "event" | "ref" | "data"))
    {
        return Err(fail(r, None, ErrorReason::InvalidFrame));
    }
    let Some(Json::String(event_name)) = member(&members, "event") else {
        return Err(fail(r, None, ErrorReason::InvalidFrame));
    };
    let Some(Json::Object(data)) = member(&members, "data") else {
        return Err(fail(r, None, ErrorReason::InvalidFrame));
    };

    // STD1-WIRE-13: a known event name.
    let name =
        EventName::from_wire(event_name).ok_or_else(|| fail(r, None, ErrorReason::UnknownEvent))?;

    // STD1-WIRE-14: the payload.
    let event = decode_payload(name, data).map_err(|reason| fail(r, Some(name), reason))?;
    Ok(ClientFrame { reference, event })
}

fn member<'a>(members: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
    members.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Field access over one `data` object, applying STD1-WIRE-14's rules.
struct Payload<'a>(&'a [(String, Json)]);

impl<'a> Payload<'a> {
    /// Refuses members the event does not define.
    fn only(members: &'a [(String, Json)], allowed: &[&str]) -> Result<Self, ErrorReason> {
        if members
            .iter()
            .all(|(name, _)| allowed.contains(&name.as_str()))
        {
            Ok(Self(members))
        } else {
            Err(ErrorReason::InvalidPayload)
        }
    }

    /// A required string member.
    fn text(&self, name: &str) -> Result<&'a str, ErrorReason> {
        match member(self.0, name) {
            Some(Json::String(s)) => Ok(s),
            _ => Err(ErrorReason::InvalidPayload),
        }
    }

    /// An optional string member: absent is `None`, present must be a string.
    fn optional_text(&self, name: &str) -> Result<Option<&'a str>, ErrorReason> {
        match member(self.0, name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(_) => Err(ErrorReason::InvalidPayload),
        }
    }

    /// A required member that is a string or `null`.
    fn nullable_text(&self, name: &str) -> Result<Option<&'a str>, ErrorReason> {
        match member(self.0, name) {
            Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            _ => Err(ErrorReason::InvalidPayload),
        }
    }

    /// A required member parsed by its type's strict syntax.
    fn parsed<T: FromStr>(&self, name: &str, bad: ErrorReason) -> Result<T, ErrorReason> {
        self.text(name)?.parse().map_err(|_| bad)
    }

    /// An optional member parsed by its type's strict syntax.
    fn optional_parsed<T: FromStr>(
        &self,
        name: &str,
        bad: ErrorReason,
    ) -> Result<Option<T>, ErrorReason> {
        self.optional_text(name)?
            .map(|s| s.parse().map_err(|_| bad))
            .transpose()
    }

    fn ciphertext(&self) -> Result<Ciphertext, ErrorReason> {
        Ciphertext::from_base64(self.text("ciphertext")?)
    }

    fn iv(&self) -> Result<Iv, ErrorReason> {
        Iv::from_base64(self.text("iv")?)
    }
}

/// Decodes `data` for one event; fields are checked in the order the
/// event's table in the spec lists them.
fn decode_payload(name: EventName, data: &[(String, Json)]) -> Result<ClientEvent, ErrorReason> {
    use ErrorReason::{
        InvalidAccess, InvalidMessageId, InvalidPairing, InvalidPayload, InvalidRoom, InvalidSender,
    };
    Ok(match name {
        EventName::Create => {
            let p = Payload::only(
                data,
                &[
                    "room_hash",
                    "access_hash",
                    "sender_hash",
                    "pairing_hash",
                    "country_iso",
                ],
            )?;
            ClientEvent::Create(CreateRoom {
                room_hash: p.parsed::<RoomHash>("room_hash", InvalidRoom)?,
                access_hash: p.parsed::<AccessHash>("access_hash", InvalidAccess)?,
                sender_hash: p.parsed::<SenderHash>("sender_hash", InvalidSender)?,
                pairing_hash: p.parsed::<PairingHash>("pairing_hash", InvalidPairing)?,
                country_iso: p.optional_parsed::<CountryCode>("country_iso", InvalidPayload)?,
            })
        }
        EventName::Join => {
            let p = Payload::only(
                data,
                &["room_hash", "access_hash", "sender_hash", "pairing_hash"],
            )?;
            ClientEvent::Join(JoinRoom {
                room_hash: p.parsed::<RoomHash>("room_hash", InvalidRoom)?,
                access_hash: p.parsed::<AccessHash>("access_hash", InvalidAccess)?,
                sender_hash: p.parsed::<SenderHash>("sender_hash", InvalidSender)?,
                pairing_hash: p.optional_parsed::<PairingHash>("pairing_hash", InvalidPairing)?,
            })
        }
        EventName::SendMessage => {
            let p = Payload::only(data, &["ciphertext", "iv", "replaces"])?;
            ClientEvent::SendMessage(SendMessage {
                ciphertext: p.ciphertext()?,
                iv: p.iv()?,
                replaces: p
                    .nullable_text("replaces")?
                    .map(|s| s.parse::<MessageId>().map_err(|_| InvalidMessageId))
                    .transpose()?,
            })
        }
        EventName::ReadReceipt => {
            let p = Payload::only(data, &["message_id"])?;
            ClientEvent::ReadReceipt(ReadReceipt {
                message_id: p.parsed("message_id", InvalidMessageId)?,
            })
        }
        EventName::EditMessage => {
            let p = Payload::only(data, &["message_id", "ciphertext", "iv"])?;
            ClientEvent::EditMessage(EditMessage {
                message_id: p.parsed("message_id", InvalidMessageId)?,
                ciphertext: p.ciphertext()?,
                iv: p.iv()?,
            })
        }
        EventName::DeleteMessage => {
            let p = Payload::only(data, &["message_id"])?;
            ClientEvent::DeleteMessage(DeleteMessage {
                message_id: p.parsed("message_id", InvalidMessageId)?,
            })
        }
        EventName::Typing => {
            Payload::only(data, &[])?;
            ClientEvent::Typing
        }
        EventName::ExpireRoom => {
            Payload::only(data, &[])?;
            ClientEvent::ExpireRoom
        }
        EventName::ResetPairing => {
            let p = Payload::only(data, &["pairing_hash"])?;
            ClientEvent::ResetPairing(ResetPairing {
                pairing_hash: p.parsed("pairing_hash", InvalidPairing)?,
            })
        }
        EventName::ReopenPairing => {
            let p = Payload::only(data, &["pairing_hash"])?;
            ClientEvent::ReopenPairing(ReopenPairing {
                pairing_hash: p.parsed("pairing_hash", InvalidPairing)?,
            })
        }
    })
}
