//! `read_record_batches`: a partition's fetched record set read into columns
//! (see [`crate::record_batch`]), with the GIL released while it is walked.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::record_batch::{read, Stop};

type Columns<'py> = (
    Vec<i64>,
    Vec<i64>,
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    i64,
    usize,
    &'static str,
);

/// Read `raw` from byte `pos` (see the stub for the documentation).
#[pyfunction]
#[pyo3(signature = (raw, pos, next_offset, limit, *, check_crcs=true))]
pub(crate) fn read_record_batches<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyBytes>,
    pos: usize,
    next_offset: i64,
    limit: usize,
    check_crcs: bool,
) -> PyResult<Columns<'py>> {
    let bytes = raw.as_bytes();
    let got = py.detach(|| read(bytes, pos, next_offset, limit, check_crcs));
    let column = |ranges: &[Option<std::ops::Range<usize>>]| {
        PyList::new(
            py,
            ranges
                .iter()
                .map(|r| r.clone().map(|r| PyBytes::new(py, &bytes[r]))),
        )
    };
    let stop = match got.stop {
        Stop::End => "end",
        Stop::Limit => "limit",
        Stop::Unread => "unread",
    };
    Ok((
        got.offsets,
        got.timestamps,
        column(&got.keys)?,
        column(&got.values)?,
        got.next_offset,
        got.batch_pos,
        stop,
    ))
}
