//! The administration page's credentials (STD1-SRV-24), kept apart from
//! the page so that the server's shared state can hold them without
//! depending on the page.

use axum::http::HeaderValue;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The configured credentials, kept as a digest of `user:password`.
///
/// Comparing digests makes the comparison independent of where, or
/// whether, a guess first differs, and of the lengths of both: each side
/// is hashed whole, then 32 bytes are compared in constant time
/// (STD1-SRV-24).
pub struct AdminAuth {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth(..)")
    }
}

impl AdminAuth {
    pub fn new(user: &str, password: &str) -> Self {
        Self {
            digest: credentials_digest(user.as_bytes(), password.as_bytes()),
        }
    }

    /// Whether an `Authorization` header carries these credentials.
    pub fn admits(&self, authorization: Option<&HeaderValue>) -> bool {
        let presented = authorization
            .and_then(|value| basic_credentials(value.as_bytes()))
            .unwrap_or_default();
        // A missing or malformed header is still compared, against a value
        // no password yields, so it costs the same as a wrong one.
        let digest = Sha256::digest(&presented);
        let mut candidate = [0u8; 32];
        candidate.copy_from_slice(&digest);
        bool::from(candidate.ct_eq(&self.digest))
    }
}

/// The digest of `user:password`, the form Basic authentication carries.
fn credentials_digest(user: &[u8], password: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(user);
    hasher.update(b":");
    hasher.update(password);
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&hasher.finalize());
    digest
}

/// The decoded `user:password` of a `Basic` authorization value.
fn basic_credentials(value: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).expect("header")
    }

    #[test]
    fn only_the_configured_credentials_are_admitted() {
        // STD1-SRV-24: missing, malformed, wrong and right credentials.
        let auth = AdminAuth::new("admin", "correct horse");
        assert!(auth.admits(Some(&basic("admin", "correct horse"))));
        assert!(!auth.admits(None));
        assert!(!auth.admits(Some(&basic("admin", "correct hors"))));
        assert!(!auth.admits(Some(&basic("admin", "correct horse "))));
        assert!(!auth.admits(Some(&basic("root", "correct horse"))));
        assert!(!auth.admits(Some(&HeaderValue::from_static("Bearer abc"))));
        assert!(!auth.admits(Some(&HeaderValue::from_static("Basic !!!"))));
        // The scheme is case-insensitive (RFC 7617).
        let lower = basic("admin", "correct horse")
            .to_str()
            .expect("ascii")
            .replacen("Basic", "basic", 1);
        assert!(auth.admits(Some(&HeaderValue::from_str(&lower).expect("header"))));
    }

    #[test]
    fn a_password_containing_a_colon_is_kept_whole() {
        // RFC 7617: the user name ends at the first colon.
        let auth = AdminAuth::new("admin", "a:b");
        assert!(auth.admits(Some(&basic("admin", "a:b"))));
        assert!(!auth.admits(Some(&basic("admin", "a"))));
    }
}
