"""Flow signals: JSON round trip, validation, and folding a batch into counts."""

from __future__ import annotations

import orjson
import pytest

from analyzers.edges import apply_signal
from analyzers.events import InvalidEvent
from analyzers.signals import FlowSignal, aggregate, parse_signal


def _sig(ts: int, kind: str = "EXACT_MATCH", dst: str = "b#y", **kw: object) -> FlowSignal:
    return FlowSignal(src="a#x", dst=dst, kind=kind, origin="runtime", ts=ts, **kw)  # type: ignore[arg-type]


def test_round_trip_keeps_count_and_earliest() -> None:
    signal = _sig(20, count=3, earliest=5, transform="lowercase")
    assert FlowSignal.from_json(signal.to_json()) == signal
    plain = _sig(7)
    assert set(orjson.loads(plain.to_json())) == {"v", "src", "dst", "kind", "origin", "ts"}


def test_aggregate_folds_identical_observations() -> None:
    folded = aggregate([_sig(10), _sig(30), _sig(20), _sig(15, kind="CONTAINS"), _sig(5, dst="c")])
    by_key = {(s.dst, s.kind): s for s in folded}
    assert len(folded) == 3
    exact = by_key[("b#y", "EXACT_MATCH")]
    assert (exact.count, exact.ts, exact.first_ts) == (3, 30, 10)
    assert by_key[("b#y", "CONTAINS")].count == 1
    assert by_key[("c", "EXACT_MATCH")].first_ts == 5


def test_aggregate_keeps_transforms_apart() -> None:
    folded = aggregate([_sig(1, transform="md5"), _sig(2), _sig(3, transform="md5")])
    assert sorted((s.transform or "", s.count) for s in folded) == [("", 1), ("md5", 2)]


def test_folded_signal_gives_the_same_edge_as_one_by_one() -> None:
    raw = [_sig(10), _sig(30), _sig(20)]
    one_by_one = None
    for signal in raw:
        one_by_one = apply_signal(one_by_one, signal)
    [folded] = aggregate(raw)
    at_once = apply_signal(None, folded)
    assert at_once == one_by_one


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ts": None}, "signal: field 'ts' must be an integer"),
        ({"count": "2"}, "signal: field 'count' must be an integer"),
        ({"count": 0}, "signal: field 'count' must be at least 1"),
        ({"earliest": 1.5}, "signal: field 'earliest' must be an integer"),
        ({"kind": "TELEPATHY"}, "signal: field 'kind' is not a known kind"),
        ({"origin": "rumour"}, "signal: field 'origin' is not a known origin"),
        ({"src": ""}, "signal: field 'src' must be a non-empty string"),
    ],
)
def test_parse_signal_rejections(change: dict[str, object], reason: str) -> None:
    body = orjson.loads(_sig(1, count=2).to_json())
    body.update(change)
    if change.get("ts", 0) is None:
        del body["ts"]
    with pytest.raises(InvalidEvent) as info:
        parse_signal(body)
    assert info.value.reason == reason
