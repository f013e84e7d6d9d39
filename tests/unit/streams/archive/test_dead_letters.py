"""Dead letters back to their topics: which are selected, which are skipped and why."""

from __future__ import annotations

import base64
import doctest

import orjson
import pytest
from click.testing import CliRunner

from streams.archive import dead_letters
from streams.archive.dead_letters import Unusable, reason_matches, to_record
from streams.cli.root import main as cli
from streams.pipeline.deadletters import Origin, dead_letter_record

TOPICS = {"probe-events", "sql-job-logs"}


def letter(reason: str = "sql analysis: 1 of 1 statement(s) failed (#0: too deep)",
           topic: str = "p.sql-job-logs", value: bytes | None = b'{"v":1}',
           record_ts: int | None = 1234) -> bytes:
    return dead_letter_record(Origin(topic, 3, 42), reason, key=b"job-1", value=value, ts=9,
                              agent="sql-analysis", record_ts=record_ts)


def test_doctests() -> None:
    assert doctest.testmod(dead_letters).failed == 0


def test_a_dead_letter_goes_back_with_its_key_value_partition_and_record_time() -> None:
    record = to_record(letter(), prefix="p.", topics=TOPICS)
    assert record is not None
    assert (record.topic, record.partition, record.offset) == ("sql-job-logs", 3, 42)
    assert (record.key, record.value, record.timestamp) == (b"job-1", b'{"v":1}', 1234)


def test_a_dead_letter_written_before_record_ts_existed_gets_the_time_of_the_replay() -> None:
    record = to_record(letter(record_ts=None), prefix="p.", topics=TOPICS)
    assert record is not None and record.timestamp == -1  # the Replayer sends no timestamp


@pytest.mark.parametrize(("like", "selected"), [
    (None, True), ("SQL ANALYSIS", True), ("sql%too deep", True), ("event time", False),
    ("%", True), ("too deep%failed", False),
])
def test_reason_like_selects(like: str | None, selected: bool) -> None:
    assert (to_record(letter(), prefix="p.", topics=TOPICS, like=like) is not None) == selected


def test_reason_like_is_literal_apart_from_percent() -> None:
    assert not reason_matches("statement(s) failed", "statement(s.")
    assert reason_matches("statement(s) failed", "statement(s)")


@pytest.mark.parametrize(("value", "cause"), [
    (b"{nope", "not a dead letter (not JSON)"),
    (b"[1]", "not a dead letter (not an object)"),
    (letter(topic="other.sql-job-logs"), "origin outside this pipeline's topics"),
    (letter(topic="p.unknown-topic"), "origin outside this pipeline's topics"),
    (letter(value=None), "no value (a tombstone)"),
    (orjson.dumps({"reason": "x", "topic": "p.sql-job-logs"}), "no origin topic and partition"),
    (orjson.dumps({"reason": "x", "topic": "p.sql-job-logs", "partition": 0,
                   "value_b64": "!!"}), "value_b64 is not base64"),
])
def test_unusable_dead_letters_are_named(value: bytes, cause: str) -> None:
    with pytest.raises(Unusable, match=cause.replace("(", r"\(").replace(")", r"\)")):
        to_record(value, prefix="p.", topics=TOPICS)


def test_value_round_trips_bytes_exactly() -> None:
    raw = bytes(range(256))
    body = orjson.loads(letter(value=raw))
    assert base64.b64decode(body["value_b64"]) == raw
    record = to_record(letter(value=raw), prefix="p.", topics=TOPICS)
    assert record is not None and record.value == raw


@pytest.mark.parametrize(("args", "error"), [
    (["--reason-like", "x"], "--reason-like needs --dead-letters"),
    (["--dead-letters", "--from-prefix", "src"], "drop --archive and --from-prefix"),
    (["--dead-letters", "--since", "yesterday-ish"], "yesterday-ish"),
])
def test_replay_dead_letters_option_errors_are_one_line(args: list[str], error: str) -> None:
    result = CliRunner().invoke(cli, ["replay", "--topic-prefix", "p.", *args])
    assert result.exit_code != 0
    assert error in result.output


def test_replay_help_names_the_dead_letter_options() -> None:
    result = CliRunner().invoke(cli, ["replay", "--help"])
    assert result.exit_code == 0
    assert "--dead-letters" in result.output and "--reason-like" in result.output
