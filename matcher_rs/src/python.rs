//! The PyO3 layer: `matcher_rs._native`. Thin: converts and delegates.

use pyo3::prelude::*;

/// The version of the native matcher.
#[pyfunction]
fn version() -> &'static str {
    crate::version::version()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
