"""The SQL analyzer's API: cache, caps, error hygiene, CLI, doctests."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest
from click.testing import CliRunner

from analyzers.sql import SqlAnalyzer, analyze, fingerprint
from streams.cli.sql_cmd import analyze_sql_command

NS = "hive://warehouse"


# Every module of the package with doctests in its docstrings.
DOCTESTED = [
    "analyzers.sql",
    *(f"analyzers.sql.{m}" for m in ("cache", "keys", "kinds", "lineage", "locations")),
    *(f"analyzers.sql.{m}" for m in ("naming", "preparse", "querylog", "relation", "resolver")),
    *(f"analyzers.sql.{m}" for m in ("schemas", "stepwise", "template")),
]


@pytest.mark.parametrize("module", DOCTESTED)
def test_doctests(module: str) -> None:
    failures, _ = doctest.testmod(importlib.import_module(module))
    assert failures == 0


def test_cache_hits_and_misses() -> None:
    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default", maxsize=2)
    q = "INSERT INTO t2 SELECT a FROM t1"
    first = a.analyze(q)
    assert a.analyze("  INSERT INTO t2\n SELECT a FROM t1 ") is first
    assert (a.hits, a.misses) == (1, 1)
    a.analyze("SELECT b FROM t3")
    a.analyze("SELECT c FROM t4")
    assert a.size <= 2  # bounded
    a.analyze(q)
    assert a.misses == 4


def test_cache_key_includes_context() -> None:
    a = SqlAnalyzer(engine="spark", namespace=NS)
    r1 = a.analyze("SELECT a FROM t", default_schema="x")
    r2 = a.analyze("SELECT a FROM t", default_schema="y")
    assert r1.statements[0].inputs != r2.statements[0].inputs
    assert a.misses == 2


def test_fingerprint_masks_literals_not_identifiers() -> None:
    assert fingerprint("SELECT a FROM t WHERE d = '1'") == fingerprint(
        "SELECT a FROM t WHERE d = '2'"
    )
    assert fingerprint('SELECT "a" FROM t') != fingerprint('SELECT "b" FROM t')
    assert fingerprint("SELECT a FROM t GROUP BY 1") != fingerprint("SELECT a FROM t GROUP BY 2")
    # positional references after a comma are kept too
    assert fingerprint("SELECT a, b FROM t GROUP BY 1, 2") != fingerprint(
        "SELECT a, b FROM t GROUP BY 1, 3"
    )
    assert fingerprint("SELECT a, b FROM t ORDER BY 2 DESC, 1") != fingerprint(
        "SELECT a, b FROM t ORDER BY 2 DESC, 2"
    )
    # a string naming an output column is kept
    assert fingerprint("SELECT a AS 'x' FROM t") != fingerprint("SELECT a AS 'y' FROM t")
    assert fingerprint("SELECT a FROM t WHERE b = 'x'") == fingerprint(
        "SELECT a FROM t WHERE b = 'y'"
    )
    # values: ranges, lists, limits, comments
    assert fingerprint(
        "SELECT a FROM t WHERE y BETWEEN 1999 AND 2001 AND x IN (1, 2) LIMIT 100 -- run 1"
    ) == fingerprint("SELECT a FROM t WHERE y BETWEEN 2003 AND 2005 AND x IN (3) LIMIT 105")


def test_cache_hit_by_fingerprint_keeps_lineage() -> None:
    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default")
    q1 = "INSERT INTO d SELECT a, b FROM t WHERE y BETWEEN 1 AND 2 ORDER BY 2, 1"
    q2 = "INSERT INTO d SELECT a, b FROM t WHERE y BETWEEN 3 AND 4 ORDER BY 2, 1"
    assert a.analyze(q2) is a.analyze(q1)
    assert (a.hits, a.misses) == (1, 1)
    fresh = analyze(q2, engine="spark", namespace=NS, default_schema="default")
    assert a.analyze(q2).to_json() == fresh.to_json()


def test_an_error_is_not_answered_for_another_text_of_its_fingerprint() -> None:
    """An error's message gives a position in its own text: a text of the same
    fingerprint with a longer literal fails elsewhere (found by the renaming
    property test of test_sql_template.py)."""
    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default")
    q1 = "SELECT x FROM t WHERE d = '2024-01-01' AND ) x"
    q2 = "SELECT x FROM t WHERE d = '2024-01-01-long' AND ) x"
    first = a.analyze(q1)
    assert first.errors
    fresh = analyze(q2, engine="spark", namespace=NS, default_schema="default")
    assert a.analyze(q2).to_json() == fresh.to_json() != first.to_json()
    assert a.analyze(q1) is first  # the text itself is still cached


def test_errors_carry_no_values() -> None:
    r = analyze("SELECT FROM 'secret-value' WHERE (((", engine="spark", namespace=NS)
    assert r.errors and "secret-value" not in r.errors[0].message
    r = analyze("SELECT 'unterminated secret", engine="postgres", namespace=NS)
    assert r.errors and "secret" not in r.errors[0].message


def test_statement_caps() -> None:
    a = SqlAnalyzer(engine="spark", namespace=NS, max_tokens=5)
    r = a.analyze("SELECT a, b, c, d FROM t; SELECT 1")
    assert r.errors[0].index == 0 and "tokens" in r.errors[0].message
    assert r.statements[0].index == 1
    r = analyze("SELECT a FROM t", engine="spark", namespace=NS, time_cap_s=-1.0)
    assert "time cap" in r.errors[0].message


def test_every_bad_statement_is_an_error_entry() -> None:
    r = analyze("SELECT 1; SELECT * FROM (; ; INSERT INTO", engine="spark", namespace=NS)
    assert [e.index for e in r.errors] == [1, 2]
    assert [s.index for s in r.statements] == [0]


def test_cli_json_and_table(tmp_path: object) -> None:
    runner = CliRunner()
    sql = (
        "INSERT INTO location_analytics_tbl "
        "SELECT location AS user_location FROM photo_metadata_log"
    )
    res = runner.invoke(
        analyze_sql_command,
        ["-", "--engine", "spark", "--namespace", NS, "--default-schema", "default"],
        input=sql,
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    col = out["statements"][0]["columns"][0]
    assert col["target"] == f"{NS}/default.location_analytics_tbl#user_location"
    assert col["sources"][0] == {
        "field": f"{NS}/default.photo_metadata_log#location",
        "type": "DIRECT",
        "subtype": "IDENTITY",
        "masking": False,
    }
    res = runner.invoke(
        analyze_sql_command, ["-", "--engine", "spark", "--format", "table"], input=sql
    )
    assert res.exit_code == 0 and "IDENTITY" in res.output


def test_cli_bad_inputs(tmp_path: object) -> None:
    runner = CliRunner()
    res = runner.invoke(analyze_sql_command, ["/nonexistent.sql", "--engine", "spark"])
    assert res.exit_code != 0 and "cannot read" in res.output
    res = runner.invoke(
        analyze_sql_command, ["-", "--engine", "spark", "--schema", "/nonexistent.json"], input="x"
    )
    assert res.exit_code != 0 and "schema" in res.output
    res = runner.invoke(analyze_sql_command, ["-", "--engine", "nope"], input="SELECT 1")
    assert res.exit_code != 0 and "unknown engine" in res.output


def test_cache_keeps_paths_apart() -> None:
    """A path is a literal: the fingerprint hides it, so such results are cached by text only."""
    a = SqlAnalyzer(engine="hive", namespace=NS, default_schema="default")
    one = a.analyze("LOAD DATA INPATH '/data/day1' INTO TABLE t")
    two = a.analyze("LOAD DATA INPATH '/data/day2' INTO TABLE t")
    assert one.statements[0].inputs == ("file:/data/day1",)
    assert two.statements[0].inputs == ("file:/data/day2",)
    unload = "UNLOAD ('SELECT {c} FROM t') TO 's3://b/p'"
    a = SqlAnalyzer(engine="redshift", namespace=NS, default_schema="public")
    first = a.analyze(unload.format(c="a")).statements[0].columns[0].target
    second = a.analyze(unload.format(c="b")).statements[0].columns[0].target
    assert (first, second) == ("s3://b/p#a", "s3://b/p#b")


def test_preparse_leaves_other_commands_as_errors_or_commands() -> None:
    r = analyze("EXPORT TABLE", engine="hive", namespace=NS)
    assert r.errors and not r.statements
    r = analyze("UNLOAD something odd", engine="redshift", namespace=NS)
    assert [s.kind for s in r.statements] == ["command"]


def test_catalog_learned_ddl_maps_a_later_insert_by_position() -> None:
    a = SqlAnalyzer(engine="trino", default_schema="default", learn_ddl=True)
    insert = "INSERT INTO t1 SELECT a, concat(b, 'x') FROM t2"
    before = a.analyze(insert, namespace="trino://c")
    assert [c.target for c in before.statements[0].columns] == ["trino://c/default.t1#a",
                                                                "trino://c/default.t1#_col_1"]
    a.analyze("CREATE TABLE t1 (id bigint, label varchar)", namespace="trino://c")
    assert a.catalog.version("trino://c") == 1
    after = a.analyze(insert, namespace="trino://c")
    assert [c.target for c in after.statements[0].columns] == ["trino://c/default.t1#id",
                                                               "trino://c/default.t1#label"]
    other = a.analyze(insert, namespace="trino://other")  # another namespace learned nothing
    assert other.statements[0].columns[0].target == "trino://other/default.t1#a"


def test_catalog_takes_facet_schemas_and_stays_bounded() -> None:
    from analyzers.sql.schemas import SchemaCatalog

    catalog = SchemaCatalog(max_tables=2)
    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default", catalog=catalog)
    star = "INSERT INTO o SELECT * FROM s"
    assert a.analyze(star).statements[0].table_level
    catalog.learn(NS, "default.s", ["x", "y"])  # e.g. an OpenLineage schema facet
    r = a.analyze(star)
    assert not r.statements[0].table_level
    assert [c.target for c in r.statements[0].columns] == [f"{NS}/default.o#x", f"{NS}/default.o#y"]
    catalog.learn(NS, "default.u", ["a"])
    catalog.learn(NS, "default.v", ["a"])  # evicts default.s, the least recently learned
    assert "default.s" not in catalog.schema_for(NS, "default")
    assert a.analyze(star).statements[0].table_level


def test_cli_log_plain_and_json_lines() -> None:
    runner = CliRunner()
    plain = "SELECT a FROM t;\nINSERT INTO o\nSELECT upper(b) AS c FROM t;\nSELECT a FROM t;\n"
    res = runner.invoke(analyze_sql_command, ["--log", "-", "--engine", "spark",
                                              "--namespace", NS, "--default-schema", "default"],
                        input=plain)  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.splitlines()]
    assert [x["line"] for x in lines] == [1, 2, 4]
    assert lines[1]["statements"][0]["columns"][0]["target"] == f"{NS}/default.o#c"
    assert lines[0]["statements"] == lines[2]["statements"]
    logged = (
        '{"query": "SELECT a FROM t", "engine": "trino", "default_schema": "s"}\n'
        "oops\n"
        '{"query": "SELECT a FROM t"}\n'
    )
    res = runner.invoke(analyze_sql_command, ["--log", "-"], input=logged)
    assert res.exit_code == 0, res.output
    first, bad, no_engine = (json.loads(x) for x in res.output.splitlines())
    assert first["statements"][0]["inputs"] == ["trino://default/s.t"]
    assert bad["line"] == 2 and "JSON object" in bad["errors"][0]["message"]
    assert no_engine["errors"][0]["message"] == "no engine (--engine)"


def test_cli_log_and_script_are_exclusive() -> None:
    runner = CliRunner()
    res = runner.invoke(analyze_sql_command, ["x.sql", "--log", "-", "--engine", "spark"])
    assert res.exit_code != 0 and "not both" in res.output
    res = runner.invoke(analyze_sql_command, ["--log", "-", "--format", "table"], input="")
    assert res.exit_code != 0 and "JSON lines" in res.output
    res = runner.invoke(analyze_sql_command, ["-"], input="SELECT 1")
    assert res.exit_code != 0 and "--engine" in res.output


def test_sqlglot_log_lines_carry_no_sql_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="sqlglot"):
        analyze("UNLOAD something 'secret-4711' odd", engine="redshift", namespace=NS)
    assert caplog.records and "secret-4711" not in caplog.text


@pytest.mark.parametrize(
    "script",
    [
        "SELECT a FROM t;\nSELECT a FROM t;\nSELECT b FROM u",
        "SELECT a FROM t -- a note;\nWHERE b = 1;\nSELECT a FROM t;\n",  # cut inside a comment
        "SELECT 'x;\n' AS s, a FROM t;\nSELECT b FROM u;\n",  # cut inside a string
        "SELECT a FROM t; SELECT b FROM u;\nSELECT a FROM t; SELECT b FROM u;\n",
        "SELECT a FROM t;\n\n;\n-- only a comment;\nSELECT b FROM u;\n",
    ],
)
def test_stepwise_pieces_split_as_the_script(script: str) -> None:
    from analyzers.sql.stepwise import analyze_stepwise

    a = SqlAnalyzer(engine="spark", namespace=NS, default_schema="default")
    want = analyze(script, engine="spark", namespace=NS, default_schema="default").to_json()
    assert analyze_stepwise(a, script).to_json() == want


def test_cli_script_json_equals_the_result_json() -> None:
    insert = "INSERT INTO o SELECT x FROM t;\n"
    script = f"{insert}USE a;\n{insert}{insert}USE b;\n{insert}DROP TABLE z"
    res = CliRunner().invoke(analyze_sql_command, ["-", "--engine", "spark", "--namespace", NS],
                             input=script)  # fmt: skip
    assert res.exit_code == 0, res.output
    want = analyze(script, engine="spark", namespace=NS).to_json()
    assert json.loads(res.output) == want
