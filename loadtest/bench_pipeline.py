"""Where the pipeline's time goes, against baselines measured in the same run.

    python -m loadtest.bench_pipeline [--requests N] [--consumer stream|batch|both]
        [--clients PRODUCER/FETCH[:RECORDS][,PRODUCER/FETCH[:RECORDS]...]] [--json]
    python -m loadtest.bench_pipeline --against TREE [--pairs P] [--requests N] [--json]

On one generated workload (loadtest.workload, about 4 probe events per
request) already on the broker, it measures in events/s:

- ``bare_consume``: a plain aiokafka consumer reading and orjson-decoding every
  probe event (the ceiling for any Python consumer on this machine);
- ``handlers_offline``: the probe join and the edge merge run on the same
  events in-process, with real RocksDB state, without Kafka or Faust;
- ``probe_join_sealed`` / ``probe_join_unsealed``: the probe join alone,
  offline, with its captures sealed (state/sealing.py, what runs) and with
  the same records stored in the clear; alternated three times in the same
  run, best of each, and their ratio ``sealing_ratio`` (``--sealing-only``
  measures just this, without a broker);
- ``pipeline_stream``: one ``lineage worker`` with every agent a Faust agent
  (``consumer: stream``), from the moment it joined its groups to the moment
  every input and signal is consumed (lag 0);
- ``pipeline_batch``: the same with every agent on the batch consumer
  (``consumer: batch``, streams/pipeline/batch_consumer.py).

Each worker run reads its own copy of the events (its own topic prefix). It
prints the figures, each pipeline's ratios to the bare consumer and to the
handlers, and ``batch_vs_stream``. With ``--clients`` each consumer runs once
per pair of Kafka clients (``aiokafka`` or ``confluent``; the first names
``producer.client``, the second ``batch_consumer.client`` of topology.yaml),
named ``<consumer>_<producer>_<fetch>``, and ``<variant>_vs_<first variant>_*``
gives each pair's ratios to the first; ``:columns`` or ``:objects`` after a
pair sets ``batch_consumer.records`` too (and ``_<records>`` ends its name).

With ``--against TREE`` (another checkout, its ``matcher_rs`` built in place)
it is a baseline measured in the same run: each tree's own ``bench_pipeline
--consumer batch`` (its own code, its own worker) runs ``--pairs`` times in
turn, in fresh processes, the other tree first in the first pair and second
in the next; it reports both trees' medians of ``pipeline_batch_*`` and
``handlers_offline_events_per_s``, and for each the median, least and most
of the per-pair ratios (``*_vs_against``).
Needs a broker (``lineage kafka up``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import orjson

from analyzers.signals import parse_signal
from loadtest.driver import _stop_workers
from loadtest.measure import (
    LagProbe,
    PairedRatios,
    alternate_trees,
    pipeline_groups,
    print_figures,
    process_cpu_seconds,
    run_json_benchmark,
)
from loadtest.sender import send_events
from loadtest.workload import generate, stream
from state.sealing import HEADER_BYTES, EpochKeys, Keyrings
from streams.kafka.clients import new_consumer
from streams.kafka.topics import delete_prefixed_topics, ensure_topics
from streams.pipeline.agents.edge_merge import EdgeMerge
from streams.pipeline.agents.probe_join import ProbeJoin
from streams.pipeline.batch import Output, input_validator, process_messages
from streams.pipeline.metrics import Metrics
from streams.pipeline.stores import StoreRegistry
from streams.pipeline.topology import (
    KafkaClient,
    RecordForm,
    load_topology,
    write_consumer_variant,
)
from streams.settings import Settings

#: The Kafka clients of a worker: (producer.client, batch_consumer.client,
#: batch_consumer.records or None for topology.yaml's); None: topology.yaml's.
Clients = tuple[KafkaClient, KafkaClient, RecordForm | None] | None


@dataclass
class _Message:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


class _Collect:
    def __init__(self) -> None:
        self.outputs: list[Output] = []

    async def send(self, outputs: Sequence[Output]) -> None:
        self.outputs.extend(outputs)

    async def flush(self) -> None:
        return None


async def _produce(settings: Settings, events: list[dict[str, Any]]) -> None:
    await ensure_topics(settings, load_topology())
    await send_events(settings, events)


async def _bare_consume(settings: Settings, expected: int) -> float:
    consumer = new_consumer(settings, settings.topic("probe-events"),
                            auto_offset_reset="earliest", max_poll_records=5000)
    await consumer.start()
    seen = 0
    try:
        start = time.perf_counter()
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
        return seen / (time.perf_counter() - start)
    finally:
        await consumer.stop()


async def _handlers_offline(probes: list[dict[str, object]],
                            cpu: list[float] | None = None) -> float:
    """The probe join then the edge merge over `probes`, in events/s (wall).

    `cpu`, when given, receives the process CPU seconds of those two loops
    alone (no message building, topology loading nor store opening).
    """
    topology, metrics = load_topology(), Metrics()
    scratch = tempfile.TemporaryDirectory(prefix="bench-pipeline-")
    stores = StoreRegistry(Path(scratch.name))
    messages = [_Message("probe-events", 0, i, str(e["trace_id"]).encode(), orjson.dumps(e))
                for i, e in enumerate(probes)]
    size = topology.agents["probe-join"].batch_size
    signals, deltas = _Collect(), _Collect()
    probe_join, edge_merge = ProbeJoin(topology, metrics), EdgeMerge(topology, metrics)
    stores.get("probe-join", "probe-events", 0)  # opened outside the measured loops
    stores.get("edge-merge", "flow-signals", 0)
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(messages), size):
        await process_messages(messages[i:i + size], agent="probe-join",
                               validate=input_validator("probe-events"), stores=stores,
                               handler=probe_join, sink=signals, metrics=metrics)
    signal_messages = [_Message("flow-signals", 0, i, o.key, o.value or b"")
                       for i, o in enumerate(signals.outputs)]
    for i in range(0, len(signal_messages), size):
        await process_messages(signal_messages[i:i + size], agent="edge-merge",
                               validate=parse_signal, stores=stores, handler=edge_merge,
                               sink=deltas, metrics=metrics)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(time.process_time() - cpu_start)
    stores.close()
    scratch.cleanup()
    return len(messages) / elapsed


class _UnsealedKeys(EpochKeys):
    """The baseline of the sealing A/B: the same records, their captures in the clear."""

    def seal(self, close_at: int, plaintext: bytes, count: int, aad: bytes) -> bytes:
        return bytes(8) + count.to_bytes(4, "big") + bytes(HEADER_BYTES - 12) + plaintext

    def unseal(self, sealed: bytes, aad: bytes) -> bytes | None:
        return sealed[HEADER_BYTES:]


async def _probe_join_offline(messages: list[_Message], sealed: bool) -> float:
    """The probe join alone on `messages` (real RocksDB, no Kafka), in events/s."""
    topology, metrics = load_topology(), Metrics()
    epoch_ms = topology.windows.capture_key_epoch_ms
    keyrings = Keyrings(epoch_ms) if sealed else Keyrings(epoch_ms, _UnsealedKeys)
    probe_join = ProbeJoin(topology, metrics, keyrings)
    scratch = tempfile.TemporaryDirectory(prefix="bench-sealing-")
    stores = StoreRegistry(Path(scratch.name))
    size = topology.agents["probe-join"].batch_size
    start = time.perf_counter()
    for i in range(0, len(messages), size):
        await process_messages(messages[i:i + size], agent="probe-join",
                               validate=input_validator("probe-events"), stores=stores,
                               handler=probe_join, sink=_Collect(), metrics=metrics)
    elapsed = time.perf_counter() - start
    stores.close()
    scratch.cleanup()
    return len(messages) / elapsed


async def sealing_ab(probes: list[dict[str, object]], rounds: int = 3) -> dict[str, float]:
    """Sealed against unsealed captures, alternated in one run (best of `rounds` each)."""
    # Partitioned by trace id, as producers key them.
    messages = [_Message("probe-events", zlib.crc32(str(e["trace_id"]).encode()) % 4, i,
                         str(e["trace_id"]).encode(), orjson.dumps(e))
                for i, e in enumerate(probes)]
    best = {True: 0.0, False: 0.0}
    for _ in range(rounds):
        for sealed in (False, True):
            best[sealed] = max(best[sealed], await _probe_join_offline(messages, sealed))
    return {"probe_join_unsealed_events_per_s": round(best[False]),
            "probe_join_sealed_events_per_s": round(best[True]),
            "sealing_ratio": round(best[True] / best[False], 3)}


async def _pipeline(settings: Settings, expected_inputs: int,
                    consumer: Literal["stream", "batch"],
                    clients: Clients = None) -> tuple[float, float]:
    """One worker from the moment it joined to the moment its lag is 0.

    Returns events/s of wall time and events per CPU second of the worker
    (the second does not depend on what else runs on the machine).
    """
    producer, fetch, records = clients or (None, None, None)
    scratch = tempfile.TemporaryDirectory(prefix="bench-pipeline-worker-")
    topology_path = write_consumer_variant(consumer, Path(scratch.name),
                                           producer=producer, batch_client=fetch,
                                           records=records)
    lineage = str(Path(sys.executable).parent / "lineage")
    data_dir = Path(scratch.name) / "data"
    proc = subprocess.Popen([lineage, "worker", "--bootstrap-servers", settings.bootstrap_servers,
                             "--topic-prefix", settings.topic_prefix, "--data-dir",
                             str(data_dir), "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "LINEAGE_TOPOLOGY": str(topology_path)},
                            start_new_session=True)
    probe = LagProbe(settings, pipeline_groups(settings, load_topology(topology_path)))
    await probe.start()
    try:
        while await probe.members() < 1:
            await asyncio.sleep(0.1)
        start, cpu_start = time.perf_counter(), process_cpu_seconds(proc.pid)
        drained_at, cpu_used = None, 0.0
        while True:
            await asyncio.sleep(0.2)
            try:
                committed = await probe.committed()
                lag = await probe.lag(committed)
            except Exception:
                continue
            started = any(tp.topic == settings.topic("probe-events") for tp in committed)
            if not (started and lag == 0):
                drained_at = None
            elif drained_at is None:
                drained_at = time.perf_counter()
                cpu_used = process_cpu_seconds(proc.pid) - cpu_start
            else:  # still drained one poll later: nothing was in flight
                per_cpu = expected_inputs / cpu_used if cpu_used > 0 else 0.0
                return expected_inputs / (drained_at - start), per_cpu
    finally:
        await probe.stop()
        _stop_workers([proc])
        scratch.cleanup()


async def run(requests: int, bootstrap: str,
              consumers: Sequence[Literal["stream", "batch"]],
              variants: Sequence[Clients] = (None,)) -> dict[str, float]:
    workload = generate(7)
    events = list(stream(workload, int(time.time() * 1000), requests))
    probes = [e for e in events if e["type"] == "probe"]
    settings = Settings(bootstrap, f"bench-pipeline-{int(time.time())}-", Path("."))
    try:
        await _produce(settings, events)
        bare = await _bare_consume(settings, len(probes))
        offline = await _handlers_offline(probes)
        results: dict[str, float] = {
            "events": len(events), "probe_events": len(probes),
            "bare_consume_events_per_s": round(bare),
            "handlers_offline_events_per_s": round(offline)}
        results.update(await sealing_ab(probes))
        for consumer in consumers:
            names = [_variant_name(consumer, clients) for clients in variants]
            for name, clients in zip(names, variants, strict=True):
                # Each variant on a prefix of its own: the same events, a fresh group.
                own = Settings(bootstrap, f"{settings.topic_prefix}{name}-", Path("."))
                await _produce(own, events)
                rate, per_cpu = await _pipeline(own, len(events), consumer, clients)
                results[f"pipeline_{name}_events_per_s"] = round(rate)
                results[f"pipeline_{name}_events_per_cpu_s"] = round(per_cpu)
                results[f"pipeline_{name}_vs_bare"] = round(rate / bare, 3)
                results[f"pipeline_{name}_vs_handlers"] = round(rate / offline, 3)
            for name in names[1:]:
                for figure in ("events_per_s", "events_per_cpu_s"):
                    results[f"{name}_vs_{names[0]}_{figure}"] = round(
                        results[f"pipeline_{name}_{figure}"]
                        / max(results[f"pipeline_{names[0]}_{figure}"], 1), 3)
        if len(consumers) == 2 and len(variants) == 1:
            stream_, batch_ = (_variant_name(c, variants[0]) for c in ("stream", "batch"))
            results["batch_vs_stream"] = round(results[f"pipeline_{batch_}_events_per_s"]
                                               / results[f"pipeline_{stream_}_events_per_s"], 2)
        return results
    finally:  # the run's topics: a run leaves nothing on the broker
        await delete_prefixed_topics(settings)


def _variant_name(consumer: str, clients: Clients) -> str:
    if clients is None:
        return consumer
    producer, fetch, records = clients
    return f"{consumer}_{producer}_{fetch}" + (f"_{records}" if records else "")


def parse_clients(text: str) -> list[Clients]:
    """`aiokafka/aiokafka,confluent/confluent:objects` ->
    [("aiokafka", "aiokafka", None), ("confluent", "confluent", "objects")]."""
    variants: list[Clients] = []
    for spec in text.split(","):
        pair, _, records = spec.strip().partition(":")
        producer, _, fetch = pair.partition("/")
        if producer not in get_args(KafkaClient) or fetch not in get_args(KafkaClient):
            raise argparse.ArgumentTypeError(
                f"{spec!r}: expected PRODUCER/FETCH, each aiokafka or confluent")
        if records and records not in get_args(RecordForm):
            raise argparse.ArgumentTypeError(
                f"{spec!r}: the records after ':' are columns or objects")
        variants.append((producer, fetch, records or None))  # type: ignore[arg-type]
    return variants


#: The figures `--against` compares, each tree's own benchmark measuring them.
COMPARED = ("pipeline_batch_events_per_cpu_s", "pipeline_batch_events_per_s",
            "handlers_offline_events_per_s")

#: One tree's whole benchmark: (tree, requests, bootstrap servers) -> its figures.
TreeRun = Callable[[Path, int, str], dict[str, float]]


def run_tree(tree: Path, requests: int, bootstrap: str) -> dict[str, float]:
    """`tree`'s own `bench_pipeline --consumer batch`, in a fresh process.

    Its packages come first on `PYTHONPATH`, which the worker it starts
    inherits; the working directory is an empty one, so that `-m` does not
    find this checkout's packages in it.
    """
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-against-") as cwd:
        return run_json_benchmark(tree, "loadtest.bench_pipeline",
                                  ["--requests", str(requests), "--consumer", "batch",
                                   "--bootstrap-servers", bootstrap], env, Path(cwd))


def compare(against: Path, requests: int, bootstrap: str, pairs: int,
            run: TreeRun = run_tree) -> dict[str, float]:
    """This tree's benchmark and `against`'s, `pairs` times in turn (the order swapped each
    pair); both sides' medians of `COMPARED` and the per-pair ratios' median and range."""
    here = Path(__file__).resolve().parent.parent
    this, base = alternate_trees(here, against, pairs,
                                 lambda tree: run(tree, requests, bootstrap))
    result: dict[str, float] = {"pairs": pairs, "events": this[0]["events"]}
    for name in COMPARED:
        paired = PairedRatios.of([f[name] for f in this], [f[name] for f in base])
        result[f"this_{name}"] = paired.this
        result[f"against_{name}"] = paired.against
        result[f"{name}_vs_against"] = paired.ratio
        result[f"{name}_vs_against_min"] = paired.least
        result[f"{name}_vs_against_max"] = paired.most
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--consumer", choices=["stream", "batch", "both"], default=None,
                        help="which agent consumer(s) the worker runs with (default: both, "
                             "the Faust stream first as the baseline)")
    parser.add_argument("--clients", type=parse_clients, default=[None],
                        metavar="PRODUCER/FETCH[:RECORDS][,...]",
                        help="the workers' Kafka clients, one run per pair, the first the "
                             "baseline: producer.client/batch_consumer.client, each aiokafka "
                             "or confluent, and optionally batch_consumer.records (columns "
                             "or objects) (default: topology.yaml's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sealing-only", action="store_true",
                        help="only the sealed/unsealed probe join A/B (offline, no broker)")
    parser.add_argument("--against", type=Path, default=None, metavar="TREE",
                        help="another checkout (its matcher_rs built) whose own benchmark "
                             "runs in turn with this one's: a baseline in the same run")
    parser.add_argument("--pairs", type=int, default=3, help="runs per tree with --against")
    args = parser.parse_args()
    if args.against is not None:
        if args.consumer is not None or args.clients != [None] or args.sealing_only:
            parser.error("--against runs each tree's batch consumer with its own "
                         "topology.yaml: --consumer, --clients and --sealing-only do not apply")
        if not (args.against / "loadtest" / "bench_pipeline.py").is_file():
            parser.error(f"{args.against}: no loadtest/bench_pipeline.py there")
        if args.pairs < 1:
            parser.error("--pairs must be at least 1")
        try:
            figures = compare(args.against.resolve(), args.requests, args.bootstrap_servers,
                              args.pairs)
        except RuntimeError as exc:  # a tree's run failed: its message, not a traceback
            parser.exit(1, f"bench_pipeline: {exc}\n")
        print_figures(figures, as_json=args.json)
        return
    if args.sealing_only:
        events = stream(generate(7), int(time.time() * 1000), args.requests)
        probes = [e for e in events if e["type"] == "probe"]
        print_figures({"probe_events": len(probes), **asyncio.run(sealing_ab(probes))},
                      as_json=args.json)
        return
    consumers: list[Literal["stream", "batch"]] = (
        ["stream", "batch"] if args.consumer in (None, "both") else [args.consumer])
    result = asyncio.run(run(args.requests, args.bootstrap_servers, consumers, args.clients))
    print_figures(result, as_json=args.json)


if __name__ == "__main__":
    main()
