//! Support shared by `tests/fuzz_properties.rs` and the cargo-fuzz targets
//! in `spec/fuzz/` (which include this directory by path), so that the
//! proptest runs in `cargo test` and the long fuzz runs check exactly the
//! same properties against exactly the same oracles.
//!
//! Nothing here calls the code under test to decide what is right: the
//! syntax oracles are written from the text of spec §5.4 and §7.2–§7.4,
//! and the frame model computes a frame's answer from the tree it was
//! rendered from, never from the rendered text.

pub mod choices;
pub mod frames;
pub mod syntax;
