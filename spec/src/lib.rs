//! # stelgano-spec — the executable part of sTELgano-std-1
//!
//! `spec/std-1.md` is the normative text; this crate is the part of it a
//! program can run: the constants, the normalisation and derivation
//! functions, pairing codes, the typed wire frames with a strict decoder, the
//! error-reason catalogue, and a registry of requirement IDs kept in step with
//! the text by a test. The reference server, the model and the conformance
//! harness all build on it; it depends on no other crate of the project.

#![forbid(unsafe_code)]

pub mod b64;
pub mod constants;
pub mod crypto;
pub mod derive;
pub mod digits;
pub mod ids;
pub mod normalise;
pub mod pairing;
pub mod reason;
pub mod requirements;
pub mod wire;

pub use reason::ErrorReason;
