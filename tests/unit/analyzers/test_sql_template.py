"""Cached answers equal fresh analyses: templates over renamed tables, fingerprints, the stream.

Every golden fixture is run through :class:`SqlAnalyzer` twice over renamed tables
(a first text that makes the template, a second that may reuse it) and the
second answer must be exactly what a fresh, uncached analysis gives.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers.sql import SqlAnalyzer, analyze, fingerprint
from analyzers.sql.keys import template_key
from analyzers.sql.template import reserved_words
from tests.unit.analyzers.test_sql_fixtures import CASES, load_case

if TYPE_CHECKING:
    from pathlib import Path

NS = "hive://warehouse"


def table_names(sql: str, headers: dict[str, str]) -> list[str]:
    """The last part of every table the fixture reads or writes (as a fresh analysis names them)."""
    r = analyze(sql, engine=headers["engine"], namespace=NS)
    names: set[str] = set()
    for s in r.statements:
        for uri in (*s.inputs, *s.outputs):
            names.add(uri.rpartition("/")[2].rpartition(".")[2])
    return sorted(names)


def rename(text: str, mapping: dict[str, str]) -> str:
    """Whole-word, case-insensitive renaming (in the SQL and in schema keys alike)."""
    if not mapping:
        return text
    pattern = re.compile(
        r"(?<![\w$@#])(" + "|".join(map(re.escape, mapping)) + r")(?![\w$@#])", re.IGNORECASE
    )
    return pattern.sub(lambda m: mapping[m.group(1).lower()], text)


def fresh(sql: str, headers: dict[str, str], schema: dict[str, list[str]] | None) -> dict:
    return analyze(
        sql,
        engine=headers["engine"],
        namespace=headers.get("namespace", NS),
        default_schema=headers.get("default_schema") or None,
        schema=schema,
    ).to_json()


def cached_pair(
    path: Path, first: dict[str, str], second: dict[str, str], schema_mapping: bool = True
) -> tuple[SqlAnalyzer, dict, dict]:
    """(analyzer, its answer for the second text, a fresh answer for it)."""
    headers, sql = load_case(path)
    base = json.loads(headers["schema"]) if "schema" in headers else {}
    # The schema knows the renamed tables with the original's columns.
    schema = dict(base)
    for mapping in (first, second) if schema_mapping else ():
        schema.update({rename(k, mapping): v for k, v in base.items()})
    a = SqlAnalyzer(
        engine=headers["engine"],
        namespace=headers.get("namespace", NS),
        default_schema=headers.get("default_schema") or None,
        schema=schema,
    )
    a.analyze(rename(sql, first))
    second_sql = rename(sql, second)
    return a, a.analyze(second_sql).to_json(), fresh(second_sql, headers, schema)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_over_renamed_tables_equals_fresh(path: Path) -> None:
    headers, sql = load_case(path)
    names = table_names(sql, headers)
    first = {n: f"{n}_2024" for n in names}
    second = {n: f"{n}_2025" for n in names}
    _, got, expected = cached_pair(path, first, second)
    assert got == expected
    # The original text, then itself with literal values changed: the fingerprint level.
    a = SqlAnalyzer(engine=headers["engine"], namespace=NS)
    a.analyze(sql)
    varied = re.sub(r"(?<![\w.])\d+(?![\w.])", lambda m: str(int(m.group(0)) + 3), sql)
    assert (
        a.analyze(varied).to_json()
        == analyze(varied, engine=headers["engine"], namespace=NS).to_json()
    )


def test_fixtures_do_use_templates() -> None:
    used = 0
    for path in CASES:
        headers, sql = load_case(path)
        names = table_names(sql, headers)
        if names:
            a, _, _ = cached_pair(
                path, {n: f"{n}_2024" for n in names}, {n: f"{n}_2025" for n in names}
            )
            used += a.template_hits
    assert used >= 30  # most fixtures reuse a template (the rest are analysed afresh)


# Words that must never change a parse: keywords, functions and types with digits, names that
# clash with the fixtures' columns, the default schema, upper case.
TRICKY = [
    "int64", "sha256", "md5", "log10", "float8", "utf8", "sha2", "nvl2", "atan2", "int4",
    "user_id2", "id", "location", "default", "t1", "T1", "x9", "a1", "b2", "c3",
]  # fmt: skip
WORDS = st.one_of(
    st.sampled_from(TRICKY),
    st.from_regex(r"[a-z][a-z0-9_]{0,6}[0-9]", fullmatch=True),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip
@given(
    index=st.integers(min_value=0, max_value=len(CASES) - 1),
    first=st.lists(WORDS, min_size=8, max_size=8),
    second=st.lists(WORDS, min_size=8, max_size=8),
    schema_mapping=st.booleans(),
)
def test_any_renaming_equals_fresh(
    index: int, first: list[str], second: list[str], schema_mapping: bool
) -> None:
    path = CASES[index]
    headers, sql = load_case(path)
    names = table_names(sql, headers)[:8]
    _, got, expected = cached_pair(
        path,
        dict(zip(names, first, strict=False)),
        dict(zip(names, second, strict=False)),
        schema_mapping,
    )
    assert got == expected


def _pair(q1: str, q2: str, schema: dict[str, list[str]] | None = None) -> SqlAnalyzer:
    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default", schema=schema)
    a.analyze(q1)
    got = a.analyze(q2)
    expected = analyze(q2, engine="spark", namespace=NS, default_schema="default", schema=schema)
    assert got == expected
    return a


def test_template_renames_a_new_target_and_source() -> None:
    a = _pair(
        "INSERT INTO out_1 SELECT x, y FROM logs.ev_1 WHERE d = '2024-01-01'",
        "INSERT INTO out_2 SELECT x, y FROM logs.ev_2 WHERE d = '2024-01-02'",
    )
    assert (a.misses, a.template_hits) == (1, 1)


def test_template_declined_when_a_word_is_also_a_column() -> None:
    # ``t1`` is a table and, through a struct access, the name of a column.
    a = _pair("INSERT INTO t1 SELECT t1.x FROM u", "INSERT INTO t2 SELECT t2.x FROM u")
    assert a.template_hits == 0


def test_template_declined_when_known_columns_differ() -> None:
    schema = {"default.ev_1": ["a", "b"], "default.ev_2": ["a", "c"]}
    a = _pair("SELECT * FROM ev_1", "SELECT * FROM ev_2", schema)
    assert (a.misses, a.template_hits) == (2, 0)
    schema = {"default.ev_1": ["a", "b"], "default.ev_2": ["a", "b"]}
    a = _pair("SELECT * FROM ev_1", "SELECT * FROM ev_2", schema)
    assert (a.misses, a.template_hits) == (1, 1)


def test_template_declined_when_a_new_word_is_a_known_column() -> None:
    schema = {"default.s": ["q2", "a"]}
    a = _pair(
        "SELECT q1.a FROM s JOIN q1 ON s.a = q1.a",
        "SELECT q2.a FROM s JOIN q2 ON s.a = q2.a",
        schema,
    )
    assert a.template_hits == 0


def test_template_over_a_script_with_a_temp_view() -> None:
    a = _pair(
        "CREATE TEMPORARY VIEW v_1 AS SELECT a, b FROM raw_1; INSERT INTO out_1 SELECT a FROM v_1",
        "CREATE TEMPORARY VIEW v_2 AS SELECT a, b FROM raw_2; INSERT INTO out_2 SELECT a FROM v_2",
    )
    assert a.template_hits == 1


def test_no_template_with_use_or_quotes() -> None:
    a = _pair(
        "USE db1; INSERT INTO t_1 SELECT a FROM s_1", "USE db1; INSERT INTO t_2 SELECT a FROM s_2"
    )
    assert a.template_hits == 0
    a = _pair("INSERT INTO t_1 SELECT `t_1`.a FROM t_1", "INSERT INTO t_2 SELECT `t_2`.a FROM t_2")
    assert a.template_hits == 0


def test_template_key_words() -> None:
    spark = reserved_words("spark")
    assert spark is not None
    key, words = template_key("INSERT INTO db.t_20240101 SELECT a FROM s", spark)
    assert words == ("t_20240101",) and "\x00" in key
    # no digit, a keyword, a function, a qualifier: not template words
    assert template_key("SELECT a FROM events", spark)[1] == ()
    assert template_key("SELECT a FROM int64", spark)[1] == ()
    assert template_key("SELECT a FROM t1.x", spark)[1] == ()
    # a word written in two cases: no template
    assert template_key("SELECT T1.a FROM t1", spark)[1] == ()


def test_fingerprint_numbers_in_context() -> None:
    # values in a list with arithmetic are masked; positions in a BY list are kept
    assert fingerprint("SELECT a FROM t WHERE y IN (1999, 1999+1)") == fingerprint(
        "SELECT a FROM t WHERE y IN (2002, 2002+1)"
    )
    assert fingerprint("SELECT a, b FROM t GROUP BY a, 2") != fingerprint(
        "SELECT a, b FROM t GROUP BY a, 1"
    )
    # a function's arguments in ORDER BY are not positions
    assert fingerprint("SELECT a FROM t ORDER BY substr(a, 1, 5)") == fingerprint(
        "SELECT a FROM t ORDER BY substr(a, 2, 6)"
    )
    # a comment before a position does not hide it; a quote may hide a parenthesis: kept
    assert fingerprint("SELECT a, b FROM t GROUP BY /* x = */ 1") != fingerprint(
        "SELECT a, b FROM t GROUP BY /* x = */ 2"
    )
    assert fingerprint("SELECT a, b FROM t GROUP BY -- x =\n 1") != fingerprint(
        "SELECT a, b FROM t GROUP BY -- x =\n 2"
    )
    assert fingerprint("SELECT a, b FROM t GROUP BY f('('), 1") != fingerprint(
        "SELECT a, b FROM t GROUP BY f('('), 2"
    )


def test_bench_stream_sample_equals_fresh() -> None:
    bench = pytest.importorskip("loadtest.bench_sql")
    pytest.importorskip("sqllineage")
    queries = bench.tpcds_queries()
    schema = bench.tpcds_schema(queries)
    stream, _ = bench.make_stream(20_000, queries)
    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default", schema=schema)
    answers = {q: a.analyze(q) for q in stream}
    assert a.template_hits > 100
    for q, got in answers.items():
        expected = analyze(q, engine="spark", namespace=NS, default_schema="default", schema=schema)
        assert got == expected, q[:200]
