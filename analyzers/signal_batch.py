"""`flow-signals` record values in bulk: decoded and folded in Rust, the Python validator behind it.

The edge merge reads a signal per observation and batch of every source; a
Python dict and `FlowSignal` per message was the bulk of its time.
`matcher_rs.SignalBatch` decodes a partition's values, validates them as
`parse_signal` does and folds the signals of one observation (`signal_key`)
as `fold` does, so Python builds one `FlowSignal` per observation. The few
values it leaves (`undecided`: invalid JSON, a repeated key, an integer
beyond 64 bits, a tombstone) go through `decode_signal`, the reference,
so every verdict and reason is the Python one (a differential test holds
the two paths to it).

>>> batch = decode_signal_batch([
...     b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":5}',
...     b'{"v":2}', None,
...     b'{"v":1,"src":"a","dst":"b","kind":"CONTAINS","origin":"runtime","ts":7}'])
>>> len(batch), batch.dead()
(2, [(1, "signal: field 'v' must be 1"), (2, 'empty message (tombstone) on an input topic')])
>>> [(signal.count, signal.earliest, members) for signal, members in folded_signals(batch)]
[(2, 5, [0, 3])]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import matcher_rs
from analyzers.events import InvalidEvent, decode_event
from analyzers.signals import (
    ALL_KINDS,
    ORIGINS,
    FlowSignal,
    Origin,
    SignalKey,
    fold,
    parse_signal,
    signal_key,
)

#: Each observation's folded signal with the indexes of the values it folds.
Folds = list[tuple[FlowSignal, list[int]]]

__all__ = ["decode_signal", "decode_signal_batch", "fold_in_python", "folded_signals"]


def decode_signal(raw: bytes | None) -> FlowSignal | str:
    """One value through the Python validator: its signal, or its dead-letter reason."""
    try:
        return parse_signal(decode_event(raw))
    except InvalidEvent as exc:
        return exc.reason


def decode_signal_batch(values: Sequence[bytes | None]) -> matcher_rs.SignalBatch:
    """A partition's values decoded and folded in Rust, the undecided ones settled
    by `decode_signal`."""
    batch = matcher_rs.SignalBatch(values, ALL_KINDS, ORIGINS)
    for i in batch.undecided():
        verdict = decode_signal(values[i])
        if isinstance(verdict, str):
            batch.settle(i, verdict)
        else:
            batch.settle(i, (verdict.src, verdict.dst, verdict.kind, verdict.origin, verdict.ts,
                             verdict.transform, verdict.masking, verdict.count, verdict.earliest,
                             verdict.producer))
    return batch


def folded_signals(batch: matcher_rs.SignalBatch) -> Folds:
    """The batch's signals folded per observation (`SignalBatch.groups`), as
    `FlowSignal`s with the indexes of the values each folds."""
    return [(FlowSignal(src, dst, kind, cast(Origin, origin), ts, transform, masking, count,
                        earliest, producer), members)
            for (src, dst, kind, origin, ts, transform, masking, count, earliest, producer),
            members in batch.groups()]


def fold_in_python(values: Sequence[bytes | None]) -> tuple[Folds, list[tuple[int, str]]]:
    """The reference of `decode_signal_batch` + `folded_signals` + `dead()`: each value
    through `decode_signal`, then `fold` per `signal_key` in first-appearance order;
    with the invalid values' indexes and reasons."""
    verdicts = [decode_signal(raw) for raw in values]
    same: dict[SignalKey, list[int]] = {}
    refused: list[tuple[int, str]] = []
    for i, verdict in enumerate(verdicts):
        if isinstance(verdict, str):
            refused.append((i, verdict))
        else:
            same.setdefault(signal_key(verdict), []).append(i)
    folds = [(fold([cast(FlowSignal, verdicts[i]) for i in members]), members)
             for members in same.values()]
    return folds, refused
