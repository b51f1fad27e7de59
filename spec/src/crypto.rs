//! Message encryption: AES-256-GCM with a fresh 96-bit IV (STD1-ENC-1 to STD1-ENC-4).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::constants::{IV_BYTES, MAX_PLAINTEXT_BYTES};
use crate::derive::EncKey;

/// Why a message could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the plaintext exceeds {MAX_PLAINTEXT_BYTES} UTF-8 bytes")]
    PlaintextTooLarge,
    #[error("the operating system's random number generator failed")]
    Randomness,
    #[error("authentication failed: wrong key, or the ciphertext, tag or IV was altered")]
    Authentication,
    #[error("the decrypted bytes are not UTF-8")]
    NotUtf8,
}

/// An encrypted message as it travels: the IV and the ciphertext with the
/// 16-byte tag appended (Web Crypto's layout) (STD1-ENC-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub iv: [u8; IV_BYTES],
    pub ciphertext: Vec<u8>,
}

fn cipher(key: &EncKey) -> Aes256Gcm {
    Aes256Gcm::new(key.as_bytes().into())
}

/// Encrypts with an explicit IV. Reusing an IV under one key destroys GCM's
/// security; only test vectors may call this with a fixed IV (STD1-ENC-2).
pub fn seal_with_iv(
    key: &EncKey,
    iv: [u8; IV_BYTES],
    plaintext: &str,
) -> Result<Sealed, CryptoError> {
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(CryptoError::PlaintextTooLarge);
    }
    let ciphertext = cipher(key)
        .encrypt(&Nonce::from(iv), plaintext.as_bytes())
        // Only reachable for plaintexts beyond GCM's 64 GiB bound.
        .map_err(|_| CryptoError::PlaintextTooLarge)?;
    Ok(Sealed { iv, ciphertext })
}

/// Encrypts a message under a fresh random IV (STD1-ENC-1, STD1-ENC-2).
pub fn seal(key: &EncKey, plaintext: &str) -> Result<Sealed, CryptoError> {
    let mut iv = [0u8; IV_BYTES];
    getrandom::fill(&mut iv).map_err(|_| CryptoError::Randomness)?;
    seal_with_iv(key, iv, plaintext)
}

/// Decrypts and authenticates a message (STD1-ENC-4).
pub fn open(key: &EncKey, sealed: &Sealed) -> Result<String, CryptoError> {
    let bytes = cipher(key)
        .decrypt(&Nonce::from(sealed.iv), sealed.ciphertext.as_slice())
        .map_err(|_| CryptoError::Authentication)?;
    String::from_utf8(bytes).map_err(|_| CryptoError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::{Phone, enc_key};

    fn upstream_key() -> EncKey {
        let phone = Phone::parse("15550123456").expect("valid");
        enc_key(
            &phone,
            &"00000000-0000-0000-0000-000000000000"
                .parse()
                .expect("uuid"),
        )
    }

    #[test]
    fn fixed_iv_vector_matches_upstream() {
        // STD1-ENC-1, STD1-ENC-3
        let iv: [u8; 12] = core::array::from_fn(|i| i as u8);
        let sealed = seal_with_iv(&upstream_key(), iv, "hello").expect("seal");
        assert_eq!(
            hex::encode(&sealed.ciphertext),
            "7608b980f1dab19d0a888d06d865fdaebf1b35eee1"
        );
        assert_eq!(
            crate::b64::encode(&sealed.ciphertext),
            "dgi5gPHasZ0KiI0G2GX9rr8bNe7h"
        );
        assert_eq!(open(&upstream_key(), &sealed).as_deref(), Ok("hello"));
    }

    #[test]
    fn fresh_iv_per_message() {
        // STD1-ENC-2
        let key = upstream_key();
        let a = seal(&key, "same").expect("seal");
        let b = seal(&key, "same").expect("seal");
        assert_ne!(a.iv, b.iv);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn plaintext_limit_is_in_bytes() {
        // STD1-ENC-6
        let key = upstream_key();
        let max = "\u{e9}".repeat(MAX_PLAINTEXT_BYTES / 2);
        let sealed = seal(&key, &max).expect("exactly at the limit");
        assert_eq!(
            sealed.ciphertext.len(),
            crate::constants::MAX_CIPHERTEXT_BYTES
        );
        assert_eq!(
            seal(&key, &format!("{max}x")),
            Err(CryptoError::PlaintextTooLarge)
        );
    }

    #[test]
    fn wrong_key_fails_authentication() {
        // STD1-ENC-4
        let sealed = seal(&upstream_key(), "hello").expect("seal");
        let other = EncKey::from_bytes([7; 32]);
        assert_eq!(open(&other, &sealed), Err(CryptoError::Authentication));
    }
}
