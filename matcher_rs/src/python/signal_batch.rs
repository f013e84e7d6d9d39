//! `SignalBatch`: a partition's `flow-signals` values decoded and folded per
//! observation without a Python object per signal (see [`crate::flow_signals`]).

use std::borrow::Cow;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::flow_signals::{self, Signal, Vocabulary};

/// A decoded batch (see the stub for the documentation).
#[pyclass(module = "matcher_rs._native")]
pub(crate) struct SignalBatch {
    inner: flow_signals::SignalBatch,
}

/// A folded observation as Python gets it: `FlowSignal`'s fields in order,
/// then the indexes of the values folded.
type PyGroup<'a> = (
    (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        i64,
        Option<&'a str>,
        bool,
        i128,
        Option<i64>,
        Option<&'a str>,
    ),
    Vec<usize>,
);

fn word(value: &Bound<'_, PyAny>, find: impl Fn(&str) -> Option<u16>, what: &str) -> PyResult<u16> {
    find(value.cast::<PyString>()?.to_str()?)
        .ok_or_else(|| PyValueError::new_err(format!("not a known {what}")))
}

fn text<'a>(value: &'a Bound<'_, PyAny>) -> PyResult<Option<Cow<'a, str>>> {
    if value.is_none() {
        return Ok(None);
    }
    Ok(Some(value.cast::<PyString>()?.to_cow()?))
}

#[pymethods]
impl SignalBatch {
    #[new]
    fn new(
        py: Python<'_>,
        values: Vec<Option<Bound<'_, PyBytes>>>,
        kinds: Vec<String>,
        origins: Vec<String>,
    ) -> SignalBatch {
        let vocab = Vocabulary::new(&kinds, &origins);
        // The `bytes` objects are held by `values` for the whole call.
        let raws: Vec<Option<&[u8]>> = values
            .iter()
            .map(|v| v.as_ref().map(|b| b.as_bytes()))
            .collect();
        let inner = py.detach(|| flow_signals::SignalBatch::decode(&raws, &vocab));
        SignalBatch { inner }
    }

    fn __len__(&self) -> usize {
        self.inner.signals()
    }

    fn undecided(&self) -> Vec<usize> {
        self.inner.undecided()
    }

    fn settle(&mut self, index: usize, verdict: &Bound<'_, PyAny>) -> PyResult<()> {
        if index >= self.inner.values() {
            return Err(PyValueError::new_err("no such value"));
        }
        if let Ok(reason) = verdict.cast::<PyString>() {
            self.inner.settle(index, Err(reason.to_str()?.to_owned()));
            return Ok(());
        }
        let t = verdict.cast::<PyTuple>()?;
        if t.len() != 10 {
            return Err(PyValueError::new_err(
                "a signal is a tuple of FlowSignal's 10 fields",
            ));
        }
        let items: Vec<Bound<'_, PyAny>> = t.iter().collect();
        let vocab = self.inner.vocabulary();
        let signal = Signal {
            src: items[0].cast::<PyString>()?.to_cow()?,
            dst: items[1].cast::<PyString>()?.to_cow()?,
            kind: word(&items[2], |w| vocab.kind_index(w), "kind")?,
            origin: word(&items[3], |w| vocab.origin_index(w), "origin")?,
            ts: items[4].extract()?,
            transform: text(&items[5])?,
            masking: items[6].extract()?,
            count: items[7].extract()?,
            earliest: items[8].extract()?,
            producer: text(&items[9])?,
        };
        self.inner.settle(index, Ok(signal));
        Ok(())
    }

    fn dead(&self) -> Vec<(usize, &str)> {
        self.inner.dead()
    }

    fn groups(&self) -> Vec<PyGroup<'_>> {
        let vocab = self.inner.vocabulary();
        self.inner
            .groups()
            .into_iter()
            .map(|g| {
                let o = g.observation;
                (
                    (
                        o.src.as_str(),
                        o.dst.as_str(),
                        vocab.kind(o.kind),
                        vocab.origin(o.origin),
                        g.ts,
                        o.transform.as_deref(),
                        o.masking,
                        g.count,
                        g.earliest,
                        o.producer.as_deref(),
                    ),
                    g.members,
                )
            })
            .collect()
    }
}
