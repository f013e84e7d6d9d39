"""Runtime signals: folding as requests come equals folding the per-request signals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from analyzers.runtime import MatchResult, RuntimeFold, field_asset
from analyzers.signals import FlowSignal, aggregate


def runtime_signals(
    result: MatchResult, sources: Sequence[str], sinks: Sequence[str], ts: int,
) -> list[FlowSignal]:
    """The reference: one `FlowSignal` per observation of one request."""
    signals = [
        FlowSignal(
            src=field_asset(sources[si], spath), dst=field_asset(sinks[ki], kpath),
            kind=kind, origin="runtime", ts=ts, transform=transform,
        )
        for si, spath, ki, kpath, kind, transform in result.matches
    ]
    signals.extend(
        FlowSignal(src=sources[si], dst=sinks[ki], kind="NO_MATCH", origin="runtime", ts=ts)
        for si, ki in result.nomatch
        if sources[si] != sinks[ki]
    )
    return signals


@dataclass
class _Result:
    matches: list[tuple[int, str, int, str, str, str | None]]
    nomatch: list[tuple[int, int]]


ASSETS = st.sampled_from(["web://a/in", "mysql://db/t.u", "scribe://logs/x", "web://a/in"])
PATHS = st.sampled_from(["", "email", "data.email", "list[]"])


@st.composite
def requests(draw: st.DrawFn) -> tuple[_Result, list[str], list[str], int]:
    sources = draw(st.lists(ASSETS, min_size=1, max_size=3))
    sinks = draw(st.lists(ASSETS, min_size=1, max_size=3))
    matches = draw(st.lists(st.tuples(
        st.integers(0, len(sources) - 1), PATHS, st.integers(0, len(sinks) - 1), PATHS,
        st.sampled_from(["EXACT_MATCH", "CONTAINS"]),
        st.sampled_from([None, "md5", "lowercase"])), max_size=4))
    nomatch = draw(st.lists(st.tuples(st.integers(0, len(sources) - 1),
                                      st.integers(0, len(sinks) - 1)), max_size=3))
    return _Result(matches, nomatch), sources, sinks, draw(st.integers(0, 50))


@given(st.lists(requests(), max_size=12))
def test_fold_equals_aggregate_of_the_signals(batch: list[tuple[_Result, list[str], list[str],
                                                                 int]]) -> None:
    fold = RuntimeFold()
    signals = []
    for result, sources, sinks, ts in batch:
        fold.add(result, sources, sinks, ts)
        signals += runtime_signals(result, sources, sinks, ts)
    assert fold.signals() == aggregate(signals)


def test_one_observation_stays_a_plain_signal() -> None:
    fold = RuntimeFold()
    fold.add(_Result([(0, "email", 0, "", "EXACT_MATCH", None)], []), ["web://a/in"],
             ["scribe://logs/x"], 7)
    [signal] = fold.signals()
    assert (signal.src, signal.dst, signal.count, signal.earliest, signal.ts) == (
        "web://a/in#email", "scribe://logs/x", 1, None, 7)
