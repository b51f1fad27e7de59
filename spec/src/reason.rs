//! The complete catalogue of error reasons (STD1-WIRE-27).
//!
//! A reason is a stable machine-readable string. Clients branch on it,
//! conformance checks compare it, and it never carries user data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every error reason a std-1 server may send, in catalogue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorReason {
    // Framing (STD1-WIRE-10 to STD1-WIRE-13).
    InvalidFrame,
    UnknownEvent,
    InvalidPayload,
    // Field syntax (STD1-WIRE-14).
    InvalidRoom,
    InvalidAccess,
    InvalidSender,
    InvalidPairing,
    InvalidMessageId,
    InvalidEncoding,
    InvalidIv,
    InvalidCiphertext,
    MessageTooLarge,
    // Session state (STD1-WIRE-21).
    NotJoined,
    AlreadyJoined,
    RoomExpired,
    // Rooms and access (STD1-JOIN-*).
    NotFound,
    RoomExists,
    Unauthorized,
    Locked,
    PairingInvalid,
    SenderMismatch,
    AlreadyPaired,
    // Messages (STD1-MSG-*).
    NotYourTurn,
    Conflict,
    NotAuthor,
    OwnMessage,
    AlreadyRead,
    NotEditable,
    NotDeletable,
    // Server conditions.
    RateLimited,
    InternalError,
}

/// Extra members an error object carries besides `reason` (STD1-WIRE-28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorDetail {
    /// No other member.
    None,
    /// `attempts_remaining`: failures left before the lock (≥ 1).
    AttemptsRemaining,
    /// `retry_after`: whole seconds, rounded up, until a retry can succeed.
    RetryAfter,
}

impl ErrorReason {
    /// All reasons, in catalogue order.
    pub const ALL: [ErrorReason; 31] = [
        Self::InvalidFrame,
        Self::UnknownEvent,
        Self::InvalidPayload,
        Self::InvalidRoom,
        Self::InvalidAccess,
        Self::InvalidSender,
        Self::InvalidPairing,
        Self::InvalidMessageId,
        Self::InvalidEncoding,
        Self::InvalidIv,
        Self::InvalidCiphertext,
        Self::MessageTooLarge,
        Self::NotJoined,
        Self::AlreadyJoined,
        Self::RoomExpired,
        Self::NotFound,
        Self::RoomExists,
        Self::Unauthorized,
        Self::Locked,
        Self::PairingInvalid,
        Self::SenderMismatch,
        Self::AlreadyPaired,
        Self::NotYourTurn,
        Self::Conflict,
        Self::NotAuthor,
        Self::OwnMessage,
        Self::AlreadyRead,
        Self::NotEditable,
        Self::NotDeletable,
        Self::RateLimited,
        Self::InternalError,
    ];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFrame => "invalid_frame",
            Self::UnknownEvent => "unknown_event",
            Self::InvalidPayload => "invalid_payload",
            Self::InvalidRoom => "invalid_room",
            Self::InvalidAccess => "invalid_access",
            Self::InvalidSender => "invalid_sender",
            Self::InvalidPairing => "invalid_pairing",
            Self::InvalidMessageId => "invalid_message_id",
            Self::InvalidEncoding => "invalid_encoding",
            Self::InvalidIv => "invalid_iv",
            Self::InvalidCiphertext => "invalid_ciphertext",
            Self::MessageTooLarge => "message_too_large",
            Self::NotJoined => "not_joined",
            Self::AlreadyJoined => "already_joined",
            Self::RoomExpired => "room_expired",
            Self::NotFound => "not_found",
            Self::RoomExists => "room_exists",
            Self::Unauthorized => "unauthorized",
            Self::Locked => "locked",
            Self::PairingInvalid => "pairing_invalid",
            Self::SenderMismatch => "sender_mismatch",
            Self::AlreadyPaired => "already_paired",
            Self::NotYourTurn => "not_your_turn",
            Self::Conflict => "conflict",
            Self::NotAuthor => "not_author",
            Self::OwnMessage => "own_message",
            Self::AlreadyRead => "already_read",
            Self::NotEditable => "not_editable",
            Self::NotDeletable => "not_deletable",
            Self::RateLimited => "rate_limited",
            Self::InternalError => "internal_error",
        }
    }

    /// Which extra member accompanies this reason (STD1-WIRE-28).
    pub const fn detail(self) -> ErrorDetail {
        match self {
            Self::Unauthorized | Self::PairingInvalid => ErrorDetail::AttemptsRemaining,
            Self::Locked | Self::RateLimited => ErrorDetail::RetryAfter,
            _ => ErrorDetail::None,
        }
    }

    /// Whether a request answered with this reason may have changed room
    /// state (STD1-WIRE-23): `unauthorized` and `pairing_invalid` counted a
    /// failure, a `locked` answer may be the one whose failure set the lock,
    /// and `internal_error` leaves the outcome unknown. Every other error
    /// changes nothing, apart from the deletion of an expired room that any
    /// request may trigger (STD1-LIFE-4).
    pub const fn may_change_state(self) -> bool {
        matches!(
            self,
            Self::Unauthorized | Self::PairingInvalid | Self::Locked | Self::InternalError
        )
    }
}

impl fmt::Display for ErrorReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a reason of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error reason")]
pub struct UnknownReason;

impl FromStr for ErrorReason {
    type Err = UnknownReason;
    fn from_str(s: &str) -> Result<Self, UnknownReason> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownReason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_round_trips_and_matches_serde() {
        // STD1-WIRE-27
        for reason in ErrorReason::ALL {
            assert_eq!(reason.as_str().parse(), Ok(reason));
            let json = serde_json::to_string(&reason).expect("serialise");
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }

    #[test]
    fn catalogue_has_no_duplicates() {
        let mut names: Vec<_> = ErrorReason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorReason::ALL.len());
    }
}
