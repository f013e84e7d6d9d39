//! Payload matcher for runtime data lineage.
//!
//! The pure-Rust core lives in its own modules and knows nothing of Python;
//! `python` (behind the default `python` feature) is the thin PyO3 layer.

pub mod flatten;
pub mod flow_signals;
pub mod guards;
pub mod matcher;
mod needles;
pub mod nomatch;
pub mod number;
pub mod prefetch;
pub mod probe_batch;
pub mod probe_events;
pub mod record_batch;
pub mod runtime_signals;
mod scan;
mod scratch;
pub mod search;
pub mod sql_fingerprint;
#[cfg(test)]
mod test_rng;
pub mod trace_join;
pub mod trace_writes;
pub mod transforms;
pub mod version;

#[cfg(feature = "python")]
mod python;
