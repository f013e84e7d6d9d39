"""TraceWindows: captures per trace in event-time windows, with caps and recovery."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from state.rocksdb import PartitionStore
from state.sealing import EpochKeys, Keyrings
from state.traces import Capture, TraceWindows, pack_captures, unpack_captures
from state.transaction import Transaction
from state.windows import Admission, WindowMeta

MakeTraces = Callable[..., TraceWindows]


def cap(role: str, ts: int, payload: bytes = b'"some value"', asset: str = "web://svc/x",
        ) -> Capture:
    return Capture(role=role, asset=asset, ts=ts, payload=payload)


def test_captures_round_trip_through_a_packed_record_with_any_payload() -> None:
    captures = [Capture(role="sink", asset='odd "asset"\x00', ts=7, payload=payload)
                for payload in (b"", b"\x00\x00raw\x00", b'{"k": "v\\u0000"}')]
    assert unpack_captures(pack_captures(captures)) == captures


def test_add_returns_earlier_captures_of_the_trace(tx: Transaction,
                                                   make_traces: MakeTraces) -> None:
    traces = make_traces(tx)
    first, second = cap("source", 1000), cap("sink", 1010)
    assert traces.add("t", first) == (Admission.STORED, [])
    assert traces.add("t", second) == (Admission.STORED, [first])
    assert traces.captures("t") == [first, second]


def test_out_of_order_captures_inside_the_window_are_stored(tx: Transaction,
                                                            make_traces: MakeTraces) -> None:
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("other", cap("source", 1200))  # the watermark is now 1200
    admission, _ = traces.add("t", cap("sink", 1100))  # 1100 + 150 > 1200
    assert admission is Admission.STORED
    admission, earlier = traces.add("t", cap("source", 1060))
    assert admission is Admission.STORED
    assert [c.ts for c in earlier] == [1100]
    assert traces.windows.watermark == 1200


def test_late_capture_is_not_stored(tx: Transaction, make_traces: MakeTraces) -> None:
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("other", cap("source", 2000))
    assert traces.add("t", cap("sink", 1850)) == (Admission.LATE, [])  # 1850 + 150 <= 2000
    assert traces.captures("t") == []
    assert traces.windows.meta("t") is None
    assert traces.windows.watermark == 2000


def test_late_capture_of_a_closed_trace_does_not_reopen_it(tx: Transaction,
                                                           make_traces: MakeTraces) -> None:
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("t", cap("source", 1000))
    traces.add("other", cap("source", 1150))
    assert traces.expire() == 1
    assert traces.add("t", cap("sink", 1000)) == (Admission.LATE, [])
    assert traces.captures("t") == []


def test_expire_deletes_captures_meta_and_index_exactly_at_close(
    tx: Transaction, make_traces: MakeTraces,
) -> None:
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("t", cap("source", 1000))
    traces.add("t", cap("sink", 1020))
    traces.add("other", cap("source", 1149))
    assert traces.expire() == 0
    assert len(traces.captures("t")) == 2
    traces.add("other", cap("sink", 1150))  # watermark reaches close_at = 1150
    assert traces.expire() == 1
    assert traces.captures("t") == []
    assert traces.windows.meta("t") is None
    remaining = [k for k, _ in tx.scan(b"trace|", b"trace|\xff")]
    assert all(b"other" in k or k == b"trace|w" for k in remaining), remaining


def test_expired_payloads_are_gone_from_the_store(store: PartitionStore,
                                                  make_traces: MakeTraces) -> None:
    tx = Transaction(store)
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("t", cap("source", 1000, payload=b'"SECRET-VALUE"'))
    tx.commit(0)
    traces.add("other", cap("source", 5000))
    traces.expire()
    tx.commit(1)
    assert all(b"SECRET-VALUE" not in v for _, v in store.scan(b"", b"\xff"))


def test_prefix_trace_ids_never_see_each_others_captures(tx: Transaction,
                                                         make_traces: MakeTraces) -> None:
    traces = make_traces(tx)
    ids = ["a", "a|b", "ab", "a|"]
    for i, trace_id in enumerate(ids):
        assert traces.add(trace_id, cap("source", 1000 + i, asset=trace_id)) == (
            Admission.STORED, [])
    for trace_id in ids:
        assert [c.asset for c in traces.captures(trace_id)] == [trace_id]


def test_expiring_a_trace_leaves_prefix_named_traces_alone(tx: Transaction,
                                                           make_traces: MakeTraces) -> None:
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("a", cap("source", 1000))
    traces.add("ab", cap("source", 1100))
    traces.add("a|b", cap("source", 1100))
    traces.add("x", cap("source", 1160))  # closes "a" (1150) only
    assert traces.expire() == 1
    assert traces.captures("a") == []
    assert len(traces.captures("ab")) == 1
    assert len(traces.captures("a|b")) == 1


def test_max_captures_overflow_is_counted(tx: Transaction, make_traces: MakeTraces) -> None:
    traces = make_traces(tx, max_captures=2)
    assert traces.add("t", cap("source", 1))[0] is Admission.STORED
    assert traces.add("t", cap("sink", 2))[0] is Admission.STORED
    assert traces.add("t", cap("sink", 3)) == (Admission.OVERFLOW, [])
    assert traces.add("t", cap("sink", 4)) == (Admission.OVERFLOW, [])
    meta = traces.windows.meta("t")
    assert meta is not None
    assert (meta.count, meta.overflow) == (2, 2)
    assert len(traces.captures("t")) == 2


def test_max_bytes_overflow_is_counted(tx: Transaction, make_traces: MakeTraces) -> None:
    traces = make_traces(tx, max_bytes=10)
    assert traces.add("t", cap("source", 1, payload=b"123456"))[0] is Admission.STORED
    assert traces.add("t", cap("sink", 2, payload=b"12345"))[0] is Admission.OVERFLOW
    assert traces.add("t", cap("sink", 3, payload=b"1234"))[0] is Admission.STORED  # = 10
    meta = traces.windows.meta("t")
    assert meta is not None
    assert (meta.count, meta.size, meta.overflow) == (2, 10, 1)


def test_caps_are_per_trace(tx: Transaction, make_traces: MakeTraces) -> None:
    traces = make_traces(tx, max_captures=1)
    assert traces.add("t1", cap("source", 1))[0] is Admission.STORED
    assert traces.add("t2", cap("source", 2))[0] is Admission.STORED


def test_a_restart_keeps_windows_and_watermark_but_loses_open_captures(
    open_store: Callable[[], PartitionStore], make_traces: MakeTraces,
) -> None:
    """The keys die with the process: what an open window held is lost, and counted."""
    store = open_store()
    tx = Transaction(store)
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    traces.add("t", cap("source", 1000))
    traces.add("t", cap("sink", 1001))
    traces.add("other", cap("source", 1100))
    tx.commit(1)
    store.close()

    tx = Transaction(open_store())
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
    assert traces.windows.watermark == 1100
    assert traces.add("t", cap("sink", 1040)) == (Admission.STORED, [])
    assert (traces.lost_windows, traces.lost_captures) == (1, 2)
    assert traces.add("late", cap("sink", 900))[0] is Admission.LATE
    meta = traces.windows.meta("t")
    assert meta is not None and meta.count == 3  # the caps still count what was lost
    tx.commit(2)
    traces = make_traces(Transaction(tx.store), size_ms=100, allowed_lateness_ms=50)
    assert [c.ts for c in traces.captures("t")] == [1040]
    assert traces.lost_windows == 0  # the unreadable record was deleted, counted once
    traces.add("other", cap("sink", 1150))
    assert traces.expire() == 1
    assert traces.captures("t") == []


def test_stored_captures_are_ciphertext_and_read_back_within_the_process(
    store: PartitionStore, make_traces: MakeTraces,
) -> None:
    tx = Transaction(store)
    traces = make_traces(tx)
    first, second = cap("source", 1000, b'"SECRET-ONE"'), cap("sink", 1001, b'"SECRET-TWO"')
    traces.add("t", first)
    traces.add("t", second)
    tx.commit(0)
    records = [v for k, v in store.scan(b"trace|c|", b"trace|c|\xff")]
    assert len(records) == 1  # one sealed record per trace and batch
    assert all(b"SECRET" not in v for _, v in store.scan(b"", b"\xff"))
    traces = make_traces(Transaction(store))
    assert traces.captures("t") == [first, second]


def test_a_record_moved_to_another_trace_does_not_open(
    store: PartitionStore, make_traces: MakeTraces,
) -> None:
    tx = Transaction(store)
    make_traces(tx).add("a", cap("source", 1000))
    tx.commit(0)
    ((key, sealed),) = list(store.scan(b"trace|c|", b"trace|c|\xff"))
    store.write({key.replace(b"1:a|", b"1:b|"): sealed})
    traces = make_traces(Transaction(store))
    assert traces.captures("b") == []
    assert traces.lost_captures == 1


def test_closing_every_window_of_an_epoch_forgets_its_key(
    store: PartitionStore, make_traces: MakeTraces, keyrings: Keyrings,
) -> None:
    tx = Transaction(store)
    traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)  # epochs of 50 ms
    traces.add("t", cap("source", 1000))  # closes at 1150: epoch 23
    tx.commit(0)
    ((key, sealed),) = list(store.scan(b"trace|c|", b"trace|c|\xff"))
    keys = keyrings.of(store)
    assert len(keys) == 1
    traces = make_traces(Transaction(store), size_ms=100, allowed_lateness_ms=50)
    traces.add("other", cap("source", 1150))  # t closes; epoch 23 runs to 1199
    traces.expire()
    assert keys.unseal(sealed, key) is not None
    traces.add("other", cap("sink", 1199))
    traces.expire()
    assert len(keys) == 0
    assert keys.unseal(sealed, key) is None


@pytest.mark.parametrize("batches", [[[0, 1, 2, 3]], [[0], [1], [2], [3]], [[0, 1], [2, 3]]])
def test_batch_boundaries_do_not_change_what_is_stored(
    store: PartitionStore, make_traces: MakeTraces, batches: list[list[int]],
) -> None:
    """A trace whose window the watermark passed starts a fresh window, in any batch.

    Expiry runs at the end of each batch; an event for an expired-but-not-yet-
    closed trace must not join (nor be deleted with) the stale window.
    """
    events = [("t", cap("source", 1000)), ("other", cap("source", 1200)),
              ("t", cap("sink", 1190)), ("t", cap("source", 1195))]
    admissions = []
    for batch in batches:
        tx = Transaction(store)
        traces = make_traces(tx, size_ms=100, allowed_lateness_ms=50)
        for i in batch:
            admission, earlier = traces.add(*events[i])
            admissions.append((admission, [c.ts for c in earlier]))
        traces.expire()
        tx.commit(batch[-1])
    assert admissions == [
        (Admission.STORED, []), (Admission.STORED, []),
        (Admission.STORED, []),  # not joined with the capture at 1000
        (Admission.STORED, [1190]),
    ]
    traces = make_traces(Transaction(store), size_ms=100, allowed_lateness_ms=50)
    assert [c.ts for c in traces.captures("t")] == [1190, 1195]


def _format_1_window(store: PartitionStore, make_traces: MakeTraces, trace_id: str,
                     records: int) -> tuple[Transaction, TraceWindows]:
    """A trace window as round 1 of issue 21 stored it (a JSON meta and a sealed
    record per batch numbered by its first capture, sealed by an earlier
    process), and a transaction over it with its traces."""
    prefix = b"trace|c|%d:%s|" % (len(trace_id), trace_id.encode())
    earlier = EpochKeys(epoch_ms=50)  # the earlier process's keys, gone with it
    changes: dict[bytes, bytes | None] = {
        b"trace|m|" + trace_id.encode(): orjson.dumps(
            {"first_ts": 1000, "close_at": 1150, "count": 2 * records, "size": 20,
             "overflow": 0}),
        b"trace|x|%020d|" % 1150 + trace_id.encode(): b"",
        b"trace|w": b"1000", b"trace|n": b"1"}
    for number in range(0, 2 * records, 2):
        key = prefix + b"%06d" % number
        changes[key] = earlier.seal(1150, pack_captures([cap("source", 1000)] * 2), 2, key)
    store.write(changes, 0)
    tx = Transaction(store)
    return tx, make_traces(tx)


def test_a_format_1_window_loses_its_records_and_continues_in_format_2(
    store: PartitionStore, make_traces: MakeTraces,
) -> None:
    tx, traces = _format_1_window(store, make_traces, "t", records=2)
    assert traces.add("t", cap("sink", 1010)) == (Admission.STORED, [])
    assert (traces.lost_windows, traces.lost_captures) == (1, 4)
    tx.commit(1)
    (key,) = [k for k, _ in store.scan(b"trace|c|", b"trace|c|\xff")]
    assert key == b"trace|c|1:t|"
    meta = WindowMeta.from_bytes(store.get(b"trace|m|t") or b"")
    assert (meta.count, meta.legacy) == (5, False)
    assert [c.ts for c in make_traces(Transaction(store)).captures("t")] == [1010]


def test_closing_a_format_1_window_deletes_its_numbered_records(
    store: PartitionStore, make_traces: MakeTraces,
) -> None:
    tx, traces = _format_1_window(store, make_traces, "t", records=3)
    traces.add("other", cap("source", 1150))
    assert traces.expire() == 1
    tx.commit(1)
    assert [k for k, _ in store.scan(b"trace|", b"trace|\xff")
            if b"t|" in k or k.endswith(b"|t")] == []
