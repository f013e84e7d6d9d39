//! Payload matcher for runtime data lineage.
//!
//! The pure-Rust core lives in its own modules and knows nothing of Python;
//! `python` (behind the default `python` feature) is the thin PyO3 layer.

pub mod version;

#[cfg(feature = "python")]
mod python;
