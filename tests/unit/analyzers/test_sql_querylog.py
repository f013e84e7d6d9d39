"""Query log entries: lines, repeats, and files written on another system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzers.sql.querylog import LogEntry, log_entries
from streams.cli.sql_cmd import analyze_sql_command


def test_json_lines_end_at_newline_only_and_repeats_share_one_entry() -> None:
    q = {"query": "SELECT a FROM t WHERE b = 'x\u2028y'", "engine": "hive"}
    line = json.dumps(q, ensure_ascii=False)
    got = list(log_entries(f"{line}\n\n   \n{line}\n\n"))
    assert [n for n, _ in got] == [1, 4]
    assert got[0][1] == LogEntry(q["query"], "hive")
    assert got[0][1] is got[1][1]


def test_a_crlf_file_reads_as_its_lf_twin(tmp_path: Path) -> None:
    args = ["--engine", "spark", "--namespace", "hive://w", "--log"]
    outputs = []
    for newline in ("\n", "\r\n", "\r"):
        log = tmp_path / "log.sql"
        log.write_bytes(newline.join(["SELECT a FROM t;", "", "SELECT b", "FROM u;", ""]).encode())
        res = CliRunner().invoke(analyze_sql_command, [*args, str(log)])
        assert res.exit_code == 0, res.output
        outputs.append([json.loads(x) for x in res.output.splitlines()])
    assert [x["line"] for x in outputs[0]] == [1, 3]
    assert outputs[0][1]["statements"][0]["inputs"] == ["hive://w/u"]
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]


def test_bytes_read_as_the_text() -> None:
    """A log's bytes give the entries of its text (JSON lines read without a whole decode)."""
    rows = [{"query": "SELECT a FROM t"}, {"query": "SELECT é FROM u", "engine": "trino"}]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    for text in (
        "\n".join([lines[0], "", lines[1], lines[0], "oops"]) + "\n",
        "\r\n".join([lines[0], lines[1], lines[0]]),  # CRLF: the text path
        "SELECT a FROM t;\nSELECT b\nFROM u;\n",
        "\u00a0" + lines[0],  # non-ASCII white space before the first "{"
    ):
        assert list(log_entries(text.encode())) == list(log_entries(text.replace("\r\n", "\n")))
    with pytest.raises(UnicodeDecodeError):
        list(log_entries(lines[0].encode() + b"\n" + b'{"query": "\xff"}\n'))
