"""`lineage send` against the real broker: right topic, right key, bad lines kept out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from click.testing import CliRunner

from streams.cli import main
from streams.settings import Settings
from tests.integration.kafka_helpers import read_topic

EVENTS = [
    {"v": 1, "type": "probe", "trace_id": "t-9f2", "ts": 1, "role": "source",
     "asset": "web://photos-web/handlePhotoUpload", "payload": {"location": "Home, 1 Main St"}},
    {"v": 1, "type": "sql", "job_id": "spark_job_1", "ts": 2, "engine": "spark",
     "namespace": "hive://warehouse", "query": "INSERT INTO b SELECT a FROM c"},
    {"v": 1, "type": "sql_io", "job_id": "spark_job_2", "ts": 3, "namespace": "hive://warehouse",
     "action": "READ", "table": "default.t"},
    {"v": 1, "type": "config", "config_id": "m@v3", "ts": 4, "kind": "inference",
     "config": {"service": "service://inference/x", "models": ["model://registry/m"]}},
    {"v": 1, "type": "static", "source": "web://a/b#x", "sink": "http://ads/y#z", "ts": 5},
    {"v": 1, "type": "label", "asset": "web://a/b#x", "labels": ["PRECISE_LOCATION"], "ts": 6},
    {"v": 1, "type": "policy", "policy_id": "no-ads", "ts": 7, "protects": ["PRECISE_LOCATION"],
     "deny": ["http://ads/*"]},
    {"v": 1, "type": "review", "policy_id": "no-ads", "asset": "hive://w/d.t",
     "decision": "exclude", "ts": 8},
]

ROUTES = {
    "probe-events": [b"t-9f2"],
    "sql-job-logs": [b"spark_job_1", b"spark_job_2"],
    "config-events": [b"m@v3"],
    "static-flows": [b"web://a/b#x"],
    "asset-labels": [b"web://a/b#x"],
    "policies": [b"no-ads"],
    "reviews": [b"no-ads|hive://w/d.t"],
}


def _cli(settings: Settings, *args: str) -> list[str]:
    return [*args, "--bootstrap-servers", settings.bootstrap_servers,
            "--topic-prefix", settings.topic_prefix]


def test_send_routes_each_event_with_its_key(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [orjson.dumps(e) for e in EVENTS]
    lines.insert(3, b'{"v":1,"type":"probe","trace_id":"t-bad"')  # line 4: malformed
    lines.insert(5, b'{"v":1,"type":"static","source":"a","ts":1}')  # line 6: no sink
    path.write_bytes(b"\n".join(lines) + b"\n")

    result = CliRunner().invoke(main, _cli(settings, "send", str(path)))

    assert result.exit_code == 1
    assert f"{path}:4: not valid JSON" in result.output
    assert f"{path}:6: static: missing field 'sink'" in result.output
    assert "sent 8 events" in result.output
    for topic, keys in ROUTES.items():
        records = asyncio.run(read_topic(settings.bootstrap_servers, settings.topic(topic),
                                   expect=len(keys)))
        assert sorted(r.key for r in records) == sorted(keys), topic
        for record in records:
            assert b"t-bad" not in record.value
            assert orjson.loads(record.value)["v"] == 1


def test_send_of_clean_file_exits_zero(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_bytes(orjson.dumps(EVENTS[4]) + b"\n\n")
    result = CliRunner().invoke(main, _cli(settings, "send", str(path)))
    assert result.exit_code == 0, result.output
    records = asyncio.run(read_topic(settings.bootstrap_servers, settings.topic("static-flows"),
                               expect=1))
    assert [r.key for r in records] == [b"web://a/b#x"]


def test_send_of_missing_file_is_one_line_error(settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, _cli(settings, "send", str(tmp_path / "nope.jsonl")))
    assert result.exit_code == 1
    assert "cannot read" in result.output
