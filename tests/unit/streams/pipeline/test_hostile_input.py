"""Hostile input through process_messages: far-future and too-old events, poison pills.

Real RocksDB stores and the real probe join (Rust decoding and matching); only
the handler made to raise in the poison tests is a test double around a real one.
"""

from __future__ import annotations

import doctest
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from stream_fixtures import (
    FakeMessage,
    MessageFactory,
    RecordingSink,
    Runner,
    dead_letters,
    original_bytes,
    signal_set,
)

from state.transaction import Transaction
from state.windows import EventTimeBounds
from streams.pipeline import poison
from streams.pipeline.agents.probe_join import ProbeJoin
from streams.pipeline.agents.static_intake import handle_static
from streams.pipeline.app import input_rules
from streams.pipeline.batch import (
    InEvent,
    InputRules,
    Output,
    input_validator,
    record_time_ms,
    record_times_ms,
)
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import Topology

PROBES = "probe-events"
NOW = 1_764_900_000_000  # the record timestamps of these tests (Dec 2025)
YEAR_3000 = 32_503_680_000_000
WEB = "web://shop/checkout"
DB = "mysql://db/orders.orders"


def probe(trace: str, role: str, asset: str, ts: int, value: str) -> dict[str, Any]:
    return {"v": 1, "type": "probe", "trace_id": trace, "ts": ts, "role": role,
            "asset": asset, "payload": {"field": value}}


def trace(msg: MessageFactory, n: int, ts: int) -> list[FakeMessage]:
    """A source and a sink capture of trace `t-n` sharing a value: one edge when joined."""
    value = f"customer-{n:04d}-address"
    return [msg(probe(f"t-{n}", "source", WEB, ts, value), timestamp=ts),
            msg(probe(f"t-{n}", "sink", DB, ts + 5, value), timestamp=ts + 5)]


EDGE = (f"{WEB}#field -> {DB}#field", "EXACT_MATCH")


@pytest.fixture()
def probe_run(make_runner: Callable[..., Runner], topology: Topology,
              metrics: Metrics) -> Runner:
    runner = make_runner("probe-join", ProbeJoin(topology, metrics), input_validator(PROBES))
    runner.rules = input_rules(topology, PROBES)
    return runner


def test_doctests_of_the_new_modules() -> None:
    import state.windows
    from streams.pipeline import deadletters

    for module in (poison, state.windows, deadletters):
        assert doctest.testmod(module).failed == 0


def test_record_time_is_read_from_aiokafka_and_faust_messages() -> None:
    aiokafka_like = FakeMessage(PROBES, 0, 0, None, b"", timestamp=NOW)
    faust_like = FakeMessage(PROBES, 0, 0, None, b"", timestamp=None)
    faust_like.timestamp = NOW / 1000  # type: ignore[assignment]  # Faust: float seconds
    assert record_time_ms(aiokafka_like) == record_time_ms(faust_like) == NOW
    assert record_time_ms(FakeMessage(PROBES, 0, 0, None, b"", timestamp=-1)) is None


def test_record_times_of_a_batch_agree_with_one_at_a_time() -> None:
    ints = [FakeMessage(PROBES, 0, i, None, b"", timestamp=t) for i, t in enumerate([NOW, -1, 0])]
    assert record_times_ms(ints) == [NOW, -1, 0]  # as read: negative is "none" for the bound
    mixed = [*ints, FakeMessage(PROBES, 0, 3, None, b"", timestamp=None)]
    mixed[0].timestamp = NOW / 1000  # type: ignore[assignment]  # Faust: float seconds
    assert record_times_ms(mixed) == [record_time_ms(m) for m in mixed] == [NOW, None, 0, None]

    class Bare:
        topic, partition, offset, key, value = PROBES, 0, 0, None, b""

    assert record_times_ms([Bare()]) == [None]  # type: ignore[list-item]


def test_bounds_come_from_topology_for_input_topics_only(topology: Topology) -> None:
    rules = input_rules(topology, PROBES)
    assert rules.bounds == EventTimeBounds(topology.event_time.max_future_ms,
                                           topology.event_time.max_age_ms)
    assert rules.attempts == topology.poison.attempts
    assert input_rules(topology, "flow-signals").bounds is None  # stamped by our own clock


async def test_a_year_3000_event_does_not_blind_its_partition(
    probe_run: Runner, make_messages: Callable[[str], MessageFactory], metrics: Metrics,
) -> None:
    """The issue's scenario: one bad clock, then valid traces on that partition all join."""
    msg = make_messages(PROBES)
    bad = msg(probe("t-bad", "source", WEB, YEAR_3000, "x"), timestamp=NOW)
    outputs = await probe_run([bad])
    (letter,) = dead_letters(outputs)
    assert letter["reason"].startswith("event time: ts is ")
    assert "max_future_ms" in letter["reason"]
    assert original_bytes(letter) == bad.value and letter["record_ts"] == NOW
    joined = 0
    for n in range(12):
        outputs = await probe_run(trace(msg, n, NOW + 1000 * n))
        joined += signal_set(outputs) == {EDGE}
    assert joined == 12
    assert metrics.counters["probe-join.late"] == 0
    assert metrics.counters["probe-join.dead_letters.event_time"] == 1


async def test_without_bounds_the_same_event_blinds_the_partition(
    make_runner: Callable[..., Runner], topology: Topology, metrics: Metrics,
    make_messages: Callable[[str], MessageFactory],
) -> None:
    """What the bounds prevent (so the test above means something)."""
    run = make_runner("probe-join", ProbeJoin(topology, metrics), input_validator(PROBES))
    msg = make_messages(PROBES)
    await run([msg(probe("t-bad", "source", WEB, YEAR_3000, "x"), timestamp=NOW)])
    outputs = await run(trace(msg, 1, NOW))
    assert signal_set(outputs) == set()
    assert metrics.counters["probe-join.late"] == 2


async def test_an_event_older_than_the_age_bound_is_a_dead_letter(
    probe_run: Runner, make_messages: Callable[[str], MessageFactory],
) -> None:
    week = 604_800_000  # the input topics' retention, as an operator with live producers sets it
    probe_run.rules = InputRules(EventTimeBounds(max_future_ms=300_000, max_age_ms=week), 3)
    msg = make_messages(PROBES)
    old = NOW - week - 1
    outputs = await probe_run([msg(probe("t-old", "sink", DB, old, "x"), timestamp=NOW),
                               *trace(msg, 1, NOW)])
    (letter,) = dead_letters(outputs)
    assert "older than its record timestamp (max_age_ms" in letter["reason"]
    assert signal_set(outputs) == {EDGE}


async def test_by_default_history_with_its_own_old_ts_is_admitted(
    probe_run: Runner, make_messages: Callable[[str], MessageFactory], topology: Topology,
) -> None:
    """The demo and `lineage send` of an old log: `ts` of 2025, sent a year later."""
    assert topology.event_time.max_age_ms == -1
    msg = make_messages(PROBES)
    year = 365 * 86_400_000
    old = [msg(orjson.loads(m.value or b"{}"), timestamp=NOW + year) for m in trace(msg, 1, NOW)]
    outputs = await probe_run(old)
    assert signal_set(outputs) == {EDGE} and dead_letters(outputs) == []


async def test_the_envelope_path_applies_the_bounds_too(
    make_runner: Callable[..., Runner], topology: Topology,
    make_messages: Callable[[str], MessageFactory],
) -> None:
    run = make_runner("static-intake", handle_static, input_validator("static-flows"))
    run.rules = input_rules(topology, "static-flows")
    msg = make_messages("static-flows")
    flow = {"v": 1, "type": "static", "source": "web://a/x", "sink": "http://b/y"}
    outputs = await run([msg({**flow, "ts": YEAR_3000}, timestamp=NOW),
                         msg({**flow, "ts": NOW}, timestamp=NOW)])
    assert [d["reason"][:11] for d in dead_letters(outputs)] == ["event time:"]
    assert len([o for o in outputs if o.topic == "flow-signals"]) == 1


# -- poison pills ---------------------------------------------------------------------------

class Raising:
    """A real handler that raises on every batch holding one chosen record, `times` times
    at most (None: always)."""

    def __init__(self, inner: Callable[[Transaction, list[Any]], list[Output]], poisoned: bytes,
                 times: int | None = None) -> None:
        self.inner = inner
        self.poisoned = poisoned
        self.times = times
        self.raised = 0

    def __call__(self, tx: Transaction, events: list[InEvent]) -> list[Output]:
        if any(e.raw == self.poisoned for e in events) and (
                self.times is None or self.raised < self.times):
            self.raised += 1
            raise KeyError(f"a message that quotes {self.poisoned!r}")
        return self.inner(tx, events)


def static(n: int) -> dict[str, Any]:
    return {"v": 1, "type": "static", "source": f"web://svc/in#f{n}",
            "sink": f"http://ads/out#f{n}", "ts": 1000 + n}


async def test_a_poison_pill_is_retried_then_dead_lettered_and_the_rest_goes_on(
    stores: StoreRegistry, sink: RecordingSink, metrics: Metrics,
    make_messages: Callable[[str], MessageFactory],
) -> None:
    msg = make_messages("static-flows")
    batch_ = [msg(static(n), key=b"k") for n in range(5)]
    handler = Raising(handle_static, batch_[2].value or b"")
    run = Runner("static-intake", handler, input_validator("static-flows"), stores, sink,
                 metrics, InputRules(attempts=3))
    outputs = await run(batch_)
    (letter,) = dead_letters(outputs)
    assert letter["reason"] == "handler: raised KeyError on each of 3 attempts"
    assert letter["origin"] == "static-flows:0:2" and original_bytes(letter) == batch_[2].value
    assert handler.raised == 1 + 3  # the batch, then the record alone three times
    assert len([o for o in outputs if o.topic == "flow-signals"]) == 4
    assert stores.get("static-intake", "static-flows", 0).offset() == 4
    assert metrics.counters["static-intake.poison_pills"] == 1
    assert metrics.counters["static-intake.dead_letters.handler"] == 1
    # the worker goes on: the next batch is handled as one again
    later = await run([msg(static(9))])
    assert len(later) == 1 and later[0].topic == "flow-signals"


async def test_a_handler_that_fails_once_loses_nothing(
    stores: StoreRegistry, sink: RecordingSink, metrics: Metrics,
    make_messages: Callable[[str], MessageFactory],
) -> None:
    msg = make_messages("static-flows")
    batch_ = [msg(static(n)) for n in range(3)]
    run = Runner("static-intake", Raising(handle_static, batch_[1].value or b"", times=1),
                 input_validator("static-flows"), stores, sink, metrics, InputRules(attempts=3))
    outputs = await run(batch_)
    assert dead_letters(outputs) == []
    assert len(outputs) == 3
    assert metrics.counters["static-intake.handler_failures"] == 1


class PoisonedJoin(ProbeJoin):
    """The real probe join (Rust decoding, its own batch path) raising on one trace."""

    def __call__(self, tx: Transaction, events: list[Any]) -> list[Output]:
        if any(fields[0] == "t-poison" for fields, _ in events if isinstance(fields, tuple)):
            raise ValueError("boom")
        return super().__call__(tx, events)


async def test_a_poison_pill_in_the_probe_join_costs_one_dead_letter(
    stores: StoreRegistry, sink: RecordingSink, metrics: Metrics, topology: Topology,
    make_messages: Callable[[str], MessageFactory],
) -> None:
    msg = make_messages(PROBES)
    run = Runner("probe-join", PoisonedJoin(topology, metrics), input_validator(PROBES),
                 stores, sink, metrics, input_rules(topology, PROBES))
    one = trace(msg, 1, NOW)
    pill = msg(probe("t-poison", "source", WEB, NOW, "x"), timestamp=NOW)
    first = await run([*one, pill, *trace(msg, 2, NOW + 10)])
    later = await run(trace(msg, 3, NOW + 20))
    (letter,) = dead_letters(first)
    assert letter["reason"].startswith("handler: raised ValueError on each of ")
    assert letter["origin"] == f"{PROBES}:0:2"
    signals = [o for o in first + later if o.topic == "flow-signals"]
    assert len(signals) == 3  # traces 1, 2 and 3 all joined
    assert stores.get("probe-join", PROBES, 0).offset() == 6



async def test_a_record_whose_state_cannot_be_written_is_a_poison_pill(
    probe_run: Runner, make_messages: Callable[[str], MessageFactory],
) -> None:
    """A real failure, not a test double: an asset name over 65,535 bytes cannot be packed
    into the trace window's record, which fails when the state is written."""
    msg = make_messages(PROBES)
    one = trace(msg, 1, NOW)
    pill = msg(probe("t-long", "source", "web://x/" + "a" * 70_000, NOW, "x"), timestamp=NOW)
    outputs = await probe_run([*one, pill, *trace(msg, 2, NOW + 10)])
    (letter,) = dead_letters(outputs)
    assert letter["reason"] == "handler: raised struct.error on each of 3 attempts"
    assert len([o for o in outputs if o.topic == "flow-signals"]) == 2
