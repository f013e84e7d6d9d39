//! The matcher's per-request buffers, pooled per thread.
//!
//! A request needs about fifteen vectors (forms, needles, owner chains,
//! hits...). Allocating them anew for each request costs more than clearing
//! them, most in a process whose heap is large and scattered like Python's,
//! so each thread keeps one set between requests; a buffer that grew past
//! [`SCRATCH_MAX_BYTES`] is freed instead, so one huge request does not pin
//! its memory.

use crate::flatten::Flattened;
use crate::matcher::Kind;
use crate::transforms::{Form, Transform};

/// The per-request buffers, kept per thread between requests (allocating
/// them anew costs more than clearing them, most in a process whose heap is
/// large and scattered, like Python's).
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) escapes: Vec<u16>,
    /// Always empty between requests (their element types borrow).
    pub(crate) sources: Vec<Flattened<'static>>,
    pub(crate) sinks: Vec<&'static [u8]>,
    pub(crate) transforms: Vec<Transform>,
    pub(crate) source_leaves: Vec<(u32, u32)>,
    pub(crate) arena: Vec<u8>,
    pub(crate) forms: Vec<Form>,
    pub(crate) form_leaf: Vec<u32>,
    /// Always empty between requests (its element type borrows).
    pub(crate) needles: Vec<&'static [u8]>,
    pub(crate) owner_head: Vec<u32>,
    pub(crate) owner_next: Vec<u32>,
    pub(crate) table: Vec<u32>,
    pub(crate) matched: Vec<bool>,
    pub(crate) found: Vec<(u32, u32, Kind, Transform)>,
    pub(crate) hits: Vec<(u32, usize)>,
    pub(crate) spanned: Vec<(usize, usize, u32)>,
}

/// Buffers larger than this are freed rather than kept.
const SCRATCH_MAX_BYTES: usize = 1 << 20;

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

/// An empty vector with the allocation of `v` (same element size and
/// alignment, so that the in-place collect keeps the buffer).
pub(crate) fn recycle<'a, 'b>(mut v: Vec<&'a [u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| unreachable!()).collect()
}

/// Clear `v` for the next request, or free it when it is too large to keep.
pub(crate) fn keep<T>(v: &mut Vec<T>) {
    if v.capacity() * std::mem::size_of::<T>() > SCRATCH_MAX_BYTES {
        *v = Vec::new();
    } else {
        v.clear();
    }
}

impl Scratch {
    /// This thread's buffers (fresh ones when another call holds them).
    pub(crate) fn take() -> Box<Scratch> {
        SCRATCH
            .try_with(|s| s.take())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Clear the buffers and give them back to this thread's pool.
    pub(crate) fn give_back(mut self: Box<Scratch>) {
        let s = &mut *self;
        keep(&mut s.escapes);
        keep(&mut s.transforms);
        keep(&mut s.source_leaves);
        keep(&mut s.arena);
        keep(&mut s.forms);
        keep(&mut s.form_leaf);
        keep(&mut s.needles);
        keep(&mut s.owner_head);
        keep(&mut s.owner_next);
        keep(&mut s.table);
        keep(&mut s.matched);
        keep(&mut s.found);
        keep(&mut s.hits);
        keep(&mut s.spanned);
        let _ = SCRATCH.try_with(|c| c.set(Some(self)));
    }
}
