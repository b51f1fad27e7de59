//! Typed identifiers that travel on the wire.
//!
//! Each identifier is its own type so that an access hash can never be passed
//! where a sender hash is expected, and each parser accepts exactly one
//! spelling: the canonical one the spec fixes. Lenient parsing would let two
//! spellings of one value reach the server and compare unequal there.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value failed the strict syntax of its identifier type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical {0}")]
pub struct SyntaxError(pub &'static str);

/// Parses exactly 64 lowercase hexadecimal characters (STD1-WIRE-15).
fn parse_hex64(s: &str, what: &'static str) -> Result<[u8; 32], SyntaxError> {
    let canonical = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !canonical {
        return Err(SyntaxError(what));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| SyntaxError(what))?;
    Ok(out)
}

macro_rules! hex64_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Name used in error messages and vectors.
            pub const KIND: &'static str = $what;

            /// Wraps a SHA-256 output.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The 32 raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// The canonical 64-character lowercase hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Equality whose time does not depend on where the values
            /// differ, for comparing a client's guess with a stored value
            /// (STD1-SRV-4). `==` stops at the first differing byte.
            pub fn ct_eq(&self, other: &Self) -> bool {
                use ctutils::CtEq;
                self.0[..].ct_eq(&other.0[..]).to_bool()
            }
        }

        /// From 32 bytes read back from storage.
        impl TryFrom<&[u8]> for $name {
            type Error = SyntaxError;
            fn try_from(bytes: &[u8]) -> Result<Self, SyntaxError> {
                <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| SyntaxError($what))
            }
        }

        impl FromStr for $name {
            type Err = SyntaxError;
            fn from_str(s: &str) -> Result<Self, SyntaxError> {
                parse_hex64(s, $what).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        /// Debug is redacted: these values are credentials or linkable
        /// identifiers, and a stray `{:?}` must not put them in a log
        /// (STD1-SRV-16). Use `Display` where the value is really wanted.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex64_type!(
    /// `room_hash`: names a room; derived from the steg number alone (STD1-DRV-4).
    RoomHash,
    "room_hash"
);
hex64_type!(
    /// `access_hash`: a party's bearer credential for a room (STD1-DRV-5).
    AccessHash,
    "access_hash"
);
hex64_type!(
    /// `sender_hash`: a party's public author identity inside a room (STD1-DRV-6).
    SenderHash,
    "sender_hash"
);
hex64_type!(
    /// `pairing_hash`: SHA-256 of a canonical pairing code (STD1-JOIN-11).
    PairingHash,
    "pairing_hash"
);

/// Parses the canonical 36-character lowercase hyphenated UUID form (STD1-WIRE-16).
fn parse_uuid(s: &str, what: &'static str) -> Result<uuid::Uuid, SyntaxError> {
    let parsed = uuid::Uuid::try_parse(s).map_err(|_| SyntaxError(what))?;
    // `try_parse` also accepts upper case, braces and the simple form.
    let mut buf = uuid::Uuid::encode_buffer();
    if parsed.hyphenated().encode_lower(&mut buf) == s {
        Ok(parsed)
    } else {
        Err(SyntaxError(what))
    }
}

macro_rules! uuid_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// Name used in error messages and vectors.
            pub const KIND: &'static str = $what;

            /// A fresh random (version 4) identifier from the operating system's CSPRNG.
            pub fn random() -> Result<Self, getrandom::Error> {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes)?;
                Ok(Self::from_random_bytes(bytes))
            }

            /// A version 4 identifier from caller-supplied random bytes
            /// (version and variant bits are overwritten).
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }

            /// Wraps a UUID read back from storage.
            pub const fn from_uuid(u: uuid::Uuid) -> Self {
                Self(u)
            }
        }

        impl FromStr for $name {
            type Err = SyntaxError;
            fn from_str(s: &str) -> Result<Self, SyntaxError> {
                parse_uuid(s, $what).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        /// Debug is redacted: room and message ids link log lines to rooms
        /// (STD1-SRV-16). Use `Display` where the value is really wanted.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0.hyphenated())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_type!(
    /// `room_id`: the server-issued random identity of one room's lifetime;
    /// part of the key derivation salt (STD1-DRV-7, STD1-SRV-3).
    RoomId,
    "room_id"
);
uuid_type!(
    /// `message_id`: the server-issued identity of the stored message (STD1-MSG-4).
    MessageId,
    "message_id"
);

/// A client-chosen request reference, echoed in the reply (STD1-WIRE-9).
///
/// 1 to 64 printable ASCII characters (U+0021 to U+007E).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref(String);

/// Redacted: a ref is client-sent data, which is never logged (STD1-SRV-16).
impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ref(<redacted>)")
    }
}

impl Ref {
    /// The reference as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Ref {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        let ok = !s.is_empty()
            && s.len() <= crate::constants::MAX_REF_CHARS
            && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(SyntaxError("ref"))
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Ref {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// ISO 3166-1 alpha-2 code of the steg number's country (STD1-WIRE-17).
///
/// Two ASCII capital letters. Only used for aggregate counts; see STD1-SRV-10.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

/// Redacted: client-sent data is never logged (STD1-SRV-16).
impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CountryCode(<redacted>)")
    }
}

impl CountryCode {
    /// The two letters.
    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII capitals, so always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for CountryCode {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(Self([*a, *b])),
            _ => Err(SyntaxError("country_iso")),
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "183961933c251543088257984b33a7ce9dabc2be9b7a571bd93d727a920ff133";

    #[test]
    fn hex64_accepts_only_lowercase_64() {
        // STD1-WIRE-15
        assert_eq!(
            HEX.parse::<RoomHash>().map(|h| h.to_hex()).as_deref(),
            Ok(HEX)
        );
        assert!(HEX.to_uppercase().parse::<RoomHash>().is_err());
        assert!(HEX[..63].parse::<RoomHash>().is_err());
        assert!(format!("{HEX}0").parse::<RoomHash>().is_err());
        assert!(format!(" {}", &HEX[1..]).parse::<RoomHash>().is_err());
        assert!("g".repeat(64).parse::<AccessHash>().is_err());
    }

    #[test]
    fn constant_time_equality_agrees_with_equality() {
        // STD1-SRV-4: same answer as `==` wherever the values differ.
        let base = [0x5a_u8; 32];
        let a = AccessHash::from_bytes(base);
        assert!(a.ct_eq(&AccessHash::from_bytes(base)));
        for at in [0, 15, 31] {
            for flip in [0x01_u8, 0x80, 0xff] {
                let mut other = base;
                other[at] ^= flip;
                let b = AccessHash::from_bytes(other);
                assert!(!a.ct_eq(&b) && a != b, "byte {at} ^ {flip:#x}");
            }
        }
    }

    #[test]
    fn uuid_accepts_only_canonical_lowercase() {
        // STD1-WIRE-16
        let s = "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6";
        assert_eq!(
            s.parse::<MessageId>().map(|m| m.to_string()).as_deref(),
            Ok(s)
        );
        assert!(s.to_uppercase().parse::<MessageId>().is_err());
        assert!(s.replace('-', "").parse::<MessageId>().is_err());
        assert!(format!("{{{s}}}").parse::<MessageId>().is_err());
        assert!(format!("urn:uuid:{s}").parse::<MessageId>().is_err());
    }

    #[test]
    fn random_ids_are_version_4() {
        // STD1-SRV-3
        let id = RoomId::random().expect("OS randomness");
        assert_eq!(id.as_uuid().get_version_num(), 4);
        assert_ne!(id, RoomId::random().expect("OS randomness"));
    }

    #[test]
    fn ref_syntax() {
        // STD1-WIRE-9
        assert!("1".parse::<Ref>().is_ok());
        assert!("a".repeat(64).parse::<Ref>().is_ok());
        assert!("a".repeat(65).parse::<Ref>().is_err());
        assert!("".parse::<Ref>().is_err());
        assert!("a b".parse::<Ref>().is_err());
        assert!("caf\u{e9}".parse::<Ref>().is_err());
    }

    #[test]
    fn country_code_syntax() {
        // STD1-WIRE-17
        assert!("KE".parse::<CountryCode>().is_ok());
        assert!("ke".parse::<CountryCode>().is_err());
        assert!("KEN".parse::<CountryCode>().is_err());
        assert!("K".parse::<CountryCode>().is_err());
    }

    #[test]
    fn debug_never_prints_identifiers_or_client_data() {
        // STD1-SRV-16
        let h: AccessHash = HEX.parse().expect("valid");
        assert_eq!(format!("{h:?}"), "AccessHash(<redacted>)");
        let m: MessageId = "6f1c2a9e-3b4d-4c5e-8f70-91a2b3c4d5e6"
            .parse()
            .expect("valid");
        assert_eq!(format!("{m:?}"), "MessageId(<redacted>)");
        let r: Ref = "my-ref".parse().expect("valid");
        assert_eq!(format!("{r:?}"), "Ref(<redacted>)");
        let c: CountryCode = "KE".parse().expect("valid");
        assert_eq!(format!("{c:?}"), "CountryCode(<redacted>)");
    }

    #[test]
    fn hashes_read_back_from_32_bytes() {
        let h: RoomHash = HEX.parse().expect("valid");
        assert_eq!(RoomHash::try_from(h.as_bytes().as_slice()), Ok(h));
        assert!(RoomHash::try_from(&h.as_bytes()[..31]).is_err());
    }
}
