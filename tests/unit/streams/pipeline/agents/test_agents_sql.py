"""SQL analysis: sql logs to column signals, sql_io halves joined per job or trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stream_fixtures import (
    MessageFactory,
    Runner,
    body,
    dead_letters,
    original_bytes,
    signal_set,
)

from analyzers.sql import SchemaCatalog, analyze
from analyzers.sql.model import AnalysisResult, ColumnLineage, SourceField, StatementLineage
from streams.pipeline.agents.sql_analysis import AGENT, TABLE_LEVEL_KIND, SqlAnalysis, sql_signals
from streams.pipeline.batch import input_validator
from streams.pipeline.metrics import Metrics
from streams.pipeline.topology import Topology

TOPIC = "sql-job-logs"
NS = "hive://warehouse"
SRC = f"{NS}/default.photo_metadata_log"
DST = f"{NS}/default.location_analytics_tbl"
OTHER = f"{NS}/default.other_tbl"
TABLE_EDGE = (f"{SRC} -> {DST}", TABLE_LEVEL_KIND)


def sql(query: str, job: str = "job-1", ts: int = 1000) -> dict[str, Any]:
    return {"v": 1, "type": "sql", "job_id": job, "trace_id": "t-77", "ts": ts,
            "engine": "spark", "namespace": NS, "default_schema": "default", "query": query}


def io(action: str, table: str, job: str = "job-1", ts: int = 1000,
       trace: str | None = None) -> dict[str, Any]:
    event = {"v": 1, "type": "sql_io", "job_id": job, "ts": ts, "engine": "spark",
             "namespace": NS, "action": action, "table": table}
    if trace is not None:
        event["trace_id"] = trace
    return event


INSERT = ("INSERT INTO location_analytics_tbl "
          "SELECT location AS user_location FROM photo_metadata_log")


@pytest.fixture()
def msg(make_messages: Callable[[str], MessageFactory]) -> MessageFactory:
    return make_messages(TOPIC)


@pytest.fixture()
def run(make_runner: Callable[..., Runner], topology: Topology, metrics: Metrics) -> Runner:
    return make_runner(AGENT, SqlAnalysis(topology, metrics), input_validator(TOPIC))


def test_sql_signals_column_lineage_and_table_level_fallback() -> None:
    result = AnalysisResult(statements=(
        StatementLineage(
            index=0, kind="insert", inputs=(SRC,), outputs=(DST,),
            columns=(ColumnLineage(f"{DST}#h", (
                SourceField(f"{SRC}#email", "DIRECT", "TRANSFORMATION", masking=True),
                SourceField(f"{SRC}#day", "INDIRECT", "FILTER"),
            )),),
        ),
        StatementLineage(index=1, kind="insert", inputs=(SRC, OTHER, DST), outputs=(OTHER,),
                         columns=()),
    ))
    signals, pairs = sql_signals(result, 42)
    assert pairs == {(SRC, DST)}
    assert {(s.edge_id, s.kind, s.masking) for s in signals} == {
        (f"{SRC}#email -> {DST}#h", "TRANSFORMATION", True),
        (f"{SRC}#day -> {DST}#h", "FILTER", False),
        (f"{SRC} -> {OTHER}", TABLE_LEVEL_KIND, False),  # no column lineage: table level
        (f"{DST} -> {OTHER}", TABLE_LEVEL_KIND, False),
    }  # no OTHER -> OTHER self-loop, no SRC -> DST table edge beside its columns
    assert all(s.ts == 42 and s.origin == "sql" for s in signals)


async def test_sql_event_gives_column_signals(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([msg(sql(INSERT))])
    assert signal_set(outputs) == {
        (f"{SRC}#location -> {DST}#user_location", "IDENTITY")}
    assert body(outputs[0])["ts"] == 1000


async def test_unparsable_sql_is_counted_and_dead_lettered(run: Runner, msg: MessageFactory,
                                                           metrics: Metrics) -> None:
    bad = msg(sql("INSERT INTO ((("), key=b"job-1")
    outputs = await run([bad, msg(sql(INSERT))])
    assert len(signal_set(outputs)) == 1
    assert metrics.counters[f"{AGENT}.statement_errors"] == 1
    (letter,) = dead_letters(outputs)
    assert letter["origin"] == f"{TOPIC}:0:0" and original_bytes(letter) == bad.value
    assert letter["reason"].startswith("sql analysis: 1 of 1 statement(s) failed (#0: ")
    assert metrics.counters[f"{AGENT}.dead_letters.analysis"] == 1


SECRET = "Flat 9 Secret Lane"
HOSTILE = {
    "parse error": f"INSERT INTO t SELECT '{SECRET}' FROM b WHERE (",
    "3,000 nested parentheses": "INSERT INTO t SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "60,000-item IN list": "INSERT INTO t SELECT a FROM b WHERE a IN ("
                           + ",".join(f"'{SECRET}{i}'" for i in range(60_000)) + ")",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_sql_the_analyzer_cannot_handle_is_a_dead_letter_without_its_text(
    run: Runner, msg: MessageFactory, name: str,
) -> None:
    hostile = msg(sql(HOSTILE[name]))
    outputs = await run([hostile, msg(sql(INSERT))])
    assert len(signal_set(outputs)) == 1  # the next script is analysed as usual
    (letter,) = dead_letters(outputs)
    assert original_bytes(letter) == hostile.value  # nothing lost: replayable
    reason = letter["reason"]
    assert reason.startswith("sql analysis: 1 of 1 statement(s) failed")
    assert SECRET not in reason and "SELECT" not in reason and len(reason) < 300


async def test_a_script_with_one_failed_statement_keeps_the_others_signals(
    run: Runner, msg: MessageFactory,
) -> None:
    outputs = await run([msg(sql(f"SELECT (((; {INSERT}"))])
    assert len(signal_set(outputs)) == 1
    (letter,) = dead_letters(outputs)
    assert letter["reason"].startswith("sql analysis: 1 of 2 statement(s) failed (#0: ")


@pytest.mark.parametrize("order", ["read-first", "write-first"])
async def test_io_halves_join_by_job_id(run: Runner, msg: MessageFactory, order: str) -> None:
    halves = [io("READ", "default.photo_metadata_log", ts=1000),
              io("WRITE", "default.location_analytics_tbl", ts=1005)]
    if order == "write-first":
        halves.reverse()
    outputs = await run([msg(h) for h in halves])
    assert signal_set(outputs) == {TABLE_EDGE}
    assert body(outputs[0])["ts"] == 1005


async def test_io_table_names_are_lowercased(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([msg(io("READ", "default.Photo_Metadata_LOG")),
                         msg(io("WRITE", "DEFAULT.location_analytics_tbl"))])
    assert signal_set(outputs) == {TABLE_EDGE}


async def test_io_halves_join_by_trace_across_job_ids(run: Runner, msg: MessageFactory) -> None:
    outputs = await run([
        msg(io("READ", "default.photo_metadata_log", job="reader", trace="t-77")),
        msg(io("WRITE", "default.location_analytics_tbl", job="writer", trace="t-77")),
        msg(io("WRITE", "default.other_tbl", job="stranger", trace="t-78")),
    ])
    assert signal_set(outputs) == {TABLE_EDGE}


async def test_io_halves_of_different_jobs_without_trace_do_not_join(
    run: Runner, msg: MessageFactory,
) -> None:
    outputs = await run([msg(io("READ", "default.photo_metadata_log", job="a")),
                         msg(io("WRITE", "default.location_analytics_tbl", job="b"))])
    assert outputs == []


async def test_io_halves_join_across_batches(run: Runner, msg: MessageFactory) -> None:
    assert await run([msg(io("WRITE", "default.location_analytics_tbl"))]) == []
    outputs = await run([msg(io("READ", "default.photo_metadata_log"))])
    assert signal_set(outputs) == {TABLE_EDGE}


async def test_same_table_read_and_write_gives_no_self_loop(run: Runner,
                                                            msg: MessageFactory) -> None:
    outputs = await run([msg(io("READ", "default.photo_metadata_log")),
                         msg(io("WRITE", "default.photo_metadata_log"))])
    assert outputs == []


async def test_known_column_lineage_suppresses_the_table_level_signal(
    run: Runner, msg: MessageFactory,
) -> None:
    column_level = await run([msg(sql(INSERT, job="full-log"))])
    assert signal_set(column_level) == {
        (f"{SRC}#location -> {DST}#user_location", "IDENTITY")}
    outputs = await run([msg(io("READ", "default.photo_metadata_log", job="halves")),
                         msg(io("WRITE", "default.location_analytics_tbl", job="halves")),
                         msg(io("WRITE", "default.other_tbl", job="halves"))])
    assert signal_set(outputs) == {(f"{SRC} -> {OTHER}", TABLE_LEVEL_KIND)}


async def test_late_half_is_counted_not_joined_and_dead_lettered(
    run: Runner, msg: MessageFactory, metrics: Metrics, topology: Topology,
) -> None:
    window = topology.windows.job.size_ms + topology.windows.job.allowed_lateness_ms
    outputs = await run([
        msg(io("READ", "default.photo_metadata_log", ts=1000)),
        msg(io("READ", "default.other_tbl", job="later", ts=1000 + window)),
        msg(io("WRITE", "default.location_analytics_tbl", ts=1000)),
    ])
    assert signal_set(outputs) == set()
    (letter,) = dead_letters(outputs)
    assert letter["reason"] == "window: late, its job window is already closed"
    assert letter["origin"] == f"{TOPIC}:0:2"
    assert metrics.counters[f"{AGENT}.io_late"] == 1
    assert metrics.counters[f"{AGENT}.jobs_closed"] == 1


async def test_redelivered_halves_are_not_joined_twice(run: Runner, msg: MessageFactory) -> None:
    read = msg(io("READ", "default.photo_metadata_log"))
    await run([read])
    write = msg(io("WRITE", "default.location_analytics_tbl"))
    outputs = await run([read, write])
    assert len(outputs) == 1  # the READ half is in the window once
    assert signal_set(outputs) == {TABLE_EDGE}
    assert await run([read, write]) == []


def test_unexpanded_star_gives_a_table_level_signal_beside_columns() -> None:
    result = analyze("INSERT INTO o SELECT t.*, upper(u.x) AS ux FROM t JOIN u ON t.id = u.id",
                     engine="spark", namespace="hive://w", default_schema="default",
                     schema={"default.u": ["id", "x"]})
    signals, _ = sql_signals(result, 1)
    table_level = {s.edge_id for s in signals if "#" not in s.edge_id}
    assert table_level == {"hive://w/default.t -> hive://w/default.o"}
    assert "hive://w/default.u#x -> hive://w/default.o#ux" in {s.edge_id for s in signals}


async def test_ddl_earlier_in_the_stream_names_a_positional_insert(
    run: Runner, msg: MessageFactory
) -> None:
    await run([msg(sql("CREATE TABLE location_analytics_tbl (user_location STRING)"))])
    outputs = await run([msg(sql("INSERT INTO location_analytics_tbl "
                                 "SELECT upper(location) FROM photo_metadata_log", ts=2000))])
    assert signal_set(outputs) == {
        (f"{SRC}#location -> {DST}#user_location", "TRANSFORMATION")}


def test_a_shared_catalog_teaches_the_agent_a_schema(topology: Topology, metrics: Metrics) -> None:
    catalog = SchemaCatalog()
    handler = SqlAnalysis(topology, metrics, catalog=catalog)
    catalog.learn(NS, "default.photo_metadata_log", ["location", "user_id"])  # e.g. a facet
    result = handler.analyzer.analyze("SELECT * FROM photo_metadata_log", engine="spark",
                                      namespace=NS, default_schema="default")
    assert [c.target for c in result.statements[0].columns] == ["#location", "#user_id"]
