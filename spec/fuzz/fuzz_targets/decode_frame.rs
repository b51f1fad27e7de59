//! Arbitrary bytes into the client-frame decoder.
//!
//! Properties (spec §7.3): the decoder returns for every text; a refusal
//! carries one of the decoder's twelve reasons, with the `ref` and event
//! it had learnt by then (STD1-WIRE-10 to STD1-WIRE-14); text that is not
//! a JSON object is `invalid_frame` with a null `ref`; an accepted frame
//! re-encodes to a canonical text that decodes to the same frame and is a
//! fixed point (STD1-WIRE-7); whitespace around the object changes
//! nothing (STD1-WIRE-10).

#![no_main]

use libfuzzer_sys::fuzz_target;
use stelgano_spec::ErrorReason;
use stelgano_spec::wire::decode_client_frame;

/// The reasons the decoder may give; session and room reasons come from
/// the server after it (STD1-WIRE-21).
const DECODER_REASONS: [ErrorReason; 12] = [
    ErrorReason::InvalidFrame,
    ErrorReason::UnknownEvent,
    ErrorReason::InvalidPayload,
    ErrorReason::InvalidRoom,
    ErrorReason::InvalidAccess,
    ErrorReason::InvalidSender,
    ErrorReason::InvalidPairing,
    ErrorReason::InvalidMessageId,
    ErrorReason::InvalidEncoding,
    ErrorReason::InvalidIv,
    ErrorReason::InvalidCiphertext,
    ErrorReason::MessageTooLarge,
];

fuzz_target!(|data: &[u8]| {
    // Text that is not UTF-8 never reaches the decoder: the WebSocket
    // layer fails the connection with 1007 (STD1-WIRE-3).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = decode_client_frame(text);
    match &result {
        Ok(frame) => {
            let canonical = frame.to_json();
            let again = decode_client_frame(&canonical);
            assert_eq!(again.as_ref(), Ok(frame), "round trip of {text:?}");
            assert_eq!(
                again.map(|f| f.to_json()).as_deref(),
                Ok(canonical.as_str()),
                "canonical text is not a fixed point"
            );
        }
        Err(e) => {
            assert!(
                DECODER_REASONS.contains(&e.reason),
                "{} for {text:?}",
                e.reason
            );
            match e.reason {
                ErrorReason::InvalidFrame => assert!(e.event.is_none(), "{text:?}"),
                ErrorReason::UnknownEvent => {
                    assert!(e.event.is_none() && e.reference.is_some(), "{text:?}");
                }
                _ => assert!(e.event.is_some() && e.reference.is_some(), "{text:?}"),
            }
            let is_object =
                serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object());
            if !is_object {
                assert_eq!(e.reason, ErrorReason::InvalidFrame, "{text:?}");
                assert!(e.reference.is_none(), "{text:?}");
            }
        }
    }
    let padded = format!(" \t\n{text}\r\n ");
    assert_eq!(decode_client_frame(&padded), result, "padding {text:?}");
});
