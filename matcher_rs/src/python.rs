//! The PyO3 layer: `matcher_rs._native`. Thin: converts and delegates.
//!
//! Payload bytes are borrowed from the Python `bytes` objects (kept alive by
//! this frame) without copying; the GIL is released while the batch is
//! matched; a panic in the core never crosses the boundary: it fails only
//! its own request (`RequestResult.failed`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::flatten::flatten as flatten_core;
use crate::guards::{Guards, DEFAULT_MIN_LENGTH, DEFAULT_STOP_LIST};
use crate::matcher::{self, Config, Request, DEFAULT_MAX_CAPTURE_BYTES};
use crate::transforms::Transform;

/// The version of the native matcher.
#[pyfunction]
fn version() -> &'static str {
    crate::version::version()
}

/// The outcome of matching one request (see the stub for the documentation).
#[pyclass(frozen, module = "matcher_rs._native")]
struct RequestResult {
    inner: matcher::RequestResult,
    failed: bool,
}

#[pymethods]
impl RequestResult {
    #[getter]
    fn matches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .inner
            .matches
            .iter()
            .map(|m| {
                (
                    m.source_index,
                    m.source_path.as_str(),
                    m.sink_index,
                    m.sink_path.as_str(),
                    m.kind.name(),
                    m.transform.name(),
                )
                    .into_pyobject(py)
            })
            .collect::<PyResult<Vec<Bound<'py, PyTuple>>>>()?;
        PyList::new(py, items)
    }

    #[getter]
    fn nomatch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, &self.inner.nomatch)
    }

    #[getter]
    fn truncated(&self) -> u32 {
        self.inner.truncated
    }

    #[getter]
    fn searcher(&self) -> &'static str {
        self.inner.searcher.name()
    }

    #[getter]
    fn failed(&self) -> bool {
        self.failed
    }

    fn __repr__(&self) -> String {
        format!(
            "RequestResult(matches={}, nomatch={}, truncated={}, searcher={:?}, failed={})",
            self.inner.matches.len(),
            self.inner.nomatch.len(),
            self.inner.truncated,
            self.inner.searcher.name(),
            self.failed
        )
    }
}

fn parse_transforms(transforms: Option<Vec<String>>) -> PyResult<Vec<Transform>> {
    match transforms {
        None => Ok(Transform::ALL.to_vec()),
        Some(names) => {
            let mut out = names
                .iter()
                .map(|n| {
                    Transform::from_name(n)
                        .ok_or_else(|| PyValueError::new_err(format!("unknown transform {n:?}")))
                })
                .collect::<PyResult<Vec<Transform>>>()?;
            out.sort();
            out.dedup();
            Ok(out)
        }
    }
}

type PyRequest<'py> = (Vec<Bound<'py, PyBytes>>, Vec<Bound<'py, PyBytes>>);

/// Match a batch of requests (see the stub for the documentation).
#[pyfunction]
#[pyo3(signature = (requests, *, min_length=4, transforms=None, stop_list=None, max_capture_bytes=1_048_576))]
fn match_requests(
    py: Python<'_>,
    requests: Vec<PyRequest<'_>>,
    min_length: usize,
    transforms: Option<Vec<String>>,
    stop_list: Option<Vec<String>>,
    max_capture_bytes: usize,
) -> PyResult<Vec<RequestResult>> {
    let guards = match stop_list {
        None => Guards::new(min_length, DEFAULT_STOP_LIST.iter().map(|s| s.as_bytes())),
        Some(list) => Guards::new(min_length, list.iter().map(|s| s.as_bytes())),
    };
    let config = Config {
        guards,
        transforms: parse_transforms(transforms)?,
        max_capture_bytes,
    };
    // Every payload of the batch in one vector (request `i`'s sources, then
    // its sinks), so that no vector is allocated per request.
    let n_payloads = requests.iter().map(|(a, b)| a.len() + b.len()).sum();
    let mut payloads: Vec<&[u8]> = Vec::with_capacity(n_payloads);
    let mut bounds: Vec<(u32, u32)> = Vec::with_capacity(requests.len());
    for (sources, sinks) in &requests {
        payloads.extend(sources.iter().map(|b| b.as_bytes()));
        let mid = payloads.len() as u32;
        payloads.extend(sinks.iter().map(|b| b.as_bytes()));
        bounds.push((mid - sources.len() as u32, mid));
    }
    let results = py.detach(|| {
        // Request `i` into `r` (its vectors reused).
        fn fill<'a>(r: &mut Request<'a>, payloads: &[&'a [u8]], bounds: &[(u32, u32)], i: usize) {
            let (start, mid) = (bounds[i].0 as usize, bounds[i].1 as usize);
            let end = bounds
                .get(i + 1)
                .map_or(payloads.len(), |&(next, _)| next as usize);
            r.sources.clear();
            r.sources.extend_from_slice(&payloads[start..mid]);
            r.sinks.clear();
            r.sinks.extend_from_slice(&payloads[mid..end]);
        }
        // One request at a time in two reused vectors.
        let mut request = Request {
            sources: Vec::new(),
            sinks: Vec::new(),
        };
        let mut next = Request {
            sources: Vec::new(),
            sinks: Vec::new(),
        };
        if !bounds.is_empty() {
            fill(&mut request, &payloads, &bounds, 0);
        }
        (0..bounds.len())
            .map(|i| {
                // The next request's payloads load while this one is matched.
                if i + 1 < bounds.len() {
                    fill(&mut next, &payloads, &bounds, i + 1);
                    matcher::prefetch_request(&next);
                }
                let r = &request;
                let result =
                    match catch_unwind(AssertUnwindSafe(|| matcher::match_request(r, &config))) {
                        Ok(inner) => RequestResult {
                            inner,
                            failed: false,
                        },
                        Err(_) => RequestResult {
                            inner: matcher::RequestResult {
                                matches: Vec::new(),
                                nomatch: Vec::new(),
                                truncated: 0,
                                searcher: crate::search::SearcherKind::None,
                            },
                            failed: true,
                        },
                    };
                std::mem::swap(&mut request, &mut next);
                result
            })
            .collect::<Vec<_>>()
    });
    drop(payloads);
    // Release the payloads (a decrement on each object, which is no longer
    // in any cache after the batch): fetch the objects a few ahead, so that
    // their loads overlap.
    let objects: Vec<*const u8> = requests
        .iter()
        .flat_map(|(a, b)| a.iter().chain(b))
        .map(|b| b.as_ptr() as *const u8)
        .collect();
    let mut at = 0;
    for (sources, sinks) in requests {
        let n = sources.len() + sinks.len();
        for &p in objects.iter().skip(at + 16).take(n) {
            matcher::prefetch_object(p);
        }
        at += n;
        drop((sources, sinks));
    }
    Ok(results)
}

/// Flatten one payload into (path, value) leaves (see the stub).
#[pyfunction]
#[pyo3(signature = (payload, *, max_capture_bytes=1_048_576))]
fn flatten<'py>(
    py: Python<'py>,
    payload: &[u8],
    max_capture_bytes: usize,
) -> PyResult<Vec<(String, Bound<'py, PyBytes>)>> {
    let payload = &payload[..payload.len().min(max_capture_bytes)];
    let flat = catch_unwind(AssertUnwindSafe(|| flatten_core(payload)))
        .map_err(|_| PyValueError::new_err("payload could not be flattened"))?;
    Ok(flat
        .leaves
        .iter()
        .map(|l| (flat.path(l).to_string(), PyBytes::new(py, &l.value)))
        .collect())
}

/// The default stop-list of common values.
#[pyfunction]
fn default_stop_list() -> Vec<&'static str> {
    DEFAULT_STOP_LIST.to_vec()
}

/// The names of every transform, in preference order.
#[pyfunction]
fn transform_names() -> Vec<&'static str> {
    Transform::ALL.iter().filter_map(|t| t.name()).collect()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(match_requests, m)?)?;
    m.add_function(wrap_pyfunction!(flatten, m)?)?;
    m.add_function(wrap_pyfunction!(default_stop_list, m)?)?;
    m.add_function(wrap_pyfunction!(transform_names, m)?)?;
    m.add_class::<RequestResult>()?;
    m.add("DEFAULT_MIN_LENGTH", DEFAULT_MIN_LENGTH)?;
    m.add("DEFAULT_MAX_CAPTURE_BYTES", DEFAULT_MAX_CAPTURE_BYTES)?;
    Ok(())
}
