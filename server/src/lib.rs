//! # stelgano-server — the sTELgano-std-1 reference server
//!
//! Rooms live in PostgreSQL; clients speak the std-1 WebSocket protocol
//! (`spec/std-1.md`, implemented with the `stelgano-spec` crate). This
//! revision holds the storage foundation: the schema with its invariants as
//! constraints, and a private PostgreSQL cluster for deployments and tests
//! that bring no `DATABASE_URL`.

pub mod db;
pub mod hub;
pub mod local_pg;
pub mod store;
