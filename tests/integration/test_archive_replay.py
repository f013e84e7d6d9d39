"""Archive the bundled example, replay it into a fresh pipeline: the same graph.

Also: a second archive run adds nothing, a run after new input appends only
the new records, and a corrupted archive file is reported and skipped while
everything else is replayed.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from loadtest.settle import settle
from streams.archive.manifest import load_manifest
from streams.kafka.topic_reader import read_latest
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.test_topology_example import EXPECTED_HIGH, LOW_ONLY, MEDIUM
from tests.integration.worker import (
    LINEAGE,
    cli_args,
    running_worker,
    send_file,
    summary,
    wait_for_graph,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
EVENTS = sum(1 for line in EXAMPLE.read_bytes().splitlines() if line.strip())
PROBES = sum(1 for line in EXAMPLE.read_bytes().splitlines() if b'"type":"probe"' in line)


def _complete(edges: dict[str, dict[str, Any]]) -> bool:
    return set(EXPECTED_HIGH) | LOW_ONLY | set(MEDIUM) <= set(edges)


def lineage(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, *args, *cli_args(settings)], capture_output=True,
                          text=True, check=False)


def _sub(settings: Settings, name: str) -> Settings:
    return Settings(settings.bootstrap_servers, f"{settings.topic_prefix}{name}-",
                    settings.data_dir / name)


def _archived(archive: Path) -> tuple[dict[str, int], set[tuple[str, int, int]]]:
    """Records per topic from the manifest, and every (topic, partition, offset) on disk."""
    manifest = load_manifest(archive)
    coords: set[tuple[str, int, int]] = set()
    rows = 0
    for topic, state in manifest.topics.items():
        for entry in state.files:
            table = pq.read_table(archive / entry.path, columns=["partition", "offset"])
            rows += table.num_rows
            coords |= {(topic, p, o) for p, o in zip(table.column("partition").to_pylist(),
                                                     table.column("offset").to_pylist(),
                                                     strict=True)}
    assert rows == len(coords), "an archived record appears twice"
    return {t: s.records for t, s in manifest.topics.items() if s.records}, coords


def _violations(settings: Settings, expect: int = 2) -> dict[bytes, tuple[Any, ...]]:
    """Latest (status, path, confidence) per violation key, once `expect` keys settled."""

    def read() -> dict[bytes, tuple[Any, ...]]:
        latest = asyncio.run(read_latest(settings, "policy-violations"))
        return {key: (e["status"], tuple(e["path"]), e["confidence"])
                for key, value in latest.items() if value is not None
                for e in [orjson.loads(value)]}

    return settle(read, lambda found: len(found) >= expect, timeout_s=60, settle_s=2)


def _evidence(edges: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {eid: (e["evidence"], e["first_seen"], e["last_seen"], e["score"])
            for eid, e in edges.items()}


def test_replaying_the_archive_rebuilds_the_same_graph(settings: Settings,
                                                       tmp_path: Path) -> None:
    original = _sub(settings, "a")
    archive = tmp_path / "archive"
    with running_worker(original):
        assert send_file(original, EXAMPLE).returncode == 0
        graph_a = wait_for_graph(original, _complete)
        violations_a = _violations(original)
    assert _complete(graph_a)

    first = lineage(original, "archive", "--out", str(archive))
    assert first.returncode == 0, first.stderr
    counts, coords = _archived(archive)
    assert sum(counts.values()) == EVENTS == len(coords)
    files = sorted(p.relative_to(archive) for p in archive.rglob("*.parquet"))

    second = lineage(original, "archive", "--out", str(archive))
    assert second.returncode == 0, second.stderr
    assert "archived 0 new records" in second.stdout
    assert sorted(p.relative_to(archive) for p in archive.rglob("*.parquet")) == files
    assert _archived(archive) == (counts, coords)

    replayed = _sub(settings, "b")
    result = lineage(replayed, "replay", "--archive", str(archive))
    assert result.returncode == 0, result.stderr
    assert f"replayed {EVENTS} records" in result.stdout
    with running_worker(replayed):
        graph_b = wait_for_graph(replayed, lambda edges: set(graph_a) <= set(edges))
        violations_b = _violations(replayed)

    assert summary(graph_b) == summary(graph_a)
    assert _evidence(graph_b) == _evidence(graph_a)
    assert len(violations_a) == 2
    assert violations_b == violations_a


def test_archive_resumes_with_only_the_new_records(settings: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    assert send_file(settings, EXAMPLE).returncode == 0
    assert lineage(settings, "archive", "--out", str(archive)).returncode == 0
    _, before = _archived(archive)
    assert send_file(settings, EXAMPLE).returncode == 0
    again = lineage(settings, "archive", "--out", str(archive))
    assert again.returncode == 0, again.stderr
    assert f"archived {EVENTS} new records" in again.stdout
    counts, after = _archived(archive)
    assert before < after
    assert sum(counts.values()) == len(after) == 2 * EVENTS


def test_a_corrupted_file_is_reported_and_the_rest_replayed(settings: Settings,
                                                            tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    assert send_file(settings, EXAMPLE).returncode == 0
    assert lineage(settings, "archive", "--out", str(archive)).returncode == 0
    probe_files = load_manifest(archive).topics["probe-events"].files
    victim = max(probe_files, key=lambda f: f.records)
    path = archive / victim.path
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    target = _sub(settings, "c")
    result = lineage(target, "replay", "--archive", str(archive))
    assert result.returncode == 1
    assert str(path) in result.stderr
    assert "unreadable" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: 1 archive file(s) "
                                                             "unreadable and skipped")
    assert f"replayed {EVENTS - victim.records} records" in result.stdout

    probes = asyncio.run(read_topic(target.bootstrap_servers, target.topic("probe-events"),
                                    expect=PROBES - victim.records))
    assert len(probes) == PROBES - victim.records
    others = asyncio.run(read_topic(target.bootstrap_servers, target.topic("sql-job-logs")))
    source = asyncio.run(read_topic(settings.bootstrap_servers, settings.topic("sql-job-logs")))
    assert sorted((r.partition, r.offset, r.key, r.value, r.timestamp) for r in others) == sorted(
        (r.partition, r.offset, r.key, r.value, r.timestamp) for r in source)


def _records(settings: Settings, topic: str) -> list[tuple[Any, ...]]:
    got = asyncio.run(read_topic(settings.bootstrap_servers, settings.topic(topic)))
    return sorted((r.partition, r.offset, r.key, r.value, r.timestamp) for r in got)


def test_replay_from_kafka_copies_each_partition_in_order(settings: Settings) -> None:
    assert send_file(settings, EXAMPLE).returncode == 0
    target = _sub(settings, "k")
    source = ["--from-prefix", settings.topic_prefix]
    result = lineage(target, "replay", *source, "--from-beginning", "--rate", "500")
    assert result.returncode == 0, result.stderr
    assert f"replayed {EVENTS} records" in result.stdout
    for topic in ("probe-events", "sql-job-logs", "policies"):
        assert _records(target, topic) == _records(settings, topic)

    again = lineage(target, "replay", *source, "--from-beginning")
    assert again.returncode == 1
    assert "already holds records" in again.stderr

    later = _sub(settings, "later")
    none = lineage(later, "replay", *source, "--since", "2999-01-01T00:00:00Z")
    assert none.returncode == 0, none.stderr
    assert "replayed 0 records" in none.stdout
    bad = lineage(later, "replay", *source, "--since", "yesterday")
    assert bad.returncode != 0
    assert "not a time" in bad.stderr
