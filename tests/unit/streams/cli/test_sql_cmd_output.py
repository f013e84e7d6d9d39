"""`lineage analyze-sql --log` output: written in parts, whole and in order."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from streams.cli import sql_cmd

LINES = [
    (b'{"line":%d,' % i, b'"n":%d,"pad":"%b"}\n' % (i, b"x" * (i % 97))) for i in range(1, 1300)
]
EXPECTED = b"".join(h + b for h, b in LINES)


def test_write_lines_to_a_file_descriptor(tmp_path: Path) -> None:
    advanced: list[int] = []
    with open(tmp_path / "out", "wb") as out:
        out.write(b"first\n")  # buffered before: must come out first
        sql_cmd._write_lines(out, iter(LINES), advanced.append)
    assert (tmp_path / "out").read_bytes() == b"first\n" + EXPECTED
    assert sum(advanced) == len(LINES) // sql_cmd._BATCH * sql_cmd._BATCH


def test_write_lines_survives_partial_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.writev

    def short(fd: int, parts: list[bytes]) -> int:  # a pipe may take only part of a call
        return real(fd, [bytes(memoryview(b"".join(parts))[:7])])

    monkeypatch.setattr(sql_cmd.os, "writev", short)
    with open(tmp_path / "out", "wb") as out:
        sql_cmd._write_lines(out, iter(LINES))
    assert (tmp_path / "out").read_bytes() == EXPECTED


def test_write_lines_without_a_file_descriptor() -> None:
    out = io.BytesIO()
    sql_cmd._write_lines(out, iter(LINES))
    assert out.getvalue() == EXPECTED
