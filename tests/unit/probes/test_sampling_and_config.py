from __future__ import annotations

import hashlib

import lineage_probes
import pytest
from lineage_probes import sqlplan, tracecontext
from lineage_probes.config import ProbeConfig, ProbeConfigError
from lineage_probes.sanitize import clean

IDS = [hashlib.sha256(str(n).encode()).hexdigest()[:32] for n in range(2000)]


def test_sampling_is_a_function_of_the_trace_id() -> None:
    at_10 = {t for t in IDS if tracecontext.sampled(t, 0.1)}
    assert at_10 == {t for t in IDS if tracecontext.sampled(t, 0.1)}
    assert 120 < len(at_10) < 280
    # a higher rate samples a superset: downstream services at a higher rate see every trace
    assert at_10 <= {t for t in IDS if tracecontext.sampled(t, 0.3)}


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
