//! `join_traces`: the probe join's per-event work over a decoded batch (see
//! [`crate::trace_join`]), with the GIL released; only the outcome becomes
//! Python objects.

use std::collections::HashMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::config;
use crate::matcher::Config;
use crate::runtime_signals;
use crate::trace_join::{self, Admission, Capture, Event, Meta, Params, Prior};
use crate::trace_writes::{self, Prefixes};

type PyEvent<'py> = (
    Bound<'py, PyString>,
    i64,
    Bound<'py, PyString>,
    Bound<'py, PyString>,
    Bound<'py, PyBytes>,
);
type PyMeta = (i64, i64, i64, i64, i64);
pub(super) type PyPrior<'py> = Option<(PyMeta, Option<Bound<'py, PyBytes>>)>;

fn meta((first_ts, close_at, count, size, overflow): PyMeta) -> Meta {
    Meta {
        first_ts,
        close_at,
        count,
        size,
        overflow,
    }
}

/// Join a decoded batch with its traces' windows (see the stub).
#[pyfunction]
#[pyo3(signature = (events, trace_ids, priors, *, watermark, size_ms, allowed_lateness_ms,
                    max_captures, max_bytes, prefixes, open_windows, min_length=4, transforms=None,
                    max_capture_bytes=1_048_576))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn join_traces<'py>(
    py: Python<'py>,
    events: Vec<PyEvent<'py>>,
    trace_ids: Vec<Bound<'py, PyString>>,
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
    let config = config(min_length, transforms, None, max_capture_bytes)?;
    if priors.len() != trace_ids.len() {
        return Err(PyValueError::new_err("one prior per trace id"));
    }
    // Every object below is held by `events`, `trace_ids` or `priors` for the call.
    let mut index: HashMap<&str, u32> = HashMap::with_capacity(trace_ids.len());
    let mut ids = Vec::with_capacity(trace_ids.len());
    for (i, id) in trace_ids.iter().enumerate() {
        let id = id.to_str()?;
        index.insert(id, i as u32);
        ids.push(id);
    }
    let mut batch = Vec::with_capacity(events.len());
    for (trace_id, ts, role, asset, payload) in &events {
        let trace = *index
            .get(trace_id.to_str()?)
            .ok_or_else(|| PyValueError::new_err("an event's trace id is not in trace_ids"))?;
        let sink = match role.to_str()? {
            "sink" => true,
            "source" => false,
            _ => return Err(PyValueError::new_err("role must be 'source' or 'sink'")),
        };
        batch.push(Event {
            trace,
            capture: Capture {
                sink,
                asset: asset.to_str()?,
                ts: *ts,
                payload: payload.as_bytes(),
            },
        });
    }
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
        config,
        signals: false,
    };
    Ok(run(py, &batch, &ids, &priors, &opts)?.1)
}

/// What a join takes besides its events and priors.
pub(super) struct Opts<'o> {
    pub watermark: i64,
    pub params: Params,
    pub prefixes: &'o (Vec<u8>, Vec<u8>, Vec<u8>),
    pub open_windows: i64,
    pub config: Config,
    /// The observations as `flow-signals` records (`runtime_signals`), not tuples.
    pub signals: bool,
}

/// Join `batch` (its traces `ids`, their `priors`): the admissions, and the
/// outcome as `join_traces` returns it.
pub(super) fn run<'py>(
    py: Python<'py>,
    batch: &[Event<'_>],
    ids: &[&str],
    priors: &[PyPrior<'py>],
    opts: &Opts<'_>,
) -> PyResult<(Vec<Admission>, Bound<'py, PyTuple>)> {
    if priors.len() != ids.len() {
        return Err(PyValueError::new_err("one prior per trace id"));
    }
    let mut known = Vec::with_capacity(priors.len());
    for prior in priors {
        known.push(match prior {
            None => Prior::default(),
            Some((m, packed)) => Prior {
                meta: Some(meta(*m)),
                captures: match packed {
                    None => Vec::new(),
                    Some(raw) => trace_join::unpack(raw.as_bytes()).ok_or_else(|| {
                        PyValueError::new_err("a prior's captures are not packed")
                    })?,
                },
            },
        });
    }
    let (params, prefixes) = (&opts.params, opts.prefixes);
    let metas: Vec<Option<Meta>> = known.iter().map(|p| p.meta).collect();
    let p = Prefixes {
        meta: &prefixes.0,
        index: &prefixes.1,
        record: &prefixes.2,
    };
    let (join, writes) = py.detach(|| {
        let join = trace_join::join(
            batch,
            &mut known,
            opts.watermark,
            opts.open_windows,
            params,
            &opts.config,
        );
        let packed: Vec<Option<Option<Vec<u8>>>> = join
            .traces
            .iter()
            .map(|t| t.captures.as_deref().map(trace_join::pack))
            .collect();
        if packed.iter().any(|p| matches!(p, Some(None))) {
            return (join, None);
        }
        let packed = packed.into_iter().map(Option::flatten).collect();
        let writes = trace_writes::writes(&join, ids, &metas, packed, &p);
        (join, Some(writes))
    });
    let Some(writes) = writes else {
        // What `struct.pack` raises in `state.traces.pack_captures` for the same record.
        let error = py.import("struct")?.getattr("error")?;
        return Err(PyErr::from_value(error.call1((
            "a capture's asset or payload is too long for its record",
        ))?));
    };
    let admissions: Vec<u8> = join.admissions.iter().map(|a| *a as u8).collect();
    let changes = writes
        .changes
        .iter()
        .map(|(k, v)| {
            (
                PyBytes::new(py, k),
                v.as_deref().map(|v| PyBytes::new(py, v)),
            )
        })
        .collect::<Vec<_>>();
    let records = writes
        .records
        .iter()
        .map(|r| {
            (
                PyBytes::new(py, &r.key),
                (r.close_at, r.count, PyBytes::new(py, &r.packed)),
            )
        })
        .collect::<Vec<_>>();
    let observations = if opts.signals {
        join.observations
            .iter()
            .map(|o| {
                let (key, value) = runtime_signals::record(o);
                (PyBytes::new(py, &key), PyBytes::new(py, &value)).into_pyobject(py)
            })
            .collect::<PyResult<Vec<_>>>()?
    } else {
        join.observations
            .iter()
            .map(|o| {
                (
                    o.src.as_str(),
                    o.dst.as_str(),
                    o.kind,
                    o.transform,
                    o.count,
                    o.latest,
                    o.earliest,
                )
                    .into_pyobject(py)
            })
            .collect::<PyResult<Vec<_>>>()?
    };
    let outcome = (
        PyBytes::new(py, &admissions),
        join.watermark,
        (
            PyList::new(py, changes)?,
            PyList::new(py, records)?,
            PyBytes::new(py, &writes.flags),
            writes.order,
            (writes.closed_early, join.open_windows),
        ),
        PyList::new(py, observations)?,
        join.requests,
        join.matched_bytes,
        join.failed,
    )
        .into_pyobject(py)?;
    Ok((join.admissions, outcome))
}
