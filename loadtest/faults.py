"""`python -m loadtest.faults`: the load test with one fault injected at a time.

Each scenario is a `run_load` (loadtest/driver.py) on its own topic prefix,
with the same seeded workload as a fault-free baseline run first, and one
fault injected while it sends:

- `kill`: SIGKILL one of two workers, not restarted (the survivor restores
  its partitions' state, streams/pipeline/restore.py);
- `kill-restart`: the same, restarted on its own data dir after 5 s;
- `join`: a third worker joins two (partitions move with their state);
- `broker-stop`: the broker stopped for 20 s, then started again; only on
  the suite's own broker (started here on other ports, never the shared one);
- `poison-pill`: one record per `probe-events` partition that makes the probe
  join raise every time (an asset name over 64 KiB), so each partition's
  worker retries it, dead-letters it and goes on;
- `far-future`: one probe event per partition stamped in the year 3000,
  which must be dead-lettered without moving its partition's watermark.

For each: sustained rate, p99 latency, recovery time (from the fault until
the last delta slower than twice the pre-fault p99, at least 1 s more),
dead letters, precision and recall, whether the final graph equals the
baseline's (each edge's confidence and kinds), edges whose version went
backwards on `lineage-graph`, and how many partitions were restored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
import orjson

from loadtest.driver import Fault, LoadSpec, run_load, start_worker
from loadtest.graph_view import current_edges, version_histories
from loadtest.measure import percentile
from streams.kafka.clients import new_producer
from streams.localkafka import LocalKafka
from streams.settings import Settings

SCENARIOS = ("kill", "kill-restart", "join", "broker-stop", "poison-pill", "far-future")
YEAR_3000_MS = 32_503_680_000_000
#: An asset name longer than a trace window can hold (u16 length): the probe join raises.
POISON_ASSET = "web://faults/" + "p" * 70_000


@dataclass(frozen=True)
class Scenario:
    name: str
    workers: int
    fault: Callable[[float], Fault] | None  # given the injection time (s after the start)


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def kill(restart_after_s: float | None) -> Callable[[float], Fault]:
    def at(when_s: float) -> Fault:
        async def fault(settings: Settings, procs: list[subprocess.Popen[bytes]]) -> None:
            await asyncio.sleep(when_s)
            _killpg(procs[1])
            if restart_after_s is not None:
                await asyncio.sleep(restart_after_s)
                procs[1] = start_worker(settings, 1, "info")
        return fault
    return at


def join(when_s: float) -> Fault:
    async def fault(settings: Settings, procs: list[subprocess.Popen[bytes]]) -> None:
        await asyncio.sleep(when_s)
        procs.append(start_worker(settings, len(procs), "info"))
    return fault


def broker_stop(broker: LocalKafka, down_s: float) -> Callable[[float], Fault]:
    def at(when_s: float) -> Fault:
        async def fault(settings: Settings, procs: list[subprocess.Popen[bytes]]) -> None:
            await asyncio.sleep(when_s)
            await asyncio.to_thread(broker.down)
            await asyncio.sleep(down_s)
            await asyncio.to_thread(broker.up)
        return fault
    return at


def hostile_probe(kind: str, now_ms: int, partition: int) -> bytes:
    """The record a `poison-pill` or `far-future` scenario sends to one partition."""
    trace = f"fault-{kind}-{partition}"
    asset, ts = (POISON_ASSET, now_ms) if kind == "poison-pill" else ("web://faults/x",
                                                                      YEAR_3000_MS)
    return orjson.dumps({"v": 1, "type": "probe", "trace_id": trace, "ts": ts,
                         "role": "source", "asset": asset, "payload": {"k": "fault"}})


def inject(kind: str) -> Callable[[float], Fault]:
    """Send one hostile probe event to every partition of `probe-events`."""
    def at(when_s: float) -> Fault:
        async def fault(settings: Settings, procs: list[subprocess.Popen[bytes]]) -> None:
            await asyncio.sleep(when_s)
            topic = settings.topic("probe-events")
            producer = new_producer(settings)
            await producer.start()
            try:
                now_ms = int(time.time() * 1000)
                for partition in sorted(await producer.partitions_for(topic)):
                    await producer.send_and_wait(topic, hostile_probe(kind, now_ms, partition),
                                                 key=b"fault", partition=partition)
            finally:
                await producer.stop()
        return fault
    return at


def recovery_s(latency: list[tuple[float, int]], fault_at_s: float) -> float | None:
    """Seconds from the fault until the last delta slower than the pre-fault bound."""
    before = [ms for t, ms in latency if t < fault_at_s]
    if not before:
        return None
    p99 = percentile(before, 99)
    bound = max(2 * p99, p99 + 1000)
    slow = [t for t, ms in latency if t >= fault_at_s and ms > bound]
    return round(max(slow) - fault_at_s, 1) if slow else 0.0


def _graph_summary(edges: dict[str, dict[str, Any]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {eid: (e["confidence"], tuple(e["kinds"])) for eid, e in edges.items()}


def _restores(data_dir: Path) -> int:
    return sum(log.read_text(errors="replace").count("restored ")
               for log in data_dir.glob("worker-*/worker.log"))


async def _run(settings: Settings, scenario: Scenario, spec: LoadSpec,
               baseline: dict[str, tuple[str, tuple[str, ...]]] | None) -> dict[str, Any]:
    fault_at = spec.duration_s * 0.35
    fault = scenario.fault(fault_at) if scenario.fault else None
    run = replace(spec, workers=scenario.workers, worker_loglevel="info")
    result = await run_load(settings, run, lambda _what, _done: None, fault)
    edges = _graph_summary(await current_edges(settings))
    histories = await version_histories(settings)
    row: dict[str, Any] = {
        "scenario": scenario.name,
        "events_sent": result["events_sent"],
        "sustained_events_per_s": result["sustained_events_per_s"],
        "p99_latency_ms": result["p99_latency_ms"],
        "recovery_s": (recovery_s(result["series"]["latency"], fault_at)
                       if fault is not None else None),
        "dead_letters": result["dead_letters"],
        "precision": result["precision"], "recall": result["recall"],
        "edges": len(edges),
        "versions_went_back": sum(1 for v in histories.values() if v != sorted(v)),
        "partitions_restored": _restores(settings.data_dir),
        "drained": result["drained"],
    }
    if baseline is not None:
        row["graph_equal"] = edges == baseline
        row["edges_differing"] = len(set(edges.items()) ^ set(baseline.items()))
    row["_graph"] = edges
    return row


def scenarios(names: list[str], broker: LocalKafka | None) -> tuple[list[Scenario], list[str]]:
    """The scenarios to run, and why the others are skipped."""
    skipped = []
    out = []
    for name in names:
        if name in ("poison-pill", "far-future"):
            out.append(Scenario(name, 2, inject(name)))
        elif name == "kill":
            out.append(Scenario(name, 2, kill(None)))
        elif name == "kill-restart":
            out.append(Scenario(name, 2, kill(5.0)))
        elif name == "join":
            out.append(Scenario(name, 2, join))
        elif name == "broker-stop":
            if broker is None:
                skipped.append("broker-stop: only on the suite's own broker (not with "
                               "--bootstrap-servers)")
            else:
                out.append(Scenario(name, 2, broker_stop(broker, 20.0)))
    return out, skipped


async def suite(settings: Settings, names: list[str], spec: LoadSpec,
                broker: LocalKafka | None, echo: Callable[[str], None]) -> dict[str, Any]:
    chosen, skipped = scenarios(names, broker)
    prefix = f"{settings.topic_prefix}faults-{time.strftime('%H%M%S')}-"
    rows = []
    base_settings = replace(settings, topic_prefix=f"{prefix}baseline-",
                            data_dir=settings.data_dir / "baseline")
    echo("baseline (2 workers, no fault)")
    baseline = await _run(base_settings, Scenario("baseline", 2, None), spec, None)
    graph = baseline["_graph"]
    rows.append(baseline)
    for scenario in chosen:
        echo(f"{scenario.name}")
        run = replace(settings, topic_prefix=f"{prefix}{scenario.name}-",
                      data_dir=settings.data_dir / scenario.name)
        rows.append(await _run(run, scenario, spec, graph))
    for row in rows:
        row.pop("_graph")
    return {"rate": spec.rate, "duration_s": spec.duration_s, "rows": rows, "skipped": skipped}


COLUMNS = ("scenario", "sustained_events_per_s", "p99_latency_ms", "recovery_s", "dead_letters",
           "precision", "recall", "graph_equal", "edges_differing", "versions_went_back",
           "partitions_restored")


def markdown(report: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in report["rows"]:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
    lines += [f"- skipped: {reason}" for reason in report["skipped"]]
    return "\n".join(lines)


@click.command("faults")
@click.option("--rate", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Target input events per second.")
@click.option("--duration", type=click.FloatRange(min=5), default=30, show_default=True,
              help="Seconds of sending per scenario (the fault comes at 35%).")
@click.option("--scenarios", "names", default=",".join(SCENARIOS), show_default=True,
              help="Comma-separated scenarios.")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".lineage-faults"), show_default=True,
              help="Data dirs of the workers (and of the suite's own broker).")
@click.option("--bootstrap-servers", default=None,
              help="Use this running broker instead of starting one (no broker-stop then).")
@click.option("--broker-port", type=int, default=19192, show_default=True,
              help="Port of the suite's own broker (its controller: the next port).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the results as JSON here.")
def main(rate: int, duration: float, names: str, work: Path, bootstrap_servers: str | None,
         broker_port: int, out: Path | None) -> None:
    """Run the load test once without and once per fault; print a Markdown table."""
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise click.UsageError(f"unknown scenario(s) {', '.join(unknown)}; "
                               f"known: {', '.join(SCENARIOS)}")
    work = work.resolve()
    # A stopped broker makes every client log each reconnect attempt: keep the table readable.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    broker = None
    if bootstrap_servers is None:
        broker = LocalKafka(work / "broker", port=broker_port, controller_port=broker_port + 1,
                            heap="384m")
        click.echo(broker.up(), err=True)
        bootstrap_servers = broker.bootstrap
    settings = Settings(bootstrap_servers=bootstrap_servers, data_dir=work / "runs")
    spec = LoadSpec(rate=rate, duration_s=duration, drain_timeout_s=180)
    try:
        report = asyncio.run(suite(settings, chosen, spec, broker,
                                   lambda msg: click.echo(f"-- {msg}", err=True)))
    finally:
        if broker is not None:
            click.echo(broker.down(), err=True)
    if out is not None:
        out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    click.echo(markdown(report))


if __name__ == "__main__":
    main()
