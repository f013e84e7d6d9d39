from __future__ import annotations

import hashlib
import threading

import lineage_probes
import pytest
from lineage_probes import context, sqlplan, tracecontext
from lineage_probes.config import ProbeConfig, ProbeConfigError
from lineage_probes.sanitize import clean

IDS = [hashlib.sha256(str(n).encode()).hexdigest()[:32] for n in range(2000)]


def test_sampling_is_a_function_of_the_trace_id() -> None:
    at_10 = {t for t in IDS if tracecontext.sampled(t, 0.1)}
    assert at_10 == {t for t in IDS if tracecontext.sampled(t, 0.1)}
    assert 120 < len(at_10) < 280
    # a higher rate samples a superset: downstream services at a higher rate see every trace
    assert at_10 <= {t for t in IDS if tracecontext.sampled(t, 0.3)}


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.3, 0.5, 0.99, 1.0])
def test_a_new_trace_keeps_its_sampling_decision_in_its_id(rate: float) -> None:
    # the id of a trace the probes start is made only when needed; the decision
    # taken at creation must be the one every other service takes from that id
    traces = [context.new_trace(None, rate) for _ in range(400)]
    for trace in traces:
        trace_id = trace.trace_id
        assert tracecontext.parse_traceparent(f"00-{trace_id}-{'1' * 16}-01") == trace_id
        assert tracecontext.sampled(trace_id, rate) is trace.sampled
        assert trace.trace_id == trace_id  # made once
    if rate == 0.5:  # the decision follows the rate
        assert 140 < sum(t.sampled for t in traces) < 260
    assert len({t.trace_id for t in traces}) == len(traces)


@pytest.mark.parametrize("rate", [0.0, 1e-20, 2.0**-64 * 3.5, 0.01, 0.3, 0.999999, 1.0])
def test_the_threshold_agrees_with_the_decision_from_the_id(rate: float) -> None:
    bound = tracecontext.threshold(rate)
    for low in {0, 1, 2, 3, 4, bound - 1, bound, bound + 1, (1 << 64) - 1}:
        if 0 <= low < 1 << 64:  # a valid low half
            trace_id = f"{7:016x}{low:016x}"
            assert (low < bound) is tracecontext.sampled(trace_id, rate), (rate, low)


def test_threads_sharing_a_new_trace_see_one_id() -> None:
    for _ in range(50):
        trace = context.new_trace(None, 0.5)
        seen: list[str] = []
        start = threading.Barrier(8)

        def read(trace: context.Trace = trace, seen: list[str] = seen,
                 start: threading.Barrier = start) -> None:
            start.wait()
            seen.append(trace.trace_id)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(seen)) == 1


def test_an_inbound_trace_id_is_kept() -> None:
    header = tracecontext.traceparent(IDS[3], True)
    trace = context.new_trace(header, 0.1)
    assert trace.trace_id == IDS[3] and trace.sampled is tracecontext.sampled(IDS[3], 0.1)
    assert IDS[3] not in repr(context.new_trace(None, 0.1)) and "taint" not in repr(trace)


def test_traceparent_round_trip() -> None:
    tid = IDS[0]
    header = tracecontext.traceparent(tid, True)
    assert header.startswith(f"00-{tid}-") and header.endswith("-01")
    assert tracecontext.parse_traceparent(header) == tid
    for bad in ("", "00-short-00f067aa0ba902b7-01", f"ff-{tid}-00f067aa0ba902b7-01",
                "00-" + "0" * 32 + "-00f067aa0ba902b7-01", b"\xff\xfe"):
        assert tracecontext.parse_traceparent(bad) is None


def test_environment_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"LINEAGE_PROBE_SERVICE": "photos-web", "LINEAGE_PROBE_SAMPLE_RATE": "0.25",
           "KAFKA_BOOTSTRAP_SERVERS": "k:1", "LINEAGE_TOPIC_PREFIX": "p-",
           "LINEAGE_PROBE_REDACT": "Location"}
    cfg = ProbeConfig.resolve({}, env=env)
    assert (cfg.service, cfg.sample_rate, cfg.bootstrap_servers, cfg.topic) == (
        "photos-web", 0.25, "k:1", "p-probe-events")
    assert "location" in cfg.redact and "password" in cfg.redact
    assert ProbeConfig.resolve({"service": "x", "sample_rate": 1}, env=env).service == "x"
    with pytest.raises(ProbeConfigError, match="between 0 and 1"):
        ProbeConfig.resolve({}, env={"LINEAGE_PROBE_SAMPLE_RATE": "2"})


def test_disabled_by_environment_patches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3
    before = sqlite3.connect
    monkeypatch.setenv("LINEAGE_PROBE_DISABLED", "1")
    assert lineage_probes.instrument(service="x") == []
    assert sqlite3.connect is before and lineage_probes.active_config() is None


def test_sanitize_redacts_nested_and_caps() -> None:
    cfg = ProbeConfig(redact=frozenset({"ssn"}), max_list=2, max_leaves=3, max_depth=3)
    assert clean({"a": {"SSN": "123-45-6789", "b": [1, 2, 3]}}, cfg) == {"a": {"b": [1, 2]}}
    assert clean({"a": {"b": {"c": 1}}}, ProbeConfig(max_depth=2)) == {"a": {}}
    assert clean([1, 2], ProbeConfig(max_leaves=1)) == [1]
    assert clean({"raw": b"\xff\x00"}, cfg) == {"raw": {"b64": "/wA="}}


@pytest.mark.parametrize(("sql", "dialect", "kind", "table", "columns"), [
    ("INSERT INTO t (a, b) VALUES (?, 'x')", "sqlite", "write", "t", (("a", 0),)),
    ("INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
     "sqlite", "write", "t", (("a", 0), ("b", 1))),
    ("INSERT INTO s.t (a) VALUES (%s) RETURNING id", "postgres", "write", "t", (("a", 0),)),
    ("UPDATE t SET a = %s, b = now() WHERE id = %s", "postgres", "write", "t", (("a", 0),)),
    ("SELECT * FROM t JOIN u ON t.id = u.id", "sqlite", "read", "t", ()),
    ("DELETE FROM t WHERE id = ?", "sqlite", "other", None, ()),
    ("this is not sql at all (", "sqlite", "other", None, ()),
])
def test_statement_plans(sql: str, dialect: str, kind: str, table: str | None,
                         columns: tuple[tuple[str, int], ...]) -> None:
    plan = sqlplan.plan(sql, dialect)
    assert (plan.kind, plan.table, plan.columns) == (kind, table, columns)
