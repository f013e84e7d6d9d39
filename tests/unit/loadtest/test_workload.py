"""The load-test workload: deterministic, values never shared by accident, truth consistent."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter

import orjson
import pytest

from analyzers.events import validate_event
from loadtest.driver import score
from loadtest.measure import percentile
from loadtest.workload import TRANSFORMS, _near_miss, generate, stream


def _leaves(value: object) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [str(value)]


def test_same_seed_same_events() -> None:
    first = [orjson.dumps(e) for e in stream(generate(3), 1000, 300)]
    second = [orjson.dumps(e) for e in stream(generate(3), 1000, 300)]
    assert first == second
    assert first != [orjson.dumps(e) for e in stream(generate(4), 1000, 300)]


def test_every_event_is_valid() -> None:
    kinds = Counter(validate_event(e).topic for e in stream(generate(), 1000, 500))
    assert kinds["probe-events"] > 1500
    assert kinds["sql-job-logs"] > 0 and kinds["config-events"] > 0 and kinds["static-flows"] > 0


def test_planted_values_reach_their_sinks_and_nothing_else_is_shared() -> None:
    workload = generate(5)
    for _ in range(200):
        events = workload.request(1000)
        source, sinks = events[0], events[1:]
        values = set(source["payload"].values())
        forms = {TRANSFORMS[t](v) for v in values for t in TRANSFORMS}
        for sink in sinks:
            leaves = _leaves(sink["payload"])
            if sink["asset"].endswith("_audit"):  # look-alikes: near misses only
                assert not forms & set(leaves)
    assert workload.plant_counts


def test_transforms_are_the_matcher_names() -> None:
    value = "Flat 4, 56 Oak Avenue"
    assert TRANSFORMS["sha256"](value) == hashlib.sha256(value.encode()).hexdigest()
    assert TRANSFORMS["base64"](value) == base64.b64encode(value.encode()).decode()


def test_truth_thresholds() -> None:
    workload = generate(9)
    list(stream(workload, 1000, 2000))
    must_find = workload.truth(min_samples=3)
    assert must_find <= workload.all_true()
    rare = {pair for pair, n in workload.plant_counts.items() if n < 3}
    frequent = {pair for pair, n in workload.plant_counts.items() if n >= 3}
    assert frequent <= must_find
    assert rare <= workload.all_true()
    assert not rare & must_find


def test_score_counts_only_high_edges() -> None:
    workload = generate(1)
    list(stream(workload, 1000, 500))
    true_pairs = sorted(workload.truth(min_samples=3))
    edges = {f"{s} -> {d}": {"src": s, "dst": d, "confidence": "high"} for s, d in true_pairs}
    edges["x -> y"] = {"src": "x", "dst": "y", "confidence": "high"}
    edges["a -> b"] = {"src": "a", "dst": "b", "confidence": "low"}
    result = score(edges, workload)
    assert result["recall"] == 1.0
    assert result["precision"] == round(len(true_pairs) / (len(true_pairs) + 1), 4)


def test_percentile() -> None:
    assert percentile([], 99) == 0.0
    assert percentile(list(range(1, 101)), 50) in (50.0, 51.0)
    assert percentile([5], 99) == 5.0


class _SameTail:
    """An rng whose next word is the tail of the value (`com`)."""

    def randbytes(self, n: int) -> bytes:
        return bytes([2, 14, 12])[:n]  # a=0: c, o, m


def test_a_near_miss_never_equals_the_value() -> None:
    value = "alice.1f@example.com"
    miss = _near_miss(_SameTail(), value)  # type: ignore[arg-type]
    assert miss != value
    assert miss[:-3] == value[:-3]


class _Lags:
    """A probe whose lag follows a script; each answer takes the clock one second on."""

    def __init__(self, lags: list[int]) -> None:
        self.lags = lags
        self.now = 100.0

    async def lag(self) -> int:
        self.now += 1.0
        return self.lags.pop(0)


async def test_drained_is_the_first_zero_of_the_final_quiet_streak(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from loadtest import driver

    probe = _Lags([7, 0, 4, 0, 0, 0, 9])

    async def no_sleep(_s: float) -> None:
        return None

    monkeypatch.setattr(driver.asyncio, "sleep", no_sleep)
    monkeypatch.setattr(driver.time, "monotonic", lambda: probe.now)
    spec = driver.LoadSpec(rate=1, duration_s=1, drain_timeout_s=60)
    drained_at = await driver._drain(probe, spec, lambda _stage, _f: None)  # type: ignore[arg-type]
    assert drained_at == 103.0  # when the 4th poll asked: the first of three zeros in a row
