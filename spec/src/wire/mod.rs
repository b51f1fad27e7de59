//! The wire protocol: frame types, the strict client-frame decoder and the
//! encodings of every field (STD1-WIRE-*).

mod binary;
mod client;
mod decode;
mod json;
mod server;
mod timestamp;

pub use binary::{Ciphertext, Iv};
pub use client::{
    ClientEvent, ClientFrame, CreateRoom, DeleteMessage, EditMessage, EventName, JoinRoom,
    ReadReceipt, ReopenPairing, ResetPairing, SendMessage,
};
pub use decode::{DecodeError, decode_client_frame};
pub use server::{
    Broadcast, Done, ErrorBody, ErrorReply, ExpiryCause, Joined, Message, OkReply, ReplyBody, Sent,
    ServerFrame,
};
pub use timestamp::Timestamp;

/// The WebSocket close codes a server uses, and no others (STD1-WIRE-5).
pub mod close_code {
    /// The room expired; the session is over (reason `room_expired`, STD1-LIFE-7).
    pub const ROOM_EXPIRED: u16 = 1000;
    /// The close reason sent with [`ROOM_EXPIRED`].
    pub const ROOM_EXPIRED_REASON: &str = "room_expired";
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The client sent a binary frame.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A text frame was not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Idle, join deadline passed, displaced by a newer session of the
    /// same record, or the record was replaced (STD1-WIRE-24,
    /// STD1-WIRE-25, STD1-JOIN-9, STD1-JOIN-25).
    pub const POLICY: u16 = 1008;
    /// The close reason sent with [`POLICY`] to the sessions of a record
    /// that a claim replaced (STD1-JOIN-25); a client never rejoins with
    /// the same PIN after it (STD1-CLI-36).
    pub const RECORD_REPLACED_REASON: &str = "record_replaced";
    /// A frame exceeded the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed.
    pub const INTERNAL_ERROR: u16 = 1011;
}
