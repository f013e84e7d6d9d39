"""sql-job-logs -> SQL signals.

`sql` events go through the cached analyzer: one signal per (source field,
target column) with its OpenLineage subtype, and table-level signals for
statements without column lineage. `sql_io` halves are joined per job (else
per trace) in the job window into table-level signals, unless column-level
lineage is already known for that table pair.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from analyzers.signals import FlowSignal, aggregate
from analyzers.sql import SqlAnalyzer
from analyzers.sql.model import AnalysisResult
from analyzers.sql.schemas import SchemaCatalog
from state.jobs import IoHalf, JobCapsSpec, JobWindows
from state.transaction import Transaction
from state.windows import Admission
from streams.pipeline.batch import InEvent, Output, message_dead_letter
from streams.pipeline.deadletters import window_refusal
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology
from vocab import table_of

AGENT = "sql-analysis"
#: Learned table schemas kept (over all namespaces), least recently learned dropped first.
LEARNED_TABLES = 50_000
#: A table-level flow seen through `sql_io` halves: data moved, how is unknown.
TABLE_LEVEL_KIND = "TRANSFORMATION"
#: Failed statements a dead letter's reason names (the rest are counted).
MAX_ERRORS_SHOWN = 3


def sql_signals(result: AnalysisResult, ts: int) -> tuple[list[FlowSignal], set[tuple[str, str]]]:
    """Signals of one analysed script, and the table pairs with column lineage."""
    signals: list[FlowSignal] = []
    column_pairs: set[tuple[str, str]] = set()
    for statement in result.statements:
        if not statement.outputs:  # a bare SELECT: its targets are not assets
            continue
        for column in statement.columns:
            for source in column.sources:
                signals.append(FlowSignal(src=source.field, dst=column.target, kind=source.subtype,
                                          origin="sql", ts=ts, masking=source.masking))
                column_pairs.add((table_of(source.field), table_of(column.target)))
        # a `*` over a table of unknown columns: every column of the table flows
        starred = {(f.source, f.target) for f in statement.table_level if f.target}
        for src in statement.inputs:
            for dst in statement.outputs:
                if src != dst and ((src, dst) in starred or (src, dst) not in column_pairs):
                    signals.append(FlowSignal(src=src, dst=dst, kind=TABLE_LEVEL_KIND,
                                              origin="sql", ts=ts))
    return signals, column_pairs


def failed_reason(result: AnalysisResult) -> str:
    """The dead-letter reason of a script with failed statements: indexes and the
    analyzer's messages, which never quote the SQL text (analyzers/sql/script.py).

    The statements that were analysed still give their signals; the dead letter
    lets `lineage replay --dead-letters` re-run the script after an analyzer upgrade.
    """
    failed = len(result.errors)
    total = failed + len(result.statements)
    shown = "; ".join(f"#{e.index}: {e.message}" for e in result.errors[:MAX_ERRORS_SHOWN])
    more = f"; {failed - MAX_ERRORS_SHOWN} more" if failed > MAX_ERRORS_SHOWN else ""
    return f"sql analysis: {failed} of {total} statement(s) failed ({shown}{more})"


def _table_asset(event: dict[str, object]) -> str:
    return f"{event['namespace']}/{str(event['table']).lower()}"


@dataclass
class SqlAnalysis:
    """The SQL agent's handler, with its fingerprint cache.

    ``catalog`` holds the table columns the analyses use: the tables each
    ``CREATE TABLE`` of a namespace's stream defines (in memory, bounded,
    versioned), and whatever else is given the same catalog to teach it (an
    OpenLineage intake: ``catalog.learn(namespace, "db.table", fields)``).
    """

    topology: Topology
    metrics: Metrics
    catalog: SchemaCatalog = field(
        default_factory=lambda: SchemaCatalog(max_tables=LEARNED_TABLES)
    )
    analyzer: SqlAnalyzer = field(init=False)

    def __post_init__(self) -> None:
        self.analyzer = SqlAnalyzer(
            maxsize=self.topology.sql.cache_size,
            time_cap_s=self.topology.sql.statement_timeout_ms / 1000,
            catalog=self.catalog,
            learn_ddl=True,
        )

    def __call__(self, tx: Transaction, events: list[InEvent]) -> list[Output]:
        topo = self.topology
        jobs = JobWindows(
            tx, size_ms=topo.windows.job.size_ms,
            allowed_lateness_ms=topo.windows.job.allowed_lateness_ms,
            caps=JobCapsSpec(topo.caps.job.max_events, topo.caps.job.max_bytes),
        )
        signals: list[FlowSignal] = []
        dead: list[Output] = []
        for item in events:
            event = item.event
            if event["type"] == "sql":
                result = self._analyze(event)
                signals += self._sql(jobs, event, result)
                if result.errors:
                    dead.append(message_dead_letter(item.message, failed_reason(result),
                                                    int(time.time() * 1000), AGENT))
            else:
                admission, joined = self._sql_io(jobs, event)
                signals += joined
                if admission is not Admission.STORED:  # kept as a dead letter
                    reason = window_refusal("job", late=admission is Admission.LATE)
                    dead.append(message_dead_letter(item.message, reason,
                                                    int(time.time() * 1000), AGENT))
        self.metrics.incr(f"{AGENT}.jobs_closed", jobs.expire())
        self.metrics.counters[f"{AGENT}.cache_hits"] = self.analyzer.hits
        self.metrics.counters[f"{AGENT}.cache_misses"] = self.analyzer.misses
        return dead + [Output("flow-signals", s.edge_id.encode(), s.to_json())
                       for s in aggregate(signals)]

    def _analyze(self, event: dict[str, object]) -> AnalysisResult:
        result = self.analyzer.analyze(
            str(event["query"]), engine=str(event["engine"]),
            namespace=str(event.get("namespace") or ""),
            default_schema=str(event["default_schema"]) if event.get("default_schema") else None,
        )
        self.metrics.incr(f"{AGENT}.statement_errors", len(result.errors))
        return result

    def _sql(self, jobs: JobWindows, event: dict[str, object],
             result: AnalysisResult) -> list[FlowSignal]:
        ts = event["ts"]
        assert isinstance(ts, int)
        signals, column_pairs = sql_signals(result, ts)
        for src, dst in column_pairs:
            jobs.mark_column_lineage(src, dst)
        return signals

    def _sql_io(self, jobs: JobWindows,
                event: dict[str, object]) -> tuple[Admission, list[FlowSignal]]:
        ts = event["ts"]
        assert isinstance(ts, int)
        trace_id = event.get("trace_id")
        half = IoHalf(job_id=str(event["job_id"]), action=str(event["action"]),
                      table=_table_asset(event),
                      trace_id=trace_id if isinstance(trace_id, str) else None, ts=ts)
        admission, partners = jobs.add(half)
        self.metrics.incr(f"{AGENT}.io_{admission.value}")
        signals = []
        for other in partners:
            read, write = (half, other) if half.action == "READ" else (other, half)
            if read.table == write.table or jobs.has_column_lineage(read.table, write.table):
                continue
            signals.append(FlowSignal(src=read.table, dst=write.table, kind=TABLE_LEVEL_KIND,
                                      origin="sql", ts=max(read.ts, write.ts)))
        return admission, signals
