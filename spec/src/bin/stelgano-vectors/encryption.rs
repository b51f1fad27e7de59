//! `encryption.json`: AES-256-GCM with fixed IVs, and tampered inputs that
//! must fail (STD1-ENC-1 to STD1-ENC-6).

use serde_json::{Value, json};

use stelgano_spec::b64;
use stelgano_spec::constants::{MAX_PLAINTEXT_BYTES, TAG_BYTES};
use stelgano_spec::crypto::{CryptoError, Sealed, open, seal_with_iv};
use stelgano_spec::derive::{EncKey, Phone, enc_key};

fn upstream_key() -> EncKey {
    let phone = Phone::parse("15550123456").expect("valid vector number");
    enc_key(
        &phone,
        &"00000000-0000-0000-0000-000000000000"
            .parse()
            .expect("valid vector uuid"),
    )
}

fn counting_iv(start: u8) -> [u8; 12] {
    core::array::from_fn(|i| start.wrapping_add(i as u8))
}

/// (comment, plaintext, IV, flags)
fn valid_cases() -> Vec<(&'static str, String, [u8; 12], &'static [&'static str])> {
    vec![
        (
            "upstream compatibility vector",
            "hello".into(),
            counting_iv(0),
            &["upstream"],
        ),
        (
            "empty plaintext: the ciphertext is the tag alone",
            String::new(),
            counting_iv(0x10),
            &["empty"],
        ),
        (
            "multi-script UTF-8",
            "Habari! \u{645}\u{631}\u{62D}\u{628}\u{627} \u{4F60}\u{597D} \u{1F44B} na\u{EF}ve"
                .into(),
            counting_iv(0x20),
            &["unicode"],
        ),
        (
            "4000 ASCII characters (the UI cap)",
            "a".repeat(4000),
            counting_iv(0x30),
            &["size"],
        ),
        (
            "largest plaintext: 8176 UTF-8 bytes, giving an 8192-byte ciphertext",
            "\u{E9}".repeat(MAX_PLAINTEXT_BYTES / 2),
            counting_iv(0x40),
            &["size", "max"],
        ),
        (
            "newlines and quotes survive",
            "line one\nline \"two\"\r\n\ttabbed".into(),
            counting_iv(0x50),
            &["unicode"],
        ),
    ]
}

pub(super) fn file() -> Value {
    let key = upstream_key();
    let mut tests = Vec::new();
    for (comment, plaintext, iv, flags) in valid_cases() {
        let sealed =
            seal_with_iv(&key, iv, &plaintext).unwrap_or_else(|e| panic!("{comment}: {e}"));
        assert_eq!(
            sealed.ciphertext.len(),
            plaintext.len() + TAG_BYTES,
            "{comment}"
        );
        assert_eq!(
            open(&key, &sealed).as_deref(),
            Ok(plaintext.as_str()),
            "{comment}"
        );
        tests.push(json!({
            "comment": comment,
            "flags": flags,
            "key": hex::encode(key.as_bytes()),
            "iv": b64::encode(&iv),
            "plaintext": plaintext,
            "ciphertext": b64::encode(&sealed.ciphertext),
            "result": "valid",
        }));
    }

    // Every altered input must fail authentication (STD1-ENC-4).
    let original = seal_with_iv(&key, counting_iv(0), "hello").expect("vector encrypts");
    let tag_at = original.ciphertext.len() - TAG_BYTES;
    let mut flip_ct = original.clone();
    flip_ct.ciphertext[0] ^= 0x01;
    let mut flip_tag = original.clone();
    flip_tag.ciphertext[tag_at] ^= 0x80;
    let mut flip_iv = original.clone();
    flip_iv.iv[11] ^= 0x01;
    let mut truncated = original.clone();
    truncated.ciphertext.pop();
    let mut extended = original.clone();
    extended.ciphertext.push(0);
    let tag_only = Sealed {
        iv: original.iv,
        ciphertext: original.ciphertext[tag_at..].to_vec(),
    };
    let other_key = EncKey::from_bytes(core::array::from_fn(|i| i as u8));
    let invalid: Vec<(&str, &EncKey, Sealed, &[&str])> = vec![
        (
            "first ciphertext bit flipped",
            &key,
            flip_ct,
            &["ModifiedCiphertext"],
        ),
        ("tag bit flipped", &key, flip_tag, &["ModifiedTag"]),
        ("IV bit flipped", &key, flip_iv, &["ModifiedIv"]),
        ("last tag byte removed", &key, truncated, &["Truncated"]),
        ("a byte appended", &key, extended, &["Extended"]),
        (
            "ciphertext of 'hello' cut to its last 16 bytes",
            &key,
            tag_only,
            &["Truncated"],
        ),
        (
            "right ciphertext, wrong key",
            &other_key,
            original,
            &["WrongKey"],
        ),
    ];
    for (comment, k, sealed, flags) in invalid {
        assert_eq!(
            open(k, &sealed),
            Err(CryptoError::Authentication),
            "{comment}"
        );
        tests.push(json!({
            "comment": comment,
            "flags": flags,
            "key": hex::encode(k.as_bytes()),
            "iv": b64::encode(&sealed.iv),
            "plaintext": Value::Null,
            "ciphertext": b64::encode(&sealed.ciphertext),
            "result": "invalid",
        }));
    }
    for (i, test) in tests.iter_mut().enumerate() {
        if let Value::Object(map) = test {
            map.insert("tcId".into(), (i + 1).into());
        }
    }

    let mut map = super::header(
        "AES-256-GCM message encryption",
        "encryption.schema.json",
        &[
            "STD1-ENC-1",
            "STD1-ENC-2",
            "STD1-ENC-3",
            "STD1-ENC-4",
            "STD1-ENC-5",
            "STD1-ENC-6",
            "STD1-WIRE-18",
        ],
        "key is hex; iv and ciphertext (GCM ciphertext with the 16-byte tag appended) are canonical base64; \
         no associated data. valid: encrypting plaintext under key and iv gives ciphertext, and decrypting \
         gives plaintext back. invalid: decryption must fail. Fixed IVs are for vectors only: clients draw \
         a fresh random IV for every message.",
    );
    map.insert("numberOfTests".into(), tests.len().into());
    map.insert("tests".into(), tests.into());
    Value::Object(map)
}
