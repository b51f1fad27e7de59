//! The timing suite (STD1-JOIN-21).

/// The smallest time floor `F` conforming in production (STD1-JOIN-21).
pub const PRODUCTION_MIN_FLOOR_MS: u64 = 100;
