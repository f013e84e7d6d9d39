//! Cache hints: ask for memory a few steps before it is read.
//!
//! The matcher's inputs are Python objects and payloads scattered over a
//! large heap; most of a batch's stalls were first touches of them. A
//! prefetch has no effect on memory and never faults, so any address will do.

/// Hint that the first bytes of `bytes` will be read soon.
#[inline]
pub(crate) fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = bytes.as_ptr();
        for k in 0..bytes.len().min(512).div_ceil(64) {
            // SAFETY: a prefetch has no effect on memory and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64 * k) as *const i8) };
        }
    }
}

/// Hint that the cache line at `p` will be written soon (a prefetch never
/// faults: any address will do).
#[inline]
pub fn prefetch_object(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no effect on memory and never faults.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
