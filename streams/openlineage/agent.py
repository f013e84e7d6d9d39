"""openlineage-events -> flow signals (origin `openlineage`).

Each event is reduced to a `RunPart` (analyzers.openlineage). A `RunEvent`
joins the earlier events of its run (by `runId`, in the job window): the
merged part gives the run's signals, and only those not yet sent for the run
go out. `JobEvent`s and `DatasetEvent`s stand alone. An event the mapping
cannot use becomes a dead letter; the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzers.events import InvalidEvent
from analyzers.openlineage import RunPart, SqlLineage, merge_parts, reduce_event, run_signals
from analyzers.signals import FlowSignal, aggregate
from state.openlineage_runs import RunWindows
from state.transaction import Transaction
from state.windows import Admission, EventTimeBounds
from streams.pipeline.batch import InEvent, Output, message_dead_letter, record_time_ms
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

AGENT = "openlineage-intake"
TOPIC = "openlineage-events"


def _sent_key(signal: FlowSignal) -> str:
    return f"{signal.src}|{signal.dst}|{signal.kind}|{int(signal.masking)}"


@dataclass
class OpenLineageIntake:
    """The agent's handler, with the SQL analyzers cached across batches."""

    topology: Topology
    metrics: Metrics
    sql: SqlLineage = field(init=False)
    bounds: EventTimeBounds = field(init=False)

    def __post_init__(self) -> None:
        bounds = self.topology.event_time
        #: Its events carry their time as `eventTime`, so the intake checks it itself.
        self.bounds = EventTimeBounds(bounds.max_future_ms, bounds.max_age_ms)
        self.sql = SqlLineage(maxsize=self.topology.sql.cache_size,
                              time_cap_s=self.topology.sql.statement_timeout_ms / 1000)

    def __call__(self, tx: Transaction, events: list[InEvent]) -> list[Output]:
        topo = self.topology
        runs = RunWindows(tx, size_ms=topo.windows.job.size_ms,
                          allowed_lateness_ms=topo.windows.job.allowed_lateness_ms,
                          max_bytes=topo.caps.job.max_bytes)
        signals: list[FlowSignal] = []
        dead: list[Output] = []
        for item in events:
            event = item.event
            kind = str(item.parsed)  # what the validator, `kind_of`, returned
            try:
                part = reduce_event(event, kind)
                refusal = self.bounds.refusal(part.ts, record_time_ms(item.message))
                if refusal is not None:  # its eventTime must not move the run windows
                    raise InvalidEvent(refusal)
                if kind == "RunEvent":
                    signals += self._run(runs, str(event["run"]["runId"]), part)
                else:
                    signals += run_signals(part, self.sql)
            except (InvalidEvent, KeyError, TypeError, ValueError) as exc:
                reason = exc.reason if isinstance(exc, InvalidEvent) else (
                    f"openlineage: cannot map the event ({type(exc).__name__})")
                dead.append(message_dead_letter(item.message, reason, 0, AGENT))
                self.metrics.incr(f"{AGENT}.dead_letters")
                continue
            self.metrics.incr(f"{AGENT}.{kind}")
        self.metrics.incr(f"{AGENT}.runs_closed", runs.expire())
        self.metrics.counters[f"{AGENT}.sql_errors"] = self.sql.errors
        return dead + [Output("flow-signals", s.edge_id.encode(), s.to_json())
                       for s in aggregate(signals)]

    def _run(self, runs: RunWindows, run_id: str, part: RunPart) -> list[FlowSignal]:
        slot = runs.open(run_id, part.ts)
        merged = part if slot.part is None else merge_parts([RunPart.from_bytes(slot.part), part])
        fresh = [s for s in run_signals(merged, self.sql) if _sent_key(s) not in slot.sent]
        if slot.admission is Admission.STORED:
            admission = runs.save(run_id, merged.to_bytes(),
                                  slot.sent | {_sent_key(s) for s in fresh})
        else:
            admission = slot.admission
        self.metrics.incr(f"{AGENT}.run_{admission.value}")
        return fresh
