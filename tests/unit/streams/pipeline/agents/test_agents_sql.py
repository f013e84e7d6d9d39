"""SQL analysis: sql logs to column signals, sql_io halves joined per job or trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stream_fixtures import MessageFactory, Runner, body, signal_set

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


async def test_unparsable_sql_is_counted_not_dead(run: Runner, msg: MessageFactory,
                                                  metrics: Metrics) -> None:
    outputs = await run([msg(sql("INSERT INTO (((")), msg(sql(INSERT))])
    assert len(signal_set(outputs)) == 1
    assert metrics.counters[f"{AGENT}.statement_errors"] == 1


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


async def test_late_half_is_counted_and_not_joined(
    run: Runner, msg: MessageFactory, metrics: Metrics, topology: Topology,
) -> None:
    window = topology.windows.job.size_ms + topology.windows.job.allowed_lateness_ms
    outputs = await run([
        msg(io("READ", "default.photo_metadata_log", ts=1000)),
        msg(io("READ", "default.other_tbl", job="later", ts=1000 + window)),
        msg(io("WRITE", "default.location_analytics_tbl", ts=1000)),
    ])
    assert outputs == []
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
