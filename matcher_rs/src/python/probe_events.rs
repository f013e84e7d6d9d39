//! `decode_probe_events`: a batch of raw probe-event values, decoded with the
//! GIL released (see [`crate::probe_events`]); only the results become
//! Python objects, each asset and trace id string made once per batch.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::probe_batch::FxHasher;
use crate::probe_events::{decode, Role, Verdict};

/// Decode a batch of probe-event record values (see the stub).
#[pyfunction]
pub(crate) fn decode_probe_events<'py>(
    py: Python<'py>,
    values: Vec<Bound<'py, PyBytes>>,
) -> PyResult<Bound<'py, PyList>> {
    // The `bytes` objects are held by `values` for the whole call.
    let raws: Vec<&[u8]> = values.iter().map(|b| b.as_bytes()).collect();
    let (verdicts, arena) = py.detach(|| {
        let mut arena = Vec::with_capacity(raws.iter().map(|r| r.len()).sum());
        let verdicts: Vec<Verdict<'_>> = raws
            .iter()
            .map(|raw| {
                let mark = arena.len();
                catch_unwind(AssertUnwindSafe(|| decode(raw, &mut arena))).unwrap_or_else(|_| {
                    arena.truncate(mark);
                    Verdict::Undecided
                })
            })
            .collect();
        (verdicts, arena)
    });
    let source = pyo3::intern!(py, "source");
    let sink = pyo3::intern!(py, "sink");
    let mut strings: HashMap<String, Bound<'py, PyString>, BuildHasherDefault<FxHasher>> =
        HashMap::default();
    let mut string = |s: &str| -> Bound<'py, PyString> {
        match strings.get(s) {
            Some(o) => o.clone(),
            None => {
                let o = PyString::new(py, s);
                strings.insert(s.to_owned(), o.clone());
                o
            }
        }
    };
    let items = verdicts
        .iter()
        .map(|v| -> PyResult<Bound<'py, PyAny>> {
            Ok(match v {
                Verdict::Probe(e) => {
                    let role = match e.role {
                        Role::Source => source.clone(),
                        Role::Sink => sink.clone(),
                    };
                    PyTuple::new(
                        py,
                        [
                            string(&e.trace_id).into_any(),
                            e.ts.into_pyobject(py)?.into_any(),
                            role.into_any(),
                            string(&e.asset).into_any(),
                            PyBytes::new(py, &arena[e.payload.clone()]).into_any(),
                        ],
                    )?
                    .into_any()
                }
                Verdict::Invalid(reason) => PyString::new(py, reason).into_any(),
                Verdict::Undecided => py.None().into_bound(py),
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}
