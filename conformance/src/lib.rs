//! # stelgano-conformance — is this server a sTELgano-std-1 server?
//!
//! A black-box harness: it speaks the protocol to a target over WebSocket
//! and compares what comes back with what the specification requires.
//! The `model` suite replays the traces the room model exported
//! (`conformance/traces/`, see `model/README.md`).

#![forbid(unsafe_code)]

pub mod bench;
pub mod browser;
pub mod chaos;
pub mod client;
pub mod corpus;
pub mod coverage;
pub mod features;
pub mod fixtures;
pub mod linearizable;
pub mod reference;
pub mod replay;
pub mod report;
pub mod surface;
pub mod timing;
pub mod wsfuzz;
