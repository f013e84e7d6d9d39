"""The batch consumer's clients, alone: what reading the probe events costs.

    python -m loadtest.bench_consume [--requests N] [--rounds R] [--json]

Puts one generated workload's probe events (loadtest.workload, about 4 per
request) on the broker, then reads them all, round after round, with each
client of streams/pipeline/batch_fetch.py in turn (aiokafka first, the
baseline, then confluent), each time in a fresh consumer group, as the batch
consumer does: `fetch(250 ms, 5000)` until every record came, taking each
record's value. The readers: `aiokafka` (`getmany`'s ConsumerRecords, the
baseline), `columns` (aiokafka's fetches read in Rust into columns,
streams/pipeline/record_columns.py, the default) and `confluent`. Reports per
reader the medians of records per CPU second of this process (librdkafka's
own threads included: they are this process's) from `start` to the last
record, and records per second of wall time from the first record to the
last; and `columns_vs_aiokafka_*`, `confluent_vs_aiokafka_*`, their ratios.
Deletes its topics at the end. Needs a broker (``lineage kafka up``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition

from loadtest.measure import print_figures
from loadtest.sender import send_events
from loadtest.workload import generate, stream
from streams.kafka.topics import delete_prefixed_topics, ensure_topics
from streams.pipeline.batch import message_values
from streams.pipeline.batch_fetch import new_fetcher
from streams.pipeline.topology import KafkaClient, load_topology
from streams.settings import Settings

#: Each reader: its client, and whether aiokafka's records come as columns.
READERS: dict[str, tuple[KafkaClient, bool]] = {
    "aiokafka": ("aiokafka", False), "columns": ("aiokafka", True),
    "confluent": ("confluent", False)}
MAX_RECORDS = 5000


async def read_all(reader: str, settings: Settings, expected: int) -> tuple[float, float]:
    """Records per CPU second and per wall second of one fresh group member reading them all."""
    cpu_start = time.process_time()
    client, columns = READERS[reader]
    fetcher = new_fetcher(client, settings, f"bench-consume-{uuid.uuid4().hex[:8]}", MAX_RECORDS,
                          columns=columns)
    await fetcher.start()
    seen, first_at = 0, 0.0
    values: list[bytes | None] = []

    def ignore(_partitions: object) -> None:
        return None

    try:
        fetcher.subscribe([settings.topic("probe-events")], asyncio.Lock(), ignore, ignore)
        while seen < expected:
            fetched: dict[TopicPartition, Sequence[Any]] = await fetcher.fetch(250, MAX_RECORDS)
            if fetched and not first_at:
                first_at = time.perf_counter()
            for records in fetched.values():
                values.extend(message_values(records))
                seen += len(records)
            values.clear()
        wall = time.perf_counter() - first_at
        cpu = time.process_time() - cpu_start
    finally:
        await fetcher.stop()
    return seen / cpu, seen / wall


async def run(requests: int, rounds: int, bootstrap: str) -> dict[str, float]:
    events = list(stream(generate(7), int(time.time() * 1000), requests))
    probes = [e for e in events if e["type"] == "probe"]
    settings = Settings(bootstrap, f"bench-consume-{int(time.time())}-", Path("."))
    await ensure_topics(settings, load_topology())
    per_cpu: dict[str, list[float]] = {r: [] for r in READERS}
    per_wall: dict[str, list[float]] = {r: [] for r in READERS}
    try:
        await send_events(settings, probes)
        for _ in range(rounds):
            for reader in READERS:
                cpu_rate, wall_rate = await read_all(reader, settings, len(probes))
                per_cpu[reader].append(cpu_rate)
                per_wall[reader].append(wall_rate)
    finally:
        await delete_prefixed_topics(settings)
    results: dict[str, float] = {"records": len(probes), "rounds": rounds}
    for reader in READERS:
        results[f"{reader}_records_per_cpu_s"] = round(statistics.median(per_cpu[reader]))
        results[f"{reader}_records_per_s"] = round(statistics.median(per_wall[reader]))
    for figure in ("records_per_cpu_s", "records_per_s"):
        for reader in ("columns", "confluent"):
            results[f"{reader}_vs_aiokafka_{figure}"] = round(
                results[f"{reader}_{figure}"] / results[f"aiokafka_{figure}"], 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=25000,
                        help="requests of the generated workload (about 4 probe events each)")
    parser.add_argument("--rounds", type=int, default=5, help="reads per reader (default 5)")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    print_figures(asyncio.run(run(args.requests, args.rounds, args.bootstrap_servers)),
                  as_json=args.json)


if __name__ == "__main__":
    main()
