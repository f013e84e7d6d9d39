"""state_of_delta: a worker that takes over a partition gets its edges back from the graph."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from analyzers.edges import merge, retract, state_of_delta
from analyzers.signals import FlowSignal
from vocab import EdgeState

SRC, DST = "web://svc/h#f", "mysql://db/t.t#f"
KINDS = ["EXACT_MATCH", "CONTAINS", "NO_MATCH", "IDENTITY", "JOIN", "CONFIG", "STATIC",
         "OPENLINEAGE"]


def signal(kind: str, ts: int) -> FlowSignal:
    origin = {"EXACT_MATCH": "runtime", "CONTAINS": "runtime", "NO_MATCH": "runtime",
              "CONFIG": "config", "STATIC": "static", "OPENLINEAGE": "openlineage"}.get(kind, "sql")
    return FlowSignal(SRC, DST, kind, origin, ts)  # type: ignore[arg-type]


@given(st.lists(st.sampled_from(KINDS), min_size=1, max_size=30))
def test_the_state_behind_a_delta_is_the_state_it_was_sent_from(kinds: list[str]) -> None:
    state: EdgeState | None = None
    last: tuple[EdgeState, dict[str, object]] | None = None
    for i, kind in enumerate(kinds):
        state, delta = merge(state, signal(kind, 1000 + i))
        if delta is not None:
            last = (state, orjson.loads(orjson.dumps(delta)))
    assert last is not None  # the first signal always sends one
    sent_from, delta = last
    assert state_of_delta(delta) == sent_from


def test_a_restored_edge_continues_its_versions() -> None:
    state, _ = merge(None, signal("STATIC", 1000))
    state, delta = merge(state, signal("IDENTITY", 2000))
    assert delta is not None
    restored = state_of_delta(delta)
    _new, next_delta = merge(restored, signal("EXACT_MATCH", 3000))
    assert next_delta is not None and next_delta["version"] == delta["version"] + 1


def test_a_retraction_restores_as_a_tombstone_that_keeps_its_version() -> None:
    state, _ = merge(None, signal("STATIC", 1000))
    tombstone, delta = retract(state)
    restored = state_of_delta(delta)
    assert restored == tombstone
    _recreated, upsert = merge(restored, signal("EXACT_MATCH", 5000))
    assert upsert is not None and upsert["version"] == tombstone.version + 1


def test_a_delta_without_counts_is_read_from_its_evidence() -> None:
    state, delta = merge(None, signal("EXACT_MATCH", 1000))
    state, delta = merge(state, signal("EXACT_MATCH", 1001))
    assert delta is not None
    del delta["counts"]  # written before deltas carried their counts
    restored = state_of_delta(delta)
    assert dict(restored.counts) == {"EXACT_MATCH": 2}
    assert restored.version == state.version
