//! Known-answer tests of the two primitives std-1 builds on, against Google's
//! Wycheproof vectors and RFC 7914 §11:
//!
//! - AES-256-GCM with a 96-bit IV and a 128-bit tag (STD1-ENC-1), both through
//!   `aes_gcm` directly (with the vectors' AAD) and through this crate's
//!   `crypto::open` / `crypto::seal_with_iv` (which use no AAD) for the
//!   vectors whose AAD is empty (STD1-ENC-3, STD1-ENC-4);
//! - PBKDF2-HMAC-SHA-256 (STD1-DRV-7).
//!
//! Every test counts the cases it ran and passed, prints the counts (visible
//! with `cargo test -- --nocapture`) and asserts a minimum, so that a change
//! in the vector crate that filters everything out cannot pass silently.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use stelgano_spec::constants::{ENC_KEY_BYTES, IV_BYTES, TAG_BYTES};
use stelgano_spec::crypto::{CryptoError, Sealed, open, seal_with_iv};
use stelgano_spec::derive::EncKey;
use wycheproof::TestResult;

/// Number of AES-GCM vectors of wycheproof 0.7 with a 256-bit key, a 96-bit
/// IV and a 128-bit tag (39 valid, 27 invalid).
const MIN_AES_GCM_CASES: usize = 66;
/// Of those, the vectors with empty AAD (27 invalid, 21 valid of which 2 have
/// a UTF-8 plaintext).
const MIN_AES_GCM_NO_AAD_CASES: usize = 48;
/// Number of PBKDF2-HMAC-SHA-256 vectors of wycheproof 0.7 (all valid).
const MIN_PBKDF2_CASES: usize = 60;

/// Counts of one run over a vector set.
#[derive(Default)]
struct Tally {
    run: usize,
    passed: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, ok: bool, describe: impl FnOnce() -> String) {
        self.run += 1;
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(describe());
        }
    }

    fn report(&self, what: &str, minimum: usize) {
        println!("{what}: {} run, {} passed", self.run, self.passed);
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} failed:\n{}",
            self.failures.len(),
            self.run,
            self.failures.join("\n")
        );
        assert!(
            self.run >= minimum,
            "{what}: only {} cases ran, expected at least {minimum}",
            self.run
        );
    }
}

/// Every AES-GCM test of the std-1 parameter set: AES-256, 96-bit IV,
/// 128-bit tag (STD1-ENC-1).
fn aes_256_gcm_96_cases() -> Vec<wycheproof::aead::Test> {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm)
        .expect("the AES-GCM vectors load");
    set.test_groups
        .into_iter()
        .filter(|g| {
            g.key_size == ENC_KEY_BYTES * 8
                && g.nonce_size == IV_BYTES * 8
                && g.tag_size == TAG_BYTES * 8
        })
        .flat_map(|g| g.tests)
        .collect()
}

#[test]
fn wycheproof_aes_256_gcm_through_aes_gcm() {
    // STD1-ENC-1: AES-256-GCM, 96-bit IV, 128-bit tag.
    let mut tally = Tally::default();
    for t in aes_256_gcm_96_cases() {
        let describe =
            |what: &str| format!("tcId {} ({}) {:?}: {what}", t.tc_id, t.comment, t.result);
        let cipher = Aes256Gcm::new_from_slice(&t.key).expect("the group has 256-bit keys");
        let nonce_bytes: [u8; IV_BYTES] = t
            .nonce
            .as_slice()
            .try_into()
            .expect("the group has 96-bit IVs");
        let nonce = nonce_bytes.into();
        let mut ct_tag = t.ct.to_vec();
        ct_tag.extend_from_slice(&t.tag);

        let encrypted = cipher.encrypt(
            &nonce,
            Payload {
                msg: &t.pt,
                aad: &t.aad,
            },
        );
        let decrypted = cipher.decrypt(
            &nonce,
            Payload {
                msg: &ct_tag,
                aad: &t.aad,
            },
        );
        match t.result {
            TestResult::Valid => {
                let enc_ok = encrypted.as_deref() == Ok(ct_tag.as_slice());
                let dec_ok = decrypted.as_deref() == Ok(t.pt.as_slice());
                tally.record(enc_ok && dec_ok, || {
                    describe(&format!("encrypt ok: {enc_ok}, decrypt ok: {dec_ok}"))
                });
            }
            TestResult::Invalid => {
                tally.record(decrypted.is_err(), || {
                    describe("a forged ciphertext decrypted")
                });
            }
            // Either outcome is allowed; reaching here without a panic is the test.
            TestResult::Acceptable => tally.record(true, String::new),
        }
    }
    tally.report("wycheproof AES-256-GCM (96-bit IV)", MIN_AES_GCM_CASES);
}

#[test]
fn wycheproof_aes_256_gcm_through_crypto_open() {
    // STD1-ENC-1: std-1 uses no associated data, so only the vectors with
    // empty AAD apply to `open`. STD1-ENC-3: the ciphertext field is the GCM
    // ciphertext with the tag appended. STD1-ENC-4: a forgery is refused as
    // an authentication failure.
    let mut tally = Tally::default();
    let mut utf8_valid = 0;
    for t in aes_256_gcm_96_cases()
        .into_iter()
        .filter(|t| t.aad.is_empty())
    {
        let describe =
            |what: String| format!("tcId {} ({}) {:?}: {what}", t.tc_id, t.comment, t.result);
        let key = EncKey::from_bytes(t.key.as_slice().try_into().expect("256-bit key"));
        let iv: [u8; IV_BYTES] = t.nonce.as_slice().try_into().expect("96-bit IV");
        let mut ciphertext = t.ct.to_vec();
        ciphertext.extend_from_slice(&t.tag);
        let sealed = Sealed {
            iv,
            ciphertext: ciphertext.clone(),
        };
        let opened = open(&key, &sealed);
        match (t.result, std::str::from_utf8(&t.pt)) {
            (TestResult::Valid, Ok(pt)) => {
                utf8_valid += 1;
                let resealed = seal_with_iv(&key, iv, pt);
                let ok = opened.as_deref() == Ok(pt)
                    && resealed.as_ref().map(|s| &s.ciphertext) == Ok(&ciphertext);
                tally.record(ok, || {
                    describe(format!("open: {opened:?}, seal: {resealed:?}"))
                });
            }
            // std-1 plaintexts are UTF-8, so such a message authenticates and
            // is then refused as not UTF-8, never as an authentication failure.
            (TestResult::Valid, Err(_)) => {
                let ok = opened == Err(CryptoError::NotUtf8);
                tally.record(ok, || describe(format!("open: {opened:?}")));
            }
            (TestResult::Invalid, _) => {
                let ok = opened == Err(CryptoError::Authentication);
                tally.record(ok, || describe(format!("open: {opened:?}")));
            }
            (TestResult::Acceptable, _) => tally.record(true, String::new),
        }
    }
    tally.report(
        "wycheproof AES-256-GCM (96-bit IV, no AAD) via crypto::open",
        MIN_AES_GCM_NO_AAD_CASES,
    );
    assert!(utf8_valid >= 2, "only {utf8_valid} valid UTF-8 cases");
}

#[test]
fn wycheproof_pbkdf2_hmac_sha256() {
    // STD1-DRV-7: enc_key is PBKDF2-HMAC-SHA-256.
    let set = wycheproof::pbkdf2::TestSet::load(wycheproof::pbkdf2::TestName::Pbkdf2HmacSha256)
        .expect("the PBKDF2 vectors load");
    let mut tally = Tally::default();
    for t in set.test_groups.into_iter().flat_map(|g| g.tests) {
        let rounds = u32::try_from(t.iteration_count).expect("iteration count fits u32");
        let mut dk = vec![0u8; t.dk_len];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&t.password, &t.salt, rounds, &mut dk);
        let ok = match t.result {
            TestResult::Valid => dk == t.dk.as_slice(),
            TestResult::Invalid => dk != t.dk.as_slice(),
            TestResult::Acceptable => true,
        };
        tally.record(ok, || {
            format!(
                "tcId {} ({}) {:?}: got {}, want {}",
                t.tc_id,
                t.comment,
                t.result,
                hex::encode(&dk),
                hex::encode(t.dk.as_slice())
            )
        });
    }
    tally.report("wycheproof PBKDF2-HMAC-SHA-256", MIN_PBKDF2_CASES);
}

#[test]
fn rfc7914_pbkdf2_hmac_sha256_vectors() {
    // STD1-DRV-7: RFC 7914 §11, the PBKDF2-HMAC-SHA256 test vectors.
    let vectors: [(&[u8], &[u8], u32, &str); 2] = [
        (
            b"passwd",
            b"salt",
            1,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        ),
        (
            b"Password",
            b"NaCl",
            80_000,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
        ),
    ];
    let mut tally = Tally::default();
    for (password, salt, rounds, want) in vectors {
        let mut dk = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut dk);
        let got = hex::encode(dk);
        tally.record(got == want, || {
            format!("c={rounds}: got {got}, want {want}")
        });
    }
    tally.report("RFC 7914 §11 PBKDF2-HMAC-SHA-256", 2);
}
