"""process_messages: skip applied offsets, dead-letter bad input, send, flush, then commit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from stream_fixtures import (
    FakeMessage,
    FlushFailed,
    MessageFactory,
    RecordingSink,
    Runner,
    dead_letters,
    original_bytes,
    signal_set,
)

from analyzers.events import InvalidEvent
from state.transaction import Transaction
from streams.pipeline.agents.static_intake import handle_static
from streams.pipeline.batch import (
    InEvent,
    Output,
    decode_messages,
    fresh_partitions,
    group_by_partition,
    input_validator,
    message_values,
    process_partitions,
    record_times_ms,
    split_by_partition,
)
from streams.pipeline.metrics import Metrics
from streams.pipeline.record_run import RecordRun
from streams.pipeline.stores import StoreRegistry

TOPIC = "static-flows"
AGENT = "static-intake"


def static(n: int, ts: int = 1000) -> dict[str, Any]:
    return {"v": 1, "type": "static", "source": f"web://svc/in#f{n}",
            "sink": f"http://ads/out#f{n}", "ts": ts}


def edge(n: int) -> str:
    return f"web://svc/in#f{n} -> http://ads/out#f{n}"


@pytest.fixture()
def run(make_runner: Callable[..., Runner]) -> Runner:
    return make_runner(AGENT, handle_static, input_validator(TOPIC))


@pytest.fixture()
def msg(make_messages: Callable[[str], MessageFactory]) -> MessageFactory:
    return make_messages(TOPIC)


def test_decode_messages_splits_good_from_dead(msg: MessageFactory) -> None:
    metrics = Metrics()
    good_msg = msg(static(1), key=b"k")
    bad_msg = msg(b"{nope")
    good, dead = decode_messages([good_msg, bad_msg], validate=input_validator(TOPIC),
                                 agent=AGENT, metrics=metrics)
    assert [g.event["source"] for g in good] == ["web://svc/in#f1"]
    assert good[0].origin.key == f"{TOPIC}:0:0"
    assert good[0].raw == good_msg.value and good[0].key == b"k"
    assert [(d.topic, d.key) for d in dead] == [("dead-letters", f"{TOPIC}:0:1".encode())]
    assert metrics.counters[f"{AGENT}.dead_letters"] == 1


async def test_bad_messages_become_dead_letters_and_the_rest_goes_on(
    run: Runner, msg: MessageFactory, sink: RecordingSink,
) -> None:
    missing_sink = static(9)
    del missing_sink["sink"]
    probe = {"v": 1, "type": "probe", "trace_id": "t", "ts": 1, "role": "source",
             "asset": "web://svc/x", "payload": "SECRET-VALUE-123"}
    batch = [
        msg(static(1)),
        msg(b'{"v": 1, "type": "static", "source": "SECRET-VALUE-123"'),  # malformed JSON
        msg(missing_sink),  # invalid envelope
        msg(probe),  # a probe event on static-flows
        msg(None),  # tombstone
        msg(static(2)),
    ]
    outputs = await run(batch)
    assert signal_set(outputs) == {(edge(1), "STATIC"), (edge(2), "STATIC")}
    letters = dead_letters(outputs)
    assert [d["origin"] for d in letters] == [f"{TOPIC}:0:{i}" for i in (1, 2, 3, 4)]
    assert [o.key for o in outputs if o.topic == "dead-letters"] == [
        f"{TOPIC}:0:{i}".encode() for i in (1, 2, 3, 4)]
    reasons = [d["reason"] for d in letters]
    assert "not valid JSON" in reasons[0]
    assert "sink" in reasons[1]
    assert "does not belong on topic" in reasons[2]
    assert "tombstone" in reasons[3]
    for letter, message in zip(letters, batch[1:5], strict=True):
        assert letter["agent"] == AGENT
        if message.value is None:
            assert letter["value_b64"] is None
        else:
            assert original_bytes(letter) == message.value
        assert "SECRET-VALUE-123" not in letter["reason"]
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 5


async def test_a_batch_of_only_bad_messages_still_commits_its_offset(
    run: Runner, msg: MessageFactory,
) -> None:
    outputs = await run([msg(b"not json"), msg(b"[]")])
    assert len(dead_letters(outputs)) == 2
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 1


async def test_commit_comes_after_the_flush(run: Runner, msg: MessageFactory,
                                            sink: RecordingSink) -> None:
    sink.on_flush = lambda: run.stores.get(AGENT, TOPIC, 0).offset()
    await run([msg(static(1)), msg(static(2))])
    assert sink.log == ["send:2", "flush"]
    assert sink.seen_at_flush == [-1]  # nothing committed when the flush ran
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 1


async def test_a_failed_flush_commits_nothing(run: Runner, msg: MessageFactory,
                                              sink: RecordingSink) -> None:
    batch = [msg(static(1)), msg(static(2))]
    sink.fail_flush = True
    with pytest.raises(FlushFailed):
        await run(batch)
    assert run.stores.get(AGENT, TOPIC, 0).offset() == -1
    sink.fail_flush = False
    outputs = await run(batch)  # redelivered: processed again (at-least-once)
    assert signal_set(outputs) == {(edge(1), "STATIC"), (edge(2), "STATIC")}


async def test_offsets_are_committed_per_partition(run: Runner, msg: MessageFactory,
                                                   sink: RecordingSink) -> None:
    batch = [msg(static(1), partition=0), msg(static(2), partition=1, offset=40),
             msg(static(3), partition=0), msg(static(4), partition=1, offset=41)]
    await run(batch)
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 1
    assert run.stores.get(AGENT, TOPIC, 1).offset() == 41
    assert sink.log.count("flush") == 1  # one flush for the whole batch


async def test_already_applied_offsets_are_skipped(run: Runner, msg: MessageFactory) -> None:
    first = [msg(static(1)), msg(static(2))]
    await run(first)
    assert await run(first) == []  # a redelivery after the commit
    outputs = await run([*first, msg(static(3))])
    assert signal_set(outputs) == {(edge(3), "STATIC")}
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 2


async def test_nothing_fresh_means_no_flush(run: Runner, msg: MessageFactory,
                                            sink: RecordingSink) -> None:
    batch = [msg(static(1))]
    await run(batch)
    sink.clear()
    await run(batch)
    assert sink.log == []


def test_split_by_partition_drops_applied_and_keeps_the_last_offset(
    stores: StoreRegistry, msg: MessageFactory,
) -> None:
    stores.get(AGENT, TOPIC, 0).write({}, offset=5)
    messages: list[FakeMessage] = [msg(static(i), offset=i) for i in range(4, 8)]
    messages.append(msg(static(9), partition=3, offset=0))
    fresh = split_by_partition(messages, stores, AGENT)
    assert {p: ([m.offset for m in items], last) for p, (items, last) in fresh.items()} == {
        0: ([6, 7], 7), 3: ([0], 0)}
    stores.get(AGENT, TOPIC, 3).write({}, offset=0)
    assert 3 not in split_by_partition(messages, stores, AGENT)


def test_fresh_partitions_keep_order_and_skip_applied_in_any_order(
    stores: StoreRegistry, msg: MessageFactory,
) -> None:
    stores.get(AGENT, TOPIC, 0).write({}, offset=5)
    unordered: list[FakeMessage] = [msg(static(i), offset=i) for i in (7, 4, 6, 5)]
    [(items, last)] = split_by_partition(unordered, stores, AGENT).values()
    assert ([m.offset for m in items], last) == ([7, 6], 7)
    one_partition: list[FakeMessage] = [msg(static(i), offset=i) for i in (8, 9)]
    assert group_by_partition(one_partition) == {0: one_partition}
    two = [*one_partition, msg(static(1), partition=2, offset=0), msg(static(2), offset=10)]
    grouped = group_by_partition(two)
    assert {p: [m.offset for m in items] for p, items in grouped.items()} == {
        0: [8, 9, 10], 2: [0]}
    assert fresh_partitions({0: [], 1: []}, stores, AGENT) == {}


async def test_handler_state_is_committed_with_the_offset(
    make_runner: Callable[..., Runner], msg: MessageFactory,
) -> None:
    def handler(tx: Transaction, events: list[InEvent]) -> list[Output]:
        count = int(tx.get(b"count") or b"0") + len(events)
        tx.put(b"count", str(count).encode())
        return []

    run = make_runner("counter", handler, input_validator(TOPIC))
    batch = [msg(static(1)), msg(static(2))]
    await run(batch)
    await run([*batch, msg(static(3))])
    store = run.stores.get("counter", TOPIC, 0)
    assert (store.get(b"count"), store.offset()) == (b"3", 2)


def test_invalid_event_carries_a_safe_reason() -> None:
    with pytest.raises(InvalidEvent, match="does not belong"):
        input_validator("probe-events")(static(1))


def _as_run(messages: list[FakeMessage]) -> RecordRun:
    """One partition's messages as the columns a fetch reads them into."""
    first = messages[0]
    return RecordRun(first.topic, first.partition, [m.offset for m in messages],
                     [m.timestamp if m.timestamp is not None else -1 for m in messages],
                     [m.key for m in messages], [m.value for m in messages])


async def test_a_record_run_is_handled_as_its_records_are(
    tmp_path: Path, msg: MessageFactory,
) -> None:
    """Columns or records: the same outputs, dead letters, state and offset, and the
    already-applied head of a run skipped as a list's is."""
    batch = [msg(static(n), key=b"k%d" % n, timestamp=5000 + n) if n != 2
             else msg(b"{nope", timestamp=7000) for n in range(5)]
    run_ = _as_run(batch)
    assert message_values(run_) == [m.value for m in batch]
    assert record_times_ms(run_) == [m.timestamp for m in batch]
    results = []
    for side, messages in (("records", batch), ("columns", run_)):
        stores, sink = StoreRegistry(tmp_path / side), RecordingSink()
        stores.get(AGENT, TOPIC, 0).write({}, offset=1)  # the first two: applied
        await process_partitions({0: messages}, agent=AGENT, validate=input_validator(TOPIC),
                                 stores=stores, handler=handle_static, sink=sink,
                                 metrics=Metrics())
        store = stores.get(AGENT, TOPIC, 0)
        sent = [(o.topic, o.key, {**orjson.loads(o.value or b"{}"), "ts": None})
                for o in sink.outputs]  # a dead letter's ts is the clock's
        results.append((sent, list(store.scan(b"", b"\xff")), store.offset()))
        if side == "columns":
            assert fresh_partitions({0: run_[2:]}, stores, AGENT) == {}  # all applied now
        stores.close()
    assert results[0] == results[1]
    sent, state, offset = results[1]
    assert offset == 4 and state
    assert [(topic, body.get("offset")) for topic, _, body in sent] == [
        ("dead-letters", 2), ("flow-signals", None), ("flow-signals", None)]
    fresh = fresh_partitions({0: run_}, StoreRegistry(tmp_path / "empty"), AGENT)
    assert fresh == {0: (run_, 4)}  # nothing applied: the run as it is
