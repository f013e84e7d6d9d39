"""Edge merge: signals folded per edge into lineage-graph deltas, static-only retraction."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from stream_fixtures import (
    MessageFactory,
    RecordingSink,
    Runner,
    body,
    dead_letters,
    original_bytes,
)

from analyzers.edges import merge
from analyzers.signals import FlowSignal, parse_signal
from state.edges import EdgeStore
from state.transaction import Transaction
from streams.pipeline.agents.edge_merge import AGENT, EdgeMerge
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import Topology
from vocab import EdgeState

TOPIC = "flow-signals"
SRC, DST = "web://photos-web/handlePhotoUpload#location", "http://ads-service/ad#location"
EDGE = f"{SRC} -> {DST}"
VERIFY_MS = 1000


def signal(kind: str, ts: int, src: str = SRC, dst: str = DST,
           origin: str | None = None) -> bytes:
    default = {"STATIC": "static", "CONFIG": "config", "IDENTITY": "sql"}.get(kind, "runtime")
    return FlowSignal(src=src, dst=dst, kind=kind, origin=origin or default,  # type: ignore[arg-type]
                      ts=ts).to_json()


@pytest.fixture()
def msg(make_messages: Callable[[str], MessageFactory]) -> Callable[..., Any]:
    factory = make_messages(TOPIC)

    def make(raw: bytes, **kwargs: Any) -> Any:
        return factory(raw, key=EDGE.encode(), **kwargs)

    return make


@pytest.fixture()
def run(make_runner: Callable[..., Runner], topology: Topology, metrics: Metrics) -> Runner:
    quick = replace(topology, windows=replace(topology.windows, static_verification_ms=VERIFY_MS))
    return make_runner(AGENT, EdgeMerge(quick, metrics), parse_signal)


def deltas(outputs: list[Any]) -> list[dict[str, Any]]:
    found = []
    for out in outputs:
        if out.topic == "lineage-graph":
            delta = body(out)
            assert out.key == delta["edge_id"].encode()
            found.append(delta)
    return found


async def test_first_signal_gives_an_upsert(run: Runner, msg: Callable[..., Any]) -> None:
    [delta] = deltas(await run([msg(signal("EXACT_MATCH", 1000))]))
    assert delta["op"] == "upsert"
    assert (delta["edge_id"], delta["src"], delta["dst"]) == (EDGE, SRC, DST)
    assert delta["kinds"] == ["EXACT_MATCH"]
    assert delta["confidence"] == "high"
    assert delta["evidence"]["runtime_exact"] == 1
    assert (delta["first_seen"], delta["last_seen"], delta["version"]) == (1000, 1000, 1)


async def test_repeated_evidence_stops_producing_deltas(run: Runner,
                                                        msg: Callable[..., Any]) -> None:
    per_signal = []
    for i in range(20):
        per_signal.append(deltas(await run([msg(signal("EXACT_MATCH", 1000 + i))])))
    versions = [d["version"] for batch in per_signal for d in batch]
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) < 20
    assert all(batch == [] for batch in per_signal[-5:])  # the score saturated


async def test_a_new_kind_gives_a_new_delta(run: Runner, msg: Callable[..., Any]) -> None:
    outputs = await run([msg(signal("NO_MATCH", 1000)), msg(signal("CONTAINS", 1001))])
    assert [(d["version"], d["kinds"], d["confidence"]) for d in deltas(outputs)] == [
        (1, ["NO_MATCH"], "low"), (2, ["CONTAINS", "NO_MATCH"], "high")]


async def test_static_only_edge_is_retracted_after_verification(
    run: Runner, msg: Callable[..., Any], metrics: Metrics,
) -> None:
    [upsert] = deltas(await run([msg(signal("STATIC", 0))]))
    assert (upsert["op"], upsert["kinds"], upsert["version"]) == ("upsert", ["STATIC"], 1)
    other = signal("EXACT_MATCH", VERIFY_MS, src="a://x/s", dst="b://y/d")
    assert [d["edge_id"] for d in deltas(await run([msg(other)]))] == ["a://x/s -> b://y/d"]
    later = signal("EXACT_MATCH", VERIFY_MS + 1, src="a://x/s", dst="b://y/d")
    retractions = [d for d in deltas(await run([msg(later)])) if d["edge_id"] == EDGE]
    assert retractions == [{"v": 1, "op": "delete", "edge_id": EDGE, "src": SRC, "dst": DST,
                            "version": 2, "counts": {"STATIC": 1}, "first_seen": 0,
                            "last_seen": 0}]
    assert metrics.counters[f"{AGENT}.static_retracted"] == 1
    # a repeated static proposal neither revives nor retracts the edge again
    assert deltas(await run([msg(signal("STATIC", 5 * VERIFY_MS))])) == []


async def test_static_confirmed_at_run_time_is_not_retracted(
    run: Runner, msg: Callable[..., Any], metrics: Metrics,
) -> None:
    await run([msg(signal("STATIC", 0))])
    [confirmed] = deltas(await run([msg(signal("EXACT_MATCH", 500))]))
    assert confirmed["kinds"] == ["EXACT_MATCH"]  # STATIC drops once something else is seen
    later = signal("EXACT_MATCH", 10 * VERIFY_MS, src="a://x/s", dst="b://y/d")
    outputs = await run([msg(later)])
    assert [d["edge_id"] for d in deltas(outputs)] == ["a://x/s -> b://y/d"]
    assert metrics.counters[f"{AGENT}.static_retracted"] == 0


async def test_a_retracted_edge_comes_back_with_runtime_evidence(
    run: Runner, msg: Callable[..., Any],
) -> None:
    await run([msg(signal("STATIC", 0)), msg(signal("CONFIG", 2 * VERIFY_MS, src="a://x",
                                                         dst="b://y"))])
    [revived] = deltas(await run([msg(signal("EXACT_MATCH", 3 * VERIFY_MS))]))
    assert (revived["op"], revived["version"]) == ("upsert", 3)


async def test_invalid_signal_is_a_dead_letter(run: Runner, msg: Callable[..., Any]) -> None:
    unknown_kind = msg(b'{"v":1,"src":"a","dst":"b","kind":"TELEPATHY","origin":"runtime","ts":1}')
    no_src = msg(b'{"v":1,"dst":"b","kind":"STATIC","origin":"static","ts":1}')
    good = msg(signal("EXACT_MATCH", 1))
    outputs = await run([unknown_kind, no_src, good])
    letters = dead_letters(outputs)
    assert [d["origin"] for d in letters] == [f"{TOPIC}:0:0", f"{TOPIC}:0:1"]
    assert "kind" in letters[0]["reason"] and "src" in letters[1]["reason"]
    assert original_bytes(letters[0]) == unknown_kind.value
    assert [d["edge_id"] for d in deltas(outputs)] == [EDGE]


async def test_redelivered_signals_are_not_counted_twice(run: Runner,
                                                         msg: Callable[..., Any]) -> None:
    first = msg(signal("NO_MATCH", 1))
    await run([first])
    second = msg(signal("NO_MATCH", 2))
    [delta] = deltas(await run([first, second]))
    assert delta["evidence"]["runtime_nomatch"] == 2
    assert await run([first, second]) == []


async def test_signals_whose_edge_ids_collide_do_not_stop_the_batch(
    run: Runner, msg: Callable[..., Any],
) -> None:
    """`SRC -> DST` is ambiguous when a name holds " -> " (a payload key may)."""
    one = msg(signal("EXACT_MATCH", 1, src="web://x/a#k -> v", dst="mysql://db/t"))
    two = msg(signal("EXACT_MATCH", 2, src="web://x/a#k", dst="v -> mysql://db/t"))
    after = msg(signal("EXACT_MATCH", 3))
    outputs = await run([one, two, after])
    assert [d["edge_id"] for d in deltas(outputs)] == ["web://x/a#k -> v -> mysql://db/t", EDGE]
    [letter] = dead_letters(outputs)
    assert letter["origin"] == f"{TOPIC}:0:1"
    assert original_bytes(letter) == two.value
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 2


async def test_a_batch_of_repeats_folds_into_one_delta(run: Runner,
                                                       msg: Callable[..., Any]) -> None:
    outputs = await run([msg(signal("NO_MATCH", 1000 + i)) for i in range(12)])
    [delta] = deltas(outputs)
    assert delta["evidence"]["runtime_nomatch"] == 12 and delta["version"] == 1
    assert (delta["first_seen"], delta["last_seen"]) == (1000, 1011)
    assert run.stores.get(AGENT, TOPIC, 0).offset() == 11


@pytest.mark.parametrize("seed", range(6))
async def test_a_folded_batch_ends_where_signals_one_by_one_end(
    run: Runner, msg: Callable[..., Any], seed: int,
) -> None:
    """The edges after one batch are the edges after folding its signals one at a time
    (`merge` per signal): the same counts, band, score and times; only fewer deltas,
    the last of each edge showing its band, score and kinds as they are."""
    rng = random.Random(seed)
    kinds = {"EXACT_MATCH": "runtime", "CONTAINS": "runtime", "NO_MATCH": "runtime",
             "IDENTITY": "sql", "CONFIG": "config", "STATIC": "static"}
    signals = []
    for _ in range(300):
        kind = rng.choice(list(kinds))
        signals.append(FlowSignal(
            src=f"web://svc/r#f{rng.randrange(4)}", dst=f"mysql://db/t#c{rng.randrange(3)}",
            kind=kind, origin=kinds[kind], ts=rng.randrange(10_000),  # type: ignore[arg-type]
            transform=rng.choice([None, "md5"]) if kinds[kind] == "runtime" else None,
            masking=kind == "IDENTITY" and rng.random() < 0.3, count=rng.randint(1, 3)))
    expected: dict[str, EdgeState] = {}
    one_by_one_deltas = 0
    for sig in signals:
        expected[sig.edge_id], delta = merge(expected.get(sig.edge_id), sig)
        one_by_one_deltas += delta is not None

    sent = deltas(await run([msg(sig.to_json()) for sig in signals]))

    edges = EdgeStore(Transaction(run.stores.get(AGENT, TOPIC, 0)))
    for edge_id, want in expected.items():
        got = edges.get(edge_id)
        assert got is not None
        assert replace(got, version=0) == replace(want, version=0)
        last = [d for d in sent if d["edge_id"] == edge_id][-1]
        # what subscribers see (a delta is due whenever it changes) is the edge's now
        assert (last["confidence"], last["score"], last["kinds"], last["version"]) == (
            want.confidence, want.score, sorted(want.kinds), got.version)
    assert len(expected) < len(sent) < one_by_one_deltas


def _comparable(outputs: list[Any]) -> list[tuple[str, bytes, dict[str, Any]]]:
    """Outputs with the dead letters' own send time left out (it is the clock's)."""
    return [(o.topic, o.key, {k: v for k, v in body(o).items()
                              if not (o.topic == "dead-letters" and k == "ts")})
            for o in outputs]


@pytest.mark.parametrize("seed", range(4))
async def test_the_rust_decode_and_fold_give_the_reference_outputs(
    tmp_path: Any, topology: Topology, seed: int,
) -> None:
    """The same batches through the native handler and `native=False` (decode and fold
    message by message in Python): the same deltas, dead letters, state and offsets."""
    rng = random.Random(seed)
    kinds = {"EXACT_MATCH": "runtime", "NO_MATCH": "runtime", "IDENTITY": "sql",
             "STATIC": "static"}
    factory = MessageFactory(TOPIC)
    batches = []
    for _ in range(5):
        batch = []
        for _ in range(rng.randrange(1, 120)):
            kind = rng.choice(list(kinds))
            raw = FlowSignal(
                src=rng.choice([SRC, "web://x/a#k -> v", "web://x/a#k"]),
                dst=rng.choice([DST, "mysql://db/t", "v -> mysql://db/t"]), kind=kind,
                origin=kinds[kind], ts=rng.randrange(5_000),  # type: ignore[arg-type]
                count=rng.randint(1, 3), earliest=rng.choice([None, rng.randrange(5_000)]),
            ).to_json()
            if rng.random() < 0.1:  # broken: not JSON, a bad field, a tombstone
                raw = rng.choice([raw[:-1], raw.replace(b'"v":1', b'"v":2'), None])
            batch.append(factory(raw, key=EDGE.encode()))
        batches.append(batch)

    async def through(native: bool) -> tuple[list[Any], dict[str, Any]]:
        stores = StoreRegistry(tmp_path / f"native-{native}")
        quick = replace(topology, windows=replace(topology.windows,
                                                  static_verification_ms=VERIFY_MS))
        run = Runner(AGENT, EdgeMerge(quick, Metrics(), native=native), parse_signal, stores,
                     RecordingSink(), Metrics())
        sent = [_comparable(await run(batch)) for batch in batches]
        sent.append(_comparable(await run(batches[-1])))  # redelivered: skipped
        edges = EdgeStore(Transaction(stores.get(AGENT, TOPIC, 0)))
        ids = {d["edge_id"] for outs in sent for _, _, d in outs if "edge_id" in d}
        state = {i: edges.get(i) for i in sorted(ids)}
        state["offset"] = stores.get(AGENT, TOPIC, 0).offset()
        stores.close()
        return sent, state

    native_sent, native_state = await through(native=True)
    python_sent, python_state = await through(native=False)
    assert native_sent == python_sent
    assert native_state == python_state
    topics = {topic for outs in native_sent for topic, _, _ in outs}
    assert topics == {"lineage-graph", "dead-letters"}  # both kinds of output were compared
