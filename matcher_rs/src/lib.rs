//! Payload matcher for runtime data lineage.
//!
//! The pure-Rust core lives in its own modules and knows nothing of Python;
//! `python` (behind the default `python` feature) is the thin PyO3 layer.

pub mod flatten;
pub mod guards;
pub mod matcher;
pub mod nomatch;
pub mod number;
pub mod search;
pub mod transforms;
pub mod version;
#[cfg(test)]
mod test_rng;

#[cfg(feature = "python")]
mod python;
