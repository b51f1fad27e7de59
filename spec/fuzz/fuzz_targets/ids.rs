//! The identifier parsers: hashes (STD1-WIRE-15, STD1-DRV-8), UUIDs
//! (STD1-WIRE-16), refs (STD1-WIRE-9), country codes (STD1-WIRE-17) and
//! timestamps (STD1-WIRE-19).
//!
//! Properties: each parser accepts exactly what the oracle written from
//! the spec's text accepts, the four hash types and the two UUID types
//! agree with each other, and what is accepted prints back as the same
//! text (one spelling per value). In the other direction, any 32 or 16
//! bytes print to text that parses back to them.

#![no_main]

#[allow(dead_code)]
#[path = "../../tests/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use stelgano_spec::ids::{
    AccessHash, CountryCode, MessageId, PairingHash, Ref, RoomHash, RoomId, SenderHash,
};
use stelgano_spec::wire::Timestamp;
use support::syntax;

fuzz_target!(|data: &[u8]| {
    if let Ok(bytes) = <[u8; 32]>::try_from(data.get(..32).unwrap_or_default()) {
        let h = RoomHash::from_bytes(bytes);
        assert_eq!(h.to_hex().parse::<RoomHash>(), Ok(h));
        assert_eq!(syntax::hex64(&h.to_hex()), Some(bytes));
    }
    if let Ok(bytes) = <[u8; 16]>::try_from(data.get(..16).unwrap_or_default()) {
        let m = MessageId::from_uuid(uuid::Uuid::from_bytes(bytes));
        assert_eq!(m.to_string().parse::<MessageId>(), Ok(m));
        assert_eq!(syntax::uuid(&m.to_string()), Some(bytes));
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let want = syntax::hex64(text);
    let room = text.parse::<RoomHash>().map(|h| *h.as_bytes()).ok();
    assert_eq!(room, want, "{text:?}");
    assert_eq!(text.parse::<AccessHash>().map(|h| *h.as_bytes()).ok(), want);
    assert_eq!(text.parse::<SenderHash>().map(|h| *h.as_bytes()).ok(), want);
    assert_eq!(
        text.parse::<PairingHash>().map(|h| *h.as_bytes()).ok(),
        want
    );
    if let Ok(h) = text.parse::<RoomHash>() {
        assert_eq!(h.to_hex(), text);
    }

    let want = syntax::uuid(text);
    let message = text.parse::<MessageId>();
    assert_eq!(
        message.map(|m| *m.as_uuid().as_bytes()).ok(),
        want,
        "{text:?}"
    );
    assert_eq!(
        text.parse::<RoomId>().map(|r| *r.as_uuid().as_bytes()).ok(),
        want
    );
    if let Ok(m) = message {
        assert_eq!(m.to_string(), text);
    }

    let r = text.parse::<Ref>();
    assert_eq!(r.is_ok(), syntax::is_ref(text), "{text:?}");
    if let Ok(r) = r {
        assert_eq!(r.as_str(), text);
    }

    let c = text.parse::<CountryCode>();
    assert_eq!(c.is_ok(), syntax::is_country(text), "{text:?}");
    if let Ok(c) = c {
        assert_eq!(c.as_str(), text);
    }

    let t = text.parse::<Timestamp>();
    assert_eq!(t.is_ok(), syntax::is_timestamp(text), "{text:?}");
    if let Ok(t) = t {
        assert_eq!(t.to_string(), text);
    }
});
