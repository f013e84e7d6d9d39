"""Golden fixtures: tests/fixtures/sql/NAME.sql (headers + SQL) beside NAME.json (expected).

Regenerate after a deliberate change with ``UPDATE_GOLDEN=1 pytest tests/unit/analyzers``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analyzers.sql import SqlAnalyzer, analyze
from analyzers.sql.model import result_from_json
from analyzers.sql.stepwise import analyze_stepwise

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sql"
CASES = sorted(FIXTURES.glob("*.sql"))


def load_case(path: Path) -> tuple[dict[str, str], str]:
    """Header lines ``-- key: value`` and the SQL below them."""
    headers: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("-- ") and ":" in lines[i]:
        key, _, value = lines[i][3:].partition(":")
        headers[key.strip()] = value.strip()
        i += 1
    return headers, "\n".join(lines[i:])


def run_case(path: Path) -> dict[str, object]:
    headers, sql = load_case(path)
    schema = json.loads(headers["schema"]) if "schema" in headers else None
    return analyze(
        sql,
        engine=headers["engine"],
        namespace=headers.get("namespace", "hive://warehouse"),
        default_schema=headers.get("default_schema") or None,
        schema=schema,
    ).to_json()


def test_enough_fixtures() -> None:
    engines = {load_case(p)[0]["engine"] for p in CASES}
    assert len(CASES) >= 60
    assert len(engines) >= 5


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture(path: Path) -> None:
    got = run_case(path)
    expected_path = path.with_suffix(".json")
    if os.environ.get("UPDATE_GOLDEN") or not expected_path.exists():
        expected_path.write_text(json.dumps(got, indent=2) + "\n", encoding="utf-8")
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"wrote missing golden file {expected_path.name}; review it")
    assert got == json.loads(expected_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_result_round_trips_through_json(path: Path) -> None:
    """`result_from_json` (documented in docs/SQL.md) rebuilds every fixture's result."""
    got = run_case(path)
    assert result_from_json(got).to_json() == got


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_stepwise_through_the_cache_equals_the_script(path: Path) -> None:
    """The CLI's script path (cached per independent statement) gives the script's answer."""
    headers, sql = load_case(path)
    schema = json.loads(headers["schema"]) if "schema" in headers else None
    analyzer = SqlAnalyzer(
        engine=headers["engine"],
        namespace=headers.get("namespace", "hive://warehouse"),
        default_schema=headers.get("default_schema") or None,
        schema=schema,
    )
    for _ in range(2):  # cold, then from the cache
        assert analyze_stepwise(analyzer, sql).to_json() == run_case(path)
