"""The probe join's Rust path against its Python reference, over generated batches.

`ProbeJoin(native=True)` decodes the batch and joins it in Rust
(`matcher_rs.ProbeBatch`: the decoded events never cross into Python);
`native=False` decodes it with the Python validator and joins it event by
event in Python (`TraceWindows.add`, `match_requests`, `RuntimeFold`). Both
must send the same outputs in the same order, count the same metrics, and
leave byte-for-byte the same store: the captures are "sealed" in the clear
here (a key that only a restart loses) so that two stores can be compared.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream_fixtures import FakeMessage, RecordingSink

from state.sealing import HEADER_BYTES, EpochKeys, Keyrings
from state.traces import pack_captures
from state.windows import EventTimeBounds
from streams.pipeline.agents.probe_join import AGENT, ProbeJoin
from streams.pipeline.batch import InputRules, input_validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import Topology, load_topology

TOPIC = "probe-events"
TRACES = ["a", "b", "a|b", "ab"]
ASSETS = {"source": ["web://photos-web/upload", "postgres://db/app.users",
                     'web://photos-web/"up\\load"\u00e9\x07'],  # escaped in signals
          "sink": ["mysql://photos-db/photos.photos", "scribe://logs/uploaded",
                   "web://photos-web/upload"]}
SECRET = "Home, 123 Main St"
PAYLOADS: list[Any] = [
    {"location": SECRET, "email": "alice@example.com"}, {"loc": SECRET, "id": 7},
    {'lo"c\\\u00e9\n': SECRET},
    f"user {SECRET.lower()} uploaded", "alice@example.com", {"n": 42, "ok": True},
    SECRET, "x" * 130,  # over the capture cap below
    {"segment": "zzz-unrelated-zzz", "tags": [SECRET, "other value"]},
]


class ClearKeys(EpochKeys):
    """Records in the clear under a generation id: a restart (a new generation) loses them."""

    def __init__(self, epoch_ms: int, generation: int = 0) -> None:
        super().__init__(epoch_ms)
        self.kid = generation.to_bytes(8, "big")

    def seal(self, close_at: int, plaintext: bytes, count: int, aad: bytes) -> bytes:
        return self.kid + count.to_bytes(4, "big") + bytes(HEADER_BYTES - 12) + plaintext

    def unseal(self, sealed: bytes, aad: bytes) -> bytes | None:
        return sealed[HEADER_BYTES:] if sealed[:8] == self.kid else None


def small_topology() -> Topology:
    """Windows of 150 ms and caps a few events reach."""
    topology = load_topology()
    return replace(
        topology,
        windows=replace(topology.windows, trace=replace(
            topology.windows.trace, size_ms=100, allowed_lateness_ms=50)),
        caps=replace(topology.caps, capture_max_bytes=120, trace=replace(
            topology.caps.trace, max_captures=3, max_bytes=200)))


TOPOLOGY = small_topology()


#: Values the envelope check refuses or leaves to the Python validator.
ODD_VALUES: list[bytes | None] = [
    None, b"[]", b"{", b'{"v":2}', b'{"v":1,"type":"probe","ts":1.5}',
    b'{"v":1,"type":"probe","ts":1000,"trace_id":"a","role":"sink","asset":"x"}',
]

#: The event-time bounds of the generated runs (`InputRules`), or none.
BOUNDS = [None, EventTimeBounds(max_future_ms=200, max_age_ms=250),
          EventTimeBounds(max_future_ms=100, max_age_ms=-1)]


@st.composite
def events(draw: st.DrawFn) -> list[tuple[bytes | None, int | None]]:
    """Probe-event values with their record timestamps over a few traces, out of
    order, a few with a bad payload, an invalid envelope, a payload or a `ts`
    only the Python validator decides, or a `ts` far from its record's."""
    values: list[tuple[bytes | None, int | None]] = []
    for _ in range(draw(st.integers(1, 40))):
        role = draw(st.sampled_from(["source", "sink"]))
        event: dict[str, Any] = {
            "v": 1, "type": "probe", "trace_id": draw(st.sampled_from(TRACES)),
            "ts": draw(st.integers(1000, 1500)), "service": "svc", "role": role,
            "asset": draw(st.sampled_from(ASSETS[role]))}
        record = draw(st.none() | st.integers(event["ts"] - 400, event["ts"] + 400))
        odd = draw(st.integers(0, 20))
        if odd == 0:
            event["payload_b64"] = "!!not base64"  # a payload fault
        elif odd == 1:
            event["payload_b64"] = "eyJsb2MiOiAiSG9tZSwgMTIzIE1haW4gU3QifQ=="  # decided in Python
        elif odd == 2:
            event["payload"] = {"where": SECRET, "score": 0.5}  # a float: decided in Python
        else:
            event["payload"] = draw(st.sampled_from(PAYLOADS))
        value: bytes | None = orjson.dumps(event)
        if odd == 3:
            value = draw(st.sampled_from(ODD_VALUES))
        elif odd == 4:  # a `ts` beyond 64 bits
            value = (value or b"").replace(b'"ts":%d' % event["ts"], b'"ts":%d' % 2**64)
        values.append((value, record))
    return values


def format_1_window(store: Any, counted: bool = True) -> None:
    """Trace "a" as round 1 of issue 21 stored it, from an earlier process.

    Not `counted`: without the open-window count (a store older than it), so
    the count meets zero when the window closes."""
    key = b"trace|c|1:a|000000"
    records = {
        b"trace|m|a": orjson.dumps({"first_ts": 1000, "close_at": 1150, "count": 1,
                                    "size": 10, "overflow": 0}),
        b"trace|x|%020d|a" % 1150: b"", b"trace|w": b"1000",
        key: ClearKeys(1, generation=99).seal(1150, pack_captures([]), 1, key)}
    if counted:
        records[b"trace|n"] = b"1"
    store.write(records, 0)


@contextlib.contextmanager
def side(root: Path, legacy: bool, counted: bool = True) -> Iterator[StoreRegistry]:
    stores = StoreRegistry(root)
    if legacy:
        format_1_window(stores.get(AGENT, TOPIC, 0), counted)
    try:
        yield stores
    finally:
        stores.close()


async def run(values: list[tuple[bytes | None, int | None]], cuts: list[int],
              restarts: list[bool], native: bool, root: Path, legacy: bool,
              counted: bool = True, bounds: EventTimeBounds | None = None,
              ) -> tuple[list[list[tuple[str, bytes | None, bytes | None]]],
                         dict[str, int], list[tuple[bytes, bytes]]]:
    """Every batch's outputs, the counters and the store, for one side (the wall
    clock fixed: dead letters of invalid envelopes carry it)."""
    metrics = Metrics()
    generation = 0
    batches: list[list[tuple[str, bytes | None, bytes | None]]] = []
    offset = 1 if legacy else 0
    with side(root, legacy, counted) as stores, mock.patch("time.time", return_value=1.7e9):
        edges = sorted({0, len(values), *(c % (len(values) + 1) for c in cuts)})
        for number, (start, end) in enumerate(itertools.pairwise(edges)):
            if restarts[number % len(restarts)]:
                generation += 1
            keyrings = Keyrings(50, lambda epoch_ms, g=generation: ClearKeys(epoch_ms, g))
            handler = ProbeJoin(TOPOLOGY, metrics, keyrings, native=native)
            messages = [FakeMessage(TOPIC, 0, offset + i, b"k", value, record)
                        for i, (value, record) in enumerate(values[start:end], start)]
            sink = RecordingSink()
            await process_messages(messages, agent=AGENT, validate=input_validator(TOPIC),
                                   stores=stores, handler=handler, sink=sink, metrics=metrics,
                                   rules=InputRules(bounds=bounds))
            batches.append([(o.topic, o.key, o.value) for o in sink.outputs])
        store = stores.get(AGENT, TOPIC, 0)
        contents = list(store.scan(b"", b"\xff"))
    return batches, dict(metrics.counters), contents


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=events(), cuts=st.lists(st.integers(0, 40), max_size=4),
       restarts=st.lists(st.booleans(), min_size=1, max_size=4), legacy=st.booleans(),
       counted=st.booleans(), bounds=st.sampled_from(BOUNDS))
async def test_the_rust_join_sends_counts_and_stores_what_the_python_join_does(
    tmp_path_factory: Any, values: list[tuple[bytes | None, int | None]], cuts: list[int],
    restarts: list[bool], legacy: bool, counted: bool, bounds: EventTimeBounds | None,
) -> None:
    """The Rust join writes the store itself (`TraceWindows.apply`): keys, values and
    the open-window count (`counted` False: a count that meets zero) as Python does.
    The Rust side decodes the batch itself too (`ProbeBatch`: the events never
    cross into Python): the same dead letters, in the same order, for invalid
    envelopes, values the Python validator decides, and events out of bounds."""
    root = tmp_path_factory.mktemp("join")
    python = await run(values, cuts, restarts, False, root / "python", legacy, counted, bounds)
    native = await run(values, cuts, restarts, True, root / "native", legacy, counted, bounds)
    assert native[0] == python[0]
    assert native[1] == python[1]
    assert native[2] == python[2]


async def test_a_batch_with_every_branch_joins_the_same_both_ways(tmp_path: Path) -> None:
    """Matches, a late event, overflow, a lost format-1 window, a restart, closed windows."""
    sources = [{"v": 1, "type": "probe", "trace_id": "a", "ts": ts, "service": "s",
                "role": "source", "asset": ASSETS["source"][0], "payload": PAYLOADS[0]}
               for ts in (1000, 1001, 1002, 1003)]
    sink = {**sources[0], "role": "sink", "asset": ASSETS["sink"][0], "ts": 1010,
            "payload": PAYLOADS[1]}
    late = {**sink, "trace_id": "b", "ts": 1000}
    later = {**sink, "trace_id": "b", "ts": 1400}
    values = [(orjson.dumps(e), None) for e in [sources[0], sink, *sources[1:], later, late]]
    python = await run(values, [2], [False, True], False, tmp_path / "python", legacy=True)
    native = await run(values, [2], [False, True], True, tmp_path / "native", legacy=True)
    assert native == python
    batches, counters, _ = native
    assert [t for t, _, _ in batches[0]] == ["flow-signals"]  # the sink matched the source
    # "a" held 1 capture (format 1, lost), then 2: the 3 later sources are over the cap
    assert (counters[f"{AGENT}.stored"], counters[f"{AGENT}.overflow"]) == (3, 3)
    # the format-1 capture, then the 2 of the first batch at the restart before the second
    assert (counters[f"{AGENT}.late"], counters[f"{AGENT}.lost_captures"]) == (1, 3)
    assert counters[f"{AGENT}.traces_closed"] == 1  # "a", once "b" at 1400 passed 1150
