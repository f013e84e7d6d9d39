"""The enforcement dry run's evidence: probe captures read from an archive as from Kafka."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import click
import orjson
import pytest
from archive_fixtures import T0, build_archive
from click.testing import CliRunner

from analyzers.policy.model import Policy
from analyzers.policy.simulate import evidence, simulate_enforcement
from streams.archive.manifest import ArchiveError
from streams.archive.reader import ArchiveReader
from streams.archive.records import Record
from streams.cli.dry_run import from_archive, open_archive, read_archive, skipped_failure
from streams.cli.policy_cmd import zone_command

SECRET = "Valparaiso-4711"
POLICY = Policy.from_event({"policy_id": "loc", "protects": ["L"], "deny": ["http://ads/**"],
                            "enforce_on": ["http"]})
ZONE = {"sqlite://d/users#city"}


def _capture(trace: str, role: str, asset: str, ts: int, **extra: Any) -> dict[str, Any]:
    return {"v": 1, "type": "probe", "trace_id": trace, "ts": ts, "role": role, "asset": asset,
            "service": "web", "sample_rate": 0.25, **extra}


def _events() -> list[dict[str, Any]]:
    """Three traces: t1 and t3 read the city then call ads; t2 reads only the name."""
    out = []
    for n, (trace, field) in enumerate([("t1", "city"), ("t2", "name"), ("t3", "city")]):
        ts = T0 + n * 60_000
        out.append(_capture(trace, "source", "sqlite://d/users", ts, payload={field: SECRET}))
        out.append(_capture(trace, "sink", "http://ads/t", ts + 1, payload={"q": SECRET},
                            code_location="app.py:7"))
    return out


def _archive(tmp_path: Path, values: list[bytes | None]) -> ArchiveReader:
    """`values` spread over two partitions of probe-events, in order."""
    parts: dict[int, list[Record]] = {0: [], 1: []}
    for n, value in enumerate(values):
        part = parts[n % 2]
        part.append(Record("probe-events", n % 2, len(part), T0 + n, b"k", value))
    build_archive(tmp_path, [batch for batch in parts.values() if batch])
    return ArchiveReader.open(tmp_path)


def _values() -> list[bytes | None]:
    sql = {"v": 1, "type": "sql", "job_id": "j", "ts": T0, "query": "SELECT 1"}
    return [orjson.dumps(e) for e in _events()] + [orjson.dumps(sql), None, b"{not json"]


def test_evidence_keeps_probe_captures_from_since_and_drops_every_value() -> None:
    first, *_ = _events()
    kept = evidence(orjson.dumps(first))
    assert kept is not None
    assert kept["payload"] == {"city": None}
    assert SECRET not in repr(kept)
    assert (kept["trace_id"], kept["role"], kept["sample_rate"]) == ("t1", "source", 0.25)
    assert evidence(orjson.dumps(first), since_ms=T0) is not None
    assert evidence(orjson.dumps(first), since_ms=T0 + 1) is None  # by the capture's own ts
    assert evidence(orjson.dumps({**first, "ts": "late"}), since_ms=0) is None
    assert evidence(orjson.dumps({**first, "type": "sql"})) is None
    assert evidence(None) is None and evidence(b"[1,2") is None
    b64 = evidence(orjson.dumps({**first, "payload_b64": "eA=="} | {"payload": None}))
    assert b64 is not None and b64["payload"] is None


def test_the_archive_gives_the_captures_kafka_would(tmp_path: Path) -> None:
    values = _values()
    reader = _archive(tmp_path, values)
    reported: list[int] = []
    got = list(from_archive(reader, None, on_records=reported.append))
    expected = [e for v in values if (e := evidence(v))]
    key = lambda c: (c["trace_id"], c["role"])  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)
    assert len(got) == 6 and sum(reported) == len(values)
    assert SECRET not in repr(got)
    since = list(from_archive(reader, T0 + 60_000))
    assert {c["trace_id"] for c in since} == {"t2", "t3"}


def test_the_report_does_not_depend_on_the_order_captures_arrive() -> None:
    captures = [c for v in _values() if (c := evidence(v))]
    captures += [evidence(orjson.dumps(_capture("t1", "sink", "http://ads/t", T0 + 1,
                                                 payload={}, code_location="app.py:3")))]
    first = simulate_enforcement(POLICY, ZONE, captures)
    for seed in range(5):
        random.Random(seed).shuffle(captures)
        assert simulate_enforcement(POLICY, ZONE, captures) == first
    assert [(r["code_location"], r["traces"], r["estimated"]) for r in first["would_block"]] \
        == [("app.py:7", 2, 8.0), ("app.py:3", 1, 4.0)]


def test_a_dry_run_over_an_archive_with_a_bad_file_warns_and_then_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reader = _archive(tmp_path, _values())
    (tmp_path / reader.files("probe-events", 1)[0].path).write_bytes(b"PAR1 broken")
    data = read_archive(reader, POLICY, ZONE, None)
    assert (data["traces"], data["would_block"]) == (3, [])  # the sinks were in the bad file
    assert "unreadable Parquet" in capsys.readouterr().err
    message = skipped_failure(reader).message
    assert message.startswith("1 archive file(s) unreadable and skipped (4 records not read)")


def test_a_missing_or_foreign_archive_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(click.ClickException, match="no manifest; not an archive directory"):
        open_archive(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(click.ClickException, match="unreadable manifest"):
        open_archive(tmp_path)
    other = tmp_path / "other"
    build_archive(other, [[Record("policies", 0, 0, T0, b"p", b"{}")]])
    with pytest.raises(click.ClickException, match=r"holds no probe-events \(it holds policies\)"):
        open_archive(other)
    with pytest.raises(ArchiveError):
        list(from_archive(ArchiveReader.open(other), None))


def test_archive_and_since_need_simulate_enforce(tmp_path: Path) -> None:
    result = CliRunner().invoke(zone_command, ["loc", "--archive", str(tmp_path)])
    assert result.exit_code != 0
    assert "--since and --archive need --simulate-enforce" in result.output
