"""The enforcement dry run from an archive reports what it reports from Kafka.

Probe captures go to `probe-events` in two batches with `lineage archive`
run after each (so the archive holds several files per partition); then
`lineage zone POLICY --simulate-enforce` over the topic and over the archive
(`--archive DIR`), with and without `--since`, must give the same report.
No worker: the zone is the labelled root itself. A missing directory, or
one that is no archive, is refused with one line.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from loadtest.probes_services import prepare_topics
from streams.archive.manifest import load_manifest
from streams.settings import Settings
from tests.integration.worker import LINEAGE, cli_args, send_file

POLICY = "loc-not-for-ads"
ROOT = "sqlite://demo.db/users#city"
SECRET = "Valparaiso-4711"  # a captured value: never in any output


def _lineage(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, *args, *cli_args(settings)], capture_output=True,
                          text=True, check=False, timeout=180)


def _traces(first: int, count: int, ts: int) -> list[dict[str, Any]]:
    """`count` traces of users-api; every other one reads the city, all call ads and log."""
    out: list[dict[str, Any]] = []
    for n in range(first, first + count):
        trace, field = f"t{n:04d}", "city" if n % 2 == 0 else "name"
        base = {"v": 1, "type": "probe", "trace_id": trace, "service": "users-api",
                "sample_rate": 0.5 if n % 3 else 1.0}
        out += [
            {**base, "ts": ts + n, "role": "source", "asset": "sqlite://demo.db/users",
             "payload": {field: SECRET}, "code_location": "app.py:20"},
            {**base, "ts": ts + n + 1, "role": "sink", "asset": "http://ads:8000/ads/offer",
             "payload": {"segment": SECRET}, "code_location": f"app.py:{30 + n % 2}"},
            {**base, "ts": ts + n + 1, "role": "sink", "asset": "log://users-api/app",
             "payload": {"msg": SECRET}, "code_location": "app.py:40"},
        ]
    return out


def _send(settings: Settings, tmp_path: Path, name: str, events: list[dict[str, Any]]) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = send_file(settings, path)
    assert result.returncode == 0, result.stderr


def _dry_run(settings: Settings, *args: str) -> dict[str, Any]:
    result = _lineage(settings, "zone", POLICY, "--simulate-enforce", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_dry_run_from_an_archive_equals_the_one_from_kafka(settings: Settings,
                                                           tmp_path: Path) -> None:
    prepare_topics(settings)
    now = int(time.time() * 1000)
    old, recent = now - 3 * 3_600_000, now - 60_000
    policy = {"v": 1, "type": "policy", "policy_id": POLICY, "ts": old,
              "protects": ["PRECISE_LOCATION"], "deny": ["http://ads:*/ads/**", "log://**"]}
    label = {"v": 1, "type": "label", "asset": ROOT, "labels": ["PRECISE_LOCATION"], "ts": old}
    _send(settings, tmp_path, "inputs", [label, policy, *_traces(0, 40, old)])
    archive = tmp_path / "archive"
    assert _lineage(settings, "archive", "--out", str(archive)).returncode == 0
    _send(settings, tmp_path, "more", _traces(40, 30, recent))
    result = _lineage(settings, "archive", "--out", str(archive))
    assert result.returncode == 0, result.stderr
    files = load_manifest(archive).topics["probe-events"].files
    assert len({f.partition for f in files}) < len(files)  # several files per partition

    from_kafka = _dry_run(settings)
    from_archive = _dry_run(settings, "--archive", str(archive))
    assert from_archive == from_kafka
    assert (from_kafka["traces"], from_kafka["tainted_traces"]) == (70, 35)
    blocked = {(r["sink"], r["code_location"]): r["traces"] for r in from_kafka["would_block"]}
    assert blocked == {("http://ads:8000/ads/offer", "app.py:30"): 35}
    assert [r["kind"] for r in from_kafka["would_log"]] == ["log"]  # not in enforce_on

    since = str(recent)
    recent_kafka = _dry_run(settings, "--since", since)
    assert _dry_run(settings, "--since", since, "--archive", str(archive)) == recent_kafka
    assert (recent_kafka["traces"], recent_kafka["tainted_traces"]) == (30, 15)

    table = _lineage(settings, "zone", POLICY, "--simulate-enforce", "--format", "table",
                     "--archive", str(archive))
    assert table.returncode == 0, table.stderr
    assert "http://ads:8000/ads/offer" in table.stdout and SECRET not in table.stdout


def test_a_missing_or_foreign_archive_is_refused_an_empty_one_reads_empty(
        settings: Settings, tmp_path: Path) -> None:
    prepare_topics(settings)
    policy = {"v": 1, "type": "policy", "policy_id": POLICY, "ts": 1,
              "protects": ["PRECISE_LOCATION"], "deny": ["http://ads:*/ads/**"]}
    _send(settings, tmp_path, "inputs", [policy])
    missing = _lineage(settings, "zone", POLICY, "--simulate-enforce", "--archive",
                       str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    not_one = _lineage(settings, "zone", POLICY, "--simulate-enforce", "--archive",
                       str(tmp_path))
    assert not_one.returncode != 0
    assert "no manifest; not an archive directory" in not_one.stderr
    archive = tmp_path / "archive"
    assert _lineage(settings, "archive", "--out", str(archive)).returncode == 0
    empty = _dry_run(settings, "--archive", str(archive))
    assert empty == _dry_run(settings)
    assert (empty["traces"], empty["would_block"]) == (0, [])
