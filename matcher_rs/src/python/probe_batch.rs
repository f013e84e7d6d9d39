//! `ProbeBatch`: a partition's probe-event values decoded and joined without
//! the decoded events crossing into Python (see [`crate::probe_batch`]).

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::config;
use super::trace_join::{run, Opts, PyPrior};
use std::borrow::Cow;

use crate::probe_batch::{self, Refusal, Settled, Unjoinable};
use crate::trace_join::Params;

/// What keeps the batch from the join, as Python would have raised it.
fn unjoinable(why: Unjoinable) -> PyErr {
    match why {
        Unjoinable::Undecided => PyValueError::new_err("a value is still undecided"),
        // What converting that `ts` for `join_traces` raised.
        Unjoinable::Held => PyOverflowError::new_err("an event's ts is beyond 64 bits"),
    }
}

/// A decoded batch (see the stub for the documentation).
#[pyclass(module = "matcher_rs._native")]
pub(crate) struct ProbeBatch {
    inner: probe_batch::ProbeBatch,
    /// The trace ids' string indexes, once `trace_ids` fixed the joined events.
    traces: Option<Vec<u32>>,
}

#[pymethods]
impl ProbeBatch {
    #[new]
    fn new(py: Python<'_>, values: Vec<Option<Bound<'_, PyBytes>>>) -> ProbeBatch {
        // The `bytes` objects are held by `values` for the whole call.
        let raws: Vec<Option<&[u8]>> = values
            .iter()
            .map(|v| v.as_ref().map(|b| b.as_bytes()))
            .collect();
        let inner = py.detach(|| probe_batch::ProbeBatch::decode(&raws));
        ProbeBatch {
            inner,
            traces: None,
        }
    }

    fn __len__(&self) -> usize {
        self.inner.events()
    }

    fn valid<'py>(&self, py: Python<'py>) -> PyResult<Vec<(usize, Bound<'py, PyAny>)>> {
        self.inner
            .valid()
            .into_iter()
            .map(|(i, view)| {
                let item = match view {
                    Settled::Probe {
                        trace_id,
                        ts,
                        sink,
                        asset,
                        payload,
                    } => (
                        trace_id,
                        ts,
                        if sink { "sink" } else { "source" },
                        asset,
                        PyBytes::new(py, payload),
                    )
                        .into_pyobject(py)?
                        .into_any(),
                    Settled::Fault { reason, ts } => {
                        (reason.as_ref(), ts).into_pyobject(py)?.into_any()
                    }
                    Settled::Held | Settled::Invalid(_) => py.None().into_bound(py),
                };
                Ok((i, item))
            })
            .collect()
    }

    fn undecided(&self) -> Vec<usize> {
        self.inner.undecided()
    }

    fn held(&self) -> Vec<usize> {
        self.inner.held()
    }

    fn settle(&mut self, index: usize, verdict: &Bound<'_, PyAny>) -> PyResult<()> {
        if index >= self.inner.values() {
            return Err(PyValueError::new_err("no such value"));
        }
        let settled = if let Ok(reason) = verdict.cast::<PyString>() {
            Settled::Invalid(Cow::Borrowed(reason.to_str()?))
        } else {
            let t = verdict.cast::<PyTuple>()?;
            match t.len() {
                2 => match t.get_item(1)?.extract::<i64>() {
                    Ok(ts) => Settled::Fault {
                        reason: Cow::Owned(t.get_item(0)?.extract()?),
                        ts,
                    },
                    Err(_) => Settled::Held,
                },
                5 => {
                    let role = t.get_item(2)?;
                    let sink = match role.cast::<PyString>()?.to_str()? {
                        "sink" => true,
                        "source" => false,
                        _ => return Err(PyValueError::new_err("role must be 'source' or 'sink'")),
                    };
                    let Ok(ts) = t.get_item(1)?.extract::<i64>() else {
                        self.inner.settle(index, Settled::Held);
                        self.traces = None;
                        return Ok(());
                    };
                    let trace_id = t.get_item(0)?;
                    let asset = t.get_item(3)?;
                    let payload = t.get_item(4)?;
                    self.inner.settle(
                        index,
                        Settled::Probe {
                            trace_id: trace_id.cast::<PyString>()?.to_str()?,
                            ts,
                            sink,
                            asset: asset.cast::<PyString>()?.to_str()?,
                            payload: payload.cast::<PyBytes>()?.as_bytes(),
                        },
                    );
                    self.traces = None;
                    return Ok(());
                }
                _ => {
                    return Err(PyTypeError::new_err(
                        "a verdict is a str, a fault or an event",
                    ))
                }
            }
        };
        self.inner.settle(index, settled);
        self.traces = None;
        Ok(())
    }

    fn bound(
        &mut self,
        record_ts: Vec<Option<i64>>,
        max_future_ms: i64,
        max_age_ms: i64,
    ) -> PyResult<()> {
        if record_ts.len() != self.inner.values() {
            return Err(PyValueError::new_err("one record timestamp per value"));
        }
        self.inner.bound(&record_ts, max_future_ms, max_age_ms);
        self.traces = None;
        Ok(())
    }

    fn dead(&self) -> Vec<(usize, Option<&str>, Option<i64>)> {
        self.inner.dead()
    }

    fn trace_ids<'py>(
        &mut self,
        py: Python<'py>,
        max_capture_bytes: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let (_, traces) = self.inner.joinable(max_capture_bytes).map_err(unjoinable)?;
        let ids = PyList::new(py, traces.iter().map(|t| self.inner.string(*t)))?;
        self.traces = Some(traces);
        Ok(ids)
    }

    #[pyo3(signature = (priors, *, watermark, size_ms, allowed_lateness_ms, max_captures,
                        max_bytes, prefixes, open_windows, min_length=4, transforms=None,
                        max_capture_bytes=1_048_576))]
    #[allow(clippy::too_many_arguments)]
    fn join<'py>(
        &self,
        py: Python<'py>,
        priors: Vec<PyPrior<'py>>,
        watermark: i64,
        size_ms: i64,
        allowed_lateness_ms: i64,
        max_captures: i64,
        max_bytes: i64,
        prefixes: (Vec<u8>, Vec<u8>, Vec<u8>),
        open_windows: i64,
        min_length: usize,
        transforms: Option<Vec<String>>,
        max_capture_bytes: usize,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (events, traces) = self.inner.joinable(max_capture_bytes).map_err(unjoinable)?;
        if self.traces.as_ref() != Some(&traces) {
            return Err(PyValueError::new_err(
                "trace_ids first, with the same capture cap",
            ));
        }
        let ids: Vec<&str> = traces.iter().map(|t| self.inner.string(*t)).collect();
        let opts = Opts {
            watermark,
            params: Params {
                size_ms,
                lateness_ms: allowed_lateness_ms,
                max_captures,
                max_bytes,
            },
            prefixes: &prefixes,
            open_windows,
            config: config(min_length, transforms, None, max_capture_bytes)?,
            signals: true,
        };
        let (admissions, outcome) = run(py, &events, &ids, &priors, &opts)?;
        let refusals = self
            .inner
            .refusals(max_capture_bytes, &admissions)
            .ok_or_else(|| PyValueError::new_err("one admission per joined event"))?;
        let refusals = refusals
            .into_iter()
            .map(|(index, ts, refusal)| -> PyResult<Bound<'py, PyTuple>> {
                let (code, detail) = match refusal {
                    Refusal::Fault(reason) => (0, PyString::new(py, reason).into_any()),
                    Refusal::Oversize(size) => (1, size.into_pyobject(py)?.into_any()),
                    Refusal::Late => (2, py.None().into_bound(py)),
                    Refusal::Overflow => (3, py.None().into_bound(py)),
                };
                (index, code, ts, detail).into_pyobject(py)
            })
            .collect::<PyResult<Vec<_>>>()?;
        (PyList::new(py, refusals)?, outcome).into_pyobject(py)
    }
}
