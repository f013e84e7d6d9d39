"""The pipeline's state as Prometheus metrics, read at scrape time.

Counters and timings come from the worker's `Metrics`; gauges are read
when scraped: open windows and state bytes per store, the graph replica's
lag and size, open violations per policy (on the leading worker), and the
consumer lag the `LagSampler` took last. Label values are agent names,
topics, partitions, policy ids and reason classes: never a payload value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from state.windows import open_windows
from streams.pipeline.deadletters import REASON_CLASSES

if TYPE_CHECKING:
    from streams.observability.lag import LagSampler
    from streams.pipeline.app import Pipeline

#: Which stores keep windows, and their namespace in the store.
WINDOW_NAMESPACES = {"probe-join": "trace", "sql-analysis": "job"}


def _dir_bytes(path: Path) -> int:
    total = 0
    for item in path.rglob("*"):
        try:
            if item.is_file():
                total += item.stat().st_size
        except OSError:  # a file RocksDB just removed
            continue
    return total


class PipelineCollector(Collector):
    """A custom collector: every scrape reads the live pipeline."""

    def __init__(self, pipeline: Pipeline, lag: LagSampler | None = None) -> None:
        self.pipeline = pipeline
        self.lag = lag

    def describe(self) -> list[Metric]:
        return []  # no collect at registration: the pipeline is not running yet

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._timings()
        yield from self._stores()
        yield from self._graph_and_policy()
        yield from self._lag()

    def _counters(self) -> Iterator[Metric]:
        counters = self.pipeline.metrics.counters
        agents = sorted(self.pipeline.topology.agents)
        events = CounterMetricFamily("lineage_agent_events", "Events handled per agent",
                                     labels=["agent"])
        outputs = CounterMetricFamily("lineage_agent_outputs", "Messages sent per agent",
                                      labels=["agent"])
        dead = CounterMetricFamily("lineage_agent_dead_letters",
                                   "Dead letters per agent and reason class",
                                   labels=["agent", "reason_class"])
        failures = CounterMetricFamily(
            "lineage_agent_handler_failures",
            "Batches whose handler raised, then handled one record at a time", labels=["agent"])
        for agent in agents:
            events.add_metric([agent], counters[f"{agent}.events"])
            outputs.add_metric([agent], counters[f"{agent}.outputs"])
            failures.add_metric([agent], counters[f"{agent}.handler_failures"])
            for cls in REASON_CLASSES:
                dead.add_metric([agent, cls], counters[f"{agent}.dead_letters.{cls}"])
        yield from (events, outputs, dead, failures)
        captures = CounterMetricFamily(
            "lineage_probe_captures", "Probe captures by admission (stored, late, overflow)",
            labels=["admission"])
        sql_io = CounterMetricFamily(
            "lineage_sql_io_halves", "sql_io halves by admission (stored, late, overflow)",
            labels=["admission"])
        for admission in ("stored", "late", "overflow"):
            captures.add_metric([admission], counters[f"probe-join.{admission}"])
            sql_io.add_metric([admission], counters[f"sql-analysis.io_{admission}"])
        yield from (captures, sql_io)
        closed = CounterMetricFamily("lineage_windows_closed", "Windows closed",
                                     labels=["window"])
        closed.add_metric(["trace"], counters["probe-join.traces_closed"])
        closed.add_metric(["job"], counters["sql-analysis.jobs_closed"])
        yield closed
        for name, key, text in (
            ("lineage_probe_captures_lost", "probe-join.lost_captures",
             "Stored captures unreadable after a restart (their key died with the process)"),
            ("lineage_probe_windows_lost", "probe-join.lost_windows",
             "Trace windows that lost captures to a restart"),
            ("lineage_matcher_bytes", "probe-join.matcher_bytes",
             "Payload bytes sent to the matcher"),
            ("lineage_matcher_failures", "probe-join.matcher_failed",
             "Matcher requests that failed"),
            ("lineage_sql_statement_errors", "sql-analysis.statement_errors",
             "SQL statements the analyzer could not handle (each script a dead letter)"),
            ("lineage_sql_cache_hits", "sql-analysis.cache_hits", "SQL fingerprint cache hits"),
            ("lineage_sql_cache_misses", "sql-analysis.cache_misses",
             "SQL fingerprint cache misses"),
        ):
            yield CounterMetricFamily(name, text, value=counters[key])
        hits, misses = counters["sql-analysis.cache_hits"], counters["sql-analysis.cache_misses"]
        yield GaugeMetricFamily("lineage_sql_cache_hit_ratio",
                                "SQL cache hits over lookups since the worker started",
                                value=hits / (hits + misses) if hits + misses else 0.0)

    def _timings(self) -> Iterator[Metric]:
        timings = self.pipeline.metrics.timings
        handler = SummaryMetricFamily("lineage_agent_handler_seconds",
                                      "Time in an agent's handler, per batch", labels=["agent"])
        for agent in sorted(self.pipeline.topology.agents):
            count, total = timings.get(f"{agent}.handler", (0, 0.0))
            handler.add_metric([agent], count_value=int(count), sum_value=total)
        yield handler
        count, total = timings.get("probe-join.matcher", (0, 0.0))
        yield SummaryMetricFamily("lineage_matcher_seconds", "Time in the Rust matcher, per batch",
                                  count_value=int(count), sum_value=total)
        restore = SummaryMetricFamily(
            "lineage_state_restore_seconds",
            "Time to rebuild a partition's state that moved here from another worker",
            labels=["agent", "partition"])
        for name, (count, total) in sorted(timings.items()):
            if name.startswith("restore."):
                agent, _, partition = name.removeprefix("restore.").rpartition(".")
                restore.add_metric([agent, partition], count_value=int(count), sum_value=total)
        yield restore

    def _stores(self) -> Iterator[Metric]:
        open_family = GaugeMetricFamily(
            "lineage_open_windows", "Windows open per store (traces, jobs)",
            labels=["agent", "topic", "partition", "window"])
        size = GaugeMetricFamily("lineage_state_bytes", "Bytes on disk per state store",
                                 labels=["agent", "topic", "partition"])
        stores = self.pipeline.stores
        for (agent, topic, partition), store in (stores.items() if stores else []):
            labels = [agent, topic, str(partition)]
            namespace = WINDOW_NAMESPACES.get(agent)
            if namespace is not None:
                open_family.add_metric([*labels, namespace], open_windows(store, namespace))
            size.add_metric(labels, _dir_bytes(store.path))
        yield from (open_family, size)

    def _graph_and_policy(self) -> Iterator[Metric]:
        service = self.pipeline.graph
        if service is not None and service.ready.is_set():
            edges: int | None = None
            with contextlib.suppress(RuntimeError):  # closed while scraping
                edges = service.graph.edge_count()
            if edges is not None:
                yield GaugeMetricFamily("lineage_graph_edges", "Edges in the worker's replica",
                                        value=edges)
            materializer = service.materializer
            if materializer is not None and self.lag is not None:
                lag = GaugeMetricFamily("lineage_graph_replica_lag",
                                        "lineage-graph messages not yet in the replica",
                                        labels=["partition"])
                for partition, end in sorted(self.lag.sample.graph_ends.items()):
                    applied = materializer.positions.get(partition, 0)
                    lag.add_metric([str(partition)], max(0, end - applied))
                yield lag
        monitor = self.pipeline.policy
        counts = monitor.open_violations_per_policy() if monitor is not None else None
        if counts is not None:
            open_violations = GaugeMetricFamily(
                "lineage_policy_violations_open", "Open violations per policy (leader only)",
                labels=["policy"])
            for policy, count in sorted(counts.items()):
                open_violations.add_metric([policy], count)
            yield open_violations

    def _lag(self) -> Iterator[Metric]:
        if self.lag is None:
            return
        family = GaugeMetricFamily("lineage_consumer_lag",
                                   "Messages behind per group and partition (both groups)",
                                   labels=["group", "topic", "partition"])
        for (group, topic, partition), lag in sorted(self.lag.sample.groups.items()):
            family.add_metric([group, topic, str(partition)], lag)
        yield family
