//! The strict base64 of the binary fields (STD1-WIRE-18) and the size
//! rules on decoded bytes (STD1-ENC-2, STD1-ENC-5).
//!
//! Properties: encoding then decoding any bytes gives them back; text is
//! accepted exactly when the oracle written from RFC 4648 §4 and the spec
//! accepts it (padding required, no whitespace, zero unused bits), and
//! then re-encodes to itself, so every byte string has one encoding;
//! `ciphertext` and `iv` give `invalid_encoding` before any size reason.

#![no_main]

#[allow(dead_code)]
#[path = "../../tests/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use stelgano_spec::ErrorReason;
use stelgano_spec::b64;
use stelgano_spec::wire::{Ciphertext, Iv};
use support::syntax;

fuzz_target!(|data: &[u8]| {
    let text = b64::encode(data);
    assert_eq!(b64::decode(&text).as_deref(), Some(data), "{text}");
    assert_eq!(syntax::base64(&text).as_deref(), Some(data), "{text}");

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = b64::decode(text);
    assert_eq!(decoded, syntax::base64(text), "{text:?}");
    if let Some(bytes) = &decoded {
        assert_eq!(b64::encode(bytes), text);
    }
    let ct = Ciphertext::from_base64(text).map(|c| c.as_bytes().len());
    let iv = Iv::from_base64(text).map(|v| v.as_bytes().len());
    match decoded.map(|b| b.len()) {
        None => {
            assert_eq!(ct, Err(ErrorReason::InvalidEncoding), "{text:?}");
            assert_eq!(iv, Err(ErrorReason::InvalidEncoding), "{text:?}");
        }
        Some(n) => {
            let want_ct = match n {
                0..16 => Err(ErrorReason::InvalidCiphertext),
                16..=8192 => Ok(n),
                _ => Err(ErrorReason::MessageTooLarge),
            };
            assert_eq!(ct, want_ct, "{text:?}");
            let want_iv = if n == 12 {
                Ok(12)
            } else {
                Err(ErrorReason::InvalidIv)
            };
            assert_eq!(iv, want_iv, "{text:?}");
        }
    }
});
