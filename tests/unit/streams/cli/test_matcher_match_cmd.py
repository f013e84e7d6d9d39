"""`lineage match FILE.json` through click."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from streams.cli.match_cmd import match_command
from tests.unit.analyzers.test_matcher_payload_match import CONTRACT_INPUT

DOC = CONTRACT_INPUT  # the contract's `lineage match` example


def test_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(DOC))
    runner = CliRunner()
    for args, stdin in (([str(path)], None), (["-"], json.dumps(DOC))):
        result = runner.invoke(match_command, args, input=stdin)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == {
            "matches": [
                {
                    "source": "web://photos-web/handlePhotoUpload#location",
                    "sink": "scribe://logs/photo_uploaded",
                    "kind": "CONTAINS",
                    "transform": None,
                }
            ],
            "nomatch": [],
        }


def test_options(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(DOC))
    result = CliRunner().invoke(match_command, [str(path), "--min-length", "40"])
    assert json.loads(result.output)["matches"] == []


def test_bad_input_is_one_line_error(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(match_command, [str(tmp_path / "nope.json")])
    assert missing.exit_code != 0 and "cannot read" in missing.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"sources": [ "secret-value"')
    result = runner.invoke(match_command, [str(bad)])
    assert result.exit_code != 0
    assert "not valid JSON" in result.output
    assert "secret-value" not in result.output
    shaped = tmp_path / "shaped.json"
    shaped.write_text('{"sources": ["secret-value"]}')
    result = runner.invoke(match_command, [str(shaped)])
    assert result.exit_code != 0 and "sources[0]" in result.output
    assert "secret-value" not in result.output
    assert len(result.output.strip().splitlines()) == 1
