"""The Rust fingerprint (`matcher_rs`) against the Python one it replaces, text for text."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analyzers.sql import keys

_native = pytest.importorskip("matcher_rs._native")
native = _native.sql_fingerprint
native_positions = _native.sql_word_positions

# Pieces that exercise every branch of the scan: quotes of three kinds (doubled,
# escaped, unterminated), comments, lists of literals, numbers after operators,
# commas and value keywords, BY lists, AS 'name', words with digits, odd white space.
PIECES = [
    "'", '"', "`", "\\", "''", '""', "--", "/*", "*/", "\n", " ", "\t", "\x0b", "\x1c",
    "(", ")", ",", ".", "-", "+", "*", "/", "%", "=", "<", ">", "$", "@", "#", "_",
    "0", "1", "7", "12", "3.5", "1.", ".5", "2024-01-01", "x1", "ev_7", "a2b", "9z",
    "a", "b", "y", "t", "by", "BY", "By", "as", "AS", "and", "Between", "in", "LIMIT",
    "then", "not", "is", "group by ", "order by ", "select ", " from ", "where ",
    "'a'", "'it''s'", "'\\''", '"q""x"', "`b`", "('x', 1)", "(1, -2.5 ,'z')", "IN (",
    "/* c */", "-- c\n", " as 'n'", "x.y", "db.t_1", "tab_20240101", " FROM ", "join ",
    "Into ", "TABLE ", "update ", "using ", "exists ", "view ", "db. ev_7", "a.b.c_9 ",
]  # fmt: skip
SQL = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=200)


def _same(sql: str) -> None:
    assert native(sql) == keys._python_fingerprint(sql), repr(sql)
    # the words a probe looks for: some of the text's own words, and fixed ones
    words = {w.lower() for w in keys._WORD.findall(sql)[::3]} | {"ev_7", "t", "x1", "by"}
    got = native_positions(sql, sorted(words))
    assert got == keys._python_word_positions(sql, frozenset(words)), repr(sql)
    ends = keys._python_fingerprint(sql)[1]
    reserved = frozenset({"t", "from", "x1"})
    assert keys._table_words(sql, ends, reserved) == keys._python_table_words(sql, ends, reserved)


@settings(max_examples=3000, deadline=None)
@given(SQL)
@example("SELECT a FROM t /* run 7 */ WHERE d='2024-01-01' AND n > 5 GROUP BY 1")
@example("x IN ('a'')")
@example("x IN ('a''b', 'c'' ,'d')")
@example("select f(1, 2), 3 from t group by 1, 2 order by (3), 4")
def test_native_is_python_on_sql_like_text(sql: str) -> None:
    _same(sql)


@settings(max_examples=2000, deadline=None)
@given(ASCII)
def test_native_is_python_on_any_ascii_text(sql: str) -> None:
    _same(sql)


def test_native_is_python_on_the_benchmark_statements() -> None:
    bench = pytest.importorskip("loadtest.bench_sql")
    pytest.importorskip("sqllineage")
    queries = bench.tpcds_queries()
    stream, _ = bench.make_stream(3000, queries)
    for sql in {*queries, *stream}:
        _same(sql)


def test_non_ascii_text_is_left_to_python() -> None:
    assert native("SELECT 'é' FROM t") is None
    assert keys._fingerprint("SELECT 'é', 1 FROM t_1") == keys._python_fingerprint(
        "SELECT 'é', 1 FROM t_1"
    )
