"""Payload matcher for runtime data lineage (Rust, built by maturin).

>>> from matcher_rs import match_requests
>>> [result] = match_requests([([b'{"location": "Home, 123 Main St"}'],
...                             [b'"uploaded at Home, 123 Main St"', b'{"n": 42}'])])
>>> result.matches
[(0, 'location', 0, '', 'CONTAINS', None)]
>>> result.nomatch
[(0, 1)]
"""

from __future__ import annotations

from matcher_rs._native import (
    DEFAULT_MAX_CAPTURE_BYTES,
    DEFAULT_MIN_LENGTH,
    ProbeBatch,
    RequestResult,
    SignalBatch,
    decode_probe_events,
    default_stop_list,
    flatten,
    join_traces,
    match_requests,
    read_record_batches,
    transform_names,
    version,
)

__all__ = [
    "DEFAULT_MAX_CAPTURE_BYTES",
    "DEFAULT_MIN_LENGTH",
    "ProbeBatch",
    "RequestResult",
    "SignalBatch",
    "decode_probe_events",
    "default_stop_list",
    "flatten",
    "join_traces",
    "match_requests",
    "read_record_batches",
    "transform_names",
    "version",
]
