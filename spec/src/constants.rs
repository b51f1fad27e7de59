//! Protocol constants of sTELgano-std-1.
//!
//! Every value here is normative: changing one changes the protocol, and the
//! requirement that fixes it is cited beside it. The salts keep upstream's
//! spelling ("stelegano", with an extra `e`) because the derivations must stay
//! byte-compatible with rooms created by the published std-1 clients.

use std::time::Duration;

/// Salt of `room_hash` (STD1-DRV-4).
pub const ROOM_SALT: &str = "stelegano-room-v1-2026";
/// Salt of `access_hash` (STD1-DRV-5).
pub const ACCESS_SALT: &str = "stelegano-access-v1-2026";
/// Salt of `sender_hash` (STD1-DRV-6).
pub const SENDER_SALT: &str = "stelegano-sender-v1-2026";
/// Suffix of the PBKDF2 salt of the message key (STD1-DRV-7).
pub const ENC_SALT: &str = "stelegano-enc-v1-2026";

/// PBKDF2-HMAC-SHA-256 iteration count of the message key (STD1-DRV-7).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Length of the message key in bytes (AES-256) (STD1-DRV-7).
pub const ENC_KEY_BYTES: usize = 32;

/// AES-GCM initialisation vector length in bytes (STD1-ENC-2).
pub const IV_BYTES: usize = 12;
/// AES-GCM authentication tag length in bytes (STD1-ENC-3).
pub const TAG_BYTES: usize = 16;
/// Largest decoded ciphertext (including the tag) a server accepts (STD1-ENC-5).
pub const MAX_CIPHERTEXT_BYTES: usize = 8192;
/// Smallest decoded ciphertext: a tag over an empty plaintext (STD1-ENC-5).
pub const MIN_CIPHERTEXT_BYTES: usize = TAG_BYTES;
/// Largest plaintext, in UTF-8 bytes, a client may encrypt (STD1-ENC-6).
pub const MAX_PLAINTEXT_BYTES: usize = MAX_CIPHERTEXT_BYTES - TAG_BYTES;

/// Shortest normalised steg number, in digits (STD1-DRV-2).
pub const MIN_PHONE_DIGITS: usize = 7;
/// Longest normalised steg number, in digits (E.164 maximum) (STD1-DRV-2).
pub const MAX_PHONE_DIGITS: usize = 15;
/// Shortest normalised PIN, in Unicode scalar values (STD1-DRV-3).
pub const MIN_PIN_CHARS: usize = 4;
/// Longest normalised PIN, in Unicode scalar values (STD1-DRV-3).
pub const MAX_PIN_CHARS: usize = 64;

/// The 32 symbols of pairing codes: Crockford base32 (STD1-JOIN-10).
pub const PAIRING_ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a pairing code (40 bits of entropy) (STD1-JOIN-10).
pub const PAIRING_CODE_LEN: usize = 8;

/// Path of the one WebSocket endpoint (STD1-WIRE-1).
pub const WS_PATH: &str = "/ws";
/// WebSocket subprotocol a client may offer (STD1-WIRE-2).
pub const WS_SUBPROTOCOL: &str = "stelgano.std-1";
/// Largest text frame a server accepts, in bytes (STD1-WIRE-4).
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// Longest `ref` a client may send, in characters (STD1-WIRE-9).
pub const MAX_REF_CHARS: usize = 64;

/// Failures that lock a room: the default, and the most a server may be
/// configured with (STD1-JOIN-18).
pub const LOCKOUT_ATTEMPTS: u32 = 10;
/// How long a lock lasts: the default, and the least a production
/// deployment may configure (STD1-JOIN-18).
pub const LOCKOUT_DURATION: Duration = Duration::from_secs(30 * 60);
/// Default join/create time floor (STD1-JOIN-21).
pub const DEFAULT_JOIN_TIME_FLOOR: Duration = Duration::from_millis(500);
/// Lowest join/create time floor a production deployment may use (STD1-JOIN-21).
pub const MIN_PRODUCTION_JOIN_TIME_FLOOR: Duration = Duration::from_millis(100);

/// Default lifetime of a room from its creation (STD1-LIFE-1).
pub const DEFAULT_ROOM_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Longest lifetime a server may give a room (STD1-LIFE-1).
pub const MAX_ROOM_TTL: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Latest a server may finish deleting a room after its TTL passed (STD1-LIFE-4).
pub const MAX_EXPIRY_LAG: Duration = Duration::from_secs(60);

/// Interval at which a server pings an idle connection (STD1-WIRE-24).
pub const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Silence after which a server may close a connection (STD1-WIRE-24).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Time a connection has to join or create before a server may close it (STD1-WIRE-25).
pub const JOIN_DEADLINE: Duration = Duration::from_secs(60);

/// Minimum spacing of `typing` events a client sends (STD1-MSG-17).
pub const TYPING_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How long a typing indicator stays visible without a new event (STD1-MSG-18).
pub const TYPING_DISPLAY: Duration = Duration::from_secs(3);
/// Continuous visibility before a client sends a read receipt (STD1-CLI-19).
pub const READ_RECEIPT_DWELL: Duration = Duration::from_millis(500);
/// Fraction of the message bubble that must be visible (STD1-CLI-19).
pub const READ_RECEIPT_VISIBILITY: f64 = 0.8;
/// Inactivity after which a client locks itself (STD1-CLI-10).
pub const AUTO_LOCK_AFTER: Duration = Duration::from_secs(5 * 60);
/// Local unlock attempts before a client erases its session (STD1-CLI-11).
pub const LOCAL_UNLOCK_ATTEMPTS: u32 = 5;
/// Remaining lifetime below which a client warns of expiry (STD1-CLI-21).
pub const TTL_WARNING: Duration = Duration::from_secs(24 * 60 * 60);
