//! The two binary fields of a message, validated on their decoded bytes
//! (STD1-ENC-5, STD1-WIRE-18).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::b64;
use crate::constants::{IV_BYTES, MAX_CIPHERTEXT_BYTES, MIN_CIPHERTEXT_BYTES};
use crate::crypto::Sealed;
use crate::reason::ErrorReason;

/// AES-GCM ciphertext with its tag: 16 to 8192 decoded bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Ciphertext(Vec<u8>);

/// A 12-byte AES-GCM initialisation vector.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Iv([u8; IV_BYTES]);

impl Ciphertext {
    /// Checks the decoded length (STD1-ENC-5).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ErrorReason> {
        if bytes.len() > MAX_CIPHERTEXT_BYTES {
            Err(ErrorReason::MessageTooLarge)
        } else if bytes.len() < MIN_CIPHERTEXT_BYTES {
            Err(ErrorReason::InvalidCiphertext)
        } else {
            Ok(Self(bytes))
        }
    }

    /// Decodes and checks the wire form (STD1-WIRE-18, STD1-ENC-5).
    pub fn from_base64(text: &str) -> Result<Self, ErrorReason> {
        Self::from_bytes(b64::decode(text).ok_or(ErrorReason::InvalidEncoding)?)
    }

    /// The decoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The decoded bytes, by value (for storage).
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    /// The canonical wire form.
    pub fn to_base64(&self) -> String {
        b64::encode(&self.0)
    }
}

impl Iv {
    /// Wraps raw IV bytes.
    pub const fn from_array(bytes: [u8; IV_BYTES]) -> Self {
        Self(bytes)
    }

    /// Decodes and checks the wire form (STD1-WIRE-18, STD1-ENC-2).
    pub fn from_base64(text: &str) -> Result<Self, ErrorReason> {
        Self::try_from(
            b64::decode(text)
                .ok_or(ErrorReason::InvalidEncoding)?
                .as_slice(),
        )
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; IV_BYTES] {
        &self.0
    }

    /// The canonical wire form.
    pub fn to_base64(&self) -> String {
        b64::encode(&self.0)
    }
}

/// From bytes read back from storage: exactly 12 (STD1-ENC-2).
impl TryFrom<&[u8]> for Iv {
    type Error = ErrorReason;
    fn try_from(bytes: &[u8]) -> Result<Self, ErrorReason> {
        <[u8; IV_BYTES]>::try_from(bytes)
            .map(Self)
            .map_err(|_| ErrorReason::InvalidIv)
    }
}

/// Debug shows sizes only: ciphertext is never logged (STD1-SRV-16).
impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ciphertext({} bytes)", self.0.len())
    }
}

impl std::fmt::Debug for Iv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Iv(<redacted>)")
    }
}

impl TryFrom<Sealed> for (Ciphertext, Iv) {
    type Error = ErrorReason;
    fn try_from(sealed: Sealed) -> Result<Self, ErrorReason> {
        Ok((Ciphertext::from_bytes(sealed.ciphertext)?, Iv(sealed.iv)))
    }
}

impl From<(&Ciphertext, &Iv)> for Sealed {
    fn from((ct, iv): (&Ciphertext, &Iv)) -> Self {
        Sealed {
            iv: iv.0,
            ciphertext: ct.0.clone(),
        }
    }
}

macro_rules! base64_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_base64())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_base64(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

base64_serde!(Ciphertext);
base64_serde!(Iv);
