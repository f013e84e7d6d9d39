"""The decisions' tally as the console keeps it live: bounded rows, bounded names, no values."""

from __future__ import annotations

from typing import Any

from analyzers.policy.decisions import DecisionTally, summarize_decisions

BASE = {"policy_id": "p", "sink": "http://ads/x", "sink_kind": "http", "mode": "log",
        "decision": "logged", "service": "a", "source": "db://u#city",
        "code_location": "a.py:1", "trace_id": "t1", "ts": 10}


def _event(**fields: Any) -> dict[str, Any]:
    return {**BASE, **fields}


def test_rows_are_updated_one_event_at_a_time() -> None:
    tally = DecisionTally()
    key = tally.add(_event())
    assert key == ("p", "http://ads/x", "logged")
    assert tally.add(_event(ts=5, service="b", trace_id="t0")) == key
    row = tally.row(key)
    assert row is not None
    assert (row["count"], row["first_ts"], row["last_ts"], row["last_trace_id"]) == (
        2, 5, 10, "t1")  # an older event counts but is not the latest
    assert row["services"] == ["a", "b"]
    row["services"].append("changed")  # a copy: the tally is untouched
    assert tally.row(key)["services"] == ["a", "b"]  # type: ignore[index]
    assert tally.row(("p", "nope", "logged")) is None


def test_rows_and_names_are_bounded() -> None:
    tally = DecisionTally(max_rows=2, max_names=2)
    first = tally.add(_event(sink="http://ads/1"))
    second = tally.add(_event(sink="http://ads/2"))
    tally.add(_event(sink="http://ads/1", ts=11))  # the first row is the latest changed now
    third = tally.add(_event(sink="http://ads/3", ts=12))
    assert len(tally) == 2 and tally.evicted == 1
    assert tally.row(second) is None and tally.row(first) is not None
    for n in range(10):
        tally.add(_event(sink="http://ads/3", service=f"s{n}", code_location=f"f.py:{n}"))
    row = tally.row(third)
    assert row is not None and row["count"] == 11
    assert len(row["services"]) == 2 and len(row["code_locations"]) == 2


def test_a_row_is_built_from_names_and_counts_only() -> None:
    secret = "Home, 123 Main St"
    rows = summarize_decisions([_event(payload={"location": secret}, value=secret,
                                       trace_id={"location": secret}, mode=[secret],
                                       sink_kind=7)])
    assert secret not in repr(rows)
    assert set(rows[0]) == {"policy_id", "sink", "decision", "sink_kind", "mode", "count",
                            "first_ts", "last_ts", "last_trace_id", "services", "sources",
                            "code_locations"}
    assert (rows[0]["sink_kind"], rows[0]["mode"], rows[0]["last_trace_id"]) == (
        None, None, None)
