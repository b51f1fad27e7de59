//! # stelgano-model — the room protocol of sTELgano-std-1, model-checked
//!
//! A [stateright] model of one steg number's room: two honest parties A
//! and B with different PINs (B may mistype its PIN when it claims a slot
//! with a code), and an intruder M who knows the number but neither PIN
//! (and, in one of the initial states, the pairing codes the parties hand
//! each other). Its steps are the protocol's requests, re-opening a slot
//! for a new PIN among them, pairs of requests in flight together (served
//! in either order), the passing of time (TTL expiry, the end of a lock)
//! and dropped connections. The checker proves the
//! properties of [`model::properties`] for every reachable state within the
//! bounds of [`RoomModel::standard`]; `trace` turns the paths it explores
//! into the conformance corpus of `conformance/traces/`.
//!
//! `README.md` maps the model to the spec and explains the bounds.

#![forbid(unsafe_code)]

pub mod action;
pub mod model;
pub mod outcome;
pub mod rules;
pub mod state;
pub mod trace;

pub use action::{Action, Code, Op, Pin, Request};
pub use model::RoomModel;
pub use rules::{Fault, Rules};
pub use state::{Party, State};
