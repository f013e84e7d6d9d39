"""The collector over a real (not running) pipeline: names, values, and the dashboard's names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from state.transaction import Transaction
from state.windows import EventTimeWindows
from streams.observability.collector import PipelineCollector
from streams.pipeline.app import Pipeline
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import load_topology
from streams.settings import Settings

DASHBOARD = Path(__file__).resolve().parents[4] / "docs" / "grafana" / "lineage-worker.json"


def _pipeline(tmp_path: Path) -> Pipeline:
    pipeline = Pipeline(app=None, settings=Settings(data_dir=tmp_path),  # type: ignore[arg-type]
                        topology=load_topology())
    pipeline.stores = StoreRegistry(tmp_path / "state")
    store = pipeline.stores.get("probe-join", "probe-events", 0)
    tx = Transaction(store)
    windows = EventTimeWindows(tx, "trace", size_ms=100, allowed_lateness_ms=0)
    windows.open("t1", 1)
    windows.open("t2", 2)
    tx.commit(0)
    metrics = pipeline.metrics
    metrics.incr("probe-join.events", 7)
    metrics.incr("probe-join.dead_letters.schema", 2)
    metrics.incr("sql-analysis.cache_hits", 3)
    metrics.incr("sql-analysis.cache_misses", 1)
    metrics.observe("probe-join.handler", 0.5)
    return pipeline


def _scrape(pipeline: Pipeline) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PipelineCollector(pipeline))
    return generate_latest(registry).decode()


def test_counters_gauges_and_timings_are_exported(tmp_path: Path) -> None:
    text = _scrape(_pipeline(tmp_path))
    assert 'lineage_agent_events_total{agent="probe-join"} 7.0' in text
    assert 'lineage_agent_dead_letters_total{agent="probe-join",reason_class="schema"} 2.0' in text
    assert "lineage_sql_cache_hit_ratio 0.75" in text
    assert 'lineage_agent_handler_seconds_count{agent="probe-join"} 1.0' in text
    assert ('lineage_open_windows{agent="probe-join",partition="0",topic="probe-events",'
            'window="trace"} 2.0') in text
    assert re.search(r'lineage_state_bytes\{agent="probe-join".*\} [1-9]', text)


def _dashboard_metrics() -> set[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return {m for e in exprs for m in re.findall(r"\blineage_[a-z_]+", e)}


def test_the_dashboard_only_uses_metrics_the_worker_exports(tmp_path: Path) -> None:
    text = _scrape(_pipeline(tmp_path))
    exported = set(re.findall(r"^# TYPE (lineage_[a-z_]+)", text, re.MULTILINE))
    exported |= {n + suffix for n in exported for suffix in ("_total", "_sum", "_count")}
    # Exported only while the worker runs (replica, lag sampler, leading monitor):
    live = {"lineage_graph_edges", "lineage_graph_replica_lag", "lineage_consumer_lag",
            "lineage_policy_violations_open"}
    assert _dashboard_metrics() - exported - live == set()


def test_restore_time_is_exported_per_agent_and_partition(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    pipeline.metrics.observe("restore.edge-merge.3", 0.25)
    text = _scrape(pipeline)
    assert 'lineage_state_restore_seconds_count{agent="edge-merge",partition="3"} 1.0' in text
    assert 'lineage_state_restore_seconds_sum{agent="edge-merge",partition="3"} 0.25' in text
