"""Drive the pipeline at a set rate with generated traffic and measure it.

`lineage loadtest` runs this: it starts N workers (or uses running ones),
waits until they have all joined the group, sends the workload at `rate`
events/s for `duration` seconds with a batching async producer, keeps
sampling consumer lag and delta latency, waits for the pipeline to drain,
then scores the high-confidence graph against the workload's ground truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError

from loadtest.graph_view import current_edges
from loadtest.measure import (
    LagProbe,
    Samples,
    follow_deltas,
    now_ms,
    percentile,
    pipeline_groups,
    process_cpu_seconds,
)
from loadtest.sender import BatchSender, Prepared
from loadtest.workload import Workload, generate
from streams.kafka.clients import new_producer
from streams.kafka.topic_reader import read_latest
from streams.kafka.topics import ensure_topics
from streams.pipeline.topology import load_topology
from streams.settings import Settings


@dataclass(frozen=True)
class LoadSpec:
    rate: int
    duration_s: float
    workers: int = 1
    seed: int = 7
    start_workers: bool = True
    drain_timeout_s: float = 300.0
    worker_loglevel: str = "warning"


Progress = Callable[[str, float], None]


def start_worker(settings: Settings, index: int,
                 loglevel: str = "warning") -> subprocess.Popen[bytes]:
    """Worker `index` of a run, in its own data dir (the same one again on a restart)."""
    lineage = str(Path(sys.executable).parent / "lineage")
    data_dir = settings.data_dir / f"worker-{index}"
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [lineage, "worker", "--bootstrap-servers", settings.bootstrap_servers,
         "--topic-prefix", settings.topic_prefix, "--data-dir", str(data_dir),
         "--loglevel", loglevel],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=settings.security.child_env())


def _start_workers(settings: Settings, count: int,
                   loglevel: str = "warning") -> list[subprocess.Popen[bytes]]:
    return [start_worker(settings, i, loglevel) for i in range(count)]


#: Something done to a run while it sends (loadtest/faults.py): given the run's
#: settings and its workers (a list it may extend), it returns when it is done.
Fault = Callable[[Settings, list[subprocess.Popen[bytes]]], Coroutine[Any, Any, None]]


def _stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


async def _plan(sender: BatchSender, workload: Workload, count: int,
                progress: Progress) -> list[Prepared]:
    """At least `count` events of the workload, serialized ahead of the run but for `ts`.

    Generating and encoding at send time cost the driver a third of a core at
    25k events/s, CPU the pipeline it measures shares; stamping a prepared
    event costs a concatenation.
    """
    planned: list[Prepared] = []
    requests = 0
    while len(planned) < count:
        for event in workload.request(0):
            planned.append(await sender.prepare(event))
        requests += 1
        if requests % 50 == 0:
            for event in workload.background(0):
                planned.append(await sender.prepare(event))
        if requests % 5000 == 0:
            progress("generating", len(planned) / count)
    return planned


async def _send_at_rate(sender: BatchSender, planned: list[Prepared], spec: LoadSpec,
                        samples: Samples, t0: float, progress: Progress) -> int:
    """Send `planned` at `spec.rate` events/s; return how many were sent.

    Every tick (50 ms) stamps the events due by its end with the tick's time,
    appends them to per-partition record batches and sends those. The few
    left when the time is up (the rest of the last request) follow at once.
    """
    tick = 0.05
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < spec.duration_s and sent < len(planned):
        target = min(len(planned), int(spec.rate * min(elapsed + tick, spec.duration_s)))
        ts = now_ms()
        for event in planned[sent:target]:
            await sender.add_prepared(event, ts)
        sent = max(sent, target)
        await sender.flush()
        samples.sent.append((time.monotonic() - t0, sender.sent))
        progress("sending", elapsed / spec.duration_s)
        await asyncio.sleep(max(0.0, start + elapsed + tick - time.monotonic()))
    ts = now_ms()
    for event in planned[sent:]:
        await sender.add_prepared(event, ts)
    await sender.drain()
    samples.sent.append((time.monotonic() - t0, sender.sent))
    return len(planned)


async def _sample_lag(probe: LagProbe, samples: Samples, t0: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):  # a broker hiccup must not end the run
            samples.lag.append((time.monotonic() - t0, await probe.lag()))
        await asyncio.sleep(1.0)


async def _wait_for_members(probe: LagProbe, count: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # A fresh broker has no group coordinator until its offsets topic exists.
        with contextlib.suppress(KafkaError):
            if await probe.members() >= count:
                return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{count} worker(s) did not join the group within {timeout_s:.0f}s")


async def _drain(probe: LagProbe, spec: LoadSpec, progress: Progress) -> float | None:
    """Wait until every input and signal is consumed; when that was, or None on timeout.

    Drained means a lag of 0 on three polls in a row (half a second apart);
    the moment is the first of them, not the confirmation after it.
    """
    deadline = time.monotonic() + spec.drain_timeout_s
    quiet, since = 0, 0.0
    while time.monotonic() < deadline:
        polled = time.monotonic()
        lag = await probe.lag()
        progress(f"draining (lag {lag})", 1.0)
        if lag == 0:
            quiet, since = quiet + 1, since if quiet else polled
        else:
            quiet = 0
        if quiet >= 3:
            return since
        await asyncio.sleep(0.5)
    return None


def score(edges: dict[str, dict[str, Any]], workload: Workload) -> dict[str, float]:
    """Precision of high-confidence edges against every true edge; recall of the
    flows sampled three times or more (plus SQL and config truth)."""
    high = {(e["src"], e["dst"]) for e in edges.values() if e["confidence"] == "high"}
    true_any = workload.all_true()
    must_find = workload.truth(min_samples=3)
    precision = len(high & true_any) / len(high) if high else 0.0
    recall = len(must_find & high) / len(must_find) if must_find else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "high_edges": len(high), "true_edges": len(must_find)}


async def run_load(settings: Settings, spec: LoadSpec, progress: Progress,
                   fault: Fault | None = None) -> dict[str, Any]:
    await ensure_topics(settings, load_topology())
    workload = generate(spec.seed)
    samples = Samples()
    procs = (_start_workers(settings, spec.workers, spec.worker_loglevel)
             if spec.start_workers else [])
    probe = LagProbe(settings, pipeline_groups(settings, load_topology()))
    await probe.start()
    stop = asyncio.Event()
    try:
        progress("waiting for workers", 0.0)
        await _wait_for_members(probe, max(1, spec.workers))
        producer = new_producer(settings, linger_ms=5, max_batch_size=512 * 1024, acks=1)
        await producer.start()
        try:
            sender = BatchSender(producer, settings)
            planned = await _plan(sender, workload, int(spec.rate * spec.duration_s), progress)
            t0, cpu0 = time.monotonic(), time.process_time()
            workers_cpu0 = sum(process_cpu_seconds(p.pid) for p in procs)
            followers = [asyncio.create_task(follow_deltas(settings, samples, stop)),
                         asyncio.create_task(_sample_lag(probe, samples, t0, stop))]
            preamble = workload.preamble(now_ms())  # configs, static candidates, seed SQL
            for event in preamble:
                await sender.add(event)
            injected: asyncio.Task[None] | None = (
                asyncio.create_task(fault(settings, procs)) if fault else None)
            sent = len(preamble) + await _send_at_rate(sender, planned, spec, samples, t0,
                                                        progress)
            send_s, send_cpu_s = time.monotonic() - t0, time.process_time() - cpu0
            if injected is not None:
                await injected
        finally:
            await producer.stop()
        drained_at = await _drain(probe, spec, progress)
        drained = drained_at is not None
        workers_cpu_s = sum(process_cpu_seconds(p.pid) for p in procs) - workers_cpu0
        total_s = (drained_at if drained_at is not None else time.monotonic()) - t0
        await asyncio.sleep(1.0)  # the last deltas reach the follower
        stop.set()
        await asyncio.gather(*followers)
        edges = await current_edges(settings)
        dead = len(await read_latest(settings, "dead-letters"))
    finally:
        stop.set()
        await probe.stop()
        _stop_workers(procs)
    result: dict[str, Any] = {
        "target_rate": spec.rate, "duration_s": spec.duration_s, "workers": spec.workers,
        "events_sent": sent, "send_s": round(send_s, 2), "drained": drained,
        # CPU seconds of this process (generator, producer, followers) while sending.
        "driver_cpu_s": round(send_cpu_s, 2),
        "sustained_events_per_s": round(sent / total_s, 1),
        "p50_latency_ms": percentile(samples.latencies_ms, 50),
        "p99_latency_ms": percentile(samples.latencies_ms, 99),
        "max_lag": max((lag for _, lag in samples.lag), default=0),
        "dead_letters": dead, "deltas": samples.deltas,
    }
    if procs and fault is None and drained:
        # CPU seconds of the workers this run started, from the first event sent to the
        # drain (a fault's killed worker takes its seconds with it: then not reported).
        result["workers_cpu_s"] = round(workers_cpu_s, 2)
        result["events_per_worker_cpu_s"] = (round(sent / result["workers_cpu_s"])
                                             if result["workers_cpu_s"] else 0)
    result.update(score(edges, workload))
    result["series"] = {"lag": samples.lag, "sent": samples.sent,
                        "latency": [(round(t - t0, 2), ms) for t, ms in samples.latency_at]}
    return result
