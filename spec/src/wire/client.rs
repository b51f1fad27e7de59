//! Client-to-server frames: `{"event": …, "ref": …, "data": {…}}` (STD1-WIRE-7).

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::binary::{Ciphertext, Iv};
use crate::ids::{AccessHash, CountryCode, MessageId, PairingHash, Ref, RoomHash, SenderHash};

/// `create`: make a room and take its first slot (STD1-JOIN-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CreateRoom {
    pub room_hash: RoomHash,
    pub access_hash: AccessHash,
    pub sender_hash: SenderHash,
    pub pairing_hash: PairingHash,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_iso: Option<CountryCode>,
}

/// `join`: enter an existing room (STD1-JOIN-5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct JoinRoom {
    pub room_hash: RoomHash,
    pub access_hash: AccessHash,
    pub sender_hash: SenderHash,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairing_hash: Option<PairingHash>,
}

/// `send_message`: store a message, replacing the current one (STD1-MSG-2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SendMessage {
    pub ciphertext: Ciphertext,
    pub iv: Iv,
    /// The id of the message this reply answers, `null` for an empty room (STD1-MSG-6).
    pub replaces: Option<MessageId>,
}

/// `read_receipt`: mark the other party's current message read (STD1-MSG-9).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReadReceipt {
    pub message_id: MessageId,
}

/// `edit_message`: replace one's own unread message's content (STD1-MSG-12).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EditMessage {
    pub message_id: MessageId,
    pub ciphertext: Ciphertext,
    pub iv: Iv,
}

/// `delete_message`: remove one's own unread message (STD1-MSG-14).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DeleteMessage {
    pub message_id: MessageId,
}

/// `reset_pairing`: replace the pairing code of an unpaired room (STD1-JOIN-17).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ResetPairing {
    pub pairing_hash: PairingHash,
}

/// `reopen_pairing`: give the other party's slot a new pairing code, for a
/// new PIN (STD1-JOIN-24).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReopenPairing {
    pub pairing_hash: PairingHash,
}

/// An empty `data` object.
#[derive(Serialize)]
struct Empty {}

/// Every client event with its payload (STD1-WIRE-13).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientEvent {
    Create(CreateRoom),
    Join(JoinRoom),
    SendMessage(SendMessage),
    ReadReceipt(ReadReceipt),
    EditMessage(EditMessage),
    DeleteMessage(DeleteMessage),
    Typing,
    ExpireRoom,
    ResetPairing(ResetPairing),
    ReopenPairing(ReopenPairing),
}

/// The name of a client event, without its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventName {
    Create,
    Join,
    SendMessage,
    ReadReceipt,
    EditMessage,
    DeleteMessage,
    Typing,
    ExpireRoom,
    ResetPairing,
    ReopenPairing,
}

impl EventName {
    /// All client events, in catalogue order.
    pub const ALL: [EventName; 10] = [
        Self::Create,
        Self::Join,
        Self::SendMessage,
        Self::ReadReceipt,
        Self::EditMessage,
        Self::DeleteMessage,
        Self::Typing,
        Self::ExpireRoom,
        Self::ResetPairing,
        Self::ReopenPairing,
    ];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Join => "join",
            Self::SendMessage => "send_message",
            Self::ReadReceipt => "read_receipt",
            Self::EditMessage => "edit_message",
            Self::DeleteMessage => "delete_message",
            Self::Typing => "typing",
            Self::ExpireRoom => "expire_room",
            Self::ResetPairing => "reset_pairing",
            Self::ReopenPairing => "reopen_pairing",
        }
    }

    /// Looks up a wire spelling.
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// Whether the event opens a session and is subject to the time floor
    /// (STD1-JOIN-21).
    pub const fn opens_session(self) -> bool {
        matches!(self, Self::Create | Self::Join)
    }
}

impl ClientEvent {
    /// The event's name.
    pub const fn name(&self) -> EventName {
        match self {
            Self::Create(_) => EventName::Create,
            Self::Join(_) => EventName::Join,
            Self::SendMessage(_) => EventName::SendMessage,
            Self::ReadReceipt(_) => EventName::ReadReceipt,
            Self::EditMessage(_) => EventName::EditMessage,
            Self::DeleteMessage(_) => EventName::DeleteMessage,
            Self::Typing => EventName::Typing,
            Self::ExpireRoom => EventName::ExpireRoom,
            Self::ResetPairing(_) => EventName::ResetPairing,
            Self::ReopenPairing(_) => EventName::ReopenPairing,
        }
    }
}

/// One client frame: an event, its payload and the request reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientFrame {
    pub reference: Ref,
    pub event: ClientEvent,
}

impl ClientFrame {
    /// The canonical JSON text of the frame: members in the order `event`,
    /// `ref`, `data`, no insignificant whitespace.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames hold only strings, null and objects")
    }
}

impl Serialize for ClientFrame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut frame = s.serialize_struct("ClientFrame", 3)?;
        frame.serialize_field("event", self.event.name().as_str())?;
        frame.serialize_field("ref", &self.reference)?;
        match &self.event {
            ClientEvent::Create(d) => frame.serialize_field("data", d)?,
            ClientEvent::Join(d) => frame.serialize_field("data", d)?,
            ClientEvent::SendMessage(d) => frame.serialize_field("data", d)?,
            ClientEvent::ReadReceipt(d) => frame.serialize_field("data", d)?,
            ClientEvent::EditMessage(d) => frame.serialize_field("data", d)?,
            ClientEvent::DeleteMessage(d) => frame.serialize_field("data", d)?,
            ClientEvent::Typing | ClientEvent::ExpireRoom => {
                frame.serialize_field("data", &Empty {})?
            }
            ClientEvent::ResetPairing(d) => frame.serialize_field("data", d)?,
            ClientEvent::ReopenPairing(d) => frame.serialize_field("data", d)?,
        }
        frame.end()
    }
}
