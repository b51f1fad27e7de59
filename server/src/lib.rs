//! # stelgano-server — the sTELgano-std-1 reference server
//!
//! Rooms live in PostgreSQL; clients speak the std-1 WebSocket protocol
//! (`spec/std-1.md`, implemented with the `stelgano-spec` crate). Every room
//! operation is one transaction under the room's row lock (`store`); its
//! broadcasts travel through PostgreSQL `NOTIFY` to every instance, whose
//! `LISTEN` connection (`feed`, kept honest by heartbeats) hands them to its
//! sessions (`hub`), and each connection orders replies after its own
//! broadcasts (`ws`).
//! Without `DATABASE_URL` the server runs a private PostgreSQL cluster
//! (`local_pg`).

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod config;
pub mod db;
pub mod faults;
pub mod feed;
pub mod hub;
pub mod linger;
pub mod local_pg;
pub mod metrics;
pub mod origins;
pub mod pepper;
pub mod rate_limit;
pub mod refused;
pub mod run;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod web_assets;
pub mod ws;
