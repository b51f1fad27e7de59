//! Structured frames into the client-frame decoder, judged by the model
//! of `spec/tests/support/frames.rs` (shared with
//! `spec/tests/fuzz_properties.rs`).
//!
//! The first half of the input is the recipe of a frame (a valid frame of
//! one of the nine events, then up to three structural faults), the second
//! half its spelling (whitespace and escapes). Property: the decoder's
//! answer (reason, `ref` and event, or the decoded frame) is the one the
//! model computes from the tree, STD1-WIRE-10 to STD1-WIRE-18,
//! STD1-ENC-2, STD1-ENC-5.

#![no_main]

#[allow(dead_code)]
#[path = "../../tests/support/mod.rs"]
mod support;

use libfuzzer_sys::fuzz_target;
use stelgano_spec::wire::decode_client_frame;
use support::choices::Choices;
use support::frames;

fuzz_target!(|data: &[u8]| {
    let (recipe, style) = data.split_at(data.len() / 2);
    let tree = frames::build(&mut Choices::new(recipe));
    let text = frames::render(&tree, &mut Choices::new(style));
    assert_eq!(
        frames::observed(decode_client_frame(&text)),
        frames::expected(&tree),
        "frame: {text}"
    );
});
