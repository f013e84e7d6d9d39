//! The PyO3 layer: `matcher_rs._native`. Thin: converts and delegates.
//!
//! Payload bytes are borrowed from the Python `bytes` objects (a reference
//! held on each for the call, none on the lists and tuples) without copying;
//! the GIL is released while the batch is matched; a panic in the core never
//! crosses the boundary: it fails only its own request
//! (`RequestResult.failed`).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::impl_::extract_argument::argument_extraction_error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::flatten::flatten as flatten_core;
use crate::guards::{Guards, DEFAULT_MIN_LENGTH, DEFAULT_STOP_LIST};
use crate::matcher::{self, Config, Request, DEFAULT_MAX_CAPTURE_BYTES};
use crate::nomatch::NoMatch;
use crate::prefetch::prefetch_object;

mod probe_batch;
mod probe_events;
mod record_batch;
mod signal_batch;
mod trace_join;
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
        PyList::new(py, self.inner.nomatch.iter())
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

/// The matching options of a call, from its keyword arguments.
fn config(
    min_length: usize,
    transforms: Option<Vec<String>>,
    stop_list: Option<Vec<String>>,
    max_capture_bytes: usize,
) -> PyResult<Config> {
    let guards = match stop_list {
        None => Guards::new(min_length, DEFAULT_STOP_LIST.iter().map(|s| s.as_bytes())),
        Some(list) => Guards::new(min_length, list.iter().map(|s| s.as_bytes())),
    };
    Ok(Config {
        guards,
        transforms: parse_transforms(transforms)?,
        max_capture_bytes,
    })
}

type PyRequest<'py> = (Vec<Bound<'py, PyBytes>>, Vec<Bound<'py, PyBytes>>);

/// The payloads of a batch: a reference held on each `bytes` object (so that
/// no other thread can free one while the GIL is released, even by changing
/// the lists that held it), and each one's bytes, borrowed.
///
/// Taken from a list (or tuple) of 2-tuples of lists (or tuples) of `bytes`
/// by reading the containers' items in place: no reference is taken on a
/// container and no vector is allocated per request (the containers cannot
/// change meanwhile: the GIL is held and no Python code runs). Anything else
/// goes through PyO3's generic conversion, which accepts the same inputs as
/// before and raises the same errors.
struct Batch {
    /// Owned references (one decrement each when the batch is dropped).
    objects: Vec<*mut ffi::PyObject>,
    /// Request `i`'s sources, then its sinks; valid while `objects` lives
    /// (the `'static` never leaves this struct: see [`Batch::payloads`]).
    payloads: Vec<&'static [u8]>,
    /// Per request: where its sources and its sinks start in `payloads`.
    bounds: Vec<(u32, u32)>,
}

thread_local! {
    /// Emptied vectors of the last batch, for reuse (a batch's vectors are
    /// large enough that allocating and freeing them costs more than
    /// clearing them, most in a process whose heap is as scattered as
    /// Python's).
    static BATCH: Cell<Option<Batch>> = const { Cell::new(None) };
}

impl Batch {
    fn new() -> Batch {
        BATCH
            .try_with(|b| b.take())
            .ok()
            .flatten()
            .unwrap_or(Batch {
                objects: Vec::new(),
                payloads: Vec::new(),
                bounds: Vec::new(),
            })
    }

    /// Take the batch from `requests` (see [`Batch`]).
    fn extract(requests: &Bound<'_, PyAny>) -> PyResult<Batch> {
        let mut batch = Batch::new();
        if batch.extract_in_place(requests).is_none() {
            batch.release(requests.py());
            let requests: Vec<PyRequest<'_>> = requests.extract()?;
            for (sources, sinks) in &requests {
                let start = batch.payloads.len() as u32;
                batch.bounds.push((start, start + sources.len() as u32));
                for b in sources.iter().chain(sinks) {
                    batch.push(b.as_borrowed());
                }
            }
        }
        Ok(batch)
    }

    /// The fast path: `None` when `requests` is not made of exactly the
    /// containers it reads in place (the caller then starts over).
    ///
    /// A few requests at a time: first their payload objects are asked for
    /// (each is a cache miss by now, and reading one's type would wait for
    /// it), and the next few requests' pairs; then each object is checked
    /// and a reference taken, with the loads overlapped.
    fn extract_in_place(&mut self, requests: &Bound<'_, PyAny>) -> Option<()> {
        const AHEAD: usize = 8;
        let py = requests.py();
        let outer = Items::of(requests)?;
        self.bounds.reserve(outer.len);
        for at in (0..outer.len).step_by(AHEAD) {
            let end = (at + AHEAD).min(outer.len);
            for i in end..(end + AHEAD).min(outer.len) {
                // SAFETY: i < len (see `Items::get`).
                prefetch_object(unsafe { outer.get(py, i) }.as_ptr() as *const u8);
            }
            for i in at..end {
                let (sources, sinks) = Self::pair(py, &outer, i)?;
                for items in [sources, sinks] {
                    for j in 0..items.len {
                        // SAFETY: j < len (see `Items::get`).
                        let payload = unsafe { items.get(py, j) };
                        prefetch_object(payload.as_ptr() as *const u8);
                    }
                }
            }
            for i in at..end {
                let (sources, sinks) = Self::pair(py, &outer, i)?;
                let start = self.payloads.len() as u32;
                self.bounds.push((start, start + sources.len as u32));
                for items in [sources, sinks] {
                    for j in 0..items.len {
                        // SAFETY: j < len (see `Items::get`).
                        let payload = unsafe { items.get(py, j) };
                        self.push(payload.downcast::<PyBytes>().ok()?.as_borrowed());
                    }
                }
            }
        }
        Some(())
    }

    /// Request `i` of `outer`: its sources and its sinks, when it is a pair
    /// of exact lists or tuples.
    fn pair(py: Python<'_>, outer: &Items, i: usize) -> Option<(Items, Items)> {
        // SAFETY: i < len; the item is borrowed from the container, which
        // holds it (the GIL is held, no Python code runs meanwhile).
        let request = unsafe { outer.get(py, i) };
        let pair = request.downcast::<PyTuple>().ok()?;
        if pair.len() != 2 {
            return None;
        }
        let sources = Items::of(&*pair.get_borrowed_item(0).ok()?)?;
        let sinks = Items::of(&*pair.get_borrowed_item(1).ok()?)?;
        Some((sources, sinks))
    }

    /// Hold a reference on `b` and note its bytes.
    fn push(&mut self, b: Borrowed<'_, '_, PyBytes>) {
        let owned = b.to_owned();
        // SAFETY: the bytes live as long as the object, on which a
        // reference is now held until `release` (the slice never leaves
        // the batch with a longer lifetime than the batch's: `payloads`).
        let bytes: &'static [u8] = unsafe { std::mem::transmute::<&[u8], _>(owned.as_bytes()) };
        self.payloads.push(bytes);
        self.objects.push(owned.into_ptr());
    }

    /// The payloads, borrowed for as long as the batch.
    fn payloads(&self) -> &[&[u8]] {
        &self.payloads
    }

    /// Give back every reference (with the GIL) and empty the vectors. The
    /// objects' reference counts are no longer in any cache after a batch:
    /// each object is fetched a few ahead, so that the loads overlap.
    fn release(&mut self, _py: Python<'_>) {
        self.payloads.clear();
        self.bounds.clear();
        const AHEAD: usize = 16;
        for i in 0..self.objects.len() {
            if let Some(&p) = self.objects.get(i + AHEAD) {
                prefetch_object(p as *const u8);
            }
            // SAFETY: the GIL is held; the batch owns this reference.
            unsafe { ffi::Py_DECREF(self.objects[i]) };
        }
        self.objects.clear();
    }

    /// Release the batch and keep its vectors for the next one (large ones
    /// are freed instead).
    fn recycle(mut self, py: Python<'_>) {
        self.release(py);
        if self.payloads.capacity() <= KEEP_ITEMS {
            let _ = BATCH.try_with(|b| b.set(Some(self)));
        }
    }
}

/// The vectors kept between batches (payloads, results) keep room for at
/// most this many items; larger ones are freed.
const KEEP_ITEMS: usize = 1 << 16;

/// The items of an exact list or tuple, read in place.
#[derive(Clone, Copy)]
struct Items {
    ptr: *mut ffi::PyObject,
    len: usize,
    list: bool,
}

impl Items {
    fn of(ob: &Bound<'_, PyAny>) -> Option<Items> {
        let ptr = ob.as_ptr();
        // SAFETY: `ptr` is a live object (borrowed by `ob`), the GIL is held.
        unsafe {
            if ffi::PyList_CheckExact(ptr) != 0 {
                Some(Items {
                    ptr,
                    len: ffi::PyList_GET_SIZE(ptr) as usize,
                    list: true,
                })
            } else if ffi::PyTuple_CheckExact(ptr) != 0 {
                Some(Items {
                    ptr,
                    len: ffi::PyTuple_GET_SIZE(ptr) as usize,
                    list: false,
                })
            } else {
                None
            }
        }
    }

    /// Item `i`, borrowed from the container.
    ///
    /// # Safety
    /// `i < self.len`, the GIL is held, and the container has not changed
    /// since [`Items::of`] (no Python code ran).
    unsafe fn get<'a, 'py>(&'a self, py: Python<'py>, i: usize) -> Borrowed<'a, 'py, PyAny> {
        let item = if self.list {
            ffi::PyList_GET_ITEM(self.ptr, i as ffi::Py_ssize_t)
        } else {
            ffi::PyTuple_GET_ITEM(self.ptr, i as ffi::Py_ssize_t)
        };
        Borrowed::from_ptr(py, item)
    }
}

/// Match a batch of requests (see the stub for the documentation).
#[pyfunction]
#[pyo3(signature = (requests, *, min_length=4, transforms=None, stop_list=None, max_capture_bytes=1_048_576))]
fn match_requests<'py>(
    py: Python<'py>,
    requests: &Bound<'py, PyAny>,
    min_length: usize,
    transforms: Option<Vec<String>>,
    stop_list: Option<Vec<String>>,
    max_capture_bytes: usize,
) -> PyResult<Bound<'py, PyList>> {
    let config = config(min_length, transforms, stop_list, max_capture_bytes)?;
    let batch =
        Batch::extract(requests).map_err(|e| argument_extraction_error(py, "requests", e))?;
    let mut results = RESULTS
        .try_with(|r| r.take())
        .ok()
        .flatten()
        .unwrap_or_default();
    let (payloads, bounds) = (batch.payloads(), &batch.bounds[..]);
    py.detach(|| {
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
            fill(&mut request, payloads, bounds, 0);
        }
        results.reserve(bounds.len());
        for i in 0..bounds.len() {
            // The next request's payloads load while this one is matched.
            if i + 1 < bounds.len() {
                fill(&mut next, payloads, bounds, i + 1);
                matcher::prefetch_request(&next);
            }
            let r = &request;
            results.push(
                match catch_unwind(AssertUnwindSafe(|| matcher::match_request(r, &config))) {
                    Ok(inner) => RequestResult {
                        inner,
                        failed: false,
                    },
                    Err(_) => RequestResult {
                        inner: matcher::RequestResult {
                            matches: Vec::new(),
                            nomatch: NoMatch::default(),
                            truncated: 0,
                            searcher: crate::search::SearcherKind::None,
                        },
                        failed: true,
                    },
                },
            );
            std::mem::swap(&mut request, &mut next);
        }
    });
    batch.recycle(py);
    let list = PyList::new(py, results.drain(..));
    if results.capacity() <= KEEP_ITEMS {
        let _ = RESULTS.try_with(|r| r.set(Some(results)));
    }
    list
}

thread_local! {
    /// The emptied results vector of the last batch, for reuse (like
    /// [`BATCH`]).
    static RESULTS: Cell<Option<Vec<RequestResult>>> = const { Cell::new(None) };
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

/// `(fingerprint, word ends)` of an ASCII SQL text as `analyzers.sql.keys._fingerprint`
/// gives them, or None (non-ASCII text: the caller runs the Python version).
#[pyfunction]
fn sql_fingerprint(sql: &str) -> Option<(String, Vec<usize>)> {
    crate::sql_fingerprint::fingerprint(sql)
}

/// Offsets of the words of an ASCII SQL text outside comments and masked literals whose
/// lower-case form is in `words`, as `analyzers.sql.keys.word_positions` finds them; None
/// for text the Rust scan leaves to Python.
#[pyfunction]
fn sql_word_positions(sql: &str, words: Vec<String>) -> Option<Vec<usize>> {
    crate::sql_fingerprint::word_positions(sql, &words)
}

/// Per word end of `sql_fingerprint`: the word's start, and whether a table keyword comes
/// before it (`analyzers.sql.keys._table_words`' test); None for text left to Python.
#[pyfunction]
fn sql_table_words(sql: &str, ends: Vec<usize>) -> Option<Vec<(usize, bool)>> {
    crate::sql_fingerprint::table_words(sql, &ends)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(match_requests, m)?)?;
    m.add_function(wrap_pyfunction!(flatten, m)?)?;
    m.add_function(wrap_pyfunction!(probe_events::decode_probe_events, m)?)?;
    m.add_function(wrap_pyfunction!(trace_join::join_traces, m)?)?;
    m.add_class::<probe_batch::ProbeBatch>()?;
    m.add_class::<signal_batch::SignalBatch>()?;
    m.add_function(wrap_pyfunction!(record_batch::read_record_batches, m)?)?;
    m.add_function(wrap_pyfunction!(default_stop_list, m)?)?;
    m.add_function(wrap_pyfunction!(transform_names, m)?)?;
    m.add_function(wrap_pyfunction!(sql_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(sql_word_positions, m)?)?;
    m.add_function(wrap_pyfunction!(sql_table_words, m)?)?;
    m.add_class::<RequestResult>()?;
    m.add("DEFAULT_MIN_LENGTH", DEFAULT_MIN_LENGTH)?;
    m.add("DEFAULT_MAX_CAPTURE_BYTES", DEFAULT_MAX_CAPTURE_BYTES)?;
    Ok(())
}
