"""The policy monitor on the bundled example: the expected violations, and their life.

One worker runs the pipeline; the example's policy `location-not-for-ads`
protects PRECISE_LOCATION on the upload request's `location` and denies ad
models, ad services and the ads API at `medium` or above.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from loadtest.graph_view import current_edges
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic
from tests.integration.worker import (
    LINEAGE,
    cli_args,
    send_file,
    start_worker,
    stop_worker,
    wait_for_graph,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "photo_location.jsonl"
POLICY = "location-not-for-ads"
WEB = "web://photos-web/handlePhotoUpload#location"
MODEL = "model://registry/ad_targeting_model"
RANKER = "service://ads/ad_ranker"
STATIC_SINK = "http://ads-service/ad_targeting#location"
CUT = "hive://warehouse/default.location_analytics_tbl"  # every path to an ads sink crosses it
KEYS = {f"{POLICY}|{MODEL}", f"{POLICY}|{RANKER}"}


def _lineage(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINEAGE, *args, *cli_args(settings)], capture_output=True, text=True,
                          check=False, timeout=120)


def _latest(settings: Settings) -> dict[str, dict[str, Any]]:
    result = _lineage(settings, "violations", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {f"{e['policy_id']}|{e['sink']}": e for e in json.loads(result.stdout)}


def _wait_violations(
    settings: Settings, done: Callable[[dict[str, dict[str, Any]]], bool], timeout_s: float = 90,
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    latest: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        latest = _latest(settings)
        if done(latest):
            return latest
        time.sleep(1.0)
    return latest


def _events(settings: Settings, topic: str = "policy-violations") -> list[dict[str, Any]]:
    records = asyncio.run(read_topic(settings.bootstrap_servers, settings.topic(topic)))
    return [orjson.loads(r.value) for r in records if r.value is not None]


def _wait_for_log(path: Path, text: str, timeout_s: float = 90) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.5)
    return False


async def _produce(settings: Settings, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(topic), value=value, key=key)
    finally:
        await producer.stop()


def test_example_violations_open_stay_unique_and_resolve(settings: Settings) -> None:
    worker = start_worker(settings)
    try:
        assert send_file(settings, EXAMPLE).returncode == 0
        wait_for_graph(settings, lambda e: any(k.endswith(f"-> {RANKER}") for k in e))
        latest = _wait_violations(settings, lambda v: set(v) >= KEYS)

        # -- exactly the expected violations, each with its path ----------------
        assert set(latest) == KEYS
        for key, event in latest.items():
            sink = key.split("|", 1)[1]
            assert event["status"] == "open"
            assert event["source"] == WEB and event["label"] == "PRECISE_LOCATION"
            assert event["path"][0] == WEB and event["path"][-1] == sink
            assert f"{CUT}#user_location" in event["path"]
            assert event["confidence"] == "medium"  # the table-level sql_io hop
        assert latest[f"{POLICY}|{RANKER}"]["path"][-2] == MODEL

        # -- a static candidate never observed raises nothing ---------------------
        edges = asyncio.run(current_edges(settings))
        assert edges[f"{WEB} -> {STATIC_SINK}"]["confidence"] == "low"
        assert f"{POLICY}|{STATIC_SINK}" not in latest

        # -- lineage zone: why each asset is in it ------------------------------
        zone = _lineage(settings, "zone", POLICY)
        assert zone.returncode == 0, zone.stderr
        assets = {a["asset"]: a for a in json.loads(zone.stdout)["assets"]}
        assert assets[MODEL]["denied"] and assets[MODEL]["path"] == latest[
            f"{POLICY}|{MODEL}"]["path"]
        assert STATIC_SINK not in assets and not assets[WEB]["hops"]

        # -- one open event per key, and a restart re-emits nothing --------------
        before = _events(settings)
        assert Counter(f"{e['policy_id']}|{e['sink']}" for e in before) == Counter(KEYS)
        stop_worker(worker)
        worker = start_worker(settings, "worker2.log")
        assert _wait_for_log(settings.data_dir / "worker2.log", "policy monitor leading")
        time.sleep(3)
        assert _events(settings) == before

        # -- a bad label is a dead letter; the monitor goes on ------------------
        bad = orjson.dumps({"v": 1, "type": "label", "asset": "x", "labels": "oops", "ts": 1})
        asyncio.run(_produce(settings, "asset-labels", b"x", bad))

        # -- an exclusion on every path resolves both, on the same keys ---------
        review = _lineage(settings, "review", "exclude", POLICY, CUT, "--reason", "aggregated")
        assert review.returncode == 0, review.stderr
        latest = _wait_violations(
            settings, lambda v: all(e["status"] == "resolved" for e in v.values()))
        assert set(latest) == KEYS
        assert all(e["status"] == "resolved" for e in latest.values())
        tail = _lineage(settings, "violations", "--follow", "--from-beginning",
                        "--max-events", "4", "--timeout", "30")
        lines = [json.loads(line) for line in tail.stdout.splitlines()]
        assert [e["status"] for e in lines] == ["open", "open", "resolved", "resolved"]

        dead = [e for e in _events(settings, "dead-letters") if e.get("agent") == "policy-monitor"]
        assert len(dead) == 1 and "labels" in dead[0]["reason"]
    finally:
        stop_worker(worker)
