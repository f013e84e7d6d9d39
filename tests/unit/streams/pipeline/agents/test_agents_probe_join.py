"""Probe join end to end through process_messages with a real store and the Rust matcher."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
import pytest
from stream_fixtures import (
    MessageFactory,
    Runner,
    body,
    dead_letters,
    original_bytes,
    signal_set,
)

from analyzers.payloads import payload_bytes
from streams.pipeline.agents.probe_join import AGENT, ProbeJoin
from streams.pipeline.batch import Output, input_validator
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

TOPIC = "probe-events"
SECRET_ADDRESS = "Home, 123 Main St"
SECRET_EMAIL = "Alice.Secret@Example.com"
SECRETS = (SECRET_ADDRESS, SECRET_EMAIL, SECRET_EMAIL.lower())

WEB = "web://photos-web/handlePhotoUpload"
DB = "mysql://photos-db/photos.photos"
LOG = "scribe://logs/photo_uploaded"
ADS = "http://ads-service/ad_targeting"


def probe(role: str, asset: str, payload: Any, ts: int, trace: str = "t-1",
          **extra: Any) -> dict[str, Any]:
    return {"v": 1, "type": "probe", "trace_id": trace, "ts": ts, "service": "svc",
            "role": role, "asset": asset, "payload": payload, **extra}


SOURCE = probe("source", WEB, {"location": SECRET_ADDRESS, "email": SECRET_EMAIL}, 1000)
SINKS = [
    probe("sink", DB, {"loc": SECRET_ADDRESS, "id": 7}, 1010),
    probe("sink", LOG, f"user {SECRET_EMAIL.lower()} uploaded", 1020),
    probe("sink", ADS, {"segment": "zzz-unrelated-zzz"}, 1030),
]
EXPECTED = {
    (f"{WEB}#location -> {DB}#loc", "EXACT_MATCH"),
    (f"{WEB}#email -> {LOG}", "CONTAINS"),
    (f"{WEB} -> {ADS}", "NO_MATCH"),
}


@pytest.fixture()
def msg(make_messages: Callable[[str], MessageFactory]) -> MessageFactory:
    return make_messages(TOPIC)


@pytest.fixture()
def make_run(make_runner: Callable[..., Runner], metrics: Metrics,
             topology: Topology) -> Callable[..., Runner]:
    def factory(topo: Topology | None = None) -> Runner:
        return make_runner(AGENT, ProbeJoin(topo or topology, metrics),
                           input_validator(TOPIC))

    return factory


@pytest.fixture()
def run(make_run: Callable[..., Runner]) -> Runner:
    return make_run()


def assert_no_secret(outputs: list[Output]) -> None:
    """No output but a dead letter's base64 original holds a payload value."""
    for out in outputs:
        for secret in SECRETS:
            assert secret.encode() not in out.key
            assert out.value is None or secret.encode() not in out.value


async def test_source_then_sinks_give_match_and_nomatch_signals(
    run: Runner, msg: MessageFactory,
) -> None:
    outputs = await run([msg(SOURCE, key=b"t-1"), *(msg(s) for s in SINKS)])
    assert signal_set(outputs) == EXPECTED
    assert all(body(o)["origin"] == "runtime" for o in outputs)
    assert_no_secret(outputs)


async def test_arrival_order_does_not_change_the_signals(
    make_run: Callable[..., Runner], make_messages: Callable[[str], MessageFactory],
) -> None:
    forward = await make_run()([make_messages(TOPIC)(e) for e in (SOURCE, *SINKS)])
    reverse_run = make_run()
    reverse_run.agent = "probe-join-reverse"  # its own stores
    reverse = await reverse_run([make_messages(TOPIC)(e) for e in (*reversed(SINKS), SOURCE)])
    assert signal_set(forward) == signal_set(reverse) == EXPECTED


async def test_captures_split_over_batches_still_join(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([msg(SINKS[0])])
    assert outputs == []
    outputs = await run([msg(SOURCE)])
    assert signal_set(outputs) == {(f"{WEB}#location -> {DB}#loc", "EXACT_MATCH")}


async def test_transform_is_named_on_the_signal(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([msg(SOURCE), msg(SINKS[1])])
    [signal] = [body(o) for o in outputs]
    assert signal["kind"] == "CONTAINS"
    assert signal["transform"] == "lowercase"


async def test_captures_of_other_traces_do_not_join(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([msg(SOURCE), msg({**SINKS[0], "trace_id": "t-1|x"}),
                         msg({**SINKS[0], "trace_id": "t-10"})])
    assert outputs == []


async def test_payload_b64_is_matched_as_bytes(run: Runner, msg: MessageFactory) -> None:
    sink = probe("sink", DB, None, 1010)
    del sink["payload"]
    sink["payload_b64"] = base64.b64encode(orjson.dumps({"loc": SECRET_ADDRESS})).decode()
    outputs = await run([msg(SOURCE), msg(sink)])
    assert signal_set(outputs) == {(f"{WEB}#location -> {DB}#loc", "EXACT_MATCH")}
    assert_no_secret(outputs)


def test_payload_bytes_prefers_payload_b64() -> None:
    assert payload_bytes({"payload": {"a": 1}}) == b'{"a":1}'
    assert payload_bytes({"payload_b64": base64.b64encode(b"\x00raw").decode()}) == b"\x00raw"


async def test_bad_base64_and_oversized_payload_become_dead_letters(
    make_run: Callable[..., Runner], topology: Topology, msg: MessageFactory,
) -> None:
    small = replace(topology, caps=replace(topology.caps, capture_max_bytes=100))
    run = make_run(small)
    bad_b64 = probe("sink", DB, None, 1010, payload_b64=f"!!{SECRET_ADDRESS}!!")
    del bad_b64["payload"]
    too_big = probe("sink", LOG, f"{SECRET_EMAIL} " * 10, 1020)
    batch = [msg(SOURCE, key=b"t-1"), msg(bad_b64, key=b"t-1"), msg(too_big, key=b"t-1"),
             msg(SINKS[0])]
    outputs = await run(batch)
    letters = dead_letters(outputs)
    assert [d["origin"] for d in letters] == [f"{TOPIC}:0:1", f"{TOPIC}:0:2"]
    assert [o.key for o in outputs if o.topic == "dead-letters"] == [
        f"{TOPIC}:0:1".encode(), f"{TOPIC}:0:2".encode()]
    assert "base64" in letters[0]["reason"]
    assert "over the cap of 100" in letters[1]["reason"]
    for letter, message in zip(letters, batch[1:3], strict=True):
        assert original_bytes(letter) == message.value
        assert base64.b64decode(letter["key_b64"]) == b"t-1"
        assert letter["ts"] == orjson.loads(message.value or b"{}")["ts"]
        for secret in SECRETS:
            assert secret not in letter["reason"]
    # the rest of the batch went on
    assert signal_set(outputs) == {(f"{WEB}#location -> {DB}#loc", "EXACT_MATCH")}
    assert_no_secret([o for o in outputs if o.topic != "dead-letters"])


async def test_late_capture_is_counted_not_joined_and_dead_lettered(
    run: Runner, msg: MessageFactory, metrics: Metrics, topology: Topology,
) -> None:
    window = topology.windows.trace.size_ms + topology.windows.trace.allowed_lateness_ms
    late = msg(SINKS[0])
    outputs = await run([msg(SOURCE), msg(probe("source", WEB, "x", 1010 + window, "other")),
                         late])
    # SINKS[0] (ts 1010): its own window is closed too; kept as a dead letter
    assert signal_set(outputs) == set()
    (letter,) = dead_letters(outputs)
    assert letter["reason"] == "window: late, its trace window is already closed"
    assert original_bytes(letter) == late.value
    assert metrics.counters[f"{AGENT}.late"] == 1
    assert metrics.counters[f"{AGENT}.traces_closed"] == 1


async def test_trace_caps_overflow_is_counted(
    make_run: Callable[..., Runner], topology: Topology, msg: MessageFactory,
    metrics: Metrics,
) -> None:
    capped = replace(topology, caps=replace(
        topology.caps, trace=replace(topology.caps.trace, max_captures=2)))
    outputs = await make_run(capped)([msg(SOURCE), msg(SINKS[0]), msg(SINKS[1])])
    assert signal_set(outputs) == {(f"{WEB}#location -> {DB}#loc", "EXACT_MATCH")}
    (letter,) = dead_letters(outputs)
    assert letter["reason"] == "window: over the caps of its trace window"
    assert letter["origin"] == f"{TOPIC}:0:2"
    assert metrics.counters[f"{AGENT}.overflow"] == 1
    assert metrics.counters[f"{AGENT}.stored"] == 2


async def test_redelivery_does_not_store_twice_nor_re_emit(run: Runner,
                                                          msg: MessageFactory) -> None:
    source = msg(SOURCE)
    await run([source])
    sink = msg(SINKS[0])
    first = await run([source, sink])  # the source is redelivered with the new sink
    assert len(first) == 1  # one source capture in the window, not two
    assert await run([source, sink]) == []  # a redelivery after the commit


async def test_payloads_leave_the_store_when_the_trace_window_closes(
    run: Runner, msg: MessageFactory, topology: Topology,
) -> None:
    """On disk only as ciphertext; once closed, deleted and its key forgotten."""
    window = topology.windows.trace.size_ms + topology.windows.trace.allowed_lateness_ms
    await run([msg(SOURCE), msg(SINKS[0])])
    store = run.stores.get(AGENT, TOPIC, 0)
    assert not any(SECRET_ADDRESS.encode() in v for _, v in store.scan(b"", b"\xff"))
    keys = run.handler.keys(store)  # type: ignore[attr-defined]
    (record,) = [(k, v) for k, v in store.scan(b"trace|c|", b"trace|c|\xff")]
    opened = keys.unseal(record[1], record[0])
    assert opened is not None and SECRET_ADDRESS.encode() in opened
    # past the close and the end of its key epoch (capture_key_epoch_ms)
    await run([msg(probe("source", WEB, "x", 1000 + window + 10_000, "other"))])
    assert keys.unseal(record[1], record[0]) is None
    assert [k for k, _ in store.scan(b"trace|c|", b"trace|c|\xff")] != [record[0]]


@pytest.mark.parametrize("split", [False, True])
async def test_a_sink_after_its_trace_window_expired_does_not_join_in_any_batching(
    make_run: Callable[..., Runner], msg: MessageFactory, topology: Topology, split: bool,
) -> None:
    window = topology.windows.trace.size_ms + topology.windows.trace.allowed_lateness_ms
    run = make_run()
    events = [msg(SOURCE), msg(probe("source", WEB, "x", 1000 + window, "other")),
              msg(probe("sink", DB, {"loc": SECRET_ADDRESS}, 1000 + window - 5))]
    outputs = []
    for batch in ([[e] for e in events] if split else [events]):
        outputs += await run(batch)
    assert outputs == []  # the source's window closed before the sink's ts was reached
